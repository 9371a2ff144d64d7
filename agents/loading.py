"""Load a trained agent from its run directory as a policy: ``act(obs)``, ``probs(obs)``, ``value(obs)``.

A :class:`TrainedAgent` follows the policy protocol of the scripted baselines, so everything that takes a
baseline (``massbargain.rollout.run_episodes``, evaluation, analysis) takes a trained agent too::

    from massbargain import Scenario
    from massbargain.agents.loading import load_agent
    from massbargain.rollout import run_episodes

    agent = load_agent("runs/changxing")          # the best model of the run (``which="final"``: the last)
    run_episodes(agent, agent.scenario, episodes=1000, seed=0).summary()
    agent.probs(obs)                              # (8,) or (B, 8) action probabilities
    agent.value(obs)                              # the critic's estimate of the return to come

``act`` samples from the policy's probabilities by default, with a generator of the agent's own (seeded;
``reset(seed)`` restarts it, and :func:`massbargain.agents.evaluation.evaluate` does so with the evaluation
seed, so figures are reproducible). PPO learns a stochastic policy, and here its greedy version can be much
worse: where the policy is indifferent about *when* to do something (tolerate today or in two days), the
most probable action may never be that something. Measured on the default runs: greedy returns dropped to
about 0 on some runs whose sampled returns stayed at 0.25-0.50. ``deterministic=True`` gives the greedy
policy for those who want it.

This module imports torch and Stable-Baselines3.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from massbargain.agents.config import UserError
from massbargain.scenario import Scenario

__all__ = ["MODEL_FILES", "TrainedAgent", "load_agent", "read_run_config"]

#: Which model file of a run directory each ``which`` of :func:`load_agent` loads.
MODEL_FILES = {"best": "best_model.zip", "final": "model.zip"}


class TrainedAgent:
    """A trained Stable-Baselines3 policy seen through the policy protocol.

    ``act`` samples an action from ``probs`` (or, with ``deterministic=True``, takes the most probable one);
    ``probs`` and ``value`` expose the actor's distribution and the critic's estimate for analysis. Each
    takes one observation of shape (F,) or a batch (B, F).

    Attributes:
        model: the Stable-Baselines3 algorithm (e.g. ``PPO``) holding the policy.
        name: a label for tables (the run directory's name by default).
        run_dir: the run directory it came from, if any.
        config: the run's resolved configuration (``config.yaml`` as a dict), if any.
        scenario: the scenario it was trained on, if known.
        deterministic: act greedily instead of sampling.
        seed: seed of the sampling generator (see :meth:`reset`).
    """

    def __init__(
        self,
        model: Any,
        name: str = "agent",
        run_dir: Path | None = None,
        config: dict[str, Any] | None = None,
        scenario: Scenario | None = None,
        *,
        deterministic: bool = False,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.policy = model.policy
        self.name = name
        self.run_dir = run_dir
        self.config = config or {}
        self.scenario = scenario
        self.deterministic = deterministic
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Restart the sampling generator (from ``seed``, or from the agent's own seed)."""
        self.seed = self.seed if seed is None else seed
        self.rng = np.random.default_rng(self.seed)

    def _tensor(self, obs: np.ndarray) -> tuple[torch.Tensor, bool]:
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 1
        return torch.as_tensor(obs[None] if single else obs, device=self.policy.device), single

    @torch.no_grad()
    def probs(self, obs: np.ndarray) -> np.ndarray:
        """Action probabilities in ``massbargain.Action`` order: (F,) -> (8,), (B, F) -> (B, 8), float64."""
        t, single = self._tensor(obs)
        p = self.policy.get_distribution(t).distribution.probs.cpu().numpy().astype(np.float64)
        return p[0] if single else p

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        """An action drawn from ``probs`` (the most probable one if ``deterministic``): (F,) -> int,
        (B, F) -> (B,) int64."""
        p = self.probs(obs)
        batch = np.atleast_2d(p)
        if self.deterministic:
            a = batch.argmax(axis=1)
        else:
            u = self.rng.random((batch.shape[0], 1))
            a = np.minimum((batch.cumsum(axis=1) < u * batch.sum(axis=1, keepdims=True)).sum(axis=1), p.shape[-1] - 1)
        a = a.astype(np.int64)
        return int(a[0]) if p.ndim == 1 else a

    @torch.no_grad()
    def value(self, obs: np.ndarray) -> np.ndarray | float:
        """The critic's estimate of the (discounted) return to come: (F,) -> float, (B, F) -> (B,)."""
        t, single = self._tensor(obs)
        v = self.policy.predict_values(t).cpu().numpy().astype(np.float64)[:, 0]
        return float(v[0]) if single else v

    def __repr__(self) -> str:
        where = f", run_dir={str(self.run_dir)!r}" if self.run_dir is not None else ""
        return f"TrainedAgent({self.name!r}{where})"


def _first_line(exc: BaseException, limit: int = 100) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The resolved configuration a training run wrote (``config.yaml``), as a dict.

    Raises FileNotFoundError (with what to do) if ``run_dir`` does not exist or holds no ``config.yaml``,
    and UserError if it is another command's output (a sweep, a mode map) or its ``config.yaml`` is not a
    training run's.
    """
    import yaml

    from massbargain.agents.config import RUN_KIND
    from massbargain.agents.outdir import made_by

    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise UserError(f"{str(run_dir)!r} is a file; pass the run directory that holds it")
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {str(run_dir)!r} does not exist; train one with `massbargain train`")
    record = made_by(run_dir) or {}
    if record.get("what") not in (None, RUN_KIND):
        inside = " (its trained models are in models/<run_id>/)" if (run_dir / "models").is_dir() else ""
        raise UserError(
            f"{str(run_dir)!r} holds a {record['what']}, not a training run; pass a run directory written by "
            f"`massbargain train`{inside}"
        )
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(run_dir)!r} is not a run directory (no config.yaml); pass a directory written by `massbargain train`"
        )
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{str(path)!r} is not valid YAML ({type(exc).__name__}); is it a run's config.yaml?") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict) or "scenario" not in data:
        raise UserError(
            f"{str(path)!r} is not a training run's configuration; pass a run directory written by `massbargain train`"
        )
    return data


def load_agent(
    run_dir: str | os.PathLike,
    which: str = "best",
    name: str | None = None,
    *,
    deterministic: bool = False,
    seed: int = 0,
) -> TrainedAgent:
    """Load the agent of a training run.

    Args:
        run_dir: a run directory written by :func:`massbargain.agents.train.train`.
        which: ``"best"`` (the model with the best periodic evaluation; the final model if the run has
            none yet), ``"final"`` (the last model saved: the end of training, or where Ctrl-C stopped
            it), or the path of a model ``.zip`` (e.g. a checkpoint).
        name: label for tables (default: the run directory's name).
        deterministic, seed: see :class:`TrainedAgent` (sampled actions by default).

    Raises:
        FileNotFoundError: the run directory or the model file does not exist.
        UserError: the model file is not a loadable model (damaged, or another program's file), or
            ``run_dir`` is not a training run.
        ValueError: ``which`` is none of the above.
    """
    from stable_baselines3 import PPO

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    if which in MODEL_FILES:
        path = run_dir / MODEL_FILES[which]
        if which == "best" and not path.is_file():
            path = run_dir / MODEL_FILES["final"]
    elif str(which).endswith(".zip"):
        path = Path(which) if Path(which).is_absolute() or Path(which).is_file() else run_dir / which
    else:
        raise ValueError(f"which must be 'best', 'final' or the path of a model .zip, got {which!r}")
    if not path.is_file():
        raise FileNotFoundError(f"no model {path.name!r} in {str(run_dir)!r}; has the run saved a model yet?")
    try:
        model = PPO.load(path, device="cpu")
    except OSError:
        raise
    except Exception as exc:  # whatever a damaged or foreign file makes the zip, JSON or torch readers raise
        other = "; the last model may load (--model final)" if which == "best" else ""
        raise UserError(
            f"{str(path)!r} is not a loadable model ({type(exc).__name__}: {_first_line(exc)}): damaged, or not "
            f"saved by massbargain train{other}"
        ) from exc
    scenario = None
    if isinstance(config.get("scenario"), dict):
        scenario = Scenario.from_dict(config["scenario"])
    return TrainedAgent(
        model,
        name=name or run_dir.resolve().name,
        run_dir=run_dir,
        config=config,
        scenario=scenario,
        deterministic=deterministic,
        seed=seed,
    )
