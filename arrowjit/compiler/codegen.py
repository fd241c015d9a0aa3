"""Stage 4: typed IR -> LLVM IR (a module with one filter kernel).

The kernel evaluates the predicate for rows ``[start, end)`` of a batch and
writes the rows where it is *true* (SQL WHERE: not false, not null) as an
Arrow bitmap: bit ``k`` of ``out`` is row ``start + k``. Its C equivalent,
for ``x > 2.0 and x < 6.0`` on a nullable float64 column ``x``::

    // buffers[i], offsets[i]: address and Arrow offset of each buffer the
    // kernel reads (column data, then validity bitmaps); params: the values
    // of run-time parameters (`x > :lo`), see KernelLayout.
    int64_t filter_kernel(uint8_t **buffers, int64_t *offsets, uint8_t *params,
                          int64_t start, int64_t end, uint64_t *out) {
        const double *x = (const double *)buffers[0] + offsets[0];
        const uint8_t *x_validity = buffers[1];
        int64_t total = 0;                                 // rows kept, returned
        for (int64_t row0 = start; row0 < end; row0 += 64) {
            int64_t rows = min(end - row0, 64);
            const double *x_block;
            uint64_t x_valid;
            if (rows == 64) {                              // a whole block: read in place
                x_block = x + row0;
                x_valid = load_bitmap_word(x_validity, offsets[1] + row0);
            } else {                                       // the last block: copy, pad with 0
                double x_tail[64] = {0};
                memcpy(x_tail, x + row0, rows * sizeof(double));
                x_block = x_tail;
                x_valid = /* the same, from a zero-padded copy of its bytes */;
            }
            uint64_t word = evaluate_block(x_block, x_valid, params);
            word &= (rows == 64 ? ~0ull : (1ull << rows) - 1);
            out[(row0 - start) / 64] = word;
            total += popcount(word);
        }
        return total;
    }

    static inline uint64_t evaluate_block(const double *x, uint64_t x_valid_word,
                                          const uint8_t *params) {
        uint8_t keep[64];
        for (int j = 0; j < 64; j++) {                     // vectorized by LLVM
            double xv = x[j];
            bool x_valid = (x_valid_word >> j) & 1;
            bool gt = greater_than_float64_float64(xv, 2.0);
            bool lt = less_than_float64_float64(xv, 6.0);
            bool value = gt && lt, valid = x_valid;        // Kleene and, see emit_and
            keep[j] = value && valid;
        }
        return pack_bits(keep);                            // 64 bytes -> one word
    }

Every block, the last one included, runs the same loop of exactly 64
rows, so LLVM's loop vectorizer turns it into vector loads and vector
compares (``<4 x double>`` or ``<8 x double>``, whatever the host CPU offers),
and ``pack_bits`` into a vector compare whose mask is the bitmap word
(``vpmovmskb`` / ``kmovq``). Every operator is a call to a small
``alwaysinline`` function from the registry, so the unoptimized IR reads like
the typed IR and the optimized IR has no calls left.

Null handling is per row and branch-free: each sub-expression yields a value
and a validity bit (``None`` when it can never be null, which keeps
columns without a validity bitmap free of any null logic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from llvmlite import ir

from . import typed_ir as tir
from . import types as T
from .emit import I1, I8, I64, PTR, Emitted, ModuleBuilder, RowContext, Scratch, emit, identifier, truth
from .registry import intrinsic
from .strings import ScratchPlan, scratch_plan
from .types import DType

KERNEL_NAME = "filter_kernel"
PROJECTION_KERNEL_NAME = "projection_kernel"
BLOCK_ROWS = 64



@dataclass(frozen=True)
class ColumnLayout:
    """Where the kernel finds one column: indices into its ``buffers``/``offsets`` arrays."""

    name: str
    dtype: DType
    data_slot: int                # values; for strings, their offsets
    validity_slot: int | None
    bytes_slot: int | None = None  # strings: the buffer the offsets point into

    @property
    def is_bitmap(self) -> bool:
        """Bool columns are bit-packed, like validity bitmaps."""
        return self.dtype == T.BOOL

    @property
    def slots(self) -> tuple[int, ...]:
        return tuple(s for s in (self.data_slot, self.validity_slot, self.bytes_slot) if s is not None)


@dataclass(frozen=True)
class Nulls:
    """Which inputs of one call may hold nulls: the kernel is specialized for it.

    A column without a validity bitmap, or a parameter whose value is not
    null, needs no null logic at all, so the common case pays nothing for it.
    """

    columns: frozenset[str] = frozenset()
    parameters: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KernelLayout:
    """The kernel's view of its inputs: the columns the predicate reads, and its parameters.

    Parameters live in one struct the ``params`` argument points to: an
    8-byte value slot per parameter (in order; a decimal128 takes two, its
    16 bytes little-endian), then one validity byte per parameter (0 for
    null). :func:`parameter_slots` gives the offsets;
    :func:`arrowjit.runtime.kernel.pack_parameters` writes it.
    """

    columns: tuple[ColumnLayout, ...]
    parameters: tuple[tuple[str, DType], ...] = ()
    null_parameters: frozenset[str] = frozenset()
    # Rows that make strings (lower, upper) write them to scratch memory: its buffer slot
    # (offsets[slot] holds its size) and how big it must be (see strings.ScratchPlan).
    scratch: ScratchPlan | None = None
    scratch_slot: int | None = None

    @classmethod
    def plan(cls, typed: tir.Expressions, nulls: Nulls) -> KernelLayout:
        """Assign buffer slots to the columns ``typed`` reads; nullable ones get a validity slot."""
        layouts = []
        slot = 0
        for name, dtype in tir.columns(typed).items():
            data_slot, slot = slot, slot + 1
            validity_slot = None
            if name in nulls.columns:
                validity_slot, slot = slot, slot + 1
            bytes_slot = None
            if dtype.is_string:
                bytes_slot, slot = slot, slot + 1
            layouts.append(ColumnLayout(name, dtype, data_slot, validity_slot, bytes_slot))
        scratch = scratch_plan(typed)
        return cls(tuple(layouts), tuple(tir.parameters(typed).items()), nulls.parameters, scratch,
                   slot if scratch is not None else None)

    @cached_property
    def buffer_count(self) -> int:
        return sum(len(c.slots) for c in self.columns) + (self.scratch is not None)


# ---------------------------------------------------------------------------
# The kernel: bitmap helpers, the block function and the loop over blocks.
# ---------------------------------------------------------------------------

def _bitmap_word_loader(mb: ModuleBuilder) -> ir.Function:
    """``load_bitmap_word(bitmap, bit)``: the 64 bits from bit ``bit`` on (needs them all to exist)."""
    fn, b = mb.helper("load_bitmap_word", I64, [("bitmap", PTR), ("bit", I64)])
    bitmap, bit = fn.args
    byte = b.lshr(bit, ir.Constant(I64, 3), name="byte")
    shift = b.and_(bit, ir.Constant(I64, 7), name="shift")
    first = b.gep(bitmap, [byte], source_etype=I8, name="first")
    low = b.load(first, typ=I64, name="low", align=1)
    # A ninth byte holds the last bits only when the start is not byte aligned;
    # when it is, re-read the first byte instead of reading past the bitmap.
    ninth = b.select(b.icmp_unsigned("!=", shift, ir.Constant(I64, 0), name="unaligned"),
                     ir.Constant(I64, 8), ir.Constant(I64, 0), name="ninth")
    last = b.gep(first, [ninth], source_etype=I8, name="last")
    high = b.zext(b.load(last, typ=I8, name="high8"), I64, name="high")
    fshr = intrinsic(mb.module, "llvm.fshr", I64, 3)
    b.ret(b.call(fshr, [high, low, shift], name="word"))
    return fn


def _block_params(layout: KernelLayout) -> list[tuple[str, ir.Type]]:
    params: list[tuple[str, ir.Type]] = []
    for column in layout.columns:
        name = identifier(column.name)
        if column.dtype.is_view:
            params.append((f"{name}_views", PTR))
        elif column.dtype.is_string:
            params.append((f"{name}_offsets", PTR))
        else:
            params.append((f"{name}_bits" if column.is_bitmap else name, I64 if column.is_bitmap else PTR))
        if column.validity_slot is not None:
            params.append((f"{name}_valid_bits", I64))
        if column.bytes_slot is not None:
            params.append((f"{name}_bytes", PTR))
        if column.dtype.is_view:
            params.append((f"{name}_rows", I64))
    scratch = [("scratch", PTR), ("scratch_limit", PTR), ("scratch_overflow", PTR)] \
        if layout.scratch is not None else []
    return params + [("params", PTR)] + scratch


def parameter_slots(parameters: Sequence[tuple[str, DType]]) -> tuple[tuple[int, ...], int]:
    """The byte offset of each parameter's value in the params struct, and where the
    validity bytes start: 8 bytes a value, 16 for a decimal128 (see :class:`KernelLayout`)."""
    offsets = []
    end = 0
    for _, dtype in parameters:
        offsets.append(end)
        end += 16 if dtype.bits > 64 else 8
    return tuple(offsets), end


def _load_parameters(b: ir.IRBuilder, params: ir.Value, layout: KernelLayout) -> dict[str, Emitted]:
    """Parameters are loop invariant: load them once, before the row loop."""
    parameters = {}
    offsets, validity = parameter_slots(layout.parameters)
    for index, (name, dtype) in enumerate(layout.parameters):
        ident = f"param_{identifier(name)}"
        value_address = b.gep(params, [ir.Constant(I64, offsets[index])], source_etype=I8,
                              name=f"{ident}_address")
        value = b.load(value_address, typ=dtype.llvm, name=ident, align=8)
        valid = None
        if name in layout.null_parameters:
            valid_address = b.gep(params, [ir.Constant(I64, validity + index)], source_etype=I8,
                                  name=f"{ident}_valid_address")
            valid_byte = b.load(valid_address, typ=I8, name=f"{ident}_valid_byte")
            valid = b.icmp_unsigned("!=", valid_byte, ir.Constant(I8, 0), name=f"{ident}_valid")
        parameters[name] = Emitted(value, valid)
    return parameters


def _byte_buffer(b: ir.IRBuilder, name: str) -> ir.Value:
    """A 64-byte stack buffer (one byte per row of a block), as an opaque pointer."""
    buffer = b.alloca(ir.ArrayType(I8, BLOCK_ROWS), name=name)
    # Ask for the alignment LLVM would infer for the vector load in _pack:
    # given explicitly, the backend realigns the stack for it; inferred by
    # InstCombine (LLVM 22 here) it emitted an aligned zmm load from an
    # unaligned stack slot.
    buffer.align = 64
    buffer.type = PTR  # refer to it as an opaque pointer, like every other pointer here
    return buffer


def _pack(b: ir.IRBuilder, buffer: ir.Value, name: str) -> ir.Value:
    """64 bytes of 0/1 -> one bitmap word (a vector compare and its mask)."""
    vector = ir.VectorType(I8, BLOCK_ROWS)
    loaded = b.load(buffer, typ=vector, name=f"{name}_bytes")
    mask = b.icmp_unsigned("!=", loaded, ir.Constant(vector, [0] * BLOCK_ROWS), name=f"{name}_mask")
    return b.bitcast(mask, I64, name=name)


def _block_body(mb: ModuleBuilder, fn: ir.Function, b: ir.IRBuilder, layout: KernelLayout,
                per_row: Callable[[ir.IRBuilder, ir.Value, RowContext], None],
                uniform: tuple[str, int] | None = None) -> None:
    """The loop over the 64 rows of a block: ``per_row(builder, j, row context)`` emits one row.

    The block function's first arguments are the inputs (:func:`_block_params`);
    leaves the builder after the loop. With ``uniform = (column, n)``, every
    string of that column in the block is known to have ``n`` bytes.
    """
    args = iter(fn.args)
    inputs = {}
    for column in layout.columns:
        data = next(args)
        validity = next(args) if column.validity_slot is not None else None
        string_bytes = next(args) if column.bytes_slot is not None else None
        rows = next(args) if column.dtype.is_view else None
        inputs[column.name] = (column, data, validity, string_bytes, rows)
    parameters = _load_parameters(b, next(args), layout)
    scratch = None
    if layout.scratch is not None:
        base, limit, overflow = next(args), next(args), next(args)
        cursor = b.alloca(PTR, name="scratch_cursor")
        b.store(base, cursor)
        scratch = Scratch(cursor, limit, overflow)

    entry = b.block
    loop = fn.append_basic_block("rows")
    done = fn.append_basic_block("pack")
    b.branch(loop)
    b.position_at_end(loop)
    j = b.phi(I64, name="j")
    j.add_incoming(ir.Constant(I64, 0), entry)
    loaded: dict[str, Emitted] = {}

    def bit(word: ir.Value, name: str) -> ir.Value:
        return b.trunc(b.lshr(word, j, name=f"{name}_shifted"), I1, name=name)

    def load_column(name: str) -> Emitted:
        if name not in loaded:
            column, data, validity, string_bytes, rows = inputs[name]
            ident = identifier(name)
            if column.is_bitmap:
                value = bit(data, ident)
            elif column.dtype.is_view:
                value = _load_view(b, data, string_bytes, rows, j, ident)
            elif uniform is not None and uniform[0] == name:
                value = _load_uniform(b, data, string_bytes, j, column.dtype, uniform[1], ident)
            elif column.dtype.is_string:
                value = _load_string(b, data, string_bytes, j, column.dtype, ident)
            else:
                address = b.gep(data, [j], source_etype=column.dtype.llvm, name=f"{ident}_address")
                value = b.load(address, typ=column.dtype.llvm, name=ident)
            valid = bit(validity, f"{ident}_valid") if validity is not None else None
            loaded[name] = Emitted(value, valid)
        return loaded[name]

    per_row(b, j, RowContext(b, mb, load_column, parameters, scratch))
    next_j = b.add(j, ir.Constant(I64, 1), name="next_j")
    j.add_incoming(next_j, b.block)
    branch = b.cbranch(b.icmp_signed("<", next_j, ir.Constant(I64, BLOCK_ROWS), name="more"), loop, done)
    if any(column.dtype.is_string and (uniform is None or column.name != uniform[0])
           for column in layout.columns):
        _scalar_loop(mb.module, branch)
    b.position_at_end(done)


def _scalar_loop(module: ir.Module, branch: ir.Instruction) -> None:
    """Keep the loop scalar (LLVM's ``llvm.loop.vectorize.width 1``).

    Rows of strings read their bytes at data-dependent addresses: vectorized,
    that is a gather per 8 or 16 rows, which on this CPU (znver5) measured
    four times slower than the scalar loop (E6: 15 ms against 11 ms per 10M rows).
    """
    option = module.add_metadata([ir.MetaDataString(module, "llvm.loop.vectorize.width"),
                                  ir.Constant(ir.IntType(32), 1)])
    loop_id = module.add_metadata([option, ir.MetaDataString(module, "arrowjit.rows")])
    loop_id.operands = (loop_id, option)  # a loop ID refers to itself
    branch.set_metadata("llvm.loop", loop_id)


def _load_string(b: ir.IRBuilder, offsets: ir.Value, string_bytes: ir.Value, j: ir.Value, dtype: DType,
                 ident: str) -> ir.Value:
    """Row ``j``'s string as a {pointer, length} view: bytes ``offsets[j] .. offsets[j + 1]``."""
    offset_type = ir.IntType(dtype.offset_bits)
    first = b.load(b.gep(offsets, [j], source_etype=offset_type, name=f"{ident}_start_address"),
                   typ=offset_type, name=f"{ident}_start")
    next_j = b.add(j, ir.Constant(I64, 1), name=f"{ident}_next_row")
    last = b.load(b.gep(offsets, [next_j], source_etype=offset_type, name=f"{ident}_end_address"),
                  typ=offset_type, name=f"{ident}_end")
    if dtype.offset_bits < 64:
        first, last = b.sext(first, I64, name=f"{ident}_start64"), b.sext(last, I64, name=f"{ident}_end64")
    # Offsets never decrease (checked before the kernel runs; the last block's padding rows repeat
    # the last offset), so this is never negative.
    length = b.sub(last, first, name=f"{ident}_length")
    pointer = b.gep(string_bytes, [first], source_etype=I8, name=f"{ident}_bytes")
    view = b.insert_value(ir.Constant(T.STRING_VALUE, None), pointer, 0, name=f"{ident}_view")
    return b.insert_value(view, length, 1, name=ident)


VIEW = ir.ArrayType(I8, 16)
INLINE_BYTES = 12


def _load_view(b: ir.IRBuilder, views: ir.Value, data_buffers: ir.Value, rows: ir.Value, j: ir.Value,
               ident: str) -> ir.Value:
    """Row ``j``'s string of a string_view column: inline in its 16-byte view when at most 12 bytes,
    else ``length`` bytes at ``data_buffers[index] + offset``.

    The last block is read in place: its padding rows re-read the last real row (their results
    are masked off), so no view is copied and inline strings keep their address.
    """
    i32 = ir.IntType(32)
    real = b.select(b.icmp_signed("<", j, rows), j, b.sub(rows, ir.Constant(I64, 1)), name=f"{ident}_row")
    view = b.gep(views, [real], source_etype=VIEW, name=f"{ident}_view_address")

    def field(at: int, name: str) -> ir.Value:
        address = b.gep(view, [ir.Constant(I64, at)], source_etype=I8)
        return b.zext(b.load(address, typ=i32, name=f"{ident}_{name}32"), I64, name=f"{ident}_{name}")

    length = field(0, "length")  # checked to be at most 2**31 - 1 before the kernel runs
    inline = b.icmp_unsigned("<=", length, ir.Constant(I64, INLINE_BYTES), name=f"{ident}_inline")
    index = b.select(inline, ir.Constant(I64, 0), field(8, "buffer"), name=f"{ident}_buffer_index")
    data = b.load(b.gep(data_buffers, [index], source_etype=PTR), typ=PTR, name=f"{ident}_data")
    outside = b.gep(data, [field(12, "offset")], source_etype=I8, name=f"{ident}_outside")
    inside = b.gep(view, [ir.Constant(I64, 4)], source_etype=I8, name=f"{ident}_inside")
    pointer = b.select(inline, inside, outside, name=f"{ident}_bytes")
    value = b.insert_value(ir.Constant(T.STRING_VALUE, None), pointer, 0)
    return b.insert_value(value, length, 1, name=ident)


def _load_uniform(b: ir.IRBuilder, offsets: ir.Value, string_bytes: ir.Value, j: ir.Value, dtype: DType,
                  length: int, ident: str) -> ir.Value:
    """Row ``j``'s string in a block whose strings all have ``length`` bytes: at a fixed stride,
    so the loop reads them with plain vector loads."""
    offset_type = ir.IntType(dtype.offset_bits)
    first = b.load(offsets, typ=offset_type, name=f"{ident}_block_start")
    if dtype.offset_bits < 64:
        first = b.sext(first, I64)
    start = b.add(first, b.mul(j, ir.Constant(I64, length)), name=f"{ident}_start")
    pointer = b.gep(string_bytes, [start], source_etype=I8, name=f"{ident}_bytes")
    view = b.insert_value(ir.Constant(T.STRING_VALUE, None), pointer, 0, name=f"{ident}_view")
    return b.insert_value(view, ir.Constant(I64, length), 1, name=ident)


def uniform_candidate(typed: tir.TypedNode) -> tuple[str, int] | None:
    """A utf8/large_utf8 column compared for equality with a short literal (``s == 'k042'``): blocks
    where all its strings have the literal's length get a vectorized variant of the block code."""
    for node in tir.walk(typed):
        if isinstance(node, tir.Call) and node.function.name in ("equal_short", "not_equal_short"):
            column, literal = node.args
            if isinstance(column, tir.Cast):
                column = column.operand
            if isinstance(column, tir.ColumnRef) and not column.dtype.is_view \
                    and isinstance(literal, tir.Const) and literal.value:
                return column.name, len(literal.value.encode("utf-8"))
    return None


def _all_lengths(b: ir.IRBuilder, offsets: ir.Value, dtype: DType, length: int) -> ir.Value:
    """1 when all 64 strings of the block starting at ``offsets`` have ``length`` bytes."""
    offset_type = ir.IntType(dtype.offset_bits)
    vector = ir.VectorType(offset_type, BLOCK_ROWS)
    starts = b.load(offsets, typ=vector, name="starts", align=1)
    ends = b.load(b.gep(offsets, [ir.Constant(I64, 1)], source_etype=offset_type), typ=vector, name="ends",
                  align=1)
    lengths = b.sub(ends, starts, name="lengths")
    same = b.icmp_unsigned("==", lengths, ir.Constant(vector, [length] * BLOCK_ROWS), name="same_lengths")
    return b.icmp_unsigned("==", b.bitcast(same, I64), ir.Constant(I64, -1), name="uniform")


def _block_function(mb: ModuleBuilder, typed: tir.TypedNode, layout: KernelLayout,
                    uniform: tuple[str, int] | None = None) -> ir.Function:
    """``evaluate_block(columns..., params)``: the bitmap word of one block of 64 rows.

    Each fixed-width column arrives as a pointer to the block's first value,
    each bitmap (bool data, validity) as the block's 64-bit word.
    """
    name = "evaluate_block" if uniform is None else "evaluate_uniform_block"
    fn, b = mb.helper(name, I64, _block_params(layout))
    keep = _byte_buffer(b, "keep")

    def per_row(b: ir.IRBuilder, j: ir.Value, row: RowContext) -> None:
        keep_row = truth(b, emit(typed, row))
        slot = b.gep(keep, [j], source_etype=I8, name="keep_slot")
        b.store(b.zext(keep_row, I8, name="keep_byte"), slot)

    _block_body(mb, fn, b, layout, per_row, uniform)
    b.ret(_pack(b, keep, "word"))
    return fn


@dataclass
class Block:
    """What a kernel's per-block code gets (see :func:`_kernel`)."""

    builder: ir.IRBuilder
    inputs: list[ir.Value]   # the block function's input arguments
    params: ir.Value
    row0: ir.Value           # first row of the block
    done_rows: ir.Value      # row0 - start: where the block's output goes
    rows: ir.Value           # rows in the block: 64, or fewer in the last one
    is_full: ir.Value
    extra: list[ir.Value]    # the kernel's own arguments after `end`
    scratch: list[ir.Value]  # the block's scratch memory, its limit, the overflow flag (or none)

    def block_arguments(self) -> list[ir.Value]:
        """The arguments of the block function before any outputs."""
        return [*self.inputs, self.params, *self.scratch]


def _kernel(mb: ModuleBuilder, layout: KernelLayout, extra: list[str],
            on_block: Callable[[Block], ir.Value | None], name: str = KERNEL_NAME,
            counts: bool = False) -> ir.Function:
    """The loop over blocks every kernel shares; ``on_block`` evaluates one block and stores it.

    ``kernel(buffers, offsets, params, start, end, *extra)``: whole blocks read
    the columns in place; the last, partial block reads zero-padded copies.
    With ``counts`` the kernel returns the sum of what ``on_block`` returns
    (an i64 per block: a filter's kept rows), else nothing.
    """
    word_loader = _bitmap_word_loader(mb)
    returns = I64 if counts else ir.VoidType()
    kernel_type = ir.FunctionType(returns, [PTR, PTR, PTR, I64, I64] + [PTR] * len(extra))
    kernel = ir.Function(mb.module, kernel_type, name)
    kernel.attributes.add("nounwind")
    buffers, offsets, params, start, end, *extra_args = kernel.args
    for arg, arg_name in zip(kernel.args, ("buffers", "offsets", "params", "start", "end", *extra)):
        arg.name = arg_name
    for arg in (buffers, offsets, *extra_args):
        arg.add_attribute("noalias")

    b = ir.IRBuilder(kernel.append_basic_block("entry"))

    def slot(index: int, what: str) -> tuple[ir.Value, ir.Value]:
        index_value = ir.Constant(I64, index)
        address = b.load(b.gep(buffers, [index_value], source_etype=PTR, name=f"{what}_buffer_slot"),
                         typ=PTR, name=f"{what}_buffer")
        offset = b.load(b.gep(offsets, [index_value], source_etype=I64, name=f"{what}_offset_slot"),
                        typ=I64, name=f"{what}_offset")
        return address, offset

    # Where each block argument comes from, computed once: ("data", column
    # pointer at its offset, dtype) or ("bits", bitmap, bit offset).
    sources = []
    string_offsets = {}
    view_columns = {}
    offset_bounds = {}
    longest_string = {}  # offsets[] of a string column's bytes slot: for views, the longest one
    for column in layout.columns:
        ident = identifier(column.name)
        address, offset = slot(column.data_slot, ident)
        if column.is_bitmap:
            sources.append(("bits", address, offset, ident))
        elif column.dtype.is_view:
            data = b.gep(address, [offset], source_etype=VIEW, name=f"{ident}_views")
            sources.append(("views", data, column.dtype, ident))
            view_columns[column.name] = column
        elif column.dtype.is_string:
            offset_type = ir.IntType(column.dtype.offset_bits)
            data = b.gep(address, [offset], source_etype=offset_type, name=f"{ident}_offsets")
            sources.append(("offsets", data, column.dtype, ident))
            string_offsets[column.name] = data
        else:
            data = b.gep(address, [offset], source_etype=column.dtype.llvm, name=ident)
            sources.append(("data", data, column.dtype, ident))
        if column.validity_slot is not None:
            validity, validity_offset = slot(column.validity_slot, f"{ident}_validity")
            sources.append(("bits", validity, validity_offset, f"{ident}_valid"))
        if column.bytes_slot is not None:
            string_bytes, longest = slot(column.bytes_slot, f"{ident}_bytes")
            sources.append(("fixed", string_bytes, None, f"{ident}_bytes"))
            longest_string[column.name] = longest
            if not column.dtype.is_view:  # offsets[bytes slot]: the run's last offset
                offset_type = ir.IntType(column.dtype.offset_bits)
                run_first = b.load(string_offsets[column.name], typ=offset_type, name=f"{ident}_run_first")
                if column.dtype.offset_bits < 64:
                    run_first = b.sext(run_first, I64)
                offset_bounds[column.name] = (run_first, longest)
        if column.dtype.is_view:
            sources.append(("rows", None, None, f"{ident}_rows"))
    scratch_source = None
    if layout.scratch is not None:
        arena, capacity = slot(layout.scratch_slot, "scratch")
        scratch_source = (arena, capacity, string_offsets, longest_string)
    # The last, partial block is copied into zeroed 64-row buffers, so that
    # every block runs the same (vectorized) code and nothing reads past the data.
    padded = {}  # by position in `sources`: identifiers can coincide (a column named `x_valid`)
    for k, (kind, _, dtype, ident) in enumerate(sources):
        # 64 values, 65 string offsets, or the 9 bytes at most that hold 64 bits at a bit offset.
        if kind in ("fixed", "views", "rows"):
            continue
        if kind == "data":
            array = ir.ArrayType(dtype.llvm, BLOCK_ROWS)
        elif kind == "offsets":
            array = ir.ArrayType(ir.IntType(dtype.offset_bits), BLOCK_ROWS + 1)
        else:
            array = ir.ArrayType(I8, 16)
        buffer = b.alloca(array, name=f"{ident}_tail")
        buffer.align = 64
        buffer.type = PTR
        padded[k] = buffer

    entry = b.block
    blocks = kernel.append_basic_block("blocks")
    block_start = kernel.append_basic_block("block")
    full = kernel.append_basic_block("full_block")
    partial = kernel.append_basic_block("partial_block")
    evaluate = kernel.append_basic_block("evaluate")
    done = kernel.append_basic_block("done")
    b.branch(blocks)

    b.position_at_end(blocks)
    row0 = b.phi(I64, name="row0")
    row0.add_incoming(start, entry)
    if counts:
        total = b.phi(I64, name="total")
        total.add_incoming(ir.Constant(I64, 0), entry)
    b.cbranch(b.icmp_signed("<", row0, end, name="more_rows"), block_start, done)

    b.position_at_end(block_start)
    remaining = b.sub(end, row0, name="remaining")
    is_full = b.icmp_signed(">=", remaining, ir.Constant(I64, BLOCK_ROWS), name="is_full")
    b.cbranch(is_full, full, partial)

    b.position_at_end(full)
    full_args = []
    for kind, pointer, extra_value, ident in sources:
        if kind == "fixed":
            full_args.append(pointer)
        elif kind == "rows":
            full_args.append(ir.Constant(I64, BLOCK_ROWS))
        elif kind == "views":
            full_args.append(b.gep(pointer, [row0], source_etype=VIEW, name=f"{ident}_block"))
        elif kind == "offsets":
            offset_type = ir.IntType(extra_value.offset_bits)
            full_args.append(b.gep(pointer, [row0], source_etype=offset_type, name=f"{ident}_block"))
        elif kind == "data":
            full_args.append(b.gep(pointer, [row0], source_etype=extra_value.llvm, name=f"{ident}_block"))
        else:
            bit = b.add(extra_value, row0, name=f"{ident}_bit")
            full_args.append(b.call(word_loader, [pointer, bit], name=f"{ident}_word"))
    b.branch(evaluate)

    b.position_at_end(partial)
    partial_args = []
    for k, (kind, pointer, extra_value, ident) in enumerate(sources):
        tail = padded.get(k)
        if kind == "fixed":
            partial_args.append(pointer)
        elif kind == "rows":
            partial_args.append(remaining)
        elif kind == "views":  # read in place (see _load_view)
            partial_args.append(b.gep(pointer, [row0], source_etype=VIEW, name=f"{ident}_rest"))
        elif kind == "offsets":  # rows + 1 offsets; the padding stays 0 (empty strings)
            width = extra_value.offset_bits // 8
            offset_type = ir.IntType(extra_value.offset_bits)
            b.call(_memset(mb), [tail, ir.Constant(I8, 0), ir.Constant(I64, width * (BLOCK_ROWS + 1)),
                                 ir.Constant(I1, 0)])
            first = b.gep(pointer, [row0], source_etype=offset_type, name=f"{ident}_rest")
            count = b.add(remaining, ir.Constant(I64, 1), name=f"{ident}_rest_count")
            size = b.mul(count, ir.Constant(I64, width), name=f"{ident}_rest_bytes")
            b.call(_memcpy(mb), [tail, first, size, ir.Constant(I1, 0)])
            _fill_offsets(b, tail, count, offset_type)
            partial_args.append(tail)
        elif kind == "data":
            width = extra_value.bits // 8
            b.call(_memset(mb), [tail, ir.Constant(I8, 0), ir.Constant(I64, width * BLOCK_ROWS),
                                 ir.Constant(I1, 0)])
            first = b.gep(pointer, [row0], source_etype=extra_value.llvm, name=f"{ident}_rest")
            size = b.mul(remaining, ir.Constant(I64, width), name=f"{ident}_rest_bytes")
            b.call(_memcpy(mb), [tail, first, size, ir.Constant(I1, 0)])
            partial_args.append(tail)
        else:
            # Copy the bytes that hold the remaining bits, then read the word from the copy.
            bit = b.add(extra_value, row0, name=f"{ident}_bit")
            byte = b.lshr(bit, ir.Constant(I64, 3), name=f"{ident}_byte")
            shift = b.and_(bit, ir.Constant(I64, 7), name=f"{ident}_shift")
            bits = b.add(shift, remaining, name=f"{ident}_rest_bits")
            rounded = b.add(bits, ir.Constant(I64, 7), name=f"{ident}_rest_bits_up")
            size = b.lshr(rounded, ir.Constant(I64, 3), name=f"{ident}_rest_bytes")
            b.call(_memset(mb), [tail, ir.Constant(I8, 0), ir.Constant(I64, 16), ir.Constant(I1, 0)])
            first = b.gep(pointer, [byte], source_etype=I8, name=f"{ident}_rest")
            b.call(_memcpy(mb), [tail, first, size, ir.Constant(I1, 0)])
            partial_args.append(b.call(word_loader, [tail, shift], name=f"{ident}_word"))
    partial_end = b.block
    b.branch(evaluate)

    b.position_at_end(evaluate)
    block_args = []
    for (_, _, _, ident), from_full, from_partial in zip(sources, full_args, partial_args):
        merged = b.phi(from_full.type, name=f"{ident}_input")
        merged.add_incoming(from_full, full)
        merged.add_incoming(from_partial, partial_end)
        block_args.append(merged)
    rows = b.phi(I64, name="rows")
    rows.add_incoming(ir.Constant(I64, BLOCK_ROWS), full)
    rows.add_incoming(remaining, partial_end)
    done_rows = b.sub(row0, start, name="done_rows")
    scratch = _block_scratch(b, layout, scratch_source, row0)
    in_order = _offsets_in_order(b, layout, block_args, offset_bounds)
    zero = ir.Constant(I64, 0)
    if in_order is None:
        added = on_block(Block(b, block_args, params, row0, done_rows, rows, is_full, extra_args, scratch))
    else:  # a block whose offsets decrease is skipped and reported (see Kernel.check_offsets)
        with b.if_else(in_order, likely=True) as (then, otherwise):
            with then:
                in_order_added = on_block(Block(b, block_args, params, row0, done_rows, rows, is_full,
                                                extra_args, scratch))
                in_order_block = b.block
            with otherwise:
                for column in layout.columns:
                    if column.dtype.is_string and not column.dtype.is_view:
                        status = b.gep(offsets, [ir.Constant(I64, column.bytes_slot)], source_etype=I64)
                        b.store(ir.Constant(I64, -1), status)
                skipped_block = b.block
        added = None
        if counts:
            added = b.phi(I64, name="block_count")
            added.add_incoming(in_order_added, in_order_block)
            added.add_incoming(zero, skipped_block)
    next_row0 = b.add(row0, ir.Constant(I64, BLOCK_ROWS), name="next_row0")
    row0.add_incoming(next_row0, b.block)
    if counts:
        total.add_incoming(b.add(total, added, name="next_total"), b.block)
    b.branch(blocks)

    b.position_at_end(done)
    if counts:
        b.ret(total)
    else:
        b.ret_void()
    return kernel


def _fill_offsets(b: ir.IRBuilder, tail: ir.Value, count: ir.Value, offset_type: ir.Type) -> None:
    """The padding rows of the last block repeat the last offset: empty strings at the end."""
    last = b.load(b.gep(tail, [b.sub(count, ir.Constant(I64, 1))], source_etype=offset_type), typ=offset_type,
                  name="last_offset")
    entry = b.block
    loop = b.append_basic_block("pad_offsets")
    done = b.append_basic_block("padded_offsets")
    b.cbranch(b.icmp_signed("<", count, ir.Constant(I64, BLOCK_ROWS + 1)), loop, done)
    b.position_at_end(loop)
    k = b.phi(I64, name="k")
    k.add_incoming(count, entry)
    b.store(last, b.gep(tail, [k], source_etype=offset_type))
    next_k = b.add(k, ir.Constant(I64, 1), name="next_k")
    k.add_incoming(next_k, loop)
    branch = b.cbranch(b.icmp_signed("<", next_k, ir.Constant(I64, BLOCK_ROWS + 1)), loop, done)
    _scalar_loop(b.module, branch)  # at most 64 stores once per call: not worth vector code
    b.position_at_end(done)


def _offsets_in_order(b: ir.IRBuilder, layout: KernelLayout, block_args: list[ir.Value],
                      bounds: dict) -> ir.Value | None:
    """1 when every utf8/large_utf8 column's 65 offsets of the block never decrease and lie between
    the run's first and last offset.

    Python checked those two (0 <= first <= last <= the data size), so every
    string of a block that passes lies inside the data, and a block's scratch
    region (counted from the first offset) is inside the scratch memory. One
    vector compare per column and block instead of a pass over the offsets
    before the kernel.
    """
    checks = []
    for index, column in enumerate(layout.columns):
        if not column.dtype.is_string or column.dtype.is_view:
            continue
        offsets = block_args[_input_position(layout, index)]
        offset_type = ir.IntType(column.dtype.offset_bits)
        vector = ir.VectorType(offset_type, BLOCK_ROWS)
        starts = b.load(offsets, typ=vector, name="block_starts", align=1)
        ends = b.load(b.gep(offsets, [ir.Constant(I64, 1)], source_etype=offset_type), typ=vector,
                      name="block_ends", align=1)
        ordered = b.bitcast(b.icmp_signed("<=", starts, ends, name="ordered"), I64)
        checks.append(b.icmp_unsigned("==", ordered, ir.Constant(I64, -1), name="in_order"))
        low, high = bounds[column.name]
        first = b.extract_element(starts, ir.Constant(ir.IntType(32), 0))
        last = b.extract_element(ends, ir.Constant(ir.IntType(32), BLOCK_ROWS - 1))
        if column.dtype.offset_bits < 64:
            first, last = b.sext(first, I64), b.sext(last, I64)
        checks.append(b.icmp_signed(">=", first, low, name="after_first"))
        checks.append(b.icmp_signed("<=", last, high, name="before_last"))
    if not checks:
        return None
    result = checks[0]
    for check in checks[1:]:
        result = b.and_(result, check, name="all_in_order")
    return result


SCRATCH_HEADER = 16  # the overflow flag, then the scratch bytes


def _block_scratch(b: ir.IRBuilder, layout: KernelLayout, source, row0: ir.Value) -> list[ir.Value]:
    """The block's scratch region: where the plan's sum for rows before ``row0`` ends."""
    if source is None:
        return []
    arena, capacity, string_offsets, longest_string = source
    plan = layout.scratch
    position = b.mul(row0, ir.Constant(I64, plan.per_row), name="scratch_rows")
    for name, per_byte in plan.per_byte:
        column = next(c for c in layout.columns if c.name == name)
        if column.dtype.is_view:  # a view column counts as its longest string on every row
            before = b.mul(b.mul(row0, longest_string[name]), ir.Constant(I64, per_byte))
            position = b.add(position, before, name="scratch_position")
            continue
        offset_type = ir.IntType(column.dtype.offset_bits)
        offsets = string_offsets[name]
        first = b.load(offsets, typ=offset_type, name="first_offset")
        here = b.load(b.gep(offsets, [row0], source_etype=offset_type), typ=offset_type, name="block_offset")
        if column.dtype.offset_bits < 64:
            first, here = b.sext(first, I64), b.sext(here, I64)
        before = b.mul(b.sub(here, first), ir.Constant(I64, per_byte), name="scratch_bytes_before")
        position = b.add(position, before, name="scratch_position")
    header = ir.Constant(I64, SCRATCH_HEADER)
    base = b.gep(arena, [b.add(position, header)], source_etype=I8, name="block_scratch")
    limit = b.gep(arena, [b.add(capacity, header)], source_etype=I8, name="scratch_limit")
    return [base, limit, arena]


def row_mask(b: ir.IRBuilder, rows: ir.Value, is_full: ir.Value) -> ir.Value:
    """The bits of a block's real rows: all 64, or the first ``rows`` of the last block."""
    # (`1 << 64` is poison in LLVM, but select never looks at the arm it does not pick.)
    low_bits = b.sub(b.shl(ir.Constant(I64, 1), rows, name="one_past"), ir.Constant(I64, 1),
                     name="low_bits")
    return b.select(is_full, ir.Constant(I64, -1), low_bits, name="row_mask")


def generate(typed: tir.TypedNode, layout: KernelLayout, name: str = "arrowjit",
             sources: dict[str, tir.TypedNode] | None = None) -> ir.Module:
    """The LLVM module of the filter kernel for ``typed`` reading columns as ``layout`` says.

    ``filter_kernel(buffers, offsets, params, start, end, out)`` writes the
    bitmap of the rows where ``typed`` is true to ``out`` and returns how many
    there are (so a count needs no second pass over the bitmap).
    """
    mb = ModuleBuilder(name)
    block = _block_function(mb, typed, layout)
    uniform = uniform_candidate(typed)
    uniform_block = _block_function(mb, typed, layout, uniform) if uniform is not None else None

    def store_word(blk: Block) -> None:
        b = blk.builder
        if uniform_block is None:
            word = b.call(block, blk.block_arguments(), name="word")
        else:  # blocks whose strings all have the literal's length read them at a fixed stride
            column_index = [c.name for c in layout.columns].index(uniform[0])
            offsets = blk.inputs[_input_position(layout, column_index)]
            is_uniform = _all_lengths(b, offsets, layout.columns[column_index].dtype, uniform[1])
            with b.if_else(is_uniform) as (then, otherwise):
                with then:
                    fast = b.call(uniform_block, blk.block_arguments(), name="uniform_word")
                    fast_block = b.block
                with otherwise:
                    slow = b.call(block, blk.block_arguments(), name="word")
                    slow_block = b.block
            word = b.phi(I64, name="block_word")
            word.add_incoming(fast, fast_block)
            word.add_incoming(slow, slow_block)
        kept = b.and_(word, row_mask(b, blk.rows, blk.is_full), name="kept")
        index = b.lshr(blk.done_rows, ir.Constant(I64, 6), name="word_index")
        b.store(kept, b.gep(blk.extra[0], [index], source_etype=I64, name="out_word"))
        return b.call(_ctpop(mb), [kept], name="kept_rows")

    _kernel(mb, layout, ["out"], store_word, counts=True)
    if sources is not None:  # which node each named value computes (source_map.py)
        sources.update(mb.sources)
    return mb.module


def _ctpop(mb: ModuleBuilder) -> ir.Function:
    """LLVM's population count of an i64 (one ``popcnt`` instruction)."""
    name = "llvm.ctpop.i64"
    if name not in mb.module.globals:
        ir.Function(mb.module, ir.FunctionType(I64, [I64]), name)
    return mb.module.globals[name]


def _input_position(layout: KernelLayout, column_index: int) -> int:
    """Where a column's first block argument is among the block function's inputs."""
    position = 0
    for column in layout.columns[:column_index]:
        position += len(column.slots) + (1 if column.dtype.is_view else 0)
    return position


def _memset(mb: ModuleBuilder) -> ir.Function:
    name = "llvm.memset.p0.i64"
    if name not in mb.module.globals:
        ir.Function(mb.module, ir.FunctionType(ir.VoidType(), [PTR, I8, I64, I1]), name)
    return mb.module.globals[name]


def _memcpy(mb: ModuleBuilder) -> ir.Function:
    name = "llvm.memcpy.p0.p0.i64"
    if name not in mb.module.globals:
        ir.Function(mb.module, ir.FunctionType(ir.VoidType(), [PTR, PTR, I64, I1]), name)
    return mb.module.globals[name]


# ---------------------------------------------------------------------------
# Projection kernels: compute values instead of a predicate.
# ---------------------------------------------------------------------------

def _projection_block(mb: ModuleBuilder, outputs: Sequence[tir.TypedNode],
                      layout: KernelLayout) -> ir.Function:
    """``project_block(columns..., params, out0, out0_valid, ...)``: one block of every output.

    A fixed-width output's values go to ``out<k>`` (64 slots); a bool
    output's values and every output's validity go out as one word each.
    """
    params = _block_params(layout)
    for k in range(len(outputs)):
        params += [(f"out{k}", PTR), (f"out{k}_valid", PTR)]
    fn, b = mb.helper("project_block", ir.VoidType(), params)
    targets = fn.args[len(params) - 2 * len(outputs):]
    value_bytes = [_byte_buffer(b, f"out{k}_bits") if node.dtype == T.BOOL else None
                   for k, node in enumerate(outputs)]
    valid_bytes = [_byte_buffer(b, f"out{k}_valid_bits") for k in range(len(outputs))]
    never_null = [False] * len(outputs)

    def per_row(b: ir.IRBuilder, j: ir.Value, row: RowContext) -> None:
        for k, node in enumerate(outputs):
            result = emit(node, row)
            if value_bytes[k] is not None:
                slot = b.gep(value_bytes[k], [j], source_etype=I8, name=f"out{k}_bit_slot")
                b.store(b.zext(result.value, I8, name=f"out{k}_byte"), slot)
            else:
                slot = b.gep(targets[2 * k], [j], source_etype=node.dtype.llvm, name=f"out{k}_slot")
                b.store(result.value, slot)
            if result.valid is None:
                never_null[k] = True
            else:
                slot = b.gep(valid_bytes[k], [j], source_etype=I8, name=f"out{k}_valid_slot")
                b.store(b.zext(result.valid, I8, name=f"out{k}_valid_byte"), slot)

    _block_body(mb, fn, b, layout, per_row)
    for k in range(len(outputs)):
        if value_bytes[k] is not None:
            b.store(_pack(b, value_bytes[k], f"out{k}_word"), targets[2 * k])
        valid = ir.Constant(I64, -1) if never_null[k] else _pack(b, valid_bytes[k], f"out{k}_valid_word")
        b.store(valid, targets[2 * k + 1])
    b.ret_void()
    return fn


def generate_projection(outputs: Sequence[tir.TypedNode], layout: KernelLayout,
                        name: str = "arrowjit",
                        sources: dict[str, tir.TypedNode] | None = None) -> ir.Module:
    """The LLVM module of a projection kernel computing every expression of ``outputs``.

    ``projection_kernel(buffers, offsets, params, start, end, outs)``: ``outs``
    holds, per output, the address of its values (a bitmap for bool) and of
    its validity bitmap; row ``start + i`` goes to slot ``i``.
    """
    mb = ModuleBuilder(name)
    block = _projection_block(mb, outputs, layout)

    def store_block(blk: Block) -> None:
        b = blk.builder
        args = []
        finish = []
        word_index = b.lshr(blk.done_rows, ir.Constant(I64, 6), name="word_index")
        keep = row_mask(b, blk.rows, blk.is_full)
        for k, node in enumerate(outputs):
            base = b.load(b.gep(blk.extra[0], [ir.Constant(I64, 2 * k)], source_etype=PTR), typ=PTR,
                          name=f"out{k}_base")
            valid_base = b.load(b.gep(blk.extra[0], [ir.Constant(I64, 2 * k + 1)], source_etype=PTR),
                                typ=PTR, name=f"out{k}_valid_base")
            word_slot = _word_slot(b, f"out{k}_valid_scratch")
            if node.dtype == T.BOOL:
                value_slot = _word_slot(b, f"out{k}_word_scratch")
                args += [value_slot, word_slot]
                finish.append((value_slot, base))
            else:
                direct = b.gep(base, [blk.done_rows], source_etype=node.dtype.llvm, name=f"out{k}_block")
                scratch = _scratch(b, node.dtype, f"out{k}_scratch")
                args += [b.select(blk.is_full, direct, scratch, name=f"out{k}_target"), word_slot]
                finish.append((scratch, direct, node.dtype))
            finish.append((word_slot, valid_base))
        b.call(block, [*blk.block_arguments(), *args])
        copies = []
        for item in finish:
            if len(item) == 2:  # a word: keep the block's rows, store it
                slot, base = item
                word = b.and_(b.load(slot, typ=I64), keep, name="kept")
                b.store(word, b.gep(base, [word_index], source_etype=I64, name="out_word"))
            else:
                copies.append(item)
        if copies:  # the last block's values were written to scratch: copy its rows out
            with b.if_then(b.not_(blk.is_full)):
                for scratch, direct, dtype in copies:
                    size = b.mul(blk.rows, ir.Constant(I64, value_bytes(dtype)), name="rest_bytes")
                    b.call(_memcpy(mb), [direct, scratch, size, ir.Constant(I1, 0)])

    _kernel(mb, layout, ["outs"], store_block, PROJECTION_KERNEL_NAME)
    if sources is not None:
        sources.update(mb.sources)
    return mb.module


def value_bytes(dtype: DType) -> int:
    """Bytes per value a projection kernel writes: a string is its {pointer, length} view."""
    return 16 if dtype.is_string else dtype.bits // 8


def _alloca_at_entry(b: ir.IRBuilder, array: ir.Type, name: str) -> ir.Value:
    """A stack slot made in the function's entry block (so a loop does not grow the stack)."""
    function_entry = b.function.entry_basic_block
    with b.goto_block(function_entry):
        b.position_at_start(function_entry)
        slot = b.alloca(array, name=name)
    slot.align = 64
    slot.type = PTR
    return slot


def _word_slot(b: ir.IRBuilder, name: str) -> ir.Value:
    return _alloca_at_entry(b, I64, name)


def _scratch(b: ir.IRBuilder, dtype: DType, name: str) -> ir.Value:
    return _alloca_at_entry(b, ir.ArrayType(dtype.llvm, BLOCK_ROWS), name)
