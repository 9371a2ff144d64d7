"""The superior government: a component behind a small interface.

The dynamics core hands the superior a :class:`SuperiorView` (what it can observe of the day) and receives
one :class:`~massbargain.actions.Response` code per environment. The core, not the superior, applies the
consequences of a response, so a different superior (a fixed rule, a learning agent in a later multi-agent
version) only has to implement :meth:`Superior.respond`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from massbargain.scenario import SuperiorParams

__all__ = [
    "SUPERIOR_OBSERVATION_FIELDS",
    "ScriptedSuperior",
    "Superior",
    "SuperiorView",
    "concession_shares",
    "observe_view",
    "sample_softmax",
]

#: What a learning superior observes (docs/MODEL.md, "The superior as an agent"), each in [0, 1]. Pressure
#: and its stock are in units of Π_ref and unbounded, so they are squashed by x / (1 + x). Never the
#: county's private variables (the brokers' recklessness, the official's intent) nor its own hidden resolve.
SUPERIOR_OBSERVATION_FIELDS: tuple[str, ...] = (
    "time_used",  # days used / T
    "crowd",  # A today, after the official's dispersal
    "radical_share",  # R
    "disorder",  # D today
    "peak_disorder",  # the episode's peak disorder before today
    "pressure",  # Π today, squashed
    "pressure_stock",  # S, squashed
    "elite_opposition",  # U
    "evidence",  # E, its own evidence that the county staged the unrest
    "warnings",  # warnings given / 5, capped
    "investigation",  # 1 while an investigation is open
)


class SuperiorView(NamedTuple):
    """What the superior sees at the end of a day: arrays of shape (B,), or numbers for one environment."""

    pressure: np.ndarray  # Π today, in units of Π_ref
    stock: np.ndarray  # sustained pressure S, in units of Π_ref
    disorder: np.ndarray  # D
    evidence: np.ndarray  # attribution evidence E (its suspicion that the county staged the unrest)
    elite: np.ndarray  # visible elite opposition U
    resolve: np.ndarray  # its own hidden resolve for this episode
    peak_disorder: np.ndarray  # the episode's peak disorder before today (today's is ``disorder``)
    # What else a prefecture sees (a learning superior's observation, :func:`observe_view`); the scripted
    # superior does not use them. Defaults for views built by hand (the planner's belief).
    crowd: Any = 0.0  # A today, after the official's dispersal
    radical: Any = 0.0  # radical share R
    warnings: Any = 0.0  # warnings it has given, / 5, capped at 1
    time_used: Any = 0.0  # days used / T
    investigation: Any = False  # an investigation is open


def observe_view(view: SuperiorView) -> np.ndarray:
    """A learning superior's observation of ``view``: float32 (B, 11) for a batch, (11,) for one
    environment; the columns are :data:`SUPERIOR_OBSERVATION_FIELDS`."""
    columns = [
        view.time_used,
        view.crowd,
        view.radical,
        view.disorder,
        view.peak_disorder,
        view.pressure / (1.0 + view.pressure),
        view.stock / (1.0 + view.stock),
        view.elite,
        view.evidence,
        view.warnings,
        view.investigation,
    ]
    if isinstance(view.pressure, np.ndarray):
        obs = np.empty((view.pressure.shape[0], len(columns)), dtype=np.float32)
        for j, column in enumerate(columns):
            obs[:, j] = column
        return obs
    return np.array(columns, dtype=np.float32)


class Superior(Protocol):
    """Anything that maps a day's view to response codes (``Response`` values).

    ``uniform`` holds one uniform [0, 1) number per environment for the superior's own draw; return an
    int array of shape (B,), or one int when the view holds plain numbers.
    """

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: Any) -> Any: ...


class ScriptedSuperior:
    """A stochastic superior choosing by a softmax of utilities (Goldstone & Tilly 2001; Cai 2010).

    Utilities, divided by ``temperature``, with f(x) = x / (1 + σ_Π·x) the saturation of pressure (σ_Π =
    ``pressure_saturation``; f(x) = x in v0):

    - HOLD: 0
    - WARN: warn_bias + warn_suspicion·E
    - REPRESS: repress_bias + disorder_aversion·D − repress_peaceful·Π
    - CONCEDE: concede_bias + concede_pressure·f(Π) + concede_stock·f(S) + concede_elite·U − resolve
      − suspicion_weight·E
    - SHELVE (v1, stability first; only when ``shelve_disorder`` > 0): shelve_bias + shelve_disorder·D_peak,
      D_peak the episode's peak disorder including today's. Shelving is a SUSPEND: the plan lapses to
      restore order, whatever the evidence, and an open inquiry still decides the official's fate.

    A concession is split into SUSPEND, PARTIAL and WITHDRAW in proportion to their shares. The draw uses
    the uniform numbers it is given, so the superior holds no random state of its own.
    """

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: Any) -> Any:
        return sample_softmax(self.utilities(view, params), concession_shares(params), params.temperature, uniform)

    @staticmethod
    def utilities(view: SuperiorView, params: SuperiorParams) -> list:
        """The utilities of HOLD, WARN, REPRESS, CONCEDE (and SHELVE when stability shelving is on), before the
        temperature; the one place these rules live (the planner's belief reads them from here)."""
        p = params
        hold = 0.0 * view.pressure
        warn = p.warn_bias + p.warn_suspicion * view.evidence
        repress = p.repress_bias + p.disorder_aversion * view.disorder - p.repress_peaceful * view.pressure
        pressure, stock = view.pressure, view.stock
        if p.pressure_saturation > 0.0:  # v1: pressure's pull on a decided superior is bounded
            pressure = pressure / (1.0 + p.pressure_saturation * pressure)
            stock = stock / (1.0 + p.pressure_saturation * stock)
        concede = (
            p.concede_bias
            + p.concede_pressure * pressure
            + p.concede_stock * stock
            + p.concede_elite * view.elite
            - view.resolve
            - p.suspicion_weight * view.evidence
        )
        utility = [hold, warn, repress, concede]
        if p.shelve_disorder > 0.0:  # v1: stability first
            peak, today = view.peak_disorder, view.disorder
            peak = np.maximum(peak, today) if isinstance(peak, np.ndarray) else max(peak, today)
            utility.append(p.shelve_bias + p.shelve_disorder * peak)
        return utility


def concession_shares(params: SuperiorParams) -> tuple[float, float, float]:
    """The shares of SUSPEND, PARTIAL and WITHDRAW among the scripted superior's concessions (sum 1)."""
    total = params.share_suspend + params.share_partial + params.share_withdraw
    return (params.share_suspend / total, params.share_partial / total, params.share_withdraw / total)


def sample_softmax(utility: list, concession_shares: tuple, temperature: float, uniform: Any) -> Any:
    """Draw HOLD, WARN, REPRESS or a concession by a softmax of the utilities.

    ``utility`` holds HOLD, WARN, REPRESS and CONCEDE, and optionally a fifth, SHELVE, whose weight is added
    to SUSPEND's. The concession's weight is split into SUSPEND, PARTIAL and WITHDRAW by
    ``concession_shares``. For a batch, ``utility`` holds (B,) arrays and ``uniform`` a (B,) array; for one
    environment, numbers. Both paths perform the same floating-point operations in the same order, so they
    agree bit for bit.
    """
    shelve = len(utility) > 4
    if isinstance(uniform, np.ndarray):
        # Options as rows of a (k, B) array, and the running sum written out (a cumulative sum adds in this
        # very order): a few whole-row operations instead of stacking, concatenating and reducing across
        # columns, ~5x faster at B = 1024 and ~1.5x at B = 16, with the same bits.
        u = np.array(utility)
        w = np.exp((u - u.max(axis=0)) / temperature)
        concede, (s_suspend, s_partial, _) = w[3], concession_shares
        c_hold = w[0]
        c_warn = c_hold + w[1]
        c_repress = c_warn + w[2]
        c_suspend = c_repress + concede * s_suspend
        if shelve:
            c_suspend = c_suspend + w[4]
        c_partial = c_suspend + concede * s_partial
        threshold = uniform * (c_partial + concede * concession_shares[2])
        code = (threshold >= c_hold).astype(np.int64)
        code += threshold >= c_warn
        code += threshold >= c_repress
        code += threshold >= c_suspend
        code += threshold >= c_partial
        return code
    top = max(utility)
    w = np.exp(np.array([(x - top) / temperature for x in utility])).tolist()  # numpy's exp, as in the batch path
    weight = [w[0], w[1], w[2], *(w[3] * share for share in concession_shares)]
    if shelve:
        weight[3] = weight[3] + w[4]
    cumulative = []
    total = 0.0
    for x in weight:
        total += x
        cumulative.append(total)
    threshold = uniform * total
    return sum(threshold >= c for c in cumulative[:-1])
