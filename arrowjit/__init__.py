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
from .scanner import Scan, scan

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
