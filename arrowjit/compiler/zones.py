"""Time zones at compile time: the table of a zone's UTC offsets, and wall-clock times to instants.

A zone's table comes from its TZif file (RFC 8536), the file Python's
``zoneinfo`` reads and, on Linux, Arrow too (both look in /usr/share/zoneinfo
first): the transitions it lists, then the transitions of the POSIX TZ rule
at its end (``EST5EDT,M3.2.0,M11.1.0``), which govern every year after the
last listed one. (Arrow's reader stops at the listed transitions, which end in
2037, so pyarrow.compute has no daylight saving time after 2037; Python's
zoneinfo, DuckDB and PostgreSQL apply the rule, and so does arrowjit.)

The table runs past the last listed transition by at least 400 years: from
its end on, the rule repeats every 400 years (the Gregorian cycle, whose
146097 days are whole weeks), and the kernels fold later instants back by
whole cycles, exactly.

**Wall-clock times.** A local time that a change skips (clocks go forward) or
repeats (clocks go back) is read as PostgreSQL and DuckDB read it: with the
UTC offset in effect *before* a change that skips it (02:30 on 2024-03-10 in
New York is 02:30 EST, 07:30Z, shown as 03:30 EDT) and *after* a change that
repeats it (01:30 on 2024-11-03 is 01:30 EST, 06:30Z, the second of the two).
Both are the later of the two readings: offset ``o[k]`` applies to the local
times from ``instants[k] + o[k]`` on, a second table (``locals``) that the
kernels search as they search the UTC one.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import re
import struct
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

SECONDS_PER_DAY = 86_400
# The Gregorian calendar repeats every 400 years: 146097 days (20871 weeks).
CYCLE_SECONDS = 146_097 * SECONDS_PER_DAY
TABLE_FIRST_YEAR, TABLE_END_YEAR = 1800, 2400
BUCKET_SHIFT = 24  # buckets of 2**24 seconds (194 days) index the tables
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class ZoneTable:
    """From UTC second ``instants[k]`` on (and from local second ``locals[k]`` on, for a
    wall-clock time) the zone is ``offsets[k]`` seconds east of UTC; ``instants[0]`` and
    ``locals[0]`` are the int64 minimum. An instant at or after ``end`` (the first second of
    a year) has the offset of the instant a whole number of 400-year cycles earlier, in
    ``[end - CYCLE_SECONDS, end)``; likewise a local time."""

    instants: tuple[int, ...]
    offsets: tuple[int, ...]
    locals: tuple[int, ...]
    end: int
    # The kernels' index of each table: bucket b holds the seconds FIRST + [b, b + 1) << BUCKET_SHIFT
    # (clamped to the first and last bucket); ``*_buckets[b]`` is the index of the last boundary
    # at or before the bucket's start, and at most ``*_span`` boundaries fall inside a bucket.
    utc_buckets: tuple[int, ...] = (0,)
    utc_span: int = 0
    local_buckets: tuple[int, ...] = (0,)
    local_span: int = 0

    def fold(self, seconds: int) -> int:
        """``seconds`` moved back by whole 400-year cycles into the table, when past its end."""
        if seconds < self.end:
            return seconds
        base = self.end - CYCLE_SECONDS
        return base + (seconds - base) % CYCLE_SECONDS

    def offset_at(self, seconds: int) -> int:
        """The offset at the UTC second ``seconds``."""
        return self.offsets[bisect.bisect_right(self.instants, self.fold(seconds)) - 1]

    def offset_of_local(self, seconds: int) -> int:
        """The offset that reads the local second ``seconds`` (see the module docstring)."""
        return self.offsets[bisect.bisect_right(self.locals, self.fold(seconds)) - 1]


def epoch_days(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil; any year)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def zone_offset_seconds(zone: str) -> int | None:
    """A fixed offset zone (``Z``, ``UTC``, ``+05:30``, ``-0800``) in seconds east of UTC, else None."""
    if zone in ("Z", "UTC"):
        return 0
    match = re.fullmatch(r"([+-])([0-9]{2}):?([0-9]{2})?", zone)
    if match is None:
        return None
    seconds = int(match[2]) * 3600 + int(match[3] or 0) * 60
    return -seconds if match[1] == "-" else seconds


def _year_of(seconds: int) -> int:
    days = seconds // SECONDS_PER_DAY
    return (dt.date(1970, 1, 1) + dt.timedelta(days=max(min(days, 2_900_000), -719_000))).year


@lru_cache(maxsize=64)
def zone_transitions(zone: str) -> ZoneTable:
    """The table of ``zone``: a fixed offset (``+05:30``, ``UTC``), or a zone name read from
    its TZif file (see the module docstring); where Python finds no file for a name Arrow
    knows, the offsets are sampled from pyarrow.compute (no rule after its last transition)."""
    fixed = zone_offset_seconds(zone)
    if fixed is not None:
        return _table([INT64_MIN], [fixed], _end(None))
    parsed = _parse_tzif(_tzif_bytes(zone))
    if parsed is None:
        instants, offsets = _sampled(zone)
        return _table(instants, offsets, _end(None))
    instants, offsets, rule = parsed
    last = instants[-1] if len(instants) > 1 else None
    end = _end(last)
    if rule is not None and rule.dst is not None:
        first_year = _year_of(last) - 1 if last is not None else TABLE_FIRST_YEAR
        for instant, offset in rule.transitions(first_year, _year_of(end) + 1):
            if last is None or instant > last:
                instants.append(instant)
                offsets.append(offset)
    return _table(instants, offsets, end)


def _end(last: int | None) -> int:
    """The table's end: January 1 of 2400, or later so that the 400 years before it are all
    past the last listed transition (where the rule alone decides)."""
    year = TABLE_END_YEAR if last is None else max(TABLE_END_YEAR, _year_of(last) + 401)
    return epoch_days(year, 1, 1) * SECONDS_PER_DAY


def first_second() -> int:
    """The table's first second (1800-01-01): before it, the zone keeps the offset it had then."""
    return epoch_days(TABLE_FIRST_YEAR, 1, 1) * SECONDS_PER_DAY


