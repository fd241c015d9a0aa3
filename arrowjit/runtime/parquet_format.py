"""Parquet's page-level formats as LLVM IR, each bounds-checked against its buffer: Thrift
compact page headers, snappy, and the RLE/bit-packed hybrid (definition levels, dictionary indices).
:mod:`.pagecodec` builds its page loop from them; see its docstring for the formats' layout.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from llvmlite import ir

from .irwriter import I1, I8, I16, I32, I64, PTR, Function, const

# Parquet's enums (parquet.thrift).
DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
PLAIN, PLAIN_DICTIONARY, RLE, RLE_DICTIONARY = 0, 2, 3, 8


class Status(enum.IntEnum):
    """What ``decode_chunk_*`` returns: OK, a buffer to grow, or why the chunk goes to pyarrow."""

    OK = 0
    # info[0], info[1], info[3]: the scratch and dictionary bytes, streaming the rows a page needs;
    # after OK, info[2]: the nulls, info[4]: streaming, the rows the kernel kept.
    NEED_BUFFERS = 1
    TRUNCATED = -1  # a header, a page or a stream runs past its bytes
    BAD_HEADER = -2  # a page header without its required fields, or with values out of range
    UNSUPPORTED_THRIFT = -3  # a list, set, map or unknown type in a page header, or nesting too deep
    UNSUPPORTED_PAGE = -4  # a page type, encoding or codec this decoder does not read
    BAD_SNAPPY = -5  # a snappy stream that does not decode to its page's size
    BAD_HYBRID = -6  # an RLE/bit-packed run longer than its page, or a level above 1
    BAD_DICTIONARY = -7  # indices without a dictionary, one past its end, a second dictionary
    COUNT_MISMATCH = -8  # the pages hold more or fewer values than the row group


# The page header's fields as page_header() leaves them: struct k (0: PageHeader, 1: its field 5,
# 2: field 7, 3: field 8), field id f (1..15) at slot 16 * k + f, its Thrift compact type in kinds.
_STRUCTS = {5: 1, 7: 2, 8: 3}
SLOTS = 64
MAX_THRIFT_DEPTH = 8
MAX_HEADER_BYTES = 1 << 16


def slot(struct_field: int | None, field: int) -> int:
    """The slot of ``field`` of the PageHeader (``struct_field`` None) or of its struct field."""
    return 16 * (0 if struct_field is None else _STRUCTS[struct_field]) + field


class Thrift(enum.IntEnum):
    """The compact protocol's types, as a field header's low nibble gives them."""

    BOOL_TRUE = 1  # (a bool field's value is its type)
    BOOL_FALSE = 2
    BYTE = 3
    I16 = 4
    I32 = 5
    I64 = 6
    DOUBLE = 7
    BINARY = 8
    LIST = 9
    SET = 10
    MAP = 11
    STRUCT = 12


def _zigzag(f: Function, raw: ir.Value) -> ir.Value:
    b = f.b
    return b.xor(b.lshr(raw, const(1)), b.sub(const(0), b.and_(raw, const(1))))


def page_header(module: ir.Module) -> ir.Function:
    """``page_header(data, size, fields, kinds) -> bytes read | Status``: one PageHeader.

    A Thrift compact struct is a list of fields ended by a 0 byte; a field
    header byte holds the field id's delta (high nibble; 0: a zigzag varint
    id follows) and its type (low nibble). Fields of the PageHeader and of
    its three page-type structs are kept (slot 16 * struct + id); other
    structs (statistics) are skipped, as are binaries and doubles. Lists,
    sets and maps never appear in a page header this decoder reads and stop
    it (UNSUPPORTED_THRIFT).
    """
    f = Function(module, "page_header", [("data", PTR), ("size", I64), ("fields", PTR), ("kinds", PTR)],
                 internal=True)
    b = f.b
    data, size, fields, kinds = f.args()
    last = f.array("last_id", I64, MAX_THRIFT_DEPTH)
    pos = f.var("pos", 0)
    depth = f.var("depth", 0)
    struct = f.var("struct", 0)  # which kept struct depth 1 is (0: one to skip)
    b.store(const(0), last)
    with f.loop("fields") as (next_field, _):
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        header = f.byte(data, p, "field_header")
        f.set(pos, b.add(p, const(1)))
        kind = b.and_(header, const(15), name="kind")
        d = f.get(depth, "d")
        stop = f.fn.append_basic_block("stop")
        field = f.fn.append_basic_block("field")
        b.cbranch(f.eq(kind, 0), stop, field)

        b.position_at_end(stop)  # the end of a struct: of the header itself at depth 0
        end_of_header = f.fn.append_basic_block("end_of_header")
        pop = f.fn.append_basic_block("pop")
        b.cbranch(f.eq(d, 0), end_of_header, pop)
        b.position_at_end(end_of_header)
        b.ret(f.get(pos))
        b.position_at_end(pop)
        f.set(depth, b.sub(d, const(1)))
        b.branch(next_field)

        b.position_at_end(field)
        last_slot = b.gep(last, [d], source_etype=I64)
        delta = b.lshr(header, const(4), name="delta")
        field_id = f.var("field_id", b.add(b.load(last_slot, typ=I64), delta))
        with b.if_then(f.eq(delta, 0)):
            f.set(field_id, _zigzag(f, f.varint(data, pos, size, "long_id", Status.TRUNCATED)))
        field_id = f.get(field_id, "id")
        b.store(field_id, last_slot)
        in_header = f.eq(d, 0)
        in_kept = b.and_(f.eq(d, 1), b.icmp_unsigned("!=", f.get(struct), const(0)))
        keep = b.and_(b.or_(in_header, in_kept), b.and_(f.ult(const(0), field_id), f.ult(field_id, 16)))
        which = b.select(in_header, const(0), f.get(struct))
        index = b.add(b.shl(which, const(4)), b.and_(field_id, const(15)), name="slot")
        value = f.var("value", 0)

        def keep_value() -> None:
            with b.if_then(keep):
                b.store(f.get(value), b.gep(fields, [index], source_etype=I64))
                b.store(b.trunc(kind, I8), b.gep(kinds, [index], source_etype=I8))

        blocks = {name: f.fn.append_basic_block(name) for name in ("bool", "byte", "int", "double", "binary",
                                                                   "struct", "unsupported_type")}
        switch = b.switch(kind, blocks["unsupported_type"])  # (list, set, map, or no type at all)
        handled = {Thrift.BOOL_TRUE: "bool", Thrift.BOOL_FALSE: "bool", Thrift.BYTE: "byte",
                   Thrift.I16: "int", Thrift.I32: "int", Thrift.I64: "int", Thrift.DOUBLE: "double",
                   Thrift.BINARY: "binary", Thrift.STRUCT: "struct"}
        for thrift_type, block in handled.items():
            switch.add_case(const(int(thrift_type)), blocks[block])

        b.position_at_end(blocks["unsupported_type"])
        b.ret(const(int(Status.UNSUPPORTED_THRIFT)))

        b.position_at_end(blocks["bool"])  # the value is the type
        f.set(value, b.zext(f.eq(kind, int(Thrift.BOOL_TRUE)), I64))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["byte"])
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        f.set(value, f.byte(data, p))
        f.set(pos, b.add(p, const(1)))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["int"])  # i16, i32, i64: a zigzag varint
        f.set(value, _zigzag(f, f.varint(data, pos, size, "int", Status.TRUNCATED)))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["double"])  # 8 bytes
        p = f.get(pos)
        f.fail_unless(f.ule(const(8), b.sub(size, p)), Status.TRUNCATED)
        f.set(pos, b.add(p, const(8)))
        b.branch(next_field)

        b.position_at_end(blocks["binary"])  # a varint length, then its bytes
        length = f.varint(data, pos, size, "binary_length", Status.TRUNCATED)
        p = f.get(pos)
        f.fail_unless(f.ule(length, b.sub(size, p)), Status.TRUNCATED)
        f.set(pos, b.add(p, length))
        b.branch(next_field)

        b.position_at_end(blocks["struct"])  # one level deeper
        f.fail_unless(f.ult(d, MAX_THRIFT_DEPTH - 1), Status.UNSUPPORTED_THRIFT)
        f.set(value, const(0))
        keep_value()
        with b.if_then(in_header):
            kept = const(0)
            for field_number, struct_index in _STRUCTS.items():
                kept = b.select(f.eq(field_id, field_number), const(struct_index), kept)
            f.set(struct, kept)
        deeper = b.add(d, const(1))
        b.store(const(0), b.gep(last, [deeper], source_etype=I64))
        f.set(depth, deeper)
        b.branch(next_field)
    b.unreachable()  # (the loop only ends by returning)
    return f.fn


def _move(f: Function, to: ir.Value, source: ir.Value, at: ir.Value, size: int) -> None:
    """Copy ``size`` bytes (16 or 8) from ``source + at`` to ``to + at``: one unaligned load and store."""
    piece = ir.VectorType(I8, 16) if size == 16 else I64
    value = f.load(source, at, piece)
    store = f.b.store(value, f.b.gep(to, [at], source_etype=I8))
    store.align = 1


def snappy_preamble(f: Function, src: ir.Value, ip: ir.AllocaInstr, size: ir.Value,
                    expected: ir.Value) -> None:
    """A snappy stream's first varint, the length it decodes to: it must be ``expected``."""
    decoded_length = f.varint(src, ip, size, "decoded_length", Status.TRUNCATED)
    f.fail_unless(f.eq(decoded_length, expected), Status.BAD_SNAPPY)


