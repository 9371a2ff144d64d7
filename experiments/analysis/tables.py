"""What does a policy do, and why? Rollout tables, grouped shares and policy surfaces for notebooks.

Everything here works on any *policy*: an object with ``act(obs)`` (a scripted baseline, a loaded agent, a
planner), the name of a scripted baseline (``"consent"``), or a run directory written by training (loaded
with :func:`massbargain.agents.loading.load_agent`).

- :func:`rollouts` plays a batch of episodes on the dynamics core and returns one row per day of every
  episode (:data:`STEP_COLUMNS` documents every column and its dtype).
- :func:`episode_summary` turns that into one row per episode; :func:`outcome_rates`, :func:`mode_shares`,
  :func:`action_shares` and :func:`action_by_state` group either table by any column, with numeric columns
  optionally cut into bins; :func:`compare` puts several policies side by side.
- :func:`policy_surface` maps a policy's action probabilities over a grid of two observed fields.
- :func:`learning_curves` reads TensorBoard event files and Monitor CSVs from run directories.

Plots of all of these live in :mod:`massbargain.experiments.analysis.plots`. Example::

    from massbargain.experiments import analysis as an
    steps = an.rollouts("consent", scenario="changxing", episodes=500, seed=0)
    an.outcome_rates(steps)                                   # one row: concession rate, punishment rate ...
    an.mode_shares(steps, by="recklessness", bins={"recklessness": 4}, level="episode")
    an.action_by_state(steps, x="crowd", y="radical_share", bins=4)
    an.policy_surface("consent", x="informed", y="radical_share", fixed={"police_tolerant": 1.0})
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from massbargain import core
from massbargain.actions import (
    ACTION_MODE_ARRAY,
    ESCALATED_MODES,
    ESCALATION_OF_ACTION,
    Action,
    EndReason,
    Mode,
    Outcome,
    Response,
    Severity,
)
from massbargain.core import OBS_INDEX, OBSERVATION_FIELDS
from massbargain.scenario import Scenario

__all__ = [
    "ACTION_DTYPE",
    "PROB_COLUMNS",
    "Bins",
    "AFTER_FIELDS",
    "END_REASON_DTYPE",
    "EPISODE_COLUMNS",
    "EPISODE_MODE_DTYPE",
    "HIDDEN_FIELDS",
    "MODE_DTYPE",
    "OUTCOME_DTYPE",
    "RESPONSE_DTYPE",
    "SEVERITY_DTYPE",
    "STEP_COLUMNS",
    "action_by_state",
    "action_probabilities",
    "action_shares",
    "as_policy",
    "compare",
    "episode_summary",
    "learning_curves",
    "mode_shares",
    "outcome_rates",
    "policy_name",
    "policy_surface",
    "prob_column",
    "rollouts",
]

# --- dtypes -----------------------------------------------------------------------------------------

#: Categories are the enum names in enum order, so ``.cat.codes`` are the enum values.
ACTION_DTYPE = pd.CategoricalDtype([a.name for a in Action])
MODE_DTYPE = pd.CategoricalDtype([m.name for m in Mode])
RESPONSE_DTYPE = pd.CategoricalDtype([r.name for r in Response])
OUTCOME_DTYPE = pd.CategoricalDtype([o.name for o in Outcome])
END_REASON_DTYPE = pd.CategoricalDtype([e.name for e in EndReason])
SEVERITY_DTYPE = pd.CategoricalDtype([s.name for s in Severity], ordered=True)
#: An episode's mode: the most escalated one it used (``massbargain.episode_mode``), ordered by escalation.
EPISODE_MODE_DTYPE = pd.CategoricalDtype([m.name for m in ESCALATED_MODES], ordered=True)

#: Hidden variables recorded with each step, as they were when the official chose the action.
HIDDEN_FIELDS: tuple[str, ...] = ("recklessness", "resolve", "mood", "evidence", "pressure_stock")
_HIDDEN_STATE = {"recklessness": "recklessness", "resolve": "resolve", "mood": "mood", "evidence": "evidence"}
_HIDDEN_STATE["pressure_stock"] = "stock"

#: Fields also recorded at the end of the day (after the action, the crowd and the superior's response), as
#: ``<field>_after``: what a timeline draws, and the final values on an episode's last row.
AFTER_FIELDS: tuple[str, ...] = (
    "informed",
    "crowd",
    "peak_crowd",
    "radical_share",
    "disorder",
    "broker_activity",
    "legitimacy",
    "evidence",
)

_PROB_PREFIX = "p_"


def prob_column(action: Action | int | str) -> str:
    """Column name of an action's probability: ``p_wait`` ... ``p_accept``."""
    if isinstance(action, str):
        action = Action[action.upper()]
    return _PROB_PREFIX + Action(action).name.lower()


PROB_COLUMNS: tuple[str, ...] = tuple(prob_column(a) for a in Action)

