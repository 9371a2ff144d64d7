"""The search space of ``massbargain tune``: which parts of the PPO recipe it varies, and how a point of the
space becomes TrainConfig fields.

=======================  ===========================================================================
``learning_rate``        log-uniform in [1e-4, 3e-3], constant over the run (``learning_rate_final``)
``n_steps``              8, 16, 32 or 64 days per copy per rollout (the base's ``n_envs`` copies)
``minibatches``          1, 2, 4 or 8 minibatches per epoch: ``batch_size`` = n_envs · n_steps / minibatches
``n_epochs``             2 to 10
``ent_coef``             log-uniform in [0.003, 0.1]: the entropy bonus at the start
``ent_coef_final_share`` log-uniform in [0.05, 1]: ``ent_coef_final`` = ent_coef × this (1: constant)
``net_arch``             32x32, 64x64, 128x128 or 64x64x64 (policy and value networks alike)
``one_minus_gamma``      log-uniform in [0.001, 0.03]: ``gamma`` = 1 − this
``accept_warmup_share``  uniform in [0, 0.6]: ``accept_warmup`` = this × the budget (not searched when the
                         base config warm-starts: the cloned policy already knows when to give in, and
                         ``accept_warmup`` is then 0)
=======================  ===========================================================================

Everything else (``gae_lambda``, ``clip_range``, ``n_envs``, evaluation, ...) is the base config's. Ratios
(minibatches, the entropy's final share, the warm-up's share of the budget) rather than raw values keep
every point valid (the batch divides the rollout, the entropy falls or stays, the warm-up ends within the
run) and let one point mean the same recipe at any budget. Values are rounded to 4 significant digits
(gamma: 1 − 3 digits), so recipes read well in YAML. The default recipe of ``ppo_default.yaml`` is a
point of the space (:func:`params_of`).

This module imports no Optuna except in :meth:`Param.suggest` and :meth:`Param.distribution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from massbargain.agents.config import TrainConfig

__all__ = [
    "NET_ARCHS",
    "RECIPE_FIELDS",
    "SPACE",
    "Param",
    "base_recipe",
    "outside_space",
    "params_of",
    "recipe_of",
    "space_for",
]

#: The TrainConfig fields a recipe sets (``best.yaml`` holds exactly these).
RECIPE_FIELDS = (
    "timesteps",
    "n_envs",
    "learning_rate",
    "learning_rate_final",
    "n_steps",
    "batch_size",
    "n_epochs",
    "ent_coef",
    "ent_coef_final",
    "net_arch",
    "gamma",
    "accept_warmup",
)
#: Network shapes searched, by name.
NET_ARCHS = {"32x32": [32, 32], "64x64": [64, 64], "128x128": [128, 128], "64x64x64": [64, 64, 64]}


@dataclass(frozen=True)
class Param:
    """One dimension of the search space: a number in [low, high] (``log``: log-uniform; ``integer``:
    whole numbers), or one of ``choices``."""

    name: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """Draw this parameter for an Optuna trial."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def distribution(self) -> Any:
        """The Optuna distribution of this parameter."""
        from optuna import distributions as d

        if self.choices:
            return d.CategoricalDistribution(list(self.choices))
        if self.integer:
            return d.IntDistribution(int(self.low), int(self.high), log=self.log)
        return d.FloatDistribution(self.low, self.high, log=self.log)


#: The search space (see the module docstring); :func:`recipe_of` turns a point into TrainConfig fields.
SPACE = (
    Param("learning_rate", 1e-4, 3e-3, log=True),
    Param("n_steps", choices=(8, 16, 32, 64)),
    Param("minibatches", choices=(1, 2, 4, 8)),
    Param("n_epochs", 2, 10, integer=True),
    Param("ent_coef", 0.003, 0.1, log=True),
    Param("ent_coef_final_share", 0.05, 1.0, log=True),
    Param("net_arch", choices=tuple(NET_ARCHS)),
    Param("one_minus_gamma", 0.001, 0.03, log=True),
    Param("accept_warmup_share", 0.0, 0.6),
)


