"""Regenerate docs/images/analysing_policies.png by running the notebook that draws it.

    python experiments/notebooks/make_readme_figure.py [--timesteps N]

Executes ``analysing_policies.ipynb`` headless (nbclient, ``python3`` kernel) with its outputs in a
temporary directory, and tells its last cell (through ``MASSBARGAIN_FIGURE``) to save the overview
figure into docs/images. ``--timesteps`` sets the training budget (``MASSBARGAIN_NOTEBOOK_TIMESTEPS``);
the notebook's own default is kept small so that the test suite can run it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "analysing_policies.ipynb"
FIGURE = HERE.parents[1] / "docs" / "images" / "analysing_policies.png"


def main() -> None:
    from massbargain.extras import require

    try:
        require("train", "analysis", what="make_readme_figure.py")
        import nbclient
        import nbformat
    except ImportError as exc:  # one line, as the command line says it
        raise SystemExit(f"make_readme_figure.py: error: {exc}") from None

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=None, help="PPO timesteps (default: the notebook's)")
    parser.add_argument("--output", type=Path, default=FIGURE, help=f"where to save the figure (default {FIGURE})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="massbargain-readme-figure-") as tmp:
        os.environ["MASSBARGAIN_NOTEBOOK_OUT"] = tmp
        os.environ["MASSBARGAIN_FIGURE"] = str(args.output.resolve())
        if args.timesteps is not None:
            os.environ["MASSBARGAIN_NOTEBOOK_TIMESTEPS"] = str(args.timesteps)
        nb = nbformat.read(NOTEBOOK, as_version=4)
        start = time.perf_counter()
        client = nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": tmp}})
        client.execute()
    print(f"saved {args.output} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