def _table(instants: list[int], offsets: list[int], end: int) -> ZoneTable:
    """Transitions in time order, merged where they fall on the same second (the last one wins)
    or keep the offset (a change of the zone's abbreviation only); those before 1800 set the
    offset the table starts with (no zone lists one: the earliest is 1844)."""
    first = first_second()
    kept_instants, kept_offsets = [INT64_MIN], [offsets[0]]
    for instant, offset in zip(instants[1:], offsets[1:], strict=True):
        if instant < first:
            kept_offsets[0] = offset
        elif instant == kept_instants[-1]:
            kept_offsets[-1] = offset
            if len(kept_offsets) > 1 and kept_offsets[-2] == offset:
                del kept_instants[-1], kept_offsets[-1]
        elif offset != kept_offsets[-1]:
            kept_instants.append(instant)
            kept_offsets.append(offset)
    local = np.array([INT64_MIN] + [t + o for t, o in zip(kept_instants[1:], kept_offsets[1:], strict=True)],
                     np.int64)
    # Two changes closer together than their offsets could put the local switch points out of
    # order (no zone has such; the search needs them sorted).
    local = np.maximum.accumulate(local)
    utc_buckets, utc_span = _buckets(np.array(kept_instants, np.int64))
    local_buckets, local_span = _buckets(local)
    return ZoneTable(tuple(kept_instants), tuple(kept_offsets), tuple(int(x) for x in local), end,
                     utc_buckets, utc_span, local_buckets, local_span)


def _buckets(boundaries: np.ndarray) -> tuple[tuple[int, ...], int]:
    """(the index of the last boundary at or before each bucket's start, the most boundaries
    inside one bucket) for buckets from :func:`first_second` to the bucket of the last boundary
    (a second before the first bucket or after the last one is searched from it)."""
    first = first_second()
    last = max(int(boundaries[-1]), first)
    starts = first + (np.arange(((last - first) >> BUCKET_SHIFT) + 1, dtype=np.int64) << BUCKET_SHIFT)
    base = np.searchsorted(boundaries, starts, "right") - 1
    inside = np.searchsorted(boundaries, starts + ((1 << BUCKET_SHIFT) - 1), "right") - 1 - base
    # The first bucket also holds the seconds before it (there are no boundaries there) and the
    # last one the seconds after it (the boundaries after its start).
    inside[-1] = len(boundaries) - 1 - base[-1]
    return tuple(int(k) for k in base), int(inside.max())


