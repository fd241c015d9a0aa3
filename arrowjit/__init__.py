"""arrowjit: compile filter expressions to native code with LLVM and run them over Arrow data.

>>> import pyarrow as pa, arrowjit
>>> f = arrowjit.compile_filter("x > 2.0 and x < 6.0", {"x": "float64"})
>>> f.count(pa.record_batch({"x": [1.0, 3.0, 5.0, 7.0]}))
2
"""

from .compiler.userfunctions import DEFAULT as functions
from .compiler.userfunctions import Functions, register_function
from .errors import (
    ArgumentError,
    ArrowJitError,
    CompilerError,
    ExpressionTypeError,
    InvalidDataError,
    ParameterError,
    ParseError,
    SchemaMismatchError,
    SourceError,
    UnknownColumnError,
)
from .filter import STAGES, VIEWS, Filter, InputTypeError, compile_filter
from .pandas import install as _install_pandas_accessor
from .projection import Projection, Query, compile_projection, compile_query

__version__ = "0.1.0"

_install_pandas_accessor()

__all__ = [
    "ArgumentError",
    "ArrowJitError",
    "CompilerError",
    "ExpressionTypeError",
    "Filter",
    "Functions",
    "InputTypeError",
    "InvalidDataError",
    "ParameterError",
    "ParseError",
    "Projection",
    "Query",
    "STAGES",
    "Scan",
    "VIEWS",
    "SchemaMismatchError",
    "SourceError",
    "UnknownColumnError",
    "compile_filter",
    "compile_projection",
    "compile_query",
    "scan",
    "functions",
    "register_function",
]


def __getattr__(name: str):
    # arrowjit.scan and arrowjit.Scan load the scanner (and pyarrow.compute, ~50 ms) on first use.
    if name in ("scan", "Scan"):
        from . import scanner
        return getattr(scanner, name)
    raise AttributeError(f"module 'arrowjit' has no attribute {name!r}")
