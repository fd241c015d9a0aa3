"""Projection kernels over a selection bitmap: a query's outputs, computed for the kept rows only.

``compile_query(schema, select=..., where=...)`` first runs the filter
kernel, which gives one bitmap word per 64 rows. The kernel made here then
reads that bitmap, as Gandiva's projector reads a selection vector. Blocks
with no selected row are skipped. Otherwise the block's outputs are computed
as in a plain projection, and only the selected rows are written, packed
together, at the next free output position. The columns the query reads are
never copied in between. In C, for one fixed-width output::

    void projection_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                           int64_t start, int64_t end, void **outs)
    {
        T *out = outs[0];  uint64_t *out_valid = outs[1];     // per output k: outs[2k], outs[2k+1]
        const uint64_t *selection = outs[2 * K];             // the filter's bitmap words
        int64_t first = (int64_t)outs[2 * K + 1];            // output row of this morsel's first kept row
        int64_t pos = 0;                                     // kept rows written so far
        for (int64_t row0 = start; row0 < end; row0 += 64) {
            uint64_t sel = selection[row0 / 64] & row_mask;  // the block's kept rows
            if (sel == 0) continue;
            T values[64];  uint64_t valid;
            project_block(..., values, &valid);              // every row of the block, vectorized
            for (int g = 0; g < 8; g++) {                    // vcompresspd with AVX-512
                uint8_t byte = sel >> (8 * g);
                masked_store8(out + pos, compress(load8(values + 8 * g), byte), popcount(byte));
                pos += popcount(byte);
            }
            append_bits(out_valid, first + pos_before_block, pext(valid, sel), popcount(sel));
        }
    }

``outs[2k]`` already points at this morsel's first output value. Bitmaps
(validity, and the values of a bool output) are written from the morsel's
first output *bit*. Two morsels can share a word at their boundary, so
bits are OR-ed in atomically into words that start out zero. Values are
stored with a lane mask, so no store writes past the morsel's last kept
row, where the next morsel's first values go.
"""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

from . import typed_ir as tir
from . import types as T
from .codegen import (
    BLOCK_ROWS,
    PROJECTION_KERNEL_NAME,
    Block,
    KernelLayout,
    _alloca_at_entry,
    _kernel,
    _projection_block,
    _scratch,
    _word_slot,
    row_mask,
)
from .emit import ModuleBuilder

I1, I8, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(64)
PTR = ir.PointerType()
LANES = 8


def supports(outputs: Sequence[tir.TypedNode]) -> bool:
    """Whether every output is a type this kernel packs: bool or 8- to 64-bit fixed width."""
    return all(node.dtype == T.BOOL or (not node.dtype.is_string and node.dtype.bits in (8, 16, 32, 64))
               for node in outputs)


def pext(b: ir.IRBuilder, data: ir.Value, mask: ir.Value, has_bmi2: bool) -> ir.Value:
    """The bits of ``data`` where ``mask`` is set, packed to the low end (x86 ``pext``)."""
    module = b.module
    if has_bmi2:
        intrinsic = module.globals.get("llvm.x86.bmi.pext.64") or ir.Function(
            module, ir.FunctionType(I64, [I64, I64]), "llvm.x86.bmi.pext.64")
        return b.call(intrinsic, [data, mask], name="packed")
    # Portable: walk the mask's set bits.
    fn = b.function
    entry = b.block
    loop = fn.append_basic_block("pext")
    done = fn.append_basic_block("pext_done")
    b.cbranch(b.icmp_unsigned("!=", mask, ir.Constant(I64, 0)), loop, done)
    b.position_at_end(loop)
    m = b.phi(I64, name="m")
    k = b.phi(I64, name="k")
    acc = b.phi(I64, name="acc")
    m.add_incoming(mask, entry)
    k.add_incoming(ir.Constant(I64, 0), entry)
    acc.add_incoming(ir.Constant(I64, 0), entry)
    lowest = b.and_(m, b.sub(ir.Constant(I64, 0), m), name="lowest")
    hit = b.zext(b.icmp_unsigned("!=", b.and_(data, lowest), ir.Constant(I64, 0)), I64, name="hit")
    next_acc = b.or_(acc, b.shl(hit, k), name="next_acc")
    next_m = b.and_(m, b.sub(m, ir.Constant(I64, 1)), name="next_m")
    next_k = b.add(k, ir.Constant(I64, 1), name="next_k")
    m.add_incoming(next_m, loop)
    k.add_incoming(next_k, loop)
    acc.add_incoming(next_acc, loop)
    b.cbranch(b.icmp_unsigned("!=", next_m, ir.Constant(I64, 0)), loop, done)
    b.position_at_end(done)
    result = b.phi(I64, name="packed")
    result.add_incoming(ir.Constant(I64, 0), entry)
    result.add_incoming(next_acc, loop)
    return result