# ---------------------------------------------------------------------------
# TZif files (RFC 8536).
# ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def database_version() -> str:
    """Which time zone database the tables come from: its version line (``# version 2025b``)
    where zoneinfo finds it, else the tzdata package's version. Part of the on-disk cache's
    key, so that kernels built with an older database are not reused after an update."""
    for root in zoneinfo.TZPATH:
        try:
            with open(os.path.join(root, "tzdata.zi"), "rb") as file:
                return f"{root}: {file.readline().decode(errors='replace').strip()}"
        except OSError:
            continue
    try:
        import tzdata

        return f"tzdata {tzdata.__version__}"
    except ImportError:
        return "no database found (pyarrow's sampled tables)"


def _tzif_bytes(zone: str) -> bytes | None:
    """The zone's TZif file where Python's zoneinfo finds it (its search path, then the
    tzdata package), or None."""
    if not re.fullmatch(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*", zone):
        return None
    for root in zoneinfo.TZPATH:
        path = os.path.join(root, zone)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read()
    try:
        from importlib import resources
        package, _, name = f"tzdata.zoneinfo.{zone.replace('/', '.')}".rpartition(".")
        return resources.files(package).joinpath(name).read_bytes()
    except (ImportError, OSError, ValueError):
        return None


_HEADER = struct.Struct(">4sc15x6l")


def _parse_tzif(data: bytes | None) -> tuple[list[int], list[int], PosixRule | None] | None:
    """(instants, offsets, the rule of the footer) from a TZif file; ``instants[0]`` is the int64
    minimum with the offset of time type 0. None for anything else, or a file with leap seconds."""
    if data is None or len(data) < _HEADER.size or data[:4] != b"TZif":
        return None
    try:
        magic, version, isut, isstd, leap, count, types, chars = _HEADER.unpack_from(data, 0)
        if leap:
            return None
        position, width = _HEADER.size, 4
        if version != b"\0":  # skip the 32-bit block: the 64-bit one follows
            position += count * 5 + types * 6 + chars + leap * 8 + isstd + isut
            magic, version, isut, isstd, leap, count, types, chars = _HEADER.unpack_from(data, position)
            position, width = position + _HEADER.size, 8
            if leap:
                return None
        times = struct.unpack_from(f">{count}{'q' if width == 8 else 'l'}", data, position)
        position += count * width
        indexes = data[position:position + count]
        position += count
        offsets = [struct.unpack_from(">l", data, position + 6 * k)[0] for k in range(types)]
        position += types * 6 + chars + leap * (width + 4) + isstd + isut
        rule = None
        if width == 8 and data[position:position + 1] == b"\n":
            footer = data[position + 1:data.index(b"\n", position + 1)].decode("ascii")
            rule = PosixRule.parse(footer) if footer else None
        return ([INT64_MIN, *times], [offsets[0], *(offsets[k] for k in indexes)], rule)
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):
        return None


def _sampled(zone: str) -> tuple[list[int], list[int]]:
    """(instants, offsets) sampled from pyarrow.compute's ``local_timestamp``: every 6 hours of
    1800..2400, each change bisected to the second."""
    first = epoch_days(TABLE_FIRST_YEAR, 1, 1) * SECONDS_PER_DAY
    end = epoch_days(TABLE_END_YEAR, 1, 1) * SECONDS_PER_DAY
    step = 6 * 3600
    samples = np.arange(first, end + step, step, dtype=np.int64)
    offsets = _offsets(samples, zone)
    changes = np.nonzero(offsets[1:] != offsets[:-1])[0]
    low, high = samples[changes], samples[changes + 1]  # the change is in (low, high]
    while len(low) and (high - low > 1).any():
        middle = low + (high - low) // 2
        moved = _offsets(middle, zone) != offsets[changes]
        high = np.where(moved, middle, high)
        low = np.where(moved, low, middle)
    return [INT64_MIN, *(int(h) for h in high)], [int(offsets[0]), *(int(o) for o in offsets[changes + 1])]


def _offsets(seconds: np.ndarray, zone: str) -> np.ndarray:
    import pyarrow.compute as pc  # (imported when needed: it takes ~50 ms to import)
    instants = pa.array(seconds, pa.timestamp("s", zone))
    local = pc.local_timestamp(instants).cast(pa.int64()).to_numpy()
    return local - seconds


