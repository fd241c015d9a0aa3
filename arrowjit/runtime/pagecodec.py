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

C equivalent of ``decode_chunk_64`` (the helpers are the functions of this module)::

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from llvmlite import ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()

# Parquet's enums (parquet.thrift).
DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
PLAIN, PLAIN_DICTIONARY, RLE, RLE_DICTIONARY = 0, 2, 3, 8


class Codec(enum.IntEnum):
    """The codecs the decoder itself decompresses."""

    UNCOMPRESSED = 0
    SNAPPY = 1


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


# A streaming call's sink: pointers to what it hands each page to (null where not used).
SINK_SLOTS = ("kernel", "buffers", "offsets", "params", "bitmap",  # a filter kernel that counts the page
              "selection", "picked", "picked_validity")  # the chunk's selected rows, kept as decoded
# The page header's fields as page_header() leaves them: struct k (0: PageHeader, 1: its field 5,
# 2: field 7, 3: field 8), field id f (1..15) at slot 16 * k + f, its Thrift compact type in kinds.
_STRUCTS = {5: 1, 7: 2, 8: 3}
SLOTS = 64
MAX_THRIFT_DEPTH = 8
MAX_HEADER_BYTES = 1 << 16
HEADROOM = 64  # writable bytes before ``out``: a page decoded in place puts its levels there


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


def _const(value: int, typ: ir.IntType = I64) -> ir.Constant:
    return ir.Constant(typ, value)


class _Function:
    """An IR function written like C: mutable locals are stack slots (LLVM's mem2reg makes them
    registers), every failed check returns its Status."""

    def __init__(self, module: ir.Module, name: str, params: list[tuple[str, ir.Type]],
                 internal: bool = False, returns: ir.Type = I64) -> None:
        self.fn = ir.Function(module, ir.FunctionType(returns, [t for _, t in params]), name)
        self.fn.attributes.add("nounwind")
        if internal:
            self.fn.linkage = "internal"
        for arg, (arg_name, _) in zip(self.fn.args, params):
            arg.name = arg_name
        self.entry = self.fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.module = module
        self._failures: dict[int, ir.Block] = {}

    def args(self) -> list[ir.Argument]:
        return list(self.fn.args)

    def var(self, name: str, init: ir.Value | int, typ: ir.Type = I64) -> ir.AllocaInstr:
        with self.b.goto_block(self.entry):
            self.b.position_at_start(self.entry)
            slot_ = self.b.alloca(typ, name=name)
        slot_.type = PTR  # (an opaque pointer, as every pointer here)
        self.b.store(init if isinstance(init, ir.Value) else _const(init, typ), slot_)
        return slot_

    def array(self, name: str, typ: ir.Type, count: int) -> ir.AllocaInstr:
        with self.b.goto_block(self.entry):
            self.b.position_at_start(self.entry)
            array = self.b.alloca(ir.ArrayType(typ, count), name=name)
        array.type = PTR
        return array

    def get(self, var: ir.AllocaInstr, name: str = "") -> ir.Value:
        return self.b.load(var, typ=var.allocated_type, name=name)

    def set(self, var: ir.AllocaInstr, value: ir.Value) -> None:
        self.b.store(value, var)

    def add_to(self, var: ir.AllocaInstr, value: ir.Value | int) -> None:
        self.set(var, self.b.add(self.get(var), value if isinstance(value, ir.Value) else _const(value)))

    def fail_unless(self, ok: ir.Value, status: Status) -> None:
        """Return ``status`` unless ``ok``."""
        block = self._failures.get(status)
        if block is None:
            block = self._failures[status] = self.fn.append_basic_block(f"fail_{status.name.lower()}")
            with self.b.goto_block(block):
                self.b.ret(_const(int(status)))
        go_on = self.fn.append_basic_block("checked")
        self.b.cbranch(ok, go_on, block)
        self.b.position_at_end(go_on)

    def return_unless(self, ok: ir.Value, value: ir.Value) -> None:
        """Return ``value`` (a status from a callee) unless ``ok``."""
        go_on = self.fn.append_basic_block("ok")
        leave = self.fn.append_basic_block("pass_on")
        self.b.cbranch(ok, go_on, leave)
        self.b.position_at_end(leave)
        self.b.ret(value)
        self.b.position_at_end(go_on)

    @contextmanager
    def loop(self, name: str) -> Iterator[tuple[ir.Block, ir.Block]]:
        """``for (;;) { body }``: yields (the loop's head, the block after it) to branch to."""
        head = self.fn.append_basic_block(name)
        after = self.fn.append_basic_block(f"{name}_end")
        self.b.branch(head)
        self.b.position_at_end(head)
        yield head, after
        if not self.b.block.is_terminated:
            self.b.branch(head)
        self.b.position_at_end(after)

    def while_(self, name: str, condition: Callable[[], ir.Value]) -> _While:
        return _While(self, name, condition)

    def load(self, base: ir.Value, offset: ir.Value, typ: ir.Type, name: str = "") -> ir.Value:
        """An unaligned little-endian load of ``typ`` at ``base + offset`` (bytes)."""
        value = self.b.load(self.b.gep(base, [offset], source_etype=I8), typ=typ, name=name)
        value.align = 1
        return value

    def byte(self, base: ir.Value, offset: ir.Value, name: str = "") -> ir.Value:
        return self.b.zext(self.load(base, offset, I8), I64, name=name)

    def ult(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("<", a, b if isinstance(b, ir.Value) else _const(b))

    def ule(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("<=", a, b if isinstance(b, ir.Value) else _const(b))

    def eq(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("==", a, b if isinstance(b, ir.Value) else _const(b, a.type))

    def varint(self, data: ir.Value, pos: ir.AllocaInstr, end: ir.Value, name: str) -> ir.Value:
        """A ULEB128 at ``data[pos]`` (at most 10 bytes, none at or past ``end``); advances ``pos``."""
        result = self.var(f"{name}_value", 0)
        shift = self.var(f"{name}_shift", 0)
        with self.loop(name) as (head, after):
            p = self.get(pos)
            self.fail_unless(self.b.and_(self.ult(p, end), self.ult(self.get(shift), 64)), Status.TRUNCATED)
            byte = self.byte(data, p)
            self.set(pos, self.b.add(p, _const(1)))
            bits = self.b.shl(self.b.and_(byte, _const(0x7F)), self.get(shift))
            self.set(result, self.b.or_(self.get(result), bits))
            self.add_to(shift, 7)
            self.b.cbranch(self.ult(byte, 0x80), after, head)
        return self.get(result, name)

    def little_endian(self, data: ir.Value, at: ir.Value, count: ir.Value, name: str) -> ir.Value:
        """The unsigned little-endian integer of the ``count`` bytes (at most 8) at ``data + at``,
        read one at a time (the caller checked they are there)."""
        b = self.b
        value = self.var(name, 0)
        k = self.var(f"{name}_byte", 0)
        with self.while_(f"{name}_bytes", lambda: self.ult(self.get(k), count)):
            byte = self.byte(data, b.add(at, self.get(k)))
            self.set(value, b.or_(self.get(value), b.shl(byte, b.shl(self.get(k), _const(3)))))
            self.add_to(k, 1)
        return self.get(value, name)

    def memcpy_intrinsic(self) -> ir.Function:
        return self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])

    def memcpy(self, dst: ir.Value, src: ir.Value, size: ir.Value) -> None:
        self.b.call(self.memcpy_intrinsic(), [dst, src, size, ir.Constant(I1, 0)])


class _FunctionPointer:
    """A function pointer loaded from memory, as a callee of ``IRBuilder.call`` (which asks its
    callee for its function type: an opaque pointer has none)."""

    def __init__(self, pointer: ir.Value, function_type: ir.FunctionType) -> None:
        self.pointer, self.function_type, self.type = pointer, function_type, pointer.type

    def get_reference(self) -> str:
        return self.pointer.get_reference()


class _While:
    """``while (condition()) { body }``, a context manager (``.head``: continue, ``.after``: break)."""

    def __init__(self, f: _Function, name: str, condition: Callable[[], ir.Value]) -> None:
        self.f, self.name, self.condition = f, name, condition

    def __enter__(self) -> _While:
        f = self.f
        self.head = f.fn.append_basic_block(self.name)
        body = f.fn.append_basic_block(f"{self.name}_body")
        self.after = f.fn.append_basic_block(f"{self.name}_end")
        f.b.branch(self.head)
        f.b.position_at_end(self.head)
        f.b.cbranch(self.condition(), body, self.after)
        f.b.position_at_end(body)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.f.b.block.is_terminated:
            self.f.b.branch(self.head)
        self.f.b.position_at_end(self.after)


def _zigzag(f: _Function, raw: ir.Value) -> ir.Value:
    b = f.b
    return b.xor(b.lshr(raw, _const(1)), b.sub(_const(0), b.and_(raw, _const(1))))


def _page_header(module: ir.Module) -> ir.Function:
    """``page_header(data, size, fields, kinds) -> bytes read | Status``: one PageHeader.

    A Thrift compact struct is a list of fields ended by a 0 byte; a field
    header byte holds the field id's delta (high nibble; 0: a zigzag varint
    id follows) and its type (low nibble). Fields of the PageHeader and of
    its three page-type structs are kept (slot 16 * struct + id); other
    structs (statistics) are skipped, as are binaries and doubles. Lists,
    sets and maps never appear in a page header this decoder reads and stop
    it (UNSUPPORTED_THRIFT).
    """
    f = _Function(module, "page_header", [("data", PTR), ("size", I64), ("fields", PTR), ("kinds", PTR)],
                  internal=True)
    b = f.b
    data, size, fields, kinds = f.args()
    last = f.array("last_id", I64, MAX_THRIFT_DEPTH)
    pos = f.var("pos", 0)
    depth = f.var("depth", 0)
    struct = f.var("struct", 0)  # which kept struct depth 1 is (0: one to skip)
    b.store(_const(0), last)
    with f.loop("fields") as (next_field, _):
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        header = f.byte(data, p, "field_header")
        f.set(pos, b.add(p, _const(1)))
        kind = b.and_(header, _const(15), name="kind")
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
        f.set(depth, b.sub(d, _const(1)))
        b.branch(next_field)

        b.position_at_end(field)
        last_slot = b.gep(last, [d], source_etype=I64)
        delta = b.lshr(header, _const(4), name="delta")
        field_id = f.var("field_id", b.add(b.load(last_slot, typ=I64), delta))
        with b.if_then(f.eq(delta, 0)):
            f.set(field_id, _zigzag(f, f.varint(data, pos, size, "long_id")))
        field_id = f.get(field_id, "id")
        b.store(field_id, last_slot)
        in_header = f.eq(d, 0)
        in_kept = b.and_(f.eq(d, 1), b.icmp_unsigned("!=", f.get(struct), _const(0)))
        keep = b.and_(b.or_(in_header, in_kept), b.and_(f.ult(_const(0), field_id), f.ult(field_id, 16)))
        which = b.select(in_header, _const(0), f.get(struct))
        index = b.add(b.shl(which, _const(4)), b.and_(field_id, _const(15)), name="slot")
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
            switch.add_case(_const(int(thrift_type)), blocks[block])

        b.position_at_end(blocks["unsupported_type"])
        b.ret(_const(int(Status.UNSUPPORTED_THRIFT)))

        b.position_at_end(blocks["bool"])  # the value is the type
        f.set(value, b.zext(f.eq(kind, int(Thrift.BOOL_TRUE)), I64))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["byte"])
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        f.set(value, f.byte(data, p))
        f.set(pos, b.add(p, _const(1)))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["int"])  # i16, i32, i64: a zigzag varint
        f.set(value, _zigzag(f, f.varint(data, pos, size, "int")))
        keep_value()
        b.branch(next_field)

        b.position_at_end(blocks["double"])  # 8 bytes
        p = f.get(pos)
        f.fail_unless(f.ule(_const(8), b.sub(size, p)), Status.TRUNCATED)
        f.set(pos, b.add(p, _const(8)))
        b.branch(next_field)

        b.position_at_end(blocks["binary"])  # a varint length, then its bytes
        length = f.varint(data, pos, size, "binary_length")
        p = f.get(pos)
        f.fail_unless(f.ule(length, b.sub(size, p)), Status.TRUNCATED)
        f.set(pos, b.add(p, length))
        b.branch(next_field)

        b.position_at_end(blocks["struct"])  # one level deeper
        f.fail_unless(f.ult(d, MAX_THRIFT_DEPTH - 1), Status.UNSUPPORTED_THRIFT)
        f.set(value, _const(0))
        keep_value()
        with b.if_then(in_header):
            kept = _const(0)
            for field_number, struct_index in _STRUCTS.items():
                kept = b.select(f.eq(field_id, field_number), _const(struct_index), kept)
            f.set(struct, kept)
        deeper = b.add(d, _const(1))
        b.store(_const(0), b.gep(last, [deeper], source_etype=I64))
        f.set(depth, deeper)
        b.branch(next_field)
    b.unreachable()  # (the loop only ends by returning)
    return f.fn


def _move(f: _Function, to: ir.Value, source: ir.Value, at: ir.Value, size: int) -> None:
    """Copy ``size`` bytes (16 or 8) from ``source + at`` to ``to + at``: one unaligned load and store."""
    piece = ir.VectorType(I8, 16) if size == 16 else I64
    value = f.load(source, at, piece)
    store = f.b.store(value, f.b.gep(to, [at], source_etype=I8))
    store.align = 1


def _snappy(module: ir.Module) -> ir.Function:
    """``snappy(src, size, dst, expected) -> Status``: a snappy stream decoding to exactly
    ``expected`` bytes.

    The stream is a varint of its decoded length, then elements, each a tag
    byte whose low two bits say what it is: 0 a literal (its length - 1 in
    the tag's high six bits, or in the 1-4 bytes after it), 1-3 a copy of
    earlier output (length and offset in the tag and 1, 2 or 4 more bytes).
    """
    f = _Function(module, "snappy", [("src", PTR), ("size", I64), ("dst", PTR), ("expected", I64)],
                  internal=True)
    b = f.b
    src, size, dst, expected = f.args()
    ip = f.var("ip", 0)
    op = f.var("op", 0)
    f.fail_unless(f.eq(f.varint(src, ip, size, "decoded_length"), expected), Status.BAD_SNAPPY)
    with f.while_("elements", lambda: f.ult(f.get(ip), size)) as elements:
        tag = f.byte(src, f.get(ip), "tag")
        f.add_to(ip, 1)
        kind = b.and_(tag, _const(3), name="element")
        length = f.var("length", 0)
        offset = f.var("offset", 0)
        literal, copy1, copy2, copy4 = (f.fn.append_basic_block(n) for n in ("literal", "copy1", "copy2",
                                                                               "copy4"))
        copy = f.fn.append_basic_block("copy")
        switch = b.switch(kind, literal)
        for k, block in ((1, copy1), (2, copy2), (3, copy4)):
            switch.add_case(_const(k), block)

        b.position_at_end(literal)
        f.set(length, b.add(b.lshr(tag, _const(2)), _const(1)))
        with b.if_then(b.icmp_unsigned(">", f.get(length), _const(60))):
            extra = b.sub(f.get(length), _const(60), name="length_bytes")  # 1 to 4 bytes of length - 1
            f.fail_unless(f.ule(extra, b.sub(size, f.get(ip))), Status.BAD_SNAPPY)
            f.set(length, b.add(f.little_endian(src, f.get(ip), extra, "long_length"), _const(1)))
            f.add_to(ip, extra)
        n = f.get(length, "literal_length")
        f.fail_unless(b.and_(f.ule(n, b.sub(size, f.get(ip))), f.ule(n, b.sub(expected, f.get(op)))),
                      Status.BAD_SNAPPY)
        to, source = b.gep(dst, [f.get(op)], source_etype=I8), b.gep(src, [f.get(ip)], source_etype=I8)
        short = b.and_(f.ule(n, 16), b.and_(f.ule(_const(16), b.sub(size, f.get(ip))),
                                            f.ule(_const(16), b.sub(expected, f.get(op)))))
        with b.if_else(short) as (sixteen, long_literal):
            with sixteen:  # (the bytes past n are written again by what follows)
                _move(f, to, source, _const(0), 16)
            with long_literal:
                f.memcpy(to, source, n)
        f.add_to(ip, n)
        f.add_to(op, n)
        b.branch(elements.head)

        for block, extra, read in ((copy1, 1, None), (copy2, 2, I16), (copy4, 4, I32)):
            b.position_at_end(block)
            p = f.get(ip)
            f.fail_unless(f.ule(_const(extra), b.sub(size, p)), Status.BAD_SNAPPY)
            if read is None:  # length 4-11 in bits 2-4, offset's high 3 bits in 5-7, low 8 next
                f.set(length, b.add(b.and_(b.lshr(tag, _const(2)), _const(7)), _const(4)))
                f.set(offset, b.or_(b.shl(b.lshr(tag, _const(5)), _const(8)), f.byte(src, p)))
            else:
                f.set(length, b.add(b.lshr(tag, _const(2)), _const(1)))
                f.set(offset, b.zext(f.load(src, p, read), I64))
            f.set(ip, b.add(p, _const(extra)))
            b.branch(copy)

        b.position_at_end(copy)  # offset bytes back, possibly overlapping what it writes
        n, back, o = f.get(length, "copy_length"), f.get(offset, "copy_offset"), f.get(op)
        f.fail_unless(b.and_(b.and_(f.ult(_const(0), back), f.ule(back, o)), f.ule(n, b.sub(expected, o))),
                      Status.BAD_SNAPPY)
        to = b.gep(dst, [o], source_etype=I8)
        source = b.gep(dst, [b.sub(o, back)], source_etype=I8)
        room = b.sub(expected, o, name="room")
        done_copying = f.fn.append_basic_block("copied")
        # The common short copy (at most 16 bytes from 8 or more back): two 8-byte pieces, the
        # second reading what the first wrote when the source is less than 16 bytes back.
        short, not_short = f.fn.append_basic_block("short_copy"), f.fn.append_basic_block("not_short")
        fits = b.and_(b.and_(f.ule(n, 16), f.ule(_const(8), back)), f.ule(_const(16), room))
        b.cbranch(fits, short, not_short)
        b.position_at_end(short)
        _move(f, to, source, _const(0), 8)
        _move(f, to, source, _const(8), 8)
        b.branch(done_copying)
        b.position_at_end(not_short)
        # Whole 16- or 8-byte pieces when the source is at least that far back (each piece then
        # reads bytes written before it) and the output has room for the last piece's excess.
        for piece in (16, 8):
            whole = b.and_(f.ult(_const(piece - 1), back),
                           f.ule(b.and_(b.add(n, _const(piece - 1)), _const(-piece)), room))
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
    b.ret(_const(int(Status.OK)))
    return f.fn


