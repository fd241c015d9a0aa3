"""Zone tables (arrowjit/compiler/zones.py) against pyarrow.compute (up to 2037) and Python's zoneinfo.

pyarrow reads the transitions tzdata files list (to 2037) and not the POSIX rule that follows
them, so it is the oracle up to 2037; zoneinfo (and DuckDB, in test_datetime.py) apply the
rule, and are the oracle for every year.
"""

import datetime as dt
import time
import zoneinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import arrowjit
from arrowjit.compiler import zones
from arrowjit.compiler.zones import PosixRule, epoch_days

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata",
         "Europe/Dublin", "Australia/Lord_Howe", "Africa/Casablanca", "America/Nuuk", "Pacific/Chatham",
         "America/Havana", "Asia/Tehran", "UTC", "Pacific/Apia", "America/St_Johns"]
ARROW_RIGHT_UNTIL = epoch_days(2038, 1, 1) * 86400


def _seconds(*args) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


@pytest.mark.parametrize("text,rule", [
    ("EST5EDT,M3.2.0,M11.1.0", PosixRule(-18000, -14400, "M3.2.0", 7200, "M11.1.0", 7200)),
    ("CET-1CEST,M3.5.0,M10.5.0/3", PosixRule(3600, 7200, "M3.5.0", 7200, "M10.5.0", 10800)),
    ("AEST-10AEDT,M10.1.0,M4.1.0/3", PosixRule(36000, 39600, "M10.1.0", 7200, "M4.1.0", 10800)),
    ("<-03>3", PosixRule(-10800, None)),
    ("IST-5:30", PosixRule(19800, None)),
    ("IST-1GMT0,M10.5.0,M3.5.0/1", PosixRule(3600, 0, "M10.5.0", 7200, "M3.5.0", 3600)),  # negative DST
    ("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", PosixRule(37800, 39600, "M10.1.0", 7200, "M4.1.0", 7200)),
    ("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", PosixRule(-7200, -3600, "M3.5.0", -3600, "M10.5.0", 0)),
    ("EST5EDT,0/0,J365/25", PosixRule(-18000, -14400, "0", 0, "J365", 90000)),  # DST all year
    ("XXX3YYY", None),  # daylight time without its dates
])
def test_posix_rules(text, rule):
    assert PosixRule.parse(text) == rule


@pytest.mark.parametrize("spec,year,date", [
    ("M3.2.0", 2024, (2024, 3, 10)), ("M11.1.0", 2024, (2024, 11, 3)), ("M10.5.0", 2024, (2024, 10, 27)),
    ("M3.5.0", 2024, (2024, 3, 31)), ("M4.1.0", 2056, (2056, 4, 2)), ("M2.5.4", 2024, (2024, 2, 29)),
    ("J60", 2024, (2024, 3, 1)), ("J60", 2023, (2023, 3, 1)), ("59", 2024, (2024, 2, 29)),
    ("0", 2100, (2100, 1, 1)), ("J365", 2400, (2400, 12, 31)), ("M3.2.0", 2456, (2456, 3, 12)),
])
def test_rule_days(spec, year, date):
    assert zones._rule_day(spec, year) == epoch_days(*date)


def _zoneinfo_offset(seconds: int, zone: str) -> int:
    local = dt.datetime.fromtimestamp(seconds, dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))
    return int(local.utcoffset().total_seconds())


@pytest.mark.parametrize("zone", ZONES)
def test_tables_match_pyarrow_to_2037_and_zoneinfo_always(zone):
    table = zones.zone_transitions(zone)
    changes = [t + d for t in table.instants[1:] for d in (-1, 0, 1)]
    rng = np.random.default_rng(3)
    # pyarrow: 1800..2037, every change and a sample every 13 days.
    early = np.array([t for t in changes if t < ARROW_RIGHT_UNTIL and t >= _seconds(1800, 1, 1)]
                     + list(range(_seconds(1800, 1, 1), ARROW_RIGHT_UNTIL, 13 * 86400)), np.int64)
    want = pc.local_timestamp(pa.array(early, pa.timestamp("s", zone))).cast(pa.int64()).to_numpy() - early
    assert [table.offset_at(int(t)) for t in early] == want.tolist()
    # zoneinfo: 1800..9998 (past the table's end: folded), every change and random instants.
    late = [t for t in changes if t < _seconds(9998, 1, 1)]
    late += rng.integers(_seconds(1800, 1, 1), _seconds(9998, 1, 1), 3000).tolist()
    assert [table.offset_at(t) for t in late] == [_zoneinfo_offset(t, zone) for t in late]
    # The kernel's lookup (bucket index, then the boundaries inside the bucket) gives the same.
    instants = early.tolist() + late
    batch = pa.record_batch({"t": pa.array(instants, pa.timestamp("s", zone))})
    out = arrowjit.compile_projection(["cast(t as int64) + 0", "hour(t) * 3600 + minute(t) * 60 + second(t)",
                                       "day(t)"], batch.schema)(batch)
    want = [dt.datetime(1970, 1, 1) + dt.timedelta(seconds=t + table.offset_at(t)) for t in instants]
    assert out.column(1).to_pylist() == [w.hour * 3600 + w.minute * 60 + w.second for w in want]
    assert out.column(2).to_pylist() == [w.day for w in want]


def _later_reading(local: dt.datetime, zone: str) -> int:
    """The later of zoneinfo's two readings of a wall-clock time (fold=0, fold=1), in seconds."""
    aware = local.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return max(int(aware.replace(fold=f).timestamp()) for f in (0, 1))


