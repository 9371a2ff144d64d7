"""The policy protocol and the rule policy: what every policy of the project (scripted, replayed, trained,
planned) offers, ``act(obs)``. Part of the environment package so that case replays and scripted families
need nothing from :mod:`massbargain.agents`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Policy", "RulePolicy"]


@runtime_checkable
class Policy(Protocol):
    """Anything with ``act(obs)``: (F,) -> int, or (B, F) -> (B,) ints."""

    def act(self, obs: np.ndarray) -> np.ndarray | int: ...


class RulePolicy:
    """A deterministic policy from a vectorized rule ``rule(obs (B, F)) -> actions (B,)``."""

    def __init__(self, name: str, rule: Callable[[np.ndarray], np.ndarray], doc: str) -> None:
        self.name, self.rule, self.__doc__ = name, rule, doc

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return int(self.rule(obs[None])[0])
        return np.asarray(self.rule(obs), dtype=np.int64)

    def __repr__(self) -> str:
        return f"RulePolicy({self.name!r})"
