"""Per-row expression code: typed IR -> LLVM values for one row.

Each typed IR node type has its own small emitter (registered with
``functools.singledispatch``). An emitter returns an :class:`Emitted`: the
node's value for the current row and its validity bit, or ``None`` for the
validity when the value can never be null, so data without nulls carries no
null logic at all. Operators and functions are calls to the registry's small
``alwaysinline`` functions, which :class:`ModuleBuilder` creates on first use.
Everything is branch-free, so the loop around it vectorizes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import singledispatch

from llvmlite import ir

from . import typed_ir as tir
from . import types as T
from .registry import FunctionSpec, NullHandling
from .source_map import label
from .strings import SCRATCH_SLACK

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I64 = ir.IntType(64)
PTR = ir.PointerType()
TRUE = ir.Constant(I1, 1)
FALSE = ir.Constant(I1, 0)


@dataclass(frozen=True)
class Emitted:
    """A sub-expression's value for one row, and its validity (None: never null)."""

    value: ir.Value
    valid: ir.Value | None


def identifier(name: str) -> str:
    """A readable LLVM value name for a column (short: LLVM cuts long value names)."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name) or "column"
    if len(cleaned) > 40:
        cleaned = f"{cleaned[:32]}_{hashlib.sha256(name.encode()).hexdigest()[:7]}"
    return cleaned


class ModuleBuilder:
    """Builds one kernel module; creates each registry function the first time it is needed."""

    def __init__(self, name: str):
        self.module = ir.Module(name=name)
        self._functions: dict[str, ir.Function] = {}
        self._strings: dict[bytes, ir.GlobalVariable] = {}
        # Which typed IR node each named value computes (for source comments, source_map.py).
        self.sources: dict[str, tir.TypedNode] = {}

    def note(self, node: tir.TypedNode, *values: ir.Value | None) -> None:
        """Record that ``values`` (instructions, by their names) compute ``node``."""
        for value in values:
            if isinstance(value, ir.Instruction):
                self.sources.setdefault(value.name, node)

    def function(self, spec: FunctionSpec) -> ir.Function:
        """The LLVM function for a registry row, emitted on first use."""
        existing = self._functions.get(spec.symbol)
        if existing is not None:
            return existing
        value_types = [t.llvm for t in spec.arg_types]
        takes_validity = spec.nulls is not NullHandling.NULL_IF_NULL
        params = value_types + ([I1] * len(value_types) if takes_validity else [])
        if spec.scratch:
            params = [PTR, *params]
        returns = spec.return_type.llvm
        if spec.nulls is NullHandling.NULL_INTERNAL:
            returns = ir.LiteralStructType([returns, I1])
        fn = ir.Function(self.module, ir.FunctionType(returns, params), spec.symbol)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        count = len(value_types)
        names = "xyzw"[:count] if count <= 4 else [f"a{k}" for k in range(count)]
        for arg, name in zip(fn.args, [*(["dest"] if spec.scratch else []), *names,
                                       *(f"{n}_valid" for n in names)]):
            arg.name = name
        builder = ir.IRBuilder(fn.append_basic_block("entry"))
        result = spec.emit(builder, *fn.args)
        if spec.nulls is NullHandling.NULL_INTERNAL:
            value, valid = result
            packed = builder.insert_value(ir.Constant(returns, ir.Undefined), value, 0, name="with_value")
            result = builder.insert_value(packed, valid, 1, name="result")
        builder.ret(result)
        self._functions[spec.symbol] = fn
        return fn

    def string_constant(self, text: str) -> ir.Constant:
        """A {pointer, length} view of ``text``'s UTF-8 bytes, kept in a private global."""
        data = text.encode("utf-8")
        name = f"string_{len(self._strings)}"
        existing = self._strings.get(data)
        if existing is None:
            array = ir.ArrayType(I8, len(data))
            existing = ir.GlobalVariable(self.module, array, name)
            existing.global_constant = True
            existing.linkage = "private"
            existing.initializer = ir.Constant(array, bytearray(data))
            self._strings[data] = existing
        pointer = existing.gep([ir.Constant(I64, 0), ir.Constant(I64, 0)])
        return ir.Constant.literal_struct([pointer, ir.Constant(I64, len(data))])

    def helper(self, name: str, returns: ir.Type,
               params: list[tuple[str, ir.Type]]) -> tuple[ir.Function, ir.IRBuilder]:
        """An internal always-inline helper function and a builder at its entry."""
        fn = ir.Function(self.module, ir.FunctionType(returns, [t for _, t in params]), name)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        for arg, (arg_name, _) in zip(fn.args, params):
            arg.name = arg_name
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))


