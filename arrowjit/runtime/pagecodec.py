"""The native Parquet page decoder: one call decodes a whole column chunk.

A count or a filter over a Parquet file spends most of its time in the
reader, not the kernel: pyarrow copies each column chunk out of the file,
decompresses it page by page, decodes the definition levels and copies the
values into an array builder. For a flat fixed-width column (INT32, INT64,
FLOAT, DOUBLE) this module does the same work in one native function over
the chunk's bytes: a PLAIN page without nulls is decompressed straight into
its rows of the output; other pages are decompressed into a scratch buffer
and their values copied, or gathered from the dictionary, to their rows.

Streaming (a non-null ``sink``), ``out`` holds one page: each page is
decoded there and handed over while it is still in the core's cache, to
the filter kernel (which counts the rows it keeps) or to a pick of the rows
a selection bitmap holds; a page without a selected row is not even
decompressed. Nothing the size of the chunk is written.

What it reads (``parquet.thrift``; pyarrow's, DuckDB's and polars' writers)::

    column chunk = [dictionary page] data page ...            (index pages are skipped)
    page         = PageHeader (Thrift compact protocol) + compressed_page_size bytes of body
    PageHeader   = {1: type, 2: uncompressed_page_size, 3: compressed_page_size,
                    5: DataPageHeader {1: num_values, 2: encoding, 3: def_level_encoding, 4: rep_...},
                    7: DictionaryPageHeader {1: num_values, 2: encoding},
                    8: DataPageHeaderV2 {1: num_values, 2: num_nulls, 3: num_rows, 4: encoding,
                                         5: def_levels_byte_length, 6: rep_levels_byte_length,
                                         7: is_compressed}}
    DATA_PAGE body (all of it compressed):   [u32 length, definition levels] values
    DATA_PAGE_V2 body: definition levels (never compressed), values (compressed if is_compressed)
    levels:  RLE/bit-packed hybrid of bit width 1 (1: a value, 0: a null), one a row
    values:  the non-null rows' only; PLAIN: little-endian, back to back; *_DICTIONARY: a
             bit-width byte, then the hybrid stream of dictionary indices
    hybrid:  runs with a ULEB128 header h: h even: h/2 copies of one value (ceil(width/8) bytes);
             h odd: h/2 groups of 8 values bit-packed, least significant bit first
    codecs:  UNCOMPRESSED and SNAPPY (a varint length, then literal and copy elements)

Anything else (another codec or encoding, a list in a page header, a
damaged chunk) stops the call with a :class:`Status` naming why, and the
caller reads the chunk with pyarrow instead. Every position is checked
against its buffer before it is read or written: the chunk comes from a
file, and a file may be anything.

C equivalent of ``decode_chunk_64`` (the helpers are the functions of this module and of
:mod:`.parquet_format`; the IR is written with :mod:`.irwriter`)::

    int64_t decode_chunk_64(const uint8_t *chunk, int64_t size, int64_t rows, int64_t codec,
                            int64_t optional, uint8_t *scratch, int64_t scratch_size,
                            uint8_t *dict, int64_t dict_size, uint64_t *out, uint8_t *validity,
                            int64_t *info) {
        int64_t pos = 0, done = 0, dict_count = -1, null_count = 0;
        while (done < rows) {
            int64_t fields[64]; uint8_t kinds[64];             // 16 fields each of 4 structs
            int64_t header = page_header(chunk + pos, size - pos, fields, kinds);
            if (header < 0) return header;
            const uint8_t *body = chunk + pos + header;       // checked against size
            switch (fields[TYPE]) {
            case DICTIONARY_PAGE:
                snappy(body, fields[COMPRESSED], dict, fields[UNCOMPRESSED]);
                dict_count = fields[DICT_VALUES];
                break;
            case DATA_PAGE:                                   // and DATA_PAGE_V2 alike
                const uint8_t *page = snappy(body, ..., scratch, ...);
                int64_t nulls = optional ? n - levels(page, ..., validity, done) : 0;
                uint64_t *values = out + done + nulls;        // the page's last rows
                if (encoding == PLAIN) memcpy(values, page + levels_size, 8 * (n - nulls));
                else dictionary_values_64(page + levels_size, ..., dict, dict_count, values);
                if (nulls) spread(out + done, n, validity, done);  // each value to its row
                if (sink) kept += sink->kernel ? sink->kernel(..., 0, n, ...)  // streaming: out
                                               : pick(out, n, sink->selection, done, ...);
                done += n; null_count += nulls;
            }
            pos += header + fields[COMPRESSED];
        }
        info[2] = null_count;
        return OK;
    }
"""

