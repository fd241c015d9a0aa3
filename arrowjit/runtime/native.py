"""Native helpers the runtime shares across every filter: selection vectors and gathers.

These do not depend on the expression, so they are one small LLVM module,
compiled once per process the first time an output needs them:

* ``indices_u32`` / ``indices_u64``: bitmap words -> the positions of the set
  bits. Each byte of the bitmap (8 rows) looks up its set bits' positions in
  a 256-entry table, stores all 8 of them as one vector, and advances the
  output by the byte's popcount: no branch per row, no dependent store per
  row. The caller leaves 8 spare slots past the end for the last store.
* ``compress_<bits>``: the values of the selected rows of a fixed-width
  column (8, 16, 32 or 64 bits), driven by the selection bitmap itself: a
  vector compress per 8 rows.
* ``compress_bits``: the same for a bitmap (validity, bool values) at any bit
  offset: ``pext`` per 64 rows.

C equivalent of ``indices_u32``::

    int64_t indices_u32(const uint64_t *words, int64_t nwords, int64_t base, uint32_t *out) {
        int64_t n = 0;
        for (int64_t k = 0; k < nwords; k++) {
            uint64_t word = words[k];
            if (word == 0) continue;
            for (int b = 0; b < 8; b++) {                       // unrolled
                uint8_t bits = word >> (8 * b);
                for (int j = 0; j < 8; j++)                     // one vector store
                    out[n + j] = base + 64 * k + 8 * b + POSITIONS[bits][j];
                n += popcount(bits);
            }
        }
        return n;
    }
"""

from __future__ import annotations

import ctypes
import threading

from llvmlite import ir

from ..compiler import diskcache
from ..compiler.jit import CompiledKernel, compile_ir, host_target
from ..compiler.selection import pext
from . import pagecodec

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I64 = ir.IntType(64)
PTR = ir.PointerType()


def _positions_table() -> list[int]:
    """For each byte, the positions of its set bits packed into a little-endian uint64."""
    table = []
    for byte in range(256):
        positions = [j for j in range(8) if byte >> j & 1]
        positions += [0] * (8 - len(positions))
        table.append(sum(p << (8 * i) for i, p in enumerate(positions)))
    return table


def _function(module: ir.Module, name: str, returns: ir.Type, params: list[tuple[str, ir.Type]]):
    fn = ir.Function(module, ir.FunctionType(returns, [t for _, t in params]), name)
    fn.attributes.add("nounwind")
    for arg, (arg_name, _) in zip(fn.args, params):
        arg.name = arg_name
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def _counted_loop(b: ir.IRBuilder, fn: ir.Function, count: ir.Value, name: str):
    """Open ``for (i = 0; i < count; i++)``; returns (i, the block after the loop, close())."""
    entry = b.block
    body = fn.append_basic_block(name)
    after = fn.append_basic_block(f"{name}_done")
    b.cbranch(b.icmp_signed(">", count, ir.Constant(I64, 0), name=f"{name}_any"), body, after)
    b.position_at_end(body)
    i = b.phi(I64, name=f"{name}_i")
    i.add_incoming(ir.Constant(I64, 0), entry)

    def close() -> None:
        next_i = b.add(i, ir.Constant(I64, 1), name=f"{name}_next")
        i.add_incoming(next_i, b.block)
        b.cbranch(b.icmp_signed("<", next_i, count, name=f"{name}_more"), body, after)
        b.position_at_end(after)

    return i, close


