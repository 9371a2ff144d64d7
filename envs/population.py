"""Resident types: an exact aggregation of an agent-based population into K exchangeable types.

Hardship h, risk aversion r and threshold θ are independent normals; each is discretized by
probabilists' Gauss-Hermite quadrature with ``quadrature_nodes`` nodes, and the types are all combinations
(K = nodes³). Residents of one type are exchangeable, so the state only needs counts per type, and the
daily individual decisions become binomial draws of those counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from massbargain.scenario import PopulationParams

__all__ = ["ResidentTypes", "resident_types"]


@dataclass(frozen=True, eq=False)
class ResidentTypes:
    """Attributes of the K types (arrays of shape (K,)) and how many residents each holds."""

    hardship_offset: np.ndarray  # h_k − mean hardship (the per-episode mood shifts the mean)
    risk_aversion: np.ndarray
    threshold: np.ndarray
    count: np.ndarray  # int64, sums to n_residents
    n: int


@functools.lru_cache(maxsize=64)
def resident_types(p: PopulationParams) -> ResidentTypes:
    """The K = nodes³ resident types of a population (cached: scenarios are frozen and hashable)."""
    x, w = np.polynomial.hermite_e.hermegauss(p.quadrature_nodes)
    w = w / w.sum()
    xh, xr, xt = (a.ravel() for a in np.meshgrid(x, x, x, indexing="ij"))
    weight = (w[:, None, None] * w[None, :, None] * w[None, None, :]).ravel()
    # Largest-remainder rounding so the counts sum exactly to n.
    exact = weight * p.n_residents
    count = np.floor(exact).astype(np.int64)
    short = p.n_residents - int(count.sum())
    count[np.argsort(exact - count)[::-1][:short]] += 1
    return ResidentTypes(
        hardship_offset=p.hardship_sd * xh,
        risk_aversion=np.clip(p.risk_aversion_mean + p.risk_aversion_sd * xr, 0.0, None),
        threshold=p.threshold_mean + p.threshold_sd * xt,
        count=count,
        n=p.n_residents,
    )
