"""Global sensitivity with trained agents: Morris screening by parameter groups, one PPO agent per point.

Training is ~10^4 times the cost of a scripted point, so the trained-agent design is the smallest that says
something: the parameters of the sensitivity box (:func:`massbargain.experiments.measures.global_sensitivity.box`)
move together by scenario group (population, information, police, brokers, elite, superior, utility: 7
groups), ``trajectories`` Morris trajectories (8 points each), one agent per point trained with the default
recipe at ``timesteps`` steps (seed = the design's seed), evaluated with sampled actions on ``episodes``
episodes (the same seed at every point). Outputs: the agent's mean return, the share of its episodes in
consent and in mobilized mode, its concession and punishment rates. Each point's run directory is kept
(``agents/point-NNN``), so an interrupted design continues where it stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.experiments.measures.global_sensitivity import Box

__all__ = ["AGENT_OUTPUTS", "agents_group_morris", "groups_problem"]

AGENT_OUTPUTS = ("agent_return", "agent_consent", "agent_mobilized", "concession", "punishment")


def groups_problem(b: Box) -> dict[str, Any]:
    """The SALib problem of the box with each parameter in the group of its scenario section."""
    problem = b.problem()
    problem["groups"] = [k.split(".", 1)[0] for k in b.keys]
    return problem


def _point(b: Box, x: np.ndarray, run_dir: Path, timesteps: int, episodes: int, seed: int) -> list[float]:
    import json

    from massbargain.actions import Mode
    from massbargain.agents.config import TrainConfig
    from massbargain.agents.loading import load_agent
    from massbargain.agents.train import train
    from massbargain.rollout import run_episodes

    overrides = {k: float(v) for k, v in zip(b.keys, x, strict=True)}
    metrics = run_dir / "metrics.json"
    done = metrics.is_file() and json.loads(metrics.read_text()).get("status") == "complete"
    if not done:
        config = TrainConfig.default().replace(
            scenario=b.base.name, overrides=overrides, timesteps=timesteps, seed=seed, out=str(run_dir),
            progress_bar=False,
        )  # fmt: skip
        train(config, overwrite=run_dir.exists(), log=None)
    agent = load_agent(run_dir, seed=seed)
    batch = run_episodes(agent, agent.scenario, episodes, seed)
    return [
        float(batch.returns.mean()),
        float((batch.mode == Mode.CONSENT).mean()),
        float((batch.mode == Mode.MOBILIZED).mean()),
        batch.concession_rate,
        batch.punishment_rate,
    ]


def agents_group_morris(
    b: Box,
    out: str | os.PathLike,
    trajectories: int = 2,
    timesteps: int = 300_000,
    episodes: int = 1000,
    seed: int = 0,
    log: Callable[[str], Any] | None = print,
) -> dict[str, Any]:
    """Train and evaluate one agent per point of a grouped Morris design; return the points and mu* rows."""
    import torch
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    torch.set_num_threads(1)
    say = log or (lambda _m: None)
    problem = groups_problem(b)
    X = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    say(f"agents: {len(set(problem['groups']))} groups, {trajectories} trajectories, {len(X)} agents")
    Y = np.array(
        [_point(b, x, Path(out) / "agents" / f"point-{i:03d}", timesteps, episodes, seed) for i, x in enumerate(X)]
    )
    rows = []
    for j, output in enumerate(AGENT_OUTPUTS):
        res = morris_analyze.analyze(problem, X, Y[:, j], num_resamples=200, num_levels=4, seed=seed)
        for name, mu_star, conf, mu, sigma in zip(
            res["names"], res["mu_star"], res["mu_star_conf"], res["mu"], res["sigma"], strict=True
        ):
            rows.append(
                {"output": output, "group": name, "mu_star": float(mu_star), "mu_star_conf": float(conf)}
                | {"mu": float(mu), "sigma": float(sigma)}
            )
    points = [{"point": i, **dict(zip(AGENT_OUTPUTS, map(float, y), strict=True))} for i, y in enumerate(Y)]
    return {"rows": rows, "points": points, "timesteps": timesteps, "trajectories": trajectories}
