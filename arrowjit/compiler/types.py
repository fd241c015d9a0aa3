"""The value types the compiler knows, their Arrow and LLVM forms, and promotion.

A :class:`DType` is one of Arrow's fixed-width types the kernels can read:
``bool``, ``int8`` .. ``int64``, ``uint8`` .. ``uint64``, ``float32``,
``float64``, plus ``null``, the type of the literal ``null`` before it meets
another operand. Promotion follows Arrow compute, with the rules spelled out in
docs/language.md:

* integer with float gives float64, float32 with float32 stays float32;
* integers of one signedness give the wider;
* a signed and an unsigned integer give the narrowest signed type that holds
  both (int64 at most); comparisons between int64 and uint64 have exact
  functions of their own instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pyarrow as pa
from llvmlite import ir


class Kind(Enum):
    PENDING = "pending"  # a parameter whose type is not inferred yet
    NULL = "null"
    BOOL = "bool"
    SIGNED = "signed"
    UNSIGNED = "unsigned"
    FLOAT = "float"
    STRING = "string"


@dataclass(frozen=True)
class DType:
    """A value type: its name (as in Gandiva's function names), kind and width in bits."""

    name: str
    kind: Kind
    bits: int

    def __str__(self) -> str:
        return self.name

    @property
    def is_integer(self) -> bool:
        return self.kind in (Kind.SIGNED, Kind.UNSIGNED)

    @property
    def is_signed(self) -> bool:
        return self.kind is Kind.SIGNED

    @property
    def is_float(self) -> bool:
        return self.kind is Kind.FLOAT

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.is_float

    @property
    def is_string(self) -> bool:
        return self.kind is Kind.STRING

    @property
    def byte_width(self) -> int:
        """Bytes per value in an Arrow buffer (bool is bit-packed, strings have offsets: 0)."""
        return self.bits // 8 if self.kind not in (Kind.BOOL, Kind.NULL, Kind.STRING) else 0

    @property
    def is_view(self) -> bool:
        """Arrow's string_view: 16-byte views (inline up to 12 bytes) into variadic data buffers."""
        return self.name == "utf8_view"

    @property
    def offset_bits(self) -> int:
        """For strings: the width of the Arrow offsets (32 for utf8, 64 for large_utf8)."""
        return self.bits

    @property
    def llvm(self) -> ir.Type:
        """The LLVM type of one value in registers."""
        if self.kind is Kind.FLOAT:
            return ir.DoubleType() if self.bits == 64 else ir.FloatType()
        if self.kind in (Kind.BOOL, Kind.NULL):
            return ir.IntType(1)
        if self.kind is Kind.STRING:  # a view of the bytes: {pointer, byte length}
            return STRING_VALUE
        return ir.IntType(self.bits)

    @property
    def arrow(self) -> pa.DataType:
        return _ARROW_OF[self.name]()

    @property
    def numpy(self) -> np.dtype:
        return np.dtype(self.name)

    def min_value(self) -> int:
        return -(1 << (self.bits - 1)) if self.is_signed else 0

    def max_value(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.is_signed else (1 << self.bits) - 1


PENDING = DType("?", Kind.PENDING, 0)
NULL = DType("null", Kind.NULL, 1)
BOOL = DType("bool", Kind.BOOL, 1)
INT8 = DType("int8", Kind.SIGNED, 8)
INT16 = DType("int16", Kind.SIGNED, 16)
INT32 = DType("int32", Kind.SIGNED, 32)
INT64 = DType("int64", Kind.SIGNED, 64)
UINT8 = DType("uint8", Kind.UNSIGNED, 8)
UINT16 = DType("uint16", Kind.UNSIGNED, 16)
UINT32 = DType("uint32", Kind.UNSIGNED, 32)
UINT64 = DType("uint64", Kind.UNSIGNED, 64)
FLOAT32 = DType("float32", Kind.FLOAT, 32)
FLOAT64 = DType("float64", Kind.FLOAT, 64)

SIGNED_TYPES = (INT8, INT16, INT32, INT64)
UNSIGNED_TYPES = (UINT8, UINT16, UINT32, UINT64)
INTEGER_TYPES = SIGNED_TYPES + UNSIGNED_TYPES
FLOAT_TYPES = (FLOAT32, FLOAT64)
NUMERIC_TYPES = INTEGER_TYPES + FLOAT_TYPES
COLUMN_TYPES = (BOOL,) + NUMERIC_TYPES
# Strings: `bits` is the width of the offsets. In registers both are the same
# {pointer, length} view, so the registry's string functions take utf8.
UTF8 = DType("utf8", Kind.STRING, 32)
LARGE_UTF8 = DType("large_utf8", Kind.STRING, 64)
UTF8_VIEW = DType("utf8_view", Kind.STRING, 128)
STRING_TYPES = (UTF8, LARGE_UTF8, UTF8_VIEW)
STRING_VALUE = ir.LiteralStructType([ir.PointerType(), ir.IntType(64)])

_ARROW_OF = {
    "null": pa.null,
    "bool": pa.bool_,
    "int8": pa.int8,
    "int16": pa.int16,
    "int32": pa.int32,
    "int64": pa.int64,
    "uint8": pa.uint8,
    "uint16": pa.uint16,
    "uint32": pa.uint32,
    "uint64": pa.uint64,
    "float32": pa.float32,
    "float64": pa.float64,
    "utf8": pa.utf8,
    "large_utf8": pa.large_utf8,
    "utf8_view": pa.string_view,
}
_BY_ARROW = {_ARROW_OF[t.name](): t for t in COLUMN_TYPES + STRING_TYPES}
_BY_NAME = {t.name: t for t in COLUMN_TYPES + STRING_TYPES} | {
    "string": UTF8,
    "str": UTF8,
    "large_string": LARGE_UTF8,
    "string_view": UTF8_VIEW,
    "boolean": BOOL,
    "float": FLOAT32,
    "double": FLOAT64,
    "halffloat": None,
}


def from_arrow(arrow_type: pa.DataType) -> DType | None:
    """The DType of an Arrow type, or None when kernels cannot read it yet.

    A dictionary-encoded column has the type of its values.
    """
    if pa.types.is_dictionary(arrow_type):
        return _BY_ARROW.get(arrow_type.value_type)
    return _BY_ARROW.get(arrow_type)


def arrow_type_from_name(name: str) -> pa.DataType:
    """Parse a type name as schemas write it (``float64``, ``double``, ``int32``, ``string``...)."""
    dtype = _BY_NAME.get(name.strip().lower())
    if dtype is not None:
        return dtype.arrow
    try:
        return pa.type_for_alias(name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown type name {name!r}") from None


def signed_of_bits(bits: int) -> DType:
    return {8: INT8, 16: INT16, 32: INT32, 64: INT64}[min(bits, 64)]


def common_type(a: DType, b: DType) -> DType | None:
    """The type both operands of an arithmetic operator or comparison are cast to.

    Returns None when no numeric common type exists (a bool with a number).
    A null operand, or a parameter whose type is still open, takes the other
    operand's type.
    """
    if a.kind is Kind.PENDING or (a.kind is Kind.NULL and b.kind is not Kind.PENDING):
        return b
    if b.kind in (Kind.PENDING, Kind.NULL):
        return a
    if a == b:
        return a
    if a.kind is Kind.STRING or b.kind is Kind.STRING:
        return UTF8 if a.kind is b.kind else None
    if a.kind is Kind.BOOL or b.kind is Kind.BOOL:
        return None
    if a.is_float or b.is_float:
        if a == FLOAT32 and b == FLOAT32:
            return FLOAT32
        return FLOAT64
    if a.kind is b.kind:
        return a if a.bits >= b.bits else b
    signed, unsigned = (a, b) if a.is_signed else (b, a)
    if unsigned.bits < signed.bits:
        return signed
    return signed_of_bits(unsigned.bits * 2)
