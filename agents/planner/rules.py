"""The planner's default base policies: a small parametric family of readable scripted rules.

:class:`ScriptedRule` decides by the first rule that applies (pacify a radical crowd, make the police
tolerant, leak until a share is informed, keep the brokers active, petition until elite opposition reaches a
target, else wait). :func:`select_base_policies` scores the 90 rules of :func:`rule_grid` on a scenario in
one batched run and keeps the best few; :class:`~massbargain.agents.planner.RolloutPlanner` uses them as its
continuation policies unless it is given others.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from massbargain.actions import Action
from massbargain.core import OBS_INDEX
from massbargain.rollout import run_episodes
from massbargain.scenario import Scenario

__all__ = ["ScriptedRule", "rule_grid", "select_base_policies"]

_I = OBS_INDEX


@dataclass(frozen=True)
class ScriptedRule:
    """A readable scripted policy; the first rule that applies decides the day's action.

    1. PACIFY if the radical share exceeds ``pacify_above``;
    2. TOLERATE if ``tolerate`` and the police are not yet tolerant;
    3. LEAK while the informed share is below ``leak_until``;
    4. MOBILIZE while broker activity is below ``mobilize_below``;
    5. PETITION while elite opposition is below ``petition_until``;
    6. otherwise WAIT. ``accept=True`` replaces the whole rule by ACCEPT.
    """

    tolerate: bool = True
    leak_until: float = 0.9
    mobilize_below: float = 0.0
    pacify_above: float = 2.0
    petition_until: float = 0.0
    accept: bool = False

    @property
    def name(self) -> str:
        if self.accept:
            return "accept"
        parts = ["tolerate" if self.tolerate else "no-tolerate", f"leak<{self.leak_until:g}"]
        if self.mobilize_below > 0:
            parts.append(f"mobilize<{self.mobilize_below:g}")
        if self.pacify_above <= 1:
            parts.append(f"pacify>{self.pacify_above:g}")
        if self.petition_until > 0:
            parts.append(f"petition<{self.petition_until:g}")
        return " ".join(parts)

    def rule(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations (B, F)."""
        if self.accept:
            return np.full(obs.shape[0], int(Action.ACCEPT), dtype=np.int64)
        a = np.where(obs[:, _I["elite_opposition"]] < self.petition_until, int(Action.PETITION), int(Action.WAIT))
        a = np.where(obs[:, _I["broker_activity"]] < self.mobilize_below, int(Action.MOBILIZE), a)
        a = np.where(obs[:, _I["informed"]] < self.leak_until, int(Action.LEAK), a)
        if self.tolerate:
            a = np.where(obs[:, _I["police_tolerant"]] < 0.5, int(Action.TOLERATE), a)
        return np.where(obs[:, _I["radical_share"]] > self.pacify_above, int(Action.PACIFY), a).astype(np.int64)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return int(self.rule(obs[None])[0])
        return self.rule(obs)


def rule_grid() -> list[ScriptedRule]:
    """The 90 rules scored at construction: tolerate × leak target × petition target × brokers."""
    brokers = [(0.0, 2.0), (0.3, 0.3), (0.6, 0.3)]  # (mobilize_below, pacify_above)
    return [
        ScriptedRule(tolerate=t, leak_until=leak, petition_until=pet, mobilize_below=m, pacify_above=pac)
        for t, leak, pet, (m, pac) in itertools.product(
            [True, False], [0.0, 0.5, 0.75, 0.9, 1.01], [0.0, 0.5, 1.01], brokers
        )
    ]


class _GridPolicy:
    """Many rules at once: row block ``i`` of the batch follows ``rules[i]`` (to score a grid in one run)."""

    def __init__(self, rules: list[ScriptedRule], episodes: int) -> None:
        self.rules, self.episodes = rules, episodes

    def act(self, obs: np.ndarray) -> np.ndarray:
        out = np.empty(obs.shape[0], dtype=np.int64)
        e = self.episodes
        for i, r in enumerate(self.rules):
            out[i * e : (i + 1) * e] = r.rule(obs[i * e : (i + 1) * e])
        return out


_SELECTION_CACHE: dict[tuple, tuple[list[ScriptedRule], np.ndarray]] = {}


def select_base_policies(
    scenario: Scenario, k: int = 3, episodes: int = 200, seed: int = 12345
) -> tuple[list[ScriptedRule], np.ndarray]:
    """``k`` good rules of :func:`rule_grid` on ``scenario`` and their mean returns (cached).

    All rules are scored in one batched rollout, on the same ``episodes`` starts each. The first is the
    best; the second the best of those that spend differently once set up (that end by waiting if the
    best ends by petitioning, and conversely), because the rollout values today's action by what its
    continuation goes on to spend; the rest follow by rank.
    """
    key = (scenario, k, episodes, seed)
    if key not in _SELECTION_CACHE:
        rules = rule_grid()
        batch = run_episodes(_GridPolicy(rules, episodes), scenario, len(rules) * episodes, seed)
        means = batch.returns.reshape(len(rules), episodes).mean(axis=1)
        ranked = [int(i) for i in np.argsort(-means, kind="stable")]
        # The best rule, then the best one that ends by waiting (or by petitioning, if the best waits):
        # continuations that differ in what they spend each day once set up; then by rank.
        waits = rules[ranked[0]].petition_until == 0
        other = next((i for i in ranked if (rules[i].petition_until == 0) != waits), ranked[1 % len(ranked)])
        order = list(dict.fromkeys([ranked[0], other, *ranked]))[:k]
        _SELECTION_CACHE[key] = ([rules[i] for i in order], means[order])
    rules, means = _SELECTION_CACHE[key]
    return list(rules), means.copy()