def snappy_literal_length(f: Function, tag: ir.Value, src: ir.Value, ip: ir.AllocaInstr, size: ir.Value,
                          expected: ir.Value, written: ir.Value) -> ir.Value:
    """The length of the literal whose ``tag`` was just read: ``(tag >> 2) + 1``, or past 60, 1 to 4
    more bytes of length - 1 (``ip`` moves past them); its bytes are checked to be in the stream at
    ``ip`` and to fit the output after ``written`` bytes."""
    b = f.b
    length = f.var("length", b.add(b.lshr(tag, const(2)), const(1)))
    with b.if_then(b.icmp_unsigned(">", f.get(length), const(60))):
        extra = b.sub(f.get(length), const(60), name="length_bytes")
        f.fail_unless(f.ule(extra, b.sub(size, f.get(ip))), Status.BAD_SNAPPY)
        f.set(length, b.add(f.little_endian(src, f.get(ip), extra, "long_length"), const(1)))
        f.add_to(ip, extra)
    n = f.get(length, "literal_length")
    f.fail_unless(b.and_(f.ule(n, b.sub(size, f.get(ip))), f.ule(n, b.sub(expected, written))),
                  Status.BAD_SNAPPY)
    return n


def snappy(module: ir.Module) -> ir.Function:
    """``snappy(src, size, dst, expected) -> Status``: a snappy stream decoding to exactly
    ``expected`` bytes.

    The stream is a varint of its decoded length, then elements, each a tag
    byte whose low two bits say what it is: 0 a literal (its length - 1 in
    the tag's high six bits, or in the 1-4 bytes after it), 1-3 a copy of
    earlier output (length and offset in the tag and 1, 2 or 4 more bytes).
    """
    f = Function(module, "snappy", [("src", PTR), ("size", I64), ("dst", PTR), ("expected", I64)],
                 internal=True)
    b = f.b
    src, size, dst, expected = f.args()
    ip = f.var("ip", 0)
    op = f.var("op", 0)
    snappy_preamble(f, src, ip, size, expected)
    with f.while_("elements", lambda: f.ult(f.get(ip), size)) as elements:
        tag = f.byte(src, f.get(ip), "tag")
        f.add_to(ip, 1)
        kind = b.and_(tag, const(3), name="element")
        length = f.var("length", 0)
        offset = f.var("offset", 0)
        literal, copy1, copy2, copy4 = (f.fn.append_basic_block(n) for n in ("literal", "copy1", "copy2",
                                                                               "copy4"))
        copy = f.fn.append_basic_block("copy")
        switch = b.switch(kind, literal)
        for k, block in ((1, copy1), (2, copy2), (3, copy4)):
            switch.add_case(const(k), block)

        b.position_at_end(literal)
        n = snappy_literal_length(f, tag, src, ip, size, expected, f.get(op))
        to, source = b.gep(dst, [f.get(op)], source_etype=I8), b.gep(src, [f.get(ip)], source_etype=I8)
        short = b.and_(f.ule(n, 16), b.and_(f.ule(const(16), b.sub(size, f.get(ip))),
                                            f.ule(const(16), b.sub(expected, f.get(op)))))
        with b.if_else(short) as (sixteen, long_literal):
            with sixteen:  # (the bytes past n are written again by what follows)
                _move(f, to, source, const(0), 16)
            with long_literal:
                f.memcpy(to, source, n)
        f.add_to(ip, n)
        f.add_to(op, n)
        b.branch(elements.head)

        for block, extra, read in ((copy1, 1, None), (copy2, 2, I16), (copy4, 4, I32)):
            b.position_at_end(block)
            p = f.get(ip)
            f.fail_unless(f.ule(const(extra), b.sub(size, p)), Status.BAD_SNAPPY)
            if read is None:  # length 4-11 in bits 2-4, offset's high 3 bits in 5-7, low 8 next
                f.set(length, b.add(b.and_(b.lshr(tag, const(2)), const(7)), const(4)))
                f.set(offset, b.or_(b.shl(b.lshr(tag, const(5)), const(8)), f.byte(src, p)))
            else:
                f.set(length, b.add(b.lshr(tag, const(2)), const(1)))
                f.set(offset, b.zext(f.load(src, p, read), I64))
            f.set(ip, b.add(p, const(extra)))
            b.branch(copy)

        b.position_at_end(copy)  # offset bytes back, possibly overlapping what it writes
        n, back, o = f.get(length, "copy_length"), f.get(offset, "copy_offset"), f.get(op)
        f.fail_unless(b.and_(b.and_(f.ult(const(0), back), f.ule(back, o)), f.ule(n, b.sub(expected, o))),
                      Status.BAD_SNAPPY)
        to = b.gep(dst, [o], source_etype=I8)
        source = b.gep(dst, [b.sub(o, back)], source_etype=I8)
        room = b.sub(expected, o, name="room")
        done_copying = f.fn.append_basic_block("copied")
        # The common short copy (at most 16 bytes from 8 or more back): two 8-byte pieces, the
        # second reading what the first wrote when the source is less than 16 bytes back.
        short, not_short = f.fn.append_basic_block("short_copy"), f.fn.append_basic_block("not_short")
        fits = b.and_(b.and_(f.ule(n, 16), f.ule(const(8), back)), f.ule(const(16), room))
        b.cbranch(fits, short, not_short)
        b.position_at_end(short)
        _move(f, to, source, const(0), 8)
        _move(f, to, source, const(8), 8)
        b.branch(done_copying)
        b.position_at_end(not_short)
        # Whole 16- or 8-byte pieces when the source is at least that far back (each piece then
        # reads bytes written before it) and the output has room for the last piece's excess.
        for piece in (16, 8):
            whole = b.and_(f.ult(const(piece - 1), back),
                           f.ule(b.and_(b.add(n, const(piece - 1)), const(-piece)), room))
            pieces, other = f.fn.append_basic_block(f"pieces_{piece}"), f.fn.append_basic_block("not_pieces")
            b.cbranch(whole, pieces, other)
            b.position_at_end(pieces)
            k = f.var(f"k{piece}", 0)
            with f.while_(f"copy_{piece}", lambda k=k: f.ult(f.get(k), n)):
                _move(f, to, source, f.get(k), piece)
                f.add_to(k, piece)
            b.branch(done_copying)
            b.position_at_end(other)
        with b.if_else(f.ule(n, back)) as (apart, overlapping):
            with apart:
                f.memcpy(to, source, n)
            with overlapping:  # a run: byte by byte, each copying one written just before
                k = f.var("k", 0)
                with f.while_("run", lambda: f.ult(f.get(k), n)):
                    byte = f.load(source, f.get(k), I8)
                    b.store(byte, b.gep(to, [f.get(k)], source_etype=I8))
                    f.add_to(k, 1)
        b.branch(done_copying)
        b.position_at_end(done_copying)
        f.add_to(op, n)
    f.fail_unless(f.eq(f.get(op), expected), Status.BAD_SNAPPY)
    b.ret(const(int(Status.OK)))
    return f.fn