#: Columns of :func:`rollouts`, in order, with dtypes. ``<field>`` stands for each of OBSERVATION_FIELDS.
STEP_COLUMNS: dict[str, str] = {
    "policy": "str: the policy's name (``name=``, its ``name`` attribute, the run directory's name)",
    "scenario": "str: the scenario's name",
    "episode": "int64: episode index 0 .. episodes-1 (episode i is the same for the same seed)",
    "day": "int64: day of the dispute on which the action was taken, 1 .. horizon",
    "<field>": "float32: each observed field, as the official saw it when choosing (start of the day)",
    "recklessness, resolve, mood, evidence, pressure_stock": "float64: hidden variables at the start of the day",
    "severity": "category (ordered, Severity names): heaviest punishment so far, at the start of the day",
    "action": "category (Action names): the official's action",
    "mode": "category (Mode names): the action's mode",
    "p_wait .. p_accept": "float64: the policy's action probabilities (only with probabilities=True)",
    "superior_response": "category (Response names): the superior's response that day",
    "reward": "float64: the day's reward",
    "triggered": "bool: a trigger event happened that day",
    "punished": "category (ordered, Severity names): punishment decided that day (NONE if none)",
    "terminated": "bool: the episode ended that day (the last row of each episode)",
    "outcome": "category (Outcome names): the plan's fate; NONE until the last row",
    "end_reason": "category (EndReason names): why the episode ended; NONE until the last row",
    "<field>_after": "float32 (evidence_after float64): AFTER_FIELDS at the end of the day",
}

#: Columns of :func:`episode_summary`, with dtypes.
EPISODE_COLUMNS: dict[str, str] = {
    "policy, scenario": "str",
    "episode": "int64",
    "length": "int64: days played",
    "return": "float64: sum of rewards",
    "outcome": "category (Outcome names)",
    "end_reason": "category (EndReason names)",
    "mode": "category (ordered: PASSIVE < OFFICIAL_CHANNEL < CONSENT < MOBILIZED): most escalated mode used",
    "conceded": "bool: the superior suspended, partially conceded or withdrew",
    "severity": "category (ordered, Severity names): the official's punishment at the end",
    "punished": "bool: severity > NONE",
    "triggers": "int64: trigger events",
    "peak_crowd, peak_disorder, final_evidence": "float64",
    "recklessness, resolve, mood": "float64: the episode's hidden draws",
    "n_wait .. n_accept": "int64: how often each action was taken",
}

# --- policies ---------------------------------------------------------------------------------------


def as_policy(policy: Any) -> Any:
    """A policy object from ``policy``: an object with ``act`` is returned as is; a run directory is loaded
    with ``massbargain.agents.loading.load_agent``; a string that is not a directory names a baseline."""
    if isinstance(policy, (str, os.PathLike)):
        path = Path(policy)
        if path.is_dir():
            from massbargain.agents.loading import load_agent  # torch: only when a run directory is given

            agent = load_agent(path)
            if not hasattr(agent, "name"):
                try:
                    agent.name = path.name
                except AttributeError:
                    pass
            return agent
        from massbargain.agents.baselines import BASELINES

        if isinstance(policy, str) and policy in BASELINES:
            return BASELINES[policy]
        raise ValueError(
            f"policy {str(policy)!r} is neither a run directory nor a baseline name ({', '.join(BASELINES)}); "
            "pass an object with act(obs), a run directory written by training, or a baseline name"
        )
    if not callable(getattr(policy, "act", None)):
        raise TypeError(f"a policy needs a method act(obs); got {type(policy).__name__}")
    return policy


def policy_name(policy: Any) -> str:
    """A short label: a string or path's last part, else the policy's ``name``, else its class name."""
    if isinstance(policy, (str, os.PathLike)):
        return Path(policy).name or str(policy)
    name = getattr(policy, "name", None)
    return str(name) if name else type(policy).__name__


def action_probabilities(policy: Any, obs: np.ndarray) -> np.ndarray:
    """The policy's action probabilities for a batch of observations (B, F) -> (B, 8).

    A policy with ``probs(obs)`` (a trained agent) gives them itself; for any other (a scripted rule) they
    are the one-hot of ``act(obs)``.
    """
    obs = np.asarray(obs, dtype=np.float32)
    if obs.ndim == 1:
        return action_probabilities(policy, obs[None])[0]
    probs = getattr(policy, "probs", None)
    if callable(probs):
        p = np.asarray(probs(obs), dtype=np.float64)
        if p.shape != (obs.shape[0], len(Action)):
            raise ValueError(
                f"{policy_name(policy)}.probs gave shape {p.shape}; expected {(obs.shape[0], len(Action))}"
            )
        return p
    return _one_hot(_act(policy, obs))


