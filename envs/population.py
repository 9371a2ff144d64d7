"""Resident types: an exact aggregation of an agent-based population into K exchangeable types.

Each resident has hardship h, risk aversion r and threshold θ, independent normals (Epstein 2002;
Granovetter 1978). An informed resident's activation argument is linear in them,

    x = h·(1 − L) − r·P − θ + (terms shared by everyone),

so across residents x is itself normal, with mean h̄(1 − L) − r̄P − θ̄ + ... and variance
σ_h²(1 − L)² + σ_r²P² + σ_θ². The population is therefore represented by K probabilists' Gauss-Hermite
nodes z_k with weights w_k of that one normal: type k is the share w_k of residents whose argument is
mean + sd·z_k. This is the design's "K exchangeable types by independent quadrature" collapsed to the one
dimension that matters: it is exact for the distribution of x (the design's product quadrature over three
attributes needs K = nodes³ types for the same accuracy).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["ResidentTypes", "resident_types"]


@dataclass(frozen=True, eq=False)
class ResidentTypes:
    """The K quadrature nodes (standard-normal z_k) and their population shares w_k (sum to 1)."""

    node: np.ndarray
    share: np.ndarray


@functools.lru_cache(maxsize=32)
def resident_types(nodes: int) -> ResidentTypes:
    """K = ``nodes`` resident types by probabilists' Gauss-Hermite quadrature of a standard normal."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return ResidentTypes(node=z, share=w / w.sum())
