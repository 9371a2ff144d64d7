"""Did-you-mean messages for unknown names (massbargain.suggest): close names suggested, short lists spelled
out, long ones replaced by where to find them."""

from __future__ import annotations

import pytest

from massbargain.suggest import MAX_LISTING, closest, unknown

KEYS = ["brokers.recklessness", "brokers.decay", "superior.monitoring", "utility.stakes"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("brokers.recklesness", "brokers.recklessness"),
        ("recklessness", "brokers.recklessness"),
        ("brokrs.decay", "brokers.decay"),
        ("superior.monitor", "superior.monitoring"),
        ("brokers.nonsense", None),  # a valid group: only its own fields count, and none is close
        ("zzz", None),
    ],
)
def test_closest(name, expected):
    assert closest(name, KEYS) == expected


def test_unknown_lists_few_names_and_points_elsewhere_for_many():
    assert unknown("reset option", "seed", ["scenario", "reset_mask"]) == (
        "unknown reset option 'seed'; allowed: scenario, reset_mask"
    )
    many = [*(f"field_{i:03d}" for i in range(100)), "learning_rate"]
    message = unknown("config key", "zzz", many, where="valid keys: see ppo_default.yaml")
    assert message == "unknown config key 'zzz'; valid keys: see ppo_default.yaml"
    assert len(", ".join(many)) > MAX_LISTING
    suggestion = unknown("config key", "learning_rat", many)
    assert suggestion == "unknown config key 'learning_rat'; did you mean 'learning_rate'?"
    assert unknown("preset", 42, ["baseline"]) == "unknown preset 42; allowed: baseline"