def hybrid(f: Function, data: ir.Value, size: ir.Value, count: ir.Value, bit_width: ir.Value,
           repeated: Callable[[ir.Value, ir.Value, ir.Value], None],
           packed: Callable[[ir.Value, ir.Value], None]) -> None:
    """Emit the walk over an RLE/bit-packed hybrid stream of ``count`` values of ``bit_width`` bits:
    ``repeated(first, n, value)`` for a run of one value, ``packed(position, value)`` for each
    bit-packed one.

    A run may not give more values than are left, except the last group of a
    bit-packed run, padded to 8 values, or a bit-packed run whose bytes are all
    there (DuckDB pads its runs to 256 values; pyarrow reads those and only
    those); each run's bytes are checked against ``size`` before any is read.
    """
    b = f.b
    pos = f.var("hybrid_pos", 0)
    done = f.var("hybrid_done", 0)
    value_bytes = b.lshr(b.add(bit_width, const(7)), const(3), name="value_bytes")
    mask = b.sub(b.shl(const(1), bit_width), const(1), name="value_mask")
    with f.while_("runs", lambda: f.ult(f.get(done), count)):
        header = f.varint(data, pos, size, "run_header", Status.TRUNCATED)
        left = b.sub(count, f.get(done), name="left")
        with b.if_else(f.eq(b.and_(header, const(1)), 0)) as (is_repeated, is_packed):
            with is_repeated:
                n = b.lshr(header, const(1), name="repeats")
                f.fail_unless(b.and_(f.ult(const(0), n), f.ule(n, left)), Status.BAD_HYBRID)
                f.fail_unless(f.ule(value_bytes, b.sub(size, f.get(pos))), Status.TRUNCATED)
                value = f.little_endian(data, f.get(pos), value_bytes, "repeated_value")
                f.add_to(pos, value_bytes)
                repeated(f.get(done), n, value)
                f.add_to(done, n)
            with is_packed:
                groups = b.lshr(header, const(1), name="groups")
                values = b.shl(groups, const(3), name="packed_values")
                whole_run_here = f.ule(b.mul(groups, bit_width), b.sub(size, f.get(pos)))
                f.fail_unless(b.and_(b.and_(f.ult(const(0), groups), f.ult(groups, 1 << 40)),
                                     b.or_(f.ult(values, b.add(left, const(8))), whole_run_here)),
                              Status.BAD_HYBRID)
                used = b.select(f.ult(values, left), values, left, name="used")
                run = b.gep(data, [f.get(pos)], source_etype=I8, name="run")
                available = b.sub(size, f.get(pos), name="available")
                used_bytes = b.lshr(b.add(b.mul(used, bit_width), const(7)), const(3))
                f.fail_unless(f.ule(used_bytes, available), Status.TRUNCATED)
                j = f.var("j", 0)
                with f.while_("packed", lambda: f.ult(f.get(j), used)):
                    bit = b.mul(f.get(j), bit_width)
                    first = b.lshr(bit, const(3), name="first_byte")
                    word = f.var("word", 0)
                    with b.if_else(f.ule(b.add(first, const(8)), available)) as (whole, tail):
                        with whole:  # eight bytes from the value's first one
                            f.set(word, f.load(run, first, I64))
                        with tail:  # the run's last bytes, one at a time
                            f.set(word, f.little_endian(run, first, b.sub(available, first), "tail"))
                    value = b.and_(b.lshr(f.get(word), b.and_(bit, const(7))), mask, name="unpacked")
                    packed(b.add(f.get(done), f.get(j)), value)
                    f.add_to(j, 1)
                full_bytes = b.mul(groups, bit_width)  # the run's bytes, padding included
                f.add_to(pos, b.select(f.ult(full_bytes, available), full_bytes, available))
                f.add_to(done, used)


