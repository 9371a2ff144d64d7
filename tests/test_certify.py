"""Issue 13's certification rule and the choice of the attempt a mode map keeps (pure functions; the mode
map's own tests run it end to end on a tiny grid)."""

from __future__ import annotations

import pytest

from massbargain.agents.config import UserError
from massbargain.experiments.maps.certify import (
    CertifyConfig,
    attempt_seed,
    certified,
    choose_attempts,
    reference_bar,
)

CFG = CertifyConfig()


def test_bar_is_the_better_reference_less_five_percent_or_the_tolerance() -> None:
    assert reference_bar(0.40, 0.50, CFG) == pytest.approx(0.475)  # 95% of the planner's 0.50
    assert reference_bar(0.50, 0.40, CFG) == pytest.approx(0.475)  # the better of the two, whichever it is
    assert reference_bar(0.02, 0.03, CFG) == pytest.approx(0.02)  # near zero: 0.01 below, not 5%
    assert reference_bar(-0.40, None, CFG) == pytest.approx(-0.42)  # negative: 5% of |ref| below it
    assert reference_bar(0.40, None, CFG.__class__(ratio=0.9)) == pytest.approx(0.36)


def test_certified_at_and_around_the_bar() -> None:
    assert certified(0.475, 0.40, 0.50, CFG)
    assert not certified(0.474, 0.40, 0.50, CFG)
    assert certified(0.60, 0.40, 0.50, CFG)  # beating both references
    assert not certified(0.0, 0.30, None, CFG)


def rows(*specs: tuple[int, int, bool]) -> list[dict]:
    return [
        {"recklessness": 0.1, "monitoring": 0.2, "stakes": 0.9, "seed": s, "attempt": a, "certified": c}
        for s, a, c in specs
    ]


def test_choose_attempts_keeps_the_first_certified_else_the_last() -> None:
    kept = choose_attempts(rows((0, 0, True), (1, 0, False), (1, 1, True), (1, 2, True), (2, 0, False), (2, 1, False)))
    by_seed = {r["seed"]: r["attempt"] for r in kept}
    assert by_seed == {0: 0, 1: 1, 2: 1}
    assert len(kept) == 3


def test_retrains_use_other_seeds() -> None:
    seeds = {attempt_seed(s, a) for s in range(3) for a in range(3)}
    assert len(seeds) == 9 and attempt_seed(2, 0) == 2


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"ratio": 1.5}, ["certify.ratio", "[0, 1]", "1.5"]),
        ({"retrains": -1}, ["certify.retrains", ">= 0"]),
        ({"episodes": 1}, ["certify.episodes", ">= 2"]),
        ({"planner": "yes"}, ["certify.planner", "true or false"]),
    ],
)
def test_bad_fields_are_named(changes: dict, words: list[str]) -> None:
    with pytest.raises(UserError) as err:
        CertifyConfig(**changes)
    for w in words:
        assert w in str(err.value)
    with pytest.raises(UserError, match="unknown key 'ratoi'; keys: ratio, tolerance"):
        CertifyConfig.from_mapping({"ratoi": 0.9})