def _accepts(method: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _act(policy: Any, obs: np.ndarray, state: core.State | None = None, alive: np.ndarray | None = None) -> np.ndarray:
    """``policy``'s actions for a batch. During a rollout a policy that plans from the true state gets it
    through ``act_with_state(obs, state)``, and one whose ``act`` takes ``active`` gets the mask of
    running episodes (a planner then skips finished ones)."""
    with_state = getattr(policy, "act_with_state", None)
    method = with_state if state is not None and callable(with_state) else policy.act
    kwargs = {"active": alive.copy()} if alive is not None and _accepts(method, "active") else {}
    raw = method(obs, state, **kwargs) if method is with_state else method(obs, **kwargs)
    actions = np.asarray(raw, dtype=np.int64).reshape(obs.shape[0])
    if actions.size and (actions.min() < 0 or actions.max() >= len(Action)):
        raise ValueError(f"{policy_name(policy)}.act returned actions outside 0..{len(Action) - 1}")
    return actions


def _one_hot(actions: np.ndarray) -> np.ndarray:
    out = np.zeros((actions.shape[0], len(Action)))
    out[np.arange(actions.shape[0]), actions] = 1.0
    return out


# --- rollouts ---------------------------------------------------------------------------------------


def rollouts(
    policy: Any,
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    episodes: int = 100,
    seed: int = 0,
    *,
    max_days: int | None = None,
    probabilities: bool = False,
    sample: bool = False,
    name: str | None = None,
) -> pd.DataFrame:
    """Play ``episodes`` episodes of ``policy`` at once and return one row per day of each episode.

    Args:
        policy: an object with ``act(obs)`` (and optionally ``probs(obs)`` and ``reset()``), a baseline
            name, or a run directory.
        scenario: anything :meth:`Scenario.resolve` accepts (a preset name, overrides, a YAML path, a
            Scenario).
        episodes: how many episodes, played as one batch on the dynamics core.
        seed: seeds the environment's generator exactly as :func:`massbargain.rollout.run_episodes` does,
            so per-episode returns agree with it for a deterministic policy.
        max_days: stop after this many days (default: the scenario's horizon).
        probabilities: add the policy's action probabilities ``p_wait .. p_accept`` (one-hot for
            scripted policies).
        sample: draw actions from ``probs`` with a generator of its own (seeded from ``seed``) instead of
            calling ``act``; needs a policy with ``probs``.
        name: the ``policy`` column (default: :func:`policy_name`).

    Returns:
        A DataFrame sorted by episode and day, one row per day an episode was still running, with the
        columns of :data:`STEP_COLUMNS`: the observation the official acted on (float32, by field name),
        the hidden variables then (float64), the action and its mode, the day's superior response, reward,
        trigger, punishment and termination, and :data:`AFTER_FIELDS` at the end of the day. The same
        seed, policy and scenario give the same table (for a policy that is itself deterministic, or
        with ``sample=True``). A policy's ``reset()`` is called first if it has one; a policy with
        ``act_with_state(obs, state)`` (the clairvoyant planner) is given the true state; one whose
        ``act`` takes ``active`` is given the mask of running episodes.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    label = name if name is not None else policy_name(policy)
    pol = as_policy(policy)
    if sample and not callable(getattr(pol, "probs", None)):
        raise ValueError(f"sample=True needs a policy with probs(obs); {label} has none")
    scen = Scenario.resolve(scenario)
    if callable(getattr(pol, "reset", None)):
        pol.reset()
    rng = np.random.default_rng(seed)
    action_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    state = core.initial_state(scen, rng, episodes)
    alive = np.ones(episodes, dtype=bool)
    rows = np.arange(episodes)
    chunks: dict[str, list[np.ndarray]] = {}

    def keep(key: str, values: np.ndarray, idx: np.ndarray) -> None:
        chunks.setdefault(key, []).append(np.asarray(values)[idx])

    after_index = [OBS_INDEX[f] for f in AFTER_FIELDS if f != "evidence"]
    for day in range(1, (max_days or scen.horizon.days) + 1):
        obs = core.observe(state, scen)
        idx = rows[alive]
        hidden = {col: np.array(getattr(state, attr), dtype=np.float64) for col, attr in _HIDDEN_STATE.items()}
        severity = np.array(state.severity, dtype=np.int64)
        probs = None
        if sample:
            probs = action_probabilities(pol, obs)
            cum = np.cumsum(probs, axis=1)
            draws = action_rng.random(episodes) * cum[:, -1]
            actions = np.minimum((cum <= draws[:, None]).sum(axis=1), len(Action) - 1)
        else:
            actions = _act(pol, obs, state, alive)
            if probabilities:
                has_probs = callable(getattr(pol, "probs", None))
                probs = action_probabilities(pol, obs) if has_probs else _one_hot(actions)
        result = core.step(state, actions, scen, rng)
        after = core.observe(state, scen)

        keep("episode", rows, idx)
        keep("day", np.full(episodes, day, dtype=np.int64), idx)
        keep("obs", obs, idx)
        for col, values in hidden.items():
            keep(col, values, idx)
        keep("severity", severity, idx)
        keep("action", actions, idx)
        if probabilities or sample:
            keep("probs", probs, idx)
        keep("superior_response", np.asarray(result.response, dtype=np.int64), idx)
        keep("reward", np.asarray(result.reward, dtype=np.float64), idx)
        keep("triggered", np.asarray(result.triggered, dtype=bool), idx)
        keep("punished", np.asarray(result.punished, dtype=np.int64), idx)
        keep("terminated", np.asarray(result.terminated, dtype=bool), idx)
        keep("outcome", np.asarray(result.outcome, dtype=np.int64), idx)
        keep("end_reason", np.asarray(result.end_reason, dtype=np.int64), idx)
        keep("after", after[:, after_index], idx)
        keep("evidence_after", np.array(state.evidence, dtype=np.float64), idx)
        alive &= ~np.asarray(result.terminated, dtype=bool)
        if not alive.any():
            break

    data = {key: np.concatenate(parts) for key, parts in chunks.items()}
    order = np.lexsort((data["day"], data["episode"]))
    data = {key: values[order] for key, values in data.items()}
    n = order.size
    columns: dict[str, Any] = {
        "policy": pd.Series([label] * n, dtype="str"),
        "scenario": pd.Series([scen.name] * n, dtype="str"),
        "episode": data["episode"].astype(np.int64),
        "day": data["day"],
    }
    for j, field in enumerate(OBSERVATION_FIELDS):
        columns[field] = data["obs"][:, j].astype(np.float32)
    for col in HIDDEN_FIELDS:
        columns[col] = data[col]
    columns["severity"] = pd.Categorical.from_codes(data["severity"], dtype=SEVERITY_DTYPE)
    columns["action"] = pd.Categorical.from_codes(data["action"], dtype=ACTION_DTYPE)
    columns["mode"] = pd.Categorical.from_codes(ACTION_MODE_ARRAY[data["action"]].astype(np.int64), dtype=MODE_DTYPE)
    if "probs" in data:
        for j, col in enumerate(PROB_COLUMNS):
            columns[col] = data["probs"][:, j].astype(np.float64)
    columns["superior_response"] = pd.Categorical.from_codes(data["superior_response"], dtype=RESPONSE_DTYPE)
    columns["reward"] = data["reward"]
    columns["triggered"] = data["triggered"]
    columns["punished"] = pd.Categorical.from_codes(data["punished"], dtype=SEVERITY_DTYPE)
    columns["terminated"] = data["terminated"]
    columns["outcome"] = pd.Categorical.from_codes(data["outcome"], dtype=OUTCOME_DTYPE)
    columns["end_reason"] = pd.Categorical.from_codes(data["end_reason"], dtype=END_REASON_DTYPE)
    for j, field in enumerate(f for f in AFTER_FIELDS if f != "evidence"):
        columns[f"{field}_after"] = data["after"][:, j].astype(np.float32)
    columns["evidence_after"] = data["evidence_after"]
    return pd.DataFrame(columns)


# --- per-episode table ------------------------------------------------------------------------------


def _is_episode_table(df: pd.DataFrame) -> bool:
    return "length" in df.columns and "day" not in df.columns


def _episode_keys(df: pd.DataFrame) -> list[str]:
    return [k for k in ("policy", "scenario", "episode") if k in df.columns]


def episode_summary(steps: pd.DataFrame) -> pd.DataFrame:
    """One row per episode of a :func:`rollouts` table (or of several concatenated); see EPISODE_COLUMNS.

    An episode's mode is the most escalated mode it used (mobilized > consent > official channel >
    passive; control and exit count as passive), as ``massbargain.episode_mode`` defines it.
    """
    if _is_episode_table(steps):
        return steps
    keys = _episode_keys(steps)
    df = steps.sort_values([*keys, "day"], kind="stable")
    action = df["action"].cat.codes.to_numpy().astype(np.int64)
    work = pd.DataFrame(
        {
            **{k: df[k].to_numpy() for k in keys},
            "day": df["day"].to_numpy(),
            "reward": df["reward"].to_numpy(),
            "escalation": ESCALATION_OF_ACTION[action].astype(np.int64),
            "punished": df["punished"].cat.codes.to_numpy().astype(np.int64),
            "severity": df["severity"].cat.codes.to_numpy().astype(np.int64),
            "triggered": df["triggered"].to_numpy().astype(np.int64),
            "outcome": df["outcome"].cat.codes.to_numpy().astype(np.int64),
            "end_reason": df["end_reason"].cat.codes.to_numpy().astype(np.int64),
            "peak_crowd": df["peak_crowd_after"].to_numpy().astype(np.float64),
            "disorder": df["disorder_after"].to_numpy().astype(np.float64),
            "evidence": df["evidence_after"].to_numpy(),
            "recklessness": df["recklessness"].to_numpy(),
            "resolve": df["resolve"].to_numpy(),
            "mood": df["mood"].to_numpy(),
        }
    )
    for a in Action:
        work[f"n_{a.name.lower()}"] = (action == a).astype(np.int64)
    g = work.groupby(keys, sort=True)
    out = g.agg(
        length=("day", "size"),
        **{"return": ("reward", "sum")},
        escalation=("escalation", "max"),
        punished_max=("punished", "max"),
        severity_max=("severity", "max"),
        triggers=("triggered", "sum"),
        outcome=("outcome", "last"),
        end_reason=("end_reason", "last"),
        peak_crowd=("peak_crowd", "last"),
        peak_disorder=("disorder", "max"),
        final_evidence=("evidence", "last"),
        recklessness=("recklessness", "first"),
        resolve=("resolve", "first"),
        mood=("mood", "first"),
        **{f"n_{a.name.lower()}": (f"n_{a.name.lower()}", "sum") for a in Action},
    ).reset_index()
    severity = np.maximum(out.pop("punished_max").to_numpy(), out.pop("severity_max").to_numpy())
    outcome = out["outcome"].to_numpy()
    result = pd.DataFrame({k: out[k] for k in keys})
    for k in ("policy", "scenario"):
        if k in result:
            result[k] = result[k].astype("str")
    if "episode" in result:
        result["episode"] = result["episode"].astype(np.int64)
    result["length"] = out["length"].astype(np.int64)
    result["return"] = out["return"].astype(np.float64)
    result["outcome"] = pd.Categorical.from_codes(outcome, dtype=OUTCOME_DTYPE)
    result["end_reason"] = pd.Categorical.from_codes(out["end_reason"].to_numpy(), dtype=END_REASON_DTYPE)
    result["mode"] = pd.Categorical.from_codes(out["escalation"].to_numpy(), dtype=EPISODE_MODE_DTYPE)
    result["conceded"] = np.isin(outcome, [Outcome.WITHDRAWN, Outcome.SUSPENDED, Outcome.PARTIAL])
    result["severity"] = pd.Categorical.from_codes(severity, dtype=SEVERITY_DTYPE)
    result["punished"] = severity > Severity.NONE
    result["triggers"] = out["triggers"].astype(np.int64)
    for col in ("peak_crowd", "peak_disorder", "final_evidence", "recklessness", "resolve", "mood"):
        result[col] = out[col].astype(np.float64)
    for a in Action:
        result[f"n_{a.name.lower()}"] = out[f"n_{a.name.lower()}"].astype(np.int64)
    return result


# --- grouped tables ---------------------------------------------------------------------------------

Bins = Mapping[str, int | Sequence[float]]


def _prepare(df: pd.DataFrame, by: str | Sequence[str] | None, bins: Bins | None) -> tuple[pd.DataFrame, list[str]]:
    """The columns to group by, with numeric ones cut into bins (an int: equal-width bins over the data's
    range; a sequence: bin edges; the lowest bin includes its left edge). Columns in ``bins`` are grouped
    by even if ``by`` omits them."""
    keys = [by] if isinstance(by, str) else list(by or [])
    for col in bins or {}:
        if col not in keys:
            keys.append(col)
    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise KeyError(f"no column {missing} to group by; columns: {', '.join(map(str, df.columns))}")
    if bins:
        df = df.copy()
        for col, spec in bins.items():
            edges = _edges(df[col], spec)
            cut = pd.cut(df[col], edges, include_lowest=True)
            # Label bins by their edges: pandas widens the lowest edge by its display precision.
            df[col] = cut.cat.rename_categories(pd.IntervalIndex.from_breaks(edges, closed="right"))
    return df, keys


def _edges(values: pd.Series, spec: int | Sequence[float]) -> np.ndarray:
    """Bin edges: a sequence is used as is; ``n`` gives n equal-width bins from min(0, lowest value) to the
    highest value rounded up to 3 decimals (observed fields lie in [0, 1])."""
    if not isinstance(spec, (int, np.integer)):
        return np.asarray(spec, dtype=np.float64)
    if spec < 1:
        raise ValueError(f"the number of bins must be >= 1, got {spec}")
    v = values.to_numpy(dtype=np.float64)
    lo = min(0.0, math.floor(float(np.nanmin(v)) * 1000.0) / 1000.0) if v.size else 0.0
    hi = math.ceil(float(np.nanmax(v)) * 1000.0) / 1000.0 if v.size else 1.0
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, int(spec) + 1)
    edges[1:-1] = np.round(edges[1:-1], 4)  # readable labels; the outer edges still hold every value
    return edges


def _shares(df: pd.DataFrame, column: str, keys: list[str], categories: Sequence[str]) -> pd.DataFrame:
    if keys:
        counts = pd.crosstab([df[k] for k in keys], df[column], dropna=False)
    else:
        counts = df[column].value_counts().to_frame().T
        counts.index = pd.Index(["all"])
    counts = counts.reindex(columns=list(categories), fill_value=0)
    counts = counts[counts.sum(axis=1) > 0]
    shares = counts.div(counts.sum(axis=1), axis=0).astype(np.float64)
    shares.columns = pd.Index(list(categories), name=column)
    return shares


def mode_shares(
    df: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    level: str = "step",
    bins: Bins | None = None,
) -> pd.DataFrame:
    """Shares of each mode, one row per group; every row sums to 1.

    ``level="step"``: the share of days spent in each action mode (all six modes; needs a step table).
    ``level="episode"``: the share of episodes by episode mode (PASSIVE, OFFICIAL_CHANNEL, CONSENT,
    MOBILIZED; from a step table or an :func:`episode_summary`). ``by`` names columns of the table at that
    level (e.g. ``"policy"``, ``"recklessness"``); ``bins`` cuts numeric ones, e.g. ``{"recklessness": 4}``.
    Without ``by`` the one row is labelled ``all``.
    """
    if level == "step":
        if _is_episode_table(df):
            raise ValueError("level='step' needs the step table from rollouts(), not an episode summary")
        data, keys = _prepare(df, by, bins)
        return _shares(data, "mode", keys, MODE_DTYPE.categories)
    if level == "episode":
        data, keys = _prepare(episode_summary(df), by, bins)
        return _shares(data, "mode", keys, EPISODE_MODE_DTYPE.categories)
    raise ValueError(f"level must be 'step' or 'episode', got {level!r}")


def action_shares(df: pd.DataFrame, by: str | Sequence[str] | None = None, *, bins: Bins | None = None) -> pd.DataFrame:
    """Share of days on which each action was taken, one row per group (rows sum to 1), columns in
    Action order. ``by`` and ``bins`` as in :func:`mode_shares`, over the step table's columns."""
    data, keys = _prepare(df, by, bins)
    return _shares(data, "action", keys, ACTION_DTYPE.categories)


