"""Distil a policy into a small decision tree by imitation on the tree's own visits (DAgger).

A trained PPO agent is a 64x64 network; a social scientist wants a rule to quote. :func:`distil` fits a
scikit-learn ``DecisionTreeClassifier`` to the agent's actions with state aggregation from the tree's own
visits (Ross, Gordon & Bagnell 2011, "DAgger"):

1. roll out the agent (its own sampled actions) and record every observation it meets;
2. label each recorded observation with the agent's most probable action, weighted by how decided the
   agent is there (``weight="max_prob"``: the probability of that action; ``"certainty"``: one minus the
   normalized entropy of its action probabilities; ``"none"``: 1);
3. fit a tree of the given depth to every labelled observation so far;
4. roll out a mixture (each day the agent acts with probability ``beta**i`` at iteration ``i``, the tree
   otherwise), record the observations it meets, label them with the agent and go to 3.

The tree returned is the one of the iterations with the best mean return on validation episodes (DAgger's
guarantee holds for the best of its sequence). A policy without ``probs`` (a scripted member, a rule) is
labelled with ``act`` and weight 1.

The tree is a policy with the baselines' protocol: :class:`TreePolicy` ``.act(obs)`` takes (F,) or (B, F)
observations, so :func:`massbargain.rollout.run_episodes`, the tables and the planner comparison take it as
they take a :class:`~massbargain.agents.families.Member`. :func:`evaluate_pair` plays the tree and the
agent on the same held-out episodes (common random numbers) and gives the paired difference of returns.

:func:`distil_auto` picks the depth: the shallowest tree (depth 1, 2, ...) whose validation return is within
``tolerance`` (2%) of the agent's; validation episodes (seed ``seed + 1``) are never the held-out ones
(``eval_seed``). Needs scikit-learn (the ``explain`` extra); no torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from massbargain.actions import Action
from massbargain.agents.families import Difference, paired_difference
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario

__all__ = [
    "WEIGHTS",
    "DistilConfig",
    "Distilled",
    "PairResult",
    "TreePolicy",
    "distil",
    "distil_auto",
    "evaluate_pair",
    "label",
]

#: How a state is weighted by the agent's decidedness: see :func:`label`.
WEIGHTS = ("max_prob", "certainty", "none")
_N_ACTIONS = len(Action)


@dataclass(frozen=True)
class DistilConfig:
    """Settings of :func:`distil` and :func:`distil_auto`.

    Attributes:
        depth: tree depth (None: the shallowest within ``tolerance`` of the agent, up to ``max_depth``).
        max_depth: deepest tree :func:`distil_auto` tries.
        tolerance: relative shortfall of the agent's validation return the automatic depth accepts.
        iterations: DAgger iterations after the first fit on the agent's own visits.
        episodes: episodes rolled out per iteration.
        beta: the agent's share of the days at iteration i is ``beta**i``.
        validation_episodes: episodes on which each iteration's tree (and each depth) is judged.
        weight: one of :data:`WEIGHTS`.
        min_samples_leaf: smallest leaf, as a share of the labelled states (avoids leaves for a handful).
        explore: share of the days of the data rollouts played by a uniformly random action (0: none), to
            label states the policies never reach and so tell apart fields that move together on their paths
            (e.g. informed share and legitimacy both follow the number of leaks).
        seed: seed of the rollouts (iteration i uses ``seed + 1000 * i``; validation ``seed + 1``).
    """

    depth: int | None = None
    max_depth: int = 6
    tolerance: float = 0.02
    iterations: int = 6
    episodes: int = 300
    beta: float = 0.5
    validation_episodes: int = 1000
    weight: str = "max_prob"
    min_samples_leaf: float = 0.002
    explore: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.depth is not None and not (isinstance(self.depth, int) and 1 <= self.depth <= 20):
            raise ValueError(f"depth must be an integer in [1, 20] or None (automatic), got {self.depth!r}")
        if not 1 <= self.max_depth <= 20:
            raise ValueError(f"max_depth must be in [1, 20], got {self.max_depth!r}")
        if self.weight not in WEIGHTS:
            raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {self.weight!r}")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError(f"explore must be in [0, 1], got {self.explore!r}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta!r}")
        if not 0.0 <= self.tolerance < 1.0:
            raise ValueError(f"tolerance must be in [0, 1), got {self.tolerance!r}")
        for name in ("iterations",):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("episodes", "validation_episodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")


class TreePolicy:
    """A fitted decision tree as a deterministic policy: ``act(obs)`` with (F,) -> int, (B, F) -> (B,) ints.

    Attributes:
        tree: the fitted ``sklearn.tree.DecisionTreeClassifier`` (features: :data:`OBSERVATION_FIELDS`).
        name: a label for tables.
        days: the horizon T of the scenario (to print ``time_used`` as a day).
        mode: "tree" (tables that group policies by mode show it apart).
    """

    mode = "tree"

    def __init__(self, tree: Any, name: str = "tree", days: int = 30) -> None:
        self.tree, self.name, self.days = tree, name, days
        self._classes = np.asarray(tree.classes_, dtype=np.int64)

    @property
    def depth(self) -> int:
        return int(self.tree.get_depth())

    @property
    def leaves(self) -> int:
        return int(self.tree.get_n_leaves())

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 1
        a = self._classes[self._leaf_values(obs[None] if single else obs).argmax(axis=1)]
        return int(a[0]) if single else a

    def probs(self, obs: np.ndarray) -> np.ndarray:
        """The weighted share of each action among the training states of the leaf: (B, F) -> (B, 8)."""
        obs = np.atleast_2d(np.asarray(obs, dtype=np.float32))
        values = self._leaf_values(obs)
        out = np.zeros((len(obs), _N_ACTIONS))
        out[:, self._classes] = values / values.sum(axis=1, keepdims=True)
        return out

    def _leaf_values(self, obs: np.ndarray) -> np.ndarray:
        return self.tree.tree_.value[self.tree.apply(obs)][:, 0, :]

    def leaf(self, obs: np.ndarray) -> np.ndarray:
        """The id of the leaf each observation of a batch (B, F) falls in."""
        return self.tree.apply(np.asarray(obs, dtype=np.float32))

    def __repr__(self) -> str:
        return f"TreePolicy({self.name!r}, depth={self.depth}, leaves={self.leaves})"


def label(policy: Any, obs: np.ndarray, weight: str = "max_prob") -> tuple[np.ndarray, np.ndarray]:
    """The policy's action for each observation (B, F) and the weight of that state.

    With ``probs`` (a trained agent): the most probable action; weight ``max_prob`` = its probability,
    ``certainty`` = 1 - H(p)/log(8), ``none`` = 1. Without (a scripted rule): ``act`` and weight 1.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {', '.join(WEIGHTS)}, got {weight!r}")
    if not hasattr(policy, "probs"):
        return np.asarray(policy.act(obs), dtype=np.int64).reshape(len(obs)), np.ones(len(obs))
    p = np.atleast_2d(policy.probs(obs))
    actions = p.argmax(axis=1).astype(np.int64)
    if weight == "max_prob":
        w = p.max(axis=1)
    elif weight == "certainty":
        q = np.clip(p, 1e-12, 1.0)
        w = 1.0 - (-(q * np.log(q)).sum(axis=1)) / math.log(p.shape[1])
    else:
        w = np.ones(len(obs))
    return actions, np.clip(w, 1e-6, None)


