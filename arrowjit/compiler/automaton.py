"""Patterns -> byte-level DFAs, at compile time, for ``like``, ``ilike`` and ``regexp_like``.

A pattern (a SQL LIKE pattern, or a regular expression in the RE2 subset
below) is parsed into a small tree of :class:`Node` tuples over Unicode code
point ranges, turned into a Thompson NFA over UTF-8 *bytes* (each code point
range becomes the byte sequences that encode it), then into a DFA by subset
construction. The code generator emits the DFA as a constant table
``next[state * 256 + byte]`` and a loop of one load per byte.

Two ways to match:

* ``full``: the whole string must match (LIKE). The answer is whether the
  state after the last byte accepts.
* ``search``: a match anywhere (``regexp_like``, as RE2's partial match and
  pyarrow's ``match_substring_regex``). The start set is added back at every
  position; a state holding the NFA's final state is *matched*, absorbing.

The regular expression subset (RE2 syntax): literals and escapes (``\\.``,
``\\n``, ``\\t``, ``\\x41``, ``\\x{263a}``), ``.`` (any character but newline),
classes ``[a-z]``, ``[^...]``, ``\\d \\w \\s \\D \\W \\S`` (ASCII, as RE2), ``*
+ ? {m} {m,} {m,n}`` (lazy forms match the same strings), ``|``, groups
``(...)``, ``(?:...)``, ``(?P<name>...)``, the flags ``(?i)`` and ``(?s)`` at
the start, and the anchors ``^ $ \\A \\z``. Anything else (backreferences,
lookaround, word boundaries, Unicode classes) is a :class:`PatternError`
whose position the type checker turns into a caret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_CODE_POINT = 0x10FFFF
# No code point at or above this one has a case mapping or folding in Python's Unicode database
# (the last cased letters are Adlam's, U+1E900..U+1E943; tests/test_strings.py checks it).
CASED_LIMIT = 0x1F000
SURROGATES = (0xD800, 0xDFFF)
MAX_STATES = 2048
MAX_REPEAT = 1000

# A node: ("chars", ranges) | ("cat", nodes) | ("alt", nodes) | ("repeat", node, low, high|None)
#         | ("begin",) | ("end",)
Node = tuple
EMPTY: Node = ("cat", ())


class PatternError(ValueError):
    """A pattern arrowjit cannot compile; ``position`` is the offset in the pattern text."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Dfa:
    """``table[state * 256 + byte]`` is the next state; ``accepts[state]``: a match if the input
    ends here; ``final[state]``: the answer is known (a dead or a matched state)."""

    table: tuple[int, ...]
    accepts: tuple[bool, ...]
    final: tuple[bool, ...]
    start: int

    @property
    def states(self) -> int:
        return len(self.accepts)

    def matches(self, data: bytes) -> bool:
        """Run the automaton in Python (used by tests and to check the tables)."""
        state = self.start
        for byte in data:
            if self.final[state]:
                break
            state = self.table[state * 256 + byte]
        return self.accepts[state]


# ---------------------------------------------------------------------------
# Character sets: sorted, disjoint, inclusive code point ranges.
# ---------------------------------------------------------------------------

Ranges = tuple[tuple[int, int], ...]
ANY: Ranges = ((0, MAX_CODE_POINT),)


def normalize(ranges) -> Ranges:
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def complement(ranges: Ranges) -> Ranges:
    out, next_low = [], 0
    for low, high in normalize(ranges):
        if low > next_low:
            out.append((next_low, low - 1))
        next_low = high + 1
    if next_low <= MAX_CODE_POINT:
        out.append((next_low, MAX_CODE_POINT))
    return tuple(out)


