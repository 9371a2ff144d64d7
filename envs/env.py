"""MassBargainEnv: the single Gymnasium environment, a thin shell over the dynamics core at batch size 1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from massbargain import core
from massbargain.actions import ACTION_MODE, Action, EndReason, Outcome, Response, Severity
from massbargain.core import OBSERVATION_FIELDS
from massbargain.scenario import LATEST_VERSION, Scenario
from massbargain.suggest import unknown
from massbargain.superior import Superior

__all__ = ["MassBargainEnv", "ScenarioSpec", "check_action"]

ScenarioSpec = str | Mapping[str, Any] | Scenario | None

# Enum members by code, so that building ``info`` costs tuple lookups rather than enum calls.
_ACTIONS, _RESPONSES, _OUTCOMES = tuple(Action), tuple(Response), tuple(Outcome)
_END_REASONS, _SEVERITIES = tuple(EndReason), tuple(Severity)
_MODES = tuple(ACTION_MODE[a] for a in Action)


def check_action(action: Any, n: int = len(Action)) -> int:
    """The action as an int in [0, n), or a ValueError that names the allowed actions."""
    try:
        a = int(action)
        # bools are ints to Python, but True as an action is a bug in the caller, not LEAK's neighbour
        ok = a == action and 0 <= a < n and not isinstance(action, (bool, np.bool_))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        names = ", ".join(f"{x.value}={x.name}" for x in Action)
        raise ValueError(f"invalid action {action!r}; allowed actions are integers in [0, {n - 1}]: {names}")
    return a


class MassBargainEnv(gym.Env[np.ndarray, np.int64]):
    """A county official bargains with the superior government by borrowing the power of the masses.

    ## Description

    The superior (a prefecture city) plans to turn the county into a city district, taking away its fiscal
    autonomy. The agent is the county's leader, who opposes the plan. Each step is one day of the dispute.
    The official can use official channels, quietly leak information and order the police to be tolerant
    (*consent instability*), activate intermediaries who bring crowds onto the streets (*mobilized
    instability*), pacify or crack down, or give in. Residents of K exchangeable types learn of the plan
    and join or leave the crowd by Epstein's civil-violence rule with Granovetter's social term; brokers
    recruit regardless of thresholds and radicalize the crowd in proportion to their hidden recklessness;
    police force on a small aggrieved crowd can trigger escalation. Each day the superior holds, warns,
    represses, or concedes (suspends, partially concedes, withdraws) by a stochastic reaction model that
    rewards orderly pressure and punishes suspected staging. Serious disorder opens a discipline
    investigation whose verdict depends on the evidence, except above the stability veto threshold, where
    the official is punished regardless. Source: Deng, Yang & Ma (2022), *Journal of Chinese Governance*
    7(4): 559-582. Every equation and parameter: ``docs/MODEL.md``.

    ## Action Space

    ``Discrete(8)``, named by :class:`massbargain.Action`:

    | Num | Action    | Mode             | Effect                                                      |
    |-----|-----------|------------------|-------------------------------------------------------------|
    | 0   | WAIT      | passive          | nothing new                                                 |
    | 1   | PETITION  | official channel | raises visible elite opposition U                           |
    | 2   | LEAK      | consent          | informs residents, lowers legitimacy L, little evidence     |
    | 3   | TOLERATE  | consent          | police tolerant (persists): lower perceived arrest risk     |
    | 4   | MOBILIZE  | mobilized        | brokers recruit and radicalize; much evidence               |
    | 5   | PACIFY    | control          | crowd, radicalization and brokers fall; police to normal    |
    | 6   | CRACKDOWN | control          | disperses the crowd now; may trigger escalation             |
    | 7   | ACCEPT    | exit             | the plan is imposed; the episode ends                       |

    ## Observation Space

    ``Box(0, 1, (19,), float32)``; the fields, in order, are ``OBSERVATION_FIELDS``: time used, stakes,
    informed share, crowd (active share), peak crowd, radical share, disorder, police posture (one-hot
    firm / normal / tolerant), broker activity, elite opposition, legitimacy, the superior's last
    non-terminal response (one-hot hold / warn / repress), warnings received (/5, capped), an open
    investigation, and days of incident-driven recruitment left. Hidden from the agent and reported in
    ``info``: broker recklessness, the superior's resolve, the true attribution evidence, the county's mood.

    ## Rewards

    Each day: ``−cost(action) − κ_D·D/T``. At the end: ``+S·value`` (withdrawn 1, suspended ``v_suspend``,
    partial ``v_partial``, imposed 0) ``− κ_P·severity`` (warning, demotion, dismissal), where punishment
    is charged when an investigation is decided. Returns lie roughly in [−2, 1].

    ## Starting State

    A share of residents is informed (binomial draw); nobody is active; police normal; brokers idle;
    legitimacy at its scenario value. Hidden per episode: recklessness ρ ~ Beta, resolve ~ Normal, and a
    shift of mean hardship ~ Normal.

    ## Episode End

    Terminated on a concession (SUSPEND, PARTIAL, WITHDRAW), ACCEPT, dismissal of the official, a
    provincial takeover after extreme disorder, or the deadline (day T, the plan is imposed). The deadline
    is part of the model (time left is observed), so it terminates; no shorter step limit truncates.

    ## Arguments

    ```python
    import gymnasium as gym
    import massbargain

    env = gym.make("MassBargain-v1", scenario="daye", render_mode="ansi")
    env = gym.make("MassBargain-v1", scenario={"brokers.recklessness": 0.9})  # overrides on the preset
    ```

    * ``scenario``: a preset name (``baseline``, ``changxing``, ``daye``), a :class:`Scenario`, a dict of
      overrides (dotted or nested keys) applied to ``preset``, or a YAML path. Also accepted per episode:
      ``reset(options={"scenario": ...})`` plays that episode under it, and a later ``reset()`` without the
      option goes back to the constructor's scenario (``default_scenario``). ``scenario`` is the only
      option; another key raises ValueError.
    * ``preset``: the base preset of dict overrides (each registered id sets its own).
    * ``version``: the model version of preset names (1, the default; 0 for the v0 presets). Each registered
      id sets its own; a ``Scenario`` object is used as it is.
    * ``render_mode``: ``"ansi"`` (a status block per day) or ``"rgb_array"`` (a matplotlib dashboard).
    * ``superior``: a :class:`massbargain.superior.Superior` replacing the scripted one.

    ## Version History

    * v1 (default): each mode's risk emerges from the dynamics (docs/MODEL.md section 3). A long standoff
      radicalizes and has incidents by itself; evidence alone can open an investigation; the superior
      discounts a crowd it believes staged ((1 − E)^ψ), its pressure terms saturate (a resolute superior can
      hold), and it may shelve the plan to restore order while the inquiry still punishes (the Pyrrhic
      outcome; a takeover may shelve it too); the brokers' conduct is noisy day to day, so recklessness is
      learned over days; a crackdown costs legitimacy in proportion to the crowd struck. ``suspicion_weight``
      13 → 6 and ``evidence_tolerate`` 0.4 → 0.1. ``Response.INVESTIGATE`` exists for learning superiors.
      Same spaces, actions and observation fields as v0.
    * v0: initial version; still registered (``*-v0`` ids) and reproducing its stored trajectories
      bit for bit (``version=0``, ``Scenario.preset(name, version=0)``).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        scenario: ScenarioSpec = None,
        *,
        preset: str = "baseline",
        version: int = LATEST_VERSION,
        render_mode: str | None = None,
        superior: Superior | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.preset, self.version = preset, version
        self.scenario = Scenario.resolve(scenario, base=preset, version=version)
        self.default_scenario = self.scenario  # what a reset() without options["scenario"] plays
        self.render_mode = render_mode
        self.superior = superior if superior is not None else core._DEFAULT_SUPERIOR
        self.action_space = spaces.Discrete(len(Action))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(OBSERVATION_FIELDS),), dtype=np.float32)
        self.state: core.State | None = None
        self._done = True
        self._history: list[dict[str, Any]] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode; returns its first observation and the hidden variables in ``info``.

        ``options={"scenario": spec}`` (a spec as at construction) plays this episode under ``spec``; the
        option holds for this episode only: a later ``reset()`` without it plays the constructor's scenario
        again. ``scenario`` is the only option; another key raises ValueError.
        """
        super().reset(seed=seed)
        options = options or {}
        for key in options:
            if key != "scenario":
                raise ValueError(unknown("reset option", key, ["scenario"]))
        spec = options.get("scenario")
        self.scenario = (
            self.default_scenario if spec is None else Scenario.resolve(spec, base=self.preset, version=self.version)
        )
        self.state = core.initial_state(self.scenario, self.np_random, None)
        self._done = False
        self._history = []
        obs = core.observe(self.state, self.scenario)
        info = self._hidden()
        if self.render_mode is not None:
            self._record(None, None, info)
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None or self._done:
            raise RuntimeError("the episode has ended (or not started): call reset() before step()")
        a = check_action(action)
        r = core.step(self.state, a, self.scenario, self.np_random, self.superior)
        terminated = bool(r.terminated)
        self._done = terminated
        info = {
            "action": _ACTIONS[a],
            "mode": _MODES[a],
            "superior_response": _RESPONSES[r.response],
            "triggered": bool(r.triggered),
            "punished": _SEVERITIES[r.punished],
            "outcome": _OUTCOMES[r.outcome],
            "end_reason": _END_REASONS[r.end_reason],
            **self._hidden(),
        }
        obs = core.observe(self.state, self.scenario)
        if self.render_mode is not None:
            self._record(a, int(r.response), info)
        return obs, float(r.reward), terminated, False, info

    def _hidden(self) -> dict[str, Any]:
        s = self.state
        assert s is not None
        return {
            "recklessness": s.recklessness,
            "resolve": s.resolve,
            "evidence": s.evidence,
            "mood": s.mood,
            "severity": _SEVERITIES[s.severity],
        }

    def _record(self, action: int | None, response: int | None, info: dict[str, Any]) -> None:
        from massbargain.render import snapshot

        self._history.append(snapshot(self.state, self.scenario, action, response, info))

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array' to make")
            return None
        from massbargain import render

        if self.render_mode == "ansi":
            return render.ansi(self._history, self.scenario)
        return render.rgb_array(self._history, self.scenario)

    def close(self) -> None:
        from massbargain import render

        render.close()