def _append_bits(b: ir.IRBuilder, words: ir.Value, bit: ir.Value, bits: ir.Value) -> None:
    """OR ``bits`` (at most 64, packed low) into the bitmap ``words`` from bit position ``bit``."""
    index = b.lshr(bit, ir.Constant(I64, 6), name="bit_word")
    shift = b.and_(bit, ir.Constant(I64, 63), name="bit_shift")
    low = b.shl(bits, shift, name="low_part")
    b.atomic_rmw("or", b.gep(words, [index], source_etype=I64, name="low_word"), low, "monotonic")
    # The bits that spill into the next word (none when the shift is 0: `>> 64` is poison).
    aligned = b.icmp_unsigned("==", shift, ir.Constant(I64, 0), name="aligned")
    spill_shift = b.select(aligned, ir.Constant(I64, 0), b.sub(ir.Constant(I64, 64), shift),
                           name="spill_shift")
    spill = b.select(aligned, ir.Constant(I64, 0), b.lshr(bits, spill_shift), name="high_part")
    with b.if_then(b.icmp_unsigned("!=", spill, ir.Constant(I64, 0), name="spills")):
        next_index = b.add(index, ir.Constant(I64, 1), name="next_bit_word")
        b.atomic_rmw("or", b.gep(words, [next_index], source_etype=I64, name="high_word"), spill,
                     "monotonic")


