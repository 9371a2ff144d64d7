"""Readable rules from learned policies: distil an agent into a small decision tree and print its rules.

For notebooks::

    from massbargain.experiments.explain import DistilConfig, explain_runs, format_explanations

    explanations = explain_runs(["runs/changxing-s0", "runs/changxing-s1"], DistilConfig(depth=3))
    print(format_explanations(explanations))
    tree = explanations[0].tree          # a policy: tree.act(obs), like a scripted member

``massbargain explain RUN_DIR [RUN_DIR ...]`` is the command line (:mod:`.cli`). Method and measured
figures: docs/EXPLAIN.md. Needs scikit-learn (the ``explain`` extra): the names below are imported on first
use, so that the command line can register ``explain`` without it and say what to install.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    **dict.fromkeys(
        ("WEIGHTS", "DistilConfig", "Distilled", "PairResult", "TreePolicy", "distil", "distil_auto")
        + ("evaluate_pair", "label"),
        "dagger",
    ),
    **dict.fromkeys(
        ("PASSIVE_RETURN", "Explanation", "cross_agreement", "explain_policy", "explain_runs")
        + ("format_explanations", "summary_rows"),
        "explain",
    ),
    **dict.fromkeys(("Leaf", "condition_text", "format_rules", "leaf_table", "leaves"), "rules"),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from massbargain.extras import require

    require("explain", what="massbargain.experiments.explain")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