def _indices(module: ir.Module, table: ir.GlobalVariable, index_bits: int) -> None:
    index_type = ir.IntType(index_bits)
    fn, b = _function(module, f"indices_u{index_bits}", I64,
                      [("words", PTR), ("nwords", I64), ("base", I64), ("out", PTR)])
    words, nwords, base, out = fn.args
    entry = b.block
    loop = fn.append_basic_block("words")
    nonzero = fn.append_basic_block("nonzero")
    latch = fn.append_basic_block("next_word")
    done = fn.append_basic_block("done")
    b.cbranch(b.icmp_signed(">", nwords, ir.Constant(I64, 0), name="any"), loop, done)

    b.position_at_end(loop)
    k = b.phi(I64, name="k")
    n = b.phi(I64, name="n")
    k.add_incoming(ir.Constant(I64, 0), entry)
    n.add_incoming(ir.Constant(I64, 0), entry)
    word = b.load(b.gep(words, [k], source_etype=I64, name="word_address"), typ=I64, name="word")
    b.cbranch(b.icmp_unsigned("==", word, ir.Constant(I64, 0), name="empty"), latch, nonzero)

    b.position_at_end(nonzero)
    vector = ir.VectorType(index_type, 8)
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    word_base = b.add(base, b.shl(k, ir.Constant(I64, 6)), name="word_base")
    count = n
    for byte_index in range(8):
        bits = b.and_(b.lshr(word, ir.Constant(I64, 8 * byte_index)), ir.Constant(I64, 255),
                      name=f"byte{byte_index}")
        entry_address = b.gep(table, [ir.Constant(I64, 0), bits], name=f"positions{byte_index}_address")
        positions = b.load(entry_address, typ=ir.VectorType(I8, 8), name=f"positions{byte_index}")
        first = b.add(word_base, ir.Constant(I64, 8 * byte_index), name=f"first{byte_index}")
        first = b.trunc(first, index_type) if index_bits < 64 else first
        splat = b.insert_element(ir.Constant(vector, ir.Undefined), first, ir.Constant(ir.IntType(32), 0))
        splat = b.shuffle_vector(splat, ir.Constant(vector, ir.Undefined),
                                 ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8), name="splat")
        rows = b.add(b.zext(positions, vector), splat, name=f"rows{byte_index}")
        store = b.store(rows, b.gep(out, [count], source_etype=index_type, name=f"out{byte_index}"))
        store.align = index_bits // 8
        count = b.add(count, b.call(ctpop, [bits]), name=f"count{byte_index}")
    b.branch(latch)

    b.position_at_end(latch)
    next_n = b.phi(I64, name="next_n")
    next_n.add_incoming(n, loop)
    next_n.add_incoming(count, nonzero)
    next_k = b.add(k, ir.Constant(I64, 1), name="next_k")
    k.add_incoming(next_k, latch)
    n.add_incoming(next_n, latch)
    b.cbranch(b.icmp_signed("<", next_k, nwords, name="more"), loop, done)

    b.position_at_end(done)
    result = b.phi(I64, name="result")
    result.add_incoming(ir.Constant(I64, 0), entry)
    result.add_incoming(next_n, latch)
    b.ret(result)