@lru_cache(maxsize=1)
def _fold_orbits() -> dict[int, tuple[int, ...]]:
    """Code points that are equal under simple case folding, as RE2's case-insensitive mode.

    Two code points fold together when their single-code-point lower case (or
    case fold) is the same: ``k``, ``K`` and the Kelvin sign; ``s``, ``S`` and
    the long s; ``ß`` and ``ẞ``. Full mappings to several code points
    (``İ`` -> ``i̇``) fold nothing, as in RE2.
    """
    groups: dict[str, list[int]] = {}
    for code in range(CASED_LIMIT):
        if SURROGATES[0] <= code <= SURROGATES[1]:
            continue
        char = chr(code)
        lower = char.lower()
        if len(lower) != 1:
            continue
        folded = lower.casefold() if len(lower.casefold()) == 1 else lower
        if folded != char or char.upper() != char:
            groups.setdefault(folded, []).append(code)
    orbits: dict[int, tuple[int, ...]] = {}
    for folded, members in groups.items():
        codes = tuple(sorted({*members, ord(folded)}))
        if len(codes) > 1:
            for code in codes:
                orbits[code] = codes
    return orbits


def fold_case(ranges: Ranges) -> Ranges:
    """``ranges`` with every code point's case variants added."""
    orbits = _fold_orbits()
    extra = []
    for low, high in ranges:
        if high - low > 0x3000:  # a huge range: look only at code points that fold
            extra.extend((o, o) for code in orbits if low <= code <= high for o in orbits[code])
            continue
        for code in range(low, high + 1):
            extra.extend((o, o) for o in orbits.get(code, ()))
    return normalize([*ranges, *extra])


# ---------------------------------------------------------------------------
# UTF-8: a code point range -> the byte range sequences that encode it.
# ---------------------------------------------------------------------------

def utf8_sequences(low: int, high: int) -> list[tuple[tuple[int, int], ...]]:
    """Byte range sequences matching exactly the UTF-8 encodings of ``low..high`` (no surrogates)."""
    if low <= SURROGATES[1] and high >= SURROGATES[0]:
        out = []
        if low < SURROGATES[0]:
            out += utf8_sequences(low, SURROGATES[0] - 1)
        if high > SURROGATES[1]:
            out += utf8_sequences(SURROGATES[1] + 1, high)
        return out
    for limit in (0x7F, 0x7FF, 0xFFFF):  # split where the encoded length changes
        if low <= limit < high:
            return utf8_sequences(low, limit) + utf8_sequences(limit + 1, high)
    if high < 0x80:
        return [((low, high),)]
    for i in range(1, 4):  # split until only the last i bytes vary, each over a whole range
        mask = (1 << (6 * i)) - 1
        if low & ~mask != high & ~mask:
            if low & mask:
                return utf8_sequences(low, low | mask) + utf8_sequences((low | mask) + 1, high)
            if high & mask != mask:
                return utf8_sequences(low, (high & ~mask) - 1) + utf8_sequences(high & ~mask, high)
    first, last = chr(low).encode(), chr(high).encode()
    return [tuple(zip(first, last))]


# ---------------------------------------------------------------------------
# Parsers: LIKE patterns and regular expressions -> nodes.
# ---------------------------------------------------------------------------

def like_tokens(pattern: str) -> list[str | None]:
    """A LIKE pattern as a list of tokens: a literal character (str of length 1),
    ``None`` for ``_`` (one character) or ``...`` for ``%`` (any run). A
    backslash takes the next character literally; a trailing one is ignored
    (as pyarrow's match_like does).
    """
    tokens: list = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            tokens.extend(pattern[i + 1:i + 2])
            i += 2
            continue
        tokens.append(None if char == "_" else ... if char == "%" else char)
        i += 1
    return tokens


def like_node(pattern: str, ignore_case: bool) -> Node:
    parts = []
    for token in like_tokens(pattern):
        if token is None:
            parts.append(("chars", ANY))
        elif token is ...:
            parts.append(("repeat", ("chars", ANY), 0, None))
        else:
            ranges = ((ord(token), ord(token)),)
            parts.append(("chars", fold_case(ranges) if ignore_case else ranges))
    return ("cat", tuple(parts))


_PERL_CLASSES = {
    "d": ((48, 57),),
    "w": ((48, 57), (65, 90), (95, 95), (97, 122)),
    "s": ((9, 10), (12, 13), (32, 32)),
}
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")
_ESCAPED_CONTROLS = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7, "0": 0}


class _RegexParser:
    """Recursive descent over the RE2 subset described in the module docstring."""

    def __init__(self, pattern: str):
        self.text = pattern
        self.i = 0
        self.ignore_case = False
        self.dot_all = False
        self.depth = 0

    def error(self, message: str, at: int | None = None) -> PatternError:
        return PatternError(message, self.i if at is None else at)

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def parse(self) -> Node:
        while self.text.startswith("(?", self.i) and self._flags():
            pass
        node = self.alternation()
        if self.i < len(self.text):
            raise self.error("unbalanced ')'")
        return node

    def _flags(self) -> bool:
        end = self.text.find(")", self.i)
        flags = self.text[self.i + 2:end] if end > 0 else ""
        if not flags or any(f not in "is" for f in flags):
            return False
        self.ignore_case |= "i" in flags
        self.dot_all |= "s" in flags
        self.i = end + 1
        return True

    def alternation(self) -> Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", tuple(branches))

    def sequence(self) -> Node:
        items = []
        while self.peek() and self.peek() not in "|)":
            items.append(self.repetition())
        return ("cat", tuple(items))

    def repetition(self) -> Node:
        start = self.i
        node = self.atom()
        repeated = False
        while self.peek() in ("*", "+", "?", "{") and self.peek():
            char = self.peek()
            if char == "{":
                bounds = self._braces()
                if bounds is None:
                    break
                low, high = bounds
            else:
                self.i += 1
                low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
            if node[0] in ("begin", "end") or repeated:
                raise self.error("nothing to repeat" if not repeated else "bad repetition operator",
                                 start)
            repeated = True
            if self.peek() == "?":  # lazy: the same set of matching strings
                self.i += 1
            elif self.peek() == "+":
                raise self.error("possessive repetition is not supported")
            node = ("repeat", node, low, high)
        return node

    def _braces(self) -> tuple[int, int | None] | None:
        end = self.text.find("}", self.i)
        body = self.text[self.i + 1:end] if end > 0 else ""
        low_text, comma, high_text = body.partition(",")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()):
            return None  # RE2 reads a brace that is not a repetition literally
        low = int(low_text)
        high = (int(high_text) if high_text else None) if comma else low
        if low > MAX_REPEAT or (high is not None and (high > MAX_REPEAT or high < low)):
            raise self.error(f"bad repetition {{{body}}} (at most {MAX_REPEAT})")
        self.i = end + 1
        return low, high

    def atom(self) -> Node:
        char = self.peek()
        start = self.i
        if char == "(":
            self.i += 1
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.text.startswith("?P<", self.i) or self.text.startswith("?<", self.i):
                close = self.text.find(">", self.i)
                if close < 0 or self.text.startswith("?<=", self.i) or self.text.startswith("?<!", self.i):
                    raise self.error("lookbehind is not supported", start)
                self.i = close + 1
            elif self.peek() == "?":
                raise self.error("this group syntax (lookaround, inline flags) is not supported", start)
            self.depth += 1
            if self.depth > 100:
                raise self.error("groups nest too deeply", start)
            node = self.alternation()
            self.depth -= 1
            if self.peek() != ")":
                raise self.error("missing ')'", start)
            self.i += 1
            return node
        self.i += 1
        if char == ".":
            return ("chars", ANY if self.dot_all else complement(((10, 10),)))
        if char == "^":
            return ("begin",)
        if char == "$":
            return ("end",)
        if char == "[":
            return ("chars", self._case(self._class(start)))
        if char == "\\":
            return self._escape(start)
        if char in "*+?":
            raise self.error("nothing to repeat", start)
        return ("chars", self._case(((ord(char), ord(char)),)))

    def _case(self, ranges: Ranges) -> Ranges:
        return fold_case(ranges) if self.ignore_case else ranges

    def _escape(self, start: int) -> Node:
        if self.i >= len(self.text):
            raise self.error("trailing backslash", start)
        char = self.text[self.i]
        self.i += 1
        if char == "A":
            return ("begin",)
        if char == "z":
            return ("end",)
        ranges = self._escaped_ranges(char, start)
        return ("chars", ranges if char.lower() in _PERL_CLASSES else self._case(ranges))

    def _escaped_ranges(self, char: str, start: int) -> Ranges:
        if char.lower() in _PERL_CLASSES:
            ranges = _PERL_CLASSES[char.lower()]
            return complement(ranges) if char.isupper() else ranges
        if char in _ESCAPED_CONTROLS:
            if char == "0" and self.peek().isdigit():
                raise self.error("octal escapes are not supported", start)
            code = _ESCAPED_CONTROLS[char]
            return ((code, code),)
        if char == "x":
            if self.peek() == "{":
                end = self.text.find("}", self.i)
                digits = self.text[self.i + 1:end] if end > 0 else ""
                self.i = end + 1
            else:
                digits = self.text[self.i:self.i + 2]
                self.i += 2
            try:
                code = int(digits, 16)
            except ValueError:
                raise self.error("bad \\x escape", start) from None
            if len(digits) == 0 or code > MAX_CODE_POINT:
                raise self.error("bad \\x escape", start)
            return ((code, code),)
        if char.isdigit():
            raise self.error("backreferences are not supported (RE2 has none)", start)
        if char.isalnum():
            raise self.error(f"the escape \\{char} is not supported", start)
        return ((ord(char), ord(char)),)

    def _class(self, start: int) -> Ranges:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            if self.i >= len(self.text):
                raise self.error("missing ']'", start)
            char = self.text[self.i]
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            if _POSIX_CLASS.match(self.text, self.i):
                raise self.error("POSIX classes like [:alpha:] are not supported")
            low_ranges = self._class_atom()
            if self.peek() == "-" and self.text[self.i + 1:self.i + 2] not in ("]", "") \
                    and len(low_ranges) == 1 and low_ranges[0][0] == low_ranges[0][1]:
                at = self.i
                self.i += 1
                high_ranges = self._class_atom()
                if len(high_ranges) != 1 or high_ranges[0][0] != high_ranges[0][1] \
                        or high_ranges[0][0] < low_ranges[0][0]:
                    raise self.error("bad character range", at)
                ranges.append((low_ranges[0][0], high_ranges[0][0]))
            else:
                ranges.extend(low_ranges)
        result = self._case(normalize(ranges))
        return complement(result) if negated else result

    def _class_atom(self) -> Ranges:
        char = self.text[self.i]
        start = self.i
        self.i += 1
        if char == "\\":
            if self.i >= len(self.text):
                raise self.error("trailing backslash", start)
            escaped = self.text[self.i]
            self.i += 1
            return self._escaped_ranges(escaped, start)
        return ((ord(char), ord(char)),)