from __future__ import annotations

import enum

from llvmlite import ir

from .irwriter import I1, I8, I32, I64, PTR, Function, FunctionPointer, const, cttz
from .parquet_format import (
    DATA_PAGE,
    DATA_PAGE_V2,
    DICTIONARY_PAGE,
    INDEX_PAGE,
    MAX_HEADER_BYTES,
    PLAIN,
    PLAIN_DICTIONARY,
    RLE,
    RLE_DICTIONARY,
    SLOTS,
    Status,
    Thrift,
    dictionary_values,
    levels,
    page_header,
    set_bit,
    slot,
    snappy,
    snappy_literal_length,
    snappy_preamble,
)

__all__ = ["Codec", "Status", "SINK_SLOTS", "HEADROOM", "build"]


class Codec(enum.IntEnum):
    """The codecs the decoder itself decompresses."""

    UNCOMPRESSED = 0
    SNAPPY = 1


# A streaming call's sink: pointers to what it hands each page to (null where not used).
SINK_SLOTS = ("kernel", "buffers", "offsets", "params", "bitmap",  # a filter kernel that counts the page
              "selection", "picked", "picked_validity")  # the chunk's selected rows, kept as decoded
HEADROOM = 64  # writable bytes before ``out``: a page decoded in place puts its levels there


def _snappy_prefix(f: Function, body: ir.Value, size: ir.Value, optional: ir.Value) -> ir.Value:
    """The bytes before the values in a v1 page compressed by snappy: 0 for a required column,
    4 + the levels' length for an optional one, read from the stream's first element when it is a
    literal of at least 4 bytes (as every writer makes it); HEADROOM + 1 (too many) otherwise."""
    b = f.b
    before = f.var("before", b.select(f.eq(optional, 0), const(0), const(HEADROOM + 1)))
    with b.if_then(b.icmp_unsigned("!=", optional, const(0))):
        ip = f.var("peek", 0)
        f.varint(body, ip, size, "peek_length", Status.TRUNCATED)
        with b.if_then(f.ult(f.get(ip), size)):
            tag = f.byte(body, f.get(ip), "first_tag")
            short = b.add(b.lshr(tag, const(2)), const(1), name="short_literal")
            extra = b.select(f.ult(const(60), short), b.sub(short, const(60)), const(0))
            start = b.add(b.add(f.get(ip), const(1)), extra, name="literal_start")
            long_enough = b.or_(f.ule(const(4), short), f.ult(const(0), extra))
            with b.if_then(b.and_(b.and_(f.eq(b.and_(tag, const(3)), 0), long_enough),
                                  f.ule(b.add(start, const(4)), size))):
                length = b.zext(f.load(body, start, I32), I64, name="peeked_levels_length")
                f.set(before, b.add(b.select(f.ult(length, HEADROOM), length, const(HEADROOM)), const(4)))
    return f.get(before, "before_values")


def _selection_word(f: Function, selection: ir.Value, first: ir.Value, base: ir.Value,
                    n: ir.Value) -> ir.Value:
    """The selection's bits of a page's rows ``[base, base + 64)`` (the page's row 0 is the chunk's
    ``first``), none past the page's ``n`` rows. (The bitmap has 9 bytes to spare.)"""
    b = f.b
    bit = b.add(first, base)
    byte = b.lshr(bit, const(3))
    shift = b.and_(bit, const(7))
    low = b.lshr(f.load(selection, byte, I64), shift)
    next_byte = b.zext(f.load(selection, b.add(byte, const(8)), I8), I64)
    high = b.select(f.eq(shift, 0), const(0), b.shl(next_byte, b.sub(const(64), shift)))
    left = b.sub(n, base)
    mask = b.select(f.ult(left, 64), b.sub(b.shl(const(1), left), const(1)), const(-1))
    return b.and_(b.or_(low, high), mask, name="selection_word")


def _selected_rows(module: ir.Module) -> ir.Function:
    """``selected_rows(selection, first, n) -> count``: how many bits of ``[first, first + n)`` are set."""
    f = Function(module, "selected_rows", [("selection", PTR), ("first", I64), ("n", I64)], internal=True)
    b = f.b
    selection, first, n = f.args()
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    base = f.var("base", 0)
    count = f.var("count", 0)
    with f.while_("words", lambda: f.ult(f.get(base), n)):
        f.add_to(count, b.call(ctpop, [_selection_word(f, selection, first, f.get(base), n)]))
        f.add_to(base, 64)
    b.ret(f.get(count))
    return f.fn