def action_by_state(
    df: pd.DataFrame,
    x: str = "crowd",
    y: str = "radical_share",
    bins: int | Sequence[float] | tuple[Any, Any] = 4,
    *,
    min_count: int = 1,
) -> pd.DataFrame:
    """The most common action in each cell of a grid of two state columns (observed or hidden).

    Rows are ``y``'s bins (highest on top, as in a plot), columns ``x``'s bins; a cell holds the name of
    the action most often taken there (ties: the lower action id), or NaN with fewer than ``min_count``
    days. ``bins``: an int or edges for both, or a pair ``(x_bins, y_bins)``. For the full distribution
    per cell use ``action_shares(df, by=[y, x], bins={...})``.
    """
    if isinstance(bins, tuple) and len(bins) == 2:
        xb, yb = bins
    else:
        xb = yb = bins
    data, _ = _prepare(df, [y, x], {x: xb, y: yb})
    counts = pd.crosstab([data[y]], [data[x], data["action"]], dropna=False)
    counts = counts.T.unstack(level=1, fill_value=0)  # rows: x bin; columns: (y bin, action)
    x_bins = data[x].cat.categories
    y_bins = data[y].cat.categories
    out = pd.DataFrame(index=pd.Index(y_bins[::-1], name=y), columns=pd.Index(x_bins, name=x), dtype=object)
    for yi in y_bins:
        for xi in x_bins:
            c = counts.loc[xi, yi].reindex(ACTION_DTYPE.categories, fill_value=0) if xi in counts.index else None
            if c is not None and c.sum() >= min_count and c.sum() > 0:
                out.loc[yi, xi] = ACTION_DTYPE.categories[int(np.argmax(c.to_numpy()))]
    return out