def _rollout_states(
    agent: Any,
    tree: TreePolicy | None,
    scenario: Scenario,
    episodes: int,
    seed: int,
    beta: float,
    explore: float = 0.0,
) -> tuple[np.ndarray, EpisodeBatch]:
    """Observations of the alive episodes met by the mixture (agent with probability beta each day, else
    the tree; a random action with probability ``explore``)."""
    rng = np.random.default_rng(seed + 7)
    seen: list[np.ndarray] = []

    def act(obs: np.ndarray, state: Any, alive: np.ndarray) -> np.ndarray:
        seen.append(obs[alive].copy())
        if tree is None or beta >= 1.0:
            chosen = np.asarray(agent.act(obs), dtype=np.int64)
        elif beta <= 0.0:
            chosen = np.asarray(tree.act(obs), dtype=np.int64)
        else:
            use_agent = rng.random(len(obs)) < beta
            chosen = np.where(use_agent, np.asarray(agent.act(obs), dtype=np.int64), tree.act(obs))
        if explore > 0.0:
            random = rng.random(len(obs)) < explore
            chosen = np.where(random, rng.integers(0, _N_ACTIONS, len(obs)), chosen)
        return chosen

    _reset(agent, seed)
    batch = run_episodes(None, scenario, episodes, seed, act=act)
    return np.concatenate(seen).astype(np.float32), batch


def _reset(policy: Any, seed: int) -> None:
    if hasattr(policy, "reset"):
        policy.reset(seed)


def _fit(obs: np.ndarray, actions: np.ndarray, weights: np.ndarray, depth: int, min_leaf: float, seed: int) -> Any:
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(
        max_depth=depth,
        min_samples_leaf=max(1, int(min_leaf * len(obs))),
        random_state=seed,
    )
    tree.fit(obs, actions, sample_weight=weights)
    return tree


@dataclass(frozen=True, eq=False)
class Distilled:
    """A distilled tree with how it was found.

    ``validation`` holds each DAgger iteration's mean validation return; ``agent_validation`` the agent's on
    the same episodes; ``states`` the number of labelled states the tree was fitted on; ``depths`` (for
    :func:`distil_auto`) each depth tried with its validation return.
    """

    policy: TreePolicy
    validation: tuple[float, ...]
    agent_validation: float
    states: int
    config: DistilConfig
    depths: tuple[tuple[int, float], ...] = field(default=())
    data: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)


def _validate(policy: Any, scenario: Scenario, episodes: int, seed: int) -> float:
    _reset(policy, seed)
    return float(run_episodes(policy, scenario, episodes, seed).returns.mean())


def distil(
    agent: Any,
    scenario: Scenario,
    depth: int,
    config: DistilConfig | None = None,
    name: str | None = None,
    agent_validation: float | None = None,
) -> Distilled:
    """Distil ``agent`` (anything with ``act``; ``probs`` if it has them) into a tree of depth ``depth`` on
    ``scenario`` by DAgger (module docstring). Same arguments and seed, same tree."""
    config = config or DistilConfig()
    val_seed = config.seed + 1
    if agent_validation is None:
        agent_validation = _validate(agent, scenario, config.validation_episodes, val_seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    tree: TreePolicy | None = None
    best: tuple[float, TreePolicy] | None = None
    history: list[float] = []
    for i in range(config.iterations + 1):
        seed = config.seed + 1000 * (i + 1)
        beta = config.beta**i if i else 1.0
        obs, _ = _rollout_states(agent, tree, scenario, config.episodes, seed, beta, config.explore)
        y, w = label(agent, obs, config.weight)
        xs.append(obs)
        ys.append(y)
        ws.append(w)
        x_all, y_all, w_all = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
        fitted = _fit(x_all, y_all, w_all, depth, config.min_samples_leaf, config.seed)
        tree = TreePolicy(fitted, name or f"tree(depth={depth})", scenario.horizon.days)
        score = _validate(tree, scenario, config.validation_episodes, val_seed)
        history.append(score)
        if best is None or score > best[0]:
            best = (score, tree)
    assert best is not None
    data = (np.concatenate(xs), np.concatenate(ys), np.concatenate(ws))
    return Distilled(best[1], tuple(history), float(agent_validation), len(data[0]), config, data=data)


def distil_auto(
    agent: Any, scenario: Scenario, config: DistilConfig | None = None, name: str | None = None
) -> Distilled:
    """The shallowest tree whose validation return is within ``config.tolerance`` of the agent's (relative to
    the size of the agent's return), trying depths 1..``config.max_depth``; with ``config.depth`` set, that
    depth. If no depth qualifies, the best-returning one."""
    config = config or DistilConfig()
    agent_val = _validate(agent, scenario, config.validation_episodes, config.seed + 1)
    if config.depth is not None:
        return distil(agent, scenario, config.depth, config, name, agent_val)
    tried: list[tuple[int, float]] = []
    found: list[Distilled] = []
    for depth in range(1, config.max_depth + 1):
        d = distil(agent, scenario, depth, config, name, agent_val)
        score = max(d.validation)
        tried.append((depth, score))
        found.append(d)
        if score >= agent_val - config.tolerance * abs(agent_val):
            break
    chosen = next(
        (d for d in found if max(d.validation) >= agent_val - config.tolerance * abs(agent_val)),
        max(found, key=lambda d: max(d.validation)),
    )
    return Distilled(chosen.policy, chosen.validation, agent_val, chosen.states, config, tuple(tried), data=chosen.data)


@dataclass(frozen=True)
class PairResult:
    """The tree and the agent on the same held-out episodes."""

    episodes: int
    seed: int
    agent_return: float
    tree_return: float
    agent_ci95: float
    tree_ci95: float
    difference: Difference  # tree - agent, paired
    ratio: float  # tree mean / agent mean
    ratio_low: float  # 1 + difference.low / agent mean (lower end of the paired interval)
    ratio_high: float
    agent_concession: float
    tree_concession: float
    agent_punishment: float
    tree_punishment: float
    agent_mode: str
    tree_mode: str

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["difference"] = self.difference.to_dict()
        return out


def _ci(x: np.ndarray) -> float:
    return float(1.96 * x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")


def _mode(batch: EpisodeBatch) -> str:
    from massbargain.actions import Mode

    return Mode(int(np.bincount(batch.mode, minlength=len(Mode)).argmax())).name.lower()


def evaluate_pair(tree: Any, agent: Any, scenario: Scenario, episodes: int = 2000, seed: int = 10_000) -> PairResult:
    """Play ``tree`` and ``agent`` on the same ``episodes`` (seed ``seed``: common random numbers) and compare.

    The ratio's interval is the paired interval of the difference divided by the agent's mean return (the
    agent's mean is taken as known); with a near-zero agent return the ratio means little (see ``PairResult``).
    """
    _reset(agent, seed)
    a = run_episodes(agent, scenario, episodes, seed)
    _reset(tree, seed)
    t = run_episodes(tree, scenario, episodes, seed)
    d = paired_difference(t, a)
    am = float(a.returns.mean())
    denom = am if am != 0 else float("nan")
    return PairResult(
        episodes,
        seed,
        am,
        float(t.returns.mean()),
        _ci(a.returns),
        _ci(t.returns),
        d,
        float(t.returns.mean()) / denom,
        1.0 + d.low / denom if denom > 0 else float("nan"),
        1.0 + d.high / denom if denom > 0 else float("nan"),
        a.concession_rate,
        t.concession_rate,
        a.punishment_rate,
        t.punishment_rate,
        _mode(a),
        _mode(t),
    )