def _compress(module: ir.Module, value_bits: int) -> None:
    """``compress_<bits>(src, selection, nrows, dst) -> count``: the selected values, in order.

    Each group of 8 rows is one vector load, one ``llvm.experimental.vector.compress``
    by the selection byte (``vcompresspd`` with AVX-512), one unaligned store,
    and an advance by the byte's popcount; the last rows (fewer than 8) are
    copied one by one so nothing past ``nrows`` is read.
    """
    value = ir.IntType(value_bits)
    vector, lanes = ir.VectorType(value, 8), ir.VectorType(I1, 8)
    # LLVM 22's x86 backend aborts on compressing 8- or 16-bit lanes, so
    # those are widened to 32 bits around the compress.
    lane_bits = max(value_bits, 32)
    wide = ir.VectorType(ir.IntType(lane_bits), 8)
    compress = ir.Function(module, ir.FunctionType(wide, [wide, lanes, wide]),
                           f"llvm.experimental.vector.compress.v8i{lane_bits}")
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    fn, b = _function(module, f"compress_{value_bits}", I64,
                      [("src", PTR), ("selection", PTR), ("nrows", I64), ("dst", PTR)])
    src, selection, nrows, dst = fn.args
    groups = b.lshr(nrows, ir.Constant(I64, 3), name="groups")
    entry = b.block
    loop = fn.append_basic_block("groups")
    rest = fn.append_basic_block("rest")
    b.cbranch(b.icmp_signed(">", groups, ir.Constant(I64, 0), name="any"), loop, rest)

    b.position_at_end(loop)
    g = b.phi(I64, name="g")
    n = b.phi(I64, name="n")
    g.add_incoming(ir.Constant(I64, 0), entry)
    n.add_incoming(ir.Constant(I64, 0), entry)
    byte = b.load(b.gep(selection, [g], source_etype=I8, name="byte_address"), typ=I8, name="byte")
    first = b.shl(g, ir.Constant(I64, 3), name="first")
    values = b.load(b.gep(src, [first], source_etype=value, name="values_address"), typ=vector,
                    name="values")
    values.align = value_bits // 8
    widened = b.zext(values, wide, name="widened") if lane_bits > value_bits else values
    packed = b.call(compress, [widened, b.bitcast(byte, lanes), ir.Constant(wide, ir.Undefined)],
                    name="packed")
    if lane_bits > value_bits:
        packed = b.trunc(packed, vector, name="narrowed")
    store = b.store(packed, b.gep(dst, [n], source_etype=value, name="out"))
    store.align = value_bits // 8
    next_n = b.add(n, b.call(ctpop, [b.zext(byte, I64)]), name="next_n")
    next_g = b.add(g, ir.Constant(I64, 1), name="next_g")
    next_first = b.shl(next_g, ir.Constant(I64, 3), name="next_first")
    g.add_incoming(next_g, loop)
    n.add_incoming(next_n, loop)
    b.cbranch(b.icmp_signed("<", next_g, groups, name="more"), loop, rest)

    b.position_at_end(rest)
    count = b.phi(I64, name="count")
    count.add_incoming(ir.Constant(I64, 0), entry)
    count.add_incoming(next_n, loop)
    row = b.phi(I64, name="row")
    row.add_incoming(ir.Constant(I64, 0), entry)
    row.add_incoming(next_first, loop)
    tail = fn.append_basic_block("tail")
    copy = fn.append_basic_block("copy")
    skip = fn.append_basic_block("skip")
    done = fn.append_basic_block("done")
    b.cbranch(b.icmp_signed("<", row, nrows), tail, done)

    b.position_at_end(tail)
    r = b.phi(I64, name="r")
    c = b.phi(I64, name="c")
    r.add_incoming(row, rest)
    c.add_incoming(count, rest)
    word = b.load(b.gep(selection, [b.lshr(r, ir.Constant(I64, 3))], source_etype=I8), typ=I8)
    selected = b.trunc(b.lshr(word, b.trunc(b.and_(r, ir.Constant(I64, 7)), I8)), I1, name="selected")
    b.cbranch(selected, copy, skip)
    b.position_at_end(copy)
    item = b.load(b.gep(src, [r], source_etype=value), typ=value, name="item")
    b.store(item, b.gep(dst, [c], source_etype=value))
    b.branch(skip)
    b.position_at_end(skip)
    next_c = b.add(c, b.zext(selected, I64), name="next_c")
    next_r = b.add(r, ir.Constant(I64, 1), name="next_r")
    r.add_incoming(next_r, skip)
    c.add_incoming(next_c, skip)
    b.cbranch(b.icmp_signed("<", next_r, nrows), tail, done)

    b.position_at_end(done)
    result = b.phi(I64, name="result")
    result.add_incoming(count, rest)
    result.add_incoming(next_c, skip)
    b.ret(result)