def _store_compressed(b: ir.IRBuilder, values: ir.Value, dtype: T.DType, selection: ir.Value,
                      out: ir.Value, pos: ir.Value) -> None:
    """The selected of the block's 64 ``values``, packed, to ``out[pos ...]`` (8 lanes per store)."""
    # Values are moved as integers of their width (a double's bits are a double's bits).
    value = ir.IntType(dtype.bits)
    vector, lanes = ir.VectorType(value, LANES), ir.VectorType(I1, LANES)
    # LLVM 22's x86 backend aborts on compressing 8- or 16-bit lanes: widen them to 32 bits.
    lane_bits = max(dtype.bits, 32)
    lane = ir.IntType(lane_bits)
    wide = ir.VectorType(lane, LANES)
    name = f"llvm.experimental.vector.compress.v{LANES}i{lane_bits}"
    compress = b.module.globals.get(name) or ir.Function(
        b.module, ir.FunctionType(wide, [wide, lanes, wide]), name)
    ctpop = b.module.declare_intrinsic("llvm.ctpop", [I64])
    store_name = f"llvm.masked.store.v{LANES}i{dtype.bits}.p0"
    masked_store = b.module.globals.get(store_name) or ir.Function(
        b.module, ir.FunctionType(ir.VoidType(), [vector, PTR, ir.IntType(32), lanes]), store_name)
    written = pos
    for group in range(BLOCK_ROWS // LANES):
        byte = b.trunc(b.lshr(selection, ir.Constant(I64, LANES * group)), I8, name="selection_byte")
        source = b.gep(values, [ir.Constant(I64, LANES * group)], source_etype=value, name="group")
        loaded = b.load(source, typ=vector, name="group_values")
        loaded.align = dtype.bits // 8
        widened = b.zext(loaded, wide, name="widened") if lane_bits > dtype.bits else loaded
        packed = b.call(compress, [widened, b.bitcast(byte, lanes), ir.Constant(wide, ir.Undefined)],
                        name="packed_values")
        if lane_bits > dtype.bits:
            packed = b.trunc(packed, vector, name="narrowed")
        # Store just the packed lanes: a full 8-lane store could overwrite the first values
        # of the next morsel, written by another thread.
        kept = b.call(ctpop, [b.zext(byte, I64)], name="group_kept")
        prefix = b.sub(b.shl(ir.Constant(I64, 1), kept), ir.Constant(I64, 1), name="prefix")
        lanes_mask = b.bitcast(b.trunc(prefix, I8), lanes, name="store_lanes")
        target = b.gep(out, [written], source_etype=value, name="packed_out")
        b.call(masked_store, [packed, target, ir.Constant(ir.IntType(32), dtype.bits // 8), lanes_mask])
        written = b.add(written, kept, name="written")


def generate_selected_projection(outputs: Sequence[tir.TypedNode], layout: KernelLayout,
                                 has_bmi2: bool, name: str = "arrowjit") -> ir.Module:
    """The LLVM module of a projection kernel that writes only the rows a selection bitmap keeps."""
    mb = ModuleBuilder(name)
    block = _projection_block(mb, outputs, layout)
    count = len(outputs)
    ctpop = mb.module.declare_intrinsic("llvm.ctpop", [I64])

    def on_block(blk: Block) -> None:
        b = blk.builder
        outs = blk.extra[0]

        def out_slot(k: int, what: str, typ: ir.Type = PTR) -> ir.Value:
            return b.load(b.gep(outs, [ir.Constant(I64, k)], source_etype=PTR, name=f"{what}_slot"),
                          typ=typ, name=what)

        # The running output position of this morsel, kept in a stack slot (SROA makes it a phi).
        pos_slot = _alloca_at_entry(b, I64, "written_slot")
        with b.goto_block(b.function.entry_basic_block):  # (before the entry's branch)
            b.store(ir.Constant(I64, 0), pos_slot)
        word_index = b.lshr(blk.row0, ir.Constant(I64, 6), name="selection_index")
        selection_words = out_slot(2 * count, "selection")
        word = b.load(b.gep(selection_words, [word_index], source_etype=I64, name="selection_word_slot"),
                      typ=I64, name="selection_word")
        selected = b.and_(word, row_mask(b, blk.rows, blk.is_full), name="selected")
        with b.if_then(b.icmp_unsigned("!=", selected, ir.Constant(I64, 0), name="any_selected")):
            args, later = [], []
            for k, node in enumerate(outputs):
                valid_word = _word_slot(b, f"out{k}_valid_scratch")
                if node.dtype == T.BOOL:
                    value_word = _word_slot(b, f"out{k}_word_scratch")
                    args += [value_word, valid_word]
                    later.append((k, node, value_word, valid_word))
                else:
                    values = _scratch(b, node.dtype, f"out{k}_scratch")
                    args += [values, valid_word]
                    later.append((k, node, values, valid_word))
            b.call(block, [*blk.inputs, blk.params, *args])
            pos = b.load(pos_slot, typ=I64, name="written_before")
            first = out_slot(2 * count + 1, "first_out", I64)
            bit = b.add(first, pos, name="first_bit")
            kept = b.call(ctpop, [selected], name="kept")
            for k, node, values, valid_word in later:
                if node.dtype == T.BOOL:
                    bits = pext(b, b.load(values, typ=I64), selected, has_bmi2)
                    _append_bits(b, out_slot(2 * k, f"out{k}"), bit, bits)
                else:
                    _store_compressed(b, values, node.dtype, selected, out_slot(2 * k, f"out{k}"), pos)
                valid_bits = pext(b, b.load(valid_word, typ=I64), selected, has_bmi2)
                _append_bits(b, out_slot(2 * k + 1, f"out{k}_valid"), bit, valid_bits)
            b.store(b.add(pos, kept, name="written_after"), pos_slot)

    _kernel(mb, layout, ["outs"], on_block, PROJECTION_KERNEL_NAME)
    return mb.module
