"""Reference solution for docs/exercises/chapter7_machine_code.py."""

import re

WIDTHS = {"xmm": 128, "ymm": 256, "zmm": 512}


def vector_width_bits(asm: str) -> int:
    registers = re.findall(r"^\s+vcmp\w*pd\s.*$", asm, re.M)
    return max(WIDTHS[kind] for line in registers for kind in re.findall(r"%([xyz]mm)\d+", line))


def _block_loop(asm: str) -> list[str]:
    lines = asm.splitlines()
    first = next(k for k, line in enumerate(lines) if re.match(r"\s+vcmp", line))
    start = max(k for k in range(first) if re.match(r"\.LBB\d+_\d+:", lines[k]))
    end = next(k for k in range(first, len(lines)) if re.match(r"\s+j[a-z]+\s", lines[k]))
    return lines[start:end + 1]


def rows_per_iteration(asm: str) -> int:
    steps = [int(n) for line in _block_loop(asm) for n in re.findall(r"^\s+addq\s+\$(\d+), %\w+", line)]
    return min(n for n in steps if n > 0)