def _compress_bits(module: ir.Module, has_bmi2: bool) -> None:
    """``compress_bits(src, offset, selection, nrows, dst)``: the selected bits of a bitmap.

    Per 64 rows: the source word at its bit offset, ``pext`` by the selection
    word, and the packed bits appended to the output bitmap.
    """
    fn, b = _function(module, "compress_bits", I64,
                      [("src", PTR), ("offset", I64), ("selection", PTR), ("nrows", I64), ("dst", PTR)])
    src, offset, selection, nrows, dst = fn.args
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    fshr = module.globals.get("llvm.fshr.i64") or ir.Function(
        module, ir.FunctionType(I64, [I64, I64, I64]), "llvm.fshr.i64")
    scratch = b.alloca(ir.ArrayType(I8, 16), name="scratch")
    scratch.type = PTR
    memset = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, I8, I64, I1]), "llvm.memset.p0.i64")
    memcpy = ir.Function(module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I1]),
                         "llvm.memcpy.p0.p0.i64")
    nwords = b.lshr(b.add(nrows, ir.Constant(I64, 63)), ir.Constant(I64, 6), name="nwords")
    entry = b.block
    loop = fn.append_basic_block("words")
    done = fn.append_basic_block("done")
    b.cbranch(b.icmp_signed(">", nwords, ir.Constant(I64, 0)), loop, done)

    b.position_at_end(loop)
    k = b.phi(I64, name="k")
    acc = b.phi(I64, name="acc")        # output bits not yet stored
    fill = b.phi(I64, name="fill")      # how many of them
    out = b.phi(I64, name="out")        # output words stored
    for phi, start in ((k, 0), (acc, 0), (fill, 0), (out, 0)):
        phi.add_incoming(ir.Constant(I64, start), entry)
    mask = b.load(b.gep(selection, [k], source_etype=I64), typ=I64, name="mask")
    bit = b.add(offset, b.shl(k, ir.Constant(I64, 6)), name="bit")
    byte = b.lshr(bit, ir.Constant(I64, 3), name="byte")
    shift = b.and_(bit, ir.Constant(I64, 7), name="shift")
    rows_left = b.sub(nrows, b.shl(k, ir.Constant(I64, 6)), name="rows_left")
    # The source bytes of these 64 rows; copied first when the bitmap may end sooner.
    base = b.gep(src, [byte], source_etype=I8, name="base")
    whole = b.icmp_signed(">=", rows_left, ir.Constant(I64, 64), name="whole")
    with b.if_then(b.not_(whole)):
        b.call(memset, [scratch, ir.Constant(I8, 0), ir.Constant(I64, 16), ir.Constant(I1, 0)])
        size = b.lshr(b.add(b.add(shift, rows_left), ir.Constant(I64, 7)), ir.Constant(I64, 3))
        b.call(memcpy, [scratch, base, size, ir.Constant(I1, 0)])
    source = b.select(whole, base, scratch, name="source")
    low = b.load(source, typ=I64, name="low", align=1)
    ninth = b.select(b.icmp_unsigned("!=", shift, ir.Constant(I64, 0)), ir.Constant(I64, 8),
                     ir.Constant(I64, 0), name="ninth")
    high = b.zext(b.load(b.gep(source, [ninth], source_etype=I8), typ=I8, name="high8"), I64)
    data = b.call(fshr, [high, low, shift], name="data")
    packed = pext(b, data, mask, has_bmi2)
    taken = b.call(ctpop, [mask], name="taken")
    placed = b.or_(acc, b.shl(packed, fill), name="placed")
    total = b.add(fill, taken, name="total")
    full = b.icmp_signed(">=", total, ir.Constant(I64, 64), name="full")
    spill_shift = b.sub(ir.Constant(I64, 64), fill, name="spill_shift")
    spilled = b.select(b.icmp_unsigned("==", fill, ir.Constant(I64, 0)), ir.Constant(I64, 0),
                       b.lshr(packed, b.and_(spill_shift, ir.Constant(I64, 63))), name="spilled")
    with b.if_then(full):
        b.store(placed, b.gep(dst, [out], source_etype=I64))
    next_acc = b.select(full, spilled, placed, name="next_acc")
    next_fill = b.select(full, b.sub(total, ir.Constant(I64, 64)), total, name="next_fill")
    next_out = b.add(out, b.zext(full, I64), name="next_out")
    next_k = b.add(k, ir.Constant(I64, 1), name="next_k")
    latch = b.block
    for phi, value in ((k, next_k), (acc, next_acc), (fill, next_fill), (out, next_out)):
        phi.add_incoming(value, latch)
    b.cbranch(b.icmp_signed("<", next_k, nwords), loop, done)

    b.position_at_end(done)
    last_acc = b.phi(I64, name="last_acc")
    last_fill = b.phi(I64, name="last_fill")
    last_out = b.phi(I64, name="last_out")
    for phi, value in ((last_acc, next_acc), (last_fill, next_fill), (last_out, next_out)):
        phi.add_incoming(ir.Constant(I64, 0), entry)
        phi.add_incoming(value, latch)
    with b.if_then(b.icmp_signed(">", last_fill, ir.Constant(I64, 0))):
        b.store(last_acc, b.gep(dst, [last_out], source_etype=I64))
    count = b.add(b.shl(last_out, ir.Constant(I64, 6)), last_fill, name="count")
    b.ret(count)


def _positions_global(module: ir.Module) -> ir.GlobalVariable:
    table_type = ir.ArrayType(ir.VectorType(I8, 8), 256)
    table = ir.GlobalVariable(module, table_type, "bit_positions")
    table.global_constant = True
    table.linkage = "internal"
    table.initializer = ir.Constant(table_type, [
        ir.Constant(ir.VectorType(I8, 8), [(packed >> (8 * i)) & 255 for i in range(8)])
        for packed in _positions_table()])
    return table


def _copy_views(module: ir.Module, offset_bits: int) -> None:
    """``copy_views_<bits>(views, offsets, nrows, data)``: the bytes of each {pointer, length} view
    to ``data + offsets[i]``, ``offsets[i + 1] - offsets[i]`` of them (0 for a null row): how a
    projection's string results become an Arrow string column."""
    offset_type = ir.IntType(offset_bits)
    void = ir.VoidType()
    fn = ir.Function(module, ir.FunctionType(void, [PTR, PTR, I64, PTR]), f"copy_views_{offset_bits}")
    views, offsets, nrows, data = fn.args
    memcpy = ir.Function(module, ir.FunctionType(void, [PTR, PTR, I64, I1]), "llvm.memcpy.p0.p0.i64")
    entry = fn.append_basic_block("entry")
    loop = fn.append_basic_block("rows")
    done = fn.append_basic_block("done")
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", nrows, ir.Constant(I64, 0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(I64, name="i")
    i.add_incoming(ir.Constant(I64, 0), entry)
    first = b.load(b.gep(offsets, [i], source_etype=offset_type), typ=offset_type)
    last = b.load(b.gep(offsets, [b.add(i, ir.Constant(I64, 1))], source_etype=offset_type), typ=offset_type)
    if offset_bits < 64:
        first, last = b.sext(first, I64), b.sext(last, I64)
    source = b.load(b.gep(views, [b.shl(i, ir.Constant(I64, 1))], source_etype=I64), typ=PTR, name="source")
    b.call(memcpy, [b.gep(data, [first], source_etype=I8), source, b.sub(last, first), ir.Constant(I1, 0)])
    next_i = b.add(i, ir.Constant(I64, 1))
    i.add_incoming(next_i, loop)
    b.cbranch(b.icmp_signed("<", next_i, nrows), loop, done)
    b.position_at_end(done)
    b.ret_void()


def build_module(name: str) -> ir.Module:
    """A module holding the one helper ``name`` (each is compiled only when first needed)."""
    module = ir.Module(name=f"arrowjit_{name}")
    if name.startswith("indices_u"):
        _indices(module, _positions_global(module), int(name.removeprefix("indices_u")))
    elif name == "compress_bits":
        _compress_bits(module, has_bmi2="+bmi2" in host_target().features.split(","))
    elif name.startswith("copy_views_"):
        _copy_views(module, int(name.removeprefix("copy_views_")))
    elif name.startswith("compress_"):
        _compress(module, int(name.removeprefix("compress_")))
    elif name.startswith("decode_chunk_"):
        pagecodec.build(module, int(name.removeprefix("decode_chunk_")))
    else:
        raise ValueError(f"no native helper {name!r}")
    return module


_INDICES_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                 ctypes.c_void_p)
_COMPRESS_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                  ctypes.c_void_p)
_COPY_VIEWS_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
_DECODE_CHUNK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, *[ctypes.c_int64] * 4, ctypes.c_void_p,
                                      ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p)
_COMPRESS_BITS_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                       ctypes.c_int64, ctypes.c_void_p)


class Native:
    """The helpers, each compiled on first use and called through ctypes (which releases the GIL)."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[CompiledKernel, object]] = {}
        self._lock = threading.Lock()

    def _get(self, name: str, signature):
        found = self._compiled.get(name)
        if found is None:
            with self._lock:
                found = self._compiled.get(name)
                if found is None:
                    target = host_target()
                    compiled = compile_ir(lambda: str(build_module(name)), name, target,
                                          diskcache.key("native", name, target))
                    found = self._compiled[name] = (compiled, signature(compiled.address))
        return found[1]

    def indices(self, index_bits: int):
        """``indices_u<bits>(words, nwords, base, out) -> count``."""
        return self._get(f"indices_u{index_bits}", _INDICES_TYPE)

    def compress(self, value_bits: int):
        """``compress_<bits>(src, selection, nrows, dst) -> count``."""
        return self._get(f"compress_{value_bits}", _COMPRESS_TYPE)

    def copy_views(self, offset_bits: int):
        """``copy_views_<bits>(views, offsets, nrows, data)``."""
        return self._get(f"copy_views_{offset_bits}", _COPY_VIEWS_TYPE)

    def decode_chunk(self, value_bits: int):
        """``decode_chunk_<bits>(chunk, size, rows, codec, optional, scratch, scratch_size, dictionary,
        dictionary_size, out, validity, capacity, sink, info) -> Status`` (:mod:`.pagecodec`)."""
        return self._get(f"decode_chunk_{value_bits}", _DECODE_CHUNK_TYPE)

    def compress_bits(self):
        """``compress_bits(src, bit offset, selection, nrows, dst) -> count``."""
        return self._get("compress_bits", _COMPRESS_BITS_TYPE)


_NATIVE = Native()


def native() -> Native:
    """The process's helpers."""
    return _NATIVE
