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

import re
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
    # Dates, times and decimals: integers in storage (see temporal.py, decimals.py).
    DATE = "date"
    TIMESTAMP = "timestamp"
    TIME = "time"
    DURATION = "duration"
    DECIMAL = "decimal"
    INTERVAL = "interval"  # a literal count of calendar months: interval '1 month'


# Ticks per second of each time unit.
UNIT_TICKS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


@dataclass(frozen=True)
class DType:
    """A value type: its name (as in Gandiva's function names), kind and width in bits."""

    name: str
    kind: Kind
    bits: int
    # Dates, times, timestamps and durations: the unit ("day" for date32);
    # timestamps: the zone (None: a wall-clock time without zone).
    unit: str = ""
    tz: str | None = None
    # decimal128(precision, scale)
    precision: int = 0
    scale: int = 0

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
    def is_temporal(self) -> bool:
        return self.kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIME, Kind.DURATION, Kind.INTERVAL)

    @property
    def is_decimal(self) -> bool:
        return self.kind is Kind.DECIMAL

    @property
    def ticks(self) -> int:
        """Temporal types: ticks of the storage integer per second (date32: per day, as 1/86400)."""
        return UNIT_TICKS.get(self.unit, 0)

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
        match self.kind:
            case Kind.DATE:
                return pa.date32() if self.bits == 32 else pa.date64()
            case Kind.TIMESTAMP:
                return pa.timestamp(self.unit, self.tz)
            case Kind.TIME:
                return pa.time32(self.unit) if self.bits == 32 else pa.time64(self.unit)
            case Kind.DURATION:
                return pa.duration(self.unit)
            case Kind.DECIMAL:
                return pa.decimal128(self.precision, self.scale)
            case Kind.INTERVAL:
                return pa.month_day_nano_interval()
        return _ARROW_OF[self.name]()

    @property
    def numpy(self) -> np.dtype:
        if self.is_temporal:
            return np.dtype(f"int{self.bits}")
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

def date_type(bits: int) -> DType:
    return DType("date32", Kind.DATE, 32, "day") if bits == 32 else DType("date64", Kind.DATE, 64, "ms")


def timestamp_type(unit: str, tz: str | None = None) -> DType:
    """``timestamp_us``, or with a zone ``timestamp_us[America/New_York]``."""
    name = f"timestamp_{unit}" if tz is None else f"timestamp_{unit}[{tz}]"
    return DType(name, Kind.TIMESTAMP, 64, unit, tz)


def time_type(unit: str) -> DType:
    bits = 32 if unit in ("s", "ms") else 64
    return DType(f"time{bits}_{unit}", Kind.TIME, bits, unit)


def duration_type(unit: str) -> DType:
    return DType(f"duration_{unit}", Kind.DURATION, 64, unit)


def decimal_type(precision: int, scale: int) -> DType:
    """decimal128(p, s): a 128-bit integer scaled by 10**-s, at most p digits."""
    return DType(f"decimal128({precision},{scale})", Kind.DECIMAL, 128, precision=precision, scale=scale)


UNITS = ("s", "ms", "us", "ns")
MONTHS = DType("interval_months", Kind.INTERVAL, 64, "month")
DATE32 = date_type(32)
DATE64 = date_type(64)
DATE_TYPES = (DATE32, DATE64)
TIMESTAMP_TYPES = tuple(timestamp_type(u) for u in UNITS)  # without a zone
TIME_TYPES = tuple(time_type(u) for u in UNITS)
DURATION_TYPES = tuple(duration_type(u) for u in UNITS)
TEMPORAL_TYPES = DATE_TYPES + TIMESTAMP_TYPES + TIME_TYPES + DURATION_TYPES
MAX_DECIMAL_PRECISION = 38

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
        arrow_type = arrow_type.value_type
    if pa.types.is_date32(arrow_type):
        return DATE32
    if pa.types.is_date64(arrow_type):
        return DATE64
    if pa.types.is_timestamp(arrow_type):
        return timestamp_type(arrow_type.unit, arrow_type.tz)
    if pa.types.is_time32(arrow_type) or pa.types.is_time64(arrow_type):
        return time_type(arrow_type.unit)
    if pa.types.is_duration(arrow_type):
        return duration_type(arrow_type.unit)
    if pa.types.is_decimal128(arrow_type):
        return decimal_type(arrow_type.precision, arrow_type.scale)
    return _BY_ARROW.get(arrow_type)


_PARAMETRIZED = re.compile(r"""
    (?P<name>timestamp|time32|time64|duration)\s*\[\s*(?P<unit>s|ms|us|ns)\s*
        (?:,\s*(?:tz\s*=\s*)?(?P<tz>[^\]]+?)\s*)?\]
  | (?P<decimal>decimal128|decimal|numeric)\s*\(\s*(?P<precision>[0-9]+)\s*(?:,\s*(?P<scale>-?[0-9]+)\s*)?\)
""", re.VERBOSE | re.IGNORECASE)