def space_for(base: TrainConfig) -> tuple[Param, ...]:
    """The dimensions searched from ``base``: :data:`SPACE`, without the ACCEPT warm-up if ``base`` warm-starts."""
    if base.warm_start is None:
        return SPACE
    return tuple(p for p in SPACE if p.name != "accept_warmup_share")


def _sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (readable recipes; 0.000312345 -> 0.0003123)."""
    return float(f"{x:.{digits - 1}e}") if x else 0.0


def recipe_of(params: Mapping[str, Any], base: TrainConfig, budget: int) -> dict[str, Any]:
    """The TrainConfig fields (:data:`RECIPE_FIELDS`) of a point of :data:`SPACE` at ``budget`` timesteps,
    with the base config's ``n_envs``."""
    rollout = base.n_envs * int(params["n_steps"])
    learning_rate = _sig(params["learning_rate"])
    ent_coef = _sig(params["ent_coef"])
    return {
        "timesteps": int(budget),
        "n_envs": base.n_envs,
        "learning_rate": learning_rate,
        "learning_rate_final": learning_rate,
        "n_steps": int(params["n_steps"]),
        "batch_size": rollout // int(params["minibatches"]),
        "n_epochs": int(params["n_epochs"]),
        "ent_coef": ent_coef,
        "ent_coef_final": _sig(ent_coef * params["ent_coef_final_share"]),
        "net_arch": list(NET_ARCHS[params["net_arch"]]),
        "gamma": round(1.0 - _sig(params["one_minus_gamma"], 3), 8),
        "accept_warmup": 0 if base.warm_start is not None else int(round(params["accept_warmup_share"] * budget)),
    }


def base_recipe(base: TrainConfig, budget: int) -> dict[str, Any]:
    """The base config's own recipe at ``budget`` timesteps (what "default" means in the comparison)."""
    return {**{f: getattr(base, f) for f in RECIPE_FIELDS}, "timesteps": int(budget)}


def params_of(base: TrainConfig, budget: int) -> dict[str, Any] | None:
    """The point of :data:`SPACE` whose recipe is the base config's at ``budget``; None if there is none
    (:func:`outside_space` says why)."""
    if outside_space(base, budget):
        return None
    point = _point(base, budget)
    return {p.name: point[p.name] for p in space_for(base)}


def outside_space(base: TrainConfig, budget: int) -> str | None:
    """Why the base config's recipe at ``budget`` is no point of :data:`SPACE` (e.g. ``"accept_warmup_share
    3.0 is outside [0, 0.6]"``: a warm-up longer than the run), or None if it is one."""
    rollout = base.n_envs * base.n_steps
    if not any(v == list(base.net_arch) for v in NET_ARCHS.values()):
        return f"net_arch {list(base.net_arch)} is none of {', '.join(NET_ARCHS)}"
    if base.ent_coef <= 0:
        return "ent_coef 0 is outside the space (its final value is a share of it)"
    if rollout % base.batch_size:
        return f"batch_size {base.batch_size} does not divide the rollout {rollout} into whole minibatches"
    params = _point(base, budget)
    for p in space_for(base):
        if not p.contains(params[p.name]):
            allowed = ", ".join(map(str, p.choices)) if p.choices else f"[{p.low:g}, {p.high:g}]"
            return f"{p.name} {params[p.name]:g} is outside {allowed}"
    if recipe_of(params, base, budget) != base_recipe(base, budget):
        return "learning_rate_final differs from learning_rate (the search keeps the rate constant)"
    return None


def _point(base: TrainConfig, budget: int) -> dict[str, Any]:
    rollout = base.n_envs * base.n_steps
    return {
        "learning_rate": base.learning_rate,
        "n_steps": base.n_steps,
        "minibatches": rollout // base.batch_size,
        "n_epochs": base.n_epochs,
        "ent_coef": base.ent_coef,
        "ent_coef_final_share": base.ent_coef_final / base.ent_coef,
        "net_arch": next(k for k, v in NET_ARCHS.items() if v == list(base.net_arch)),
        "one_minus_gamma": 1.0 - base.gamma,
        "accept_warmup_share": base.accept_warmup / budget,
    }
