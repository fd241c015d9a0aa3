"""The on-disk cache of compiled kernels: machine code that survives the process.

A new process that compiles a filter it has compiled before loads the object
code from here instead of running LLVM. An entry is keyed by everything that
decides the machine code: the kernel's typed IR and layout, the target CPU
and its features, the llvmlite and LLVM versions, arrowjit's version, and a
hash of the compiler's own source files (so an edited code generator never
meets stale code).

It also keeps each expression's AST, keyed by its text (and the grammar's
and compiler's sources), so that a new process compiling a known expression
skips the parser: loading Lark's tables and building its lexer is most of
the time an on-disk hit would otherwise take.

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
import pickle
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

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
def _code_version() -> str:
    """What entries depend on besides the key's parts: the compiler's, the runtime's and the
    grammar's sources.

    (All of them, not a list to keep up to date: a module left out of the
    hash would let code compiled before an edit come back after it.)
    """
    from .. import __version__
    from .zones import database_version  # (zone tables are compiled into kernels)

    digest = hashlib.sha256()
    for name in (__version__, llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info)),
                 database_version()):
        digest.update(name.encode())
    here = Path(__file__).parent
    grammar = here.parent / "grammar"
    runtime = here.parent / "runtime"  # (native helpers and the page decoder are built there)
    sources = sorted(entry.path for folder in (here, runtime) for entry in os.scandir(folder)
                     if entry.name.endswith(".py"))
    for source in [*sources, grammar / "filter.lark", grammar / "parser.py"]:
        digest.update(os.path.basename(source).encode())
        with open(source, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def key(*parts: object) -> str:
    """The entry name for a kernel described by ``parts`` (anything with a stable ``repr``)."""
    digest = hashlib.sha256(_code_version().encode())
    digest.update(repr(parts).encode())
    return digest.hexdigest()


def load(name: str) -> Entry | None:
    """The kernel entry ``name``, or None when it is absent, unreadable or damaged."""
    parts = _read(f"{name}.kernel", 3)
    if parts is None:
        return None
    obj, ir_text, optimized = parts
    try:
        return Entry(obj, ir_text.decode(), optimized.decode())
    except UnicodeDecodeError:
        return None


def store(name: str, entry: Entry) -> None:
    """Write the kernel ``entry`` atomically; a cache that cannot be written is silently skipped."""
    _write(f"{name}.kernel", [entry.object_code, entry.llvm_ir.encode(), entry.optimized_ir.encode()])


def load_syntax(text: str) -> Any | None:
    """The AST stored for the expression ``text`` (see :func:`store_syntax`), or None."""
    parts = _read(f"{key('syntax', text)}.ast", 1)
    if parts is None:
        return None
    try:
        return pickle.loads(parts[0])
    except Exception:  # written by another version of a node class: parse again
        return None


def store_syntax(text: str, syntax: Any) -> None:
    """Keep the AST of ``text``: a new process compiling it again skips the parser.

    (The first parse in a process loads Lark's tables and builds its lexer,
    about 5 ms: most of an on-disk cache hit.) The key holds the grammar's
    and the compiler's sources through :func:`_code_version`.
    """
    _write(f"{key('syntax', text)}.ast", [pickle.dumps(syntax, protocol=pickle.HIGHEST_PROTOCOL)])


def _read(filename: str, count: int) -> list[bytes] | None:
    """The ``count`` parts of a whole, undamaged entry, or None."""
    if not enabled():
        return None
    try:
        data = (directory() / filename).read_bytes()
    except OSError:
        return None
    try:
        if not data.startswith(MAGIC):
            return None
        header_end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC):header_end])
        payload = data[header_end + 1:]
        sizes = header["sizes"]
        if (len(sizes) != count or len(payload) != sum(sizes)
                or hashlib.sha256(payload).hexdigest() != header["sha256"]):
            return None
        return [payload[sum(sizes[:i]):sum(sizes[:i + 1])] for i in range(count)]
    except (ValueError, KeyError, TypeError):
        return None


def _write(filename: str, parts: list[bytes]) -> None:
    """Write an entry atomically (a temporary file renamed into place); errors are skipped."""
    if not enabled():
        return
    payload = b"".join(parts)
    header = json.dumps({"sizes": [len(p) for p in parts],
                         "sha256": hashlib.sha256(payload).hexdigest()}).encode()
    folder = directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=Path(filename).suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(MAGIC + header + b"\n" + payload)
            os.replace(temporary, folder / filename)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass
