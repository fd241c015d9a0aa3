"""User functions: registry rows written in Python, compiled like the built-ins.

``arrowjit.register_function("clamp", ["float64"] * 3, "float64", emit)``
adds a row to a :class:`Functions` set layered over the built-in registry.
The row takes exactly the built-ins' path: the type checker resolves calls
to it by name and argument types (with the same implicit widening casts),
the code generator turns it into an ``internal alwaysinline`` LLVM function
named Gandiva style (``clamp_float64_float64_float64``), and O3 inlines and
vectorizes it into the kernel.

The ``emit`` callback writes the function's body with an llvmlite
``IRBuilder`` positioned in the function's entry block:

* ``nulls="null_if_null"`` (the default): ``emit(builder, args)`` gets the
  argument values (a tuple of ``ir.Value``) and returns the result value;
  the result is null wherever an argument is, and the callback never sees
  a null.
* ``nulls="null_never"``: ``emit(builder, args, valid)`` also gets each
  argument's validity (a tuple of ``i1`` values, 1 = not null; the value of
  a null argument is unspecified) and returns a value that is never null.
* ``nulls="null_internal"``: ``emit(builder, args, valid)`` returns a pair
  ``(value, is_valid)``: the function decides where its result is null.

Values arrive as LLVM types: ``i1`` for bool, ``iN`` for integers (signed
or not: the operation decides, e.g. ``icmp_signed``), ``double``/``float``,
and ``{ptr, i64}`` (pointer and byte length) for strings. The callback may
add blocks (``builder.append_basic_block``) but should leave no branch per
row where a ``select`` will do, so that the loop still vectorizes.

No hidden global state: a :class:`Functions` object is a value the caller
holds and hands to ``compile_filter(..., registry=...)``; ``arrowjit.functions``
is the process's default one, which ``arrowjit.register_function`` fills.
Every compile takes an immutable snapshot (a :class:`LayeredRegistry`);
its fingerprint, and each called function's hash of its IR, are part of
the cache keys, so a function registered again with another body
(``replace=True``) never meets code compiled for the old one.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain

import llvmlite.binding as llvm
import pyarrow as pa

from ..errors import ArgumentError
from . import types as T
from .ast import KEYWORDS
from .emit import ModuleBuilder
from .jit import _COMPILE_LOCK
from .registry import BUILTINS, CALLABLE_FUNCTIONS, FunctionSpec, NullHandling, Registry
from .types import DType

TypeLike = str | pa.DataType | DType
UserEmit = Callable[..., object]

# Names the type checker treats itself (typecheck.SPECIAL_FUNCTIONS), never a registry row.
RESERVED = frozenset({"if", "coalesce", "nullif", "cast"})
_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def to_dtype(type_: TypeLike, what: str) -> DType:
    """A DType from a type as schemas write it: ``"float64"``, ``pa.float64()`` (or a DType)."""
    if isinstance(type_, DType):
        dtype = type_
    else:
        try:
            arrow_type = T.arrow_type_from_name(type_) if isinstance(type_, str) else type_
        except ValueError as e:
            raise ArgumentError(f"{what}: {e}") from None
        if not isinstance(arrow_type, pa.DataType):
            raise ArgumentError(f"{what}: {type_!r} is not a type name or a pyarrow type")
        dtype = T.from_arrow(arrow_type)
        if dtype is None:
            raise ArgumentError(f"{what}: arrowjit cannot evaluate {arrow_type} (bool, integers, floats, "
                                "strings)")
    if dtype.kind in (T.Kind.PENDING, T.Kind.NULL):
        raise ArgumentError(f"{what}: {dtype} is not a value type")
    if dtype == T.LARGE_UTF8:
        dtype = T.UTF8  # in registers both are the same {pointer, length} view
    return dtype


def _adapt(emit: UserEmit, nulls: NullHandling, arity: int) -> Callable[..., object]:
    """The registry's calling convention (values, then validities, as positional arguments)."""
    if nulls is NullHandling.NULL_IF_NULL:
        return lambda builder, *values: emit(builder, tuple(values))
    return lambda builder, *values: emit(builder, tuple(values[:arity]), tuple(values[arity:]))


