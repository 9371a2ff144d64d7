"""The README's Python examples run as written (those that need no trained run directory).

A README whose examples fail is the first thing a new user meets; this keeps them honest. Blocks that
read or write a run directory (``runs/...``) need a training run first and are left to the CLI and
training tests, which exercise the same calls.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
RUNNABLE = [b for b in BLOCKS if "runs/" not in b]


def test_the_readme_has_runnable_examples():
    assert len(RUNNABLE) >= 4, "the README lost its Python examples"


def test_readme_examples_run_in_order(capsys: pytest.CaptureFixture[str]):
    """Run the examples one after another in one namespace, as a reader pasting them would; a comment
    of upper-case names at the end of a line (``# SUSPENDED CONCESSION NONE``) is output the block
    promises."""
    namespace: dict = {}
    for i, block in enumerate(RUNNABLE):
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)  # the README's own code
        out = capsys.readouterr().out
        for expected in re.findall(r"#\s*([A-Z_]+(?: [A-Z_]+)+)\s*$", block, flags=re.MULTILINE):
            assert expected in out, f"README block {i} says it prints {expected!r}; it printed {out[-300:]!r}"
