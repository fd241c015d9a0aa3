"""The optimization pipeline pass by pass: what each of O3's passes did to a kernel.

Like Compiler Explorer's pipeline view: every pass that changed the module
is listed with a unified diff of its change, and the passes that changed
nothing are counted.

How it is captured: LLVM's ``-print-changed`` option makes its standard
pass instrumentation print the IR after every pass that changed it (and a
one-line note for each pass that did not); ``-print-module-scope`` makes
each print the whole module, so consecutive prints can be diffed. LLVM's
options are process-global and ``-print-changed`` cannot be switched off
again once set, so the pipeline runs in a child Python process
(``python -m arrowjit.compiler.passes``) that sets the options, runs the
very same :func:`~arrowjit.compiler.jit.optimize` on the kernel's
unoptimized IR for the same target, and exits: the calling process's LLVM
is never touched, and its stderr never written. The child also prints the
final module, which must be the kernel's optimized IR (the view checks it).

The result is plain deterministic text (no addresses, no timings); what
the vectorizer does depends on the CPU, so the header names the target.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import CompilerError
from .jit import Target

# The options the child sets before building its pass pipeline.
OPTIONS = ("-print-changed", "-print-module-scope")

_HEADER = re.compile(r"^\*\*\* IR (Dump After|Deleted After|Pass) (.+?) on (.+?)"
                     r"( omitted because no change| ignored| filtered out)? \*\*\*$")
_START = "*** IR Dump At Start ***"
_FINAL = "; ---- arrowjit: final module ----"


@dataclass(frozen=True)
class PassRun:
    """One run of one pass on one unit (the module, a function, an SCC or a loop)."""

    index: int            # position among all the pass runs (adaptors and pass managers excluded)
    name: str             # InstCombinePass, LoopVectorizePass, ...
    unit: str             # [module], filter_kernel, (filter_kernel), loop %rows in function ...
    changed: bool
    before: str           # the whole module before the pass ("" when unchanged)
    after: str            # and after it

    def diff(self, context: int = 3) -> str:
        """The unified diff of the module this pass made."""
        lines = difflib.unified_diff(self.before.splitlines(), self.after.splitlines(),
                                     "before", f"after {self.name}", n=context, lineterm="")
        return "\n".join(lines)

    def counts(self) -> tuple[int, int]:
        """Lines added and removed."""
        added = removed = 0
        for line in difflib.unified_diff(self.before.splitlines(), self.after.splitlines(), n=0,
                                         lineterm=""):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        return added, removed


@dataclass(frozen=True)
class PassReport:
    """The whole pipeline on one module."""

    target: Target
    initial: str
    runs: tuple[PassRun, ...]
    final: str

    @property
    def changed(self) -> tuple[PassRun, ...]:
        return tuple(run for run in self.runs if run.changed)

    def unchanged_counts(self) -> Counter[str]:
        return Counter(run.name for run in self.runs if not run.changed)

    def render(self, context: int = 3) -> str:
        """The summary header, then each change as a unified diff."""
        changed = self.changed
        lines = [
            f"; the O3 pipeline, pass by pass, for {self.target.short_name}",
            "; (LLVM's -print-changed; vectorization depends on the CPU)",
            f"; {len(self.runs)} pass runs: {len(changed)} changed the module, "
            f"{len(self.runs) - len(changed)} changed nothing",
        ]
        for title, counts in (("changed", Counter(run.name for run in changed)),
                              ("changed nothing", self.unchanged_counts())):
            # (a no-break space keeps "x3" beside its pass while wrapping)
            listed = ", ".join(f"{name}\u00a0x{count}" if count > 1 else name
                               for name, count in sorted(counts.items()))
            lines += [line.replace("\u00a0", " ") for line in textwrap.wrap(
                f"{title}: {listed}", 100, initial_indent="; ", subsequent_indent=";     ",
                break_on_hyphens=False)]
        lines.append(";")
        width = len(str(len(changed)))
        for number, run in enumerate(changed, 1):
            added, removed = run.counts()
            lines.append(f";  {number:>{width}}. {run.name} on {run.unit}  (+{added} -{removed})")
        for number, run in enumerate(changed, 1):
            added, removed = run.counts()
            title = f" {number}. {run.name} on {run.unit} (+{added} -{removed}) "
            lines += ["", f"{title:=^78}", run.diff(context)]
        return "\n".join(lines) + "\n"


def parse(output: str, target: Target) -> PassReport:
    """A report from the child's output: LLVM's prints, then the final module."""
    start = output.find(_START)
    final_at = output.rfind(_FINAL)
    if start < 0 or final_at < 0:
        raise CompilerError("the pass-by-pass run printed nothing usable:\n" + output[-2000:])
    final = output[final_at + len(_FINAL):].strip("\n") + "\n"
    body = output[start + len(_START):final_at].split("\n")
    runs: list[PassRun] = []
    current: list[str] = []
    module = ""
    pending: tuple[str, str] | None = None  # a changed pass whose module is being read

    def close() -> None:
        nonlocal module, pending
        if pending is not None:
            after = "\n".join(current).strip("\n") + "\n"
            runs.append(PassRun(len(runs), pending[0], pending[1], True, module, after))
            module = after
        elif not runs and current:
            module = "\n".join(current).strip("\n") + "\n"  # the module at start
        pending = None
        current.clear()

    initial = None
    for line in body:
        match = _HEADER.match(line)
        if match is None:
            current.append(line)
            continue
        close()
        if initial is None:
            initial = module
        kind, name, unit, note = match.groups()
        if kind == "Pass":  # a pass manager or adaptor: its passes are listed on their own
            continue
        if note:
            runs.append(PassRun(len(runs), name, unit, False, "", ""))
        else:
            pending = (name, unit)
    close()
    return PassReport(target, initial or module, tuple(runs), final)


def _child_environment() -> dict[str, str]:
    """The child imports this same arrowjit, whichever directory it comes from."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH", "")]))
    env["ARROWJIT_CACHE"] = "0"
    return env


@lru_cache(maxsize=16)
def pass_report(llvm_ir: str, target: Target) -> PassReport:
    """Run O3 on ``llvm_ir`` for ``target`` in a child process and report every pass."""
    command = [sys.executable, "-m", "arrowjit.compiler.passes", target.triple, target.cpu, target.features]
    result = subprocess.run(command, input=llvm_ir, capture_output=True, text=True,
                            env=_child_environment(), timeout=600)
    if result.returncode != 0:
        raise CompilerError(f"the pass-by-pass run failed (exit {result.returncode}):\n"
                            f"{result.stderr[-2000:]}")
    return parse(result.stderr + _FINAL + "\n" + result.stdout, target)


def _main(argv: list[str]) -> int:
    """The child: set the print options, optimize stdin's module, print the final module."""
    import llvmlite.binding as llvm

    from . import jit

    triple, cpu, features = argv
    target = Target(triple, cpu, features)
    jit._initialize_llvm()
    machine = jit._target_machine(target)
    module = llvm.parse_assembly(sys.stdin.read())
    module.triple = target.triple
    module.data_layout = str(machine.target_data)
    module.verify()
    for option in OPTIONS:
        llvm.set_option("arrowjit", option)
    jit.optimize(module, target)
    sys.stderr.flush()
    sys.stdout.write(str(module))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as the child process
    sys.exit(_main(sys.argv[1:]))
