"""String functions: the registry rows on utf8 values and the code they emit.

A string value in registers is a ``{pointer, byte length}`` view
(:data:`~.types.STRING_VALUE`) into an Arrow buffer, a literal, or scratch
memory. The rows here are chained into the registry by
:func:`.registry._builtin_rows`:

* comparisons in byte order (``memcmp``), and with a literal of at most 16
  bytes a length check and two loads (``equal_short``);
* ``starts_with``, ``ends_with``, ``contains``, ``length`` (characters);
* ``like``, ``ilike`` and ``regexp_like``, whose pattern is a literal
  compiled at compile time (:mod:`.automaton`) into a DFA table and a loop of
  one load per byte; LIKE patterns that are a prefix, suffix, substring or
  exact string use the rows above instead (:func:`like_call`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from llvmlite import ir

from ..errors import CompilerError
from . import automaton
from . import typed_ir as tir
from . import types as T
from .registry import _SIGNED_PREDICATES, Emit, FunctionSpec, NullHandling, Registry

I8 = ir.IntType(8)
I16 = ir.IntType(16)
I64 = ir.IntType(64)


def _libc(builder: ir.IRBuilder, name: str, returns: ir.Type, params: list[ir.Type]) -> ir.Function:
    module = builder.module
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(returns, params), name)


def _parts(b: ir.IRBuilder, view: ir.Value, name: str) -> tuple[ir.Value, ir.Value]:
    return b.extract_value(view, 0, name=f"{name}_ptr"), b.extract_value(view, 1, name=f"{name}_len")


def _memcmp(b: ir.IRBuilder, x: ir.Value, y: ir.Value, n: ir.Value) -> ir.Value:
    memcmp = _libc(b, "memcmp", ir.IntType(32), [ir.PointerType(), ir.PointerType(), ir.IntType(64)])
    return b.call(memcmp, [x, y, n], name="memcmp")


def _string_compare(op: str) -> Emit:
    """Byte order, as Arrow compares strings: the shorter is less when one is a prefix."""
    symbol = _SIGNED_PREDICATES[op]

    def emit(b, x, y):
        xp, xn = _parts(b, x, "x")
        yp, yn = _parts(b, y, "y")
        i64 = ir.IntType(64)
        if symbol in ("==", "!="):
            same_length = b.icmp_unsigned("==", xn, yn, name="same_length")
            n = b.select(same_length, xn, ir.Constant(i64, 0), name="n")
            same_bytes = b.icmp_signed("==", _memcmp(b, xp, yp, n), ir.Constant(ir.IntType(32), 0))
            equal = b.and_(same_length, same_bytes, name="equal")
            return equal if symbol == "==" else b.not_(equal, name="not_equal")
        shorter = b.select(b.icmp_unsigned("<", xn, yn), xn, yn, name="shorter")
        bytes_order = b.sext(_memcmp(b, xp, yp, shorter), i64, name="bytes_order")
        length_order = b.sub(xn, yn, name="length_order")
        tie = b.icmp_signed("==", bytes_order, ir.Constant(i64, 0), name="tie")
        order = b.select(tie, length_order, bytes_order, name="order")
        return b.icmp_signed(symbol, order, ir.Constant(i64, 0), name="cmp")
    return emit


def _short_bytes_equal(b: ir.IRBuilder, source: ir.Value, yp: ir.Value, yn: ir.Value) -> ir.Value:
    """Whether the ``yn`` bytes at ``source`` equal those at ``yp`` (``yn`` at most 16).

    The bytes are compared as two overlapping integers of the widest size
    that fits (1, 2, 4 or 8 bytes: the first and the last k of the n). With
    ``y`` a constant, O3 folds the size choice and y's loads away: no call
    and no loop per row.
    """
    i64 = ir.IntType(64)
    done = b.append_basic_block("compared")
    sizes = [(0, None), (1, 1), (2, 2), (4, 4), (8, 8)]
    results = []
    for index, (low, k) in enumerate(sizes):
        high = sizes[index + 1][0] if index + 1 < len(sizes) else 17
        within = b.and_(b.icmp_unsigned(">=", yn, ir.Constant(i64, low)),
                        b.icmp_unsigned("<", yn, ir.Constant(i64, high)), name=f"size_{low}")
        arm = b.append_basic_block(f"bytes_{low}")
        rest = b.append_basic_block(f"not_{low}")
        b.cbranch(within, arm, rest)
        b.position_at_end(arm)
        if k is None:
            equal = ir.Constant(ir.IntType(1), 1)
        else:
            word = ir.IntType(8 * k)
            last = b.sub(yn, ir.Constant(i64, k), name="last")
            loads = [b.load(b.gep(pointer, [at], source_etype=ir.IntType(8)), typ=word, name=name, align=1)
                     for pointer, at, name in ((source, ir.Constant(i64, 0), "x_first"),
                                               (yp, ir.Constant(i64, 0), "y_first"),
                                               (source, last, "x_last"), (yp, last, "y_last"))]
            equal = b.and_(b.icmp_unsigned("==", loads[0], loads[1]),
                           b.icmp_unsigned("==", loads[2], loads[3]), name="same_bytes")
        results.append((equal, b.block))
        b.branch(done)
        b.position_at_end(rest)
    b.branch(done)  # longer than 16 bytes: the type checker never picks these rows then
    b.position_at_end(done)
    merged = b.phi(ir.IntType(1), name="same")
    for value, block in results:
        merged.add_incoming(value, block)
    merged.add_incoming(ir.Constant(ir.IntType(1), 0), rest)
    return merged


def _equal_short(negate: bool) -> Emit:
    """Equality with a literal of at most 16 bytes: a length check and two loads.

    ``x`` is read only when its length is right (else ``y`` itself is), so
    nothing outside either string is read.
    """
    def emit(b: ir.IRBuilder, x, y):
        xp, xn = _parts(b, x, "x")
        yp, yn = _parts(b, y, "y")
        same_length = b.icmp_unsigned("==", xn, yn, name="same_length")
        source = b.select(same_length, xp, yp, name="source")
        equal = b.and_(same_length, _short_bytes_equal(b, source, yp, yn), name="equal")
        return b.not_(equal, name="not_equal") if negate else equal
    return emit


def _affix_short(at_end: bool) -> Emit:
    """``starts_with``/``ends_with`` a literal of at most 16 bytes, without a call."""
    def emit(b: ir.IRBuilder, s, p):
        sp, sn = _parts(b, s, "s")
        pp, pn = _parts(b, p, "p")
        fits = b.icmp_unsigned(">=", sn, pn, name="fits")
        start = b.gep(sp, [b.sub(sn, pn, name="tail_start")], source_etype=ir.IntType(8), name="tail") \
            if at_end else sp
        source = b.select(fits, start, pp, name="source")
        name = "ends_with" if at_end else "starts_with"
        return b.and_(fits, _short_bytes_equal(b, source, pp, pn), name=name)
    return emit


# The longest string literal `equal_short` compares with two loads.
SHORT_STRING_BYTES = 16


def _starts_with(b, s, p):
    sp, sn = _parts(b, s, "s")
    pp, pn = _parts(b, p, "p")
    fits = b.icmp_unsigned(">=", sn, pn, name="fits")
    n = b.select(fits, pn, ir.Constant(ir.IntType(64), 0), name="n")
    same = b.icmp_signed("==", _memcmp(b, sp, pp, n), ir.Constant(ir.IntType(32), 0), name="same")
    return b.and_(fits, same, name="starts_with")


def _ends_with(b, s, p):
    sp, sn = _parts(b, s, "s")
    pp, pn = _parts(b, p, "p")
    fits = b.icmp_unsigned(">=", sn, pn, name="fits")
    n = b.select(fits, pn, ir.Constant(ir.IntType(64), 0), name="n")
    tail = b.gep(sp, [b.sub(sn, n, name="tail_start")], source_etype=ir.IntType(8), name="tail")
    same = b.icmp_signed("==", _memcmp(b, tail, pp, n), ir.Constant(ir.IntType(32), 0), name="same")
    return b.and_(fits, same, name="ends_with")


def _contains(b, s, p):
    sp, sn = _parts(b, s, "s")
    pp, pn = _parts(b, p, "p")
    pointer = ir.PointerType()
    memmem = _libc(b, "memmem", pointer, [pointer, ir.IntType(64), pointer, ir.IntType(64)])
    found = b.call(memmem, [sp, sn, pp, pn], name="found")
    hit = b.icmp_unsigned("!=", b.ptrtoint(found, ir.IntType(64)), ir.Constant(ir.IntType(64), 0))
    empty = b.icmp_unsigned("==", pn, ir.Constant(ir.IntType(64), 0), name="empty_pattern")
    return b.or_(hit, empty, name="contains")


def _length(b: ir.IRBuilder, s):
    """Characters, not bytes: the bytes that do not continue a UTF-8 sequence (10xxxxxx)."""
    sp, sn = _parts(b, s, "s")
    i64, i8 = ir.IntType(64), ir.IntType(8)
    entry = b.block
    loop = b.append_basic_block("bytes")
    done = b.append_basic_block("counted")
    b.cbranch(b.icmp_unsigned(">", sn, ir.Constant(i64, 0), name="any"), loop, done)
    b.position_at_end(loop)
    k = b.phi(i64, name="k")
    count = b.phi(i64, name="count")
    k.add_incoming(ir.Constant(i64, 0), entry)
    count.add_incoming(ir.Constant(i64, 0), entry)
    byte = b.load(b.gep(sp, [k], source_etype=i8), typ=i8, name="byte")
    starts = b.icmp_unsigned("!=", b.and_(byte, ir.Constant(i8, 0xC0)), ir.Constant(i8, 0x80),
                             name="starts_character")
    next_count = b.add(count, b.zext(starts, i64), name="next_count")
    next_k = b.add(k, ir.Constant(i64, 1), name="next_k")
    k.add_incoming(next_k, loop)
    count.add_incoming(next_count, loop)
    b.cbranch(b.icmp_unsigned("<", next_k, sn, name="more"), loop, done)
    b.position_at_end(done)
    result = b.phi(i64, name="length")
    result.add_incoming(ir.Constant(i64, 0), entry)
    result.add_incoming(next_count, loop)
    return result




# ---------------------------------------------------------------------------
# Patterns compiled to automata: like, ilike, regexp_like.
# ---------------------------------------------------------------------------

def _constant_array(b: ir.IRBuilder, name: str, element: ir.Type, values: Iterable[int]) -> ir.Value:
    module = b.module
    values = list(values)
    array = ir.ArrayType(element, len(values))
    variable = ir.GlobalVariable(module, array, module.get_unique_name(name))
    variable.global_constant = True
    variable.linkage = "private"
    variable.unnamed_addr = True
    variable.initializer = ir.Constant(array, values)
    return variable


def _dfa_match(dfa: automaton.Dfa) -> Emit:
    """A loop over the string's bytes: ``state = next[state * 256 + byte]``, one load per byte.

    The loop stops early in a dead or a matched state; the answer is
    ``accepts[state]``. States and bytes are both in range of the tables by
    construction, and only the string's own bytes are read.
    """
    def emit(b: ir.IRBuilder, s, _pattern=None):
        sp, sn = _parts(b, s, "s")
        element = I8 if dfa.states <= 256 else I16
        table = _constant_array(b, "dfa_next", element, dfa.table)
        accepts = _constant_array(b, "dfa_accepts", I8, (int(a) for a in dfa.accepts))
        finals = [k for k, final in enumerate(dfa.final) if final]
        entry = b.block
        header = b.append_basic_block("dfa_bytes")
        body = b.append_basic_block("dfa_step")
        done = b.append_basic_block("dfa_done")
        b.branch(header)
        b.position_at_end(header)
        i = b.phi(I64, name="i")
        state = b.phi(I64, name="state")
        i.add_incoming(ir.Constant(I64, 0), entry)
        state.add_incoming(ir.Constant(I64, dfa.start), entry)
        more = b.icmp_unsigned("<", i, sn, name="more_bytes")
        for final in finals[:4]:
            live = b.icmp_unsigned("!=", state, ir.Constant(I64, final), name="live")
            more = b.and_(more, live, name="continue")
        b.cbranch(more, body, done)
        b.position_at_end(body)
        byte = b.zext(b.load(b.gep(sp, [i], source_etype=I8, name="byte_address"), typ=I8, name="byte"),
                      I64, name="byte64")
        index = b.add(b.shl(state, ir.Constant(I64, 8), name="row"), byte, name="index")
        following = b.load(b.gep(table, [ir.Constant(I64, 0), index], name="next_address"),
                           typ=element, name="next")
        state.add_incoming(b.zext(following, I64, name="next_state"), body)
        i.add_incoming(b.add(i, ir.Constant(I64, 1), name="next_i"), body)
        b.branch(header)
        b.position_at_end(done)
        accepted = b.load(b.gep(accepts, [ir.Constant(I64, 0), state], name="accepts_address"), typ=I8,
                          name="accepts")
        return b.icmp_unsigned("!=", accepted, ir.Constant(I8, 0), name="match")
    return emit


def _needs_literal(b: ir.IRBuilder, *args) -> ir.Value:
    raise CompilerError("this function's pattern must be specialized first (like_call, regexp_call)")


def specialized(row: FunctionSpec, pattern: str) -> FunctionSpec:
    """``row`` with ``pattern`` compiled in (``row.specialize``); raises automaton.PatternError."""
    assert row.specialize is not None
    digest = hashlib.sha256(pattern.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return replace(row, emit=row.specialize(pattern), variant=digest, specialize=None)


def like_call(operand: tir.TypedNode, pattern: tir.Const, ignore_case: bool, span,
              registry: Registry) -> tir.Call:
    """``operand like pattern``: a prefix, suffix, substring or exact pattern uses the plain string
    rows (starts_with_short, ends_with, contains, equal_short, ...); any other pattern, and every
    ``ilike``, runs the pattern's DFA. Raises automaton.PatternError."""
    tokens = automaton.like_tokens(pattern.value)
    string = operand.dtype
    if not ignore_case and None not in tokens:
        pieces = _like_pieces(tokens)
        literal = next((p for p in pieces if p is not ...), "")
        const = tir.Const(string, pattern.span, literal)
        short = len(literal.encode("utf-8")) <= SHORT_STRING_BYTES
        name = {(False, False): "equal", (False, True): "starts_with", (True, False): "ends_with",
                (True, True): "contains"}.get((pieces[:1] == [...], pieces[-1:] == [...]))
        if len(pieces) <= 3 and literal and not (len(pieces) == 3 and pieces[1] is ...):
            if short and name != "contains":
                name = f"{name}_short"
            return tir.Call(T.BOOL, span, registry.lookup(name, (string, string)), (operand, const))
    row = registry.lookup("ilike" if ignore_case else "like", (string, string))
    return tir.Call(T.BOOL, span, specialized(row, pattern.value), (operand, pattern))


