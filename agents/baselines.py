"""Scripted baseline policies (no torch). Each maps observations to actions by a readable rule.

A policy is any object with ``act(obs) -> action``: an observation of shape (F,) gives an int, a batch of
shape (B, F) gives an int array of shape (B,). Trained agents and the planner follow the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from massbargain.actions import Action
from massbargain.core import OBS_INDEX
from massbargain.policy import Policy, RulePolicy

__all__ = ["BASELINES", "Policy", "RandomPolicy", "RulePolicy"]

_I = OBS_INDEX


class RandomPolicy:
    """Uniform over every action but ACCEPT (with ACCEPT allowed, episodes would last a few days)."""

    name = "random"

    def __init__(self, seed: int | None = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs)
        size = None if obs.ndim == 1 else obs.shape[0]
        a = self.rng.integers(0, int(Action.ACCEPT), size=size)
        return int(a) if size is None else a

    def __repr__(self) -> str:
        return "RandomPolicy()"


def _const(action: Action) -> Callable[[np.ndarray], np.ndarray]:
    return lambda obs: np.full(obs.shape[0], int(action))


def _consent(obs: np.ndarray) -> np.ndarray:
    """Pacify a radicalizing crowd; otherwise make the police tolerant, leak until most know, then petition."""
    return np.select(
        [obs[:, _I["radical_share"]] > 0.3, obs[:, _I["police_tolerant"]] < 0.5, obs[:, _I["informed"]] < 0.5],
        [Action.PACIFY, Action.TOLERATE, Action.LEAK],
        Action.PETITION,
    )


def _mobilize(obs: np.ndarray) -> np.ndarray:
    """Keep the brokers busy (MOBILIZE while their activity is below 0.5); otherwise petition."""
    return np.where(obs[:, _I["broker_activity"]] < 0.5, Action.MOBILIZE, Action.PETITION)


def _mobilize_pacify(obs: np.ndarray) -> np.ndarray:
    """Managed mobilization: PACIFY when the radical share exceeds 0.2 or disorder 0.04; MOBILIZE while
    broker activity is below 0.3 and the crowd below 0.25; otherwise petition."""
    return np.select(
        [
            (obs[:, _I["radical_share"]] > 0.2) | (obs[:, _I["disorder"]] > 0.04),
            (obs[:, _I["broker_activity"]] < 0.3) & (obs[:, _I["crowd"]] < 0.25),
        ],
        [Action.PACIFY, Action.MOBILIZE],
        Action.PETITION,
    )


def _crackdown(obs: np.ndarray) -> np.ndarray:
    """Disperse any crowd by force; otherwise wait."""
    return np.where(obs[:, _I["crowd"]] > 0.01, Action.CRACKDOWN, Action.WAIT)


def _make() -> dict[str, Callable[[], Policy]]:
    rules = {
        "passive": (_const(Action.WAIT), "Always WAIT."),
        "petition": (_const(Action.PETITION), "Official channels only: always PETITION."),
        "consent": (_consent, _consent.__doc__),
        "mobilize": (_mobilize, _mobilize.__doc__),
        "mobilize_pacify": (_mobilize_pacify, _mobilize_pacify.__doc__),
        "crackdown": (_crackdown, _crackdown.__doc__),
        "accept": (_const(Action.ACCEPT), "ACCEPT on the first day (the reference return 0 minus nothing)."),
    }
    out: dict[str, Callable[[], Policy]] = {
        name: (lambda name=name, rule=rule, doc=doc: RulePolicy(name, rule, doc)) for name, (rule, doc) in rules.items()
    }
    out["random"] = RandomPolicy
    return out


_FACTORIES = _make()

#: Baseline policies by name. Stateless ones are shared instances; ``random`` is seeded with 0
#: (use ``RandomPolicy(seed)`` for another stream).
BASELINES: dict[str, Policy] = {name: factory() for name, factory in _FACTORIES.items()}
