"""How the exercise checks find your code.

Each check loads the exercise module it tests, by default your file in this
directory (``chapter5_codegen.py``). The project's own test suite points the
same checks at the reference solutions instead, through the environment
variable ``ARROWJIT_EXERCISES_DIR`` (tests/test_exercises.py), so the
exercises are known to be solvable with the code as it is today.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# The checks compile kernels; keep their machine code out of your real cache.
os.environ.setdefault("ARROWJIT_CACHE_DIR", tempfile.mkdtemp(prefix="arrowjit-exercises-"))


def _directory() -> Path:
    return Path(os.environ.get("ARROWJIT_EXERCISES_DIR", HERE)).resolve()


_LOADED: dict[Path, object] = {}


def load(name: str):
    """The exercise module ``name`` (``chapter5_codegen``), imported once per session."""
    path = _directory() / f"{name}.py"
    if path not in _LOADED:
        spec = importlib.util.spec_from_file_location(f"arrowjit_exercise_{name}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _LOADED[path] = module
    return _LOADED[path]


@pytest.fixture(scope="session")
def exercise():
    """``exercise("chapter5_codegen")``: the module under test."""
    return load