def outcome_rates(df: pd.DataFrame, by: str | Sequence[str] | None = None, *, bins: Bins | None = None) -> pd.DataFrame:
    """Episode outcomes per group: episodes, mean return and its 95% half-interval, the rate of each
    outcome (withdrawn, suspended, partial, imposed), concession, punishment and dismissal rates, mean
    length. ``df`` is a step table or an episode summary; ``by`` names episode-level columns (``policy``,
    ``scenario``, ``mode``, ``recklessness`` ...); ``bins`` cuts numeric ones."""
    data, keys = _prepare(episode_summary(df), by, bins)
    data = data.assign(
        **{f"{o.name.lower()}_rate": data["outcome"] == o.name for o in Outcome if o != Outcome.NONE},
        concession_rate=data["conceded"],
        punishment_rate=data["punished"],
        dismissal_rate=data["severity"] == Severity.DISMISSAL.name,
    )
    rate_cols = [f"{o.name.lower()}_rate" for o in Outcome if o != Outcome.NONE]
    rate_cols += ["concession_rate", "punishment_rate", "dismissal_rate"]

    def summarise(group: pd.DataFrame) -> dict[str, float]:
        r = group["return"].to_numpy()
        n = r.size
        half = 1.96 * r.std(ddof=1) / math.sqrt(n) if n > 1 else float("nan")
        row = {"episodes": n, "mean_return": float(r.mean()), "return_ci95": float(half)}
        row.update({c: float(group[c].mean()) for c in rate_cols})
        row["mean_length"] = float(group["length"].mean())
        return row

    if not keys:
        return pd.DataFrame([summarise(data)], index=pd.Index(["all"]))
    rows = {key: summarise(group) for key, group in data.groupby(keys, observed=True, sort=True)}
    index = (
        pd.MultiIndex.from_tuples(list(rows), names=keys)
        if len(keys) > 1
        else pd.Index([k[0] if isinstance(k, tuple) else k for k in rows], name=keys[0])
    )
    out = pd.DataFrame(list(rows.values()), index=index)
    out["episodes"] = out["episodes"].astype(np.int64)
    return out


