"""The two-level bargaining game as a PettingZoo AEC environment: the county official and the prefecture.

Needs the ``duel`` extra (PettingZoo): ``pip install 'massbargain[duel]'``.

Each day the official moves first; the day runs up to what the superior sees
(:func:`massbargain.core.begin_day`); the superior moves; the core applies its response
(:func:`massbargain.core.end_day`) and pays both sides. One dynamics core, no rule written twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from massbargain.extras import require

require("duel", what="massbargain.duel (the PettingZoo two-sided environment)")

from pettingzoo import AECEnv  # noqa: E402

from massbargain import core  # noqa: E402
from massbargain.actions import Action, EndReason, Outcome, Response  # noqa: E402
from massbargain.core import OBSERVATION_FIELDS  # noqa: E402
from massbargain.env import ScenarioSpec  # noqa: E402
from massbargain.scenario import LATEST_VERSION, Scenario  # noqa: E402
from massbargain.superior import SUPERIOR_OBSERVATION_FIELDS, ScriptedSuperior, observe_view  # noqa: E402
from massbargain.superior_env import DEFAULT_REWARD, N_RESPONSES, SuperiorReward, superior_reward  # noqa: E402

__all__ = ["AGENTS", "DuelEnv", "env"]

#: The two agents, in the order they move each day.
AGENTS = ("official", "superior")


class DuelEnv(AECEnv):
    """The county official (``"official"``) against the prefecture (``"superior"``), one day per cycle.

    * ``official``: ``Discrete(8)`` (:class:`massbargain.Action`), observation ``Box(0, 1, (19,))`` as in
      :class:`massbargain.MassBargainEnv`; reward: the official's reward of that env.
    * ``superior``: ``Discrete(7)`` (:class:`massbargain.Response`), observation ``Box(0, 1, (11,))``
      (:data:`massbargain.superior.SUPERIOR_OBSERVATION_FIELDS`); reward
      :class:`massbargain.superior_env.SuperiorReward`.

    Both are paid when the superior has moved (the day is then complete). The superior's ``info`` holds
    ``scripted_response``: what the scripted superior would answer to this day with the day's own random
    number. Playing it makes the official's side equal :class:`massbargain.MassBargainEnv` with the same
    seed, bit for bit (the tests hold it). ``reset(seed=s)`` seeds the generator as the single env does.

    There is no Parallel version: the superior answers the day the official's action produced, so the
    two moves of a day are sequential, not simultaneous.
    """

    metadata = {"render_modes": [], "name": "massbargain_duel_v1", "is_parallelizable": False}

    def __init__(
        self,
        scenario: ScenarioSpec = None,
        *,
        preset: str = "baseline",
        version: int = LATEST_VERSION,
        reward: SuperiorReward = DEFAULT_REWARD,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        if render_mode is not None:
            raise ValueError(f"DuelEnv does not render, got render_mode={render_mode!r}")
        self.render_mode = None
        self.scenario = Scenario.resolve(scenario, base=preset, version=version)
        self.weights = reward
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._observation_spaces = {
            "official": spaces.Box(0.0, 1.0, shape=(len(OBSERVATION_FIELDS),), dtype=np.float32),
            "superior": spaces.Box(0.0, 1.0, shape=(len(SUPERIOR_OBSERVATION_FIELDS),), dtype=np.float32),
        }
        self._action_spaces = {"official": spaces.Discrete(len(Action)), "superior": spaces.Discrete(N_RESPONSES)}
        self._scripted = ScriptedSuperior()
        self._np_random, _ = seeding.np_random(None)
        self.state: core.State | None = None
        self._day: core.Day | None = None
        self._superior_obs = np.zeros(len(SUPERIOR_OBSERVATION_FIELDS), dtype=np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    def observe(self, agent: str) -> np.ndarray:
        if agent == "official":
            assert self.state is not None
            return core.observe(self.state, self.scenario)
        return self._superior_obs.copy()

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        if seed is not None or self.state is None:
            self._np_random, _ = seeding.np_random(seed)
        # ``options`` is accepted and ignored (PettingZoo's api_test passes an arbitrary one).
        self.state = core.initial_state(self.scenario, self._np_random, None)
        self._day = None
        self._superior_obs = np.zeros(len(SUPERIOR_OBSERVATION_FIELDS), dtype=np.float32)
        self.agents = list(AGENTS)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = "official"

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        assert self.state is not None
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        a = int(action)
        if not self._action_spaces[agent].contains(a):
            raise ValueError(f"invalid action {action!r} for {agent}: integers in [0, {self._action_spaces[agent].n})")
        if agent == "official":
            self._day = core.begin_day(self.state, a, self.scenario, self._np_random)
            self._official_action = a
            self._superior_obs = observe_view(self._day.view)
            scripted = self._scripted.respond(self._day.view, self.scenario.superior, self._day.uniform)
            self.infos = {"official": {}, "superior": {"scripted_response": Response(int(scripted))}}
            self.agent_selection = "superior"
        else:
            assert self._day is not None
            r = core.end_day(self.state, self._day, a, self.scenario)
            self._day = None
            self.rewards = {
                "official": float(r.reward),
                "superior": float(superior_reward(r, self.state, self.scenario, self.weights)),
            }
            day = {
                "action": Action(self._official_action),
                "response": Response(int(r.response)),
                "outcome": Outcome(int(r.outcome)),
                "end_reason": EndReason(int(r.end_reason)),
            }
            self.infos = {"official": dict(day), "superior": dict(day)}
            if r.terminated:
                self.terminations = {x: True for x in self.agents}
            self.agent_selection = "official"
        self._accumulate_rewards()


def env(**kwargs: Any) -> DuelEnv:
    """PettingZoo's conventional constructor: ``massbargain.duel.env(scenario="daye")``."""
    return DuelEnv(**kwargs)
