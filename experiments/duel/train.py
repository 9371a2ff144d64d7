"""Fictitious play between the county official and the prefecture, with Stable-Baselines3 PPO on each side.

Round r (1..R): the official's best response to the uniform mixture of the superior pool (the scripted
superior and the learned superiors of rounds < r), then the superior's best response to the uniform mixture
of the official pool (the officials of rounds <= r). Each best response is a PPO run of a fixed budget, so
"best" means "as good as that budget finds" (docs/DUEL.md).

A duel directory holds ``made_by.yaml`` (the configuration), ``round_<r>/official.zip`` and
``round_<r>/superior.zip`` (every round's policies), ``progress.json`` (the finished phases; a rerun continues
from the next one), and, when every round is done, ``payoff.json`` / ``payoff.md`` / ``returns.npz`` (the
payoff table of officials x superiors on the same episodes, with 95% intervals, and each side's gain from its
last best response). Every file is written atomically.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.actions import Mode
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior
from massbargain.superior_env import PolicySuperior, PoolSuperior, SuperiorReward

__all__ = [
    "DuelConfig",
    "DuelPools",
    "gains",
    "load_pools",
    "payoff_table",
    "run_duel",
]

WHAT = "duel"
SCRIPTED = "scripted"


@dataclass(frozen=True)
class DuelConfig:
    """What a duel trains and measures. The defaults fit a duel on one preset in a few minutes on one core
    (docs/DUEL.md gives the timing)."""

    scenario: str = "daye"
    overrides: dict = field(default_factory=dict)  # dotted scenario keys, e.g. a mode-map cell
    rounds: int = 4
    official_steps: int = 200_000  # PPO steps of each official best response
    superior_steps: int = 100_000  # PPO steps of each superior best response
    n_envs: int = 16
    eval_episodes: int = 1000  # episodes of each cell of the payoff table (the same for every pair)
    seed: int = 0
    reward: SuperiorReward = SuperiorReward()

    def __post_init__(self) -> None:
        for name in ("rounds", "official_steps", "superior_steps", "n_envs", "eval_episodes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DuelConfig.{name} must be a positive integer, got {value!r}")
        if self.eval_episodes < 2:
            raise ValueError(f"DuelConfig.eval_episodes must be >= 2 (intervals), got {self.eval_episodes}")
        self.scenario_object()  # raises ScenarioError on a bad preset or override

    def scenario_object(self) -> Scenario:
        return (
            Scenario.resolve(self.scenario).with_overrides(dict(self.overrides))
            if self.overrides
            else (Scenario.resolve(self.scenario))
        )

    def record(self) -> dict[str, Any]:
        """The configuration as plain values (``made_by.yaml``)."""
        out = asdict(self)
        out["overrides"] = dict(sorted(self.overrides.items()))
        return out

    @property
    def eval_seed(self) -> int:
        return 10_000 + self.seed


def _ppo_config(cfg: DuelConfig, timesteps: int, seed: int, accept_warmup: int) -> Any:
    from massbargain.agents.config import TrainConfig

    return TrainConfig.default().replace(
        timesteps=timesteps, n_envs=cfg.n_envs, seed=seed, accept_warmup=accept_warmup, torch_threads=1
    )


#: A new superior starts with its three concessions' logits this much below the others: a concession ends the
#: episode, so a uniform first policy concedes within a few days and PPO never sees what holding earns (the
#: same exploration trap as the official's ACCEPT, docs/TRAINING.md). The network can learn it away.
CONCESSION_PRIOR = 3.0


def _train(env: Any, tcfg: Any, superior: bool = False) -> Any:
    import torch

    from massbargain.actions import Response
    from massbargain.agents.train import make_ppo, schedule_callbacks, torch_settings

    with torch_settings(tcfg):
        model = make_ppo(tcfg, env)
        if superior:
            with torch.no_grad():
                for r in (Response.SUSPEND, Response.PARTIAL, Response.WITHDRAW):
                    model.policy.action_net.bias[int(r)] -= CONCESSION_PRIOR
        model.learn(tcfg.timesteps, callback=schedule_callbacks(tcfg))
    return model


def _save(model: Any, path: Path) -> None:
    from massbargain.agents.outdir import atomic_write_bytes

    buffer = io.BytesIO()
    model.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: Path) -> Any:
    from stable_baselines3 import PPO

    return PPO.load(path, device="cpu")


def _agent(model: Any, name: str, seed: int = 0) -> Any:
    from massbargain.agents.loading import TrainedAgent

    return TrainedAgent(model, name=name, seed=seed)


@dataclass
class DuelPools:
    """The pools of a duel directory: the officials (trained agents) and the superiors (the scripted one
    first, then the learned ones), in round order, with their names (``official_r1``, ``superior_r1``, ...)."""

    officials: list[Any]
    official_names: list[str]
    superiors: list[Any]
    superior_names: list[str]


def load_pools(out: str | Path, rounds: int | None = None) -> DuelPools:
    """The policies of a duel directory's finished rounds (the first ``rounds`` if given)."""
    out = Path(out)
    pools = DuelPools([], [], [ScriptedSuperior()], [SCRIPTED])
    r = 1
    while (rounds is None or r <= rounds) and (out / f"round_{r}" / "official.zip").exists():
        name = f"official_r{r}"
        pools.officials.append(_agent(_load(out / f"round_{r}" / "official.zip"), name, seed=r))
        pools.official_names.append(name)
        sup = out / f"round_{r}" / "superior.zip"
        if sup.exists():
            pools.superiors.append(PolicySuperior(_agent(_load(sup), f"superior_r{r}"), f"superior_r{r}"))
            pools.superior_names.append(f"superior_r{r}")
        r += 1
    return pools


