"""The superior government: a component behind a small interface.

The dynamics core hands the superior a :class:`SuperiorView` (what it can observe of the day) and receives
one :class:`~massbargain.actions.Response` code per environment. The core, not the superior, applies the
consequences of a response, so a different superior (a fixed rule, a learning agent in a later multi-agent
version) only has to implement :meth:`Superior.respond`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from massbargain.scenario import SuperiorParams

__all__ = ["ScriptedSuperior", "Superior", "SuperiorView"]


@dataclass(frozen=True)
class SuperiorView:
    """What the superior sees at the end of a day; every array has shape (B,)."""

    pressure: np.ndarray  # Π today, in units of Π_ref
    stock: np.ndarray  # sustained pressure S, in units of Π_ref
    disorder: np.ndarray  # D
    evidence: np.ndarray  # attribution evidence E (its suspicion that the county staged the unrest)
    elite: np.ndarray  # visible elite opposition U
    resolve: np.ndarray  # its own hidden resolve for this episode


class Superior(Protocol):
    """Anything that maps a day's view to response codes (``Response`` values, shape (B,))."""

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: np.ndarray) -> np.ndarray: ...


class ScriptedSuperior:
    """A stochastic superior choosing by a softmax of utilities (Goldstone & Tilly 2001; Cai 2010).

    Utilities, divided by ``temperature``:

    - HOLD: 0
    - WARN: warn_bias + warn_suspicion·E
    - REPRESS: repress_bias + disorder_aversion·D − repress_peaceful·Π
    - CONCEDE: concede_bias + concede_pressure·Π + concede_stock·S + concede_elite·U − resolve
      − suspicion_weight·E

    A concession is split into SUSPEND, PARTIAL and WITHDRAW in proportion to their shares. The draw uses
    the uniform numbers it is given, so the superior holds no random state of its own.
    """

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: np.ndarray) -> np.ndarray:
        p = params
        utility = np.empty((view.pressure.shape[0], 4))
        utility[:, 0] = 0.0
        utility[:, 1] = p.warn_bias + p.warn_suspicion * view.evidence
        utility[:, 2] = p.repress_bias + p.disorder_aversion * view.disorder - p.repress_peaceful * view.pressure
        utility[:, 3] = (
            p.concede_bias
            + p.concede_pressure * view.pressure
            + p.concede_stock * view.stock
            + p.concede_elite * view.elite
            - view.resolve
            - p.suspicion_weight * view.evidence
        )
        utility -= utility.max(axis=1, keepdims=True)
        weight = np.exp(utility / p.temperature) @ _split(p)  # (B, 6): hold, warn, repress, 3 concessions
        cumulative = np.cumsum(weight, axis=1)
        return (uniform[:, None] * cumulative[:, -1:] >= cumulative[:, :-1]).sum(axis=1)


def _split(p: SuperiorParams) -> np.ndarray:
    """(4, 6) matrix spreading the concession weight over SUSPEND, PARTIAL, WITHDRAW by their shares."""
    m = np.zeros((4, 6))
    m[0, 0] = m[1, 1] = m[2, 2] = 1.0
    total = p.share_suspend + p.share_partial + p.share_withdraw
    m[3, 3:] = np.array([p.share_suspend, p.share_partial, p.share_withdraw]) / total
    return m
