"""Dates, times, timestamps and durations: literals, calendar code and registry rows.

Every temporal type is an integer in storage (Arrow's): days (date32),
milliseconds (date64), ticks of the unit since the epoch (timestamp), since
midnight (time32/time64), or ticks (duration). The calendar code is Howard
Hinnant's branch-free ``civil_from_days``/``days_from_civil`` on int64, so
``year(t)`` vectorizes like any arithmetic.

A timestamp with a zone stores UTC instants; its fields are those of the
local time in its zone, as pyarrow.compute reads them (and, after 2037, where
Arrow's reader has no daylight saving time, as zoneinfo and DuckDB). The
zone's UTC offsets come from a transition table built at compile time (the
zone's TZif file and its POSIX rule: :mod:`.zones`) that the kernel reads
without branches through an index of 194-day buckets. Past the table's end the zone's rule
repeats every 400 years (the Gregorian cycle), which the kernel uses to fold
later instants back into the table.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from llvmlite import ir

from . import types as T
from . import zones
from .registry import FunctionSpec, NullHandling
from .types import DType

I1, I32, I64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)
SECONDS_PER_DAY = 86_400
NN, NINT = NullHandling.NULL_IF_NULL, NullHandling.NULL_INTERNAL
COMPARISONS = {"equal": "==", "not_equal": "!=", "less_than": "<", "less_than_or_equal_to": "<=",
               "greater_than": ">", "greater_than_or_equal_to": ">="}
FIELDS = ("year", "quarter", "month", "day", "hour", "minute", "second", "dayofweek", "dayofyear", "week")
TRUNC_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second")
CYCLE_SECONDS = zones.CYCLE_SECONDS  # the Gregorian calendar repeats every 400 years
# Ticks in a day, at most (nanoseconds): the bound of a time of day.
DAY_BOUND = SECONDS_PER_DAY * 10**9


def ticks_per_day(dtype: DType) -> int:
    """Storage ticks per day: 1 for date32, 86400000 for date64, 86400 * ticks/s for timestamps."""
    if dtype == T.DATE32:
        return 1
    return SECONDS_PER_DAY * dtype.ticks


# ---------------------------------------------------------------------------
# Literals: parsed at compile time.
# ---------------------------------------------------------------------------

_DATE = r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
_TIME = r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?"
_ZONE = r"(?P<zone>Z|UTC|[+-][0-9]{2}(?::?[0-9]{2})?|[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*)"
DATE_PATTERN = re.compile(rf"\s*{_DATE}\s*")
TIME_PATTERN = re.compile(rf"\s*{_TIME}\s*")
TIMESTAMP_PATTERN = re.compile(rf"\s*{_DATE}(?:[ T]{_TIME})?\s*{_ZONE}?\s*")
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def epoch_days(year: int, month: int, day: int) -> int | None:
    """Days since 1970-01-01, or None for a day that does not exist (2023-02-29)."""
    try:
        return dt.date(year, month, day).toordinal() - EPOCH_ORDINAL
    except ValueError:
        return None


def parse_date(text: str) -> int | None:
    """``YYYY-MM-DD`` -> days since the epoch, or None."""
    match = DATE_PATTERN.fullmatch(text)
    if match is None:
        return None
    return epoch_days(int(match["year"]), int(match["month"]), int(match["day"]))


def _fraction(match: re.Match) -> tuple[str, int]:
    """The coarsest unit that holds the fractional seconds exactly, and their count in it."""
    digits = (match["fraction"] or "").rstrip("0")
    for unit, width in (("s", 0), ("ms", 3), ("us", 6), ("ns", 9)):
        if len(digits) <= width:
            return unit, int(digits.ljust(width, "0") or 0)
    raise AssertionError("the pattern allows 9 digits at most")  # pragma: no cover


def _clock(match: re.Match) -> tuple[int, str, int] | None:
    """Seconds since midnight, the unit of the fraction and the fraction's ticks, or None."""
    hour, minute = int(match["hour"] or 0), int(match["minute"] or 0)
    second = int(match["second"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    unit, fraction = _fraction(match)
    return hour * 3600 + minute * 60 + second, unit, fraction


def parse_time(text: str) -> tuple[int, str] | None:
    """``HH:MM[:SS[.fff]]`` -> (ticks since midnight, unit), or None."""
    match = TIME_PATTERN.fullmatch(text)
    clock = match and _clock(match)
    if not clock:
        return None
    seconds, unit, fraction = clock
    return seconds * T.UNIT_TICKS[unit] + fraction, unit


def parse_timestamp(text: str) -> tuple[int, str, str | None] | None:
    """``YYYY-MM-DD[ HH:MM[:SS[.f]]][ zone]`` -> (ticks, unit, zone), or None when invalid.

    Without a zone the value is a wall-clock time (zone None). With an offset
    (``Z``, ``+05:30``) it is that instant in UTC; with a zone name the local
    time is resolved in that zone (see :func:`local_to_utc`).
    """
    match = TIMESTAMP_PATTERN.fullmatch(text)
    if match is None:
        return None
    days = epoch_days(int(match["year"]), int(match["month"]), int(match["day"]))
    clock = _clock(match) if match["hour"] is not None else (0, "s", 0)
    if days is None or clock is None:
        return None
    seconds, unit, fraction = clock
    ticks = (days * SECONDS_PER_DAY + seconds) * T.UNIT_TICKS[unit] + fraction
    zone = match["zone"]
    if zone is None:
        return ticks, unit, None
    fixed = zone_offset_seconds(zone)
    if fixed is not None:
        return ticks - fixed * T.UNIT_TICKS[unit], unit, "UTC"
    try:
        T.check_zone(zone)
    except ValueError:
        return None
    return local_to_utc(ticks, unit, zone), unit, zone


def local_to_utc(ticks: int, unit: str, zone: str) -> int:
    """The UTC instant of a wall-clock time in ``zone``, as the kernels compute it (:func:`to_utc`):
    a time skipped when clocks go forward is read with the offset before the change (02:30 on
    2024-03-10 in New York is 07:30Z, 03:30 EDT), a time repeated when they go back with the
    offset after it (01:30 on 2024-11-03 is 06:30Z, 01:30 EST), as PostgreSQL and DuckDB."""
    return zones.local_to_utc(ticks, T.UNIT_TICKS[unit], zone)


_INTERVAL_UNITS = {
    "year": ("months", 12), "month": ("months", 1), "mon": ("months", 1),
    "week": ("ns", 7 * SECONDS_PER_DAY * 10**9), "day": ("ns", SECONDS_PER_DAY * 10**9),
    "hour": ("ns", 3600 * 10**9), "minute": ("ns", 60 * 10**9), "min": ("ns", 60 * 10**9),
    "second": ("ns", 10**9), "sec": ("ns", 10**9), "s": ("ns", 10**9), "h": ("ns", 3600 * 10**9),
    "d": ("ns", SECONDS_PER_DAY * 10**9), "millisecond": ("ns", 10**6), "ms": ("ns", 10**6),
    "microsecond": ("ns", 10**3), "us": ("ns", 10**3), "nanosecond": ("ns", 1), "ns": ("ns", 1),
}
_INTERVAL_PART = re.compile(r"\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)")


def parse_interval(text: str) -> tuple[int, int] | None:
    """``'1 day'``, ``'90 minutes'``, ``'2 hours 30 minutes'``, ``'1 month'`` -> (months, nanoseconds).

    Fractions are allowed for units of a week and less (``'1.5 hours'``).
    """
    months = nanos = 0
    position = 0
    text = text.strip()
    if not text:
        return None
    while position < len(text):
        match = _INTERVAL_PART.match(text, position)
        if match is None:
            return None
        number, word = match[1], match[2].lower()
        word = word[:-1] if word.endswith("s") and word[:-1] in _INTERVAL_UNITS else word
        if word not in _INTERVAL_UNITS:
            return None
        field, scale = _INTERVAL_UNITS[word]
        if field == "months":
            if "." in number:
                return None
            months += int(number) * scale
        else:
            exact = Decimal(number) * scale
            if exact != exact.to_integral_value():
                return None
            nanos += int(exact)
        position = match.end()
    return months, nanos


def coarsest_unit(nanos: int) -> str:
    """The coarsest unit in which ``nanos`` nanoseconds are a whole number of ticks."""
    for unit in ("s", "ms", "us"):
        if nanos % (10**9 // T.UNIT_TICKS[unit]) == 0:
            return unit
    return "ns"


# ---------------------------------------------------------------------------
# Time zones: the table of UTC offsets the kernels search.
# ---------------------------------------------------------------------------

# The tables themselves are built by the zones module (TZif files and their POSIX rules).
zone_transitions = zones.zone_transitions
zone_offset_seconds = zones.zone_offset_seconds


# ---------------------------------------------------------------------------
# Code: small helpers over i64 values.
# ---------------------------------------------------------------------------

def const(value: int, ty: ir.IntType = I64) -> ir.Constant:
    return ir.Constant(ty, value)


def floor_div(b: ir.IRBuilder, x: ir.Value, k: int, name: str = "floor_div", bound: int = 2**63) -> ir.Value:
    """x // k for a constant k > 0, rounding toward minus infinity; |x| <= ``bound``.

    x86 has no 64-bit vector division, so an i64 quotient that is below 2**50
    is estimated in double precision (off by less than one) and corrected
    with one multiply: code the loop vectorizer can turn into vector code.
    """
    if k == 1:
        return x
    ty = x.type
    if ty.width == 64 and bound // k < 2**50:
        double = ir.DoubleType()
        estimate = b.fdiv(b.sitofp(x, double), ir.Constant(double, float(k)), name=f"{name}_approx")
        floor = b.call(_floor_intrinsic(b), [estimate], name=f"{name}_floor")
        quotient = b.fptosi(floor, ty, name=f"{name}_estimate")
        remainder = b.sub(x, b.mul(quotient, const(k, ty)), name=f"{name}_rest")
        up = b.zext(b.icmp_signed(">=", remainder, const(k, ty)), ty)
        down = b.zext(b.icmp_signed("<", remainder, const(0, ty)), ty)
        return b.sub(b.add(quotient, up), down, name=name)
    quotient = b.sdiv(x, const(k, ty), name=f"{name}_trunc")
    remainder = b.srem(x, const(k, ty), name=f"{name}_rem")
    negative = b.icmp_signed("<", remainder, const(0, ty), name=f"{name}_neg")
    return b.sub(quotient, b.zext(negative, ty), name=name)


def _floor_intrinsic(b: ir.IRBuilder) -> ir.Function:
    name = "llvm.floor.f64"
    if name not in b.module.globals:
        ir.Function(b.module, ir.FunctionType(ir.DoubleType(), [ir.DoubleType()]), name)
    return b.module.globals[name]


def floor_mod(b: ir.IRBuilder, x: ir.Value, k: int, name: str = "floor_mod", bound: int = 2**63) -> ir.Value:
    """x mod k in 0..k-1 (the remainder of :func:`floor_div`)."""
    if k == 1:
        return const(0, x.type)
    quotient = floor_div(b, x, k, f"{name}_quotient", bound)
    return b.sub(x, b.mul(quotient, const(k, x.type)), name=name)


def civil_from_days(b: ir.IRBuilder, days: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
    """Hinnant's civil_from_days: (year, month 1..12, day 1..31) of i64 days since 1970-01-01.

    Only the 400-year era needs 64 bits; the day of the era and everything
    after it are small and computed in i32 (vector-friendly divisions).
    """
    z = b.add(days, const(719_468), name="z")
    era = floor_div(b, z, 146_097, "era")
    doe = b.trunc(b.sub(z, b.mul(era, const(146_097))), I32, name="day_of_era")

    def c(v: int) -> ir.Constant:
        return const(v, I32)
    yoe = b.sdiv(b.sub(b.add(b.sub(doe, b.sdiv(doe, c(1460))), b.sdiv(doe, c(36_524))),
                       b.sdiv(doe, c(146_096))), c(365), name="year_of_era")
    doy = b.sub(doe, b.sub(b.add(b.mul(yoe, c(365)), b.sdiv(yoe, c(4))), b.sdiv(yoe, c(100))),
                name="march_day")
    mp = b.sdiv(b.add(b.mul(doy, c(5)), c(2)), c(153), name="march_month")
    day = b.add(b.sub(doy, b.sdiv(b.add(b.mul(mp, c(153)), c(2)), c(5))), c(1), name="day")
    early = b.icmp_signed("<", mp, c(10), name="before_january")
    month = b.select(early, b.add(mp, c(3)), b.sub(mp, c(9)), name="month")
    year = b.add(b.sext(yoe, I64), b.mul(era, const(400)), name="march_year")
    year = b.add(year, b.zext(b.icmp_signed("<=", month, c(2)), I64), name="year")
    return year, b.sext(month, I64, name="month64"), b.sext(day, I64, name="day64")


def days_from_civil(b: ir.IRBuilder, year: ir.Value, month: ir.Value, day: ir.Value) -> ir.Value:
    """Hinnant's days_from_civil: days since 1970-01-01 of a (year, month, day) in i64."""
    early = b.icmp_signed("<=", month, const(2), name="jan_feb")
    y = b.sub(year, b.zext(early, I64), name="march_year")
    era = floor_div(b, y, 400, "era", bound=2**45)  # years of any int64 timestamp

    def c(v: int) -> ir.Constant:
        return const(v, I32)
    yoe = b.trunc(b.sub(y, b.mul(era, const(400))), I32, name="year_of_era")
    month32, day32 = b.trunc(month, I32), b.trunc(day, I32)
    mp = b.select(early, b.add(month32, c(9)), b.sub(month32, c(3)), name="march_month")
    doy = b.add(b.sdiv(b.add(b.mul(mp, c(153)), c(2)), c(5)), b.sub(day32, c(1)), name="march_day")
    doe = b.add(b.sub(b.add(b.mul(yoe, c(365)), b.sdiv(yoe, c(4))), b.sdiv(yoe, c(100))), doy,
                name="day_of_era")
    return b.sub(b.add(b.mul(era, const(146_097)), b.sext(doe, I64)), const(719_468), name="days")


def days_in_month(b: ir.IRBuilder, year: ir.Value, month: ir.Value) -> ir.Value:
    """28..31, from the days between the first of this month and of the next."""
    next_month = b.add(month, const(1))
    december = b.icmp_signed("==", month, const(12))
    next_year = b.select(december, b.add(year, const(1)), year)
    next_month = b.select(december, const(1), next_month)
    first = days_from_civil(b, year, month, const(1))
    return b.sub(days_from_civil(b, next_year, next_month, const(1)), first, name="month_days")


def widen(b: ir.IRBuilder, x: ir.Value) -> ir.Value:
    return b.sext(x, I64, name="wide") if x.type.width < 64 else x


@dataclass(frozen=True)
class ZoneGlobals:
    """One of a zone's two tables in a module (UTC instants or local switch points, padded with
    the int64 maximum), its bucket index and the offsets: private constant arrays."""

    values: ir.GlobalVariable
    buckets: ir.GlobalVariable
    offsets: ir.GlobalVariable
    bucket_count: int
    span: int
    end: int


def _constant_array(module: ir.Module, name: str, ty: ir.IntType, values: list[int]) -> ir.GlobalVariable:
    if name not in module.globals:
        array = ir.ArrayType(ty, len(values))
        variable = ir.GlobalVariable(module, array, name)
        variable.global_constant = True
        variable.linkage = "private"
        variable.initializer = ir.Constant(array, [ir.Constant(ty, v) for v in values])
    return module.globals[name]


def _zone_tables(b: ir.IRBuilder, zone: str, local: bool) -> ZoneGlobals:
    """The zone's table of UTC instants (or, ``local``, of local switch points) as constant
    arrays of the module (:class:`zones.ZoneTable`); each is made once, when first used."""
    table = zone_transitions(zone)
    # (A stable digest, not hash(): names must be the same in every process, for the dumps.)
    key = "zone_" + "".join(c if c.isalnum() else "_" for c in zone) + f"_{zlib.crc32(zone.encode()):08x}"
    name, values, buckets, span = ("locals", table.locals, table.local_buckets, table.local_span) if local \
        else ("instants", table.instants, table.utc_buckets, table.utc_span)
    module = b.module
    padded = list(values) + [zones.INT64_MAX] * span  # (read past the end from the last bucket)
    return ZoneGlobals(_constant_array(module, f"{key}_{name}", I64, padded),
                       _constant_array(module, f"{key}_{name}_buckets", I32, list(buckets)),
                       _constant_array(module, f"{key}_offsets", I32, list(table.offsets)),
                       len(buckets), span, table.end)


def _offset(b: ir.IRBuilder, table: ZoneGlobals, seconds: ir.Value) -> ir.Value:
    """The offset (i64 seconds) of the last boundary <= ``seconds``, folded into the table by
    400-year cycles when past its end: the bucket of ``seconds`` gives the last boundary before
    the bucket, and each of the (at most ``span``) next boundaries that is <= ``seconds`` adds
    one. Branch-free: one load from the bucket index, then ``span`` independent loads."""
    base = table.end - CYCLE_SECONDS
    folded = b.add(const(base), floor_mod(b, b.sub(seconds, const(base)), CYCLE_SECONDS), name="folded")
    late = b.icmp_signed(">=", seconds, const(table.end), name="after_table")
    seconds = b.select(late, folded, seconds, name="table_seconds")
    bucket = b.ashr(b.sub(seconds, const(zones.first_second())), const(zones.BUCKET_SHIFT), name="bucket")
    bucket = b.select(b.icmp_signed("<", bucket, const(0)), const(0), bucket)
    last = const(table.bucket_count - 1)
    bucket = b.select(b.icmp_signed(">", bucket, last), last, bucket, name="bucket_clamped")
    start = b.load(b.gep(table.buckets, [const(0), bucket], source_etype=table.buckets.value_type), typ=I32,
                   name="bucket_start")
    start = b.sext(start, I64)
    index = start
    for k in range(1, table.span + 1):
        position = b.add(start, const(k))
        address = b.gep(table.values, [const(0), position], source_etype=table.values.value_type)
        at = b.load(address, typ=I64, name="boundary")
        index = b.add(index, b.zext(b.icmp_signed("<=", at, seconds), I64), name="index")
    address = b.gep(table.offsets, [const(0), index], source_etype=table.offsets.value_type)
    return b.sext(b.load(address, typ=I32, name="offset"), I64, name="utc_offset")


def utc_offset(b: ir.IRBuilder, seconds: ir.Value, zone: str) -> ir.Value:
    """The zone's UTC offset in seconds (i64) at the UTC second ``seconds``."""
    return _offset(b, _zone_tables(b, zone, local=False), seconds)


def to_local(b: ir.IRBuilder, t: ir.Value, dtype: DType) -> ir.Value:
    """A zoned timestamp's wall-clock time in its zone (ticks); the value itself without a zone."""
    if dtype.tz is None:
        return t
    seconds = floor_div(b, t, dtype.ticks, "utc_seconds")
    offset = utc_offset(b, seconds, dtype.tz)
    return b.add(t, b.mul(offset, const(dtype.ticks)), name="local")


def to_utc(b: ir.IRBuilder, local: ir.Value, dtype: DType) -> ir.Value:
    """The UTC instant of a wall-clock time in the timestamp's zone: one lookup in the table of
    local switch points (:class:`zones.ZoneTable`). A time skipped when clocks go forward is read
    with the offset before the change, one repeated when they go back with the offset after it
    (the later reading, as PostgreSQL and DuckDB; :func:`local_to_utc` at compile time)."""
    if dtype.tz is None:
        return local
    seconds = floor_div(b, local, dtype.ticks, "local_seconds")
    offset = _offset(b, _zone_tables(b, dtype.tz, local=True), seconds)
    return b.sub(local, b.mul(offset, const(dtype.ticks)), name="utc")


# ---------------------------------------------------------------------------
# Emitters.
# ---------------------------------------------------------------------------

def _compare(symbol: str) -> Callable:
    return lambda b, x, y: b.icmp_signed(symbol, x, y, name="cmp")


def _day_and_time(b: ir.IRBuilder, x: ir.Value, dtype: DType) -> tuple[ir.Value, ir.Value]:
    """(days since the epoch, ticks since midnight) of a date or (local) timestamp."""
    local = to_local(b, widen(b, x), dtype)
    per_day = ticks_per_day(dtype)
    days = floor_div(b, local, per_day, "days")
    return days, b.sub(local, b.mul(days, const(per_day)), name="time_of_day")


def _weekday(b: ir.IRBuilder, days: ir.Value) -> ir.Value:
    """Monday 0 .. Sunday 6 (1970-01-01 was a Thursday)."""
    return floor_mod(b, b.add(days, const(3)), 7, "weekday")


def field_value(b: ir.IRBuilder, field: str, x: ir.Value, dtype: DType) -> ir.Value:
    """One calendar or clock field (int64) of a date or timestamp value."""
    if dtype.kind is T.Kind.TIME:
        days, tod = const(0), widen(b, x)
    else:
        days, tod = _day_and_time(b, x, dtype)
    seconds_ticks = dtype.ticks if dtype != T.DATE32 else 1
    match field:
        case "hour":
            return floor_div(b, tod, 3600 * seconds_ticks, "hour", DAY_BOUND)
        case "minute":
            minutes = floor_div(b, tod, 60 * seconds_ticks, "minutes", DAY_BOUND)
            return floor_mod(b, minutes, 60, "minute", 1440)
        case "second":
            seconds = floor_div(b, tod, seconds_ticks, "seconds", DAY_BOUND)
            return floor_mod(b, seconds, 60, "second", SECONDS_PER_DAY)
        case "dayofweek":
            return _weekday(b, days)
    year, month, day = civil_from_days(b, days)
    match field:
        case "year":
            return year
        case "month":
            return month
        case "day":
            return day
        case "quarter":
            return b.add(floor_div(b, b.sub(month, const(1)), 3, "quarters", 12), const(1), name="quarter")
        case "dayofyear":
            january_first = days_from_civil(b, year, const(1), const(1))
            return b.add(b.sub(days, january_first), const(1), name="dayofyear")
        case "week":  # ISO 8601: the week of the year that holds its Thursday
            thursday = b.add(b.sub(days, _weekday(b, days)), const(3), name="thursday")
            iso_year, _, _ = civil_from_days(b, thursday)
            first = days_from_civil(b, iso_year, const(1), const(1))
            return b.add(floor_div(b, b.sub(thursday, first), 7, "weeks", 400), const(1), name="week")
    raise ValueError(field)  # pragma: no cover


def _field(field: str, dtype: DType) -> Callable:
    return lambda b, x: field_value(b, field, x, dtype)


def truncate(b: ir.IRBuilder, unit: str, x: ir.Value, dtype: DType) -> ir.Value:
    """``date_trunc(unit, x)``: the start of the unit holding x (weeks start on Monday), same type.

    A zoned timestamp is truncated in local time. Hours, minutes and seconds
    keep x's UTC offset; a day or longer starts at local midnight, converted
    back to UTC by :func:`to_utc`.
    """
    per_day = ticks_per_day(dtype)
    if unit in ("hour", "minute", "second"):
        if dtype.kind is T.Kind.DATE:
            return x  # a date is at midnight
        # Back by the local time's remainder: the result keeps the offset of x, so a time in
        # the repeated hour when clocks go back truncates within its own offset.
        step = {"hour": 3600, "minute": 60, "second": 1}[unit] * dtype.ticks
        local = to_local(b, x, dtype)
        return b.sub(x, floor_mod(b, local, step, "remainder"), name="truncated")
    days, _ = _day_and_time(b, x, dtype)
    if unit == "week":
        start = b.sub(days, _weekday(b, days), name="monday")
    elif unit == "day":
        start = days
    else:
        year, month, _ = civil_from_days(b, days)
        if unit == "year":
            month = const(1)
        elif unit == "quarter":
            month = b.add(b.mul(floor_div(b, b.sub(month, const(1)), 3, "quarters", 12), const(3)), const(1))
        start = days_from_civil(b, year, month, const(1))
    local = b.mul(start, const(per_day), name="truncated")
    result = to_utc(b, local, dtype) if dtype.kind is T.Kind.TIMESTAMP else local
    return b.trunc(result, x.type) if x.type.width < 64 else result


def _truncate(unit: str, dtype: DType) -> Callable:
    return lambda b, x: truncate(b, unit, x, dtype)


def add_months(b: ir.IRBuilder, x: ir.Value, months: ir.Value, dtype: DType) -> ir.Value:
    """x moved by whole months, the day clamped to the end of the month (as DuckDB:
    2024-01-31 + 1 month = 2024-02-29); the time of day is kept."""
    days, tod = _day_and_time(b, x, dtype)
    year, month, day = civil_from_days(b, days)
    index = b.add(b.add(b.mul(year, const(12)), b.sub(month, const(1))), widen(b, months), name="month_index")
    new_year = floor_div(b, index, 12, "new_year", bound=2**45)
    new_month = b.add(b.sub(index, b.mul(new_year, const(12))), const(1), name="new_month")
    limit = days_in_month(b, new_year, new_month)
    new_day = b.select(b.icmp_signed(">", day, limit), limit, day, name="clamped_day")
    new_days = days_from_civil(b, new_year, new_month, new_day)
    local = b.add(b.mul(new_days, const(ticks_per_day(dtype))), tod, name="moved")
    result = to_utc(b, local, dtype) if dtype.kind is T.Kind.TIMESTAMP else local
    return b.trunc(result, x.type) if x.type.width < 64 else result


def rescale(b: ir.IRBuilder, x: ir.Value, factor: int, to_bits: int, valid: ir.Value | None,
            name: str = "rescaled") -> tuple[ir.Value, ir.Value | None]:
    """x * factor (factor > 1: overflow gives null) or floor(x / -factor) (factor < 0) as an
    integer of ``to_bits``; with ``valid`` None the multiplication wraps."""
    x = widen(b, x)
    if factor < 0:
        result = floor_div(b, x, -factor, name)
    elif factor == 1:
        result = x
    else:
        product = b.smul_with_overflow(x, const(factor), name=f"{name}_checked")
        result = b.extract_value(product, 0, name=name)
        if valid is not None:
            valid = b.and_(valid, b.not_(b.extract_value(product, 1)), name=f"{name}_valid")
    if to_bits < 64:
        fits = b.icmp_signed("==", b.sext(b.trunc(result, ir.IntType(to_bits)), I64), result)
        if valid is not None:
            valid = b.and_(valid, fits, name=f"{name}_fits")
        result = b.trunc(result, ir.IntType(to_bits), name=f"{name}_narrow")
    return result, valid


def unit_factor(source: DType, target: DType) -> int:
    """From source ticks to target ticks (days for date32): > 0 multiplies, < 0 divides (floor)."""
    a, b = ticks_per_day(source), ticks_per_day(target)
    return b // a if b >= a else -(a // b)


def _convert(source: DType, target: DType) -> Callable:
    """Unit changes and date <-> timestamp: out-of-range values become null. A zoned
    timestamp becomes a date of its local time (as Arrow's cast)."""
    factor = unit_factor(source, target)

    def emit(b, x, x_valid):
        if source.kind is T.Kind.TIMESTAMP and target.kind is T.Kind.DATE:
            x = to_local(b, x, source)
        value, valid = rescale(b, x, factor, target.bits, x_valid)
        if source.kind is T.Kind.DATE and target.kind is T.Kind.TIMESTAMP:
            value = to_utc(b, value, target)  # midnight in the zone
        return value, valid
    return emit


def cast_row(source: DType, target: DType) -> FunctionSpec | None:
    """``cast_<target>(source)`` between temporal types (zoned too), or None when Arrow has no such cast."""
    if not (source.kind is target.kind or {source.kind, target.kind} == {T.Kind.DATE, T.Kind.TIMESTAMP}):
        return None
    return FunctionSpec(f"cast_{target.name}", (source,), target, NINT, _convert(source, target),
                        "null when out of range")


def _storage(to_bits: int) -> Callable:
    """A reinterpretation as the storage integer (to int64 or from an integer)."""
    def emit(b, x):
        if x.type.width == to_bits:
            return x
        return b.sext(x, ir.IntType(to_bits)) if x.type.width < to_bits else b.trunc(x, ir.IntType(to_bits))
    return emit


# ---------------------------------------------------------------------------
# Rows.
# ---------------------------------------------------------------------------

def _shift(sign: int, factor: int) -> Callable:
    """timestamp/date ± duration: the duration rescaled to the value's unit, wrapping."""
    def emit(b, x, d):
        x, d = widen(b, x), widen(b, d)
        if factor > 1:
            d = b.mul(d, const(factor))
        elif factor < 0:
            d = floor_div(b, d, -factor, "whole")
        return b.add(x, d, name="shifted") if sign > 0 else b.sub(x, d, name="shifted")
    return emit


def field_rows(dtype: DType) -> Iterable[FunctionSpec]:
    """year(t) ... week(t), date_trunc_<unit>(t) for one date or timestamp type (zoned too)."""
    zone = f" in {dtype.tz}" if dtype.tz else ""
    for field in FIELDS:
        yield FunctionSpec(field, (dtype,), T.INT64, NN, _field(field, dtype), _FIELD_DOCS[field] + zone)
    for unit in TRUNC_UNITS:
        yield FunctionSpec(f"date_trunc_{unit}", (dtype,), dtype, NN, _truncate(unit, dtype),
                           f"the start of the {unit}{zone} (weeks start on Monday)")
    yield FunctionSpec("add_months", (dtype, T.INT64), dtype, NN,
                       lambda b, x, n, dtype=dtype: add_months(b, x, n, dtype),
                       "calendar months; the day is clamped to the month's end" + zone)


_FIELD_DOCS = {
    "year": "the year", "quarter": "the quarter, 1..4", "month": "the month, 1..12",
    "day": "the day of the month, 1..31", "hour": "the hour, 0..23", "minute": "the minute, 0..59",
    "second": "the whole seconds, 0..59", "dayofweek": "the day of the week, Monday 0 .. Sunday 6 "
    "(pyarrow's day_of_week)", "dayofyear": "the day of the year, 1..366",
    "week": "the ISO 8601 week, 1..53",
}


def temporal_rows() -> Iterable[FunctionSpec]:
    """The rows for temporal types without a zone (zoned ones are made on demand: :func:`zoned_row`)."""
    for t in T.TEMPORAL_TYPES:
        for op, symbol in COMPARISONS.items():
            yield FunctionSpec(op, (t, t), T.BOOL, NN, _compare(symbol), "in time order")
        yield from _cast_rows(t)
        yield FunctionSpec("isnull", (t,), T.BOOL, NullHandling.NULL_NEVER,
                           lambda b, x, valid: b.not_(valid, name="isnull"))
        yield FunctionSpec("isnotnull", (t,), T.BOOL, NullHandling.NULL_NEVER, lambda b, x, valid: valid)
    for t in T.DATE_TYPES + T.TIMESTAMP_TYPES:
        yield from field_rows(t)
    for t in T.TIME_TYPES:
        for field in ("hour", "minute", "second"):
            yield FunctionSpec(field, (t,), T.INT64, NN, _field(field, t), _FIELD_DOCS[field])
    for d in T.DURATION_TYPES:
        for name, sign in (("add", 1), ("subtract", -1)):
            yield FunctionSpec(name, (d, d), d, NN, _shift(sign, 1), "wraps on overflow")
            for t in T.TIMESTAMP_TYPES:
                if t.unit == d.unit:
                    yield FunctionSpec(name, (t, d), t, NN, _shift(sign, 1), "wraps on overflow")
        yield FunctionSpec("negate", (d,), d, NN, lambda b, x: b.neg(x, name="neg"))
        yield FunctionSpec("abs", (d,), d, NN, lambda b, x: b.select(
            b.icmp_signed("<", x, const(0)), b.neg(x), x, name="abs"))
        yield FunctionSpec("multiply", (d, T.INT64), d, NN, lambda b, x, n: b.mul(x, n, name="times"),
                           "wraps on overflow")
        yield FunctionSpec("multiply", (T.INT64, d), d, NN, lambda b, n, x: b.mul(x, n, name="times"),
                           "wraps on overflow")
    for t in T.TIMESTAMP_TYPES:
        yield FunctionSpec("subtract", (t, t), T.duration_type(t.unit), NN,
                           lambda b, x, y: b.sub(x, y, name="elapsed"), "a duration; wraps on overflow")
    for t in T.DATE_TYPES:
        for name, sign in (("add", 1), ("subtract", -1)):
            yield FunctionSpec(name, (t, T.INT64), t, NN, _days_shift(sign, t), "whole days")
        yield FunctionSpec("subtract", (t, t), T.INT64, NN, _days_between(t),
                           "whole days (as DuckDB), not a duration")


def _days_shift(sign: int, dtype: DType) -> Callable:
    per_day = ticks_per_day(dtype)

    def emit(b, x, n):
        if dtype.bits < 64:
            n = b.trunc(n, x.type)
        step = b.mul(n, const(per_day, x.type)) if per_day > 1 else n
        return b.add(x, step, name="moved") if sign > 0 else b.sub(x, step, name="moved")
    return emit


def _days_between(dtype: DType) -> Callable:
    per_day = ticks_per_day(dtype)

    def emit(b, x, y):
        difference = b.sub(widen(b, x), widen(b, y), name="difference")
        return floor_div(b, difference, per_day, "days")
    return emit


def _cast_rows(source: DType) -> Iterable[FunctionSpec]:
    """cast_<target>(source) between temporal types, and to and from their storage integers."""
    for target in T.TEMPORAL_TYPES:
        row = cast_row(source, target) if target != source else None
        if row is not None:
            yield row
    storage = T.signed_of_bits(source.bits)
    yield FunctionSpec(f"checked_cast_{storage.name}", (source,), storage, NN, _storage(storage.bits),
                       "the storage integer")
    if storage != T.INT64:
        yield FunctionSpec("checked_cast_int64", (source,), T.INT64, NN, _storage(64), "the storage integer")
    yield FunctionSpec(f"checked_cast_{source.name}", (storage,), source, NN, _storage(source.bits),
                       "the integer as storage")


def zoned_row(name: str, arg_types: tuple[DType, ...]) -> FunctionSpec | None:
    """A row for a timestamp with a zone, made from the row of the same unit without one.

    Comparisons and arithmetic do not depend on the zone (values are UTC);
    fields, truncation and calendar months do, and get the zone's code.
    """
    zoned = next((t for t in arg_types if t.kind is T.Kind.TIMESTAMP and t.tz is not None), None)
    if zoned is None:
        return None
    if name in FIELDS or name.startswith("date_trunc_") or name == "add_months":
        return next((row for row in field_rows(zoned) if row.name == name and row.arg_types == arg_types),
                    None)
    from .registry import BUILTINS
    naive_args = tuple(T.timestamp_type(t.unit) if t.kind is T.Kind.TIMESTAMP else t for t in arg_types)
    naive = BUILTINS.lookup(name, naive_args)
    if naive is None:
        return None
    returns = naive.return_type
    if returns.kind is T.Kind.TIMESTAMP:
        returns = T.timestamp_type(returns.unit, zoned.tz)
    return FunctionSpec(naive.name, arg_types, returns, naive.nulls, naive.emit, naive.doc)


def storage_row(source: DType, target: DType) -> FunctionSpec:
    """``cast(i as timestamp[us])``: an integer read as the target's storage (as Arrow's cast)."""
    def emit(b, x, x_valid):
        wide = b.sext(x, I64) if source.is_signed else b.zext(x, I64)
        if source == T.UINT64:
            x_valid = b.and_(x_valid, b.icmp_signed(">=", wide, const(0)), name="fits")
        return rescale(b, wide, 1, target.bits, x_valid)
    return FunctionSpec(f"checked_cast_{target.name}", (source,), target, NINT, emit,
                        "the integer as storage; null when it does not fit")


def zone_offset_at(ticks: int, dtype: DType) -> int:
    """At compile time: the zone's offset in ticks at the UTC instant ``ticks`` (see :func:`utc_offset`)."""
    return zone_transitions(dtype.tz).offset_at(ticks // dtype.ticks) * dtype.ticks


# ---------------------------------------------------------------------------
# Strings to dates and timestamps, parsed in the kernel.
# ---------------------------------------------------------------------------

# YYYY-MM-DD[( |T)HH:MM[:SS[.fffffffff]]]: the longest form has 29 bytes.
_LONGEST = 29 + 6  # the longest text read: YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM
_DIGITS = {"date": (0, 1, 2, 3, 5, 6, 8, 9), "clock": (11, 12, 14, 15), "seconds": (17, 18)}


def _byte_at(b: ir.IRBuilder, pointer: ir.Value, length: ir.Value, k: int) -> ir.Value:
    """Byte k of the string as i64, or 0 past its end (nothing past the end is read)."""
    inside = b.icmp_unsigned(">", length, const(k), name=f"has_{k}")
    safe = b.select(inside, const(k), const(0), name=f"at_{k}")
    byte = b.load(b.gep(pointer, [safe], source_etype=ir.IntType(8)), typ=ir.IntType(8), name=f"byte_{k}")
    byte = b.select(inside, byte, ir.Constant(ir.IntType(8), 0))
    return b.zext(byte, I64, name=f"c{k}")


def parse_iso(b: ir.IRBuilder, view: ir.Value, target: DType) -> tuple[ir.Value, ir.Value]:
    """(value, valid) of an ISO 8601 string as a date or a timestamp, as pyarrow's cast.

    Dates read ``YYYY-MM-DD``; timestamps also take a time after a space or
    ``T`` (``HH``, ``HH:MM``, ``HH:MM:SS``, and up to as many fraction digits
    as the unit holds). A timestamp with a zone needs a time and a UTC offset
    after it (``Z``, ``+HH``, ``+HHMM``, ``+HH:MM``; the value is that
    instant); one without a zone takes none. Anything else, or a day that
    does not exist, is null.
    """
    pointer = b.extract_value(view, 0, name="s_ptr")
    length = b.extract_value(view, 1, name="s_len")
    c = [_byte_at(b, pointer, length, k) for k in range(_LONGEST)]
    TRUE_ = ir.Constant(I1, 1)
    zoned = target.kind is T.Kind.TIMESTAMP and target.tz is not None
    if zoned:
        offset, offset_ok, suffix = _utc_offset_suffix(b, pointer, length)
        length = b.sub(length, suffix, name="s_len_before_offset")

    def is_digit(k: int) -> ir.Value:
        return b.icmp_unsigned("<", b.sub(c[k], const(ord("0"))), const(10), name=f"digit_{k}")

    def is_char(k: int, char: str) -> ir.Value:
        return b.icmp_unsigned("==", c[k], const(ord(char)), name=f"is_{k}")

    def number(positions: tuple[int, ...]) -> ir.Value:
        value = const(0)
        for k in positions:
            value = b.add(b.mul(value, const(10)), b.sub(c[k], const(ord("0"))))
        return value

    def all_of(bits: list[ir.Value]) -> ir.Value:
        result = TRUE_
        for bit in bits:
            result = b.and_(result, bit)
        return result

    date_ok = all_of([is_digit(k) for k in _DIGITS["date"]] + [is_char(4, "-"), is_char(7, "-")])
    year, month, day = number((0, 1, 2, 3)), number((5, 6)), number((8, 9))
    month_ok = b.and_(b.icmp_signed(">=", month, const(1)), b.icmp_signed("<=", month, const(12)))
    safe_month = b.select(month_ok, month, const(1))
    last_day = days_in_month(b, year, safe_month)
    day_ok = b.and_(b.icmp_signed(">=", day, const(1)), b.icmp_signed("<=", day, last_day))
    days = days_from_civil(b, year, safe_month, day)
    valid = all_of([date_ok, month_ok, day_ok])
    if target.kind is T.Kind.DATE:
        valid = b.and_(valid, b.icmp_unsigned("==", length, const(10)), name="valid")
        value = days if target == T.DATE32 else b.mul(days, const(SECONDS_PER_DAY * 1000))
        return (b.trunc(value, I32) if target.bits == 32 else value), valid
    ticks = target.ticks
    digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}[target.unit]
    separator = b.or_(is_char(10, " "), is_char(10, "T"))
    clock_ok = all_of([separator, *(is_digit(k) for k in _DIGITS["clock"]), is_char(13, ":")])
    hour, minute = number((11, 12)), number((14, 15))
    clock_ok = all_of([clock_ok, b.icmp_signed("<", hour, const(24)), b.icmp_signed("<", minute, const(60))])
    seconds_ok = all_of([is_char(16, ":"), *(is_digit(k) for k in _DIGITS["seconds"])])
    second = number((17, 18))
    seconds_ok = b.and_(seconds_ok, b.icmp_signed("<", second, const(60)))
    fraction_digits = b.sub(length, const(20), name="fraction_digits")
    fraction = const(0)
    fraction_ok = is_char(19, ".")
    for k in range(20, 20 + digits):
        present = b.icmp_unsigned(">", length, const(k))
        digit = b.select(present, b.sub(c[k], const(ord("0"))), const(0))
        fraction = b.add(b.mul(fraction, const(10)), digit)
        fraction_ok = b.and_(fraction_ok, b.or_(b.not_(present), is_digit(k)))
    fraction_ok = all_of([fraction_ok, b.icmp_signed(">=", fraction_digits, const(1)),
                          b.icmp_signed("<=", fraction_digits, const(digits))])
    n = length
    hour_ok = all_of([separator, is_digit(11), is_digit(12), b.icmp_signed("<", hour, const(24))])
    forms = [b.icmp_unsigned("==", n, const(10)),
             b.and_(b.icmp_unsigned("==", n, const(13)), hour_ok),
             b.and_(b.icmp_unsigned("==", n, const(16)), clock_ok),
             b.and_(b.icmp_unsigned("==", n, const(19)), b.and_(clock_ok, seconds_ok))]
    if digits:
        forms.append(all_of([b.icmp_unsigned(">", n, const(20)), clock_ok, seconds_ok, fraction_ok]))
    if zoned:  # pyarrow wants a time of day before the offset
        forms = forms[1:]
    any_form = forms[0]
    for form in forms[1:]:
        any_form = b.or_(any_form, form)
    valid = b.and_(valid, any_form, name="valid")
    with_hour = b.icmp_unsigned(">=", n, const(13))
    with_minutes = b.icmp_unsigned(">=", n, const(16))
    with_seconds = b.icmp_unsigned(">=", n, const(19))
    seconds = b.add(b.mul(days, const(SECONDS_PER_DAY)),
                    b.select(with_hour, b.mul(hour, const(3600)), const(0)))
    seconds = b.add(seconds, b.select(with_minutes, b.mul(minute, const(60)), const(0)))
    seconds = b.add(seconds, b.select(with_seconds, second, const(0)))
    if zoned:
        seconds = b.sub(seconds, offset, name="utc_seconds")
        valid = b.and_(valid, offset_ok, name="valid_with_offset")
    # The fraction was read as `digits` digits, the ones not written as zeros: ticks already.
    value = b.add(b.mul(seconds, const(ticks)), fraction, name="timestamp")
    return value, valid


def _utc_offset_suffix(b: ir.IRBuilder, pointer: ir.Value, length: ir.Value
                       ) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(offset in seconds, whether there is a valid one, its length in bytes) of a string that
    ends in ``Z``, ``+HH``, ``+HHMM`` or ``+HH:MM`` (or ``-``); hours below 24, minutes below 60."""
    def tail(j: int) -> ir.Value:  # the j-th byte from the end, or 0 (nothing outside is read)
        inside = b.icmp_unsigned(">=", length, const(j), name=f"has_tail_{j}")
        safe = b.select(inside, b.sub(length, const(j)), const(0))
        byte = b.load(b.gep(pointer, [safe], source_etype=ir.IntType(8)), typ=ir.IntType(8),
                      name=f"tail_{j}")
        return b.zext(b.select(inside, byte, ir.Constant(ir.IntType(8), 0)), I64)

    t = {j: tail(j) for j in range(1, 7)}

    def digit(j: int) -> ir.Value:
        return b.icmp_unsigned("<", b.sub(t[j], const(ord("0"))), const(10))

    def number(j: int, k: int) -> ir.Value:
        return b.add(b.mul(b.sub(t[j], const(ord("0"))), const(10)), b.sub(t[k], const(ord("0"))))

    def sign(j: int) -> ir.Value:
        return b.or_(b.icmp_unsigned("==", t[j], const(ord("+"))),
                     b.icmp_unsigned("==", t[j], const(ord("-"))))

    def both(*bits: ir.Value) -> ir.Value:
        result = bits[0]
        for bit in bits[1:]:
            result = b.and_(result, bit)
        return result

    colon = both(sign(6), digit(5), digit(4), b.icmp_unsigned("==", t[3], const(ord(":"))),
                 digit(2), digit(1))
    compact = both(sign(5), digit(4), digit(3), digit(2), digit(1))
    hours_only = both(sign(3), digit(2), digit(1))
    utc = b.icmp_unsigned("==", t[1], const(ord("Z")))
    suffix = b.select(colon, const(6), b.select(compact, const(5), b.select(
        hours_only, const(3), b.select(utc, const(1), const(0)))), name="offset_length")
    hours = b.select(colon, number(5, 4), b.select(compact, number(4, 3), number(2, 1)))
    minutes = b.select(b.or_(colon, compact), number(2, 1), const(0))
    is_utc = b.icmp_unsigned("==", suffix, const(1))
    hours = b.select(is_utc, const(0), hours, name="offset_hours")
    minutes = b.select(is_utc, const(0), minutes, name="offset_minutes")
    sign_byte = b.select(colon, t[6], b.select(compact, t[5], t[3]))
    negative = b.and_(b.icmp_unsigned("==", sign_byte, const(ord("-"))), b.not_(is_utc),
                      name="offset_negative")
    magnitude = b.add(b.mul(hours, const(3600)), b.mul(minutes, const(60)))
    offset = b.select(negative, b.sub(const(0), magnitude), magnitude, name="offset_seconds")
    ok = both(b.icmp_unsigned("!=", suffix, const(0)), b.icmp_signed("<", hours, const(24)),
              b.icmp_signed("<", minutes, const(60)))
    return offset, ok, suffix


def parse_row(source: DType, target: DType) -> FunctionSpec | None:
    """``cast(s as date32)``, ``cast(s as timestamp[us])``: unparsable strings become null."""
    if target.kind not in (T.Kind.DATE, T.Kind.TIMESTAMP):
        return None

    def emit(b, s, s_valid):
        value, valid = parse_iso(b, s, target)
        return value, b.and_(s_valid, valid, name="parsed")
    return FunctionSpec(f"checked_cast_{target.name}", (T.UTF8,), target, NINT, emit,
                        "ISO 8601; null when the string is not a valid date or time")
