"""The analysis tables, policy surfaces and plots: columns and dtypes as documented, shares that sum to
one, agreement with ``run_episodes``, surfaces of scripted rules that match the rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from massbargain import ACTION_MODE, OBS_INDEX, OBSERVATION_FIELDS, Action, Mode, Outcome, Scenario, episode_mode
from massbargain.agents.baselines import BASELINES, RulePolicy
from massbargain.experiments import analysis as an
from massbargain.experiments.analysis import plots
from massbargain.rollout import run_episodes

_I = OBS_INDEX


class SoftAgent:
    """A stochastic stand-in for a trained agent: softmax of a fixed linear map, with ``probs``."""

    name = "soft"

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0.0, 3.0, (len(OBSERVATION_FIELDS), len(Action)))
        self.w[:, Action.ACCEPT] = -5.0  # keep episodes going
        self.seen: list[np.ndarray] = []

    def probs(self, obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(np.asarray(obs, dtype=np.float64))
        self.seen.append(obs)
        z = obs @ self.w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return np.argmax(self.probs(obs), axis=1)


class CountingPolicy:
    """Stateful: WAIT on its first call after reset(), PETITION afterwards."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0
        self.resets = 0

    def reset(self) -> None:
        self.calls = 0
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.full(np.atleast_2d(obs).shape[0], Action.WAIT if self.calls == 1 else Action.PETITION)


@pytest.fixture(scope="module")
def consent_steps() -> pd.DataFrame:
    return an.rollouts("consent", "changxing", episodes=300, seed=3, probabilities=True)


@pytest.fixture(scope="module")
def mixed_steps() -> pd.DataFrame:
    frames = [an.rollouts(name, "daye", episodes=200, seed=1) for name in ("consent", "mobilize", "petition", "random")]
    return pd.concat(frames, ignore_index=True)


# --- rollouts ---------------------------------------------------------------------------------------


def test_rollout_columns_and_dtypes(consent_steps: pd.DataFrame) -> None:
    df = consent_steps
    assert list(df.columns[:4]) == ["policy", "scenario", "episode", "day"]
    assert df["policy"].dtype == "str" and df["scenario"].dtype == "str"
    assert df["episode"].dtype == np.int64 and df["day"].dtype == np.int64
    for field in OBSERVATION_FIELDS:
        assert df[field].dtype == np.float32, field
    for col in an.HIDDEN_FIELDS:
        assert df[col].dtype == np.float64, col
    for col, dtype in {
        "action": an.ACTION_DTYPE,
        "mode": an.MODE_DTYPE,
        "superior_response": an.RESPONSE_DTYPE,
        "outcome": an.OUTCOME_DTYPE,
        "end_reason": an.END_REASON_DTYPE,
        "severity": an.SEVERITY_DTYPE,
        "punished": an.SEVERITY_DTYPE,
    }.items():
        assert df[col].dtype == dtype, col
    assert list(df["action"].cat.categories) == [a.name for a in Action]
    assert df["reward"].dtype == np.float64
    assert df["triggered"].dtype == bool and df["terminated"].dtype == bool
    for col in an.PROB_COLUMNS:
        assert df[col].dtype == np.float64
    for field in an.AFTER_FIELDS:
        assert f"{field}_after" in df.columns
    assert df["evidence_after"].dtype == np.float64 and df["crowd_after"].dtype == np.float32
    assert (df["policy"] == "consent").all() and (df["scenario"] == "changxing").all()


def test_one_row_per_running_day(consent_steps: pd.DataFrame) -> None:
    df = consent_steps
    assert sorted(df["episode"].unique()) == list(range(300))
    for _, ep in df.groupby("episode"):
        days = ep["day"].to_numpy()
        assert list(days) == list(range(1, len(ep) + 1))
        assert ep["terminated"].to_numpy().nonzero()[0].tolist() == [len(ep) - 1]
        assert (ep["outcome"].iloc[:-1] == "NONE").all() and ep["outcome"].iloc[-1] != "NONE"
        assert (ep["end_reason"].iloc[:-1] == "NONE").all() and ep["end_reason"].iloc[-1] != "NONE"
    # the observation each row holds is the one the policy acted on
    rule = BASELINES["consent"]
    replay = rule.act(df[list(OBSERVATION_FIELDS)].to_numpy())
    np.testing.assert_array_equal(replay, df["action"].cat.codes.to_numpy())
    np.testing.assert_allclose(df["time_used"], (df["day"] - 1) / 30, atol=1e-6)


