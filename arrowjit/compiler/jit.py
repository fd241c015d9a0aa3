"""Stage 5: LLVM IR -> optimized IR -> machine code in memory.

Code is generated for the CPU this process runs on: the target machine is
created from ``get_host_cpu_name()`` and ``get_host_cpu_features()``, so an
AVX2 machine gets ``<4 x double>`` and ymm registers and an AVX-512 machine
may get ``<8 x double>`` and zmm registers. The optimization pipeline is
LLVM's O3 through the new pass manager (llvmlite's ``PassBuilder``) with loop
and SLP vectorization on. Each compiled kernel owns its MCJIT execution
engine; dropping the :class:`CompiledKernel` frees the machine code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

import llvmlite.binding as llvm

from ..errors import CompilerError


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


@lru_cache(maxsize=1)
def _initialize_llvm() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


def _new_target_machine(target: Target) -> llvm.TargetMachine:
    _initialize_llvm()
    return llvm.Target.from_triple(target.triple).create_target_machine(
        cpu=target.cpu, features=target.features, opt=3, jit=True, codemodel='medium')


@lru_cache(maxsize=4)
def _target_machine(target: Target) -> llvm.TargetMachine:
    """A shared target machine for optimizing and printing assembly.

    An execution engine takes ownership of the machine it is given, so each
    engine gets one of its own (:func:`_new_target_machine`).
    """
    return _new_target_machine(target)


# LLVM's pass managers and MCJIT are not documented as thread safe for one
# context; compile under one lock (running compiled kernels needs no lock).
_COMPILE_LOCK = threading.Lock()


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

    def assembly(self) -> str:
        """The kernel's machine code as assembly (generated on first request)."""
        if self._asm is None:
            with _COMPILE_LOCK:
                module = llvm.parse_assembly(self.optimized_ir)
                self._asm = _target_machine(self.target).emit_assembly(module)
        return self._asm


def optimize(module: llvm.ModuleRef, target: Target) -> None:
    """Run LLVM's O3 pipeline with loop and SLP vectorization on ``module`` in place."""
    tuning = llvm.create_pipeline_tuning_options(speed_level=3)
    tuning.loop_vectorization = True
    tuning.slp_vectorization = True
    tuning.loop_unrolling = True
    builder = llvm.create_pass_builder(_target_machine(target), tuning)
    builder.getModulePassManager().run(module, builder)


def compile_ir(llvm_ir: str, entry: str | None, target: Target | None = None) -> CompiledKernel:
    """Parse, verify, optimize and JIT-compile a module; return the address of ``entry`` (if any)."""
    target = target or host_target()
    machine = _target_machine(target)
    timings: dict[str, float] = {}
    with _COMPILE_LOCK:
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
        optimize(module, target)
        optimized = str(module)
        t2 = time.perf_counter()
        engine = llvm.create_mcjit_compiler(module, _new_target_machine(target))
        engine.finalize_object()
        address = engine.get_function_address(entry) if entry else 0
        t3 = time.perf_counter()
    timings.update(parse_ir=t1 - t0, optimize=t2 - t1, machine_code=t3 - t2)
    return CompiledKernel(before, optimized, address, target, timings, engine)
