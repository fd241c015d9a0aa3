"""The on-disk cache of compiled kernels: machine code that survives the process.

A new process that compiles a filter it has compiled before loads the object
code from here instead of running LLVM. An entry is keyed by everything that
decides the machine code: the kernel's typed IR and layout, the target CPU
and its features, the llvmlite and LLVM versions, arrowjit's version, and a
hash of the compiler's own source files (so an edited code generator never
meets stale code).

* Where: ``$ARROWJIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/arrowjit``, else
  ``~/.cache/arrowjit``. ``ARROWJIT_CACHE=0`` turns it off.
* Writes are atomic (a temporary file renamed into place), so processes
  compiling the same kernel at once are safe: the last rename wins and every
  reader sees a whole entry.
* An entry carries its own length and SHA-256; a truncated or corrupt one
  is ignored (and replaced by the next compile).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm

MAGIC = b"ARROWJIT-KERNEL-1\n"


@dataclass(frozen=True)
class Entry:
    object_code: bytes
    llvm_ir: str
    optimized_ir: str


def enabled() -> bool:
    return os.environ.get("ARROWJIT_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def directory() -> Path:
    configured = os.environ.get("ARROWJIT_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "arrowjit"


@lru_cache(maxsize=1)
@lru_cache(maxsize=1)
def _code_version() -> str:
    """What machine code depends on besides the key's parts: the compiler's sources (and native.py's).

    (All of them, not a list to keep up to date: a module left out of the
    hash would let code compiled before an edit come back after it.)
    """
    from .. import __version__

    digest = hashlib.sha256()
    for name in (__version__, llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info))):
        digest.update(name.encode())
    here = Path(__file__).parent
    for source in [*sorted(here.glob("*.py")), here.parent / "runtime" / "native.py"]:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def key(*parts: object) -> str:
    """The entry name for a kernel described by ``parts`` (anything with a stable ``repr``)."""
    digest = hashlib.sha256(_code_version().encode())
    digest.update(repr(parts).encode())
    return digest.hexdigest()


def load(name: str) -> Entry | None:
    """The entry ``name``, or None when it is absent, unreadable or damaged."""
    if not enabled():
        return None
    try:
        data = (directory() / f"{name}.kernel").read_bytes()
    except OSError:
        return None
    try:
        if not data.startswith(MAGIC):
            return None
        header_end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC):header_end])
        payload = data[header_end + 1:]
        sizes = header["sizes"]
        if len(payload) != sum(sizes) or hashlib.sha256(payload).hexdigest() != header["sha256"]:
            return None
        obj, ir_text, optimized = (payload[sum(sizes[:i]):sum(sizes[:i + 1])] for i in range(3))
        return Entry(obj, ir_text.decode(), optimized.decode())
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def store(name: str, entry: Entry) -> None:
    """Write ``entry`` atomically; a cache that cannot be written is silently skipped."""
    if not enabled():
        return
    parts = [entry.object_code, entry.llvm_ir.encode(), entry.optimized_ir.encode()]
    payload = b"".join(parts)
    header = json.dumps({"sizes": [len(p) for p in parts],
                         "sha256": hashlib.sha256(payload).hexdigest()}).encode()
    folder = directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".kernel")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC + header + b"\n" + payload)
            os.replace(temporary, folder / f"{name}.kernel")
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass
