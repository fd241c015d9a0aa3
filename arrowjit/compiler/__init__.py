# The registry first: its rows come from temporal.py, which needs the registry's
# FunctionSpec, so importing temporal.py (or decimals.py) first must not start the cycle.
from . import registry  # noqa: F401