def _parametrized_type(name: str) -> pa.DataType | None:
    """``timestamp[us, tz=UTC]``, ``time32[ms]``, ``duration[ns]``, ``decimal128(10, 2)`` as Arrow types."""
    match = _PARAMETRIZED.fullmatch(name.strip())
    if match is None:
        return None
    if match["decimal"]:
        precision, scale = int(match["precision"]), int(match["scale"] or 0)
        if not 1 <= precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
            raise ValueError(f"decimal128 needs 1 <= precision <= 38 and 0 <= scale <= precision: {name!r}")
        return pa.decimal128(precision, scale)
    kind, unit, tz = match["name"].lower(), match["unit"].lower(), match["tz"]
    if tz is not None:
        tz = tz.strip().strip("'\"")
        if kind != "timestamp":
            raise ValueError(f"only timestamps have a time zone: {name!r}")
        check_zone(tz)
    if kind == "time32" and unit not in ("s", "ms") or kind == "time64" and unit not in ("us", "ns"):
        raise ValueError(f"{kind} has no unit {unit!r}: {name!r}")
    return {"timestamp": lambda: pa.timestamp(unit, tz), "time32": lambda: pa.time32(unit),
            "time64": lambda: pa.time64(unit), "duration": lambda: pa.duration(unit)}[kind]()


def check_zone(tz: str) -> None:
    """Raise ValueError unless Arrow knows the time zone ``tz`` (a name or a fixed offset +05:30)."""
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    try:
        pc.hour(pa.array([0], pa.timestamp("s", tz)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def arrow_type_from_name(name: str) -> pa.DataType:
    """Parse a type name as schemas write it (``float64``, ``double``, ``int32``, ``string``...)."""
    dtype = _BY_NAME.get(name.strip().lower())
    if dtype is not None:
        return dtype.arrow
    parametrized = _parametrized_type(name)
    if parametrized is not None:
        return parametrized
    if name.strip().lower() in ("date", "timestamp", "time", "duration", "interval"):
        return {"date": pa.date32(), "timestamp": pa.timestamp("us"), "time": pa.time64("us"),
                "duration": pa.duration("us"), "interval": pa.duration("us")}[name.strip().lower()]
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
    if a.is_temporal or b.is_temporal:
        return _common_temporal(a, b)
    if a.is_decimal or b.is_decimal:
        return _common_decimal(a, b)
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


_UNIT_ORDER = {"day": -1, "s": 0, "ms": 1, "us": 2, "ns": 3}


def finer_unit(a: str, b: str) -> str:
    return a if _UNIT_ORDER[a] >= _UNIT_ORDER[b] else b


def _common_temporal(a: DType, b: DType) -> DType | None:
    """Dates meet timestamps as timestamps (as DuckDB); units meet at the finer one.

    A timestamp with a zone and one without meet at the zoned type: a literal
    without zone is then read in the column's zone (temporal_check rejects
    this for two columns, as Arrow does).
    """
    kinds = {a.kind, b.kind}
    if kinds == {Kind.DATE}:
        return DATE64 if DATE64 in (a, b) else DATE32
    if kinds == {Kind.DATE, Kind.TIMESTAMP}:
        return a if a.kind is Kind.TIMESTAMP else b
    if kinds == {Kind.TIMESTAMP}:
        unit = finer_unit(a.unit, b.unit)
        return timestamp_type(unit, a.tz if a.tz is not None else b.tz)
    if kinds == {Kind.TIME}:
        return time_type(finer_unit(a.unit, b.unit))
    if kinds == {Kind.DURATION}:
        return duration_type(finer_unit(a.unit, b.unit))
    return None


# Decimal digits an integer type needs, as Arrow casts integers to decimals.
INTEGER_DIGITS = {8: 3, 16: 5, 32: 10, 64: 19}


def integer_as_decimal(dtype: DType) -> DType:
    digits = INTEGER_DIGITS[dtype.bits] + (1 if dtype.kind is Kind.UNSIGNED and dtype.bits == 64 else 0)
    return decimal_type(digits, 0)


def _common_decimal(a: DType, b: DType) -> DType | None:
    """Arrow's rule: the larger scale and the larger count of integer digits (38 digits at most);
    an integer is the decimal of its digits; with a float, float64."""
    if a.is_float or b.is_float:
        return FLOAT64
    a = integer_as_decimal(a) if a.is_integer else a
    b = integer_as_decimal(b) if b.is_integer else b
    if not (a.is_decimal and b.is_decimal):
        return None
    scale = max(a.scale, b.scale)
    digits = max(a.precision - a.scale, b.precision - b.scale)
    return decimal_type(min(digits + scale, MAX_DECIMAL_PRECISION), scale)
