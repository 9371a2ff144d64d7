"""Named actions, modes, the superior's responses and episode outcomes.

Every code the environment emits is one of these enums, so analysis never re-derives a mode from an action
id or hard-codes a number.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["ACTION_MODE", "Action", "EndReason", "Mode", "Outcome", "Response", "episode_mode"]


class Action(IntEnum):
    """The official's eight actions (``Discrete(8)``)."""

    WAIT = 0
    PETITION = 1
    LEAK = 2
    TOLERATE = 3
    MOBILIZE = 4
    PACIFY = 5
    CRACKDOWN = 6
    ACCEPT = 7


class Mode(IntEnum):
    """Mode of an action. An episode's mode is the most escalated one it used (``episode_mode``)."""

    PASSIVE = 0
    OFFICIAL_CHANNEL = 1
    CONSENT = 2
    MOBILIZED = 3
    CONTROL = 4
    EXIT = 5


ACTION_MODE: dict[Action, Mode] = {
    Action.WAIT: Mode.PASSIVE,
    Action.PETITION: Mode.OFFICIAL_CHANNEL,
    Action.LEAK: Mode.CONSENT,
    Action.TOLERATE: Mode.CONSENT,
    Action.MOBILIZE: Mode.MOBILIZED,
    Action.PACIFY: Mode.CONTROL,
    Action.CRACKDOWN: Mode.CONTROL,
    Action.ACCEPT: Mode.EXIT,
}
ACTION_MODE_ARRAY = np.array([ACTION_MODE[a] for a in Action], dtype=np.int8)

# Escalation order of the episode mode: mobilized > consent > official channel > passive.
_ESCALATION = {Mode.PASSIVE: 0, Mode.OFFICIAL_CHANNEL: 1, Mode.CONSENT: 2, Mode.MOBILIZED: 3}
ESCALATION_OF_ACTION = np.array([_ESCALATION.get(ACTION_MODE[a], 0) for a in Action], dtype=np.int8)
ESCALATED_MODES = (Mode.PASSIVE, Mode.OFFICIAL_CHANNEL, Mode.CONSENT, Mode.MOBILIZED)


def episode_mode(actions: list[int] | np.ndarray) -> Mode:
    """The most escalated mode among an episode's actions (control and exit actions count as passive)."""
    level = int(ESCALATION_OF_ACTION[np.asarray(actions, dtype=np.int64)].max(initial=0))
    return ESCALATED_MODES[level]


class Response(IntEnum):
    """The superior's daily response. SUSPEND, PARTIAL and WITHDRAW are concessions and end the episode;
    INVESTIGATE (open a discipline investigation of the county's role) is only chosen by a learning superior
    (the scripted one opens investigations through the rules of docs/MODEL.md section 5.8)."""

    HOLD = 0
    WARN = 1
    REPRESS = 2
    SUSPEND = 3
    PARTIAL = 4
    WITHDRAW = 5
    INVESTIGATE = 6


class Outcome(IntEnum):
    """What became of the plan when the episode ended (``NONE`` while it runs)."""

    NONE = 0
    WITHDRAWN = 1
    SUSPENDED = 2
    PARTIAL = 3
    IMPOSED = 4


class EndReason(IntEnum):
    """Why the episode ended (``NONE`` while it runs)."""

    NONE = 0
    CONCESSION = 1
    ACCEPTED = 2
    DEADLINE = 3
    DISMISSED = 4
    TAKEOVER = 5


class Severity(IntEnum):
    """The official's heaviest punishment so far."""

    NONE = 0
    WARNING = 1
    DEMOTION = 2
    DISMISSAL = 3
