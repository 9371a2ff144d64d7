"""A distilled tree as rules in the model's own units, with each leaf's coverage and agreement.

Each leaf of a :class:`~massbargain.experiments.explain.dagger.TreePolicy` is one rule: the conditions on
the path from the root, merged per observation field, then the action. Fields print as the environment's
docstring names them (:data:`massbargain.OBSERVATION_FIELDS`), in their units:

* one-hot and 0/1 fields read as words: ``police tolerant`` / ``police not tolerant``, ``last response
  warn``, ``investigation open`` / ``no investigation``;
* ``time_used`` as the day (``day < 12`` of T days), ``warnings`` as a count (``warnings >= 1``);
* every other field as a share, e.g. ``informed < 0.62``, ``radical_share >= 0.1``.

:func:`leaf_table` measures, on states of held-out episodes played by the tree, each leaf's coverage (share
of the visited states that fall in it) and agreement (share of those where the agent's most probable action,
or a scripted policy's action, is the leaf's action). :func:`format_rules` prints them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain.actions import Action
from massbargain.core import OBSERVATION_FIELDS, WARNINGS_SCALE

__all__ = ["Leaf", "condition_text", "format_rules", "leaf_table", "leaves"]

#: Words for the 0/1 fields: (when above 0.5, when below 0.5).
_FLAGS: dict[str, tuple[str, str]] = {
    "police_firm": ("police firm", "police not firm"),
    "police_normal": ("police normal", "police not normal"),
    "police_tolerant": ("police tolerant", "police not tolerant"),
    "last_hold": ("last response hold", "last response not hold"),
    "last_warn": ("last response warn", "last response not warn"),
    "last_repress": ("last response repress", "last response not repress"),
    "investigation": ("investigation open", "no investigation"),
}


@dataclass(frozen=True)
class Leaf:
    """One rule: the interval of each field on the path (low < x <= high) and the leaf's action.

    ``coverage`` and ``agreement`` are NaN until measured (:func:`leaf_table`); ``share`` is the weighted
    share of the leaf's training states whose label is its action (how pure the leaf is).
    """

    node: int
    bounds: tuple[tuple[str, float, float], ...]  # (field, low, high), -inf/inf when open
    action: int
    share: float
    coverage: float = math.nan
    agreement: float = math.nan
    states: int = 0

    @property
    def action_name(self) -> str:
        return Action(self.action).name

    def text(self, days: int = 30) -> str:
        """e.g. ``if informed < 0.62 and police not tolerant: LEAK``; ``always: WAIT`` for a stump."""
        conditions = [condition_text(f, lo, hi, days) for f, lo, hi in self.bounds]
        return f"{'if ' + ' and '.join(conditions) if conditions else 'always'}: {self.action_name}"


def _number(x: float) -> str:
    return f"{x:.3g}"


def condition_text(name: str, low: float, high: float, days: int = 30) -> str:
    """One field's interval (low < x <= high) in the model's units."""
    if name in _FLAGS:
        yes, no = _FLAGS[name]
        # a 0/1 field splits between 0 and 1: x <= h < 1 is "no", x > l >= 0 is "yes"
        return no if high < 1.0 else yes if low >= 0.0 else f"{name} in ({low:g}, {high:g}]"
    if name == "time_used":
        # the day is time_used * T, a whole number: x <= h  <=>  day <= floor(h*T)
        lo_day = math.floor(low * days + 1e-9) + 1 if math.isfinite(low) else None
        hi_day = math.floor(high * days + 1e-9) if math.isfinite(high) else None
        return _interval("day", lo_day, hi_day, whole=True)
    if name == "warnings":
        lo_n = math.floor(low * WARNINGS_SCALE + 1e-9) + 1 if math.isfinite(low) else None
        hi_n = math.floor(high * WARNINGS_SCALE + 1e-9) if math.isfinite(high) else None
        return _interval("warnings", lo_n, hi_n, whole=True)
    lo = low if math.isfinite(low) else None
    hi = high if math.isfinite(high) else None
    return _interval(name, lo, hi, whole=False)


def _interval(name: str, lo: float | None, hi: float | None, whole: bool) -> str:
    if whole:  # lo and hi are inclusive whole numbers
        if lo is not None and hi is not None:
            return f"{name} = {lo}" if lo == hi else f"{lo} <= {name} <= {hi}"
        return f"{name} >= {lo}" if lo is not None else f"{name} <= {hi}"
    if lo is not None and hi is not None:
        return f"{_number(lo)} < {name} <= {_number(hi)}"
    return f"{name} > {_number(lo)}" if lo is not None else f"{name} <= {_number(hi)}"


def leaves(policy: Any) -> list[Leaf]:
    """The rules of a TreePolicy's tree, left to right, with the path's conditions merged per field.

    A subtree whose leaves all take the same action is one rule (a split that changes nothing is not shown);
    its ``node`` is the subtree's root and :func:`leaf_table` counts every state under it.
    """
    t = policy.tree.tree_
    classes = np.asarray(policy.tree.classes_)
    out: list[Leaf] = []
    action: dict[int, int | None] = {}

    def uniform(node: int) -> int | None:  # the action every leaf under node takes, or None
        if node not in action:
            if t.children_left[node] == -1:
                action[node] = int(classes[int(t.value[node][0].argmax())])
            else:
                a, b = uniform(int(t.children_left[node])), uniform(int(t.children_right[node]))
                action[node] = a if a is not None and a == b else None
        return action[node]

    def walk(node: int, bounds: dict[int, tuple[float, float]]) -> None:
        a = uniform(node)
        if a is not None:
            v = t.value[node][0]
            rows = tuple((OBSERVATION_FIELDS[f], lo, hi) for f, (lo, hi) in sorted(bounds.items()))
            share = float(v[list(classes).index(a)] / v.sum())
            out.append(Leaf(node, rows, a, share))
            return
        f, thr = int(t.feature[node]), float(t.threshold[node])
        lo, hi = bounds.get(f, (-math.inf, math.inf))
        walk(int(t.children_left[node]), {**bounds, f: (lo, min(hi, thr))})
        walk(int(t.children_right[node]), {**bounds, f: (max(lo, thr), hi)})

    walk(0, {})
    return out


def _rule_of_leaf(policy: Any) -> np.ndarray:
    """For every node of the tree, the index in :func:`leaves` of the rule it belongs to (-1: none)."""
    t = policy.tree.tree_
    rule = np.full(t.node_count, -1)
    for i, leaf in enumerate(leaves(policy)):
        stack = [leaf.node]
        while stack:
            n = stack.pop()
            rule[n] = i
            if t.children_left[n] != -1:
                stack += [int(t.children_left[n]), int(t.children_right[n])]
    return rule


def leaf_table(policy: Any, obs: np.ndarray, expert_actions: np.ndarray) -> list[Leaf]:
    """The leaves with coverage and agreement measured on the states ``obs`` (B, F) and the expert's
    actions there (B,)."""
    ids = _rule_of_leaf(policy)[policy.leaf(obs)]
    mine = np.asarray(policy.act(obs), dtype=np.int64)
    out = []
    for i, leaf in enumerate(leaves(policy)):
        inside = ids == i
        n = int(inside.sum())
        agreement = float((expert_actions[inside] == mine[inside]).mean()) if n else math.nan
        out.append(Leaf(leaf.node, leaf.bounds, leaf.action, leaf.share, n / max(len(obs), 1), agreement, n))
    return out


def format_rules(table: list[Leaf], days: int = 30) -> str:
    """One line per leaf: coverage, agreement, the rule."""
    lines = ["coverage  agreement  rule"]
    for leaf in table:
        cov = "   -" if math.isnan(leaf.coverage) else f"{leaf.coverage:6.1%}"
        agr = "     -" if math.isnan(leaf.agreement) else f"{leaf.agreement:6.1%}"
        lines.append(f"{cov:>8}  {agr:>9}  {leaf.text(days)}")
    return "\n".join(lines)