def _body_hash(spec: FunctionSpec) -> str:
    """Emit ``spec``'s LLVM function on its own, check it with LLVM, and hash its text."""
    module = ModuleBuilder("probe")
    what = spec.signature()
    try:
        function = module.function(spec)
    except Exception as e:
        raise ArgumentError(f"{what}: the emit callback failed: {type(e).__name__}: {e}") from e
    returned = function.blocks[-1].terminator if function.blocks else None
    expected = function.return_value.type
    if returned is not None and returned.operands and returned.operands[0].type != expected:
        got = returned.operands[0].type
        shape = "a (value, valid) pair" if spec.nulls is NullHandling.NULL_INTERNAL else "a value"
        raise ArgumentError(f"{what}: the emit callback must return {shape} of LLVM type "
                            f"{spec.return_type.llvm}, but it returned {got}")
    text = str(module.module)
    try:
        with _COMPILE_LOCK:  # LLVM's context is shared with the compiles of other threads
            llvm.parse_assembly(text).verify()
    except RuntimeError as e:
        raise ArgumentError(f"{what}: LLVM rejects the IR the emit callback wrote: {e}\n{text}") from None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class LayeredRegistry(Registry):
    """An immutable view: the built-in rows, and user rows (whose names differ from theirs)."""

    def __init__(self, base: Registry, rows: Iterable[FunctionSpec]):
        super().__init__(rows)
        self.base = base
        digest = hashlib.sha256()
        for row in sorted(self._rows.values(), key=lambda r: r.symbol):
            digest.update(f"{row.signature()} {row.nulls.value} {row.fingerprint}\n".encode())
        self._fingerprint = digest.hexdigest()[:32] if self._rows else base.fingerprint

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def user_functions(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_name))

    def __iter__(self) -> Iterator[FunctionSpec]:
        return chain(self.base, self._rows.values())

    def __len__(self) -> int:
        return len(self.base) + len(self._rows)

    def names(self) -> list[str]:
        return sorted({*self.base.names(), *self._by_name})

    def lookup(self, name: str, arg_types: tuple[DType, ...]) -> FunctionSpec | None:
        return self._rows.get((name, tuple(arg_types))) or self.base.lookup(name, arg_types)

    def overloads(self, name: str) -> list[FunctionSpec]:
        return super().overloads(name) if name in self._by_name else self.base.overloads(name)

    def resolve(self, name: str, arg_types: tuple[DType, ...]) -> FunctionSpec | None:
        if name in self._by_name:
            return super().resolve(name, arg_types)
        return self.base.resolve(name, arg_types)