def test_mode_is_the_actions_mode(mixed_steps: pd.DataFrame) -> None:
    expected = [ACTION_MODE[Action[a]].name for a in mixed_steps["action"].astype(str)]
    assert mixed_steps["mode"].astype(str).tolist() == expected


def test_probabilities_of_a_scripted_policy_are_one_hot(consent_steps: pd.DataFrame) -> None:
    p = consent_steps[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p.argmax(axis=1), consent_steps["action"].cat.codes)
    assert set(np.unique(p)) <= {0.0, 1.0}


@pytest.mark.parametrize("policy, preset", [("consent", "changxing"), ("mobilize", "daye"), ("petition", "baseline")])
def test_rollouts_agree_with_run_episodes(policy: str, preset: str) -> None:
    steps = an.rollouts(policy, preset, episodes=400, seed=11)
    summary = an.episode_summary(steps)
    batch = run_episodes(BASELINES[policy], Scenario.preset(preset), episodes=400, seed=11)
    np.testing.assert_allclose(summary["return"], batch.returns)
    np.testing.assert_array_equal(summary["length"], batch.length)
    np.testing.assert_array_equal(summary["outcome"].cat.codes, batch.outcome)
    np.testing.assert_array_equal(summary["end_reason"].cat.codes, batch.end_reason)
    np.testing.assert_array_equal(summary["severity"].cat.codes, batch.severity)
    np.testing.assert_array_equal(summary["triggers"], batch.triggers)
    np.testing.assert_allclose(summary["peak_crowd"], batch.peak_crowd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(summary["peak_disorder"], batch.peak_disorder, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(summary["final_evidence"], batch.evidence)
    np.testing.assert_allclose(summary["recklessness"], batch.recklessness)
    assert summary["mode"].astype(str).tolist() == [Mode(m).name for m in batch.mode]
    np.testing.assert_array_equal(summary[[f"n_{a.name.lower()}" for a in Action]].to_numpy(), batch.action_counts)
    rates = an.outcome_rates(steps)
    expected = batch.summary()
    for key in ("mean_return", "concession_rate", "punishment_rate", "mean_length", "partial_rate", "imposed_rate"):
        assert rates.loc["all", key] == pytest.approx(expected[key]), key


def test_rollouts_are_deterministic_for_a_seed() -> None:
    a = an.rollouts("random", "baseline", episodes=50, seed=5)  # the shared RandomPolicy's stream moves on
    agent = SoftAgent()
    b1 = an.rollouts(agent, "daye", episodes=60, seed=5, sample=True)
    b2 = an.rollouts(agent, "daye", episodes=60, seed=5, sample=True)
    pd.testing.assert_frame_equal(b1, b2)
    b3 = an.rollouts(agent, "daye", episodes=60, seed=6, sample=True)
    assert not b1["reward"].equals(b3["reward"]) or len(b1) != len(b3)
    c1 = an.rollouts("consent", "baseline", episodes=40, seed=9)
    c2 = an.rollouts("consent", "baseline", episodes=40, seed=9)
    pd.testing.assert_frame_equal(c1, c2)
    assert len(a) > 50


def test_sampling_follows_the_probabilities() -> None:
    agent = SoftAgent(seed=2)
    df = an.rollouts(agent, "baseline", episodes=400, seed=0, sample=True, max_days=3)
    p = df[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # mean probability of each action vs how often it was drawn
    drawn = np.bincount(df["action"].cat.codes, minlength=len(Action)) / len(df)
    np.testing.assert_allclose(drawn, p.mean(axis=0), atol=0.03)
    greedy = an.rollouts(agent, "baseline", episodes=50, seed=0, probabilities=True, max_days=2)
    np.testing.assert_array_equal(greedy[list(an.PROB_COLUMNS)].to_numpy().argmax(axis=1), greedy["action"].cat.codes)


def test_reset_is_called_and_max_days() -> None:
    policy = CountingPolicy()
    df = an.rollouts(policy, "baseline", episodes=5, seed=0, max_days=4)
    assert policy.resets == 1
    assert df.groupby("episode")["day"].max().tolist() == [4] * 5
    assert (df.loc[df["day"] == 1, "action"] == "WAIT").all()
    assert (df.loc[df["day"] > 1, "action"] == "PETITION").all()
    an.rollouts(policy, "baseline", episodes=5, seed=0, max_days=2)
    assert policy.resets == 2


def test_policy_arguments() -> None:
    assert an.as_policy("consent") is BASELINES["consent"]
    assert an.policy_name(BASELINES["mobilize"]) == "mobilize"
    with pytest.raises(ValueError, match="neither a run directory nor a baseline"):
        an.rollouts("no-such-policy")
    with pytest.raises(TypeError, match="act"):
        an.rollouts(object())
    with pytest.raises(ValueError, match="probs"):
        an.rollouts("consent", sample=True)
    with pytest.raises(ValueError, match="episodes"):
        an.rollouts("consent", episodes=0)
    df = an.rollouts("consent", {"utility.stakes": 0.3}, episodes=3, seed=0, name="mine")
    assert (df["policy"] == "mine").all()
    np.testing.assert_allclose(df["stakes"], 0.3)


# --- tables -----------------------------------------------------------------------------------------


def test_episode_summary(mixed_steps: pd.DataFrame) -> None:
    s = an.episode_summary(mixed_steps)
    assert len(s) == 4 * 200
    assert s["length"].dtype == np.int64 and s["return"].dtype == np.float64
    assert s["mode"].dtype == an.EPISODE_MODE_DTYPE and s["mode"].cat.ordered
    assert s["conceded"].dtype == bool and s["punished"].dtype == bool
    assert an.episode_summary(s) is s
    for (policy, episode), ep in mixed_steps.groupby(["policy", "episode"]):
        row = s[(s["policy"] == policy) & (s["episode"] == episode)].iloc[0]
        assert row["mode"] == episode_mode(ep["action"].cat.codes.to_numpy()).name
        assert row["return"] == pytest.approx(ep["reward"].sum())
        if episode > 20:
            break
    assert (s.loc[s["policy"] == "mobilize", "mode"] == "MOBILIZED").all()
    assert (s.loc[s["policy"] == "petition", "mode"] == "OFFICIAL_CHANNEL").all()


@pytest.mark.parametrize("level", ["step", "episode"])
def test_mode_shares_sum_to_one(mixed_steps: pd.DataFrame, level: str) -> None:
    overall = an.mode_shares(mixed_steps, level=level)
    assert list(overall.index) == ["all"]
    by_policy = an.mode_shares(mixed_steps, "policy", level=level)
    binned = an.mode_shares(mixed_steps, "policy", level=level, bins={"recklessness": 3})
    for table in (overall, by_policy, binned):
        np.testing.assert_allclose(table.sum(axis=1), 1.0)
        assert (table.to_numpy() >= 0).all()
    expected = list(an.MODE_DTYPE.categories if level == "step" else an.EPISODE_MODE_DTYPE.categories)
    assert list(by_policy.columns) == expected
    assert sorted(by_policy.index) == ["consent", "mobilize", "petition", "random"]
    assert binned.index.names == ["policy", "recklessness"]
    if level == "step":
        assert by_policy.loc["petition", "OFFICIAL_CHANNEL"] == 1.0
        counts = (mixed_steps["mode"] == "CONSENT").groupby(mixed_steps["policy"]).mean()
        np.testing.assert_allclose(by_policy["CONSENT"], counts.reindex(by_policy.index))
    else:
        assert by_policy.loc["mobilize", "MOBILIZED"] == 1.0
    with pytest.raises(ValueError, match="level"):
        an.mode_shares(mixed_steps, level="day")
    with pytest.raises(KeyError, match="no column"):
        an.mode_shares(mixed_steps, "nope")


def test_action_shares_and_outcome_rates(mixed_steps: pd.DataFrame) -> None:
    shares = an.action_shares(mixed_steps, "policy", bins={"day": [0, 5, 30]})
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert list(shares.columns) == [a.name for a in Action]
    rates = an.outcome_rates(mixed_steps, "policy")
    assert list(rates.index) == ["consent", "mobilize", "petition", "random"]
    outcome_cols = [f"{o.name.lower()}_rate" for o in Outcome if o != Outcome.NONE]
    np.testing.assert_allclose(rates[outcome_cols].sum(axis=1), 1.0)
    np.testing.assert_allclose(rates["concession_rate"], 1.0 - rates["imposed_rate"])
    assert (rates["episodes"] == 200).all() and rates["episodes"].dtype == np.int64
    by_mode = an.outcome_rates(an.episode_summary(mixed_steps), ["policy", "mode"])
    assert by_mode["episodes"].sum() == 800
    binned = an.outcome_rates(mixed_steps, bins={"recklessness": [0.0, 0.5, 1.0]})
    assert binned["episodes"].sum() == 800 and len(binned) <= 2


def test_action_by_state_matches_a_rule() -> None:
    # LEAK in the first six days (time_used < 0.2), WAIT afterwards; crowd bins must not matter.
    rule = RulePolicy("early-leak", lambda o: np.where(o[:, _I["time_used"]] < 0.19, Action.LEAK, Action.WAIT), "")
    df = an.rollouts(rule, "changxing", episodes=100, seed=0)
    table = an.action_by_state(df, x="crowd", y="time_used", bins=(3, [0.0, 0.19, 1.0]))
    assert table.shape == (2, 3)
    late, early = table.index  # highest bin on top
    assert late.left == pytest.approx(0.19) and early.right == pytest.approx(0.19)
    assert set(table.loc[early].dropna()) == {"LEAK"}
    assert set(table.loc[late].dropna()) == {"WAIT"}
    full = an.action_shares(df, by=["time_used"], bins={"time_used": [0.0, 0.19, 1.0]})
    assert full.iloc[0]["LEAK"] == 1.0 and full.iloc[1]["WAIT"] == 1.0


def test_compare() -> None:
    table = an.compare({"c": "consent", "p": BASELINES["petition"]}, "changxing", episodes=100, seed=0)
    assert list(table.index) == ["c", "p"]
    assert table.loc["c", "concession_rate"] > table.loc["p", "concession_rate"]


# --- policy surfaces --------------------------------------------------------------------------------


def test_surface_of_a_scripted_policy_matches_its_rule() -> None:
    fixed = {"police_tolerant": 1.0, "police_normal": 0.0, "police_firm": 0.0}
    s = an.policy_surface("consent", x="informed", y="radical_share", fixed=fixed, scenario="changxing", resolution=21)
    assert len(s) == 21 * 21 and s.attrs["x"] == "informed" and s.attrs["y"] == "radical_share"
    assert s["action"].dtype == an.ACTION_DTYPE
    p = s[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    radical, informed = s["radical_share"].to_numpy(np.float32), s["informed"].to_numpy(np.float32)  # as seen
    expected = np.where(radical > 0.3, Action.PACIFY, np.where(informed < 0.5, Action.LEAK, Action.PETITION))
    np.testing.assert_array_equal(s["action"].cat.codes, expected)
    np.testing.assert_array_equal(p.argmax(axis=1), expected)
    # without a tolerant police the rule orders TOLERATE wherever the crowd is calm
    s2 = an.policy_surface("consent", x="informed", y="radical_share", resolution=11)
    calm = s2["radical_share"].to_numpy(np.float32) <= 0.3
    assert (s2.loc[calm, "action"] == "TOLERATE").all() and (s2.loc[~calm, "action"] == "PACIFY").all()
    # mobilize: MOBILIZE below broker activity 0.5, PETITION above, whatever the crowd
    s3 = an.policy_surface("mobilize", x="crowd", y="broker_activity", resolution=(5, 9))
    assert len(s3) == 45
    expected3 = np.where(s3["broker_activity"].to_numpy(np.float32) < 0.5, Action.MOBILIZE, Action.PETITION)
    np.testing.assert_array_equal(s3["action"].cat.codes, expected3)


def test_surface_of_a_stochastic_agent() -> None:
    agent = SoftAgent(seed=4)
    s = an.policy_surface(agent, x="crowd", y="legitimacy", fixed={"stakes": 0.9}, resolution=7, y_range=(0.2, 0.8))
    p = s[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p > 0).all() and (p < 1).all()
    np.testing.assert_array_equal(s["action"].cat.codes, p.argmax(axis=1))
    seen = agent.seen[-1]
    assert seen.shape == (49, len(OBSERVATION_FIELDS))
    np.testing.assert_allclose(seen[:, _I["stakes"]], 0.9, rtol=1e-6)
    np.testing.assert_allclose(sorted(set(np.round(seen[:, _I["legitimacy"]], 6))), np.linspace(0.2, 0.8, 7), atol=1e-6)
    other = [i for i in range(len(OBSERVATION_FIELDS)) if i not in (_I["crowd"], _I["legitimacy"], _I["stakes"])]
    assert (seen[:, other] == seen[0, other]).all()
    np.testing.assert_allclose(an.action_probabilities(agent, seen[0]), agent.probs(seen[:1])[0])


def test_surface_from_a_visited_state(consent_steps: pd.DataFrame) -> None:
    agent = SoftAgent(seed=1)
    row = consent_steps.iloc[7]
    s = an.policy_surface(agent, x="crowd", y="informed", base=row, fixed={"warnings": 0.2}, resolution=3)
    seen = agent.seen[-1]
    expected = row[list(OBSERVATION_FIELDS)].to_numpy(np.float32)
    for field in OBSERVATION_FIELDS:
        if field not in ("crowd", "informed", "warnings"):
            assert (seen[:, _I[field]] == expected[_I[field]]).all(), field
    np.testing.assert_allclose(seen[:, _I["warnings"]], 0.2, rtol=1e-6)
    assert len(s) == 9
    with pytest.raises(ValueError, match="one row"):
        an.policy_surface(agent, base=consent_steps.iloc[:2])


def test_surface_errors() -> None:
    with pytest.raises(KeyError, match="not an observed field"):
        an.policy_surface("consent", x="recklessness")
    with pytest.raises(KeyError, match="not an observed field"):
        an.policy_surface("consent", fixed={"mood": 0.0})
    with pytest.raises(ValueError, match="different"):
        an.policy_surface("consent", x="crowd", y="crowd")


# --- learning curves --------------------------------------------------------------------------------


def _fake_run(tmp: Path) -> Path:
    run = tmp / "run-a"
    (run / "monitor").mkdir(parents=True)
    header = "#" + json.dumps({"t_start": 0.0, "env_id": "MassBargain-v1"}) + "\n"
    rows = "r,l,t\n" + "".join(f"{0.01 * i},{10 + i % 5},{0.5 * i}\n" for i in range(40))
    (run / "monitor" / "0.monitor.csv").write_text(header + rows)
    (run / "metrics.json").write_text(json.dumps({"history": [{"timesteps": 100, "mean_return": 0.1}]}))
    return run


def test_learning_curves_from_monitor_and_tensorboard(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    curves = an.learning_curves(run)
    mon = curves[curves["tag"] == "monitor/episode_return"]
    assert len(mon) == 40 and (np.diff(mon["step"]) > 0).all()
    assert mon["step"].iloc[-1] == sum(10 + i % 5 for i in range(40))
    assert curves["step"].dtype == np.int64 and curves["value"].dtype == np.float64
    assert set(curves["source"]) == {"monitor", "metrics"}
    evals = curves[curves["tag"] == "metrics/mean_return"]
    assert evals["step"].tolist() == [100] and evals["value"].tolist() == [0.1]

    tb = pytest.importorskip("torch.utils.tensorboard")
    writer = tb.SummaryWriter(log_dir=str(run / "tb" / "PPO_1"))
    for step in range(0, 5000, 1000):
        writer.add_scalar("rollout/ep_rew_mean", step / 10000, step)
    writer.close()
    curves = an.learning_curves([run], tags=["rollout/ep_rew_mean"])
    assert curves["step"].tolist() == [0, 1000, 2000, 3000, 4000]
    assert set(curves["source"]) == {"tensorboard"} and set(curves["run"]) == {"run-a"}
    fig = plots.plot_learning_curves(run)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_ylabel() == "rollout/ep_rew_mean"


def test_learning_curves_need_logs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no TensorBoard"):
        an.learning_curves(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        an.learning_curves(tmp_path / "missing")


# --- a trained agent from its run directory -------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("stable_baselines3")
    from massbargain.agents.config import TrainConfig
    from massbargain.agents.train import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig.default().replace(
        scenario="changxing",
        timesteps=2048,
        n_envs=4,
        n_steps=256,
        n_epochs=2,
        eval_freq=1024,
        eval_episodes=50,
        checkpoint_freq=10**9,
        progress_bar=False,
        out=str(out),
    )
    return train(config, log=None)


def test_a_run_directory_is_a_policy(run_dir: Path) -> None:
    steps = an.rollouts(run_dir, "changxing", episodes=40, seed=0, probabilities=True)
    assert (steps["policy"] == run_dir.name).all()
    p = steps[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert (p > 0).all()  # a softmax policy
    codes = steps["action"].cat.codes.to_numpy()
    # a loaded agent samples by default (reproducibly: rollouts resets its generator), so every action
    # it took had a positive probability, and not always the most probable one
    assert (p[np.arange(len(p)), codes] > 0).all()
    from massbargain.agents.loading import load_agent

    greedy = an.rollouts(load_agent(run_dir, deterministic=True), "changxing", episodes=40, seed=0, probabilities=True)
    g = greedy[list(an.PROB_COLUMNS)].to_numpy()
    np.testing.assert_array_equal(g.argmax(axis=1), greedy["action"].cat.codes)  # deterministic=True is greedy
    again = an.rollouts(str(run_dir), "changxing", episodes=40, seed=0, probabilities=True)
    pd.testing.assert_frame_equal(steps, again)
    sampled = an.rollouts(run_dir, "changxing", episodes=40, seed=0, sample=True)
    pd.testing.assert_frame_equal(sampled, an.rollouts(run_dir, "changxing", episodes=40, seed=0, sample=True))


def test_surface_of_a_trained_agent(run_dir: Path) -> None:
    s = an.policy_surface(run_dir, x="crowd", y="radical_share", scenario="changxing", resolution=9)
    p = s[list(an.PROB_COLUMNS)].to_numpy()
    assert p.shape == (81, len(Action))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert s.attrs["policy"] == run_dir.name
    assert isinstance(plots.plot_policy_surface(s, "all"), Figure)


def test_learning_curves_of_a_run(run_dir: Path) -> None:
    curves = an.learning_curves(run_dir)
    tags = set(curves["tag"])
    assert {"rollout/ep_rew_mean", "eval/mean_return", "metrics/mean_return"} <= tags
    evals = curves[curves["tag"] == "metrics/mean_return"]
    assert evals["step"].tolist() == sorted(evals["step"]) and evals["step"].iloc[-1] >= 2048
    fig = plots.plot_learning_curves([run_dir], "eval/mean_return")
    assert fig.axes[0].get_ylabel() == "eval/mean_return"


# --- plots ------------------------------------------------------------------------------------------


def test_plots_return_figures(mixed_steps: pd.DataFrame, tmp_path: Path) -> None:
    surface = an.policy_surface(SoftAgent(), "crowd", "radical_share", resolution=9)
    table = an.outcome_rates(mixed_steps, "policy")
    figures = {
        "timeline": plots.plot_timeline(mixed_steps, episode=2, policy="mobilize"),
        "modes": plots.plot_mode_shares(mixed_steps),
        "modes_step": plots.plot_mode_shares(an.mode_shares(mixed_steps, "policy")),
        "actions": plots.plot_action_shares(mixed_steps),
        "surface": plots.plot_policy_surface(surface),
        "surface_all": plots.plot_policy_surface(surface, "all"),
        "surface_one": plots.plot_policy_surface(surface, "pacify"),
        "by_state": plots.plot_action_by_state(mixed_steps[mixed_steps["policy"] == "random"]),
        "comparison": plots.plot_comparison(table),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        path = plots.save(fig, tmp_path / f"{name}.png")
        assert path.stat().st_size > 5000, name
    timeline = figures["timeline"]
    assert len(timeline.axes) == 3
    ep = mixed_steps[(mixed_steps["policy"] == "mobilize") & (mixed_steps["episode"] == 2)]
    offsets = timeline.axes[1].collections[0].get_offsets()
    np.testing.assert_array_equal(offsets[:, 0], ep["day"])
    np.testing.assert_array_equal(offsets[:, 1], ep["action"].cat.codes)
    assert len(figures["surface_all"].axes) == 8 + 1  # eight panels and a colour bar
    with pytest.raises(ValueError, match="episode 999"):
        plots.plot_timeline(mixed_steps, episode=999)


def test_plots_compose_into_subfigures(consent_steps: pd.DataFrame) -> None:
    fig = Figure(figsize=(12, 8), layout="constrained")
    left, right = fig.subfigures(1, 2)
    assert plots.plot_timeline(consent_steps, 0, fig=left) is fig
    assert plots.plot_mode_shares(consent_steps, level="step", fig=right) is fig
    assert len(fig.axes) == 4