def _pick(module: ir.Module, value: ir.IntType) -> ir.Function:
    """``pick_<bits>(values, validity, n, selection, first, picked, picked_validity, k) -> k``: the
    rows of a page (``n`` values at ``values``, its chunk rows from ``first``) whose bit is set in
    ``selection``, appended to ``picked`` from position ``k`` (validity too, when not null).

    The selected rows come from a :class:`_SelectionCursor` (a word of the selection at a time,
    ``cttz`` for each set bit).
    """
    f = Function(module, f"pick_{value.width}",
                 [("values", PTR), ("validity", PTR), ("n", I64), ("selection", PTR), ("first", I64),
                  ("picked", PTR), ("picked_validity", PTR), ("k", I64)], internal=True)
    b = f.b
    values, validity, n, selection, first, picked, picked_validity, k_start = f.args()
    k = f.var("k", k_start)
    cursor = _SelectionCursor(f, selection, first, n)
    with f.while_("picks", lambda: f.ult(f.get(cursor.row), n)):
        row = f.get(cursor.row, "picked_row")
        item = b.load(b.gep(values, [row], source_etype=value), typ=value)
        b.store(item, b.gep(picked, [f.get(k)], source_etype=value))
        with b.if_then(b.icmp_unsigned("!=", picked_validity, ir.Constant(PTR, None))):
            byte = b.load(b.gep(validity, [b.lshr(row, const(3))], source_etype=I8), typ=I8)
            bit = b.and_(b.lshr(b.zext(byte, I64), b.and_(row, const(7))), const(1))
            set_bit(f, picked_validity, f.get(k), bit)
        f.add_to(k, 1)
        cursor.advance()
    b.ret(f.get(k))
    return f.fn


class _SelectionCursor:
    """Emits a walk over the set bits of a selection bitmap, a 64-row word at a time: ``row`` is
    the current selected row of the page (``n`` once there is none left)."""

    def __init__(self, f: Function, selection: ir.Value, first: ir.Value, n: ir.Value) -> None:
        self.f, self.selection, self.first, self.n = f, selection, first, n
        self.cttz = cttz(f.module)
        self.base = f.var("cursor_base", 0)
        self.bits = f.var("cursor_bits", self._word(const(0)))
        self.row = f.var("cursor_row", 0)
        self.advance()

    def _word(self, base: ir.Value) -> ir.Value:
        return _selection_word(self.f, self.selection, self.first, base, self.n)

    def advance(self) -> None:
        """``row`` = the next selected row (``n`` when there is none), its bit then cleared."""
        f, b = self.f, self.f.b
        def exhausted() -> ir.Value:
            return b.and_(f.eq(f.get(self.bits), 0), f.ult(f.get(self.base), self.n))

        with f.while_("empty_words", exhausted):
            f.add_to(self.base, 64)
            with b.if_then(f.ult(f.get(self.base), self.n)):
                f.set(self.bits, self._word(f.get(self.base)))
        bits = f.get(self.bits)
        found = b.add(f.get(self.base), b.call(self.cttz, [bits, ir.Constant(I1, 1)]))
        f.set(self.row, b.select(f.eq(bits, 0), self.n, found))
        f.set(self.bits, b.and_(bits, b.sub(bits, const(1))))


FALLBACK = 1  # pick_literals: the stream is not literals only (or a value straddles two): decompress
LITERAL_RATIO = 128  # a page's selected values are taken from snappy literals below 1 row in this many


