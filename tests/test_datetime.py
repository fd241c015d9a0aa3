"""Dates, times, timestamps (with zones) and durations against pyarrow.compute and DuckDB.

Every expected column comes from pyarrow.compute (or DuckDB, or Python's
datetime for single values) on the same data, never from arrowjit. The data
mixes random instants over five centuries with boundary values: the epoch
and the instant before it, leap days, centuries, the year 9999, the limits
of nanosecond timestamps, and the DST changes of the zones tested.
"""

import datetime as dt
import os
import zoneinfo
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.errors import ExpressionTypeError, ParseError

ZONES = [None, "UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "+05:30"]
UNITS = ["s", "ms", "us", "ns"]
TICKS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _seconds(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


BOUNDARY_SECONDS = [
    0, -1, 1, 86399, 86400, -86400, -86401,
    _seconds(2000, 2, 29, 12), _seconds(1900, 3, 1), _seconds(1900, 2, 28, 23, 59, 59),
    _seconds(2100, 2, 28), _seconds(2024, 12, 31, 23, 59, 59), _seconds(2021, 1, 3), _seconds(2020, 12, 31),
    # DST changes: New York 2024-03-10 07:00 UTC and 2024-11-03 06:00 UTC, Berlin 2024-03-31 01:00 UTC
    _seconds(2024, 3, 10, 6, 59, 59), _seconds(2024, 3, 10, 7), _seconds(2024, 11, 3, 5, 30),
    _seconds(2024, 11, 3, 6, 30), _seconds(2024, 3, 31, 0, 59, 59), _seconds(2024, 3, 31, 1),
    _seconds(2024, 10, 27, 0, 30), _seconds(2024, 10, 27, 1, 30), _seconds(1942, 6, 1),
]
NS_LIMIT = 2**63 // 10**9 - 2  # seconds a nanosecond timestamp can hold, with room for a zone


# Before these years zones had offsets with seconds (local mean time), which pyarrow's field
# functions round to minutes and its local_timestamp does not (see test_local_mean_time).
ZONED_FROM = _seconds(1946, 1, 1)


def timestamps(unit: str, tz: str | None, rows: int = 701, seed: int = 5) -> pa.Array:
    rng = np.random.default_rng(seed)
    low, high = (_seconds(1700, 1, 1), _seconds(2300, 1, 1)) if unit != "ns" else (-NS_LIMIT, NS_LIMIT)
    if tz is not None:
        low = max(low, ZONED_FROM)
    seconds = rng.integers(low, high, rows)
    seconds[:len(BOUNDARY_SECONDS)] = BOUNDARY_SECONDS
    values = seconds * TICKS[unit] + rng.integers(0, TICKS[unit], rows)
    if unit != "ns":
        values[len(BOUNDARY_SECONDS)] = _seconds(9999, 12, 31, 23, 59, 59) * TICKS[unit]
        values[len(BOUNDARY_SECONDS) + 1] = _seconds(1, 1, 1) * TICKS[unit]
    if tz is not None:
        values = np.where(values < ZONED_FROM * TICKS[unit], values % (10 * 86400 * TICKS[unit]), values)
    return pa.array(values, pa.timestamp(unit, tz), mask=rng.random(rows) < 0.1)


# Arrow reads the changes tzdata files list (up to 2037) but not the zone's rule after them, so
# pyarrow.compute has no DST after 2037; there the oracle is Python's zoneinfo (and DuckDB).
ARROW_RIGHT_UNTIL = _seconds(2038, 1, 1)


def _zoneinfo_offset(seconds: int, zone: str) -> int:
    """The zone's UTC offset at a UTC second, from Python's zoneinfo."""
    info = zoneinfo.ZoneInfo(zone)
    try:
        return int(dt.datetime.fromtimestamp(seconds, dt.UTC).astimezone(info).utcoffset().total_seconds())
    except OverflowError:  # the local time is past the year 9999: no change that late
        return int(info.utcoffset(dt.datetime.fromtimestamp(seconds - 86400, dt.UTC)
                                  .replace(tzinfo=None)).total_seconds())


def local_wall(array: pa.Array) -> pa.Array:
    """The wall-clock times (naive) of a zoned array: pyarrow's ``local_timestamp`` before 2038,
    Python's zoneinfo from then on."""
    per = TICKS[array.type.unit]
    arrow = pc.local_timestamp(array).cast(pa.int64()).to_pylist()
    values = [None if v is None else a if v < ARROW_RIGHT_UNTIL * per
              else v + _zoneinfo_offset(v // per, array.type.tz) * per
              for v, a in zip(array.cast(pa.int64()).to_pylist(), arrow, strict=True)]
    return pa.array(values, pa.int64()).cast(pa.timestamp(array.type.unit))


def zoned_field(field: str, array: pa.Array) -> list:
    """pyarrow's field of a timestamp array, of its local time (:func:`local_wall`) when zoned."""
    named = array.type.tz not in (None, "UTC") and array.type.tz[0] not in "+-"  # (not a fixed offset)
    return FIELDS[field](local_wall(array) if named else array).to_pylist()


def dates(bits: int, rows: int = 701, seed: int = 6) -> pa.Array:
    rng = np.random.default_rng(seed)
    days = rng.integers(-719_162, 2_932_896, rows)  # 0001-01-01 .. 9999-12-31
    days[:8] = [0, -1, 1, 10_956, 11_016, -25_508, 2_932_896, -719_162]
    array = pa.array(days.astype(np.int32), pa.date32(), mask=rng.random(rows) < 0.1)
    return array if bits == 32 else array.cast(pa.date64())


def project(expr: str, data: pa.RecordBatch | pa.Table) -> pa.Array:
    proj = arrowjit.compile_projection({"out": expr}, data.schema)
    out = proj(data)["out"]
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def assert_same(got: pa.Array, want: pa.Array) -> None:
    want = want.combine_chunks() if isinstance(want, pa.ChunkedArray) else want
    assert got.type == want.type, (got.type, want.type)
    assert got.to_pylist() == want.to_pylist() if got.type.id != pa.timestamp("s").id else \
        got.cast(pa.int64()).to_pylist() == want.cast(pa.int64()).to_pylist()


def mask(expr: str, data) -> list:
    f = arrowjit.compile_filter(expr, data.schema)
    return f.mask(data).to_pylist()


def fill(array) -> list:
    return pc.fill_null(array, False).to_pylist()


# ---------------------------------------------------------------------------
# Fields.
# ---------------------------------------------------------------------------

FIELDS = {
    "year": pc.year, "quarter": pc.quarter, "month": pc.month, "day": pc.day, "hour": pc.hour,
    "minute": pc.minute, "second": pc.second, "dayofyear": pc.day_of_year, "week": pc.iso_week,
    "dayofweek": pc.day_of_week,  # Monday 0, as pyarrow (DuckDB's dayofweek: Sunday 0)
}


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("field", list(FIELDS))
def test_timestamp_fields_against_pyarrow(field, unit, tz):
    array = timestamps(unit, tz)
    data = pa.record_batch({"t": array})
    assert project(f"{field}(t)", data).to_pylist() == zoned_field(field, array)


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("field", ["year", "quarter", "month", "day", "dayofyear", "week", "dayofweek"])
def test_date_fields_against_pyarrow(field, bits):
    array = dates(bits)
    data = pa.record_batch({"d": array})
    assert project(f"{field}(d)", data).to_pylist() == FIELDS[field](array).to_pylist()


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Kolkata", "Europe/Berlin"])
def test_local_mean_time(tz):
    """Historical offsets with seconds are exact, as pc.local_timestamp (pyarrow's hour()/minute()/
    second() round them to whole minutes)."""
    seconds = [_seconds(1, 1, 1), _seconds(1850, 6, 1, 12, 0, 30), _seconds(1880, 1, 1), _seconds(1901, 1, 1)]
    array = pa.array(seconds, pa.timestamp("s", tz))
    local = pc.local_timestamp(array)
    data = pa.record_batch({"t": array})
    for field in ("year", "day", "hour", "minute", "second"):
        assert project(f"{field}(t)", data).to_pylist() == FIELDS[field](local).to_pylist(), field


def test_time_fields():
    array = pa.array([0, 3_599_999_999, None, 86_399_999_999, 45_296_000_001], pa.time64("us"))
    data = pa.record_batch({"c": array})
    assert project("hour(c)", data).to_pylist() == [0, 0, None, 23, 12]
    assert project("minute(c)", data).to_pylist() == [0, 59, None, 59, 34]
    assert project("second(c)", data).to_pylist() == [0, 59, None, 59, 56]
    assert project("hour(c)", data).to_pylist() == pc.hour(array).to_pylist()


def test_dayofweek_matches_duckdb_after_conversion():
    duckdb = pytest.importorskip("duckdb")
    array = dates(32, rows=300)
    data = pa.record_batch({"d": array})
    ours = project("dayofweek(d)", data).to_pylist()
    theirs = duckdb.sql("select dayofweek(d) as w from data").to_arrow_table()["w"].to_pylist()
    # DuckDB counts from Sunday = 0; arrowjit (as pyarrow) from Monday = 0.
    assert ours == [None if w is None else (w + 6) % 7 for w in theirs]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("unit", ["year", "quarter", "month", "week", "day", "hour", "minute", "second"])
def test_date_trunc_against_pyarrow(unit, tz):
    array = timestamps("us", tz)
    if tz in ("America/New_York", "Europe/Berlin"):
        # pyarrow raises where the truncated local time is ambiguous or skipped: leave those rows out.
        def pyarrow_can(k):
            try:
                pc.floor_temporal(array.slice(k, 1), unit=unit, week_starts_monday=True)
                return True
            except pa.ArrowInvalid:
                return False
        # And before 2038, where pyarrow is right (later years: test_zoned_against_duckdb_and_zoneinfo).
        keep = pa.array([pyarrow_can(k) for k in range(len(array))])
        keep = pc.and_(keep, pc.less(array.cast(pa.int64()), ARROW_RIGHT_UNTIL * 10**6))
        array = pc.if_else(keep, array, pa.scalar(None, array.type))
    data = pa.record_batch({"t": array})
    want = pc.floor_temporal(array, unit=unit, week_starts_monday=True)
    got = project(f"date_trunc('{unit}', t)", data)
    assert got.type == array.type
    assert got.cast(pa.int64()).to_pylist() == want.cast(pa.int64()).to_pylist()


@pytest.mark.parametrize("unit", ["year", "quarter", "month", "week", "day"])
def test_date_trunc_on_dates(unit):
    array = dates(32)
    data = pa.record_batch({"d": array})
    want = pc.floor_temporal(array, unit=unit, week_starts_monday=True)
    got = project(f"date_trunc('{unit}', d)", data)
    assert got.type == pa.date32()
    assert got.to_pylist() == want.to_pylist()


def test_fields_on_slices_and_chunks():
    array = timestamps("ms", "Europe/Berlin", rows=1000)
    table = pa.Table.from_batches([pa.record_batch({"t": array.slice(0, 333)}),
                                   pa.record_batch({"t": array.slice(333, 400)}),
                                   pa.record_batch({"t": array.slice(733)})])
    assert project("hour(t)", table).to_pylist() == zoned_field("hour", array)
    for offset, length in [(1, 0), (3, 61), (13, 300), (65, 129)]:
        part = array.slice(offset, length)
        data = pa.record_batch({"t": part})
        days, months = zoned_field("day", part), zoned_field("month", part)
        assert project("day(t) + month(t)", data).to_pylist() == \
            [None if d is None else d + m for d, m in zip(days, months, strict=True)]


# ---------------------------------------------------------------------------
# Literals and comparisons.
# ---------------------------------------------------------------------------

def test_literal_forms():
    data = pa.record_batch({"t": pa.array([0], pa.timestamp("ns"))})
    for text, want in [("timestamp '1970-01-01'", 0), ("timestamp '1970-01-01 00:00:01'", 10**9),
                       ("timestamp '1970-01-01T00:00:00.5'", 5 * 10**8),
                       ("timestamp '1970-01-01 00:00:00.000000001'", 1),
                       ("timestamp '1970-01-01 01:00+01:00'", 0), ("timestamp '1969-12-31 19:00 -05:00'", 0),
                       ("timestamp '1970-01-01 00:00:00Z'", 0)]:
        got = project(f"cast({text} as timestamp[ns, tz=UTC])", data) if "+" in text or "-05" in text \
            or "Z" in text else project(f"cast({text} as timestamp[ns])", data)
        assert got.cast(pa.int64()).to_pylist() == [want], text


@pytest.mark.parametrize("text", ["date '2023-02-29'", "date '2024-13-01'", "date 'x'",
                                  "timestamp '2024-01-01 24:00'", "timestamp '2024-01-01 10:00 Mars/Base'",
                                  "time '25:00'", "interval '1 fortnight'", "interval '1 month 2 days'"])
def test_bad_literals_are_caret_errors(text):
    with pytest.raises(ExpressionTypeError) as info:
        arrowjit.compile_filter(f"t > {text}", {"t": "timestamp[us]"})
    assert "^" in str(info.value)


def test_unknown_literal_word_is_a_parse_error():
    with pytest.raises(ParseError, match="not a literal"):
        arrowjit.compile_filter("t > datum '2024-01-01'", {"t": "timestamp[us]"})


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("unit", UNITS)
def test_comparisons_with_literals(unit, tz):
    array = timestamps(unit, tz)
    data = pa.record_batch({"t": array})
    # A literal without zone is a wall-clock time in the column's zone.
    local = dt.datetime(2024, 3, 10, 1, 30)
    zone = None if tz is None else tz
    if zone is None:
        instant = pa.scalar(local, pa.timestamp(unit))
    else:
        instant = pc.assume_timezone(pa.array([local], pa.timestamp(unit)), timezone=zone)[0]
    for op, fn in [(">", pc.greater), ("<=", pc.less_equal), ("==", pc.equal), ("!=", pc.not_equal)]:
        assert mask(f"t {op} timestamp '2024-03-10 01:30:00'", data) == fill(fn(array, instant)), op
    # With an offset the literal is that instant, in any zone.
    utc = pa.scalar(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), pa.timestamp(unit, "UTC"))
    if tz is not None:
        assert mask("t >= timestamp '2000-01-01 00:00:00Z'", data) == fill(pc.greater_equal(array, utc))


def test_between_and_in():
    array = timestamps("us", "America/New_York")
    data = pa.record_batch({"t": array})
    local = pa.array([dt.datetime(1990, 1, 1), dt.datetime(2010, 6, 30, 12)], pa.timestamp("us"))
    low, high = pc.assume_timezone(local, "America/New_York")
    want = pc.and_(pc.greater_equal(array, low), pc.less_equal(array, high))
    assert mask("t between timestamp '1990-01-01' and timestamp '2010-06-30 12:00'", data) == fill(want)
    d = dates(32)
    data = pa.record_batch({"d": d})
    picks = pa.array([0, -1, 10_957], pa.date32())  # 2000-01-01 is day 10957
    assert mask("d in (date '1970-01-01', date '1969-12-31', date '2000-01-01')", data) == \
        fill(pc.is_in(d, picks))
    assert mask("d not between date '1900-01-01' and date '2000-01-01'", data) == \
        fill(pc.invert(pc.and_(pc.greater_equal(d, pa.scalar(dt.date(1900, 1, 1))),
                               pc.less_equal(d, pa.scalar(dt.date(2000, 1, 1))))))


def test_mixed_units_promote_to_the_finer():
    s = pa.array([0, 1, 2, None, 10**11], pa.timestamp("s"))
    ns = pa.array([0, 999_999_999, 2 * 10**9, 5, None], pa.timestamp("ns"))
    data = pa.record_batch({"s": s, "ns": ns})
    assert mask("s < ns", data) == [False, False, False, False, False]
    assert mask("s <= ns", data) == [True, False, True, False, False]
    # 10**11 s is past the nanosecond range: that row's promoted value is null
    assert mask("s > timestamp '1970-01-01 00:00:00.5'", data) == [False, True, True, False, True]


def test_date_against_timestamp_promotes_the_date():
    d = pa.array([0, 1, None, -1], pa.date32())
    t = pa.array([0, 86_400 * 10**6 - 1, 0, -1], pa.timestamp("us"))
    data = pa.record_batch({"d": d, "t": t})
    assert mask("d == t", data) == [True, False, False, False]
    assert mask("d < t", data) == [False, False, False, True]
    assert mask("t >= date '1970-01-01'", data) == [True, True, True, False]
    z = pa.array([0, 5 * 3600 * 10**6, None], pa.timestamp("us", "America/New_York"))
    zd = pa.record_batch({"z": z, "d": pa.array([0, 0, 0], pa.date32())})
    # A date is midnight in the zone of the timestamp it meets: 1970-01-01 00:00 New York is 05:00 UTC.
    assert mask("z == date '1970-01-01'", zd) == [False, True, False]
    assert mask("z == d", zd) == [False, True, False]


def test_zoned_and_naive_columns_do_not_mix():
    with pytest.raises(ExpressionTypeError, match="time zone"):
        arrowjit.compile_filter("a < b", {"a": "timestamp[us]", "b": "timestamp[us, tz=UTC]"})


def test_zoned_columns_compare_in_utc():
    a = pa.array([0, 3600, None], pa.timestamp("s", "Asia/Kolkata"))
    b = pa.array([0, 0, 0], pa.timestamp("ms", "America/New_York"))
    data = pa.record_batch({"a": a, "b": b})
    assert mask("a == b", data) == fill(pc.equal(a.cast(pa.timestamp("ms", "America/New_York")), b))
    assert mask("a > b", data) == [False, True, False]


def test_time_and_duration_comparisons():
    c = pa.array([0, 3600, None, 86399], pa.time32("s"))
    d = pa.array([0, 60_000_000_000, 5, -1], pa.duration("ns"))
    data = pa.record_batch({"c": c, "d": d})
    assert mask("c >= time '01:00'", data) == [False, True, False, True]
    assert mask("c < time '00:00:00.001'", data) == [True, False, False, False]
    assert mask("d >= interval '1 minute'", data) == [False, True, False, False]
    assert mask("d < interval '0 seconds'", data) == [False, False, False, True]
    assert mask("-d > interval '0 s'", data) == [False, False, False, True]


# ---------------------------------------------------------------------------
# Arithmetic.
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("tz", [None, "Europe/Berlin"])
@pytest.mark.parametrize("unit", UNITS)
def test_timestamp_plus_duration(unit, tz):
    array = timestamps(unit, tz)
    data = pa.record_batch({"t": array})
    got = project("t + interval '2 hours 30 minutes'", data)
    want = pc.add(array, pa.scalar(dt.timedelta(hours=2, minutes=30), pa.duration(unit)))
    assert_same(got, want)
    got = project("t - interval '1 day'", data)
    want = pc.subtract(array, pa.scalar(dt.timedelta(days=1), pa.duration(unit)))
    assert_same(got, want)


def test_timestamp_plus_finer_duration_promotes():
    array = timestamps("s", None)
    data = pa.record_batch({"t": array})
    got = project("t + interval '1.5 seconds'", data)
    assert got.type == pa.timestamp("ms")
    want = pc.add(array.cast(pa.timestamp("ms")), pa.scalar(1500, pa.duration("ms")))
    assert got.cast(pa.int64()).to_pylist() == want.cast(pa.int64()).to_pylist()


def test_timestamp_differences_and_duration_columns():
    a = timestamps("us", "UTC")
    b = timestamps("us", "UTC", seed=11)
    data = pa.record_batch({"a": a, "b": b, "d": pc.subtract(a, b)})
    assert_same(project("a - b", data), pc.subtract(a, b))
    assert_same(project("b + d", data), pc.add(b, pc.subtract(a, b)))
    assert_same(project("d * 2", data), pc.multiply(pc.subtract(a, b), 2))
    assert mask("a - b > interval '1000 days'", data) == \
        fill(pc.greater(pc.subtract(a, b), pa.scalar(dt.timedelta(days=1000), pa.duration("us"))))


def test_date_arithmetic_as_duckdb():
    duckdb = pytest.importorskip("duckdb")
    d = dates(32, rows=400)
    e = dates(32, rows=400, seed=12)
    # keep clear of year 9999 for + 1 month
    far = pc.or_(pc.greater(d, pa.scalar(dt.date(9990, 1, 1))), pc.less(d, pa.scalar(dt.date(2, 1, 1))))
    d = pc.if_else(far, pa.scalar(None, pa.date32()), d)
    data = pa.record_batch({"d": d, "e": e})
    for ours, theirs in [("d + 3", "d + 3"), ("d - e", "d - e"), ("d - 10", "d - 10"),
                         ("d + interval '1 month'", "(d + interval '1 month')::date"),
                         ("d - interval '13 months'", "(d - interval '13 months')::date"),
                         ("d + interval '2 years'", "(d + interval '2 years')::date"),
                         ("d + interval '7 days'", "(d + interval '7 days')::date")]:
        want = duckdb.sql(f"select {theirs} as out from data").to_arrow_table()["out"]
        assert project(ours, data).to_pylist() == want.to_pylist(), ours


def test_month_arithmetic_clamps_to_month_end():
    d = pa.array([dt.date(2024, 1, 31), dt.date(2023, 1, 31), dt.date(2024, 2, 29), None,
                  dt.date(2023, 12, 15)])
    data = pa.record_batch({"d": d})
    assert project("d + interval '1 month'", data).to_pylist() == [
        dt.date(2024, 2, 29), dt.date(2023, 2, 28), dt.date(2024, 3, 29), None, dt.date(2024, 1, 15)]
    assert project("d - interval '1 year'", data).to_pylist() == [
        dt.date(2023, 1, 31), dt.date(2022, 1, 31), dt.date(2023, 2, 28), None, dt.date(2022, 12, 15)]
    t = pa.array([dt.datetime(2024, 1, 31, 10, 30)], pa.timestamp("us"))
    assert project("t + interval '1 month'", pa.record_batch({"t": t})).to_pylist() == \
        [dt.datetime(2024, 2, 29, 10, 30)]


def test_date_plus_sub_day_interval_is_a_timestamp():
    d = pa.array([dt.date(2024, 1, 31), None])
    got = project("d + interval '90 minutes'", pa.record_batch({"d": d}))
    assert got.type == pa.timestamp("s")
    assert got.to_pylist() == [dt.datetime(2024, 1, 31, 1, 30), None]


@pytest.mark.parametrize("expr", ["t + 1", "t * 2", "t + t", "d * d", "t / interval '1 day'",
                                  "t > 5", "d + 1.5", "d == 'x'"])
def test_undefined_operations_are_caret_errors(expr):
    with pytest.raises(ExpressionTypeError) as info:
        arrowjit.compile_filter(f"({expr}) is null", {"t": "timestamp[us]", "d": "date32"})
    assert "^" in str(info.value)


# ---------------------------------------------------------------------------
# Casts.
# ---------------------------------------------------------------------------

def test_string_to_date_and_timestamp():
    s = pa.array(["2024-01-31", "2024-02-30", "x", None, "1969-12-31", "0001-01-01", "9999-12-31",
                  "2024-1-31", "2024-01-31 10:00", "2024-01-31T10:20:30", "2024-01-31 10:20:30.123456",
                  "2024-01-31 10:20:30.1234567", "2024-01-31 25:00:00", ""])
    data = pa.record_batch({"s": s})
    assert project("cast(s as date32)", data).to_pylist() == [
        dt.date(2024, 1, 31), None, None, None, dt.date(1969, 12, 31), dt.date(1, 1, 1),
        dt.date(9999, 12, 31), None, None, None, None, None, None, None]
    got = project("cast(s as timestamp[us])", data).to_pylist()
    assert got == [dt.datetime(2024, 1, 31), None, None, None, dt.datetime(1969, 12, 31),
                   dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31), None, dt.datetime(2024, 1, 31, 10),
                   dt.datetime(2024, 1, 31, 10, 20, 30), dt.datetime(2024, 1, 31, 10, 20, 30, 123456),
                   None, None, None]
    # What pyarrow parses, arrowjit parses the same (pyarrow raises on the rest).
    good = pa.array(["2024-01-31", "1969-12-31", "2024-01-31 10:20:30.123456", "2024-01-31T10:00"])
    assert project("s::timestamp[us]", pa.record_batch({"s": good})).to_pylist() == \
        good.cast(pa.timestamp("us")).to_pylist()
    assert project("s::timestamp[ms]", pa.record_batch({"s": s.cast(pa.large_string())})).to_pylist()[0] == \
        dt.datetime(2024, 1, 31)


def test_unit_and_kind_casts():
    array = timestamps("us", None)
    data = pa.record_batch({"t": array})
    assert project("cast(t as timestamp[s])", data).to_pylist() == \
        pc.floor_temporal(array, unit="second").cast(pa.timestamp("s")).to_pylist()
    assert project("cast(t as date32)", data).to_pylist() == array.cast(pa.date32()).to_pylist()
    assert project("cast(t as int64)", data).to_pylist() == array.cast(pa.int64()).to_pylist()
    zoned = timestamps("ms", "Asia/Kolkata")
    assert project("cast(t as date32)", pa.record_batch({"t": zoned})).to_pylist() == \
        zoned.cast(pa.date32()).to_pylist()
    d = dates(32)
    dd = pa.record_batch({"d": d})
    assert project("cast(d as timestamp[ms])", dd).to_pylist() == d.cast(pa.timestamp("ms")).to_pylist()
    assert project("cast(d as date64)", dd).to_pylist() == d.cast(pa.date64()).to_pylist()
    assert project("cast(d as int32)", dd).to_pylist() == d.cast(pa.int32()).to_pylist()
    i = pa.array([0, 86_400, None, -1])
    assert project("cast(i as timestamp[s])", pa.record_batch({"i": i})).to_pylist() == \
        i.cast(pa.timestamp("s")).to_pylist()


def test_out_of_range_unit_casts_are_null():
    t = pa.array([0, 10**11, -(10**11), None], pa.timestamp("s"))
    assert project("cast(t as timestamp[ns])", pa.record_batch({"t": t})).to_pylist() == \
        [dt.datetime(1970, 1, 1), None, None, None]


@pytest.mark.parametrize("expr", ["cast(t as float64)", "cast(t as time32[s])", "cast(f as date32)",
                                  "cast(t as timestamp[xs])", "cast(t as timestamp[us, tz=Nowhere/Land])"])
def test_impossible_casts_are_caret_errors(expr):
    with pytest.raises(ExpressionTypeError) as info:
        arrowjit.compile_filter(f"{expr} is null", {"t": "timestamp[us]", "f": "float64"})
    assert "^" in str(info.value)


# ---------------------------------------------------------------------------
# Outputs, schemas and the typed IR.
# ---------------------------------------------------------------------------

def test_projection_output_types():
    schema = {"t": "timestamp[us, tz=Europe/Berlin]", "d": "date64", "c": "time64[ns]", "u": "duration[ms]"}
    data = pa.record_batch({"t": pa.array([0, None], pa.timestamp("us", "Europe/Berlin")),
                            "d": pa.array([0, 86_400_000], pa.date64()),
                            "c": pa.array([1, 2], pa.time64("ns")),
                            "u": pa.array([5, None], pa.duration("ms"))})
    proj = arrowjit.compile_projection(["t", "d", "c", "u", "t + u", "date_trunc('day', t)"], schema)
    out = proj(data)
    assert [f.type for f in out.schema] == [pa.timestamp("us", "Europe/Berlin"), pa.date64(), pa.time64("ns"),
                                            pa.duration("ms"), pa.timestamp("us", "Europe/Berlin"),
                                            pa.timestamp("us", "Europe/Berlin")]
    assert out.column(0).equals(data["t"]) and out.column(3).equals(data["u"])


def test_filter_keeps_temporal_columns():
    array = timestamps("ns", "America/New_York")
    data = pa.record_batch({"t": array, "k": pa.array(range(len(array)))})
    got = arrowjit.compile_filter("year(t) >= 2000", data.schema)(data)
    want = data.filter(pc.fill_null(pc.greater_equal(pc.year(array), 2000), False))
    assert got.equals(want)


def test_typed_ir_names_rows_gandiva_style():
    f = arrowjit.compile_filter("year(t) > 2000 and day(z) = 1",
                                {"t": "timestamp[us]", "z": "timestamp[ms, tz=Asia/Kolkata]"})
    typed = f.ir("typed")
    assert "year_timestamp_us" in typed and "day_timestamp_ms[Asia/Kolkata]" in typed


# A wall-clock time skipped or repeated by a change: (zone, local time, the instant, UTC).
# Skipped: read with the offset before the change; repeated: the offset after it (the later of
# the two readings), as PostgreSQL and DuckDB.
WALL_CLOCK_CASES = [
    ("America/New_York", "2024-03-10 02:30:00", "2024-03-10 07:30:00"),  # skipped: 02:30 EST = 03:30 EDT
    ("America/New_York", "2024-11-03 01:30:00", "2024-11-03 06:30:00"),  # repeated: 01:30 EST
    ("America/New_York", "2024-11-03 00:59:59", "2024-11-03 04:59:59"),  # before the repeated hour: EDT
    ("America/New_York", "2056-03-12 02:30:00", "2056-03-12 07:30:00"),  # after 2037: the rule's DST
    ("America/New_York", "2056-11-05 01:30:00", "2056-11-05 06:30:00"),
    ("America/New_York", "2456-03-12 02:30:00", "2456-03-12 07:30:00"),  # past the table: folded
    ("Europe/Berlin", "2024-03-31 02:30:00", "2024-03-31 01:30:00"),  # skipped: 02:30 CET = 03:30 CEST
    ("Europe/Berlin", "2024-10-27 02:30:00", "2024-10-27 01:30:00"),  # repeated: 02:30 CET
    ("Europe/Berlin", "2100-03-28 02:30:00", "2100-03-28 01:30:00"),
    ("Australia/Sydney", "2024-10-06 02:30:00", "2024-10-05 16:30:00"),  # skipped: 02:30 AEST
    ("Australia/Sydney", "2024-04-07 02:30:00", "2024-04-06 16:30:00"),  # repeated: 02:30 AEST
    ("Australia/Sydney", "2300-04-02 02:30:00", "2300-04-01 16:30:00"),
    ("America/Sao_Paulo", "2018-11-04 00:30:00", "2018-11-04 03:30:00"),  # skipped midnight: -03
    ("America/Sao_Paulo", "2056-11-05 00:30:00", "2056-11-05 03:30:00"),  # no DST since 2019: -03
    ("Asia/Kolkata", "2300-06-01 12:00:00", "2300-06-01 06:30:00"),
    ("America/Havana", "2024-11-03 00:30:00", "2024-11-03 05:30:00"),  # repeated midnight hour: CST
]


def test_date_trunc_day_where_midnight_is_repeated():
    """Havana goes back from 01:00 CDT to 00:00 CST: midnight is read with the offset after the
    change (as DuckDB), so the day of 00:30 CDT starts at 00:00 CST, half an hour after it."""
    duckdb = pytest.importorskip("duckdb")
    utc = [dt.datetime(2024, 11, 3, 4, 30, tzinfo=dt.UTC), dt.datetime(2024, 11, 3, 5, 30, tzinfo=dt.UTC)]
    data = pa.record_batch({"t": pa.array(utc, pa.timestamp("us", "America/Havana"))})
    got = project("date_trunc('day', t)", data).cast(pa.int64()).to_pylist()
    assert got == [_utc_us("2024-11-03 05:00:00")] * 2
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/Havana'")
    con.register("data", pa.table({"t": data.column(0)}))
    assert got == [r[0] for r in con.execute("select epoch_us(date_trunc('day', t)) from data").fetchall()]


def _utc_us(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()) * 10**6


def _zoneinfo_rule_us(text: str, zone: str) -> int:
    """The later of zoneinfo's two readings (fold=0 and fold=1) of a wall-clock time."""
    local = dt.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return max(int(local.replace(fold=f).timestamp()) for f in (0, 1)) * 10**6


def _duckdb_rule_us(texts: list[str], zone: str) -> list[int]:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    locals_ = pa.table({"l": pa.array([dt.datetime.fromisoformat(t) for t in texts], pa.timestamp("us"))})
    con.register("locals_", locals_)
    return [row[0] for row in con.execute("select epoch_us(l::timestamptz) from locals_").fetchall()]


@pytest.mark.parametrize("zone,local,utc", WALL_CLOCK_CASES)
def test_wall_clock_literals_skipped_and_repeated(zone, local, utc):
    want = _utc_us(utc)
    assert _zoneinfo_rule_us(local, zone) == want and _duckdb_rule_us([local], zone) == [want]
    ty = pa.timestamp("us", zone)
    data = pa.record_batch({"t": pa.array([want - 3_600_000_000, want, want + 3_600_000_000], ty)})
    assert mask(f"t == timestamp '{local}'", data) == [False, True, False]
    assert mask(f"t < timestamp '{local} {zone}'", data) == [True, False, False]  # a zone name
    f = arrowjit.compile_filter("t == :p", data.schema)  # a naive datetime parameter
    assert f.mask(data, params={"p": dt.datetime.fromisoformat(local)}).to_pylist() == [False, True, False]


def test_wall_clock_rule_matches_duckdb_around_every_change():
    """Wall-clock times every 15 minutes around the changes of some years (1918..2456) as
    literals (a template compiled once, values as parameters) against DuckDB and zoneinfo."""
    for zone in ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo"]:
        texts = []
        for year in (1918, 1950, 1999, 2018, 2024, 2037, 2038, 2056, 2399, 2400, 2456):
            for day in _change_days(zone, year):
                for minutes in range(-4 * 60, 5 * 60, 15):
                    texts.append(str(day + dt.timedelta(minutes=minutes)))
        want = _duckdb_rule_us(texts, zone)
        assert want == [_zoneinfo_rule_us(t, zone) for t in texts]
        data = pa.record_batch({"t": pa.array(want, pa.timestamp("us", zone))})
        f = arrowjit.compile_filter("t == :p", data.schema)
        for k, text in enumerate(texts):
            got = f.indices(data, params={"p": dt.datetime.fromisoformat(text)}).to_pylist()
            assert k in got, (zone, text)


def _change_days(zone: str, year: int) -> list[dt.datetime]:
    """Local midnight of the days of ``year`` whose UTC offset changes (zoneinfo, sampled daily)."""
    info = zoneinfo.ZoneInfo(zone)
    days = []
    for k in range(366):
        day = dt.datetime(year, 1, 1) + dt.timedelta(days=k)
        if day.year == year and (day.replace(tzinfo=info).utcoffset()
                                 != (day + dt.timedelta(days=1)).replace(tzinfo=info).utcoffset()):
            days.append(day + dt.timedelta(days=1))
    return days


def test_month_arithmetic_on_zoned_timestamps_is_in_local_time():
    utc = dt.UTC
    z = pa.array([dt.datetime(2024, 1, 31, 5, 30, tzinfo=utc), dt.datetime(2024, 2, 10, 12, tzinfo=utc),
                  None], pa.timestamp("us", "America/New_York"))
    got = project("t + interval '1 month'", pa.record_batch({"t": z}))
    # 00:30 EST on Jan 31 -> 00:30 EST on Feb 29; 07:00 EST on Feb 10 -> 07:00 EDT on Mar 10
    assert got.cast(pa.timestamp("us", "UTC")).to_pylist() == [
        dt.datetime(2024, 2, 29, 5, 30, tzinfo=utc), dt.datetime(2024, 3, 10, 11, tzinfo=utc), None]


def test_literal_out_of_the_columns_range_is_a_caret_error():
    with pytest.raises(ExpressionTypeError, match="out of the range") as info:
        arrowjit.compile_filter("n > timestamp '3000-01-01'", {"n": "timestamp[ns]"})
    assert "^^^" in str(info.value)


def test_pandas_datetimes():
    pd = pytest.importorskip("pandas")
    times = ["2020-01-01 00:00", "2021-06-15 12:00", None, "1969-07-20 20:17"]
    df = pd.DataFrame({"t": pd.to_datetime(times),
                       "k": [1, 2, 3, 4]})
    assert df.arrowjit.query("t >= timestamp '2021-01-01' or year(t) < 1970").k.tolist() == [2, 4]


# ---------------------------------------------------------------------------
# A bounded differential fuzz against DuckDB: random predicates over dates,
# timestamps (without zone: DuckDB's TIMESTAMP and TIMESTAMP_S) and decimals.
# ---------------------------------------------------------------------------

def fuzz_table(rows: int = 301) -> pa.Table:
    rng = np.random.default_rng(21)

    def nulls():
        return rng.random(rows) < 0.15

    seconds = rng.integers(_seconds(1900, 1, 1), _seconds(2100, 1, 1), rows)
    seconds[:len(BOUNDARY_SECONDS)] = BOUNDARY_SECONDS
    micros = seconds * 10**6 + rng.integers(0, 10**6, rows)
    return pa.table({
        "t": pa.array(micros, pa.timestamp("us"), mask=nulls()),
        "u": pa.array(rng.permutation(seconds), pa.timestamp("s"), mask=nulls()),
        "d": pa.array((seconds // 86400 + rng.integers(-3, 3, rows)).astype(np.int32), pa.date32(),
                      mask=nulls()),
        "e": pa.array((rng.permutation(seconds) // 86400).astype(np.int32), pa.date32(), mask=nulls()),
        "m": pa.array([None if k % 9 == 0 else Decimal(int(v)).scaleb(-3) for k, v in
                       enumerate(rng.integers(-10**8, 10**8, rows))], pa.decimal128(12, 3)),
        "n": pa.array([None if k % 7 == 0 else Decimal(int(v)).scaleb(-1) for k, v in
                       enumerate(rng.integers(-10**5, 10**5, rows))], pa.decimal128(7, 1)),
        "i": pa.array(rng.integers(-1000, 1000, rows), mask=nulls()),
    })


def _leaves():
    from hypothesis import strategies as st

    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    stamp = st.builds(lambda y, mo, da, h, mi: f"{y:04d}-{mo:02d}-{da:02d} {h:02d}:{mi:02d}:00",
                      st.integers(1890, 2110), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
                      st.integers(0, 59))
    day = stamp.map(lambda s: s[:10])
    timestamps = st.sampled_from(["t", "u"])
    stamps_and_dates = st.sampled_from(["t", "u", "d", "e"])
    dates_ = st.sampled_from(["d", "e"])
    decimals_ = st.sampled_from(["m", "n"])
    fields = st.sampled_from(["year", "quarter", "month", "day", "dayofyear", "week", "dayofweek"])
    clock = st.sampled_from(["hour", "minute", "second"])
    units = st.sampled_from(["year", "quarter", "month", "week", "day"])

    def field_sql(f, x):
        return f"((dayofweek({x}) + 6) % 7)" if f == "dayofweek" else f"{f}({x})"

    def same(text):
        return (text, text)

    return st.one_of(
        st.builds(lambda x, op, s: (f"{x} {op} timestamp '{s}'", f"{x} {op} TIMESTAMP '{s}'"),
                  timestamps, ops, stamp),
        st.builds(lambda x, op, s: (f"{x} {op} date '{s}'", f"{x} {op} DATE '{s}'"),
                  stamps_and_dates, ops, day),
        st.builds(lambda x, op, y: same(f"{x} {op} {y}"), stamps_and_dates, ops, stamps_and_dates),
        st.builds(lambda f, x, op, k: (f"{f}({x}) {op} {k}", f"{field_sql(f, x)} {op} {k}"),
                  fields, stamps_and_dates, ops, st.integers(0, 60)),
        st.builds(lambda f, x, op, k: same(f"{f}({x}) {op} {k}"), clock, timestamps, ops, st.integers(0, 59)),
        st.builds(lambda u, x, op, y: same(f"date_trunc('{u}', {x}) {op} {y}"),
                  units, stamps_and_dates, ops, stamps_and_dates),
        st.builds(lambda x, k, w, op, y: (f"{x} + interval '{k} {w}' {op} {y}",
                                          f"{x} + INTERVAL '{k} {w}' {op} {y}"),
                  timestamps, st.integers(-500, 500),
                  st.sampled_from(["hours", "minutes", "days", "seconds"]), ops, timestamps),
        st.builds(lambda x, k, op, y: (f"{x} + interval '{k} months' {op} {y}",
                                       f"{x} + INTERVAL '{k} months' {op} {y}"),
                  stamps_and_dates, st.integers(-30, 30), ops, stamps_and_dates),
        st.builds(lambda x, k, op, s: same(f"{x} - {k} {op} date '{s}'"),
                  dates_, st.integers(-400, 400), ops, day),
        st.builds(lambda x, op, y, k: same(f"{x} - {y} {op} {k}"),
                  dates_, ops, dates_, st.integers(-9000, 9000)),
        st.builds(lambda x, op, v: same(f"{x} {op} {v}"), decimals_, ops,
                  st.sampled_from(["0", "1", "-3", "12.5", "0.001", "-99999.9", "1234.567", "0.05",
                                   "100000"])),
        st.builds(lambda x, a, y, op, z: same(f"{x} {a} {y} {op} {z}"), decimals_,
                  st.sampled_from(["+", "-", "*"]), st.sampled_from(["m", "n", "i", "2"]), ops,
                  st.sampled_from(["m", "n", "i", "0", "7.25"])),
        st.builds(lambda x: same(f"{x} is null"), st.sampled_from(["t", "u", "d", "m"])),
        st.builds(lambda x, s, w: (f"{x} between date '{s}' and date '{w}'",
                                   f"{x} between DATE '{s}' and DATE '{w}'"), stamps_and_dates, day, day),
    )


def _predicates():
    from hypothesis import strategies as st

    def extend(children):
        return st.one_of(
            st.builds(lambda a, b: (f"({a[0]}) and ({b[0]})", f"({a[1]}) and ({b[1]})"), children, children),
            st.builds(lambda a, b: (f"({a[0]}) or ({b[0]})", f"({a[1]}) or ({b[1]})"), children, children),
            st.builds(lambda a: (f"not ({a[0]})", f"not ({a[1]})"), children))
    return st.recursive(_leaves(), extend, max_leaves=4)


def test_random_predicates_against_duckdb():
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings

    table = fuzz_table()
    con = duckdb.connect()
    con.register("data", table)
    parts = pa.Table.from_batches([*table.slice(0, 100).to_batches(), *table.slice(100).to_batches()])

    @settings(max_examples=int(os.environ.get("ARROWJIT_DATES_FUZZ", "60")), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(_predicates())
    def check(pair):
        ours, sql = pair
        query = f"select coalesce(({sql}), false) as m from data"
        want = con.sql(query).to_arrow_table()["m"].to_pylist()
        f = arrowjit.compile_filter(ours, table.schema)
        assert f.mask(table).to_pylist() == want, (ours, sql)
        assert f.mask(parts.slice(3)).to_pylist() == want[3:], ours

    check()


def test_cli_schema_with_parametrized_types():
    from arrowjit.cli import parse_schema
    schema = parse_schema("t:timestamp[us, tz=+05:30], d:decimal128(10, 2),x:float64")
    assert schema.types == [pa.timestamp("us", "+05:30"), pa.decimal128(10, 2), pa.float64()]


def test_template_cache_keeps_temporal_literals_apart():
    data = pa.record_batch({"t": pa.array([0, 86400 * 10**6], pa.timestamp("us"))})
    for expr, want in [("t + interval '1 day' > timestamp '1970-01-02'", [False, True]),
                       ("t + interval '2 day' > timestamp '1970-01-02'", [True, True]),
                       ("day(t + interval '1 day') == 2", [True, False]),
                       ("day(t + interval '1 day') == 3", [False, True])]:
        assert mask(expr, data) == want, expr


def test_threads_split_temporal_projections():
    array = timestamps("ns", "Europe/Berlin", rows=70_001)
    data = pa.record_batch({"t": array})
    proj = arrowjit.compile_projection(["dayofyear(t)", "date_trunc('week', t)"], data.schema, threads=2)
    out = proj(data)
    assert out.column(0).to_pylist() == zoned_field("dayofyear", array)
    array = pc.if_else(pc.less(array.cast(pa.int64()), ARROW_RIGHT_UNTIL * 10**9), array,
                       pa.scalar(None, array.type))  # where pyarrow is right (before 2038)
    out = proj(pa.record_batch({"t": array}))
    want = pc.floor_temporal(array, unit="week", week_starts_monday=True)
    # pyarrow's week floor misplaces a Monday whose UTC offset changes later that day
    # (1946-10-07 in Berlin: 01:00 local); arrowjit gives local midnight there.
    local_want = pc.local_timestamp(want)
    midnight = pc.equal(local_want, pc.floor_temporal(local_want, unit="day"))
    # (and near the end of the nanosecond range its result wraps): there arrowjit's is checked
    # to be a local Monday midnight in the week before the value.
    got_local = pc.local_timestamp(out.column(1))
    assert pc.all(pc.equal(got_local, pc.floor_temporal(got_local, unit="day"))).as_py()
    assert pc.all(pc.equal(pc.day_of_week(got_local), 0)).as_py()
    behind = pc.subtract(pc.local_timestamp(array), got_local).cast(pa.int64())
    assert pc.all(pc.and_(pc.greater_equal(behind, 0), pc.less(behind, 7 * 86400 * 10**9))).as_py()
    assert pc.filter(out.column(1), midnight).equals(pc.filter(want, midnight))
    assert pc.sum(pc.invert(midnight).cast(pa.int64())).as_py() < 20  # (7 of 70001 here)


# ---------------------------------------------------------------------------
# Strings to timestamps with a zone: an ISO 8601 UTC offset, as pyarrow's cast
# ---------------------------------------------------------------------------

_ZONED_TEXTS = [
    "2024-01-31T12:00:00+05:30", "2024-01-31T12:00:00Z", "2024-01-31T12:00:00+0530", "2024-01-31T12:00:00+05",
    "2024-01-31 12:00:00.123456+01:00", "2024-01-31T12:00Z", "2024-01-31T12Z", "2024-01-31T12:00:00-08:00",
    "2024-01-31T12:00:00.5Z", "1969-12-31T23:59:59.999999-00:01", "2024-01-31T12:00:00.123456789Z",
    "2024-01-31T12-0100", "2024-01-31T12:00:00.12+01",
    # null in both: no offset (a zoned type needs one), bad offsets, bad days and forms
    "2024-01-31 12:00:00", "2024-01-31", "2024-01-31Z", "2024-01-31T12:00:00 +05:30",
    "2024-01-31T12:00:00z", "2024-01-31T12:00:00+24:00", "2024-01-31T12:00:00+05:60",
    "2024-02-30T12:00Z", "2024-01-31T25Z", "2024-01-31T12:00:00.1234567890Z", "2024-01-31T12:00:00.Z",
    "2024-01-31T12:00:00+5:30", "2024-01-31T12:00:00+05:3", "2024-01-31T12:00:00+05:30:00",
    "", "Z", "+05:30", "-05", None,
]


def _storage(array: pa.Array) -> list:
    return array.view(pa.int32() if array.type.bit_width == 32 else pa.int64()).to_pylist()


def _pyarrow_or_null(texts: list, arrow_type: pa.DataType) -> list:
    out = []
    for text in texts:
        try:
            out.append(_storage(pc.cast(pa.array([text], pa.string()), arrow_type))[0])
        except pa.ArrowInvalid:
            out.append(None)
    return out


@pytest.mark.parametrize("arrow_type", [pa.timestamp("us", "Asia/Kolkata"), pa.timestamp("s", "UTC"),
                                        pa.timestamp("ns", "America/New_York"), pa.timestamp("ms", "+05:00"),
                                        pa.timestamp("us"), pa.timestamp("ns")])
@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_string_to_zoned_timestamp_matches_pyarrow(arrow_type, string_type):
    texts = _ZONED_TEXTS * 3  # several blocks, the last one partial
    expected = _pyarrow_or_null(texts, arrow_type)
    column = pa.array(texts, string_type)
    proj = arrowjit.compile_projection({"t": f"cast(s as {arrow_type})"}, pa.schema([("s", string_type)]))
    chunked = pa.Table.from_batches(pa.table({"s": column}).to_batches(max_chunksize=23))
    for data, want in [(pa.record_batch({"s": column}), expected),
                       (pa.record_batch({"s": column.slice(5, 77)}), expected[5:82]),
                       (chunked.slice(9, 80), expected[9:89])]:
        out = proj(data)["t"]
        out = out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
        assert out.type == arrow_type
        assert _storage(out) == want


def test_string_to_zoned_timestamp_examples():
    data = pa.record_batch({"s": pa.array(["2024-01-31T12:00:00+05:30", "2024-01-31T12:00:00Z",
                                           "2024-01-31 12:00:00", None])})
    utc = dt.UTC
    assert project("s::timestamp[us, tz=UTC]", data).to_pylist() == [
        dt.datetime(2024, 1, 31, 6, 30, tzinfo=utc), dt.datetime(2024, 1, 31, 12, tzinfo=utc), None, None]
    f = arrowjit.compile_filter("cast(s as timestamp[ms, tz=Europe/Paris]) < timestamp '2024-01-31 12:00:00'",
                                data.schema)  # the literal: 12:00 in Paris, 11:00 UTC
    assert f.mask(data).to_pylist() == [True, False, False, False]


# (UTC instant, zone, hour, day): DST after 2037 follows the zone's rule (zoneinfo, DuckDB), and
# past the table's end the rule repeats every 400 years.
AFTER_2037 = [
    ("2056-10-15 04:57:26", "America/New_York", 0, 15),  # EDT (found by the fuzzer: pyarrow says EST)
    ("2056-12-15 04:57:26", "America/New_York", 23, 14),  # EST
    ("2100-07-01 12:00:00", "Europe/Berlin", 14, 1),  # CEST
    ("2200-01-15 00:00:00", "Australia/Sydney", 11, 15),  # AEDT (southern summer)
    ("2200-07-15 00:00:00", "Australia/Sydney", 10, 15),  # AEST
    ("2100-01-15 12:00:00", "America/Sao_Paulo", 9, 15),  # -03: DST abolished in 2019
    ("2300-06-01 00:00:00", "Asia/Kolkata", 5, 1),
    ("2500-07-04 16:00:00", "America/New_York", 12, 4),  # folded: EDT
    ("3000-01-01 12:00:00", "America/New_York", 7, 1),
    ("2999-01-01 00:00:00", "Australia/Sydney", 11, 1),
    ("9999-06-01 12:00:00", "America/New_York", 8, 1),
]


@pytest.mark.parametrize("utc,zone,hour,day", AFTER_2037)
def test_dst_after_2037(utc, zone, hour, day):
    instant = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    local = instant.astimezone(zoneinfo.ZoneInfo(zone))
    assert (local.hour, local.day) == (hour, day)  # the oracle agrees with the inline values
    batch = pa.record_batch({"t": pa.array([instant], pa.timestamp("us", tz=zone))})
    out = arrowjit.compile_projection(["hour(t)", "day(t)"], batch.schema)(batch)
    assert out.column(0).to_pylist() == [hour] and out.column(1).to_pylist() == [day]


# (Not Havana: DuckDB's own zone data, ICU's, has Cuba on DST in December 2026, the system's not.)
ORACLE_ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata"]


def _zone_instants(zone: str) -> pa.Array:
    """Random instants over 1900..2400 and 2400..3200 (folded), and every 20 minutes around the
    changes of some years, with nulls."""
    rng = np.random.default_rng(11)
    seconds = list(rng.integers(_seconds(1900, 1, 1), _seconds(2400, 1, 1), 1500))
    seconds += list(rng.integers(_seconds(2400, 1, 1), _seconds(3200, 1, 1), 400))
    for year in (1970, 2024, 2037, 2038, 2056, 2399, 2400, 2450):
        for day in _change_days(zone, year):
            start = int(day.replace(tzinfo=dt.UTC).timestamp())
            seconds += list(range(start - 6 * 3600, start + 8 * 3600, 1200))
    values = np.array(seconds, np.int64) * 10**6 + rng.integers(0, 10**6, len(seconds))
    return pa.array(values, pa.timestamp("us", zone), mask=rng.random(len(seconds)) < 0.05)


@pytest.mark.parametrize("zone", ORACLE_ZONES)
def test_zoned_against_duckdb_and_zoneinfo(zone):
    """Fields, date_trunc, month arithmetic and comparisons with wall-clock literals of zoned
    timestamps, 1900..3200, against DuckDB (session zone) and zoneinfo."""
    duckdb = pytest.importorskip("duckdb")
    array = _zone_instants(zone)
    data = pa.record_batch({"t": array})
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    con.register("data", pa.table({"t": array}))
    sql = {"year(t)": "year(t)", "month(t)": "month(t)", "day(t)": "day(t)", "hour(t)": "hour(t)",
           "minute(t)": "minute(t)", "dayofweek(t)": "isodow(t) - 1", "dayofyear(t)": "dayofyear(t)",
           "date_trunc('day', t)": "epoch_us(date_trunc('day', t))",
           "date_trunc('week', t)": "epoch_us(date_trunc('week', t))",
           "date_trunc('month', t)": "epoch_us(date_trunc('month', t))",
           "date_trunc('year', t)": "epoch_us(date_trunc('year', t))",
           "t + interval '1 month'": "epoch_us(t + interval 1 month)",
           "t - interval '13 months'": "epoch_us(t - interval 13 month)"}
    want = con.sql("select " + ", ".join(sql.values()) + " from data").to_arrow_table()
    out = arrowjit.compile_projection(list(sql), data.schema)(data)
    for k, expr in enumerate(sql):
        got = out.column(k)
        got = got.cast(pa.int64()) if pa.types.is_timestamp(got.type) else got
        assert got.to_pylist() == want.column(k).to_pylist(), expr
    # zoneinfo: the local hour and day of every row.
    info = zoneinfo.ZoneInfo(zone)
    local = [None if v is None else v.astimezone(info) for v in array.to_pylist()]
    assert out.column(3).to_pylist() == [None if v is None else v.hour for v in local]
    assert out.column(2).to_pylist() == [None if v is None else v.day for v in local]
    # Comparisons with wall-clock literals (the column's zone) against DuckDB's reading of them.
    for text in ["1950-06-01 12:00:00", "2024-03-10 02:30:00", "2056-11-05 01:30:00", "2100-10-03 02:15:00",
                 "2399-03-27 02:30:00", "2456-10-01 02:30:00", "3100-01-01 00:00:00"]:
        expected = con.sql(f"select t < timestamp '{text}'::timestamptz, "
                               f"t >= timestamp '{text}'::timestamptz from data").to_arrow_table()
        assert mask(f"t < timestamp '{text}'", data) == fill(expected.column(0)), text
        assert mask(f"t >= timestamp '{text}'", data) == fill(expected.column(1)), text
