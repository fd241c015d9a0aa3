"""Stage 5: LLVM IR -> optimized IR -> machine code in memory.

Code is generated for the CPU this process runs on: the target machine is
created from ``get_host_cpu_name()`` and ``get_host_cpu_features()``, so an
AVX2 machine gets ``<4 x double>`` and ymm registers and an AVX-512 machine
may get ``<8 x double>`` and zmm registers. The optimization pipeline is
LLVM's O3 through the new pass manager (llvmlite's ``PassBuilder``) with loop
and SLP vectorization on. Each compiled kernel owns its MCJIT execution
engine; dropping the :class:`CompiledKernel` frees the machine code.

Two tiers, as a JIT that must answer fast: O3 takes about 25 ms on a small
kernel, so a new expression is first compiled ``quick`` (LLVM's O0 pipeline,
which only inlines, and the fast instruction selector: about 3 ms), and the
caller (compiled.py) has the same IR compiled at O3 in the background and
swaps it in. Both tiers compile one IR, so they compute the same results;
only O3 code is stored in the on-disk cache.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import llvmlite.binding as llvm

from ..errors import CompilerError
from . import diskcache


@dataclass(frozen=True)
class Target:
    """The CPU code is generated for (part of every cache key)."""

    triple: str
    cpu: str
    features: str

    @property
    def short_name(self) -> str:
        return f"{self.cpu} ({self.triple})"


@lru_cache(maxsize=1)
def host_target() -> Target:
    return Target(llvm.get_process_triple(), llvm.get_host_cpu_name(),
                  llvm.get_host_cpu_features().flatten())


# LLVM lowers 128-bit division and 128-bit <-> float conversions (decimal128
# code) to calls into the compiler runtime, which MCJIT finds only when told.
INT128_RUNTIME = ("__divti3", "__modti3", "__udivti3", "__umodti3", "__floattidf", "__floatuntidf",
                  "__fixdfti")


@lru_cache(maxsize=1)
def _initialize_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    for name, address in int128_runtime().items():
        llvm.add_symbol(name, address)


@lru_cache(maxsize=1)
def int128_runtime() -> dict[str, int]:
    """The addresses of the 128-bit helpers in libgcc_s, or {} when it is not there."""
    # The soname first: find_library runs ldconfig or a compiler in a subprocess (milliseconds).
    for name in ("libgcc_s.so.1", None):
        try:
            library = ctypes.CDLL(name or ctypes.util.find_library("gcc_s") or "libgcc_s.so.1")
            return {symbol: ctypes.cast(getattr(library, symbol), ctypes.c_void_p).value
                    for symbol in INT128_RUNTIME}
        except (OSError, AttributeError):
            continue
    return {}


OPTIMIZED, QUICK = 3, 0  # the two tiers, as LLVM optimization levels


def _new_target_machine(target: Target, level: int = OPTIMIZED) -> llvm.TargetMachine:
    _initialize_llvm()
    # The large code model: JIT memory can land anywhere in the address space,
    # so code must not assume its constants lie within 2 GB (a 32-bit
    # relocation there aborts the process inside LLVM's RuntimeDyld).
    return llvm.Target.from_triple(target.triple).create_target_machine(
        cpu=target.cpu, features=target.features, opt=level, jit=True, codemodel="large")


@lru_cache(maxsize=8)
def _target_machine(target: Target, level: int = OPTIMIZED) -> llvm.TargetMachine:
    """A shared target machine for optimizing and printing assembly.

    An execution engine takes ownership of the machine it is given, so each
    engine gets one of its own (:func:`_new_target_machine`).
    """
    return _new_target_machine(target, level)


# LLVM's pass managers and MCJIT are not documented as thread safe for one
# context; compile under one lock (running compiled kernels needs no lock).
_COMPILE_LOCK = threading.Lock()
# llvmlite's own lock around every call into LLVM (a private attribute: None if it moves).
_LLVMLITE_LOCK = getattr(getattr(llvm.ffi, "lib", None), "_lock", None)


def _before_fork() -> None:
    """A fork waits for a compile in progress (on a background thread, say) and for any call
    into LLVM (freeing a module, say): the child must not start with LLVM halfway through
    something, or with a lock held by a thread it does not have."""
    _COMPILE_LOCK.acquire()
    if _LLVMLITE_LOCK is not None:
        _LLVMLITE_LOCK.__enter__()


def _after_fork() -> None:
    if _LLVMLITE_LOCK is not None:
        _LLVMLITE_LOCK.__exit__(None, None, None)
    _COMPILE_LOCK.release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)


@dataclass
class CompiledKernel:
    """Machine code for one kernel, and every form it went through."""

    llvm_ir: str
    optimized_ir: str
    address: int
    target: Target
    timings: dict[str, float]
    _engine: object = field(repr=False)
    _asm: str | None = field(default=None, repr=False)
    level: int = OPTIMIZED  # OPTIMIZED (O3) or QUICK (O0, until the O3 code replaces it)
    source: str | None = field(default=None, repr=False)  # the IR as generated (quick tier only)

    @property
    def optimized(self) -> bool:
        return self.level == OPTIMIZED

    def assembly(self) -> str:
        """The kernel's machine code as assembly (generated on first request).

        The module is optimized again from the unoptimized IR rather than
        parsed from the optimized text: a text round trip loses LLVM's
        use-list order, and the instruction selector, which walks use lists,
        then picks slightly different code than the object code that runs.
        """
        if self._asm is None:
            with _COMPILE_LOCK:
                machine = _target_machine(self.target, self.level)
                module = llvm.parse_assembly(self.llvm_ir)
                module.triple = self.target.triple
                module.data_layout = str(machine.target_data)
                optimize(module, self.target, self.level)
                self._asm = machine.emit_assembly(module)
        return self._asm


def optimize(module: llvm.ModuleRef, target: Target, level: int = OPTIMIZED) -> None:
    """Run LLVM's O3 pipeline with loop and SLP vectorization on ``module`` in place (or, for
    the QUICK tier, the O0 pipeline: the always-inliner and little else)."""
    tuning = llvm.create_pipeline_tuning_options(speed_level=level)
    tuning.loop_vectorization = level == OPTIMIZED
    tuning.slp_vectorization = level == OPTIMIZED
    tuning.loop_unrolling = level == OPTIMIZED
    builder = llvm.create_pass_builder(_target_machine(target, level), tuning)
    builder.getModulePassManager().run(module, builder)


def _load_object(entry: diskcache.Entry, name: str | None, target: Target,
                 timings: dict[str, float], level: int = OPTIMIZED) -> CompiledKernel:
    """Put object code into memory with MCJIT and find ``name`` in it."""
    t0 = time.perf_counter()
    with _COMPILE_LOCK:
        holder = llvm.parse_assembly("")
        holder.triple = target.triple
        engine = llvm.create_mcjit_compiler(holder, _new_target_machine(target))
        engine.add_object_file(llvm.ObjectFileRef.from_data(entry.object_code))
        engine.finalize_object()
        address = engine.get_function_address(name) if name else 0
    timings["load"] = time.perf_counter() - t0
    return CompiledKernel(entry.llvm_ir, entry.optimized_ir, address, target, timings, engine, level=level)


def compile_ir(source: str | Callable[[], str], entry: str | None, target: Target | None = None,
               cache_key: str | None = None, quick: bool = False) -> CompiledKernel:
    """Parse, verify, optimize and compile a module to machine code in memory.

    ``source`` is the LLVM IR, or a function that generates it (called only
    when the on-disk cache does not already hold the code). Returns the
    address of the function ``entry`` (if any). With a ``cache_key``, machine
    code compiled before, by this process or another, comes from the on-disk
    cache, and new code is stored there. The optimization itself may run in
    a helper process (see :mod:`arrowjit.compiler.isolation`).

    ``quick``: when the on-disk cache does not hold the O3 code, compile
    at the QUICK level instead (not stored; the caller compiles O3 later).
    """
    target = target or host_target()
    if cache_key is not None:
        cached = diskcache.load(cache_key)
        if cached is not None:
            return _load_object(cached, entry, target, {"disk_cache_hit": 1.0})
    t_generate = time.perf_counter()
    llvm_ir = source if isinstance(source, str) else source()
    timings = {"codegen": time.perf_counter() - t_generate}
    from .isolation import optimizer  # the module imports this one
    level = QUICK if quick else OPTIMIZED
    compiled, optimizer_timings = optimizer().machine_code(llvm_ir, target, level)
    timings.update(optimizer_timings)
    if cache_key is not None and level == OPTIMIZED:
        diskcache.store(cache_key, compiled)
    kernel = _load_object(compiled, entry, target, timings, level)
    if level == QUICK:  # the O3 compile starts from the same text (not generated again)
        kernel.source = llvm_ir
    return kernel


def machine_code(llvm_ir: str, target: Target,
                 level: int = OPTIMIZED) -> tuple[diskcache.Entry, dict[str, float]]:
    """LLVM IR text -> (the IR as parsed, the optimized IR, object code), with the time of each step.

    A pure function of its inputs: the same in this process or in a helper
    process. Raises :class:`CompilerError` when LLVM rejects the IR.
    """
    with _COMPILE_LOCK:
        machine = _target_machine(target, level)
        t0 = time.perf_counter()
        try:
            module = llvm.parse_assembly(llvm_ir)
            module.triple = target.triple
            module.data_layout = str(machine.target_data)
            module.verify()
        except RuntimeError as e:
            raise CompilerError(f"LLVM rejected the generated IR (a bug in arrowjit): {e}\n"
                                f"{llvm_ir}") from None
        before = str(module)
        t1 = time.perf_counter()
        optimize(module, target, level)
        optimized = str(module)
        t2 = time.perf_counter()
        object_code = machine.emit_object(module)
        timings = {"parse_ir": t1 - t0, "optimize": t2 - t1, "machine_code": time.perf_counter() - t2}
        module.close()  # (freed under the lock, not whenever the garbage collector runs)
    return diskcache.Entry(object_code, before, optimized), timings
