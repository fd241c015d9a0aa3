"""Source mapped to machine code: the kernel compiled again with line tables, for display only.

``Filter.ir("asm", annotate=True)`` shows the assembly with each run of
instructions under the sub-expression it comes from, as Compiler Explorer
colors source lines to their assembly. How: the kernel's unoptimized IR gets
DWARF line-table metadata (``!dbg`` locations) in which *line* k stands for
the k-th sub-expression (its span is the column), the module is optimized
and compiled to assembly as usual, and the ``.loc`` directives LLVM keeps
through inlining and vectorization are turned back into the spans.

Only the display takes this path: the kernel that runs, and every cache,
are compiled without debug information (which does not change the
instructions LLVM selects; the tests compare them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import llvmlite.binding as llvm

from .codegen import KERNEL_NAME, PROJECTION_KERNEL_NAME
from .jit import _COMPILE_LOCK, Target, _target_machine, optimize
from .source_map import ROW_FUNCTIONS, Source

_DEFINE = re.compile(r"^define [^@]*@([\w.$-]+)\(.*\{$")
_VALUE = re.compile(r"^  %([\w.$-]+|\"[^\"]+\") = ")
_LOC = re.compile(r"^\s*\.loc\s+\d+\s+(\d+)\s+(\d+)")
_DEBUG_SECTION = re.compile(r"^\s*\.section\s+\.debug_")
_SECTION = re.compile(r"^\s*\.section\s")
# Line-table bookkeeping in the listing: file names, labels of the line table and debug sections.
_DROPPED = (".file", ".Ltmp", ".Lfunc_begin", ".Ldebug", ".Lline_table", ".cfi_sections")


def with_locations(llvm_ir: str, sources: Mapping[str, Source],
                   whole: Sequence[Source]) -> tuple[str, list[Source]]:
    """``llvm_ir`` with a ``!dbg`` location on every instruction of the block and kernel functions.

    Returns the text and the sources by line number (line k is ``lines[k - 1]``;
    line 0 is the kernel's own loop). An instruction that computes no
    sub-expression itself takes the location of the next one that does in its
    block (the operands' helpers come just before their user), else the whole
    expression's.
    """
    lines: list[Source] = []
    line_of: dict[Source, int] = {}

    def line_for(source: Source) -> int:
        if source not in line_of:
            lines.append(source)
            line_of[source] = len(lines)
        return line_of[source]

    for source in whole:
        line_for(source)
    metadata: list[str] = []

    def node(text: str) -> str:
        metadata.append(text)
        return f"!{len(metadata) - 1}"

    file = node('!DIFile(filename: "expression", directory: "")')
    unit = node(f'distinct !DICompileUnit(language: DW_LANG_C99, file: {file}, producer: "arrowjit", '
                "isOptimized: true, runtimeVersion: 0, emissionKind: LineTablesOnly)")
    routine_type = node("!DISubroutineType(types: !{})")
    out: list[str] = []
    pending: list[int] = []  # indices in `out` of instructions waiting for a location
    scope = None
    fallback = 0

    def located(index: int, line: int, column: int) -> None:
        out[index] += f", !dbg {node(f'!DILocation(line: {line}, column: {column}, scope: {scope})')}"

    for text in llvm_ir.split("\n"):
        define = _DEFINE.match(text)
        if define:
            name = define.group(1)
            if name in ROW_FUNCTIONS or name in (KERNEL_NAME, PROJECTION_KERNEL_NAME):
                scope = node(f'distinct !DISubprogram(name: "{name}", scope: {file}, file: {file}, line: 1, '
                             f"type: {routine_type}, scopeLine: 1, "
                             f"spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: {unit})")
                fallback = line_for(whole[0]) if name in ROW_FUNCTIONS else 0
                text = f"{text[:-2]} !dbg {scope} {{"
            else:
                scope = None
            out.append(text)
            continue
        if scope is None:
            out.append(text)
            continue
        if text == "}" or (text and not text.startswith(" ")):  # the end of a function or of a block
            for index in pending:
                located(index, fallback, 1 if fallback else 0)
            pending.clear()
            if text == "}":
                scope = None
            out.append(text)
            continue
        if not text.strip() or text.lstrip().startswith(";"):
            out.append(text)
            continue
        out.append(text)
        value = _VALUE.match(text)
        source = sources.get(value.group(1).strip('"')) if value else None
        if source is None or fallback == 0:
            pending.append(len(out) - 1)
            continue
        line = line_for(source)
        for index in [*pending, len(out) - 1]:
            located(index, line, source.span.start + 1)
        pending.clear()
    flags = [node('!{i32 2, !"Debug Info Version", i32 3}'), node('!{i32 7, !"Dwarf Version", i32 5}')]
    tail = [f"!llvm.dbg.cu = !{{{unit}}}", f"!llvm.module.flags = !{{{', '.join(flags)}}}"]
    tail += [f"!{k} = {text}" for k, text in enumerate(metadata)]
    return "\n".join(out).rstrip("\n") + "\n\n" + "\n".join(tail) + "\n", lines


def annotated_assembly(llvm_ir: str, sources: Mapping[str, Source], whole: Sequence[Source],
                       target: Target) -> str:
    """The kernel's assembly with each run of instructions under the sub-expression it computes."""
    text, lines = with_locations(llvm_ir, sources, whole)
    with _COMPILE_LOCK:
        module = llvm.parse_assembly(text)
        machine = _target_machine(target)
        module.triple = target.triple
        module.data_layout = str(machine.target_data)
        module.verify()
        optimize(module, target)
        assembly = machine.emit_assembly(module)
    return _rewrite(assembly, lines)


def _rewrite(assembly: str, lines: Sequence[Source]) -> str:
    """``.loc`` directives -> source comments; the DWARF sections and line-table labels dropped."""
    out: list[str] = []
    current = None
    in_debug = False
    for text in assembly.split("\n"):
        if _DEBUG_SECTION.match(text):
            in_debug = True
            continue
        if in_debug:
            if not _SECTION.match(text):
                continue
            in_debug = False
        stripped = text.strip()
        if stripped.startswith(_DROPPED):
            continue
        loc = _LOC.match(text)
        if loc:
            line = int(loc.group(1))
            source = lines[line - 1] if 0 < line <= len(lines) else None
            if source != current:
                current = source
                what = source.comment() if source else "the loop over blocks (no sub-expression)"
                out.append(f"\t# ---- {what}")
            continue
        out.append(text)
    return "\n".join(out)


def instructions(assembly: str) -> list[str]:
    """The instruction lines of an assembly listing (no directives, labels or comments)."""
    found = []
    for text in assembly.split("\n"):
        stripped = text.strip()
        if not stripped or stripped.startswith((".", "#")) or stripped.endswith(":"):
            continue
        found.append(re.sub(r"\.L\w+", ".L", stripped.split("#")[0].strip()))
    return found