def compare(
    policies: Mapping[str, Any] | Iterable[Any],
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    episodes: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`outcome_rates` of several policies on one scenario with the same seed (common random
    numbers for the initial draws), one row per policy, in the order given. ``policies``: a mapping of
    labels to policies, or policies (labelled by :func:`policy_name`)."""
    items = policies.items() if isinstance(policies, Mapping) else ((policy_name(p), p) for p in policies)
    frames = [rollouts(p, scenario, episodes, seed, name=label) for label, p in items]
    table = outcome_rates(pd.concat(frames, ignore_index=True), by="policy")
    return table.reindex([f["policy"].iloc[0] for f in frames])


# --- policy surfaces --------------------------------------------------------------------------------


def _base_observation(scenario: Scenario) -> np.ndarray:
    """The observation on the first morning of an episode of ``scenario`` (seed 0)."""
    state = core.initial_state(scenario, np.random.default_rng(0), 1)
    return core.observe(state, scenario)[0]


def policy_surface(
    agent: Any,
    x: str = "crowd",
    y: str = "radical_share",
    fixed: Mapping[str, float] | None = None,
    *,
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    base: np.ndarray | Mapping[str, float] | pd.Series | pd.DataFrame | None = None,
    resolution: int | tuple[int, int] = 21,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
) -> pd.DataFrame:
    """The agent's action probabilities over a grid of two observed fields, the other fields fixed.

    Args:
        agent: a policy (``probs(obs)`` gives probabilities; a policy with only ``act`` gives the one-hot
            of its action), a baseline name, or a run directory.
        x, y: names of observed fields (``massbargain.OBSERVATION_FIELDS``).
        fixed: values for other observed fields, e.g. ``{"police_tolerant": 1.0, "police_normal": 0.0}``
            (keep one-hot groups consistent yourself).
        scenario: where the other fields come from: the first morning of one of its episodes.
        base: the state to start from instead of the scenario's first morning: a full observation (array
            of F values), a mapping of fields to values (the rest from that morning), or a row of a
            :func:`rollouts` table (a visited state, e.g. ``steps.iloc[k]``).
        resolution: grid points per axis (or a pair for x and y).
        x_range, y_range: the grid's extent on each axis.

    Returns:
        A DataFrame with one row per grid point: ``x`` and ``y`` (float64, named by the fields; the
        float32 values the policy was given),
        ``p_wait .. p_accept`` (float64, summing to 1 for a proper policy) and ``action``, the most probable
        action (category of Action names). ``attrs`` records ``x``, ``y``, ``fixed`` and ``policy``.
    """
    for field in (x, y, *(fixed or {})):
        if field not in OBS_INDEX:
            raise KeyError(f"{field!r} is not an observed field; fields: {', '.join(OBSERVATION_FIELDS)}")
    if x == y:
        raise ValueError(f"x and y must be different fields, got {x!r} twice")
    label = policy_name(agent)
    pol = as_policy(agent)
    if isinstance(base, pd.DataFrame):
        if len(base) != 1:
            raise ValueError(f"base as a DataFrame must hold one row (a visited state), got {len(base)}")
        base = base.iloc[0]
    if isinstance(base, pd.Series):
        base = {field: float(base[field]) for field in OBSERVATION_FIELDS if field in base.index}
    if base is None:
        obs0 = _base_observation(Scenario.resolve(scenario))
    elif isinstance(base, Mapping):
        obs0 = _base_observation(Scenario.resolve(scenario))
        for field, value in base.items():
            obs0[OBS_INDEX[field]] = value
    else:
        obs0 = np.asarray(base, dtype=np.float32).reshape(len(OBSERVATION_FIELDS)).copy()
    for field, value in (fixed or {}).items():
        obs0[OBS_INDEX[field]] = value
    nx, ny = (resolution, resolution) if isinstance(resolution, int) else resolution
    xs = np.linspace(*x_range, nx)
    ys = np.linspace(*y_range, ny)
    gx, gy = np.meshgrid(xs, ys)  # rows: y, columns: x
    obs = np.repeat(obs0[None].astype(np.float32), gx.size, axis=0)
    obs[:, OBS_INDEX[x]] = gx.ravel()
    obs[:, OBS_INDEX[y]] = gy.ravel()
    if callable(getattr(pol, "reset", None)):
        pol.reset()
    probs = action_probabilities(pol, obs)
    # The grid as the policy saw it (float32 observations), so the table shows what was evaluated.
    out = pd.DataFrame({x: obs[:, OBS_INDEX[x]].astype(np.float64), y: obs[:, OBS_INDEX[y]].astype(np.float64)})
    for j, col in enumerate(PROB_COLUMNS):
        out[col] = probs[:, j]
    out["action"] = pd.Categorical.from_codes(np.argmax(probs, axis=1), dtype=ACTION_DTYPE)
    out.attrs.update({"x": x, "y": y, "fixed": dict(fixed or {}), "policy": label})
    return out


# --- learning curves --------------------------------------------------------------------------------


def _read_tensorboard(path: Path) -> pd.DataFrame:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
    acc.Reload()
    frames = []
    for tag in acc.Tags().get("scalars", []):
        events = acc.Scalars(tag)
        frames.append(
            pd.DataFrame(
                {
                    "tag": tag,
                    "step": np.array([e.step for e in events], dtype=np.int64),
                    "value": np.array([e.value for e in events], dtype=np.float64),
                    "wall_time": np.array([e.wall_time for e in events], dtype=np.float64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _read_monitors(files: list[Path]) -> pd.DataFrame:
    """SB3 Monitor CSVs (a JSON header line, then r, l, t): episodes of all files in the order they
    ended, with the cumulative timesteps at each episode's end as the step."""
    frames = []
    for f in files:
        with open(f) as fh:
            first = fh.readline()
        skip = 1 if first.startswith("#") else 0
        frame = pd.read_csv(f, skiprows=skip)
        if {"r", "l", "t"} <= set(frame.columns) and len(frame):
            frames.append(frame[["r", "l", "t"]])
    if not frames:
        return pd.DataFrame()
    ep = pd.concat(frames, ignore_index=True).sort_values("t", kind="stable")
    step = ep["l"].cumsum().to_numpy().astype(np.int64)
    rows = []
    for tag, col in (("monitor/episode_return", "r"), ("monitor/episode_length", "l")):
        rows.append(
            pd.DataFrame(
                {"tag": tag, "step": step, "value": ep[col].to_numpy(np.float64), "wall_time": ep["t"].to_numpy()}
            )
        )
    return pd.concat(rows, ignore_index=True)


