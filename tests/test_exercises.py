"""The exercises in docs/exercises stay solvable: their checks pass against the reference solutions.

Each exercise's check (docs/exercises/test_chapterN_*.py) loads the learner's
module from docs/exercises, or from the directory ARROWJIT_EXERCISES_DIR
names; here it names tests/exercise_solutions. The stubs as committed must
fail every check (they are exercises, not answers), which is checked too.
The checks run in a child pytest, so the exercises' registry functions and
threads settings never touch this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "docs" / "exercises"
SOLUTIONS = ROOT / "tests" / "exercise_solutions"
CHAPTERS = range(1, 10)


def _pytest(tmp_path: Path, directory: Path | None) -> tuple[int, str, dict[str, int]]:
    """Run every exercise check; the exit status, the output and the counts of each outcome."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "ARROWJIT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("ARROWJIT_EXERCISES_DIR", None)
    if directory is not None:
        env["ARROWJIT_EXERCISES_DIR"] = str(directory)
    report = tmp_path / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", str(EXERCISES), "-p", "no:cacheprovider",
                           f"--junitxml={report}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    suite = ElementTree.parse(report).getroot().find("testsuite")
    counts = {key: int(suite.get(key)) for key in ("tests", "failures", "errors", "skipped")}
    return done.returncode, done.stdout + done.stderr, counts


def test_every_chapter_has_exercises_and_a_solution():
    for chapter in CHAPTERS:
        stubs = sorted(EXERCISES.glob(f"chapter{chapter}_*.py"))
        assert len(stubs) == 1, f"chapter {chapter}: {stubs}"
        assert (EXERCISES / f"test_{stubs[0].name}").exists()
        assert (SOLUTIONS / stubs[0].name).exists()


def test_reference_solutions_pass_every_check(tmp_path):
    status, output, counts = _pytest(tmp_path, SOLUTIONS)
    assert status == 0, output
    assert counts["tests"] >= 60 and counts["failures"] == counts["errors"] == counts["skipped"] == 0, output
    # Every chapter's checks ran.
    for chapter in CHAPTERS:
        assert f"test_chapter{chapter}_" in (EXERCISES / next(
            p.name for p in EXERCISES.glob(f"test_chapter{chapter}_*.py"))).read_text()


def test_the_stubs_fail_every_check(tmp_path):
    status, output, counts = _pytest(tmp_path, None)
    assert status != 0
    assert counts["tests"] >= 60, output
    assert counts["failures"] + counts["errors"] == counts["tests"], f"a stub passes its check:\n{output}"