def _progress(out: Path) -> dict[str, Any]:
    path = out / "progress.json"
    return json.loads(path.read_text()) if path.exists() else {"done": [], "seconds": {}}


def _write_progress(out: Path, progress: dict[str, Any]) -> None:
    from massbargain.agents.outdir import atomic_write_text

    atomic_write_text(out / "progress.json", json.dumps(progress, indent=1))


def _finish_phase(out: Path, progress: dict[str, Any], phase: str, started: float) -> float:
    """Record ``phase`` as done (with its seconds since ``started``) in ``progress.json``; return the seconds."""
    progress["done"].append(phase)
    progress["seconds"][phase] = round(time.perf_counter() - started, 1)
    _write_progress(out, progress)
    return progress["seconds"][phase]


def run_duel(cfg: DuelConfig, out: str | Path, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Play (or continue) the duel of ``cfg`` in ``out`` (prepared by the caller) and write its payoff table.

    Resumable: each phase (a round's official, a round's superior, the payoff table) is recorded in
    ``progress.json`` once its file is written; a rerun skips the finished ones.
    """
    from stable_baselines3.common.vec_env import VecMonitor

    from massbargain.agents.sb3_vec import SB3VecEnv
    from massbargain.superior_env import SuperiorVectorEnv
    from massbargain.vector import MassBargainVectorEnv

    out = Path(out)
    scenario = cfg.scenario_object()
    progress = _progress(out)
    for r in range(1, cfg.rounds + 1):
        folder = out / f"round_{r}"
        folder.mkdir(exist_ok=True)
        pools = load_pools(out, r - 1)
        phase = f"official_r{r}"
        if phase not in progress["done"]:
            started = time.perf_counter()
            superior = (
                PoolSuperior(pools.superiors, name="superiors") if len(pools.superiors) > 1 else pools.superiors[0]
            )
            venv = MassBargainVectorEnv(cfg.n_envs, scenario, autoreset_mode="SameStep", superior=superior)
            tcfg = _ppo_config(cfg, cfg.official_steps, cfg.seed * 1000 + 2 * r, cfg.official_steps // 2)
            model = _train(VecMonitor(SB3VecEnv(venv, final_info=False)), tcfg)
            _save(model, folder / "official.zip")
            seconds = _finish_phase(out, progress, phase, started)
            log(f"round {r}: official trained against {', '.join(pools.superior_names)} ({seconds} s)")
        pools = load_pools(out, r)
        phase = f"superior_r{r}"
        if phase not in progress["done"]:
            started = time.perf_counter()
            venv = SuperiorVectorEnv(cfg.n_envs, scenario, official=pools.officials, reward=cfg.reward)
            tcfg = _ppo_config(cfg, cfg.superior_steps, cfg.seed * 1000 + 2 * r + 1, 0)
            model = _train(VecMonitor(SB3VecEnv(venv, final_info=False)), tcfg, superior=True)
            _save(model, folder / "superior.zip")
            seconds = _finish_phase(out, progress, phase, started)
            log(f"round {r}: superior trained against {', '.join(pools.official_names)} ({seconds} s)")
    if "payoff" not in progress["done"]:
        started = time.perf_counter()
        pools = load_pools(out, cfg.rounds)
        table, returns = payoff_table(pools, scenario, cfg.eval_episodes, cfg.eval_seed, cfg.reward)
        table["gains"] = gains(returns, cfg.rounds)
        table["config"] = cfg.record()
        _write_payoff(out, table, returns)
        log(f"payoff table written ({_finish_phase(out, progress, 'payoff', started)} s)")
    return json.loads((out / "payoff.json").read_text())


# --- the payoff table ----------------------------------------------------------------------------------


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(1.96 * x.std(ddof=1) / np.sqrt(x.size))


def cell_figures(batch: EpisodeBatch) -> dict[str, float]:
    """The figures of one pair: both sides' mean returns with 95% half-widths, the official's episode mode
    shares (none = passive or official channels), concession, punishment and Pyrrhic rates."""
    o, o_ci = _mean_ci(batch.returns)
    s, s_ci = _mean_ci(batch.superior_returns)
    return {
        "official": o,
        "official_ci95": o_ci,
        "superior": s,
        "superior_ci95": s_ci,
        "none_share": float(np.isin(batch.mode, [Mode.PASSIVE, Mode.OFFICIAL_CHANNEL]).mean()),
        "consent_share": float((batch.mode == Mode.CONSENT).mean()),
        "mobilized_share": float((batch.mode == Mode.MOBILIZED).mean()),
        "concession_rate": batch.concession_rate,
        "punishment_rate": batch.punishment_rate,
        "pyrrhic_rate": float((batch.conceded & batch.punished).mean()),
    }


def play(official: Any, superior: Any, scenario: Scenario, episodes: int, seed: int, reward: SuperiorReward) -> Any:
    """One pair on ``episodes`` episodes of ``seed`` (the official's sampling restarted from ``seed`` too)."""
    reset = getattr(official, "reset", None)
    if callable(reset):
        reset(seed=seed)
    return run_episodes(official, scenario, episodes, seed, superior=superior, superior_reward=reward)


def payoff_table(
    pools: DuelPools, scenario: Scenario, episodes: int, seed: int, reward: SuperiorReward
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every official against every superior on the same episodes (common random numbers).

    Returns the table (``cells[official][superior]`` = :func:`cell_figures`) and the per-episode returns
    (``"official|superior|side"`` -> (episodes,) array) for paired comparisons.
    """
    cells: dict[str, dict[str, Any]] = {}
    returns: dict[str, np.ndarray] = {}
    for o_name, official in zip(pools.official_names, pools.officials, strict=True):
        cells[o_name] = {}
        for s_name, superior in zip(pools.superior_names, pools.superiors, strict=True):
            batch = play(official, superior, scenario, episodes, seed, reward)
            cells[o_name][s_name] = cell_figures(batch)
            returns[f"{o_name}|{s_name}|official"] = batch.returns
            returns[f"{o_name}|{s_name}|superior"] = batch.superior_returns
    table = {
        "scenario": scenario.name,
        "episodes": episodes,
        "seed": seed,
        "officials": pools.official_names,
        "superiors": pools.superior_names,
        "cells": cells,
    }
    return table, returns


def gains(returns: dict[str, np.ndarray], rounds: int) -> dict[str, Any]:
    """Each side's gain from its last best response, paired episode by episode (95% intervals).

    * official: what the round-R official earns against the superiors it was trained against (the scripted
      one and superior_r1..r(R-1), uniform), minus what the officials of rounds < R earn there (uniform);
    * superior: what superior_rR earns against the officials it was trained against (official_r1..rR),
      minus what the superiors before it (scripted, superior_r1..r(R-1)) earn there.

    Zero means the last best response found nothing better than the pool already had: the pools are then
    close to an equilibrium of the game restricted to what PPO finds at this budget. With one round, the
    official's gain is left out (there is no earlier official).
    """
    R = rounds
    sups_before = ["scripted"] + [f"superior_r{r}" for r in range(1, R)]
    offs = [f"official_r{r}" for r in range(1, R + 1)]

    def mean_of(keys: list[str]) -> np.ndarray:
        return np.mean([returns[k] for k in keys], axis=0)

    out: dict[str, Any] = {}
    if R > 1:
        new = mean_of([f"official_r{R}|{s}|official" for s in sups_before])
        old = mean_of([f"{o}|{s}|official" for o in offs[:-1] for s in sups_before])
        m, ci = _mean_ci(new - old)
        out["official"] = {"gain": m, "ci95": ci, "best_response": offs[-1], "against": sups_before}
    new = mean_of([f"{o}|superior_r{R}|superior" for o in offs])
    old = mean_of([f"{o}|{s}|superior" for o in offs for s in sups_before])
    m, ci = _mean_ci(new - old)
    out["superior"] = {"gain": m, "ci95": ci, "best_response": f"superior_r{R}", "against": offs}
    # The yardstick of the issue: the last learned superior against the scripted one, by its own reward,
    # against the final pool of officials (paired).
    diff = mean_of([f"{o}|superior_r{R}|superior" for o in offs]) - mean_of([f"{o}|scripted|superior" for o in offs])
    m, ci = _mean_ci(diff)
    out["learned_minus_scripted"] = {"gain": m, "ci95": ci, "against": offs}
    return out


def _write_payoff(out: Path, table: dict[str, Any], returns: dict[str, np.ndarray]) -> None:
    from massbargain.agents.outdir import atomic_write_bytes, atomic_write_text

    atomic_write_text(out / "payoff.json", json.dumps(table, indent=1))
    atomic_write_text(out / "payoff.md", payoff_markdown(table))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **returns)
    atomic_write_bytes(out / "returns.npz", buffer.getvalue())


def _pair_table(table: dict[str, Any], cell: Callable[[dict[str, Any]], str]) -> list[str]:
    """A markdown table of officials (rows) x superiors (columns), each cell written by ``cell``."""
    sups = table["superiors"]
    lines = ["| official \\ superior | " + " | ".join(sups) + " |", "|---|" + "---|" * len(sups)]
    for o in table["officials"]:
        lines.append(f"| {o} | " + " | ".join(cell(table["cells"][o][s]) for s in sups) + " |")
    return lines


def payoff_markdown(table: dict[str, Any]) -> str:
    """The payoff table as markdown: official's / superior's mean return ± 95% half-width per pair, then the
    official's modes and rates, then the gains."""
    lines = [
        f"# Duel payoff table: {table['scenario']} ({table['episodes']} episodes per pair, seed {table['seed']})",
        "",
        "Each cell: official's return ± 95% / superior's return ± 95% (the same episodes for every pair).",
        "",
        *_pair_table(
            table,
            lambda c: (
                f"{c['official']:+.3f} ± {c['official_ci95']:.3f} / {c['superior']:+.3f} ± {c['superior_ci95']:.3f}"
            ),
        ),
        "",
        "Official's episode modes (none / consent / mobilized) and concession / punishment / Pyrrhic rates:",
        "",
        *_pair_table(
            table,
            lambda c: (
                f"{c['none_share']:.2f}/{c['consent_share']:.2f}/{c['mobilized_share']:.2f}; "
                f"{c['concession_rate']:.2f}/{c['punishment_rate']:.2f}/{c['pyrrhic_rate']:.2f}"
            ),
        ),
    ]
    g = table.get("gains", {})
    lines += ["", "Gains of the last best responses (paired, 95%):", ""]
    for side, label in (("official", "official"), ("superior", "superior"), ("learned_minus_scripted", None)):
        if side in g:
            x = g[side]
            what = (
                f"{label}: {x['best_response']} against {', '.join(x['against'])}"
                if label
                else f"last learned superior minus scripted, superior's reward, against {', '.join(x['against'])}"
            )
            lines.append(f"- {what}: {x['gain']:+.4f} ± {x['ci95']:.4f}")
    return "\n".join(lines) + "\n"