def _like_pieces(tokens: list) -> list:
    """Literal runs and ``...`` for each run of ``%``: ``['k04', ...]`` for ``k04%``."""
    pieces: list = []
    for token in tokens:
        if token is ...:
            if pieces[-1:] != [...]:
                pieces.append(...)
        elif pieces and pieces[-1] is not ...:
            pieces[-1] += token
        else:
            pieces.append(token)
    return pieces


def string_rows() -> Iterable[FunctionSpec]:
    nn = NullHandling.NULL_IF_NULL
    string = T.UTF8
    for op in _SIGNED_PREDICATES:
        yield FunctionSpec(op, (string, string), T.BOOL, nn, _string_compare(op), "byte order")
    for source in (T.LARGE_UTF8, T.UTF8_VIEW):
        yield FunctionSpec("cast_utf8", (source,), string, nn, lambda b, x: x, "the same view")
    yield FunctionSpec("equal_short", (string, string), T.BOOL, nn, _equal_short(False),
                       f"the second is a literal of at most {SHORT_STRING_BYTES} bytes")
    yield FunctionSpec("not_equal_short", (string, string), T.BOOL, nn, _equal_short(True),
                       f"the second is a literal of at most {SHORT_STRING_BYTES} bytes")
    yield FunctionSpec("starts_with", (string, string), T.BOOL, nn, _starts_with)
    yield FunctionSpec("ends_with", (string, string), T.BOOL, nn, _ends_with)
    yield FunctionSpec("starts_with_short", (string, string), T.BOOL, nn, _affix_short(False),
                       f"the pattern is a literal of at most {SHORT_STRING_BYTES} bytes")
    yield FunctionSpec("ends_with_short", (string, string), T.BOOL, nn, _affix_short(True),
                       f"the pattern is a literal of at most {SHORT_STRING_BYTES} bytes")
    yield FunctionSpec("contains", (string, string), T.BOOL, nn, _contains)
    yield FunctionSpec("length", (string,), T.INT64, nn, _length, "in characters")
    for upper in (False, True):
        yield FunctionSpec("upper" if upper else "lower", (string,), string, nn, _case_map(upper),
                           "Unicode simple case mapping, as pyarrow's utf8_upper/utf8_lower; ASCII "
                           "fast path", scratch=CASE_GROWTH)
    yield FunctionSpec(
        "like", (string, string), T.BOOL, nn, _needs_literal,
        "SQL LIKE: `%` any run of characters, `_` one character, a backslash escapes; the pattern "
        "is a literal, compiled to a DFA (prefix, suffix, substring and exact patterns to the "
        "plain string rows)",
        specialize=lambda pattern: _dfa_match(automaton.like_dfa(pattern, ignore_case=False)))
    yield FunctionSpec(
        "ilike", (string, string), T.BOOL, nn, _needs_literal,
        "LIKE ignoring case (Unicode simple case folding, as pyarrow's match_like(ignore_case=True))",
        specialize=lambda pattern: _dfa_match(automaton.like_dfa(pattern, ignore_case=True)))
    yield FunctionSpec(
        "regexp_like", (string, string), T.BOOL, nn, _needs_literal,
        "a match of the regular expression anywhere in the string (RE2 syntax, as pyarrow's "
        "match_substring_regex; the subset in docs/language.md); the pattern is a literal, compiled "
        "to a DFA",
        specialize=lambda pattern: _dfa_match(automaton.regex_dfa(pattern)))
    yield from cast_rows()