def _pick_literals(module: ir.Module, value: ir.IntType, levels: ir.Function) -> ir.Function:
    """``pick_literals_<bits>(src, size, expected, skip, n, selection, first, picked, picked_validity,
    k, validity) -> Status | FALLBACK``: a page's selected values taken straight from its snappy
    stream, never decompressed, when the stream is literals only (incompressible values: a few
    literals of up to 64 KB a page).

    The page's output would be ``skip`` bytes of definition levels (checked all valid, into
    ``validity``) and ``n`` values; each selected value is copied from where its bytes lie in a
    literal. FALLBACK (nothing taken: ``*k`` unchanged) at a copy element, a value across two
    literals, or a null; a damaged stream gives the Status snappy() would.
    """
    f = Function(module, f"pick_literals_{value.width}",
                 [("src", PTR), ("size", I64), ("expected", I64), ("skip", I64), ("n", I64),
                  ("selection", PTR), ("first", I64), ("picked", PTR), ("picked_validity", PTR),
                  ("k", PTR), ("validity", PTR)], internal=True)
    b = f.b
    src, size, expected, skip, n, selection, first, picked, picked_validity, k_out, validity = f.args()
    width = value.width // 8
    fallback = const(FALLBACK)
    ip = f.var("ip", 0)
    op = f.var("op", 0)
    k = f.var("k", b.load(k_out, typ=I64))
    cursor = _SelectionCursor(f, selection, first, n)
    row = cursor.row
    snappy_preamble(f, src, ip, size, expected)
    with f.while_("elements", lambda: f.ult(f.get(ip), size)):
        tag = f.byte(src, f.get(ip), "tag")
        f.add_to(ip, 1)
        with b.if_then(b.icmp_unsigned("!=", b.and_(tag, const(3)), const(0))):
            b.ret(fallback)  # a copy: the bytes are not all in the stream
        written = f.get(op)
        n_bytes = snappy_literal_length(f, tag, src, ip, size, expected, written)
        at = f.get(ip)
        literal = b.gep(src, [at], source_etype=I8, name="literal")
        with b.if_then(b.and_(f.eq(written, 0), b.icmp_unsigned("!=", skip, const(0)))):
            # The first literal holds the levels: [u32 length] then the RLE/bit-packed runs.
            with b.if_then(f.ult(n_bytes, skip)):
                b.ret(fallback)
            valid = b.call(levels, [b.gep(literal, [const(4)], source_etype=I8), b.sub(skip, const(4)), n,
                                    validity, const(0)], name="valid")
            f.return_unless(b.icmp_signed(">=", valid, const(0)), valid)
            with b.if_then(b.icmp_unsigned("!=", valid, n)):
                b.ret(fallback)
        end = b.add(written, n_bytes, name="literal_end")
        with f.while_("values", lambda: f.ult(f.get(row), n)) as values:
            start = b.add(skip, b.mul(f.get(row), const(width)), name="value_start")
            with b.if_then(f.ult(end, b.add(start, const(width)))):
                b.branch(values.after)  # (in a later literal)
                b.position_at_end(f.fn.append_basic_block("unreachable_after_break"))
            with b.if_then(f.ult(start, written)):
                b.ret(fallback)  # across two literals
            item = f.load(literal, b.sub(start, written), value)
            b.store(item, b.gep(picked, [f.get(k)], source_etype=value))
            with b.if_then(b.icmp_unsigned("!=", picked_validity, ir.Constant(PTR, None))):
                set_bit(f, picked_validity, f.get(k), const(1))
            f.add_to(k, 1)
            cursor.advance()
        f.add_to(ip, n_bytes)
        f.set(op, end)
    f.fail_unless(f.eq(f.get(op), expected), Status.BAD_SNAPPY)
    with b.if_then(f.ult(f.get(row), n)):
        b.ret(fallback)  # (a value past the stream: the sizes said otherwise)
    b.store(f.get(k), k_out)
    b.ret(const(int(Status.OK)))
    return f.fn