@dataclass(frozen=True)
class Scratch:
    """Where rows that make strings write them (see KernelLayout.scratch): ``cursor`` is a stack
    slot holding the next free byte, ``limit`` the end of the kernel's scratch memory and
    ``overflow`` a flag set (never expected) when a result would not fit."""

    cursor: ir.Value
    limit: ir.Value
    overflow: ir.Value


@dataclass
class RowContext:
    """What expression code needs for one row: the builder and the column loaders."""

    builder: ir.IRBuilder
    module: ModuleBuilder
    load_column: Callable[[str], Emitted]
    parameters: dict[str, Emitted]
    scratch: Scratch | None = None


@singledispatch
def emit(node: tir.TypedNode, row: RowContext) -> Emitted:  # pragma: no cover
    raise TypeError(f"no code generator for {type(node).__name__}")


@emit.register
def _(node: tir.ColumnRef, row: RowContext) -> Emitted:
    loaded = row.load_column(node.name)
    row.module.note(node, loaded.value, loaded.valid)
    return loaded


@emit.register
def _(node: tir.Param, row: RowContext) -> Emitted:
    return row.parameters[node.name]


@emit.register
def _(node: tir.Const, row: RowContext) -> Emitted:
    dtype = node.dtype if node.dtype != T.NULL else T.BOOL
    if node.value is None:
        if dtype.is_string:
            return Emitted(ir.Constant(dtype.llvm, None), FALSE)
        return Emitted(ir.Constant(dtype.llvm, 0 if not dtype.is_float else 0.0), FALSE)
    value = node.value
    if dtype.is_string:
        return Emitted(row.module.string_constant(value), None)
    if dtype.is_integer and value < 0:
        value += 1 << dtype.bits  # LLVM integer constants are bit patterns
    if dtype == T.BOOL:
        value = int(value)
    return Emitted(ir.Constant(dtype.llvm, value), None)


def _and_all(builder: ir.IRBuilder, bits: list[ir.Value | None], name: str) -> ir.Value | None:
    """AND of the bits that are not None (None when all are); the last one is called ``name``."""
    present = [b for b in bits if b is not None]
    if not present:
        return None
    result = present[0]
    for k, bit in enumerate(present[1:], 2):
        result = builder.and_(result, bit, name=name if k == len(present) else f"{name}_part{k - 1}")
    return result


def _or_all(builder: ir.IRBuilder, bits: list[ir.Value], name: str) -> ir.Value:
    result = bits[0]
    for k, bit in enumerate(bits[1:], 2):
        result = builder.or_(result, bit, name=name if k == len(bits) else f"{name}_part{k - 1}")
    return result


def _scratch_destination(spec: FunctionSpec, values: list[ir.Value], row: RowContext) -> list[ir.Value]:
    """The destination for a row that makes a string, and its arguments made safe.

    The kernel's scratch memory is sized so that every result fits; still, a
    result that would not fit is made from an empty input and the overflow
    flag is set (the caller then raises), so nothing is ever written past
    the scratch memory.
    """
    b = row.builder
    if row.scratch is None:  # pragma: no cover - the layout gives scratch to every kernel that needs it
        raise TypeError(f"{spec.symbol} needs scratch memory")
    cursor = b.load(row.scratch.cursor, typ=PTR, name="cursor")
    length = b.extract_value(values[0], 1, name="input_length")
    need = b.add(b.mul(length, ir.Constant(I64, spec.scratch)), ir.Constant(I64, SCRATCH_SLACK), name="need")
    room = b.sub(b.ptrtoint(row.scratch.limit, I64), b.ptrtoint(cursor, I64), name="room")
    fits = b.icmp_unsigned("<=", need, room, name="fits")
    with b.if_then(b.not_(fits), likely=False):
        b.store(ir.Constant(I8, 1), row.scratch.overflow)
    safe_length = b.select(fits, length, ir.Constant(I64, 0), name="safe_length")
    return [cursor, b.insert_value(values[0], safe_length, 1, name="safe_input"), *values[1:]]


def _advance_scratch(result: ir.Value, row: RowContext) -> None:
    b = row.builder
    start = b.extract_value(result, 0, name="made")
    end = b.gep(start, [b.extract_value(result, 1, name="made_length")], source_etype=I8, name="made_end")
    b.store(end, row.scratch.cursor)