def set_bit(f: Function, bitmap: ir.Value, bit: ir.Value, value: ir.Value) -> None:
    """Set bit ``bit`` of ``bitmap`` (least significant first) to ``value`` (0 or 1)."""
    b = f.b
    address = b.gep(bitmap, [b.lshr(bit, const(3))], source_etype=I8)
    shift = b.trunc(b.and_(bit, const(7)), I8)
    byte = b.load(address, typ=I8)
    cleared = b.and_(byte, b.not_(b.shl(const(1, I8), shift)))
    b.store(b.or_(cleared, b.shl(b.trunc(value, I8), shift)), address)


def set_bits(f: Function, bitmap: ir.Value, first: ir.Value, count: ir.Value, value: ir.Value) -> None:
    """Set bits ``[first, first + count)`` to ``value`` (0 or 1): bit by bit up to a byte boundary,
    whole bytes, then the last bits."""
    b = f.b
    bit = f.var("bit", first)
    end = b.add(first, count, name="bits_end")
    def unaligned() -> ir.Value:
        return b.and_(f.ult(f.get(bit), end), b.icmp_unsigned("!=", b.and_(f.get(bit), const(7)), const(0)))

    with f.while_("head_bits", unaligned):
        set_bit(f, bitmap, f.get(bit), value)
        f.add_to(bit, 1)
    whole = b.lshr(b.sub(end, f.get(bit)), const(3), name="whole_bytes")
    memset = f.module.declare_intrinsic("llvm.memset", [PTR, I64])
    fill = b.trunc(b.mul(value, const(0xFF)), I8)
    b.call(memset, [b.gep(bitmap, [b.lshr(f.get(bit), const(3))], source_etype=I8), fill, whole,
                    ir.Constant(I1, 0)])
    f.add_to(bit, b.shl(whole, const(3)))
    with f.while_("tail_bits", lambda: f.ult(f.get(bit), end)):
        set_bit(f, bitmap, f.get(bit), value)
        f.add_to(bit, 1)


