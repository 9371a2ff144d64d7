"""Training configuration: one frozen, validated :class:`TrainConfig`, its defaults kept in YAML.

The defaults live in ``experiments/configs/ppo_default.yaml`` (installed as package data of
``massbargain.experiments``; reading it imports no experiment code). Every field is declared once below
with its type, allowed range and meaning; validation errors name the field, the value and what is
allowed, and unknown keys are refused with the closest valid one.

Examples:
    >>> from massbargain.agents.config import TrainConfig
    >>> cfg = TrainConfig.default().replace(scenario="daye", timesteps=20_000, out="runs/daye")
    >>> cfg.n_envs * cfg.n_steps % cfg.batch_size
    0

This module imports neither torch nor Stable-Baselines3.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from massbargain import suggest
from massbargain.scenario import LATEST_VERSION

__all__ = [
    "BEST_MEMBER",
    "DEMONSTRATIONS_SUFFIX",
    "DEFAULT_CONFIG",
    "LATER_FIELDS",
    "RESUMABLE",
    "RUN_KIND",
    "ConfigError",
    "RunError",
    "TrainConfig",
    "UserError",
    "default_config_path",
    "read_config_file",
    "fitting_batch_size",
    "parse_assignment",
]

#: File name of the default hyperparameters inside ``massbargain.experiments``' ``configs`` folder.
DEFAULT_CONFIG = "ppo_default.yaml"
#: Fields that may differ when a run is resumed; every other field is part of the run's identity
#: (:meth:`TrainConfig.run_identity`).
RESUMABLE = ("timesteps", "out", "progress_bar", "eval_freq", "eval_episodes", "checkpoint_freq", "torch_threads")
#: Fields added after training runs were first recorded, with the value runs made before them had in effect:
#: at that value a field is left out of a run's identity, so that such a run can still be resumed.
LATER_FIELDS: dict[str, Any] = {
    "warm_start_epochs": 20,
    "warm_start_batch_size": 1024,
    "warm_start_learning_rate": 1e-3,
}
#: ``warm_start: best``: start from the scenario's best family member (chosen on the warm start's episodes).
BEST_MEMBER = "best"
#: ``warm_start: <file>.npz``: clone the demonstrations saved in that file (agents/warm_start.py).
DEMONSTRATIONS_SUFFIX = ".npz"
#: What a training run directory holds, in its ``made_by.yaml`` (:mod:`massbargain.agents.outdir`).
RUN_KIND = "training run"


class UserError(Exception):
    """A mistake of the user (a bad option, a missing run directory, ...), not a bug.

    The command line prints its message as ``massbargain: error: <message>`` and exits with status 2,
    without a traceback. The message says what is wrong and what to do instead.
    """


class RunError(Exception):
    """A failure while the work runs that is not a bug and not the user's input (a lost connection to a
    Ray cluster, ...). The command line prints its message as ``massbargain: error: <message>`` and exits
    with status 1, without a traceback."""


class ConfigError(UserError, ValueError):
    """An invalid training configuration. The message names the field and what is allowed."""


def _f(default: Any, kind: str, doc: str, lo: float | None = None, hi: float | None = None, **extra: Any) -> Any:
    """Declare one configuration field: default, kind (int, float, bool, str, ...), range and meaning."""
    meta = {"kind": kind, "range": (lo, hi), "doc": doc, **extra}
    if isinstance(default, (dict, list, tuple)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs: what to train on, how long, PPO's hyperparameters, and logging.

    Build it with :meth:`default` (the YAML defaults), :meth:`from_yaml` or :meth:`from_dict`, and change
    fields with :meth:`replace`; every construction validates. Timesteps are environment steps (days)
    summed over the parallel environments.
    """

    # --- what and where -----------------------------------------------------------------------------
    scenario: str = _f("baseline", "str", "Preset name (baseline, changxing, daye) or path to a scenario YAML.")
    overrides: dict = _f({}, "mapping", "Dotted scenario keys to override, e.g. {brokers.recklessness: 0.9}.")
    out: str | None = _f(None, "path", "Run directory to write (required to train).")
    version: int = _f(
        LATEST_VERSION,
        "int",
        "Model version a preset name refers to (a scenario YAML is read on it too).",
        0,
        LATEST_VERSION,
    )
    timesteps: int = _f(
        1_000_000, "int", "Total environment steps to train for (rounded up to whole rollouts).", 1, 1e10
    )
    seed: int = _f(0, "int", "Seed of PPO, the networks' initialization and the environments.", 0, 2**31 - 1)
    n_envs: int = _f(64, "int", "Parallel environments (copies in one native vector env, one process).", 1, 4096)
    # --- PPO (Stable-Baselines3 names) --------------------------------------------------------------
    learning_rate: float = _f(3e-4, "float", "Adam step size at the start.", 1e-7, 1.0)
    learning_rate_final: float = _f(
        3e-4, "float", "Adam step size at the end of the run (linear in between).", 0.0, 1.0
    )
    n_steps: int = _f(16, "int", "Steps per environment per rollout; a rollout is n_steps * n_envs steps.", 1, 1e6)
    batch_size: int = _f(256, "int", "Minibatch size; must divide n_steps * n_envs.", 2, 1e7)
    n_epochs: int = _f(5, "int", "Passes over each rollout.", 1, 1000)
    gamma: float = _f(0.995, "float", "Discount factor per day.", 0.0, 1.0)
    gae_lambda: float = _f(0.95, "float", "GAE lambda.", 0.0, 1.0)
    clip_range: float = _f(0.2, "float", "PPO clipping of the probability ratio.", 1e-4, 10.0)
    ent_coef: float = _f(0.05, "float", "Entropy bonus coefficient at the start.", 0.0, 10.0)
    ent_coef_final: float = _f(
        0.01, "float", "Entropy bonus coefficient at the end of the run (linear in between).", 0.0, 10.0
    )
    normalize_advantage: bool = _f(True, "bool", "Normalize advantages per minibatch.")
    vf_coef: float = _f(0.5, "float", "Value loss coefficient.", 0.0, 100.0)
    max_grad_norm: float = _f(0.5, "float", "Gradient norm clipping.", 1e-6, 1e6)
    net_arch: list = _f([64, 64], "layers", "Hidden layer sizes of the policy and value networks (not shared).")
    accept_warmup: int = _f(
        300_000, "int", "Timesteps over which ACCEPT is phased in (its logit offset goes from -10 to 0).", 0, 1e10
    )
    activation: str = _f("tanh", "choice", "Activation of the hidden layers.", choices=("tanh", "relu"))
    warm_start: str | None = _f(
        None,
        "member",
        "A scripted family member PPO starts from (behaviour cloning, agents/warm_start.py), 'best' (the "
        "scenario's best member, chosen on the warm start's own episodes), a demonstrations file (.npz, "
        "agents/warm_start.py's save_demonstrations: any teacher's episodes, e.g. the planner's), or null.",
    )
    warm_start_episodes: int = _f(2000, "int", "Episodes of the warm-start member to clone from.", 1, 1e6)
    warm_start_epochs: int = _f(20, "int", "Passes of the warm start's cloning over its demonstrations.", 1, 1e5)
    warm_start_batch_size: int = _f(1024, "int", "Minibatch size of the warm start's behaviour cloning.", 1, 1e7)
    warm_start_learning_rate: float = _f(1e-3, "float", "Adam step size of the warm start's cloning.", 1e-7, 1.0)
    # --- evaluation, checkpoints, logging -----------------------------------------------------------
    eval_freq: int = _f(100_000, "int", "Evaluate the policy (sampled actions) every this many timesteps.", 1, 1e10)
    eval_episodes: int = _f(2000, "int", "Episodes per periodic evaluation (one batch on the dynamics core).", 1, 1e6)
    checkpoint_freq: int = _f(200_000, "int", "Save a checkpoint every this many timesteps.", 1, 1e10)
    progress_bar: bool = _f(True, "bool", "Show a progress bar while training.")
    # --- speed --------------------------------------------------------------------------------------
    torch_threads: int = _f(1, "int", "torch.set_num_threads for training (small networks: 1 is fastest).", 1, 256)
    validate_args: bool = _f(False, "bool", "torch.distributions argument validation (off: faster, same results).")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check(f, getattr(self, f.name)))
        if self.warm_start is not None and self.accept_warmup:
            raise ConfigError(
                f"accept_warmup must be 0 with warm_start (the cloned policy already knows when to give in; "
                f"holding ACCEPT back would unlearn it), got {self.accept_warmup}"
            )
        rollout = self.n_steps * self.n_envs
        if rollout < 2:
            raise ConfigError(f"n_steps * n_envs must be at least 2, got {self.n_steps} * {self.n_envs}")
        if self.batch_size > rollout or rollout % self.batch_size:
            envs = self.batch_size // math.gcd(self.batch_size, self.n_steps)  # n_envs multiples that fit
            fit = fitting_batch_size(rollout, self.batch_size)
            raise ConfigError(
                f"batch_size ({self.batch_size}) must divide the rollout size n_steps * n_envs "
                f"({self.n_steps} * {self.n_envs} = {rollout}); batch_size {fit} would, or n_envs a multiple of {envs}"
            )

    # --- construction -------------------------------------------------------------------------------
    @classmethod
    def default(cls) -> TrainConfig:
        """The defaults of ``experiments/configs/ppo_default.yaml``."""
        return cls.from_yaml(default_config_path())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: TrainConfig | None = None, source: str = "") -> TrainConfig:
        """A config from a mapping of field names to values, on top of ``base`` (default: the dataclass
        defaults). Unknown keys are refused with the closest valid one."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source or 'a training config'} must be a mapping of fields, got {type(data).__name__}")
        known = cls.field_names()
        unknown = [k for k in data if k not in known]
        if unknown:
            where = f"{source}: " if source else ""
            hint = "valid keys: the fields of experiments/configs/ppo_default.yaml"
            raise ConfigError(where + suggest.unknown("config key", unknown[0], known, where=hint))
        try:
            if base is None:
                return cls(**data)
            return dataclasses.replace(base, **data)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}" if source else str(exc)) from None

    @classmethod
    def from_yaml(cls, path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
        """Load a config from a YAML mapping of field names (keys missing from it keep ``base``'s values)."""
        return cls.from_dict(read_config_file(path), base=base, source=Path(path).name)

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed."""
        return self.from_dict(changes, base=self)

    # --- export -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (YAML-safe)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else list(value) if f.name == "net_arch" else value
        return out

    def run_identity(self, scenario: Any) -> dict[str, Any]:
        """What makes two training runs the same run: every field but those of :data:`RESUMABLE` (and those
        of :data:`LATER_FIELDS` at their former value), and the fully resolved ``scenario`` (a
        :class:`massbargain.Scenario`: a preset or YAML file may change between runs). A run directory holds
        one identity (:mod:`massbargain.agents.outdir`)."""
        fields = {
            k: v
            for k, v in self.to_dict().items()
            if k not in RESUMABLE and not (k in LATER_FIELDS and v == LATER_FIELDS[k])
        }
        return {**fields, "resolved_scenario": scenario.to_dict()}

    def ppo_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``stable_baselines3.PPO`` (without policy, env and logging)."""
        names = (
            "learning_rate",
            "n_steps",
            "batch_size",
            "n_epochs",
            "gamma",
            "gae_lambda",
            "clip_range",
            "ent_coef",
            "normalize_advantage",
            "vf_coef",
            "max_grad_norm",
        )
        return {name: getattr(self, name) for name in names}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def field_help(cls) -> list[tuple[str, str]]:
        """(field, meaning with default and range) for help texts."""
        rows = []
        for f in dataclasses.fields(cls):
            lo, hi = f.metadata["range"]
            rng = f" in [{_num(lo)}, {_num(hi)}]" if lo is not None else ""
            rows.append((f.name, f"{f.metadata['doc']} ({f.metadata['kind']}{rng})"))
        return rows


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _check(f: dataclasses.Field, value: Any) -> Any:
    """The field's value normalized to its kind, or a ConfigError naming the field."""
    kind, (lo, hi), name = f.metadata["kind"], f.metadata["range"], f.name
    if kind in ("int", "float"):
        bounds = f" in [{_num(lo)}, {_num(hi)}]"
        what = "an integer" if kind == "int" else "a number"
        if isinstance(value, str):
            try:
                value = float(value) if kind == "float" or any(c in value for c in ".eE") else int(value)
            except ValueError:
                raise ConfigError(f"{name} must be {what}{bounds}, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be {what}{bounds}, got {value!r}")
        if kind == "int" and (not math.isfinite(value) or float(value) != int(value)):
            raise ConfigError(f"{name} must be {what}{bounds}, got {value!r}")
        if not math.isfinite(value) or not lo <= value <= hi:
            raise ConfigError(f"{name} must be {what}{bounds}, got {value!r}")
        return int(value) if kind == "int" else float(value)
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
        return value
    if kind == "path":
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise ConfigError(f"{name} must be a directory path, got {value!r}")
        return str(value)
    if kind == "member":
        if value is None:
            return None
        from massbargain.agents.families import parse_member

        if not isinstance(value, str):
            raise ConfigError(
                f"{name} must be a family member's name, e.g. 'consent(...)', 'best', a demonstrations file "
                f"(.npz) or null; got {value!r}"
            )
        if value == BEST_MEMBER:
            return value
        if value.endswith(DEMONSTRATIONS_SUFFIX):  # a demonstrations file: read (and checked) when training starts
            return value
        try:
            return parse_member(value).name
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    if kind == "choice":
        choices = f.metadata["choices"]
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value
    if kind == "mapping":
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{name} must be a mapping of dotted scenario keys to values, got {value!r}")
        return dict(value)
    if kind == "layers":
        ok = isinstance(value, (list, tuple)) and len(value) >= 1
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096 for v in value)
        if not ok:
            raise ConfigError(f"{name} must be a non-empty list of layer sizes in [1, 4096], got {value!r}")
        return list(value)
    raise AssertionError(f"unknown kind {kind!r} of field {name}")


def fitting_batch_size(rollout: int, wanted: int) -> int:
    """The divisor of ``rollout`` nearest to ``wanted`` by ratio (the smaller on a tie), at least 2 where the
    rollout allows: a minibatch size that fits ``n_steps * n_envs``. E.g. 160 for a rollout of 160 and 256
    wanted, 320 for 320."""
    small = [d for d in range(1, math.isqrt(rollout) + 1) if rollout % d == 0]
    divisors = sorted({*small, *(rollout // d for d in small)})
    usable = [d for d in divisors if d >= 2] or divisors
    return min(usable, key=lambda d: (abs(math.log(d / wanted)), d))


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"field=value"`` as ``(field, value)``, the value read as YAML (``n_envs=32`` gives the int 32).

    For ``--set`` options that change TrainConfig fields; raises ``argparse.ArgumentTypeError`` (argparse
    prints it as a usage error) when there is no ``=`` or no field name.
    """
    import argparse

    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    return key.strip(), yaml.safe_load(value)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The YAML mapping of a config file as it is (its fields not yet validated: see
    :meth:`TrainConfig.from_dict`); ConfigError if the file is missing, not YAML or not a mapping."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must be a mapping of fields, got {type(data).__name__}")
    return data


def default_config_path() -> Path:
    """Path of ``ppo_default.yaml`` (package data of ``massbargain.experiments``)."""
    return Path(str(resources.files("massbargain.experiments").joinpath("configs", DEFAULT_CONFIG)))
