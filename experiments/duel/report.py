"""What consent is worth against a learning superior: the report across duel directories, its figure, and the
superior's policy by round (for the notebook).

For each duel directory (one preset or mode-map cell):

* the officials' episode modes (none / consent / mobilized), concession, punishment and Pyrrhic rates and
  return, against the scripted superior (the round-1 official, PPO's best response to it) and against the
  last learned superior (the final pool of officials, uniform);
* the best consent and the best mobilized scripted family member against each superior, chosen on
  ``seed + 1_000_000`` and reported on ``seed`` (paired): the consent-minus-mobilized return gap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.actions import Response
from massbargain.experiments.duel.train import DuelConfig, cell_figures, load_pools, play
from massbargain.superior import SUPERIOR_OBSERVATION_FIELDS, observe_view

__all__ = ["WHAT", "concession_by_state", "duel_answer", "write_report"]

WHAT = "duel report"
_CONCESSIONS = [int(Response.SUSPEND), int(Response.PARTIAL), int(Response.WITHDRAW)]


def _config(duel_dir: Path) -> DuelConfig:
    import yaml

    record = yaml.safe_load((duel_dir / "made_by.yaml").read_text())["config"]
    from massbargain.superior_env import SuperiorReward

    record["reward"] = SuperiorReward(**record["reward"])
    return DuelConfig(**record)


def _label(cfg: DuelConfig) -> str:
    if not cfg.overrides:
        return cfg.scenario
    return cfg.scenario + " " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(cfg.overrides.items()))


def _best_member(members: list[Any], superior: Any, scenario: Any, episodes: int, seed: int, reward: Any) -> Any:
    scores = [play(m, superior, scenario, episodes, seed, reward).returns.mean() for m in members]
    return members[int(np.argmax(scores))]


def duel_answer(duel_dir: str | Path, episodes: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The figures of one duel directory (see the module docstring)."""
    from massbargain.agents.families import CHOICE_SEED_OFFSET, FAMILIES

    duel_dir = Path(duel_dir)
    cfg = _config(duel_dir)
    scenario = cfg.scenario_object()
    pools = load_pools(duel_dir, cfg.rounds)
    scripted, learned = pools.superiors[0], pools.superiors[-1]
    out: dict[str, Any] = {"label": _label(cfg), "dir": duel_dir.name, "learned": pools.superior_names[-1]}
    out["ppo_vs_scripted"] = cell_figures(play(pools.officials[0], scripted, scenario, episodes, seed, cfg.reward))
    per_official = [cell_figures(play(o, learned, scenario, episodes, seed, cfg.reward)) for o in pools.officials]
    out["pool_vs_learned"] = {k: float(np.mean([f[k] for f in per_official])) for k in per_official[0]}
    days = scenario.horizon.days
    consent = list(FAMILIES["consent"].members(days))
    mobilize = list(FAMILIES["mobilize"].members(days))
    choose = seed + CHOICE_SEED_OFFSET
    for name, superior in (("scripted", scripted), ("learned", learned)):
        c = _best_member(consent, superior, scenario, episodes, choose, cfg.reward)
        m = _best_member(mobilize, superior, scenario, episodes, choose, cfg.reward)
        bc = play(c, superior, scenario, episodes, seed, cfg.reward)
        bm = play(m, superior, scenario, episodes, seed, cfg.reward)
        gap = bc.returns - bm.returns
        out[f"families_vs_{name}"] = {
            "consent_member": c.name,
            "mobilized_member": m.name,
            "consent": cell_figures(bc),
            "mobilized": cell_figures(bm),
            "gap": float(gap.mean()),
            "gap_ci95": float(1.96 * gap.std(ddof=1) / np.sqrt(gap.size)),
        }
    return out