def levels(module: ir.Module) -> ir.Function:
    """``levels(data, size, count, validity, first) -> valid values | Status``: ``count`` definition
    levels of a flat optional column (bit width 1: 1 a value, 0 a null) written as bits
    ``[first, first + count)`` of the validity bitmap."""
    f = Function(module, "levels", [("data", PTR), ("size", I64), ("count", I64), ("validity", PTR),
                                     ("first", I64)], internal=True)
    b = f.b
    data, size, count, validity, first = f.args()
    valid = f.var("valid", 0)

    def repeated(start: ir.Value, n: ir.Value, value: ir.Value) -> None:
        f.fail_unless(f.ule(value, 1), Status.BAD_HYBRID)
        set_bits(f, validity, b.add(first, start), n, value)
        f.add_to(valid, b.mul(n, value))

    def packed(position: ir.Value, value: ir.Value) -> None:
        set_bit(f, validity, b.add(first, position), value)
        f.add_to(valid, value)

    hybrid(f, data, size, count, const(1), repeated, packed)
    b.ret(f.get(valid))
    return f.fn


def dictionary_values(module: ir.Module, value: ir.IntType) -> ir.Function:
    """``dictionary_values_<bits>(data, size, count, dictionary, dictionary_count, out) -> Status``:
    a bit-width byte and ``count`` hybrid-coded indices, each replaced by its dictionary value."""
    f = Function(module, f"dictionary_values_{value.width}",
                 [("data", PTR), ("size", I64), ("count", I64), ("dictionary", PTR),
                  ("dictionary_count", I64), ("out", PTR)], internal=True)
    b = f.b
    data, size, count, dictionary, dictionary_count, out = f.args()
    with b.if_then(f.eq(count, 0)):
        b.ret(const(int(Status.OK)))
    f.fail_unless(f.ult(const(0), size), Status.TRUNCATED)
    bit_width = f.byte(data, const(0), "bit_width")
    f.fail_unless(f.ule(bit_width, 32), Status.BAD_HYBRID)

    def lookup(index: ir.Value) -> ir.Value:
        f.fail_unless(f.ult(index, dictionary_count), Status.BAD_DICTIONARY)
        item = b.load(b.gep(dictionary, [index], source_etype=value), typ=value, name="looked_up")
        item.align = 1  # (an uncompressed dictionary is read where it lies in the chunk)
        return item

    def repeated(first: ir.Value, n: ir.Value, index: ir.Value) -> None:
        item = lookup(index)
        k = f.var("k", 0)
        with f.while_("fill", lambda: f.ult(f.get(k), n)):
            b.store(item, b.gep(out, [b.add(first, f.get(k))], source_etype=value))
            f.add_to(k, 1)

    def packed(position: ir.Value, index: ir.Value) -> None:
        b.store(lookup(index), b.gep(out, [position], source_etype=value))

    hybrid(f, b.gep(data, [const(1)], source_etype=I8), b.sub(size, const(1)), count, bit_width,
           repeated, packed)
    b.ret(const(int(Status.OK)))
    return f.fn