@pytest.mark.parametrize("zone", ZONES)
def test_wall_clock_times_match_zoneinfo(zone):
    """Every 10 minutes from 5 hours before to 5 hours after each change up to 2500, and random
    local times: skipped times take the offset before the change, repeated ones the one after."""
    table = zones.zone_transitions(zone)
    locals_ = [t + table.offsets[k] + m * 600 for k, t in enumerate(table.instants) if k
               and _seconds(1900, 1, 1) < t < _seconds(2500, 1, 1) for m in range(-30, 31)]
    locals_ += np.random.default_rng(4).integers(_seconds(1900, 1, 1), _seconds(9998, 1, 1), 2000).tolist()
    for seconds in locals_:
        wall = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
        want = _later_reading(wall, zone) * 1000
        assert zones.local_to_utc(seconds * 1000, 1000, zone) == want, (zone, wall)


@pytest.mark.parametrize("zone,local,utc", [
    ("America/New_York", (2024, 3, 10, 2, 30), (2024, 3, 10, 7, 30)),  # skipped: 02:30 EST (03:30 EDT)
    ("America/New_York", (2024, 11, 3, 1, 30), (2024, 11, 3, 6, 30)),  # repeated: 01:30 EST (the later)
    ("America/New_York", (2024, 11, 3, 0, 30), (2024, 11, 3, 4, 30)),  # EDT
    ("America/New_York", (2024, 11, 3, 2, 0), (2024, 11, 3, 7, 0)),  # EST
    ("Europe/Dublin", (2024, 3, 31, 1, 30), (2024, 3, 31, 1, 30)),  # skipped: 01:30 GMT
    ("Europe/Dublin", (2024, 10, 27, 1, 30), (2024, 10, 27, 1, 30)),  # repeated: 01:30 GMT (the later)
    ("Australia/Lord_Howe", (2024, 4, 7, 1, 45), (2024, 4, 6, 15, 15)),  # repeated half hour: +10:30
    ("America/Sao_Paulo", (2018, 11, 4, 0, 0), (2018, 11, 4, 3, 0)),  # skipped midnight: -03
])
def test_wall_clock_examples(zone, local, utc):
    assert zones.local_to_utc(_seconds(*local), 1, zone) == _seconds(*utc)


def test_every_zone_builds_quickly_with_ordered_local_switch_points():
    """The tables of all zones zoneinfo knows; the local switch points are in order without the
    safety net of ``np.maximum.accumulate``; a table takes well under 20 ms to build (it is built
    at compile time)."""
    slowest = 0.0
    for zone in sorted(zoneinfo.available_timezones()):
        start = time.perf_counter()
        table = zones.zone_transitions.__wrapped__(zone)
        slowest = max(slowest, time.perf_counter() - start)
        switch = [t + o for t, o in zip(table.instants[1:], table.offsets[1:], strict=True)]
        assert switch == sorted(switch), zone
        assert list(table.locals[1:]) == switch, zone
        # The table's last 400 years are the rule's (so that the fold is exact): the changes
        # listed past its end are those of 400 years earlier, moved by a cycle.
        past = [t for t in table.instants if t >= table.end]
        assert set(t - zones.CYCLE_SECONDS for t in past) <= set(table.instants), zone
    best = min(_timed(lambda: zones.zone_transitions.__wrapped__("America/New_York")) for _ in range(5))
    assert best < 0.020, best
    assert slowest < 0.5, slowest  # (one zone: on a busy machine)


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_fixed_offsets():
    for zone, offset in [("+05:30", 19800), ("-08:00", -28800), ("UTC", 0), ("+0100", 3600)]:
        table = zones.zone_transitions(zone)
        assert table.offsets == (offset,) and table.offset_at(_seconds(2300, 7, 1)) == offset


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney", "America/Sao_Paulo"])
def test_kernel_folds_every_400_years(zone):
    """hour() of an instant and of the same instant whole 400-year cycles earlier agree, up to
    the year 200,000 (timestamp[s]); between 2038 and 9998 both agree with zoneinfo."""
    rng = np.random.default_rng(9)
    early = rng.integers(_seconds(2038, 1, 1), _seconds(9998, 1, 1), 3000)
    late = early + rng.integers(1, 500, 3000) * zones.CYCLE_SECONDS
    ty = pa.timestamp("s", zone)
    data = pa.record_batch({"a": pa.array(late, ty), "b": pa.array(early, ty)})
    out = arrowjit.compile_projection(["hour(a)", "hour(b)", "minute(a)", "minute(b)", "day(a)", "day(b)"],
                                      data.schema)(data)
    for k in (0, 2, 4):
        assert out.column(k).to_pylist() == out.column(k + 1).to_pylist()
    info = zoneinfo.ZoneInfo(zone)
    assert out.column(1).to_pylist() == [dt.datetime.fromtimestamp(int(b), dt.UTC).astimezone(info).hour
                                         for b in early]


def test_the_database_version_is_part_of_the_disk_cache_key(monkeypatch):
    from arrowjit.compiler import diskcache, zones

    before = diskcache.key("a kernel")
    monkeypatch.setattr(zones, "database_version", lambda: "/usr/share/zoneinfo: # version 2099a")
    diskcache._code_version.cache_clear()
    try:
        assert diskcache.key("a kernel") != before  # an updated database: other entries
    finally:
        monkeypatch.undo()
        diskcache._code_version.cache_clear()
    assert diskcache.key("a kernel") == before