def learning_curves(
    run_dirs: str | Path | Iterable[str | Path], tags: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Scalars logged during training: TensorBoard event files, SB3 Monitor CSVs, and the evaluation
    history of ``metrics.json``.

    ``run_dirs``: one run directory or several (event files and Monitor CSVs are searched recursively).
    Returns a long table with columns ``run`` (str, the directory's name), ``source`` (``tensorboard``,
    ``monitor`` or ``metrics``), ``tag`` (str, e.g. ``rollout/ep_rew_mean``, ``eval/mean_return``,
    ``monitor/episode_return``, ``metrics/concession_rate``), ``step`` (int64, environment timesteps),
    ``value`` (float64) and ``wall_time`` (float64, seconds; NaN for metrics); ``tags`` keeps only those
    tags. A run with none of these logs is an error, since a curve was asked for.
    """
    dirs = [run_dirs] if isinstance(run_dirs, (str, os.PathLike)) else list(run_dirs)
    wanted = None if tags is None else ({tags} if isinstance(tags, str) else set(tags))
    frames = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise FileNotFoundError(f"run directory {d} does not exist")
        found = False
        event_dirs = sorted({p.parent for p in d.rglob("events.out.tfevents.*")})
        for ed in event_dirs:
            tb = _read_tensorboard(ed)
            if len(tb):
                found = True
                tb.insert(0, "source", "tensorboard")
                tb.insert(0, "run", d.name)
                frames.append(tb)
        monitors = sorted(d.rglob("*monitor.csv"))
        mon = _read_monitors(monitors) if monitors else pd.DataFrame()
        if len(mon):
            found = True
            mon.insert(0, "source", "monitor")
            mon.insert(0, "run", d.name)
            frames.append(mon)
        found = _metrics_history(d, frames) or found
        if not found:
            raise FileNotFoundError(
                f"no TensorBoard event files, Monitor CSVs or metrics history under {d}; train with logging on"
            )
    out = pd.concat(frames, ignore_index=True)
    if wanted is not None:
        out = out[out["tag"].isin(wanted)].reset_index(drop=True)
    out["run"] = out["run"].astype("str")
    out["source"] = out["source"].astype("str")
    out["tag"] = out["tag"].astype("str")
    out["step"] = out["step"].astype(np.int64)
    out["value"] = out["value"].astype(np.float64)
    out["wall_time"] = out["wall_time"].astype(np.float64)
    return out


def _metrics_history(d: Path, frames: list[pd.DataFrame]) -> bool:
    """The periodic evaluations in ``metrics.json`` (``history``: records of ``timesteps`` and figures, as
    :func:`massbargain.agents.train.train` writes them), appended to ``frames`` as source ``metrics``."""
    found = False
    for f in sorted(d.glob("metrics*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        history = data.get("history") if isinstance(data, dict) else None
        if not isinstance(history, list) or not history or not isinstance(history[0], dict):
            continue
        records = pd.DataFrame(history)
        step_col = next((c for c in ("timesteps", "step", "num_timesteps") if c in records.columns), None)
        if step_col is None:
            continue
        for col in records.columns:
            if col != step_col and pd.api.types.is_numeric_dtype(records[col]):
                frames.append(
                    pd.DataFrame(
                        {
                            "run": d.name,
                            "source": "metrics",
                            "tag": f"metrics/{col}",
                            "step": records[step_col].to_numpy(np.int64),
                            "value": records[col].to_numpy(np.float64),
                            "wall_time": np.nan,
                        }
                    )
                )
                found = True
    return found