def regex_node(pattern: str) -> Node:
    return _RegexParser(pattern).parse()


# ---------------------------------------------------------------------------
# NFA (over bytes) and subset construction.
# ---------------------------------------------------------------------------

class _Nfa:
    def __init__(self):
        self.edges: list[list[tuple[int, int, int]]] = []  # (low byte, high byte, target)
        self.epsilon: list[list[int]] = []
        self.begin: list[list[int]] = []  # edges allowed only at the start of the input
        self.end: list[list[int]] = []    # edges allowed only at its end

    def state(self) -> int:
        self.edges.append([])
        self.epsilon.append([])
        self.begin.append([])
        self.end.append([])
        if len(self.edges) > 50 * MAX_STATES:
            raise PatternError("the pattern is too large", 0)
        return len(self.edges) - 1

    def build(self, node: Node, start: int) -> int:
        """Add ``node`` from ``start``; returns the state reached after it."""
        kind = node[0]
        if kind == "chars":
            end = self.state()
            for low, high in node[1]:
                for sequence in utf8_sequences(low, high):
                    current = start
                    for k, (b_low, b_high) in enumerate(sequence):
                        target = end if k == len(sequence) - 1 else self.state()
                        self.edges[current].append((b_low, b_high, target))
                        current = target
            return end
        if kind == "cat":
            for item in node[1]:
                start = self.build(item, start)
            return start
        if kind == "alt":
            end = self.state()
            for branch in node[1]:
                entry = self.state()
                self.epsilon[start].append(entry)
                self.epsilon[self.build(branch, entry)].append(end)
            return end
        if kind in ("begin", "end"):
            end = self.state()
            (self.begin if kind == "begin" else self.end)[start].append(end)
            return end
        _, inner, low, high = node
        for _ in range(low):
            start = self.build(inner, start)
        if high is None:
            loop = self.state()
            self.epsilon[start].append(loop)
            self.epsilon[self.build(inner, loop)].append(loop)
            return loop
        end = self.state()
        for _ in range(high - low):
            self.epsilon[start].append(end)
            start = self.build(inner, start)
        self.epsilon[start].append(end)
        return end

    def closure(self, states, at_begin: bool, at_end: bool = False) -> frozenset[int]:
        seen = set(states)
        stack = list(states)
        while stack:
            state = stack.pop()
            following = list(self.epsilon[state])
            if at_begin:
                following += self.begin[state]
            if at_end:
                following += self.end[state]
            for target in following:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return frozenset(seen)