def _markdown(answers: list[dict[str, Any]], episodes: int, seed: int) -> str:
    lines = [
        "# Does consent still beat mobilization against a learning superior?",
        "",
        f"{episodes} episodes per figure, report seed {seed}; scripted members chosen on seed {seed} + 1000000.",
        "",
        "## PPO officials: modes and outcomes",
        "",
        "Against the scripted superior: the round-1 official (PPO's best response to it). Against the learned "
        "superior: the final pool of officials (uniform) against the last learned superior. Modes: none / "
        "consent / mobilized shares of episodes; rates: concession / punishment / Pyrrhic.",
        "",
        "| scenario | superior | official return | modes n/c/m | conc. / pun. / Pyrrhic | superior return |",
        "|---|---|---|---|---|---|",
    ]
    for a in answers:
        for who, key in (("scripted", "ppo_vs_scripted"), (a["learned"], "pool_vs_learned")):
            f = a[key]
            lines.append(
                f"| {a['label']} | {who} | {f['official']:+.3f} | "
                f"{f['none_share']:.2f} / {f['consent_share']:.2f} / {f['mobilized_share']:.2f} | "
                f"{f['concession_rate']:.2f} / {f['punishment_rate']:.2f} / {f['pyrrhic_rate']:.2f} | "
                f"{f['superior']:+.3f} |"
            )
    lines += [
        "",
        "## Best consent vs best mobilized scripted member",
        "",
        "Gap = consent's return minus mobilization's, paired on the same episodes (± 95%).",
        "",
        "| scenario | superior | consent return | mobilized return | gap | conc. c / m | pun. c / m |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in answers:
        for who in ("scripted", "learned"):
            f = a[f"families_vs_{who}"]
            c, m = f["consent"], f["mobilized"]
            name = "scripted" if who == "scripted" else a["learned"]
            lines.append(
                f"| {a['label']} | {name} | {c['official']:+.3f} | {m['official']:+.3f} | "
                f"{f['gap']:+.3f} ± {f['gap_ci95']:.3f} | {c['concession_rate']:.2f} / {m['concession_rate']:.2f} | "
                f"{c['punishment_rate']:.2f} / {m['punishment_rate']:.2f} |"
            )
    lines += ["", "Members chosen:", ""]
    for a in answers:
        for who in ("scripted", "learned"):
            f = a[f"families_vs_{who}"]
            lines.append(f"- {a['label']}, vs {who}: `{f['consent_member']}` / `{f['mobilized_member']}`")
    return "\n".join(lines) + "\n"


def _figure(answers: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [a["label"] for a in answers]
    x = np.arange(len(answers))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.38
    for k, key in enumerate(("ppo_vs_scripted", "pool_vs_learned")):
        bottom = np.zeros(len(answers))
        for mode, color in (("none", "#bbbbbb"), ("consent", "#4c72b0"), ("mobilized", "#dd8452")):
            share = np.array([a[key][f"{mode}_share"] for a in answers])
            left.bar(x + (k - 0.5) * width, share, width, bottom=bottom, color=color, edgecolor="white",
                     label=mode if k == 0 else None, hatch="" if k == 0 else "//")  # fmt: skip
            bottom += share
    left.set_xticks(x, labels, rotation=20, ha="right")
    left.set_ylabel("share of episodes")
    left.set_title("PPO officials' modes (plain: vs scripted; hatched: vs learned)", fontsize=10)
    left.legend(fontsize=8)
    for k, (who, color) in enumerate((("scripted", "#777777"), ("learned", "#c44e52"))):
        gap = [a[f"families_vs_{who}"]["gap"] for a in answers]
        ci = [a[f"families_vs_{who}"]["gap_ci95"] for a in answers]
        right.bar(x + (k - 0.5) * width, gap, width, yerr=ci, color=color, label=f"vs {who} superior", capsize=3)
    right.axhline(0.0, color="black", linewidth=0.8)
    right.set_xticks(x, labels, rotation=20, ha="right")
    right.set_ylabel("return: best consent − best mobilized")
    right.set_title("What consent is worth over mobilization")
    right.legend(fontsize=8)
    fig.tight_layout()
    import io

    from massbargain.agents.outdir import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_report(duels: list[str | Path], out: str | Path, episodes: int = 1000, seed: int = 0) -> str:
    """Measure every duel directory and write ``report.json``, ``report.md`` and ``report.png`` to ``out``."""
    from massbargain.agents.outdir import atomic_write_text

    out = Path(out)
    answers = [duel_answer(d, episodes, seed) for d in duels]
    atomic_write_text(out / "report.json", json.dumps(answers, indent=1))
    text = _markdown(answers, episodes, seed)
    atomic_write_text(out / "report.md", text)
    _figure(answers, out / "report.png")
    return text


class _Recorder:
    """A superior that answers as ``inner`` and records what it saw and its concession probability."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.obs, self.concede = inner, [], []

    def respond(self, view: Any, params: Any, uniform: Any) -> Any:
        self.obs.append(observe_view(view))
        self.concede.append(self.inner.probs(view)[:, _CONCESSIONS].sum(axis=1))
        return self.inner.respond(view, params, uniform)


def concession_by_state(duel_dir: str | Path, episodes: int = 300, seed: int = 0, bins: int = 4) -> Any:
    """How each learned superior's concession probability depends on the crowd and its evidence.

    Every learned superior of the duel meets the final pool of officials; each day it faced is recorded with
    the probability it gave to the three concessions. Returns a pandas DataFrame with one row per superior,
    crowd bin and evidence bin (quantile bins of the days seen): ``superior``, ``round``, ``crowd``,
    ``evidence`` (bin means), ``concession_probability`` (mean) and ``days``.
    """
    import pandas as pd

    duel_dir = Path(duel_dir)
    cfg = _config(duel_dir)
    scenario = cfg.scenario_object()
    pools = load_pools(duel_dir, cfg.rounds)
    frames = []
    crowd_i = SUPERIOR_OBSERVATION_FIELDS.index("crowd")
    evidence_i = SUPERIOR_OBSERVATION_FIELDS.index("evidence")
    for r, (name, superior) in enumerate(zip(pools.superior_names[1:], pools.superiors[1:], strict=True), start=1):
        rows = []
        for official in pools.officials:
            rec = _Recorder(superior)
            play(official, rec, scenario, episodes, seed, cfg.reward)
            obs, p = np.concatenate(rec.obs), np.concatenate(rec.concede)
            rows.append(pd.DataFrame({"crowd": obs[:, crowd_i], "evidence": obs[:, evidence_i], "p": p}))
        df = pd.concat(rows, ignore_index=True)
        df["crowd_bin"] = pd.qcut(df["crowd"].rank(method="first"), bins, labels=False)
        df["evidence_bin"] = pd.qcut(df["evidence"].rank(method="first"), bins, labels=False)
        g = df.groupby(["crowd_bin", "evidence_bin"]).agg(
            crowd=("crowd", "mean"), evidence=("evidence", "mean"), concession_probability=("p", "mean"),
            days=("p", "size"),
        ).reset_index()  # fmt: skip
        g.insert(0, "round", r)
        g.insert(0, "superior", name)
        frames.append(g)
    return pd.concat(frames, ignore_index=True)