def _hybrid(f: _Function, data: ir.Value, size: ir.Value, count: ir.Value, bit_width: ir.Value,
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
    value_bytes = b.lshr(b.add(bit_width, _const(7)), _const(3), name="value_bytes")
    mask = b.sub(b.shl(_const(1), bit_width), _const(1), name="value_mask")
    with f.while_("runs", lambda: f.ult(f.get(done), count)):
        header = f.varint(data, pos, size, "run_header")
        left = b.sub(count, f.get(done), name="left")
        with b.if_else(f.eq(b.and_(header, _const(1)), 0)) as (is_repeated, is_packed):
            with is_repeated:
                n = b.lshr(header, _const(1), name="repeats")
                f.fail_unless(b.and_(f.ult(_const(0), n), f.ule(n, left)), Status.BAD_HYBRID)
                f.fail_unless(f.ule(value_bytes, b.sub(size, f.get(pos))), Status.TRUNCATED)
                value = f.little_endian(data, f.get(pos), value_bytes, "repeated_value")
                f.add_to(pos, value_bytes)
                repeated(f.get(done), n, value)
                f.add_to(done, n)
            with is_packed:
                groups = b.lshr(header, _const(1), name="groups")
                values = b.shl(groups, _const(3), name="packed_values")
                whole_run_here = f.ule(b.mul(groups, bit_width), b.sub(size, f.get(pos)))
                f.fail_unless(b.and_(b.and_(f.ult(_const(0), groups), f.ult(groups, 1 << 40)),
                                     b.or_(f.ult(values, b.add(left, _const(8))), whole_run_here)),
                              Status.BAD_HYBRID)
                used = b.select(f.ult(values, left), values, left, name="used")
                run = b.gep(data, [f.get(pos)], source_etype=I8, name="run")
                available = b.sub(size, f.get(pos), name="available")
                used_bytes = b.lshr(b.add(b.mul(used, bit_width), _const(7)), _const(3))
                f.fail_unless(f.ule(used_bytes, available), Status.TRUNCATED)
                j = f.var("j", 0)
                with f.while_("packed", lambda: f.ult(f.get(j), used)):
                    bit = b.mul(f.get(j), bit_width)
                    first = b.lshr(bit, _const(3), name="first_byte")
                    word = f.var("word", 0)
                    with b.if_else(f.ule(b.add(first, _const(8)), available)) as (whole, tail):
                        with whole:  # eight bytes from the value's first one
                            f.set(word, f.load(run, first, I64))
                        with tail:  # the run's last bytes, one at a time
                            f.set(word, f.little_endian(run, first, b.sub(available, first), "tail"))
                    value = b.and_(b.lshr(f.get(word), b.and_(bit, _const(7))), mask, name="unpacked")
                    packed(b.add(f.get(done), f.get(j)), value)
                    f.add_to(j, 1)
                full_bytes = b.mul(groups, bit_width)  # the run's bytes, padding included
                f.add_to(pos, b.select(f.ult(full_bytes, available), full_bytes, available))
                f.add_to(done, used)


def _set_bit(f: _Function, bitmap: ir.Value, bit: ir.Value, value: ir.Value) -> None:
    """Set bit ``bit`` of ``bitmap`` (least significant first) to ``value`` (0 or 1)."""
    b = f.b
    address = b.gep(bitmap, [b.lshr(bit, _const(3))], source_etype=I8)
    shift = b.trunc(b.and_(bit, _const(7)), I8)
    byte = b.load(address, typ=I8)
    cleared = b.and_(byte, b.not_(b.shl(_const(1, I8), shift)))
    b.store(b.or_(cleared, b.shl(b.trunc(value, I8), shift)), address)


def _set_bits(f: _Function, bitmap: ir.Value, first: ir.Value, count: ir.Value, value: ir.Value) -> None:
    """Set bits ``[first, first + count)`` to ``value`` (0 or 1): bit by bit up to a byte boundary,
    whole bytes, then the last bits."""
    b = f.b
    bit = f.var("bit", first)
    end = b.add(first, count, name="bits_end")
    def unaligned() -> ir.Value:
        return b.and_(f.ult(f.get(bit), end), b.icmp_unsigned("!=", b.and_(f.get(bit), _const(7)), _const(0)))

    with f.while_("head_bits", unaligned):
        _set_bit(f, bitmap, f.get(bit), value)
        f.add_to(bit, 1)
    whole = b.lshr(b.sub(end, f.get(bit)), _const(3), name="whole_bytes")
    memset = f.module.declare_intrinsic("llvm.memset", [PTR, I64])
    fill = b.trunc(b.mul(value, _const(0xFF)), I8)
    b.call(memset, [b.gep(bitmap, [b.lshr(f.get(bit), _const(3))], source_etype=I8), fill, whole,
                    ir.Constant(I1, 0)])
    f.add_to(bit, b.shl(whole, _const(3)))
    with f.while_("tail_bits", lambda: f.ult(f.get(bit), end)):
        _set_bit(f, bitmap, f.get(bit), value)
        f.add_to(bit, 1)


def _levels(module: ir.Module) -> ir.Function:
    """``levels(data, size, count, validity, first) -> valid values | Status``: ``count`` definition
    levels of a flat optional column (bit width 1: 1 a value, 0 a null) written as bits
    ``[first, first + count)`` of the validity bitmap."""
    f = _Function(module, "levels", [("data", PTR), ("size", I64), ("count", I64), ("validity", PTR),
                                     ("first", I64)], internal=True)
    b = f.b
    data, size, count, validity, first = f.args()
    valid = f.var("valid", 0)

    def repeated(start: ir.Value, n: ir.Value, value: ir.Value) -> None:
        f.fail_unless(f.ule(value, 1), Status.BAD_HYBRID)
        _set_bits(f, validity, b.add(first, start), n, value)
        f.add_to(valid, b.mul(n, value))

    def packed(position: ir.Value, value: ir.Value) -> None:
        _set_bit(f, validity, b.add(first, position), value)
        f.add_to(valid, value)

    _hybrid(f, data, size, count, _const(1), repeated, packed)
    b.ret(f.get(valid))
    return f.fn


def _dictionary_values(module: ir.Module, value: ir.IntType) -> ir.Function:
    """``dictionary_values_<bits>(data, size, count, dictionary, dictionary_count, out) -> Status``:
    a bit-width byte and ``count`` hybrid-coded indices, each replaced by its dictionary value."""
    f = _Function(module, f"dictionary_values_{value.width}",
                  [("data", PTR), ("size", I64), ("count", I64), ("dictionary", PTR),
                   ("dictionary_count", I64), ("out", PTR)], internal=True)
    b = f.b
    data, size, count, dictionary, dictionary_count, out = f.args()
    with b.if_then(f.eq(count, 0)):
        b.ret(_const(int(Status.OK)))
    f.fail_unless(f.ult(_const(0), size), Status.TRUNCATED)
    bit_width = f.byte(data, _const(0), "bit_width")
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

    _hybrid(f, b.gep(data, [_const(1)], source_etype=I8), b.sub(size, _const(1)), count, bit_width,
            repeated, packed)
    b.ret(_const(int(Status.OK)))
    return f.fn


def _snappy_prefix(f: _Function, body: ir.Value, size: ir.Value, optional: ir.Value) -> ir.Value:
    """The bytes before the values in a v1 page compressed by snappy: 0 for a required column,
    4 + the levels' length for an optional one, read from the stream's first element when it is a
    literal of at least 4 bytes (as every writer makes it); HEADROOM + 1 (too many) otherwise."""
    b = f.b
    before = f.var("before", b.select(f.eq(optional, 0), _const(0), _const(HEADROOM + 1)))
    with b.if_then(b.icmp_unsigned("!=", optional, _const(0))):
        ip = f.var("peek", 0)
        f.varint(body, ip, size, "peek_length")
        with b.if_then(f.ult(f.get(ip), size)):
            tag = f.byte(body, f.get(ip), "first_tag")
            short = b.add(b.lshr(tag, _const(2)), _const(1), name="short_literal")
            extra = b.select(f.ult(_const(60), short), b.sub(short, _const(60)), _const(0))
            start = b.add(b.add(f.get(ip), _const(1)), extra, name="literal_start")
            long_enough = b.or_(f.ule(_const(4), short), f.ult(_const(0), extra))
            with b.if_then(b.and_(b.and_(f.eq(b.and_(tag, _const(3)), 0), long_enough),
                                  f.ule(b.add(start, _const(4)), size))):
                length = b.zext(f.load(body, start, I32), I64, name="peeked_levels_length")
                f.set(before, b.add(b.select(f.ult(length, HEADROOM), length, _const(HEADROOM)), _const(4)))
    return f.get(before, "before_values")


def _selection_word(f: _Function, selection: ir.Value, bit: ir.Value) -> ir.Value:
    """The 64 bits of the bitmap ``selection`` from bit ``bit`` on (it has 9 bytes to spare)."""
    b = f.b
    byte = b.lshr(bit, _const(3))
    shift = b.and_(bit, _const(7))
    low = b.lshr(f.load(selection, byte, I64), shift)
    next_byte = b.zext(f.load(selection, b.add(byte, _const(8)), I8), I64)
    high = b.select(f.eq(shift, 0), _const(0), b.shl(next_byte, b.sub(_const(64), shift)))
    return b.or_(low, high, name="selection_word")


def _selected_rows(module: ir.Module) -> ir.Function:
    """``selected_rows(selection, first, n) -> count``: how many bits of ``[first, first + n)`` are set."""
    f = _Function(module, "selected_rows", [("selection", PTR), ("first", I64), ("n", I64)], internal=True)
    b = f.b
    selection, first, n = f.args()
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    base = f.var("base", 0)
    count = f.var("count", 0)
    with f.while_("words", lambda: f.ult(f.get(base), n)):
        left = b.sub(n, f.get(base))
        word = _selection_word(f, selection, b.add(first, f.get(base)))
        mask = b.select(f.ult(left, 64), b.sub(b.shl(_const(1), left), _const(1)), _const(-1))
        f.add_to(count, b.call(ctpop, [b.and_(word, mask)]))
        f.add_to(base, 64)
    b.ret(f.get(count))
    return f.fn


def _cttz(module: ir.Module) -> ir.Function:
    """``llvm.cttz.i64(value, zero is poison)``, declared once (llvmlite's declare_intrinsic leaves
    out the flag)."""
    found = module.globals.get("llvm.cttz.i64")
    if found is None:
        found = ir.Function(module, ir.FunctionType(I64, [I64, I1]), "llvm.cttz.i64")
    return found


def _pick(module: ir.Module, value: ir.IntType) -> ir.Function:
    """``pick_<bits>(values, validity, n, selection, first, picked, picked_validity, k) -> k``: the
    rows of a page (``n`` values at ``values``, its chunk rows from ``first``) whose bit is set in
    ``selection``, appended to ``picked`` from position ``k`` (validity too, when not null).

    Per 64 rows: the selection's word, then one copy per set bit (``cttz``, clear the lowest).
    """
    f = _Function(module, f"pick_{value.width}",
                  [("values", PTR), ("validity", PTR), ("n", I64), ("selection", PTR), ("first", I64),
                   ("picked", PTR), ("picked_validity", PTR), ("k", I64)], internal=True)
    b = f.b
    values, validity, n, selection, first, picked, picked_validity, k_start = f.args()
    cttz = _cttz(module)
    k = f.var("k", k_start)
    base = f.var("base", 0)
    with f.while_("words", lambda: f.ult(f.get(base), n)):
        left = b.sub(n, f.get(base))
        word = _selection_word(f, selection, b.add(first, f.get(base)))
        mask = b.select(f.ult(left, 64), b.sub(b.shl(_const(1), left), _const(1)), _const(-1))
        bits = f.var("bits", b.and_(word, mask))
        with f.while_("set_bits", lambda: b.icmp_unsigned("!=", f.get(bits), _const(0))):
            w = f.get(bits)
            row = b.add(f.get(base), b.call(cttz, [w, ir.Constant(I1, 1)]), name="picked_row")
            item = b.load(b.gep(values, [row], source_etype=value), typ=value)
            b.store(item, b.gep(picked, [f.get(k)], source_etype=value))
            with b.if_then(b.icmp_unsigned("!=", picked_validity, ir.Constant(PTR, None))):
                byte = b.load(b.gep(validity, [b.lshr(row, _const(3))], source_etype=I8), typ=I8)
                bit = b.and_(b.lshr(b.zext(byte, I64), b.and_(row, _const(7))), _const(1))
                _set_bit(f, picked_validity, f.get(k), bit)
            f.add_to(k, 1)
            f.set(bits, b.and_(w, b.sub(w, _const(1))))
        f.add_to(base, 64)
    b.ret(f.get(k))
    return f.fn


class _SelectionCursor:
    """Emits a walk over the set bits of a selection bitmap, a 64-row word at a time: ``row`` is
    the current selected row of the page (``n`` once there is none left)."""

    def __init__(self, f: _Function, selection: ir.Value, first: ir.Value, n: ir.Value) -> None:
        self.f, self.selection, self.first, self.n = f, selection, first, n
        self.cttz = _cttz(f.module)
        self.base = f.var("cursor_base", 0)
        self.bits = f.var("cursor_bits", self._word(_const(0)))
        self.row = f.var("cursor_row", 0)
        self.advance()

    def _word(self, base: ir.Value) -> ir.Value:
        f, b = self.f, self.f.b
        left = b.sub(self.n, base)
        word = _selection_word(f, self.selection, b.add(self.first, base))
        mask = b.select(f.ult(left, 64), b.sub(b.shl(_const(1), left), _const(1)), _const(-1))
        return b.and_(word, mask)

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
        f.set(self.bits, b.and_(bits, b.sub(bits, _const(1))))


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
    f = _Function(module, f"pick_literals_{value.width}",
                  [("src", PTR), ("size", I64), ("expected", I64), ("skip", I64), ("n", I64),
                   ("selection", PTR), ("first", I64), ("picked", PTR), ("picked_validity", PTR),
                   ("k", PTR), ("validity", PTR)], internal=True)
    b = f.b
    src, size, expected, skip, n, selection, first, picked, picked_validity, k_out, validity = f.args()
    width = value.width // 8
    fallback = _const(FALLBACK)
    ip = f.var("ip", 0)
    op = f.var("op", 0)
    k = f.var("k", b.load(k_out, typ=I64))
    cursor = _SelectionCursor(f, selection, first, n)
    row = cursor.row
    f.fail_unless(f.eq(f.varint(src, ip, size, "decoded_length"), expected), Status.BAD_SNAPPY)
    with f.while_("elements", lambda: f.ult(f.get(ip), size)):
        tag = f.byte(src, f.get(ip), "tag")
        f.add_to(ip, 1)
        with b.if_then(b.icmp_unsigned("!=", b.and_(tag, _const(3)), _const(0))):
            b.ret(fallback)  # a copy: the bytes are not all in the stream
        length = f.var("length", b.add(b.lshr(tag, _const(2)), _const(1)))
        with b.if_then(b.icmp_unsigned(">", f.get(length), _const(60))):
            extra = b.sub(f.get(length), _const(60), name="length_bytes")
            f.fail_unless(f.ule(extra, b.sub(size, f.get(ip))), Status.BAD_SNAPPY)
            f.set(length, b.add(f.little_endian(src, f.get(ip), extra, "long_length"), _const(1)))
            f.add_to(ip, extra)
        n_bytes = f.get(length, "literal_length")
        at, written = f.get(ip), f.get(op)
        f.fail_unless(b.and_(f.ule(n_bytes, b.sub(size, at)), f.ule(n_bytes, b.sub(expected, written))),
                      Status.BAD_SNAPPY)
        literal = b.gep(src, [at], source_etype=I8, name="literal")
        with b.if_then(b.and_(f.eq(written, 0), b.icmp_unsigned("!=", skip, _const(0)))):
            # The first literal holds the levels: [u32 length] then the RLE/bit-packed runs.
            with b.if_then(f.ult(n_bytes, skip)):
                b.ret(fallback)
            valid = b.call(levels, [b.gep(literal, [_const(4)], source_etype=I8), b.sub(skip, _const(4)), n,
                                    validity, _const(0)], name="valid")
            f.return_unless(b.icmp_signed(">=", valid, _const(0)), valid)
            with b.if_then(b.icmp_unsigned("!=", valid, n)):
                b.ret(fallback)
        end = b.add(written, n_bytes, name="literal_end")
        with f.while_("values", lambda: f.ult(f.get(row), n)) as values:
            start = b.add(skip, b.mul(f.get(row), _const(width)), name="value_start")
            with b.if_then(f.ult(end, b.add(start, _const(width)))):
                b.branch(values.after)  # (in a later literal)
                b.position_at_end(f.fn.append_basic_block("unreachable_after_break"))
            with b.if_then(f.ult(start, written)):
                b.ret(fallback)  # across two literals
            item = f.load(literal, b.sub(start, written), value)
            b.store(item, b.gep(picked, [f.get(k)], source_etype=value))
            with b.if_then(b.icmp_unsigned("!=", picked_validity, ir.Constant(PTR, None))):
                _set_bit(f, picked_validity, f.get(k), _const(1))
            f.add_to(k, 1)
            cursor.advance()
        f.add_to(ip, n_bytes)
        f.set(op, end)
    f.fail_unless(f.eq(f.get(op), expected), Status.BAD_SNAPPY)
    with b.if_then(f.ult(f.get(row), n)):
        b.ret(fallback)  # (a value past the stream: the sizes said otherwise)
    b.store(f.get(k), k_out)
    b.ret(_const(int(Status.OK)))
    return f.fn


def _decode_chunk(module: ir.Module, value: ir.IntType, page_header: ir.Function, snappy: ir.Function,
                  levels: ir.Function, dictionary_values: ir.Function, pick: ir.Function,
                  selected_rows: ir.Function, pick_literals: ir.Function) -> ir.Function:
    """``decode_chunk_<bits>``: see the module's docstring."""
    f = _Function(module, f"decode_chunk_{value.width}",
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
                item = b.load(b.gep(sink, [_const(k)], source_etype=PTR), typ=PTR, name=SINK_SLOTS[k])
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
        return b.select(streaming, _const(0), f.get(done), name="first_row")

    def check_room(n: ir.Value) -> None:
        """Streaming, before a page of ``n`` rows is decoded: a page too long for ``out`` asks for
        more room; a page none of whose rows is selected is skipped (never decompressed)."""
        with b.if_then(streaming):
            with b.if_then(f.ult(capacity, n)):
                b.store(n, b.gep(info, [_const(3)], source_etype=I64))
                b.ret(_const(int(Status.NEED_BUFFERS)))
        f.set(page_selected, _const(0))
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
            callee = _FunctionPointer(kernel, ir.FunctionType(I64, [PTR, PTR, PTR, I64, I64, PTR]))
            counted = b.call(callee, [buffers, offsets, params, _const(0), n, bitmap], name="kept_in_page")
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
        sparse = f.ult(b.mul(f.get(page_selected), _const(LITERAL_RATIO)), n)
        with b.if_then(b.and_(b.and_(possible, sparse), b.icmp_unsigned("!=", selection, null))):
            arguments = [stream, stream_size, size_, skip, n, selection, f.get(done), picked, picked_validity,
                         kept, validity]
            status = b.call(pick_literals, arguments, name="picked_from_literals")
            f.return_unless(b.icmp_signed(">=", status, _const(0)), status)
            with b.if_then(f.eq(status, int(Status.OK))):
                f.add_to(done, n)
                b.branch(pages.head)
                b.position_at_end(b.append_basic_block("unreachable_after_page"))

    def field(struct_field: int | None, number: int) -> ir.Value:
        """A required i32 field, in [0, 2**31)."""
        index = slot(struct_field, number)
        kind = b.load(b.gep(kinds, [_const(index)], source_etype=I8), typ=I8)
        item = b.load(b.gep(fields, [_const(index)], source_etype=I64), typ=I64,
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
                b.store(size_, b.gep(info, [_const(need)], source_etype=I64))
                b.ret(_const(int(Status.NEED_BUFFERS)))
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
                nbytes = b.mul(n, _const(width))
                f.fail_unless(f.ule(nbytes, available), Status.TRUNCATED)
                f.memcpy(target, page, nbytes)
            with encoded:
                f.fail_unless(b.or_(f.eq(encoding, PLAIN_DICTIONARY), f.eq(encoding, RLE_DICTIONARY)),
                              Status.UNSUPPORTED_PAGE)
                count = f.get(dictionary_count)
                f.fail_unless(b.icmp_signed(">=", count, _const(0)), Status.BAD_DICTIONARY)
                status = b.call(dictionary_values, [page, available, n, f.get(dictionary), count, target])
                f.return_unless(f.eq(status, 0), status)
        with b.if_then(b.icmp_unsigned("!=", nulls, _const(0))):
            spread(b.add(n, nulls), nulls)

    def optional_levels(page_levels: ir.Value, levels_size: ir.Value, n: ir.Value) -> ir.Value:
        """The page's definition levels into ``validity``; how many of its ``n`` rows are nulls."""
        nulls = f.var("page_nulls", 0)
        with b.if_then(b.icmp_unsigned("!=", optional, _const(0))):
            valid = b.call(levels, [page_levels, levels_size, n, validity, first_row()], name="valid")
            f.return_unless(b.icmp_signed(">=", valid, _const(0)), valid)
            f.set(nulls, b.sub(n, valid))
        return f.get(nulls, "nulls")

    def spread(n: ir.Value, nulls: ir.Value) -> None:
        """Move the page's ``n - nulls`` values, written at the end of its rows, to the valid rows
        (a null's row gets 0). Each value moves forward or stays, so in place, front to back."""
        row = f.var("row", 0)
        taken = f.var("taken", b.add(first_row(), nulls))
        with f.while_("spread", lambda: f.ult(f.get(row), n)):
            at = b.add(first_row(), f.get(row))
            bit = b.and_(b.lshr(b.load(b.gep(validity, [b.lshr(at, _const(3))], source_etype=I8), typ=I8),
                                b.trunc(b.and_(at, _const(7)), I8)), _const(1, I8))
            is_valid = b.trunc(bit, I1)
            item = b.load(b.gep(out, [f.get(taken)], source_etype=value), typ=value)
            b.store(b.select(is_valid, item, ir.Constant(value, 0)), b.gep(out, [at], source_etype=value))
            f.add_to(taken, b.zext(bit, I64))
            f.add_to(row, 1)
        f.add_to(null_count, nulls)

    true = ir.Constant(I1, 1)
    with f.while_("pages", lambda: f.ult(f.get(done), rows)) as pages:
        b.call(memset, [kinds, _const(0, I8), _const(SLOTS), ir.Constant(I1, 0)])
        p = f.get(pos)
        f.fail_unless(f.ult(p, size), Status.TRUNCATED)
        left = b.sub(size, p)
        limit = b.select(f.ult(left, MAX_HEADER_BYTES), left, _const(MAX_HEADER_BYTES))
        header_size = b.call(page_header, [b.gep(chunk, [p], source_etype=I8), limit, fields, kinds])
        f.return_unless(b.icmp_signed(">=", header_size, _const(0)), header_size)
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
        switch.add_case(_const(DATA_PAGE), data_v1)
        switch.add_case(_const(INDEX_PAGE), pages.head)
        switch.add_case(_const(DICTIONARY_PAGE), dictionary_page)
        switch.add_case(_const(DATA_PAGE_V2), data_v2)
        b.position_at_end(unsupported)
        b.ret(_const(int(Status.UNSUPPORTED_PAGE)))

        b.position_at_end(dictionary_page)  # before any data page, at most one
        f.fail_unless(b.and_(b.icmp_signed("<", f.get(dictionary_count), _const(0)), f.eq(f.get(done), 0)),
                      Status.BAD_DICTIONARY)
        count = field(7, 1)
        encoding = field(7, 2)
        f.fail_unless(b.or_(f.eq(encoding, PLAIN), f.eq(encoding, PLAIN_DICTIONARY)), Status.UNSUPPORTED_PAGE)
        page = decompress(body, compressed, uncompressed, dict_buffer, dict_size, true, 1)
        f.fail_unless(f.ule(b.mul(count, _const(width)), uncompressed), Status.TRUNCATED)
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
        with b.if_then(b.icmp_unsigned("!=", optional, _const(0))):
            f.fail_unless(f.eq(level_encoding, RLE), Status.UNSUPPORTED_PAGE)
        target = b.gep(out, [first_row()], source_etype=value, name="target")
        before = _snappy_prefix(f, body, compressed, optional)
        exact = f.eq(uncompressed, b.add(before, b.mul(n, _const(width))))
        plain_snappy = b.and_(f.eq(codec, int(Codec.SNAPPY)), f.eq(encoding, PLAIN))
        picked_from_literals(body, compressed, uncompressed, before, n,
                             b.and_(plain_snappy, b.and_(f.ule(before, HEADROOM), exact)))
        direct = b.and_(b.and_(f.eq(codec, int(Codec.SNAPPY)), f.eq(encoding, PLAIN)),
                        b.and_(f.ule(before, HEADROOM), exact))
        with b.if_else(direct) as (in_place, through_scratch):
            with in_place:  # decoded where its values go; the levels before them overwrite HEADROOM bytes
                start_at = b.gep(target, [b.sub(_const(0), before)], source_etype=I8, name="levels_at")
                b.call(f.memcpy_intrinsic(), [saved, start_at, before, ir.Constant(I1, 0)])
                status = b.call(snappy, [body, compressed, start_at, uncompressed])
                f.return_unless(f.eq(status, 0), status)
                with b.if_then(b.icmp_unsigned("!=", before, _const(0))):
                    page_levels = b.gep(start_at, [_const(4)], source_etype=I8)
                    # (as many values as rows: a null would contradict the page's size)
                    nulls = optional_levels(page_levels, b.sub(before, _const(4)), n)
                    f.fail_unless(f.eq(nulls, 0), Status.BAD_HYBRID)
                b.call(f.memcpy_intrinsic(), [start_at, saved, before, ir.Constant(I1, 0)])
            with through_scratch:
                page = decompress(body, compressed, uncompressed, scratch, scratch_size, true, 0)
                skip = f.var("levels_bytes", 0)
                nulls = f.var("nulls", 0)
                with b.if_then(b.icmp_unsigned("!=", optional, _const(0))):
                    f.fail_unless(f.ule(_const(4), uncompressed), Status.TRUNCATED)
                    length = b.zext(f.load(page, _const(0), I32), I64, name="levels_length")
                    f.fail_unless(f.ule(length, b.sub(uncompressed, _const(4))), Status.TRUNCATED)
                    f.set(nulls, optional_levels(b.gep(page, [_const(4)], source_etype=I8), length, n))
                    f.set(skip, b.add(length, _const(4)))
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
        flag_kind = b.load(b.gep(kinds, [_const(slot(8, 7))], source_etype=I8), typ=I8)
        flag = b.load(b.gep(fields, [_const(slot(8, 7))], source_etype=I64), typ=I64)
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
                                      f.eq(rest_size, b.mul(n, _const(width)))))
        picked_from_literals(rest, b.sub(compressed, levels_size), rest_size, _const(0), n, literals_only)
        page = decompress(rest, b.sub(compressed, levels_size), rest_size, scratch, scratch_size,
                          is_compressed, 0)
        values(page, rest_size, n, encoding, nulls)
        hand_over(n)
        f.add_to(done, n)
        b.branch(pages.head)
    b.store(f.get(null_count), b.gep(info, [_const(2)], source_etype=I64))
    b.store(f.get(kept), b.gep(info, [_const(4)], source_etype=I64))
    b.ret(_const(int(Status.OK)))
    return f.fn


def build(module: ir.Module, bits: int) -> None:
    """Add ``decode_chunk_<bits>`` (values of 32 or 64 bits) and its helpers to ``module``."""
    value = ir.IntType(bits)
    levels = _levels(module)
    _decode_chunk(module, value, _page_header(module), _snappy(module), levels,
                  _dictionary_values(module, value), _pick(module, value), _selected_rows(module),
                  _pick_literals(module, value, levels))