# ---------------------------------------------------------------------------
# POSIX TZ rules: the footer of a TZif file.
# ---------------------------------------------------------------------------

_NAME = r"(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]+>)"
_CLOCK = r"[+-]?[0-9]{1,3}(?::[0-9]{1,2}){0,2}"
_DAY = r"(?:J[0-9]{1,3}|[0-9]{1,3}|M[0-9]{1,2}\.[1-5]\.[0-6])"
_RULE = re.compile(rf"{_NAME}(?P<std>{_CLOCK})(?:(?P<dst_name>{_NAME})(?P<dst>{_CLOCK})?"
                   rf"(?:,(?P<start>{_DAY})(?:/(?P<start_time>{_CLOCK}))?"
                   rf",(?P<end>{_DAY})(?:/(?P<end_time>{_CLOCK}))?)?)?")


def _clock_seconds(text: str) -> int:
    """``[+-]hh[:mm[:ss]]`` in seconds."""
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


@dataclass(frozen=True)
class PosixRule:
    """A POSIX TZ rule: standard and daylight offsets (seconds east of UTC), and the local day
    and time daylight saving time starts (in standard time) and ends (in daylight time)."""

    std: int
    dst: int | None
    start: str = "M3.2.0"
    start_time: int = 7200
    end: str = "M11.1.0"
    end_time: int = 7200

    @staticmethod
    def parse(text: str) -> PosixRule | None:
        match = _RULE.fullmatch(text)
        if match is None:
            return None
        std = -_clock_seconds(match["std"])  # POSIX offsets count hours west of UTC
        if match["dst_name"] is None:
            return PosixRule(std, None)
        if match["start"] is None:
            return None  # daylight time without its dates (zic writes none)
        dst = -_clock_seconds(match["dst"]) if match["dst"] else std + 3600
        return PosixRule(std, dst, match["start"], _clock_seconds(match["start_time"] or "2"),
                         match["end"], _clock_seconds(match["end_time"] or "2"))

    def transitions(self, first_year: int, last_year: int) -> list[tuple[int, int]]:
        """(UTC second, offset from then on) of each change in ``first_year..last_year``, in order."""
        changes = []
        for year in range(first_year, last_year + 1):
            start = _rule_day(self.start, year) * SECONDS_PER_DAY + self.start_time - self.std
            end = _rule_day(self.end, year) * SECONDS_PER_DAY + self.end_time - self.dst
            changes.extend([(start, self.dst), (end, self.std)])
        # (In time order; stable, so that of two changes at one instant the later year's wins:
        # a rule with daylight time all year ends it where it starts it again.)
        return sorted(changes, key=lambda change: change[0])


def _rule_day(spec: str, year: int) -> int:
    """Days since the epoch of a POSIX rule's day in ``year``: ``Jn`` (1..365, February 29
    never counted), ``n`` (0..365, counted) or ``Mm.w.d`` (weekday d, 0 Sunday, of week w,
    5 the last, of month m)."""
    january_first = epoch_days(year, 1, 1)
    if spec.startswith("J"):
        n = int(spec[1:])
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return january_first + n - 1 + (1 if leap and n >= 60 else 0)
    if not spec.startswith("M"):
        return january_first + int(spec)
    month, week, weekday = (int(p) for p in spec[1:].split("."))
    first = epoch_days(year, month, 1)
    day = first + (weekday - (first + 4) % 7) % 7 + 7 * (week - 1)  # 1970-01-01 was a Thursday (4)
    next_month = epoch_days(year + month // 12, month % 12 + 1, 1)
    while day >= next_month:  # week 5: the last such weekday
        day -= 7
    return day


# ---------------------------------------------------------------------------
# Wall-clock times to instants (literals and parameters; the kernels do the same in IR).
# ---------------------------------------------------------------------------

def local_to_utc(ticks: int, unit_ticks: int, zone: str) -> int:
    """The UTC instant (ticks) of a wall-clock time in ``zone``, ``unit_ticks`` ticks a second:
    a skipped time is read with the offset before the change, a repeated one with the offset
    after it (the later reading, as PostgreSQL and DuckDB)."""
    table = zone_transitions(zone)
    return ticks - table.offset_of_local(ticks // unit_ticks) * unit_ticks
