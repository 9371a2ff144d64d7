"""The scripted arms of the facts' experiments: policies that set up a situation, not candidates for "best".

Each is a :class:`~massbargain.policy.RulePolicy` of a readable rule over the observation. The facts compare
an arm with its control (e.g. petitions with and without a crowd, leaks with and without a crackdown); the
"best policy" of a mode is never one of these but the best member of the scripted families
(:mod:`massbargain.agents.families`), chosen on other seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from massbargain.actions import Action
from massbargain.core import OBS_INDEX
from massbargain.policy import RulePolicy

__all__ = [
    "CONSENT_THEN_PACIFY",
    "CRACKDOWN_SMALL",
    "LEAK_THEN_WAIT",
    "MOBILIZE_NO_PETITION",
    "MOBILIZE_THEN_PACIFY",
    "PACIFY_AT",
    "PETITION_WITH_CROWD",
    "STOP_DAY",
    "mobilize_then_stop",
]

_I = OBS_INDEX
STOP_DAY = 4  # the mobilize-then-stop policy mobilizes on days 0..3
PACIFY_AT = 0.1  # crowd share at which the *_THEN_PACIFY policies switch to PACIFY for good


def _petition_with_crowd(obs: np.ndarray) -> np.ndarray:
    """TOLERATE until the police are tolerant, LEAK until half the residents know, then PETITION daily."""
    return np.select(
        [obs[:, _I["police_tolerant"]] < 0.5, obs[:, _I["informed"]] < 0.5],
        [Action.TOLERATE, Action.LEAK],
        Action.PETITION,
    )


def _crackdown_small(obs: np.ndarray) -> np.ndarray:
    """LEAK while fewer than a fifth know; CRACKDOWN once on the first (small) crowd; otherwise WAIT."""
    firm = obs[:, _I["police_firm"]] > 0.5
    return np.select(
        [obs[:, _I["informed"]] < 0.2, ~firm & (obs[:, _I["crowd"]] > 0.0)],
        [Action.LEAK, Action.CRACKDOWN],
        Action.WAIT,
    )


def _leak_then_wait(obs: np.ndarray) -> np.ndarray:
    """The control of CRACKDOWN_SMALL: the same leaks, no force."""
    return np.where(obs[:, _I["informed"]] < 0.2, Action.LEAK, Action.WAIT)


def mobilize_then_stop(horizon: int = 30, stop_day: int = STOP_DAY) -> RulePolicy:
    """MOBILIZE on days 0 .. stop_day − 1 (of a ``horizon``-day episode), then WAIT: the official stops."""

    def rule(obs: np.ndarray) -> np.ndarray:
        return np.where(obs[:, _I["time_used"]] < (stop_day - 0.5) / horizon, Action.MOBILIZE, Action.WAIT)

    return RulePolicy("mobilize_then_stop", rule, mobilize_then_stop.__doc__ or "")


def _mobilize_then_pacify(obs: np.ndarray) -> np.ndarray:
    """MOBILIZE (broker activity below one half) until the crowd has reached 0.1, then PACIFY every day."""
    return np.select(
        [obs[:, _I["peak_crowd"]] >= PACIFY_AT, obs[:, _I["broker_activity"]] < 0.5],
        [Action.PACIFY, Action.MOBILIZE],
        Action.WAIT,
    )


def _consent_then_pacify(obs: np.ndarray) -> np.ndarray:
    """TOLERATE, LEAK until half know, WAIT until the crowd has reached 0.1, then PACIFY every day."""
    return np.select(
        [
            obs[:, _I["peak_crowd"]] >= PACIFY_AT,
            obs[:, _I["police_tolerant"]] < 0.5,
            obs[:, _I["informed"]] < 0.5,
        ],
        [Action.PACIFY, Action.TOLERATE, Action.LEAK],
        Action.WAIT,
    )


def _mobilize_no_petition(obs: np.ndarray) -> np.ndarray:
    """MOBILIZE while broker activity is below one half, otherwise WAIT (no elite opposition at all)."""
    return np.where(obs[:, _I["broker_activity"]] < 0.5, Action.MOBILIZE, Action.WAIT)


def _policy(rule: Callable[[np.ndarray], np.ndarray], name: str) -> RulePolicy:
    return RulePolicy(name, rule, rule.__doc__ or "")


PETITION_WITH_CROWD = _policy(_petition_with_crowd, "petition_with_crowd")
CRACKDOWN_SMALL = _policy(_crackdown_small, "crackdown_small")
LEAK_THEN_WAIT = _policy(_leak_then_wait, "leak_then_wait")
MOBILIZE_THEN_PACIFY = _policy(_mobilize_then_pacify, "mobilize_then_pacify")
CONSENT_THEN_PACIFY = _policy(_consent_then_pacify, "consent_then_pacify")
MOBILIZE_NO_PETITION = _policy(_mobilize_no_petition, "mobilize_no_petition")
