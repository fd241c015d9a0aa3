"""Where LLVM's optimizer runs: in this process at first, then in a helper process.

Why: llvmlite's new pass manager leaks native memory on every optimized
module (about 50-150 KB here). ``LLVMPY_CreatePassBuilder`` allocates a
``PassInstrumentationCallbacks`` that nothing frees, and every run registers
more callbacks into it. A pass builder cannot be reused either: its old
callbacks point into a finished run. A long-lived process that compiles
thousands of distinct expressions would grow without bound.

So the first ``ARROWJIT_INPROCESS_COMPILES`` modules (default 256) are
optimized here. That has no start-up cost, and most programs compile only a
few expressions. Later modules go to a helper process, ``python -m
arrowjit.compiler.isolation``, which is replaced after
``ARROWJIT_WORKER_COMPILES`` modules (default 512). The leak then lives and
dies with the helper.

The helper does only the pure step :func:`arrowjit.compiler.jit.machine_code`:
LLVM IR text in, object code out (with the IR before and after optimization).
The object code is loaded in this process, as it is from the on-disk cache.
A side benefit: should LLVM abort on some module, only the helper dies, and
the caller gets a :class:`CompilerError`.

Protocol on the helper's stdin and stdout: each message is an 8-byte
little-endian length and a pickle. A request is ``(llvm_ir, target)``. A
reply is ``("ok", entry, timings)`` or ``("error", message)``.
"""

from __future__ import annotations

import atexit
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import CompilerError
from . import diskcache, jit

_LENGTH = struct.Struct("<Q")


def _env_int(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        return default


def _send(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO) -> object:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


@dataclass
class _Worker:
    process: subprocess.Popen
    compiles: int = 0

    @classmethod
    def start(cls) -> _Worker:
        env = dict(os.environ)
        # The helper imports this very copy of arrowjit.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        process = subprocess.Popen([sys.executable, "-m", "arrowjit.compiler.isolation"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        return cls(process)

    def machine_code(self, llvm_ir: str, target: jit.Target,
                     level: int) -> tuple[diskcache.Entry, dict[str, float]]:
        try:
            _send(self.process.stdin, (llvm_ir, target, level))
            reply = _receive(self.process.stdout)
        except (EOFError, BrokenPipeError, OSError):
            code = self.process.wait()
            raise CompilerError(f"the compiler process died (exit status {code}) while compiling a "
                                "kernel: a bug in LLVM or arrowjit; this process is unharmed") from None
        self.compiles += 1
        if reply[0] == "error":
            raise CompilerError(reply[1])
        return reply[1], reply[2]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


@dataclass
class Optimizer:
    """Runs :func:`jit.machine_code` in this process up to a budget, then in a helper process."""

    in_process_budget: int
    worker_budget: int
    in_process: int = 0  # modules optimized in this process so far
    in_workers: int = 0  # and in helper processes
    workers_started: int = 0
    _worker: _Worker | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def machine_code(self, llvm_ir: str, target: jit.Target,
                     level: int = jit.OPTIMIZED) -> tuple[diskcache.Entry, dict[str, float]]:
        with self._lock:
            if self.in_process < self.in_process_budget:
                self.in_process += 1
                return jit.machine_code(llvm_ir, target, level)
            t0 = time.perf_counter()
            if self._worker is None or self._worker.compiles >= max(1, self.worker_budget):
                self.stop()
                self._worker = _Worker.start()
                self.workers_started += 1
            worker = self._worker
            try:
                entry, timings = worker.machine_code(llvm_ir, target, level)
            except CompilerError:
                if worker.process.poll() is not None:
                    self._worker = None
                raise
            self.in_workers += 1
            timings = dict(timings, helper_process=time.perf_counter() - t0 - sum(timings.values()))
            return entry, timings

    def stop(self) -> None:
        """Stop the helper process, if any (a new one starts when needed)."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None


_OPTIMIZERS: dict[int, Optimizer] = {}  # by process id: a forked child starts its own helper
_OPTIMIZERS_LOCK = threading.Lock()


def optimizer() -> Optimizer:
    """This process's optimizer (budgets from ARROWJIT_INPROCESS_COMPILES, ARROWJIT_WORKER_COMPILES)."""
    pid = os.getpid()
    found = _OPTIMIZERS.get(pid)
    if found is None:
        with _OPTIMIZERS_LOCK:
            found = _OPTIMIZERS.get(pid)
            if found is None:
                found = Optimizer(_env_int("ARROWJIT_INPROCESS_COMPILES", 256),
                                  _env_int("ARROWJIT_WORKER_COMPILES", 512))
                _OPTIMIZERS.clear()  # a parent's optimizer belongs to the parent
                _OPTIMIZERS[pid] = found
                atexit.register(found.stop)
    return found


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """The helper process: answer requests until stdin closes."""
    while True:
        try:
            llvm_ir, target, level = _receive(requests)
        except EOFError:
            return
        try:
            entry, timings = jit.machine_code(llvm_ir, target, level)
            _send(replies, ("ok", entry, timings))
        except CompilerError as e:
            _send(replies, ("error", str(e)))


if __name__ == "__main__":
    # Keep the protocol stream clean: anything printed goes to stderr.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, replies)
