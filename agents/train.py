"""Train a PPO agent (Stable-Baselines3, CPU) on a massbargain scenario; write everything to a run directory.

Read :func:`train` top to bottom: it is the whole training run. The run directory it writes::

    RUN_DIR/
      config.yaml          resolved configuration: the TrainConfig, the full scenario, package versions,
                           seed, and one entry per training session (a resumed run has several)
      model.zip            the last model (end of training, or where Ctrl-C stopped it)
      best_model.zip       the model with the best periodic evaluation
      checkpoints/         model_<timesteps>_steps.zip every ``checkpoint_freq`` timesteps
      metrics.json         evaluation history (one record per evaluation), best and final figures, timing,
                           and the best scripted baseline on the same evaluation episodes (``best_scripted``)
      made_by.yaml         what made the folder: a training run and its identity (massbargain.agents.outdir)
      tb/PPO_1/            TensorBoard event files (``tensorboard --logdir RUN_DIR/tb``)

Periodic evaluation plays ``eval_episodes`` episodes of the policy (sampled actions, as
``load_agent`` plays it) in one batch on the dynamics core
(:func:`massbargain.agents.planner.evaluate_policy`, seed ``EVAL_SEED + seed``, common luck: every
evaluation of a run meets the same episodes and superior luck, so choosing the best model compares
checkpoints pairwise rather than through independent noise), which costs a fraction of a second, so it
can run often. Text files are written atomically (temporary file, then ``os.replace``), and so
are models, so a reader or an interrupted run never sees half a file.

Speed levers (measured on a 2-core machine): one torch thread (``torch_threads``; a 64x64 MLP gains
nothing from more), ``torch.distributions`` argument validation off (``validate_args``), large minibatches
(``batch_size``), and the native vector environment behind the SB3 adapter (:func:`make_training_env`):
one dynamics-core call steps every copy, and no per-copy ``info`` dict is built or deep-copied, where a
DummyVecEnv of single environments steps them one by one in Python.

Example::

    from massbargain.agents.config import TrainConfig
    from massbargain.agents.train import train

    run_dir = train(TrainConfig.default().replace(scenario="changxing", out="runs/changxing"))

This module imports torch and Stable-Baselines3.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ProgressBarCallback
from stable_baselines3.common.utils import LinearSchedule
from stable_baselines3.common.vec_env import VecEnv

import massbargain  # noqa: F401  (registers the environment ids)
from massbargain.agents.config import (
    BEST_MEMBER,
    DEMONSTRATIONS_SUFFIX,
    RESUMABLE,
    RUN_KIND,
    ConfigError,
    RunError,
    TrainConfig,
    UserError,
)
from massbargain.agents.evaluation import summarize
from massbargain.agents.loading import TrainedAgent
from massbargain.agents.outdir import atomic_write_bytes, atomic_write_text, prepare_output_dir
from massbargain.agents.planner import evaluate_policy
from massbargain.agents.sb3_vec import make_sb3_vec_env
from massbargain.scenario import LATEST_VERSION, Scenario

__all__ = [
    "EVAL_SEED",
    "RESUMABLE",
    "TrainingInterrupted",
    "best_scripted",
    "latest_model",
    "make_ppo",
    "make_training_env",
    "package_versions",
    "resolve_scenario",
    "resume_config",
    "save_model",
    "schedule_callbacks",
    "torch_settings",
    "train",
    "verdict",
]

#: Periodic evaluations use seed ``EVAL_SEED + config.seed``: episodes apart from the command line's
#: ``evaluate`` (seed 0 by default), so choosing the best model does not bias the final figures.
EVAL_SEED = 1_000_000
#: Seed offset of the warm-start member's demonstration episodes (apart from training and evaluation).
WARM_START_SEED = 3_000_000
#: ``warm_start: best`` chooses the member on this many episodes of seed ``WARM_START_SEED + seed``.
WARM_START_CHOICE_EPISODES = 400

ENV_ID = "MassBargain-v1"
TB_NAME = "PPO"
#: Largest offset of ACCEPT's logit during the warmup (exp(-10): ACCEPT all but never taken).
ACCEPT_OFFSET = 10.0


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training; a loadable checkpoint was saved first.

    Attributes: ``run_dir``, ``path`` (the saved model), ``timesteps`` (trained so far).
    """

    def __init__(self, run_dir: Path, path: Path, timesteps: int) -> None:
        super().__init__(f"training interrupted at {timesteps} timesteps; model saved to {path}")
        self.run_dir, self.path, self.timesteps = run_dir, path, timesteps


# --- the environment ---------------------------------------------------------------------------------


def make_training_env(scenario: Scenario, n_envs: int, seed: int) -> VecEnv:
    """The vectorized training environment: ``n_envs`` copies of ``MassBargain-v1`` on ``scenario``.

    The one place that decides how environments are built. The copies run in the native vector
    environment (:class:`massbargain.vector.MassBargainVectorEnv`, one dynamics-core call per step for
    all of them) behind the SB3 adapter (:func:`massbargain.agents.sb3_vec.make_sb3_vec_env`), wrapped in
    ``VecMonitor`` so that PPO logs episode returns and lengths (``rollout/ep_rew_mean``); the finished
    copies' info dicts hold only what PPO reads (``final_info=False``). All copies draw
    from one generator seeded with ``seed`` at the first ``reset()`` (PPO's own ``set_random_seed``
    re-seeds it with the run's seed; a resumed session with ``seed + timesteps done``): the same seed
    gives the same episodes and the same model.
    """
    return make_sb3_vec_env(ENV_ID, n_envs, seed=seed, final_info=False, scenario=scenario)


def resolve_scenario(spec: str, overrides: dict[str, Any] | None = None, version: int = LATEST_VERSION) -> Scenario:
    """A preset name or YAML path of model ``version``, with dotted overrides applied (ScenarioError on a bad
    key or value)."""
    scenario = Scenario.resolve(spec, version=version)
    return scenario.with_overrides(overrides) if overrides else scenario


# --- the run directory -------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on."""
    out = {"python": platform.python_version()}
    for dist in ("massbargain", "gymnasium", "stable-baselines3", "torch", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def save_model(model: PPO, path: str | os.PathLike) -> Path:
    """``model.save`` to ``path`` atomically (write a temporary file in the folder, then rename), so an
    interrupted run or a concurrent reader never sees half a model."""
    buffer = io.BytesIO()
    model.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON-serializable: {type(x).__name__}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def latest_model(run_dir: Path) -> tuple[Path, int] | None:
    """The run's model with the most timesteps (``model.zip`` or a checkpoint) and its timesteps."""
    from stable_baselines3.common.save_util import load_from_zip_file

    candidates = [run_dir / "model.zip", *sorted((run_dir / "checkpoints").glob("model_*_steps.zip"))]
    best: tuple[Path, int] | None = None
    for path in candidates:
        if not path.is_file():
            continue
        try:
            data, _, _ = load_from_zip_file(path, load_data=True, device="cpu")
            steps = int(data["num_timesteps"])
        except Exception:  # a damaged file: skip it, another candidate may do
            continue
        if best is None or steps > best[1]:
            best = (path, steps)
    return best


def resume_config(run_dir: str | os.PathLike, **changes: Any) -> TrainConfig:
    """The stored configuration of a run directory with some fields changed (e.g. ``timesteps``: the new
    total), ready for ``train(config, resume=True)``."""
    from massbargain.agents.loading import read_run_config

    stored = read_run_config(run_dir)
    if not isinstance(stored.get("config"), dict):
        raise UserError(f"{str(run_dir)!r} has no training configuration in config.yaml; was it written by train?")
    config = TrainConfig.from_dict(stored["config"], source=f"{run_dir}/config.yaml")
    return config.replace(out=str(run_dir), **changes)


# --- periodic evaluation and checkpoints ------------------------------------------------------------


def _folder_id(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder, or None if it is gone: a removed run directory that a later write
    re-created (atomic writes make missing parents) is another folder."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if path.is_dir() else None


def _vanished(run_dir: Path) -> RunError:
    return RunError(
        f"the run directory {str(run_dir)!r} disappeared during training (was it removed?); nothing more can be "
        "saved: train again"
    )


class _RunMonitor(BaseCallback):
    """Every ``eval_freq`` timesteps: evaluate the (sampled) policy with common luck, log to TensorBoard,
    keep the best model and rewrite ``metrics.json``; every ``checkpoint_freq`` timesteps: save a checkpoint.
    After each rollout (before its logs are written): stop with a RunError if the run directory is gone.
    ``on_evaluation(record)``, if given, is called after each evaluation (see :func:`train`)."""

    def __init__(
        self,
        config: TrainConfig,
        scenario: Scenario,
        run_dir: Path,
        metrics: dict[str, Any],
        on_evaluation: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self.config, self.scenario, self.run_dir, self.metrics = config, scenario, run_dir, metrics
        self.on_evaluation = on_evaluation
        self.next_eval = self.next_checkpoint = 0
        self.folder = _folder_id(run_dir)

    def _on_training_start(self) -> None:
        self.next_eval = self.num_timesteps + self.config.eval_freq
        self.next_checkpoint = self.num_timesteps + self.config.checkpoint_freq

    def _on_rollout_end(self) -> None:
        if _folder_id(self.run_dir) != self.folder:
            raise _vanished(self.run_dir)

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.evaluate()
            self.next_eval = self.num_timesteps + self.config.eval_freq
        if self.num_timesteps >= self.next_checkpoint:
            save_model(self.model, self.run_dir / "checkpoints" / f"model_{self.num_timesteps}_steps.zip")
            self.next_checkpoint = self.num_timesteps + self.config.checkpoint_freq
        return True

    def evaluate(self) -> dict[str, Any]:
        """Evaluate the current policy now; keep it as the best model if it is the best so far."""
        agent, seed = TrainedAgent(self.model, seed=EVAL_SEED + self.config.seed), EVAL_SEED + self.config.seed
        # Common luck: every evaluation of the run meets the same episodes and the same superior luck, so
        # the comparison that picks the best model is paired (its noise shrinks several-fold).
        figures = summarize(evaluate_policy(agent, self.scenario, self.config.eval_episodes, seed, common_luck=True))
        record = {"timesteps": int(self.num_timesteps), **figures}
        for key in ("mean_return", "return_ci95", "concession_rate", "punishment_rate", "mean_length"):
            self.logger.record(f"eval/{key}", figures[key])
        self.metrics["history"].append(record)
        best = self.metrics.get("best")
        if best is None or figures["mean_return"] > best["mean_return"]:
            save_model(self.model, self.run_dir / "best_model.zip")
            self.metrics["best"] = record
        self.metrics["timesteps"] = int(self.num_timesteps)
        _write_json(self.run_dir / "metrics.json", self.metrics)
        if self.on_evaluation is not None:
            self.on_evaluation(record)
        return record


class _AcceptWarmup(BaseCallback):
    """Phase ACCEPT in: over the first ``warmup`` timesteps its logit carries an offset that rises
    linearly from ``-ACCEPT_OFFSET`` to 0, updated between rollouts (so each PPO update sees one policy).

    Why: the initial policy is uniform, so it takes ACCEPT, an irreversible exit, with probability 1/8 a
    day; exploring episodes then last about a week, and under such random play every course of action
    looks worse than giving in at once. PPO settles on ACCEPT (then WAIT) within ~10k steps and never
    sees a sustained campaign, which needs a tolerant police, several leaks and days of petitions before
    it pays. (The random baseline leaves ACCEPT out for the same reason.) With ACCEPT held back, PPO first
    learns what the other actions achieve; as the offset fades it learns where giving in pays. After the
    warmup the policy is the plain network: no offset remains in the final model.

    The offset in force is stored on the model (``model.accept_offset``, saved with it), so a resumed run
    continues the schedule exactly.
    """

    def __init__(self, warmup: int) -> None:
        super().__init__()
        self.warmup = warmup

    def offset(self, timesteps: int) -> float:
        if timesteps >= self.warmup:
            return 0.0
        return -ACCEPT_OFFSET * (1.0 - timesteps / self.warmup)

    def _on_training_start(self) -> None:
        self._apply()

    def _on_rollout_start(self) -> None:
        self._apply()

    def _on_step(self) -> bool:
        return True

    def _apply(self) -> None:
        target = self.offset(self.num_timesteps)
        current = float(getattr(self.model, "accept_offset", 0.0))
        if target != current:
            with torch.no_grad():
                self.model.policy.action_net.bias[int(massbargain.Action.ACCEPT)] += target - current
            self.model.accept_offset = target


class _EntropySchedule(BaseCallback):
    """Entropy coefficient linear from ``ent_coef`` to ``ent_coef_final`` over the run's timesteps (set
    between rollouts). A high bonus early keeps PPO trying leaks and tolerance while it is still learning
    what they do; a low one late lets the policy sharpen (fewer needless actions sampled, and a greedy
    action, ``deterministic=True``, closer to what the stochastic policy learned to do)."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.start, self.end, self.total = config.ent_coef, config.ent_coef_final, config.timesteps

    def _on_rollout_start(self) -> None:
        done = min(1.0, self.num_timesteps / self.total)
        self.model.ent_coef = self.start + (self.end - self.start) * done

    def _on_step(self) -> bool:
        return True


def schedule_callbacks(config: TrainConfig) -> list[BaseCallback]:
    """The schedules every PPO run of the project follows: the ACCEPT warm-up and the entropy bonus's decay."""
    return [_AcceptWarmup(config.accept_warmup), _EntropySchedule(config)]


def make_ppo(config: TrainConfig, env: VecEnv, **kwargs: Any) -> PPO:
    """A fresh PPO model on ``env`` with ``config``'s hyperparameters (the learning rate linear from
    ``learning_rate`` to ``learning_rate_final``), networks and seed, on the CPU; ``kwargs`` go to ``PPO``
    (e.g. ``tensorboard_log``)."""
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[config.activation]
    hyper = config.ppo_kwargs()
    hyper["learning_rate"] = LinearSchedule(config.learning_rate, config.learning_rate_final, 1.0)
    return PPO(
        "MlpPolicy",
        env,
        **hyper,
        policy_kwargs={"net_arch": {"pi": config.net_arch, "vf": config.net_arch}, "activation_fn": activation},
        seed=config.seed,
        device="cpu",
        verbose=0,
        **kwargs,
    )


def warm_start(model: PPO, config: TrainConfig, scenario: Scenario) -> dict[str, Any]:
    """Clone ``config.warm_start`` into ``model``'s policy and value networks and return what was cloned and
    the clone's fit (``config.warm_start_epochs``, ``_batch_size``, ``_learning_rate``).

    ``warm_start`` is a family member (or ``best``: the member with the highest mean return on
    ``WARM_START_CHOICE_EPISODES`` episodes of the warm start's seed), cloned on ``config.warm_start_episodes``
    of its episodes (seeded by the run's seed), or a demonstrations file (``.npz``,
    :func:`massbargain.agents.warm_start.save_demonstrations`), cloned as it is. The choice never sees the
    evaluation episodes (seed ``EVAL_SEED + seed``)."""
    from massbargain.agents.families import best, parse_member, select
    from massbargain.agents.warm_start import clone_policy, demonstrations, load_demonstrations

    seed = WARM_START_SEED + config.seed
    if config.warm_start.endswith(DEMONSTRATIONS_SUFFIX):
        try:
            demos = load_demonstrations(config.warm_start)
        except ValueError as exc:
            raise ConfigError(f"warm_start: {exc}") from None
        width, n_actions = model.observation_space.shape[0], model.action_space.n
        if demos.obs.shape[1] != width or demos.actions.min() < 0 or demos.actions.max() >= n_actions:
            raise ConfigError(
                f"warm_start: {config.warm_start!r} holds observations of {demos.obs.shape[1]} fields and actions "
                f"{demos.actions.min()}..{demos.actions.max()}; this environment has {width} fields and actions "
                f"0..{n_actions - 1}"
            )
        teacher = {"demonstrations": config.warm_start, "digest": demos.digest()}
    else:
        if config.warm_start == BEST_MEMBER:
            member, _ = best(select(scenario, None, WARM_START_CHOICE_EPISODES, seed))
        else:
            member = parse_member(config.warm_start, days=scenario.horizon.days)
        demos = demonstrations(member, scenario, config.warm_start_episodes, seed, config.gamma)
        teacher = {"member": member.name}
    fit = clone_policy(
        model,
        demos,
        epochs=config.warm_start_epochs,
        batch_size=config.warm_start_batch_size,
        learning_rate=config.warm_start_learning_rate,
        seed=config.seed,
    )
    return {**teacher, "states": len(demos), **{k: round(v, 4) for k, v in fit.items()}}


@contextlib.contextmanager
def torch_settings(config: TrainConfig) -> Iterator[None]:
    """Run the block with ``config``'s speed levers (``torch_threads``, ``validate_args``); restore torch's after."""
    threads, validate = torch.get_num_threads(), torch.distributions.Distribution._validate_args
    torch.set_num_threads(config.torch_threads)
    torch.distributions.Distribution.set_default_validate_args(config.validate_args)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.distributions.Distribution.set_default_validate_args(validate)


# --- training ------------------------------------------------------------------------------------------


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    log: Any = print,
    on_evaluation: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Train PPO as ``config`` says and return the run directory.

    Args:
        config: the run's configuration; ``config.out`` is the run directory.
        resume: continue the run in ``config.out`` from its latest model up to ``config.timesteps`` in
            total. Only the fields in :data:`RESUMABLE` may differ from the stored configuration; the
            scenario is the stored, fully resolved one.
        overwrite: if ``config.out`` holds anything, move it aside into a sibling folder first
            (:func:`massbargain.agents.outdir.prepare_output_dir`; never deletes).
        log: where progress messages go (``print`` by default; ``None`` for silence).
        on_evaluation: called with each evaluation's record (``timesteps``, ``mean_return``, ... as in
            ``metrics.json``'s history), periodic and final, after ``metrics.json`` is written. An exception
            it raises stops training and propagates (``massbargain tune`` prunes trials that way); the run
            directory then holds the models and metrics written so far.

    Raises:
        UserError (ConfigError, OutputDirError): no ``out``; ``out`` holds another configuration's run, or
            this configuration's and ``resume`` is false; ``resume`` on a directory without a run, or with
            a total not above the timesteps done; ``resume`` with ``overwrite``.
        massbargain.ScenarioError: an unknown preset, scenario key or value.
        TrainingInterrupted: Ctrl-C; a loadable model was saved first (``model.zip``).
    """
    say = log or (lambda *a, **k: None)
    if config.out is None:
        raise ConfigError("out: give a run directory to write (massbargain train --out DIR)")
    run_dir = Path(config.out)
    if resume and overwrite:
        raise ConfigError("resume continues the run in out and overwrite moves it aside: pass one of them")

    # 1. The scenario and the run directory (one rule for output directories: massbargain.agents.outdir):
    #    fresh, or the stored state of the run to resume.
    if resume:
        from massbargain.agents.loading import read_run_config

        resume_config(run_dir)  # a run directory with a training configuration, or a UserError saying so
        run_info = read_run_config(run_dir)
        scenario = Scenario.from_dict(run_info["scenario"])
        prepare_output_dir(run_dir, config.run_identity(scenario), resume=True, overwrite=False, what=RUN_KIND, log=say)
        found = latest_model(run_dir)
        if found is None:
            raise UserError(f"{str(run_dir)!r} holds no loadable model to resume; train it afresh")
        start_path, start_steps = found
        if config.timesteps <= start_steps:
            raise UserError(
                f"{str(run_dir)!r} has already trained {start_steps} timesteps; "
                f"pass --timesteps above that (the new total)"
            )
        metrics = _read_json(run_dir / "metrics.json")
        metrics.setdefault("history", [])
    else:
        scenario = resolve_scenario(config.scenario, config.overrides, config.version)
        identity = config.run_identity(scenario)
        prepare_output_dir(run_dir, identity, resume=False, overwrite=overwrite, what=RUN_KIND, log=say)
        run_info = {
            "config": config.to_dict(),
            "scenario": scenario.to_dict(),
            "seed": config.seed,
            "versions": package_versions(),
            "sessions": [],
        }
        start_steps = 0
        metrics = {"history": []}

    # 2. Speed levers, restored on the way out.
    with torch_settings(config):
        # 3. Environments and model. A resumed session reseeds its environments past the timesteps done,
        #    so it does not replay the first session's episodes.
        env = make_training_env(scenario, config.n_envs, config.seed + start_steps)
        try:
            if resume:
                model = PPO.load(start_path, env=env, device="cpu", tensorboard_log=str(run_dir / "tb"))
                model.set_random_seed(config.seed + start_steps)
                say(f"resuming {run_dir} from {start_path.name} at {start_steps} timesteps")
            else:
                model = make_ppo(config, env, tensorboard_log=str(run_dir / "tb"))
                if config.warm_start is not None:
                    metrics["warm_start"] = warm_start(model, config, scenario)
                    say(f"warm start from {config.warm_start}: {metrics['warm_start']}")

            # 4. Record the resolved configuration before the first step.
            run_info["config"] = config.to_dict()
            session = {"started": _now(), "from_timesteps": start_steps, "to_timesteps": config.timesteps}
            run_info.setdefault("sessions", []).append(session)
            atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run_info, sort_keys=False))
            say(
                f"training PPO on {scenario.name!r} for {config.timesteps - start_steps} timesteps "
                f"({config.n_envs} envs, seed {config.seed}); run directory {run_dir}"
            )

            # 5. Train, with periodic evaluation, checkpoints, TensorBoard and a progress bar.
            monitor = _RunMonitor(config, scenario, run_dir, metrics, on_evaluation)
            callbacks: list[BaseCallback] = [*schedule_callbacks(config), monitor]
            progress = ProgressBarCallback() if config.progress_bar else None
            if progress is not None:
                callbacks.append(progress)
            metrics["status"] = "running"
            started = time.perf_counter()
            try:
                model.learn(
                    total_timesteps=config.timesteps - start_steps,
                    callback=CallbackList(callbacks),
                    tb_log_name=TB_NAME,
                    reset_num_timesteps=not resume,
                )
            except KeyboardInterrupt:
                _close_progress(progress)
                path = save_model(model, run_dir / "model.zip")
                _finish(metrics, session, model, started, "interrupted", config.seed)
                _write_json(run_dir / "metrics.json", metrics)
                atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run_info, sort_keys=False))
                say(
                    f"\ninterrupted at {model.num_timesteps} timesteps; saved {path}\n"
                    f"continue with: massbargain train --out {run_dir} --resume --timesteps {config.timesteps}"
                )
                raise TrainingInterrupted(run_dir, path, model.num_timesteps) from None
            except OSError as exc:  # e.g. TensorBoard's writer, when the run directory was removed under it
                if _folder_id(run_dir) != monitor.folder:
                    raise _vanished(run_dir) from exc
                raise

            # 6. Final evaluation (unless the last periodic one was at this very step), models and metrics.
            if not metrics["history"] or metrics["history"][-1]["timesteps"] != model.num_timesteps:
                monitor.evaluate()
                model.logger.dump(model.num_timesteps)
            save_model(model, run_dir / "model.zip")
            metrics["final"] = metrics["history"][-1]
            metrics["best_scripted"] = best_scripted(scenario, config.eval_episodes, EVAL_SEED + config.seed)
            _finish(metrics, session, model, started, "complete", config.seed)
            _write_json(run_dir / "metrics.json", metrics)
            atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(run_info, sort_keys=False))
            best, final = metrics["best"], metrics["final"]
            say(
                f"done: {model.num_timesteps} timesteps in {session['seconds']:.0f} s; "
                f"final mean return {final['mean_return']:+.3f} ± {final['return_ci95']:.3f}, "
                f"best {best['mean_return']:+.3f} at {best['timesteps']} (evaluation seed {EVAL_SEED + config.seed})"
            )
            say(verdict(best, metrics["best_scripted"], config))
        finally:
            env.close()
    return run_dir


def best_scripted(scenario: Scenario, episodes: int, seed: int) -> dict[str, Any]:
    """The best scripted baseline (all but ``random``) on the run's evaluation episodes (the same seed and
    common luck as the periodic evaluations): ``{"name", "mean_return", "returns": {baseline: mean}}``."""
    from massbargain.agents.baselines import BASELINES

    returns = {
        name: float(evaluate_policy(policy, scenario, episodes, seed, common_luck=True).returns.mean())
        for name, policy in BASELINES.items()
        if name != "random"
    }
    name = max(returns, key=returns.__getitem__)
    return {"name": name, "mean_return": returns[name], "returns": returns}


def verdict(best: dict[str, Any], scripted: dict[str, Any], config: TrainConfig) -> str:
    """One line: the best model against the best scripted baseline on the same evaluation episodes, and
    what to try when it trails (the levers docs/TRAINING.md describes)."""
    mine, theirs, name = best["mean_return"], scripted["mean_return"], scripted["name"]
    same = f"on the same {config.eval_episodes} evaluation episodes"
    if mine > theirs:
        return (
            f"verdict: the agent's best model ({mine:+.3f}) is above the best scripted baseline, {name} "
            f"({theirs:+.3f}), {same}; 'massbargain evaluate' gives intervals"
        )
    passive = best.get("passive_share", 0.0)
    collapse = f"; it has collapsed to waiting ({passive:.0%} of episodes passive)" if passive >= 0.9 else ""
    return (
        f"verdict: the agent trails the best scripted baseline: best model {mine:+.3f} vs {name} {theirs:+.3f} "
        f"{same}{collapse}. Try another --seed, more --timesteps (e.g. {2 * config.timesteps}), or a --config "
        f"with a higher ent_coef or a longer accept_warmup (docs/TRAINING.md, 'How the defaults were chosen')"
    )


def _finish(
    metrics: dict[str, Any], session: dict[str, Any], model: PPO, started: float, status: str, seed: int
) -> None:
    seconds = time.perf_counter() - started
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None  # how shared the machine was
    session.update(
        ended=_now(),
        seconds=round(seconds, 2),
        reached_timesteps=int(model.num_timesteps),
        status=status,
        load_1min=load,
    )
    done = int(model.num_timesteps) - int(session["from_timesteps"])
    metrics.update(
        status=status,
        timesteps=int(model.num_timesteps),
        eval_seed=EVAL_SEED + seed,
        load_1min=load,
    )
    metrics.setdefault("sessions", []).append(
        {"timesteps": done, "seconds": round(seconds, 2), "steps_per_second": round(done / max(seconds, 1e-9), 1)}
    )


def _close_progress(progress: ProgressBarCallback | None) -> None:
    pbar = getattr(progress, "pbar", None)
    if pbar is not None:
        try:
            pbar.close()
        except Exception:
            pass


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