def _decode_chunk(module: ir.Module, value: ir.IntType, page_header: ir.Function, snappy: ir.Function,
                  levels: ir.Function, dictionary_values: ir.Function, pick: ir.Function,
                  selected_rows: ir.Function, pick_literals: ir.Function) -> ir.Function:
    """``decode_chunk_<bits>``: see the module's docstring."""
    f = Function(module, f"decode_chunk_{value.width}",
                 [("chunk", PTR), ("size", I64), ("rows", I64), ("codec", I64), ("optional", I64),
                  ("scratch", PTR), ("scratch_size", I64), ("dict_buffer", PTR), ("dict_size", I64),
                  ("out", PTR), ("validity", PTR), ("capacity", I64), ("sink", PTR), ("info", PTR)])
    b = f.b
    (chunk, size, rows, codec, optional, scratch, scratch_size, dict_buffer, dict_size, out, validity,
     capacity, sink, info) = f.args()
    null_count = f.var("null_count", 0)
    kept = f.var("kept", 0)
    streaming = b.icmp_unsigned("!=", sink, ir.Constant(PTR, None), name="streaming")
    null = ir.Constant(PTR, None)

    def sink_slot(k: int) -> ir.Value:
        """Slot ``k`` of the sink (null when not streaming): see SINK_SLOTS."""
        with b.if_else(streaming) as (given, not_given):
            with given:
                item = b.load(b.gep(sink, [const(k)], source_etype=PTR), typ=PTR, name=SINK_SLOTS[k])
                given_block = b.block
            with not_given:
                not_given_block = b.block
        merged = b.phi(PTR, name=f"{SINK_SLOTS[k]}_or_null")
        merged.add_incoming(item, given_block)
        merged.add_incoming(null, not_given_block)
        return merged

    page_selected = f.var("page_selected", 0)  # (picking: the page's selected rows)
    kernel, buffers, offsets, params, bitmap, selection, picked, picked_validity = (
        sink_slot(k) for k in range(len(SINK_SLOTS)))
    width = value.width // 8
    f.fail_unless(f.ule(codec, int(Codec.SNAPPY)), Status.UNSUPPORTED_PAGE)
    fields = f.array("fields", I64, SLOTS)
    kinds = f.array("kinds", I8, SLOTS)
    pos = f.var("pos", 0)
    done = f.var("done", 0)
    dictionary = f.var("dictionary", ir.Constant(PTR, None), PTR)
    dictionary_count = f.var("dictionary_count", -1)
    memset = module.declare_intrinsic("llvm.memset", [PTR, I64])
    saved = f.array("saved", I8, HEADROOM)  # the bytes before a page decoded in place

    def first_row() -> ir.Value:
        """Where the page's first row goes in ``out`` and ``validity``: its row in the chunk, or
        streaming, 0 (each page in turn)."""
        return b.select(streaming, const(0), f.get(done), name="first_row")

    def check_room(n: ir.Value) -> None:
        """Streaming, before a page of ``n`` rows is decoded: a page too long for ``out`` asks for
        more room; a page none of whose rows is selected is skipped (never decompressed)."""
        with b.if_then(streaming):
            with b.if_then(f.ult(capacity, n)):
                b.store(n, b.gep(info, [const(3)], source_etype=I64))
                b.ret(const(int(Status.NEED_BUFFERS)))
        f.set(page_selected, const(0))
        with b.if_then(b.icmp_unsigned("!=", selection, null)):
            f.set(page_selected, b.call(selected_rows, [selection, f.get(done), n]))
            with b.if_then(f.eq(f.get(page_selected), 0)):
                f.add_to(done, n)
                b.branch(pages.head)
                b.position_at_end(b.append_basic_block("unreachable_after_skip"))

    def hand_over(n: ir.Value) -> None:
        """Streaming, the page's ``n`` rows are decoded at the start of ``out``: with a kernel,
        ``kept += kernel(buffers, offsets, params, 0, n, bitmap)``; with a selection, its rows of
        the page are appended to ``picked`` (``kept`` of them so far)."""
        with b.if_then(b.icmp_unsigned("!=", kernel, null)):
            callee = FunctionPointer(kernel, ir.FunctionType(I64, [PTR, PTR, PTR, I64, I64, PTR]))
            counted = b.call(callee, [buffers, offsets, params, const(0), n, bitmap], name="kept_in_page")
            f.add_to(kept, counted)
        with b.if_then(b.icmp_unsigned("!=", selection, null)):
            f.set(kept, b.call(pick, [out, validity, n, selection, f.get(done), picked, picked_validity,
                                      f.get(kept)], name="picked_so_far"))

    def picked_from_literals(stream: ir.Value, stream_size: ir.Value, size_: ir.Value, skip: ir.Value,
                             n: ir.Value, possible: ir.Value) -> None:
        """Picking a few rows from a PLAIN page without nulls: take the selected values straight
        from the snappy stream when it is literals only, and go on to the next page (see
        pick_literals). Past one row in LITERAL_RATIO, scattered loads from the stream cost more
        than decompressing it (measured)."""
        sparse = f.ult(b.mul(f.get(page_selected), const(LITERAL_RATIO)), n)
        with b.if_then(b.and_(b.and_(possible, sparse), b.icmp_unsigned("!=", selection, null))):
            arguments = [stream, stream_size, size_, skip, n, selection, f.get(done), picked, picked_validity,
                         kept, validity]
            status = b.call(pick_literals, arguments, name="picked_from_literals")
            f.return_unless(b.icmp_signed(">=", status, const(0)), status)
            with b.if_then(f.eq(status, int(Status.OK))):
                f.add_to(done, n)
                b.branch(pages.head)
                b.position_at_end(b.append_basic_block("unreachable_after_page"))

    def field(struct_field: int | None, number: int) -> ir.Value:
        """A required i32 field, in [0, 2**31)."""
        index = slot(struct_field, number)
        kind = b.load(b.gep(kinds, [const(index)], source_etype=I8), typ=I8)
        item = b.load(b.gep(fields, [const(index)], source_etype=I64), typ=I64,
                      name=f"field_{struct_field}_{number}")
        f.fail_unless(b.and_(f.eq(kind, int(Thrift.I32)), f.ult(item, 1 << 31)), Status.BAD_HEADER)
        return item

    def decompress(body: ir.Value, compressed: ir.Value, size_: ir.Value, to: ir.Value, room: ir.Value,
                   is_compressed: ir.Value, need: int) -> ir.Value:
        """The page's bytes: ``body`` itself when stored uncompressed, else decoded into ``to``."""
        where = f.var("page", body, PTR)
        stored = b.or_(b.not_(is_compressed), f.eq(codec, int(Codec.UNCOMPRESSED)))
        f.fail_unless(b.or_(b.not_(stored), f.eq(compressed, size_)), Status.BAD_HEADER)
        with b.if_then(b.not_(stored)):
            with b.if_then(f.ult(room, size_)):
                b.store(size_, b.gep(info, [const(need)], source_etype=I64))
                b.ret(const(int(Status.NEED_BUFFERS)))
            status = b.call(snappy, [body, compressed, to, size_])
            f.return_unless(f.eq(status, 0), status)
            f.set(where, to)
        return f.get(where, "page_bytes")

    def values(page: ir.Value, available: ir.Value, n: ir.Value, encoding: ir.Value,
               nulls: ir.Value) -> None:
        """The page's ``n - nulls`` values at ``page`` into its rows of ``out`` (see spread)."""
        target = b.gep(out, [b.add(first_row(), nulls)], source_etype=value, name="target")
        n = b.sub(n, nulls, name="values")
        with b.if_else(f.eq(encoding, PLAIN)) as (plain, encoded):
            with plain:
                nbytes = b.mul(n, const(width))
                f.fail_unless(f.ule(nbytes, available), Status.TRUNCATED)
                f.memcpy(target, page, nbytes)
            with encoded:
                f.fail_unless(b.or_(f.eq(encoding, PLAIN_DICTIONARY), f.eq(encoding, RLE_DICTIONARY)),
                              Status.UNSUPPORTED_PAGE)
                count = f.get(dictionary_count)
                f.fail_unless(b.icmp_signed(">=", count, const(0)), Status.BAD_DICTIONARY)
                status = b.call(dictionary_values, [page, available, n, f.get(dictionary), count, target])
                f.return_unless(f.eq(status, 0), status)
        with b.if_then(b.icmp_unsigned("!=", nulls, const(0))):
            spread(b.add(n, nulls), nulls)

    def optional_levels(page_levels: ir.Value, levels_size: ir.Value, n: ir.Value) -> ir.Value:
        """The page's definition levels into ``validity``; how many of its ``n`` rows are nulls."""
        nulls = f.var("page_nulls", 0)
        with b.if_then(b.icmp_unsigned("!=", optional, const(0))):
            valid = b.call(levels, [page_levels, levels_size, n, validity, first_row()], name="valid")
            f.return_unless(b.icmp_signed(">=", valid, const(0)), valid)
            f.set(nulls, b.sub(n, valid))
        return f.get(nulls, "nulls")

    def spread(n: ir.Value, nulls: ir.Value) -> None:
        """Move the page's ``n - nulls`` values, written at the end of its rows, to the valid rows
        (a null's row gets 0). Each value moves forward or stays, so in place, front to back."""
        row = f.var("row", 0)
        taken = f.var("taken", b.add(first_row(), nulls))
        with f.while_("spread", lambda: f.ult(f.get(row), n)):
            at = b.add(first_row(), f.get(row))
            bit = b.and_(b.lshr(b.load(b.gep(validity, [b.lshr(at, const(3))], source_etype=I8), typ=I8),
                                b.trunc(b.and_(at, const(7)), I8)), const(1, I8))
            is_valid = b.trunc(bit, I1)
            item = b.load(b.gep(out, [f.get(taken)], source_etype=value), typ=value)
            b.store(b.select(is_valid, item, ir.Constant(value, 0)), b.gep(out, [at], source_etype=value))
            f.add_to(taken, b.zext(bit, I64))
            f.add_to(row, 1)
        f.add_to(null_count, nulls)

    true = ir.Constant(I1, 1)
    with f.while_("pages", lambda: f.ult(f.get(done), rows)) as pages:
        b.call(memset, [kinds, const(0, I8), const(SLOTS), ir.Constant(I1, 0)])
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        left = b.sub(size, p)
        limit = b.select(f.ult(left, MAX_HEADER_BYTES), left, const(MAX_HEADER_BYTES))
        header_size = b.call(page_header, [b.gep(chunk, [p], source_etype=I8), limit, fields, kinds])
        f.return_unless(b.icmp_signed(">=", header_size, const(0)), header_size)
        page_type = field(None, 1)
        uncompressed = field(None, 2)
        compressed = field(None, 3)
        start = b.add(p, header_size, name="body_start")
        f.fail_unless(f.ule(compressed, b.sub(size, start)), Status.TRUNCATED)
        f.set(pos, b.add(start, compressed))
        body = b.gep(chunk, [start], source_etype=I8, name="body")
        data_v1, dictionary_page, data_v2 = (f.fn.append_basic_block(n)
                                             for n in ("data_page", "dictionary_page", "data_page_v2"))
        unsupported = f.fn.append_basic_block("unsupported_page")
        switch = b.switch(page_type, unsupported)
        switch.add_case(const(DATA_PAGE), data_v1)
        switch.add_case(const(INDEX_PAGE), pages.head)
        switch.add_case(const(DICTIONARY_PAGE), dictionary_page)
        switch.add_case(const(DATA_PAGE_V2), data_v2)
        b.position_at_end(unsupported)
        b.ret(const(int(Status.UNSUPPORTED_PAGE)))

        b.position_at_end(dictionary_page)  # before any data page, at most one
        f.fail_unless(b.and_(b.icmp_signed("<", f.get(dictionary_count), const(0)), f.eq(f.get(done), 0)),
                      Status.BAD_DICTIONARY)
        count = field(7, 1)
        encoding = field(7, 2)
        f.fail_unless(b.or_(f.eq(encoding, PLAIN), f.eq(encoding, PLAIN_DICTIONARY)), Status.UNSUPPORTED_PAGE)
        page = decompress(body, compressed, uncompressed, dict_buffer, dict_size, true, 1)
        f.fail_unless(f.ule(b.mul(count, const(width)), uncompressed), Status.TRUNCATED)
        f.set(dictionary, page)
        f.set(dictionary_count, count)
        b.branch(pages.head)

        b.position_at_end(data_v1)  # levels and values, compressed together
        n = field(5, 1)
        encoding = field(5, 2)
        level_encoding = field(5, 3)
        field(5, 4)
        f.fail_unless(f.ule(n, b.sub(rows, f.get(done))), Status.COUNT_MISMATCH)
        check_room(n)
        with b.if_then(b.icmp_unsigned("!=", optional, const(0))):
            f.fail_unless(f.eq(level_encoding, RLE), Status.UNSUPPORTED_PAGE)
        target = b.gep(out, [first_row()], source_etype=value, name="target")
        before = _snappy_prefix(f, body, compressed, optional)
        exact = f.eq(uncompressed, b.add(before, b.mul(n, const(width))))
        plain_snappy = b.and_(f.eq(codec, int(Codec.SNAPPY)), f.eq(encoding, PLAIN))
        picked_from_literals(body, compressed, uncompressed, before, n,
                             b.and_(plain_snappy, b.and_(f.ule(before, HEADROOM), exact)))
        direct = b.and_(b.and_(f.eq(codec, int(Codec.SNAPPY)), f.eq(encoding, PLAIN)),
                        b.and_(f.ule(before, HEADROOM), exact))
        with b.if_else(direct) as (in_place, through_scratch):
            with in_place:  # decoded where its values go; the levels before them overwrite HEADROOM bytes
                start_at = b.gep(target, [b.sub(const(0), before)], source_etype=I8, name="levels_at")
                b.call(f.memcpy_intrinsic(), [saved, start_at, before, ir.Constant(I1, 0)])
                status = b.call(snappy, [body, compressed, start_at, uncompressed])
                f.return_unless(f.eq(status, 0), status)
                with b.if_then(b.icmp_unsigned("!=", before, const(0))):
                    page_levels = b.gep(start_at, [const(4)], source_etype=I8)
                    # (as many values as rows: a null would contradict the page's size)
                    nulls = optional_levels(page_levels, b.sub(before, const(4)), n)
                    f.fail_unless(f.eq(nulls, 0), Status.BAD_HYBRID)
                b.call(f.memcpy_intrinsic(), [start_at, saved, before, ir.Constant(I1, 0)])
            with through_scratch:
                page = decompress(body, compressed, uncompressed, scratch, scratch_size, true, 0)
                skip = f.var("levels_bytes", 0)
                nulls = f.var("nulls", 0)
                with b.if_then(b.icmp_unsigned("!=", optional, const(0))):
                    f.fail_unless(f.ule(const(4), uncompressed), Status.TRUNCATED)
                    length = b.zext(f.load(page, const(0), I32), I64, name="levels_length")
                    f.fail_unless(f.ule(length, b.sub(uncompressed, const(4))), Status.TRUNCATED)
                    f.set(nulls, optional_levels(b.gep(page, [const(4)], source_etype=I8), length, n))
                    f.set(skip, b.add(length, const(4)))
                values(b.gep(page, [f.get(skip)], source_etype=I8), b.sub(uncompressed, f.get(skip)), n,
                       encoding, f.get(nulls))
        hand_over(n)
        f.add_to(done, n)
        b.branch(pages.head)

        b.position_at_end(data_v2)  # levels stored as they are, then the values
        n = field(8, 1)
        nulls = field(8, 2)
        page_rows = field(8, 3)
        encoding = field(8, 4)
        levels_size = field(8, 5)
        repetition_size = field(8, 6)
        flag_kind = b.load(b.gep(kinds, [const(slot(8, 7))], source_etype=I8), typ=I8)
        flag = b.load(b.gep(fields, [const(slot(8, 7))], source_etype=I64), typ=I64)
        f.fail_unless(f.ule(flag_kind, int(Thrift.BOOL_FALSE)), Status.BAD_HEADER)  # absent (true) or a bool
        is_compressed = b.or_(f.eq(flag_kind, 0), f.eq(flag, 1))
        f.fail_unless(b.and_(f.eq(repetition_size, 0), f.eq(page_rows, n)), Status.UNSUPPORTED_PAGE)
        f.fail_unless(f.ule(n, b.sub(rows, f.get(done))), Status.COUNT_MISMATCH)
        check_room(n)
        f.fail_unless(b.and_(f.ule(levels_size, compressed), f.ule(levels_size, uncompressed)),
                      Status.TRUNCATED)
        with b.if_then(f.eq(optional, 0)):
            f.fail_unless(b.and_(f.eq(levels_size, 0), f.eq(nulls, 0)), Status.BAD_HEADER)
        f.fail_unless(f.eq(optional_levels(body, levels_size, n), nulls), Status.BAD_HYBRID)
        rest = b.gep(body, [levels_size], source_etype=I8)
        rest_size = b.sub(uncompressed, levels_size)
        literals_only = b.and_(b.and_(f.eq(codec, int(Codec.SNAPPY)), f.eq(encoding, PLAIN)),
                               b.and_(b.and_(is_compressed, f.eq(nulls, 0)),
                                      f.eq(rest_size, b.mul(n, const(width)))))
        picked_from_literals(rest, b.sub(compressed, levels_size), rest_size, const(0), n, literals_only)
        page = decompress(rest, b.sub(compressed, levels_size), rest_size, scratch, scratch_size,
                          is_compressed, 0)
        values(page, rest_size, n, encoding, nulls)
        hand_over(n)
        f.add_to(done, n)
        b.branch(pages.head)
    b.store(f.get(null_count), b.gep(info, [const(2)], source_etype=I64))
    b.store(f.get(kept), b.gep(info, [const(4)], source_etype=I64))
    b.ret(const(int(Status.OK)))
    return f.fn


def build(module: ir.Module, bits: int) -> None:
    """Add ``decode_chunk_<bits>`` (values of 32 or 64 bits) and its helpers to ``module``."""
    value = ir.IntType(bits)
    definition_levels = levels(module)
    _decode_chunk(module, value, page_header(module), snappy(module), definition_levels,
                  dictionary_values(module, value), _pick(module, value), _selected_rows(module),
                  _pick_literals(module, value, definition_levels))