class Functions:
    """A set of user functions layered over the built-ins; hand it to ``compile_filter(registry=...)``.

    Thread safe. ``snapshot()`` is what a compile uses: an immutable
    registry of the built-ins and the functions registered so far.
    """

    def __init__(self, base: Registry = BUILTINS):
        self._base = base
        self._rows: dict[tuple[str, tuple[DType, ...]], FunctionSpec] = {}
        self._lock = threading.Lock()
        self._snapshot: Registry = base

    def register(self, name: str, arg_types: Sequence[TypeLike], return_type: TypeLike, emit: UserEmit,
                 nulls: str | NullHandling = "null_if_null", doc: str = "",
                 replace: bool = False) -> FunctionSpec:
        """Add the function ``name(arg_types) -> return_type``, whose body ``emit`` writes.

        Raises ArgumentError for a name that is a keyword or a built-in, a
        type arrowjit cannot evaluate, an emit callback whose IR LLVM rejects,
        or a name and argument types registered before (unless ``replace``).
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ArgumentError(f"function name {name!r}: use lower case letters, digits and _ "
                                "(not starting with a digit)")
        if name in KEYWORDS or name in RESERVED:
            raise ArgumentError(f"{name!r} is a keyword of the expression language, not a function name")
        if name in CALLABLE_FUNCTIONS or self._base.overloads(name):
            raise ArgumentError(f"{name!r} is a built-in function; choose another name")
        if isinstance(arg_types, str | pa.DataType | DType) or not isinstance(arg_types, Sequence):
            raise ArgumentError(f"{name}: arg_types must be a list of types, e.g. ['float64', 'float64']")
        if not arg_types:
            raise ArgumentError(f"{name}: a function takes at least one argument")
        args = tuple(to_dtype(t, f"{name} argument {k + 1}") for k, t in enumerate(arg_types))
        returns = to_dtype(return_type, f"{name} return type")
        if returns.is_string:
            raise ArgumentError(f"{name}: a function cannot return a string yet (bool, integers, floats)")
        try:
            handling = nulls if isinstance(nulls, NullHandling) else NullHandling(str(nulls).lower())
        except ValueError:
            choices = ", ".join(repr(n.value) for n in NullHandling)
            raise ArgumentError(f"{name}: nulls must be one of {choices}, not {nulls!r}") from None
        if not callable(emit):
            raise ArgumentError(f"{name}: emit must be a function emit(builder, args) -> value")
        row = FunctionSpec(name, args, returns, handling, _adapt(emit, handling, len(args)), doc)
        row = FunctionSpec(name, args, returns, handling, row.emit, doc, fingerprint=_body_hash(row))
        with self._lock:
            key = (name, args)
            if key in self._rows and not replace:
                raise ArgumentError(f"{row.signature()} is registered already; pass replace=True to "
                                    "replace it")
            self._rows[key] = row
            self._snapshot = LayeredRegistry(self._base, self._rows.values())
        return row

    def unregister(self, name: str) -> None:
        """Remove every overload of the user function ``name``."""
        with self._lock:
            keys = [key for key in self._rows if key[0] == name]
            if not keys:
                raise ArgumentError(f"no user function named {name!r}")
            for key in keys:
                del self._rows[key]
            self._snapshot = LayeredRegistry(self._base, self._rows.values()) if self._rows else self._base

    def snapshot(self) -> Registry:
        """The registry a compile uses now: the built-ins and the functions registered so far."""
        return self._snapshot

    def __iter__(self) -> Iterator[FunctionSpec]:
        return iter(list(self._rows.values()))

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, name: object) -> bool:
        return any(key[0] == name for key in self._rows)

    def __repr__(self) -> str:
        listed = ", ".join(row.signature() for row in self)
        return f"<arrowjit.Functions: {listed or 'no user functions'}>"


def as_registry(registry: Functions | Registry | None, default: Functions) -> Registry:
    """The registry snapshot a compile uses (``registry`` None: the process default)."""
    if registry is None:
        return default.snapshot()
    if isinstance(registry, Functions):
        return registry.snapshot()
    if isinstance(registry, Registry):
        return registry
    raise ArgumentError(f"registry must be an arrowjit.Functions, not {type(registry).__name__}")


# The process's default set, filled by arrowjit.register_function.
DEFAULT = Functions()


def register_function(name: str, arg_types: Sequence[TypeLike], return_type: TypeLike, emit: UserEmit,
                      nulls: str | NullHandling = "null_if_null", doc: str = "",
                      replace: bool = False) -> FunctionSpec:
    """Register a function with the process's default set (``arrowjit.functions``).

    See :class:`Functions.register` and this module's docstring for the
    ``emit`` conventions.
    """
    return DEFAULT.register(name, arg_types, return_type, emit, nulls, doc, replace)


__all__ = ["DEFAULT", "Functions", "LayeredRegistry", "register_function"]