def compile_dfa(node: Node, search: bool) -> Dfa:
    """The DFA of ``node``: whole-string match, or (``search``) a match anywhere."""
    nfa = _Nfa()
    start = nfa.state()
    final = nfa.build(node, start)
    first = nfa.closure([start], at_begin=True)
    again = nfa.closure([start], at_begin=False)  # search: a match may start at any byte

    def reaches_final(states: frozenset[int]) -> bool:
        return final in nfa.closure(states, at_begin=False, at_end=True)

    MATCHED = frozenset({-1})
    ids: dict[frozenset[int], int] = {}
    order: list[frozenset[int]] = []

    def state_id(states: frozenset[int]) -> int:
        if search and final in states:
            states = MATCHED
        if states not in ids:
            if len(order) >= MAX_STATES:
                raise PatternError(f"the pattern needs more than {MAX_STATES} automaton states", 0)
            ids[states] = len(order)
            order.append(states)
        return ids[states]

    start_id = state_id(first)
    table: list[int] = []
    k = 0
    while k < len(order):
        states = order[k]
        k += 1
        if states == MATCHED:
            table.extend([ids[MATCHED]] * 256)
            continue
        targets: list[set[int]] = [set() for _ in range(256)]
        for state in states:
            for low, high, target in nfa.edges[state]:
                for byte in range(low, high + 1):
                    targets[byte].add(target)
        row = []
        cache: dict[frozenset[int], int] = {}
        for byte in range(256):
            moved = frozenset(targets[byte])
            if moved not in cache:
                closed = nfa.closure(moved, at_begin=False)
                cache[moved] = state_id(closed | again if search else closed)
            row.append(cache[moved])
        table.extend(row)
    accepts = tuple(states == MATCHED or reaches_final(states) for states in order)
    absorbing = tuple(all(t == index for t in table[index * 256:(index + 1) * 256])
                      for index in range(len(order)))
    return Dfa(tuple(table), accepts, absorbing, start_id)


def like_dfa(pattern: str, ignore_case: bool) -> Dfa:
    return compile_dfa(like_node(pattern, ignore_case), search=False)


def regex_dfa(pattern: str) -> Dfa:
    return compile_dfa(regex_node(pattern), search=True)