# ---------------------------------------------------------------------------
# lower() and upper(): results written to the kernel's scratch memory.
# ---------------------------------------------------------------------------

# A case-mapped string has at most this many bytes per input byte (a 2-byte
# character can map to a 3-byte one: U+023A 'Ⱥ' -> U+2C65 'ⱥ'), plus
# SCRATCH_SLACK bytes (a character's bytes are stored 4 at a time).
CASE_GROWTH = 2
SCRATCH_SLACK = 4


@lru_cache(maxsize=2)
def case_table(upper: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The simple (one code point to one) case mapping as pyarrow's utf8_lower/utf8_upper apply it.

    Returns ``(pages, deltas)``: code point ``c`` maps to ``c + deltas[pages[c >> 8] * 256 + (c & 255)]``
    (page 0 is all zeros: unchanged). Built from Python's ``str.lower``/``str.upper`` where they
    give one code point; where Python's full mapping gives several, the simple mapping is the
    title case when that is one code point (``ᾳ`` -> ``ᾼ``), ``İ`` lowers to ``i``, ``ß`` uppers
    to ``ẞ`` (as utf8proc, which pyarrow uses), and everything else is unchanged (``ŉ``, ``ǰ``,
    ``ﬀ``). Characters newer than Python's Unicode database are unchanged.
    """
    pages: list[int] = [0] * (1 << 13)  # code points up to 21 bits (malformed input stays in range)
    blocks: list[list[int]] = [[0] * 256]
    for code in range(0x80, automaton.CASED_LIMIT):
        mapped = _simple_case(chr(code), upper)
        if mapped == code:
            continue
        page = code >> 8
        if pages[page] == 0:
            pages[page] = len(blocks)
            blocks.append([0] * 256)
        blocks[pages[page]][code & 255] = mapped - code
    return tuple(pages), tuple(delta for block in blocks for delta in block)


def _simple_case(char: str, upper: bool) -> int:
    if automaton.SURROGATES[0] <= ord(char) <= automaton.SURROGATES[1]:
        return ord(char)
    mapped = char.upper() if upper else char.lower()
    if len(mapped) == 1:
        return ord(mapped)
    if upper:
        title = char.title()
        if len(title) == 1:
            return ord(title)
        return 0x1E9E if char == "ß" else ord(char)
    return ord(mapped[0]) if char == "İ" else ord(char)


def _case_map(upper: bool) -> Emit:
    """``lower``/``upper``: writes the mapped bytes at ``dest`` and returns the view of them.

    One pass over the bytes: 8 ASCII bytes at a time map by SWAR arithmetic
    on a 64-bit word (the fast path), a lone ASCII byte by arithmetic; a
    multi-byte character is decoded, mapped through a two-level table and
    encoded again. A malformed sequence (a stray continuation byte,
    a sequence cut by the end of the string) is copied byte by byte. Only the
    string's own bytes are read.
    """
    def emit(b: ir.IRBuilder, dest, s):
        pages_values, deltas_values = case_table(upper)
        sp, sn = _parts(b, s, "s")
        i32 = ir.IntType(32)
        pages = _constant_array(b, "case_pages", I16, pages_values)
        deltas = _constant_array(b, "case_deltas", i32, (d & 0xFFFFFFFF for d in deltas_values))
        entry = b.block
        header = b.append_basic_block("case_bytes")
        word_check = b.append_basic_block("case_word_check")
        word_block = b.append_basic_block("case_word")
        body = b.append_basic_block("case_byte")
        ascii_block = b.append_basic_block("case_ascii")
        multi = b.append_basic_block("case_multi")
        done = b.append_basic_block("case_done")
        b.branch(header)

        b.position_at_end(header)
        i = b.phi(I64, name="i")
        o = b.phi(I64, name="o")
        i.add_incoming(ir.Constant(I64, 0), entry)
        o.add_incoming(ir.Constant(I64, 0), entry)
        b.cbranch(b.icmp_unsigned("<", i, sn, name="more"), word_check, done)

        def byte_at(index: ir.Value, name: str) -> ir.Value:
            return b.load(b.gep(sp, [index], source_etype=I8), typ=I8, name=name)

        def repeated(byte: int) -> ir.Constant:
            return ir.Constant(I64, int.from_bytes(bytes([byte]) * 8, "little"))

        b.position_at_end(word_check)  # 8 more bytes, all ASCII: map them as one word
        whole = b.icmp_unsigned("<=", b.add(i, ir.Constant(I64, 8)), sn, name="eight_left")
        safe = b.select(whole, i, ir.Constant(I64, 0))
        word = b.load(b.gep(sp, [safe], source_etype=I8), typ=I64, name="word", align=1)
        word = b.select(whole, word, repeated(0x80), name="word_or_not")
        all_ascii = b.icmp_unsigned("==", b.and_(word, repeated(0x80)), ir.Constant(I64, 0), name="all_ascii")
        b.cbranch(all_ascii, word_block, body)

        b.position_at_end(word_block)
        first, last = (ord("a"), ord("z")) if upper else (ord("A"), ord("Z"))
        from_first = b.add(word, repeated(0x80 - first), name="from_first")  # high bit: byte >= first
        past_last = b.add(word, repeated(0x80 - last - 1), name="past_last")  # high bit: byte > last
        cased = b.and_(b.and_(from_first, b.not_(past_last)), repeated(0x80), name="cased_bytes")
        mapped_word = b.xor(word, b.lshr(cased, ir.Constant(I64, 2)), name="mapped_word")
        b.store(mapped_word, b.gep(dest, [o], source_etype=I8), align=1)
        i.add_incoming(b.add(i, ir.Constant(I64, 8)), word_block)
        o.add_incoming(b.add(o, ir.Constant(I64, 8)), word_block)
        b.branch(header)

        b.position_at_end(body)
        byte = byte_at(i, "byte")
        b.cbranch(b.icmp_unsigned("<", byte, ir.Constant(I8, 0x80), name="is_ascii"), ascii_block, multi)

        b.position_at_end(ascii_block)
        low, high = (ord("a"), ord("z")) if upper else (ord("A"), ord("Z"))
        in_range = b.icmp_unsigned("<=", b.sub(byte, ir.Constant(I8, low)), ir.Constant(I8, high - low),
                                   name="cased")
        flipped = b.xor(byte, ir.Constant(I8, 0x20), name="flipped")
        b.store(b.select(in_range, flipped, byte, name="mapped_ascii"), b.gep(dest, [o], source_etype=I8))
        i.add_incoming(b.add(i, ir.Constant(I64, 1)), ascii_block)
        o.add_incoming(b.add(o, ir.Constant(I64, 1)), ascii_block)
        b.branch(header)

        b.position_at_end(multi)
        # The sequence length from the lead byte (1: not a lead byte, copied as is).
        width = b.select(b.icmp_unsigned(">=", byte, ir.Constant(I8, 0xF0)),
                         b.select(b.icmp_unsigned("<", byte, ir.Constant(I8, 0xF8)), ir.Constant(I64, 4),
                                  ir.Constant(I64, 1)),
                         b.select(b.icmp_unsigned(">=", byte, ir.Constant(I8, 0xE0)), ir.Constant(I64, 3),
                                  b.select(b.icmp_unsigned(">=", byte, ir.Constant(I8, 0xC0)),
                                           ir.Constant(I64, 2), ir.Constant(I64, 1))), name="width")
        fits = b.icmp_unsigned("<=", b.add(i, width), sn, name="fits")
        width = b.select(fits, width, ir.Constant(I64, 1), name="safe_width")
        conts = []
        for k in (1, 2, 3):  # continuation bytes, read only inside the sequence
            present = b.icmp_unsigned(">", width, ir.Constant(I64, k))
            at = b.add(i, b.select(present, ir.Constant(I64, k), ir.Constant(I64, 0)))
            cont = b.zext(b.and_(byte_at(at, f"b{k}"), ir.Constant(I8, 0x3F)), i32)
            conts.append((present, cont))
        lead = b.zext(byte, i32)
        lead_bits = b.select(b.icmp_unsigned("==", width, ir.Constant(I64, 2)),
                             b.and_(lead, ir.Constant(i32, 0x1F)),
                             b.select(b.icmp_unsigned("==", width, ir.Constant(I64, 3)),
                                      b.and_(lead, ir.Constant(i32, 0x0F)),
                                      b.select(b.icmp_unsigned("==", width, ir.Constant(I64, 4)),
                                               b.and_(lead, ir.Constant(i32, 0x07)), lead)))
        code = lead_bits
        for present, cont in conts:
            code = b.select(present, b.or_(b.shl(code, ir.Constant(i32, 6)), cont), code, name="code")
        page = b.load(b.gep(pages, [ir.Constant(I64, 0), b.zext(b.lshr(code, ir.Constant(i32, 8)), I64)]),
                      typ=I16, name="page")
        index = b.add(b.shl(b.zext(page, I64), ir.Constant(I64, 8)),
                      b.zext(b.and_(code, ir.Constant(i32, 255)), I64), name="delta_index")
        delta = b.load(b.gep(deltas, [ir.Constant(I64, 0), index]), typ=i32, name="delta")
        is_sequence = b.icmp_unsigned(">", width, ir.Constant(I64, 1), name="is_sequence")
        mapped = b.add(code, b.select(is_sequence, delta, ir.Constant(i32, 0)), name="mapped")
        # Encode: a malformed byte (width 1) is written back unchanged.
        out_width = b.select(b.icmp_unsigned("<", mapped, ir.Constant(i32, 0x80)), ir.Constant(I64, 1),
                             b.select(b.icmp_unsigned("<", mapped, ir.Constant(i32, 0x800)),
                                      ir.Constant(I64, 2),
                                      b.select(b.icmp_unsigned("<", mapped, ir.Constant(i32, 0x10000)),
                                               ir.Constant(I64, 3), ir.Constant(I64, 4))))
        out_width = b.select(is_sequence, out_width, ir.Constant(I64, 1), name="out_width")
        units = []
        for k in range(4):  # byte k of a sequence of out_width bytes
            shift = b.trunc(b.mul(b.sub(b.sub(out_width, ir.Constant(I64, 1)), ir.Constant(I64, k)),
                                  ir.Constant(I64, 6)), i32)
            safe_shift = b.select(b.icmp_signed(">=", shift, ir.Constant(i32, 0)), shift, ir.Constant(i32, 0))
            bits = b.lshr(mapped, safe_shift)
            if k == 0:
                marker = b.select(b.icmp_unsigned("==", out_width, ir.Constant(I64, 2)),
                                  ir.Constant(i32, 0xC0),
                                  b.select(b.icmp_unsigned("==", out_width, ir.Constant(I64, 3)),
                                           ir.Constant(i32, 0xE0), ir.Constant(i32, 0xF0)))
                single = b.icmp_unsigned("==", out_width, ir.Constant(I64, 1))
                unit = b.select(single, mapped, b.or_(bits, marker))
            else:
                unit = b.or_(b.and_(bits, ir.Constant(i32, 0x3F)), ir.Constant(i32, 0x80))
            units.append(b.trunc(unit, I8, name=f"unit{k}"))
        for k, unit in enumerate(units):  # 4 stores; the bytes past out_width are overwritten later
            b.store(unit, b.gep(dest, [b.add(o, ir.Constant(I64, k))], source_etype=I8))
        i.add_incoming(b.add(i, width), multi)
        o.add_incoming(b.add(o, out_width), multi)
        b.branch(header)

        b.position_at_end(done)
        view = b.insert_value(ir.Constant(T.STRING_VALUE, None), dest, 0)
        return b.insert_value(view, o, 1, name="mapped_string")
    return emit


@dataclass(frozen=True)
class ScratchPlan:
    """How much scratch memory a kernel's string-making rows need for a run of rows.

    Linear in the input: ``per_byte[column]`` bytes for each byte of that
    string column in the run, plus ``per_row`` bytes per row. The scratch
    region of the block starting at row ``r`` starts where this sum for rows
    ``[0, r)`` ends, so blocks (and the threads running them) never share
    bytes, and results stay valid until the whole run is done.
    """

    per_byte: tuple[tuple[str, int], ...]
    per_row: int

    def size(self, column_bytes: dict[str, int], rows: int) -> int:
        return sum(k * column_bytes[name] for name, k in self.per_byte) + self.per_row * rows


def _bytes_bound(node: tir.TypedNode) -> tuple[dict[str, int], int]:
    """An upper bound of the bytes of ``node``'s string value, as (per byte of each column, per row)."""
    match node:
        case tir.ColumnRef(name=name) if node.dtype.is_string:
            return {name: 1}, 0
        case tir.Const(value=str() as value):
            return {}, len(value.encode("utf-8"))
        case tir.Call(function=function, args=args) if function.scratch:
            columns, per_row = _bytes_bound(args[0])
            return {c: k * function.scratch for c, k in columns.items()}, \
                per_row * function.scratch + SCRATCH_SLACK
    total: dict[str, int] = {}
    per_row = 0
    if node.dtype.is_string:  # if, coalesce, casts: one of the children's values
        for child in tir.children(node):
            columns, rows = _bytes_bound(child)
            for name, k in columns.items():
                total[name] = total.get(name, 0) + k
            per_row += rows
    return total, per_row


def scratch_plan(nodes: tir.Expressions) -> ScratchPlan | None:
    """The scratch memory the expressions need, or None when no row makes a string."""
    per_byte: dict[str, int] = {}
    per_row = 0
    for root in ([nodes] if isinstance(nodes, tir.TypedNode) else nodes):
        for node in tir.walk(root):
            if isinstance(node, tir.Call) and node.function.scratch:
                columns, rows = _bytes_bound(node)
                for name, k in columns.items():
                    per_byte[name] = per_byte.get(name, 0) + k
                per_row += rows
    if not per_row and not per_byte:
        return None
    return ScratchPlan(tuple(sorted(per_byte.items())), per_row)


# ---------------------------------------------------------------------------
# cast(s as <number>): parsing; text that does not parse (or does not fit) is null.
# ---------------------------------------------------------------------------

def _parse_integer(target: T.DType) -> Emit:
    """As pyarrow's cast: decimal digits with a ``-`` for signed types (no ``+``, no spaces), or
    ``0x``/``0X`` and hex digits, read as the target's bit pattern (``'0xff'`` is -1 in int8).
    Values out of range and anything else are null."""
    bits = target.bits

    def emit(b: ir.IRBuilder, s, s_valid):
        sp, sn = _parts(b, s, "s")
        i1 = ir.IntType(1)

        def byte_at(index: ir.Value) -> ir.Value:
            inside = b.icmp_unsigned("<", index, sn)
            safe = b.select(inside, index, ir.Constant(I64, 0))
            loaded = b.load(b.gep(sp, [safe], source_etype=I8), typ=I8)
            return b.select(inside, loaded, ir.Constant(I8, 0), name="char")

        zero, one, two = (ir.Constant(I64, k) for k in (0, 1, 2))
        negative = b.and_(ir.Constant(i1, int(target.is_signed)),
                          b.icmp_unsigned("==", byte_at(zero), ir.Constant(I8, ord("-"))), name="negative")
        start = b.select(negative, one, zero, name="digits_start")
        lowered = b.or_(byte_at(b.add(start, one)), ir.Constant(I8, 0x20))
        leading_zero = b.icmp_unsigned("==", byte_at(zero), ir.Constant(I8, ord("0")))
        hex_prefix = b.and_(b.and_(b.not_(negative), leading_zero),
                            b.icmp_unsigned("==", lowered, ir.Constant(I8, ord("x"))), name="hex")
        first = b.select(hex_prefix, two, start, name="first_digit")
        base = b.select(hex_prefix, ir.Constant(I64, 16), ir.Constant(I64, 10), name="base")
        has_digits = b.icmp_unsigned("<", first, sn, name="has_digits")
        entry = b.block
        loop = b.append_basic_block("digits")
        body = b.append_basic_block("digit")
        done = b.append_basic_block("parsed")
        b.branch(loop)
        b.position_at_end(loop)
        i = b.phi(I64, name="i")
        value = b.phi(I64, name="value")
        ok = b.phi(i1, name="ok")
        i.add_incoming(first, entry)
        value.add_incoming(zero, entry)
        ok.add_incoming(has_digits, entry)
        b.cbranch(b.and_(ok, b.icmp_unsigned("<", i, sn)), body, done)
        b.position_at_end(body)
        char = byte_at(i)
        decimal = b.sub(b.zext(char, I64), ir.Constant(I64, ord("0")), name="decimal")
        letter = b.sub(b.zext(b.or_(char, ir.Constant(I8, 0x20)), I64), ir.Constant(I64, ord("a") - 10))
        is_decimal = b.icmp_unsigned("<", decimal, ir.Constant(I64, 10))
        is_letter = b.and_(hex_prefix, b.and_(b.icmp_unsigned(">=", letter, ir.Constant(I64, 10)),
                                              b.icmp_unsigned("<", letter, ir.Constant(I64, 16))))
        digit = b.select(is_decimal, decimal, letter, name="digit")
        product = b.call(_overflow(b, "llvm.umul.with.overflow.i64"), [value, base])
        total = b.call(_overflow(b, "llvm.uadd.with.overflow.i64"), [b.extract_value(product, 0), digit])
        fine = b.and_(b.or_(is_decimal, is_letter), b.not_(b.or_(b.extract_value(product, 1),
                                                                   b.extract_value(total, 1))))
        i.add_incoming(b.add(i, one), body)
        value.add_incoming(b.extract_value(total, 0), body)
        ok.add_incoming(fine, body)
        b.branch(loop)
        b.position_at_end(done)
        magnitude = value
        if bits < 64:
            hex_fits = b.icmp_unsigned("<", magnitude, ir.Constant(I64, 1 << bits))
        else:
            hex_fits = ir.Constant(i1, 1)
        if target.is_signed:
            limit = b.select(negative, ir.Constant(I64, 1 << (bits - 1)),
                             ir.Constant(I64, (1 << (bits - 1)) - 1))
        else:
            limit = ir.Constant(I64, (1 << bits) - 1 if bits < 64 else -1)
        decimal_fits = b.icmp_unsigned("<=", magnitude, limit)
        fits = b.select(hex_prefix, hex_fits, decimal_fits, name="fits")
        signed = b.select(negative, b.sub(zero, magnitude), magnitude, name="signed_value")
        result = b.trunc(signed, target.llvm) if bits < 64 else signed
        return result, b.and_(s_valid, b.and_(ok, fits), name="valid")
    return emit


def _overflow(b: ir.IRBuilder, name: str) -> ir.Function:
    module = b.module
    if name not in module.globals:
        pair = ir.LiteralStructType([I64, ir.IntType(1)])
        ir.Function(module, ir.FunctionType(pair, [I64, I64]), name)
    return module.globals[name]


LONGEST_NUMBER = 1023  # longer text is not parsed (null)


def _parse_float(target: T.DType) -> Emit:
    """As pyarrow's cast: decimal or exponent notation with an optional sign, ``inf``,
    ``infinity`` and ``nan`` in any case; checked by a DFA, then converted by the C library's
    ``strtod``/``strtof`` (correctly rounded) from a NUL-terminated copy on the stack."""
    syntax = automaton.compile_dfa(_float_node(), search=True)

    def emit(b: ir.IRBuilder, s, s_valid):
        sp, sn = _parts(b, s, "s")
        matches = _dfa_match(syntax)(b, s)
        short = b.icmp_unsigned("<=", sn, ir.Constant(I64, LONGEST_NUMBER), name="short_enough")
        ok = b.and_(matches, short, name="parsable")
        copy = b.alloca(ir.ArrayType(I8, LONGEST_NUMBER + 1), name="number_text")
        copy.type = ir.PointerType()
        length = b.select(ok, sn, ir.Constant(I64, 0))
        memcpy = _libc(b, "llvm.memcpy.p0.p0.i64", ir.VoidType(),
                       [ir.PointerType(), ir.PointerType(), I64, ir.IntType(1)])
        b.call(memcpy, [copy, sp, length, ir.Constant(ir.IntType(1), 0)])
        b.store(ir.Constant(I8, 0), b.gep(copy, [length], source_etype=I8))
        name = "strtod" if target.bits == 64 else "strtof"
        convert = _libc(b, name, target.llvm, [ir.PointerType(), ir.PointerType()])
        value = b.call(convert, [copy, ir.Constant(ir.PointerType(), None)], name="parsed")
        return b.select(ok, value, ir.Constant(target.llvm, 0.0)), b.and_(s_valid, ok, name="valid")
    return emit


def _float_node() -> automaton.Node:
    digits = ("repeat", ("chars", ((48, 57),)), 1, None)
    maybe_digits = ("repeat", ("chars", ((48, 57),)), 0, None)
    point = ("chars", ((46, 46),))
    sign = ("repeat", ("chars", ((43, 43), (45, 45))), 0, 1)
    mantissa = ("alt", (("cat", (digits, ("repeat", point, 0, 1), maybe_digits)), ("cat", (point, digits))))
    exponent = ("repeat", ("cat", (("chars", ((69, 69), (101, 101))), sign, digits)), 0, 1)

    def word(text: str) -> automaton.Node:
        return ("cat", tuple(("chars", automaton.fold_case(((ord(c), ord(c)),))) for c in text))
    special = ("alt", (word("inf"), word("infinity"), word("nan")))
    number = ("alt", (("cat", (mantissa, exponent)), special))
    return ("cat", (("begin",), sign, number, ("end",)))


def cast_rows() -> Iterable[FunctionSpec]:
    nint = NullHandling.NULL_INTERNAL
    for target in T.INTEGER_TYPES:
        yield FunctionSpec(f"checked_cast_{target.name}", (T.UTF8,), target, nint, _parse_integer(target),
                           "parses decimal (or 0x hex) digits; null when the text is not a number or "
                           "does not fit")
    for target in T.FLOAT_TYPES:
        yield FunctionSpec(f"checked_cast_{target.name}", (T.UTF8,), target, nint, _parse_float(target),
                           "parses decimal or exponent notation, inf, infinity, nan; else null")


def _decimal_text_node() -> automaton.Node:
    """Decimal text as pyarrow's cast to decimal128 reads it: ``[+-]digits[.digits][e[+-]digits]``
    (``.5`` and ``5.`` too), without spaces, ``inf`` or ``nan``."""
    digits = ("repeat", ("chars", ((48, 57),)), 1, None)
    maybe_digits = ("repeat", ("chars", ((48, 57),)), 0, None)
    point = ("chars", ((46, 46),))
    sign = ("repeat", ("chars", ((43, 43), (45, 45))), 0, 1)
    mantissa = ("alt", (("cat", (digits, ("repeat", point, 0, 1), maybe_digits)), ("cat", (point, digits))))
    exponent = ("repeat", ("cat", (("chars", ((69, 69), (101, 101))), sign, digits)), 0, 1)
    return ("cat", (("begin",), sign, mantissa, exponent, ("end",)))


_LONGEST_EXPONENT = 100_000  # larger exponents saturate (the value then does not fit, or is 0)


def parse_decimal(target: T.DType) -> Emit:
    """``cast(s as decimal128(p, s))`` as pyarrow's safe cast, with null where it raises.

    The text is checked by a DFA, then read in one loop: the significant
    digits accumulate in an i128 with trailing zeros held back as a count,
    so the accumulated value never ends in 0. The number is then
    ``value * 10**k`` in units of the target scale; with k < 0 it is exact
    only when the value is 0 (no division needed), with k >= 0 it must stay
    below ``10**p``. More than 38 significant digits is null.
    """
    syntax = automaton.compile_dfa(_decimal_text_node(), search=True)
    i128 = ir.IntType(128)
    i1 = ir.IntType(1)
    limit = T.MAX_DECIMAL_PRECISION

    def emit(b: ir.IRBuilder, s, s_valid):
        sp, sn = _parts(b, s, "s")
        ok = _dfa_match(syntax)(b, s)
        powers = _constant_array(b, "powers_of_ten", i128, (10**k for k in range(limit + 1)))

        def power(k: ir.Value) -> ir.Value:  # 10**k for k clamped to [0, 38]
            k = b.select(b.icmp_signed("<", k, ir.Constant(I64, 0)), ir.Constant(I64, 0), k)
            k = b.select(b.icmp_signed(">", k, ir.Constant(I64, limit)), ir.Constant(I64, limit), k)
            return b.load(b.gep(powers, [ir.Constant(I64, 0), k]), typ=i128, name="power")

        zero64, one64 = ir.Constant(I64, 0), ir.Constant(I64, 1)
        false = ir.Constant(i1, 0)
        length = b.select(ok, sn, zero64, name="parsed_length")  # text that does not parse: no loop
        entry = b.block
        loop = b.append_basic_block("decimal_chars")
        body = b.append_basic_block("decimal_char")
        done = b.append_basic_block("decimal_parsed")
        b.branch(loop)
        b.position_at_end(loop)
        state = {name: b.phi(typ, name=name) for name, typ in (
            ("i", I64), ("value", i128), ("significant", I64), ("pending", I64), ("fraction", I64),
            ("after_point", i1), ("in_exponent", i1), ("exponent", I64), ("exponent_negative", i1),
            ("negative", i1), ("overflow", i1))}
        for name, start in (("i", zero64), ("value", ir.Constant(i128, 0)), ("significant", zero64),
                            ("pending", zero64), ("fraction", zero64), ("after_point", false),
                            ("in_exponent", false), ("exponent", zero64), ("exponent_negative", false),
                            ("negative", false), ("overflow", false)):
            state[name].add_incoming(start, entry)
        b.cbranch(b.icmp_unsigned("<", state["i"], length), body, done)
        b.position_at_end(body)
        char = b.load(b.gep(sp, [state["i"]], source_etype=I8), typ=I8, name="char")
        digit = b.sub(b.zext(char, I64), ir.Constant(I64, ord("0")), name="digit")
        is_digit = b.icmp_unsigned("<", digit, ir.Constant(I64, 10))
        is_minus = b.icmp_unsigned("==", char, ir.Constant(I8, ord("-")))
        is_point = b.icmp_unsigned("==", char, ir.Constant(I8, ord(".")))
        is_e = b.icmp_unsigned("==", b.or_(char, ir.Constant(I8, 0x20)), ir.Constant(I8, ord("e")))
        in_exponent = b.or_(state["in_exponent"], is_e)
        mantissa_digit = b.and_(is_digit, b.not_(in_exponent))
        exponent_digit = b.and_(is_digit, in_exponent)
        # the mantissa: a nonzero digit flushes the held-back zeros; a zero is held back
        nonzero = b.and_(mantissa_digit, b.icmp_unsigned("!=", digit, zero64))
        had_digits = b.icmp_unsigned("!=", state["significant"], zero64)
        shift = b.add(state["pending"], one64)
        grown = b.select(had_digits, b.add(state["significant"], shift), one64)
        flushed = b.add(b.mul(state["value"], power(shift)), b.zext(digit, i128))
        too_many = b.or_(b.icmp_signed(">", grown, ir.Constant(I64, limit)),
                         b.and_(had_digits, b.icmp_signed(">", shift, ir.Constant(I64, limit))))
        value = b.select(nonzero, flushed, state["value"])
        significant = b.select(nonzero, grown, state["significant"])
        held_zero = b.and_(b.and_(mantissa_digit, b.not_(nonzero)), had_digits)
        pending = b.select(nonzero, zero64, b.select(held_zero, shift, state["pending"]))
        fraction = b.select(b.and_(mantissa_digit, state["after_point"]),
                            b.add(state["fraction"], one64), state["fraction"])
        exponent = b.add(b.mul(state["exponent"], ir.Constant(I64, 10)), digit)
        exponent = b.select(b.icmp_signed(">", exponent, ir.Constant(I64, _LONGEST_EXPONENT)),
                            ir.Constant(I64, _LONGEST_EXPONENT), exponent)
        first = b.icmp_unsigned("==", state["i"], zero64)
        updates = {
            "i": b.add(state["i"], one64), "value": value, "significant": significant, "pending": pending,
            "fraction": fraction, "after_point": b.or_(state["after_point"], is_point),
            "in_exponent": in_exponent,
            "exponent": b.select(exponent_digit, exponent, state["exponent"]),
            "exponent_negative": b.or_(state["exponent_negative"], b.and_(state["in_exponent"], is_minus)),
            "negative": b.or_(state["negative"], b.and_(first, is_minus)),
            "overflow": b.or_(state["overflow"], b.and_(nonzero, too_many)),
        }
        for name, update in updates.items():
            state[name].add_incoming(update, body)
        b.branch(loop)
        b.position_at_end(done)
        exponent = b.select(state["exponent_negative"], b.sub(zero64, state["exponent"]), state["exponent"])
        k = b.add(b.sub(exponent, state["fraction"]), b.add(state["pending"], ir.Constant(I64, target.scale)),
                  name="scale_shift")
        magnitude = state["value"]
        is_zero = b.icmp_unsigned("==", magnitude, ir.Constant(i128, 0))
        room = b.sub(ir.Constant(I64, target.precision), k, name="room")  # digits left for the value
        fits = b.and_(b.icmp_signed(">=", k, zero64),
                      b.and_(b.icmp_signed(">=", room, zero64), b.icmp_unsigned("<", magnitude, power(room))))
        fits = b.and_(b.not_(state["overflow"]), b.or_(is_zero, fits), name="fits")
        scaled = b.mul(magnitude, power(k))
        result = b.select(state["negative"], b.sub(ir.Constant(i128, 0), scaled), scaled)
        result = b.select(b.and_(fits, is_zero), ir.Constant(i128, 0), result)
        return result, b.and_(s_valid, b.and_(ok, fits), name="valid")
    return emit
