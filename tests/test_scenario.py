"""Scenario: presets, validation with errors that name the field and its range, round trips, immutability.

These tests read ranges and defaults from ``parameter_table()`` rather than restating them, so a recalibration
(new defaults, new preset values) does not break them; only the behaviour of the configuration object is held.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from massbargain import PRESETS, Scenario, ScenarioError
from massbargain.scenario import PRESET_CALIBRATION, parameter_table, valid_keys

PRESET_NAMES = sorted(PRESETS)
TABLE = parameter_table()
# The one cross-field constraint: the veto threshold may not exceed the takeover threshold.
CONSTRAINED = {"superior.veto_disorder", "superior.takeover_disorder"}


def _get(scenario: Scenario, key: str):
    group, attr = key.split(".")
    return getattr(getattr(scenario, group), attr)


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


# --- presets -----------------------------------------------------------------------------------------------


def test_the_three_documented_presets_exist():
    assert {"baseline", "changxing", "daye"} <= set(PRESETS)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_is_a_named_scenario(name):
    s = Scenario.preset(name)
    assert isinstance(s, Scenario)
    assert s.name == name
    assert s == PRESETS[name]


def test_baseline_preset_is_the_declared_defaults():
    base = Scenario.preset("baseline")
    for row in TABLE:
        assert _get(base, row["key"]) == row["default"], row["key"]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_departure_of_a_preset_from_the_defaults_has_a_stated_reason(name):
    calibration = PRESET_CALIBRATION[name]
    for key, (value, reason) in calibration.items():
        assert isinstance(reason, str) and reason.strip(), key
        assert _get(Scenario.preset(name), key) == value, key
    departures = {row["key"] for row in TABLE if _get(Scenario.preset(name), row["key"]) != row["default"]}
    assert departures <= set(calibration)


def test_presets_differ_from_each_other():
    scenarios = [Scenario.preset(n).with_overrides({"name": "x"}) for n in PRESET_NAMES]
    assert len(set(scenarios)) == len(scenarios)


def test_unknown_preset_raises_listing_the_known_ones():
    with pytest.raises(ScenarioError) as excinfo:
        Scenario.preset("atlantis")
    message = str(excinfo.value)
    assert "atlantis" in message
    for name in PRESET_NAMES:
        assert name in message


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


# --- the parameter table and validation --------------------------------------------------------------------


def test_parameter_table_rows_are_complete_and_defaults_in_range():
    keys = [row["key"] for row in TABLE]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(valid_keys())
    for row in TABLE:
        lo, hi = row["range"]
        assert lo < hi, row["key"]
        assert lo <= row["default"] <= hi, row["key"]
        assert row["unit"] and row["doc"] and row["source"], row["key"]


@pytest.mark.parametrize("row", [r for r in TABLE if r["key"] not in CONSTRAINED], ids=lambda r: r["key"])
def test_every_parameter_accepts_both_ends_of_its_range(row):
    lo, hi = row["range"]
    for value in (lo, hi):
        s = Scenario().with_overrides({row["key"]: value})
        assert _get(s, row["key"]) == value


def test_constrained_thresholds_accept_their_ranges_when_consistent():
    s = Scenario().with_overrides({"superior.takeover_disorder": 1.0, "superior.veto_disorder": 1.0})
    assert s.superior.veto_disorder == s.superior.takeover_disorder == 1.0
    s = Scenario().with_overrides({"superior.takeover_disorder": 0.0, "superior.veto_disorder": 0.0})
    assert s.superior.veto_disorder == s.superior.takeover_disorder == 0.0


def test_veto_above_takeover_raises_naming_both_fields():
    with pytest.raises(ScenarioError) as excinfo:
        Scenario().with_overrides({"superior.veto_disorder": 0.9, "superior.takeover_disorder": 0.5})
    assert "superior.veto_disorder" in str(excinfo.value)
    assert "superior.takeover_disorder" in str(excinfo.value)


@pytest.mark.parametrize("row", TABLE, ids=lambda r: r["key"])
def test_out_of_range_value_raises_naming_field_and_range(row):
    lo, hi = row["range"]
    step = 1 if isinstance(row["default"], int) else max((hi - lo) * 0.01, 1e-3)
    for value in (lo - step, hi + step):
        with pytest.raises(ScenarioError) as excinfo:
            Scenario().with_overrides({row["key"]: value})
        message = str(excinfo.value)
        assert row["key"] in message
        numbers = _numbers(message)
        assert float(lo) in numbers and float(hi) in numbers, message


def test_recklessness_above_one_is_refused_with_its_range():
    with pytest.raises(ScenarioError, match=r"brokers\.recklessness") as excinfo:
        Scenario.preset("daye").with_overrides({"brokers.recklessness": 1.5})
    assert "1.5" in str(excinfo.value)
    assert {0.0, 1.0} <= set(_numbers(str(excinfo.value)))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), None, "abc", True, [0.5]])
def test_non_numbers_are_refused(value):
    with pytest.raises(ScenarioError, match=r"utility\.stakes"):
        Scenario().with_overrides({"utility.stakes": value})


def test_whole_number_fields_refuse_fractions():
    with pytest.raises(ScenarioError, match=r"horizon\.days"):
        Scenario().with_overrides({"horizon.days": 2.5})


@pytest.mark.parametrize(
    "key, suggestion",
    [
        ("brokers.recklesness", "brokers.recklessness"),  # a typo in the field
        ("brokrs.recklessness", "brokers.recklessness"),  # a typo in the group
        ("recklessness", "brokers.recklessness"),  # the group left out
        ("superior.recklessness", "brokers.recklessness"),  # the wrong group
        ("utility.stake", "utility.stakes"),
    ],
)
def test_unknown_dotted_key_suggests_the_closest_one(key, suggestion):
    with pytest.raises(ScenarioError) as excinfo:
        Scenario().with_overrides({key: 0.5})
    assert str(excinfo.value) == f"unknown scenario key {key!r}; did you mean {suggestion!r}?"


def test_unknown_key_without_a_close_one_says_how_keys_are_made_in_one_short_line():
    for key in ("nonsense", "brokers.nonsense"):
        with pytest.raises(ScenarioError) as excinfo:
            Scenario().with_overrides({key: 0.5})
        message = str(excinfo.value)
        assert message.startswith(f"unknown scenario key {key!r}; keys are GROUP.FIELD, groups: population")
        assert "valid_keys()" in message and "did you mean" not in message
        assert len(message) < 250 and "\n" not in message  # not a list of every key


def test_unknown_group_in_a_nested_dict_raises():
    with pytest.raises(ScenarioError, match="unknown scenario group 'brokerz'; did you mean 'brokers'"):
        Scenario.from_dict({"brokerz": {"recklessness": 0.5}})


def test_direct_construction_validates_too():
    with pytest.raises(ScenarioError):
        Scenario(population="many")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError):
        Scenario(name=3)  # type: ignore[arg-type]


# --- round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_dict_round_trip(name):
    s = Scenario.preset(name)
    d = s.to_dict()
    assert d["name"] == name
    # Every parameter is exported, with its value: the dict alone describes the scenario.
    flat = {f"{group}.{key}": value for group, values in d.items() if group != "name" for key, value in values.items()}
    assert flat == {row["key"]: _get(s, row["key"]) for row in TABLE}
    back = Scenario.from_dict(d)
    assert back == s
    assert back.to_dict() == d
    # A round trip from a different base still reproduces every value.
    assert Scenario.from_dict(d, base=Scenario.preset("daye" if name != "daye" else "baseline")) == s


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_yaml_round_trip(name, tmp_path):
    s = Scenario.preset(name)
    path = tmp_path / f"{name}.yaml"
    text = s.to_yaml(path)
    assert isinstance(text, str) and path.read_text() == text
    assert Scenario.from_yaml(path) == s
    assert Scenario.from_yaml(str(path)) == s


def test_yaml_with_preset_and_dotted_keys(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text("preset: daye\nutility.stakes: 0.2\nbrokers:\n  decay: 0.5\n")
    s = Scenario.from_yaml(path)
    assert s == Scenario.preset("daye").with_overrides({"utility.stakes": 0.2, "brokers.decay": 0.5})


def test_missing_or_invalid_yaml_raises(tmp_path):
    with pytest.raises(ScenarioError, match="does not exist"):
        Scenario.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("utility: [unclosed\n")
    with pytest.raises(ScenarioError):
        Scenario.from_yaml(bad)


def test_dict_with_preset_key_builds_on_that_preset():
    s = Scenario.from_dict({"preset": "daye", "utility.stakes": 0.2})
    assert s == Scenario.preset("daye").with_overrides({"utility.stakes": 0.2})


# --- with_overrides, equality, hashing, immutability -------------------------------------------------------


def test_with_overrides_changes_only_the_given_keys():
    s = Scenario.preset("changxing")
    t = s.with_overrides({"brokers.recklessness": 0.9, "horizon.days": 12})
    assert t.brokers.recklessness == 0.9
    assert t.horizon.days == 12
    changed = {"brokers.recklessness", "horizon.days"}
    for row in TABLE:
        if row["key"] not in changed:
            assert _get(t, row["key"]) == _get(s, row["key"]), row["key"]
    assert t.name == s.name
    # The original is untouched.
    assert s == Scenario.preset("changxing")
    assert s.brokers.recklessness != 0.9


def test_with_overrides_empty_is_equal_and_name_can_change():
    s = Scenario.preset("daye")
    assert s.with_overrides({}) == s
    renamed = s.with_overrides({"name": "mine"})
    assert renamed.name == "mine" and renamed != s


def test_numbers_given_as_strings_or_other_types_are_normalized():
    s = Scenario()
    a = s.with_overrides({"utility.stakes": 1, "horizon.days": 10.0})
    b = s.with_overrides({"utility.stakes": 1.0, "horizon.days": 10})
    c = s.with_overrides({"utility.stakes": "1.0", "horizon.days": "10"})
    assert a == b == c
    assert hash(a) == hash(b) == hash(c)
    assert type(a.horizon.days) is int and type(a.utility.stakes) is float


def test_equal_scenarios_hash_equal_and_work_as_keys():
    a = Scenario.preset("daye").with_overrides({"utility.stakes": 0.3})
    b = Scenario.from_dict(a.to_dict())
    c = Scenario.preset("daye").with_overrides({"utility.stakes": 0.31})
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2
    assert {a: 1}[b] == 1


def test_hash_is_unaffected_by_use_in_an_environment():
    from massbargain import MassBargainEnv

    s = Scenario.preset("daye").with_overrides({"horizon.days": 5})
    before = hash(s)
    env = MassBargainEnv(s)
    env.reset(seed=0)
    env.step(0)
    assert hash(s) == before
    assert s == Scenario.preset("daye").with_overrides({"horizon.days": 5})


def test_scenario_is_frozen():
    s = Scenario.preset("daye")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.brokers.recklessness = 0.1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.brokers = Scenario().brokers  # type: ignore[misc]
    assert s == PRESETS["daye"]


def test_resolve_accepts_every_documented_spec(tmp_path):
    daye = Scenario.preset("daye")
    assert Scenario.resolve(None, base="daye") == daye
    assert Scenario.resolve("daye") == daye
    assert Scenario.resolve(daye) is daye
    assert Scenario.resolve({"utility.stakes": 0.2}, base="daye") == daye.with_overrides({"utility.stakes": 0.2})
    path = tmp_path / "s.yaml"
    daye.to_yaml(path)
    assert Scenario.resolve(path) == daye
    assert Scenario.resolve(str(path)) == daye
    with pytest.raises(ScenarioError):
        Scenario.resolve(3)  # type: ignore[arg-type]