def _call(node: tir.TypedNode, spec: FunctionSpec, args: list[Emitted], row: RowContext) -> Emitted:
    b = row.builder
    fn = row.module.function(spec)
    values = [a.value for a in args]
    name = label(node)
    if spec.scratch:
        valid = _and_all(b, [a.valid for a in args], f"{name}_valid")
        made = b.call(fn, _scratch_destination(spec, values, row), name=name)
        _advance_scratch(made, row)
        result = Emitted(made, valid)
        row.module.note(node, result.value, result.valid)
        return result
    if spec.nulls is NullHandling.NULL_IF_NULL:
        valid = _and_all(b, [a.valid for a in args], f"{name}_valid")
        result = Emitted(b.call(fn, values, name=name), valid)
    else:
        validities = [a.valid if a.valid is not None else TRUE for a in args]
        call = b.call(fn, values + validities,
                      name=name if spec.nulls is NullHandling.NULL_NEVER else f"{name}_result")
        if spec.nulls is NullHandling.NULL_NEVER:
            result = Emitted(call, None)
        else:
            result = Emitted(b.extract_value(call, 0, name=name),
                             b.extract_value(call, 1, name=f"{name}_valid"))
    row.module.note(node, result.value, result.valid)
    return result


@emit.register
def _(node: tir.Call, row: RowContext) -> Emitted:
    return _call(node, node.function, [emit(a, row) for a in node.args], row)


@emit.register
def _(node: tir.Cast, row: RowContext) -> Emitted:
    return _call(node, node.function, [emit(node.operand, row)], row)


def truth(b: ir.IRBuilder, e: Emitted) -> ir.Value:
    """1 where the operand is true (valid and set)."""
    return e.value if e.valid is None else b.and_(e.value, e.valid, name="is_true")


def _falsity(b: ir.IRBuilder, e: Emitted) -> ir.Value:
    """1 where the operand is false (valid and clear)."""
    negated = b.not_(e.value, name="not")
    return negated if e.valid is None else b.and_(negated, e.valid, name="is_false")


@emit.register
def _(node: tir.And, row: RowContext) -> Emitted:
    """Kleene and: true if all are true, false if any is false, else null."""
    b = row.builder
    args = [emit(a, row) for a in node.args]
    name = label(node)
    all_true = _and_all(b, [truth(b, a) for a in args], name)
    if all(a.valid is None for a in args):
        row.module.note(node, all_true)
        return Emitted(all_true, None)
    any_false = _or_all(b, [_falsity(b, a) for a in args], f"{name}_any_false")
    result = Emitted(all_true, b.or_(all_true, any_false, name=f"{name}_valid"))
    row.module.note(node, result.value, result.valid)
    return result


@emit.register
def _(node: tir.Or, row: RowContext) -> Emitted:
    """Kleene or: true if any is true, false if all are false, else null."""
    b = row.builder
    args = [emit(a, row) for a in node.args]
    name = label(node)
    any_true = _or_all(b, [truth(b, a) for a in args], name)
    if all(a.valid is None for a in args):
        row.module.note(node, any_true)
        return Emitted(any_true, None)
    all_false = _and_all(b, [_falsity(b, a) for a in args], f"{name}_all_false")
    result = Emitted(any_true, b.or_(any_true, all_false, name=f"{name}_valid"))
    row.module.note(node, result.value, result.valid)
    return result


@emit.register
def _(node: tir.If, row: RowContext) -> Emitted:
    """Both branches are computed (no branch per row); the condition picks one."""
    b = row.builder
    picked = truth(b, emit(node.cond, row))
    then, otherwise = emit(node.then, row), emit(node.otherwise, row)
    name = label(node)
    value = b.select(picked, then.value, otherwise.value, name=name)
    valid = None
    if then.valid is not None or otherwise.valid is not None:
        valid = b.select(picked, then.valid if then.valid is not None else TRUE,
                         otherwise.valid if otherwise.valid is not None else TRUE, name=f"{name}_valid")
    row.module.note(node, value, valid)
    return Emitted(value, valid)


@emit.register
def _(node: tir.Coalesce, row: RowContext) -> Emitted:
    b = row.builder
    args = [emit(a, row) for a in node.args]
    name = label(node)
    value, valid = args[-1].value, args[-1].valid
    for arg in reversed(args[:-1]):
        if arg.valid is None:
            value, valid = arg.value, None
            continue
        value = b.select(arg.valid, arg.value, value, name=name)
        valid = None if valid is None else b.or_(arg.valid, valid, name=f"{name}_valid")
    row.module.note(node, value, valid)
    return Emitted(value, valid)


@emit.register
def _(node: tir.Not, row: RowContext) -> Emitted:
    inner = emit(node.operand, row)
    value = row.builder.not_(inner.value, name=label(node))
    row.module.note(node, value)
    return Emitted(value, inner.valid)


