"""Every notebook under experiments/notebooks runs to the end, headless, within three minutes.

Each is executed with nbclient on the ``python3`` kernel from a temporary copy, with its outputs directed
to a temporary directory (``MASSBARGAIN_NOTEBOOK_OUT``), so nothing is written into the repository.
Beyond running, the tests check what the notebooks show: figures, tables, and the README picture.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "experiments" / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
TIME_LIMIT = 180.0  # seconds per notebook


def _execute(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, float, Path]:
    work = tmp / "work"
    out = tmp / "out"
    work.mkdir()
    copy = Path(shutil.copy(path, work / path.name))
    monkeypatch.setenv("MASSBARGAIN_NOTEBOOK_OUT", str(out))
    monkeypatch.delenv("MASSBARGAIN_FIGURE", raising=False)
    monkeypatch.delenv("MASSBARGAIN_NOTEBOOK_TIMESTEPS", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=TIME_LIMIT, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start, out


def test_there_are_notebooks() -> None:
    assert any(p.name == "analysing_policies.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean(path: Path) -> None:
    """Committed without outputs, so that the repository holds no stale figures."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sorted(p.name for p in NOTEBOOK_DIR.iterdir())
    nb, elapsed, out = _execute(path, tmp_path, monkeypatch)
    assert elapsed < TIME_LIMIT, f"{path.name} took {elapsed:.0f} s"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "a notebook about analysis shows figures"
    assert sorted(p.name for p in NOTEBOOK_DIR.iterdir()) == before, "the notebook wrote into the repository"
    if path.name == "analysing_policies.ipynb":
        _check_analysing_policies(nb, out)


def _check_analysing_policies(nb: object, out: Path) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("Roll it out", "Policy surfaces", "Learning curve", "day by day", "mode"):
        assert heading in markdown
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert images >= 10, f"expected the walk-through's figures, got {images}"
    html_tables = sum("text/html" in o.get("data", {}) for c in code for o in c.outputs)
    assert html_tables >= 6, "the walk-through shows its tables"
    picture = out / "analysing_policies.png"
    assert picture.exists() and picture.stat().st_size > 50_000
    # the run directory the notebook trained lives in its output directory
    assert any(out.rglob("*.zip")), "the trained model is saved under the notebook's output directory"
