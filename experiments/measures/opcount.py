"""Count the numpy operations one day of the dynamics core costs, batched and for one environment.

    python -m massbargain.experiments.measures.opcount [--copies 1024] [--days 300]

Speed in the core comes from doing few numpy operations per day, so this counts them rather than timing
them (counts do not depend on the machine's load). Arrays of the state are viewed through an ndarray
subclass that counts every ufunc call and array function applied to them; the generator is wrapped to
count draws. One environment runs the core on plain Python numbers, so there only the per-type arrays
(the K quadrature nodes), the draws and the scalar ufuncs (exp, expm1, tanh: numpy's, so that both paths
agree bit for bit) are numpy operations.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Sequence
from typing import Any

import numpy as np

from massbargain import core
from massbargain.scenario import Scenario

__all__ = ["count_operations", "main"]

_COUNT: collections.Counter[str] = collections.Counter()


def _plain(x: Any) -> Any:
    return x.view(np.ndarray) if isinstance(x, _Counted) else x


class _Counted(np.ndarray):
    """An ndarray that counts the ufuncs and array functions applied to it (results stay counted)."""

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _COUNT[f"ufunc {ufunc.__name__}" + ("" if method == "__call__" else f".{method}")] += 1
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*(_plain(i) for i in inputs), **kwargs)
        return result.view(_Counted) if isinstance(result, np.ndarray) else result

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        _COUNT[f"function {func.__name__}"] += 1
        result = func._implementation(*(_plain(a) for a in args), **{k: _plain(v) for k, v in kwargs.items()})
        return result.view(_Counted) if isinstance(result, np.ndarray) else result


class _CountedGenerator:
    """A numpy Generator that counts its draws."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._rng, name)

        def draw(*args: Any, **kwargs: Any) -> Any:
            _COUNT[f"draw {name}"] += 1
            return method(*args, **kwargs)

        return draw


def count_operations(copies: int | None, days: int = 300, preset: str = "baseline") -> dict[str, float]:
    """Numpy operations per day of ``core.step`` + ``core.observe``, by kind, under random actions.

    ``copies=None`` counts the single-environment path (plain Python numbers); an int, the batched one.
    """
    scenario = Scenario.preset(preset)
    rng = np.random.default_rng(0)
    types = core.constants(scenario).types
    saved = {name: getattr(types, name) for name in ("node", "share")}
    scalar = {name: getattr(core._One, name) for name in ("exp", "expm1")}
    try:
        for name, value in saved.items():
            object.__setattr__(types, name, value.view(_Counted))
        for name, f in scalar.items():
            setattr(core._One, name, staticmethod(_counting(f"ufunc {name} (scalar)", f)))
        actions = np.random.default_rng(1).integers(0, 7, (days, copies or 1))
        state = core.initial_state(scenario, rng, copies)
        if copies is not None:
            for key, value in vars(state).items():
                if isinstance(value, np.ndarray):
                    setattr(state, key, value.view(_Counted))
        counted = _CountedGenerator(rng)
        _COUNT.clear()
        for day in range(days):
            if copies is None:
                core.step(state, int(actions[day, 0]), scenario, counted)
                if state.day >= scenario.horizon.days:
                    state = core.initial_state(scenario, rng, None)
            else:
                core.step(state, actions[day].view(_Counted), scenario, counted)
            core.observe(state, scenario)
        return {k: v / days for k, v in sorted(_COUNT.items(), key=lambda kv: -kv[1])}
    finally:
        for name, value in saved.items():
            object.__setattr__(types, name, value)
        for name, f in scalar.items():
            setattr(core._One, name, f)


def _counting(label: str, f: Any) -> Any:
    def counted(x: Any) -> Any:
        _COUNT[label] += 1
        return f(x)

    return counted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m massbargain.experiments.measures.opcount", description=__doc__)
    parser.add_argument("--copies", type=int, default=1024, help="copies of the batched count (default 1024)")
    parser.add_argument("--days", type=int, default=300, help="days to count over (default 300)")
    args = parser.parse_args(argv)
    for label, copies in (("one environment", None), (f"batched, {args.copies} copies", args.copies)):
        counts = count_operations(copies, args.days)
        print(f"{label}: {sum(counts.values()):.1f} numpy operations per day")
        for kind, n in counts.items():
            print(f"  {n:7.2f}  {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
