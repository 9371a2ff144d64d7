"""The two cases of Deng, Yang & Ma (2022) as scripted replays, and a day-by-day rollout that records them.

A replay is an ordinary :class:`~massbargain.policy.RulePolicy`: it reads the official's
observation and follows the case's sequence of moves, so it runs under the same dynamics as every other
policy. Nothing in the model knows it is being replayed; what happens after the official's moves (the
crowd, the superior, the investigation) is drawn from the general mechanisms of ``core.py``.

- **Changxing, May 2013** (consent instability; Southern Weekly, 17 May 2013): the finance bureau objects
  formally (PETITION); the investment-promotion bureau's request for a demonstration permit is the county
  telling its police to tolerate a rally (TOLERATE) and letting the plan's details out (LEAK, until most
  residents know); then the elite opposes openly, day after day (PETITION: township heads threatening to
  resign, retired cadres, all four leading bodies), and the crowd is kept orderly (PACIFY if it
  radicalizes).
- **Daye, August 2005** (mobilized instability; AsiaNews, Reuters): news of the plan spreads (LEAK); the
  police set dogs on the first small petition (CRACKDOWN on a small crowd); intermediaries then bring the
  masses out (MOBILIZE, and again whenever the brokers' activity falls below one half), and the county
  does not rein them in (WAIT).

:func:`simulate` plays any policy for many episodes at once and records per-day paths (crowd, radical
share, disorder, broker activity, actions, the superior's responses, investigations) that
:func:`~massbargain.rollout.run_episodes` does not keep; :func:`replay_summary` condenses a replay into
the figures the cases are compared with.

Example:
    >>> from massbargain import Scenario
    >>> from massbargain.cases import REPLAYS, replay_summary, simulate
    >>> t = simulate(REPLAYS["changxing"], Scenario.preset("changxing"), episodes=200, seed=0)
    >>> 0.0 <= replay_summary(t)["concession_rate"] <= 1.0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Action, Outcome, Response, Severity
from massbargain.core import OBS_INDEX
from massbargain.policy import RulePolicy
from massbargain.scenario import Scenario
from massbargain.superior import Superior

__all__ = [
    "CHANGXING_REPLAY",
    "DAYE_REPLAY",
    "REPLAYS",
    "HoldingSuperior",
    "Trajectories",
    "replay_summary",
    "simulate",
]

_I = OBS_INDEX


def _changxing(obs: np.ndarray) -> np.ndarray:
    """Changxing 2013: object formally, tolerate and inform, then oppose openly with an orderly crowd.

    PACIFY if the radical share exceeds 0.3 (keep the crowd orderly); PETITION while elite opposition is
    nil (5 May, the finance bureau's objection); TOLERATE until the police are tolerant (7 May, the permit
    request); LEAK until half the residents know (the staff spread the word); then PETITION every day
    (8 May: township heads, retired cadres, all four leading bodies).
    """
    return np.select(
        [
            obs[:, _I["radical_share"]] > 0.3,
            obs[:, _I["elite_opposition"]] <= 0.0,
            obs[:, _I["police_tolerant"]] < 0.5,
            obs[:, _I["informed"]] < 0.5,
        ],
        [Action.PACIFY, Action.PETITION, Action.TOLERATE, Action.LEAK],
        Action.PETITION,
    )


def _daye(obs: np.ndarray) -> np.ndarray:
    """Daye 2005: word spreads, police dogs on a small petition, then brokers bring the masses out.

    LEAK while fewer than a fifth of residents know (news of the plan); while the police are not yet
    firm, CRACKDOWN as soon as anyone is out (4 Aug: dogs set on ~100 petitioners; a crackdown leaves the
    police firm) and WAIT otherwise; afterwards MOBILIZE whenever broker activity is below one half and
    WAIT otherwise (6 Aug: intermediaries bring ~10,000 out and nobody reins them in).
    """
    firm = obs[:, _I["police_firm"]] > 0.5
    return np.select(
        [
            obs[:, _I["informed"]] < 0.2,
            ~firm & (obs[:, _I["crowd"]] > 0.0),
            ~firm,
            obs[:, _I["broker_activity"]] < 0.5,
        ],
        [Action.LEAK, Action.CRACKDOWN, Action.WAIT, Action.MOBILIZE],
        Action.WAIT,
    )


#: The Changxing path (consent instability) as a policy.
CHANGXING_REPLAY = RulePolicy("changxing_replay", _changxing, _changxing.__doc__ or "")
#: The Daye path (police force on a small petition, then reckless brokers) as a policy.
DAYE_REPLAY = RulePolicy("daye_replay", _daye, _daye.__doc__ or "")
#: Replay policies by case name; each is meant for the preset of the same name.
REPLAYS: dict[str, RulePolicy] = {"changxing": CHANGXING_REPLAY, "daye": DAYE_REPLAY}


class HoldingSuperior:
    """A superior that always HOLDs: an experimental control that isolates the crowd dynamics (no
    concession ends an episode, no repression disperses a crowd)."""

    def respond(self, view: Any, params: Any, uniform: Any) -> Any:
        return np.zeros(np.shape(uniform), dtype=np.int64) if isinstance(uniform, np.ndarray) else 0


@dataclass(frozen=True)
class Trajectories:
    """Per-day paths of a batch of episodes, and per-episode results.

    Per-day arrays have shape (days, episodes) and hold the value at the end of that day; ``alive[d]``
    marks the episodes still running at the start of day ``d`` (later rows of ended episodes are frozen
    copies of their last day and should be masked with ``alive``).
    """

    alive: np.ndarray
    action: np.ndarray
    response: np.ndarray
    crowd: np.ndarray  # after the day's dispersals (the next day's observed crowd)
    radical: np.ndarray
    disorder: np.ndarray
    brokers: np.ndarray
    evidence: np.ndarray
    triggered: np.ndarray
    investigating: np.ndarray  # an investigation is open at the end of the day, or was decided that day
    returns: np.ndarray  # per episode
    outcome: np.ndarray
    severity: np.ndarray
    peak_crowd: np.ndarray
    peak_disorder: np.ndarray
    length: np.ndarray

    @property
    def episodes(self) -> int:
        return int(self.returns.size)


_RECORDED = ("crowd", "radical", "disorder", "brokers", "evidence")


def simulate(
    policy: Any,
    scenario: Scenario,
    episodes: int,
    seed: int,
    superior: Superior | None = None,
    days: int | None = None,
) -> Trajectories:
    """Play ``episodes`` episodes of ``policy`` on ``scenario`` (seeded) and record every day.

    ``superior`` replaces the scripted superior (e.g. :class:`HoldingSuperior` as a control); ``days``
    caps the number of days played (default: the horizon).
    """
    rng = np.random.default_rng(seed)
    sup = superior if superior is not None else core._DEFAULT_SUPERIOR
    state = core.initial_state(scenario, rng, episodes)
    n_days = days or scenario.horizon.days
    shape = (n_days, episodes)
    rec = {k: np.zeros(shape) for k in _RECORDED}
    alive_rec = np.zeros(shape, dtype=bool)
    action_rec = np.zeros(shape, dtype=np.int64)
    response_rec = np.zeros(shape, dtype=np.int64)
    triggered_rec = np.zeros(shape, dtype=bool)
    investigating_rec = np.zeros(shape, dtype=bool)
    alive = np.ones(episodes, dtype=bool)
    returns = np.zeros(episodes)
    outcome = np.zeros(episodes, dtype=np.int64)
    length = np.zeros(episodes, dtype=np.int64)
    frozen = state.copy()  # ended episodes keep their last state here
    for d in range(n_days):
        obs = core.observe(state, scenario)
        actions = np.asarray(policy.act(obs), dtype=np.int64).reshape(episodes)
        result = core.step(state, actions, scenario, rng, sup)
        frozen.assign(alive, state)
        alive_rec[d] = alive
        action_rec[d] = actions
        response_rec[d] = np.where(alive, result.response, Response.HOLD)
        triggered_rec[d] = result.triggered & alive
        investigating_rec[d] = alive & ((state.investigation_left >= 0) | (result.punished > Severity.NONE))
        for key in _RECORDED:
            rec[key][d] = getattr(frozen, key)
        returns += result.reward * alive
        length += alive
        ended = result.terminated & alive
        outcome[ended] = result.outcome[ended]
        alive &= ~result.terminated
        if not alive.any():
            for later in range(d + 1, n_days):
                for key in _RECORDED:
                    rec[key][later] = rec[key][d]
            break
    frozen.assign(alive, state)
    return Trajectories(
        alive=alive_rec,
        action=action_rec,
        response=response_rec,
        triggered=triggered_rec,
        investigating=investigating_rec,
        returns=returns,
        outcome=outcome,
        severity=frozen.severity.astype(np.int64),
        peak_crowd=frozen.peak_crowd.copy(),
        peak_disorder=frozen.peak_disorder.copy(),
        length=length,
        **rec,
    )


def replay_summary(t: Trajectories, scenario: Scenario | None = None) -> dict[str, float]:
    """The figures a replay is compared with, as shares of episodes.

    ``riot`` is a peak disorder at or above the scenario's veto threshold (default scenario if None);
    ``repressed`` means the superior's forces were sent in at least once; ``investigated`` that a
    discipline investigation was opened; ``punished`` any punishment.
    """
    sc = scenario if scenario is not None else Scenario()
    conceded = np.isin(t.outcome, [Outcome.WITHDRAWN, Outcome.SUSPENDED, Outcome.PARTIAL])
    punished = t.severity > Severity.NONE
    suspend_or_withdraw = np.isin(t.outcome, [Outcome.WITHDRAWN, Outcome.SUSPENDED])
    repressed = (t.response == Response.REPRESS).any(axis=0)
    investigated = t.investigating.any(axis=0)
    riot = t.peak_disorder >= sc.superior.veto_disorder
    return {
        "episodes": float(t.episodes),
        "mean_return": float(t.returns.mean()),
        "concession_rate": float(conceded.mean()),
        "suspended_or_withdrawn": float(suspend_or_withdraw.mean()),
        "suspended_or_withdrawn_unpunished": float((suspend_or_withdraw & ~punished).mean()),
        "conceded_unpunished": float((conceded & ~punished).mean()),
        "pyrrhic": float((conceded & punished).mean()),  # the plan won, the official punished
        "punishment_rate": float(punished.mean()),
        "riot_rate": float(riot.mean()),
        "repressed_rate": float(repressed.mean()),
        "investigated_rate": float(investigated.mean()),
        "riot_repressed_investigated": float((riot & repressed & investigated).mean()),
        "trigger_rate": float(t.triggered.any(axis=0).mean()),
        "peak_crowd_median": float(np.median(t.peak_crowd)),
        "peak_disorder_median": float(np.median(t.peak_disorder)),
        "mean_length": float(t.length.mean()),
    }
