"""Writing LLVM IR as one writes C: the builder the runtime's native helpers share
(:mod:`.parquet_format`, :mod:`.pagecodec`).

llvmlite's IR builder deals in basic blocks, phi nodes and terminators. A
decoder of file formats is mostly loops, bounds checks and early returns, so
:class:`Function` lets it be written that way: a mutable local is a stack
slot (``var``, ``get``, ``set``; LLVM's mem2reg pass turns them into
registers), ``while_`` and ``loop`` are loops, and ``fail_unless(ok,
status)`` returns ``status`` unless ``ok`` (one shared return block per
status)::

    f = Function(module, "sum_bytes", [("data", PTR), ("size", I64)])
    i, total = f.var("i", 0), f.var("total", 0)
    with f.while_("bytes", lambda: f.ult(f.get(i), size)):
        f.add_to(total, f.byte(data, f.get(i)))
        f.add_to(i, 1)
    f.b.ret(f.get(total))
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


def const(value: int, typ: ir.IntType = I64) -> ir.Constant:
    return ir.Constant(typ, value)


class Function:
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
        self.b.store(init if isinstance(init, ir.Value) else const(init, typ), slot_)
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
        self.set(var, self.b.add(self.get(var), value if isinstance(value, ir.Value) else const(value)))

    def fail_unless(self, ok: ir.Value, status: enum.IntEnum) -> None:
        """Return ``status`` unless ``ok``."""
        block = self._failures.get(status)
        if block is None:
            block = self._failures[status] = self.fn.append_basic_block(f"fail_{status.name.lower()}")
            with self.b.goto_block(block):
                self.b.ret(const(int(status)))
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

    def while_(self, name: str, condition: Callable[[], ir.Value]) -> While:
        return While(self, name, condition)

    def load(self, base: ir.Value, offset: ir.Value, typ: ir.Type, name: str = "") -> ir.Value:
        """An unaligned little-endian load of ``typ`` at ``base + offset`` (bytes)."""
        value = self.b.load(self.b.gep(base, [offset], source_etype=I8), typ=typ, name=name)
        value.align = 1
        return value

    def byte(self, base: ir.Value, offset: ir.Value, name: str = "") -> ir.Value:
        return self.b.zext(self.load(base, offset, I8), I64, name=name)

    def ult(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("<", a, b if isinstance(b, ir.Value) else const(b))

    def ule(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("<=", a, b if isinstance(b, ir.Value) else const(b))

    def eq(self, a: ir.Value, b: ir.Value | int) -> ir.Value:
        return self.b.icmp_unsigned("==", a, b if isinstance(b, ir.Value) else const(b, a.type))

    def varint(self, data: ir.Value, pos: ir.AllocaInstr, end: ir.Value, name: str,
               past_end: enum.IntEnum) -> ir.Value:
        """A ULEB128 at ``data[pos]`` (at most 10 bytes, none at or past ``end``: else return
        ``past_end``); advances ``pos``."""
        result = self.var(f"{name}_value", 0)
        shift = self.var(f"{name}_shift", 0)
        with self.loop(name) as (head, after):
            p = self.get(pos)
            self.fail_unless(self.b.and_(self.ult(p, end), self.ult(self.get(shift), 64)), past_end)
            byte = self.byte(data, p)
            self.set(pos, self.b.add(p, const(1)))
            bits = self.b.shl(self.b.and_(byte, const(0x7F)), self.get(shift))
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
            self.set(value, b.or_(self.get(value), b.shl(byte, b.shl(self.get(k), const(3)))))
            self.add_to(k, 1)
        return self.get(value, name)

    def memcpy_intrinsic(self) -> ir.Function:
        return self.module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])

    def memcpy(self, dst: ir.Value, src: ir.Value, size: ir.Value) -> None:
        self.b.call(self.memcpy_intrinsic(), [dst, src, size, ir.Constant(I1, 0)])


class FunctionPointer:
    """A function pointer loaded from memory, as a callee of ``IRBuilder.call`` (which asks its
    callee for its function type: an opaque pointer has none)."""

    def __init__(self, pointer: ir.Value, function_type: ir.FunctionType) -> None:
        self.pointer, self.function_type, self.type = pointer, function_type, pointer.type

    def get_reference(self) -> str:
        return self.pointer.get_reference()


class While:
    """``while (condition()) { body }``, a context manager (``.head``: continue, ``.after``: break)."""

    def __init__(self, f: Function, name: str, condition: Callable[[], ir.Value]) -> None:
        self.f, self.name, self.condition = f, name, condition

    def __enter__(self) -> While:
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


def cttz(module: ir.Module) -> ir.Function:
    """``llvm.cttz.i64(value, zero is poison)``, declared once (llvmlite's declare_intrinsic leaves
    out the flag)."""
    found = module.globals.get("llvm.cttz.i64")
    if found is None:
        found = ir.Function(module, ir.FunctionType(I64, [I64, I1]), "llvm.cttz.i64")
    return found
