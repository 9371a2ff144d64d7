"""The mode map's stylized facts and its generated report (``report.md``), read from the map's tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.experiments.maps.mode_map import AXES, MODES, ModeMapConfig

__all__ = ["facts", "report"]


# --- stylized facts 3, 4, 5 by trained agents ------------------------------------------------------------


def facts(cfg: ModeMapConfig, df: Any, cells: Any, scripted: Any) -> list[dict[str, Any]]:
    """Facts 3, 4 and 5 of docs/MODEL.md measured on the trained agents (rows: claim, measured, criterion, holds)."""
    facts = []
    r_lo, r_hi = cfg.recklessness[0], cfg.recklessness[-1]
    s_hi = cfg.stakes[-1]
    mu_daye = min(cfg.monitoring, key=lambda m: abs(m - 0.6))

    # Fact 3: where brokers are reckless, mobilizing is punished and returns less; trained agents avoid it.
    at = cells[(cells.recklessness == r_hi) & (cells.monitoring == mu_daye) & (cells.stakes == s_hi)].iloc[0]
    sc = scripted[(scripted.recklessness == r_hi) & (scripted.monitoring == mu_daye) & (scripted.stakes == s_hi)].iloc[
        0
    ]
    lo = cells[(cells.recklessness == r_lo)]
    hi = cells[(cells.recklessness == r_hi)]
    mob_pun = max(sc["mobilize_punishment"], sc["mobilize_pacify_punishment"])
    mob_ret = max(sc["mobilize_return"], sc["mobilize_pacify_return"])
    ci = max(sc["mobilize_return_ci95"], sc["mobilize_pacify_return_ci95"])
    seed_ci = at["return_seed_ci95"] if np.isfinite(at["return_seed_ci95"]) else 0.0
    holds3 = (
        min(sc["mobilize_punishment"], sc["mobilize_pacify_punishment"]) >= 0.5
        and sc["consent_return"] - sc["consent_return_ci95"] > mob_ret + ci
        and at["mean_return"] + seed_ci >= sc["consent_return"] - sc["consent_return_ci95"]
        and at["mobilized_share"] <= 0.1
    )
    facts.append(
        {
            "fact": 3,
            "claim": "Mobilization backfires with reckless brokers: punishment is common and the return is below "
            "consent's.",
            "measured": f"ρ̄ = {r_hi}, μ = {mu_daye}, S = {s_hi}: mobilizing (scripted mobilize / mobilize_pacify) "
            f"is punished in {_pct(sc['mobilize_punishment'])} / {_pct(sc['mobilize_pacify_punishment'])} and "
            f"returns at best {mob_ret:+.3f}, scripted consent {sc['consent_return']:+.3f}; the trained agents "
            f"mobilize in {_pct(at['mobilized_share'])} of episodes, are punished in {_pct(at['punishment_rate'])} "
            f"and return {at['mean_return']:+.3f} (± {_num(seed_ci)} over seeds). Agents' mobilized share, grid "
            f"mean: ρ̄ = {r_lo}: {_pct(lo['mobilized_share'].mean())}, ρ̄ = {r_hi}: {_pct(hi['mobilized_share'].mean())}",
            "criterion": "both mobilization policies punished ≥ 50% and below consent by more than the intervals; "
            "the agents mobilize in ≤ 10% of episodes there and return at least consent's (within the intervals)",
            "holds": bool(holds3),
            "detail": {"mobilize_punishment": mob_pun},
        }
    )

    # Fact 4: mass pressure rises with stakes; at low stakes no mass pressure.
    by_s = cells.groupby("stakes")[["consent_share", "mobilized_share", "none_share"]].mean()
    mass = (by_s["consent_share"] + by_s["mobilized_share"]).to_numpy()
    low = cells[cells.stakes == cfg.stakes[0]]
    low_none = float((low["mode"] == "none").mean())
    rising = bool(np.all(np.diff(mass) >= -0.02)) and mass[-1] > mass[0]
    holds4 = rising and low_none >= 0.5
    facts.append(
        {
            "fact": 4,
            "claim": "The use of mass pressure rises with stakes; at low stakes the best policy is passive or "
            "official channels.",
            "measured": "share of episodes with mass pressure (consent or mobilized), grid mean: "
            + ", ".join(f"S={s}: {_pct(v)}" for s, v in zip(by_s.index, mass, strict=True))
            + f"; at S = {cfg.stakes[0]} no mass pressure is the agents' dominant mode in {_pct(low_none)} of cells",
            "criterion": "mass-pressure share rising with S (no drop > 2 points) and higher at the top than at the "
            "bottom; at the lowest S no mass pressure dominates in ≥ 50% of cells",
            "holds": bool(holds4),
        }
    )

    # Fact 5: along monitoring, mobilized -> consent -> none (at prudent brokers and middling stakes).
    s5 = min(cfg.stakes, key=lambda s: abs(s - 0.6))
    line = cells[(cells.recklessness == r_lo) & (cells.stakes == s5)].sort_values("monitoring")
    seq = list(line["mode"])
    order = {"mobilized": 0, "consent": 1, "none": 2}
    ranks = [order[m] for m in seq]
    holds5 = all(b >= a for a, b in zip(ranks, ranks[1:], strict=False)) and set(seq) == set(MODES)
    facts.append(
        {
            "fact": 5,
            "claim": "Higher monitoring μ moves the best policy from mobilization to consent, and at very high μ "
            "away from mass pressure altogether.",
            "measured": f"ρ̄ = {r_lo}, S = {s5}: agents' dominant mode "
            + ", ".join(f"μ={m}: {mode}" for m, mode in zip(line["monitoring"], seq, strict=True))
            + "; mobilized share "
            + ", ".join(f"{_pct(v)}" for v in line["mobilized_share"])
            + "; consent share "
            + ", ".join(f"{_pct(v)}" for v in line["consent_share"]),
            "criterion": "along μ the dominant mode runs mobilized → consent → none, each at least once, never back",
            "holds": bool(holds5),
            "partial": all(b >= a for a, b in zip(ranks, ranks[1:], strict=False)),
        }
    )
    return facts


# --- the report ----------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def _num(x: float, fmt: str = ".3f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def _nanmedian(values: Any) -> float:
    """The median of the finite values (NaN when there are none, e.g. one seed per cell)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if finite.size else float("nan")


def _span(values: Sequence[float]) -> str:
    vals = sorted(set(float(v) for v in values))
    if not vals:
        return "nowhere"
    return f"{vals[0]:g}" if len(vals) == 1 else f"{vals[0]:g}–{vals[-1]:g}"


def _region_text(cfg: ModeMapConfig, cells: Any, mode: str) -> str:
    sub = cells[cells["mode"] == mode]
    n = len(cells)
    if sub.empty:
        return f"in none of the {n} cells"
    parts = []
    for s in cfg.stakes:
        at = sub[sub.stakes == s]
        if at.empty:
            continue
        where = "; ".join(f"ρ̄ {r:g} at μ {_span(g['monitoring'])}" for r, g in at.groupby("recklessness") if len(g))
        parts.append(f"S = {s:g}: {len(at)} of {len(cells[cells.stakes == s])} cells ({where})")
    outcome = (
        f"there the agents win a concession in {_pct(sub['concession_rate'].mean())} of episodes, are punished in "
        f"{_pct(sub['punishment_rate'].mean())}, and return {sub['mean_return'].mean():+.3f} on average "
        f"(cell range {sub['mean_return'].min():+.3f} to {sub['mean_return'].max():+.3f})"
    )
    return f"in {len(sub)} of {n} cells — " + "; ".join(parts) + f". {outcome}"


def report(
    cfg: ModeMapConfig,
    df: Any,
    cells: Any,
    check: Any,
    scripted: Any,
    fact_rows: list[dict[str, Any]],
    figures: Sequence[Path],
    seconds: float,
    records: Sequence[Mapping[str, Any]],
    attempts: Any,
    compare: str | Path | None = None,
) -> str:
    """The map's ``report.md``: every number in it is read from the tables passed in."""
    cert = cfg.certification
    cell_t = cfg.train_config("train").timesteps
    cell_secs = [r["metrics"]["train_seconds"] for r in records if r["config"]["kind"] == "cell"]
    n_cells = len(cells)
    counts = cells["mode"].value_counts()
    teacher = cfg.teaching
    if not cfg.warm_start:
        warm = "Each agent starts from SB3's random initialization. "
    elif teacher.planner:
        taught = int((cells["teacher"] == "planner").sum()) if "teacher" in cells else 0
        warm = (
            "Each agent starts from a behaviour-cloned copy of a teacher and PPO improves on it from there "
            "(`massbargain.agents.warm_start`, `massbargain.experiments.maps.teacher`). Where the cell's best "
            f"scripted member is of the consent or mobilized mode ({taught} of {len(cells)} cells), the teacher is "
            f"the honest planner built on that member: {teacher.episodes} of its episodes, on a seed of their own, "
            f"played once per cell ({teacher.particles} screening and {teacher.confirm_particles} confirmation "
            "particles). Elsewhere it is the best member itself (chosen on other episodes than those reported). "
        )
    else:
        warm = (
            "Each agent starts from a behaviour-cloned copy of its cell's best scripted family member (chosen on "
            "other episodes than those reported) and PPO improves on it from there "
            "(`massbargain.agents.warm_start`). "
        )
    lines = [
        "# Mode map: where do trained officials favour consent instability over mobilization?",
        "",
        f"Generated by `massbargain mode-map` from `results.csv` ({len(df)} rows: {n_cells} cells × {cfg.seeds} "
        f"seeds) and `references.csv`. Model v{cfg.version}, scenario `{cfg.scenario}`; grid: broker recklessness "
        f"ρ̄ {list(cfg.recklessness)} × monitoring μ {list(cfg.monitoring)} × stakes S {list(cfg.stakes)}. Every "
        "number below is read from the tables in this folder.",
        "",
        "## Method",
        "",
        f"Per cell and seed (seeds 0–{cfg.seeds - 1}), one PPO agent trained on that cell alone for {cell_t:,} steps "
        f"(mean {np.mean(cell_secs) if cell_secs else float('nan'):.0f} s of training per run). {warm}Its final "
        f"model is evaluated there on {cfg.episodes} episodes (the same episodes for every agent in a cell; agents "
        "sample their actions, as they were trained). A cell's *dominant mode* is the most common episode mode of "
        "its agents: *none* (passive or official channels, including an early ACCEPT), *consent* (leak or "
        "tolerate, no brokers) or *mobilized* (brokers). *Pyrrhic*: an episode with a concession and a "
        "punishment; *riot*: peak disorder at the veto level.",
        "",
        f"**Certification.** Every agent is compared, on {cert.episodes} held-out episodes with common luck, with "
        "its cell's best scripted family member (193 members over all modes, chosen on other episodes)"
        + (
            " and with the honest rollout planner built on "
            + ("that member" if cert.planner_bases == 1 else f"the best members of the {cert.planner_bases} best modes")
            + " and on giving in (it sees only what the agent sees and improves on its base policies by "
            "construction, up to sampling noise)"
            if cert.planner
            else ""
        )
        + f". An agent is certified when its mean return is at least {cert.ratio:.0%} of the better of the two, "
        f"less {cert.tolerance} (near zero a ratio means nothing); a cell when all its seeds are. An agent that is "
        f"not is retrained with another seed and {cert.steps_factor:g}× the steps, up to {cert.retrains} times; "
        "the table keeps each seed's first certified attempt, else its last (`attempts.csv` has them all). "
        f"The whole run took {seconds:.0f} s of wall time (a resumed run counts only the resumed part).",
        "",
        "## Answer",
        "",
        f"Dominant modes over the {n_cells} cells: none {counts.get('none', 0)}, consent {counts.get('consent', 0)}, "
        f"mobilized {counts.get('mobilized', 0)}.",
        "",
        f"- **No mass pressure pays** {_region_text(cfg, cells, 'none')}.",
        f"- **Consent instability dominates** {_region_text(cfg, cells, 'consent')}.",
        f"- **Mobilization dominates** {_region_text(cfg, cells, 'mobilized')}.",
        "",
        *_pyrrhic_lines(cells),
        *_beside_lines(cells, cfg),
        *_certification_lines(cells, df, attempts, cert, cfg),
        "## How confident",
        "",
        f"- Seeds agree on a cell's dominant mode in {_pct(float((cells['mode_agreement'] == 1).mean()))} of cells "
        f"(all {cfg.seeds} seeds the same); mean agreement {_pct(cells['mode_agreement'].mean())}.",
        f"- Return interval over seeds: median ± {_num(_nanmedian(cells['return_seed_ci95']))}; episode "
        f"interval per (cell, seed): median ± {_num(float(df['return_ci95'].median()))}.",
        f"- Margin of the dominant mode (its share minus the runner-up's): median "
        f"{_pct(float(np.median(_margins(cells))))}; cells decided by less than 20 points: "
        f"{int((_margins(cells) < 0.2).sum())} of {n_cells}.",
    ]
    cons = cells[cells["mode"] == "consent"]
    if not cons.empty:
        lines.append(
            f"- Where consent dominates, the agents spend {_pct(cons['days_leak'].mean())} of their days leaking, "
            f"{_pct(cons['days_tolerate'].mean())} tolerating, {_pct(cons['days_petition'].mean())} petitioning "
            f"and {_pct(cons['days_wait'].mean())} waiting; they end {_pct(cells['accept_rate'].mean())} of "
            "episodes with ACCEPT over the grid."
        )
    if not check.empty:
        same = check["per_cell_mode"] == check["fast_mode"]
        lines.append(
            f"- Fast mode against per-cell training (`check.csv`): the dominant mode agrees in {int(same.sum())} of "
            f"{len(check)} cells; return gap (fast − per-cell) mean {check['return_gap'].mean():+.3f}."
        )
    lines += [
        "",
        "## Stylized facts 3, 4 and 5 by trained agents",
        "",
        "| # | claim | measured | criterion | holds |",
        "|---|---|---|---|---|",
    ]
    for f in fact_rows:
        holds = "yes" if f["holds"] else "no"
        lines.append(f"| {f['fact']} | {f['claim']} | {f['measured']} | {f['criterion']} | {holds} |")
    if compare is not None:
        lines += ["", *compare_lines(cells, compare)]
    lines += [
        "",
        "## Figures",
        "",
        *[f"- [{p.name}]({p.name})" for p in figures],
        "",
        "![mode map](mode_map.png)",
        "",
    ]
    return "\n".join(lines)


def _pyrrhic_lines(cells: Any) -> list[str]:
    """Where winning costs the official: Pyrrhic episodes by region and the cells where they are common."""
    lines = ["**Where winning costs the official.**"]
    parts = []
    for mode in MODES:
        sub = cells[cells["mode"] == mode]
        if len(sub):
            parts.append(
                f"{mode} cells: Pyrrhic {_pct(sub['pyrrhic_rate'].mean())} of episodes (cell range "
                f"{_pct(sub['pyrrhic_rate'].min())}–{_pct(sub['pyrrhic_rate'].max())}), riot "
                f"{_pct(sub['riot_rate'].mean())}"
            )
    lines[0] += " " + "; ".join(parts) + "."
    costly = cells[cells["pyrrhic_rate"] >= 0.05]
    if len(costly):
        lines[0] += (
            f" In {len(costly)} of {len(cells)} cells at least 5% of episodes are Pyrrhic: "
            + "; ".join(
                f"ρ̄ {r.recklessness:g}, μ {r.monitoring:g}, S {r.stakes:g} ({r['mode']}, {_pct(r.pyrrhic_rate)})"
                for _, r in costly.iterrows()
            )
            + "."
        )
    return [*lines, ""]


def _beside_lines(cells: Any, cfg: ModeMapConfig) -> list[str]:
    """The agents' modes beside the best script's and the planner's."""
    same_script = float((cells["mode"] == cells["scripted_mode"]).mean())
    sc = cells["scripted_mode"].value_counts()
    text = (
        f"**Beside the references.** The best scripted member's mode: none {sc.get('none', 0)}, consent "
        f"{sc.get('consent', 0)}, mobilized {sc.get('mobilized', 0)} cells; the agents' dominant mode equals it in "
        f"{_pct(same_script)} of cells."
    )
    if "planner_mode" in cells:
        pl = cells["planner_mode"].value_counts()
        same_pl = float((cells["mode"] == cells["planner_mode"]).mean())
        text += (
            f" The honest planner's dominant mode: none {pl.get('none', 0)}, consent {pl.get('consent', 0)}, "
            f"mobilized {pl.get('mobilized', 0)}; the agents agree with it in {_pct(same_pl)} of cells."
        )
    return [text, ""]


def _certification_lines(cells: Any, df: Any, attempts: Any, cert: Any, cfg: ModeMapConfig) -> list[str]:
    """The certification tally, the retrains, and the cells that still fail."""
    ok = int(cells["certified"].sum())
    first = attempts[attempts["attempt"] == 0]
    retrained = int((first["certified"] == False).sum())  # noqa: E712  (a column of booleans)
    rescued = int(((df["attempt"] > 0) & df["certified"]).sum())
    lines = [
        "## Certification",
        "",
        f"**{ok} of {len(cells)} cells certified** ({int(df['certified'].sum())} of {len(df)} agents). At the first "
        f"attempt {int(first['certified'].sum())} of {len(first)} agents were certified; {retrained} were retrained "
        f"and {rescued} of them certified on a retrain. Agent minus best script on the comparison episodes "
        f"(paired): median {_num(float(df['gap_script'].median()), '+.3f')}, from "
        f"{_num(float(df['gap_script'].min()), '+.3f')} to {_num(float(df['gap_script'].max()), '+.3f')}.",
    ]
    if "gap_planner" in df:
        lines[-1] += (
            f" Agent minus planner: median {_num(float(df['gap_planner'].median()), '+.3f')}, from "
            f"{_num(float(df['gap_planner'].min()), '+.3f')} to {_num(float(df['gap_planner'].max()), '+.3f')}; "
            f"agents at or above the planner: {int((df['gap_planner'] >= 0).sum())} of {len(df)}."
        )
    failing = df[~df["certified"].astype(bool)]
    if len(failing):
        lines += [
            "",
            "Agents still not certified (their cell's dominant mode is what training found, not necessarily what "
            "pays best):",
            "",
            "| ρ̄ | μ | S | seed | attempts | agent | best script | planner | bar |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in failing.iterrows():
            lines.append(
                f"| {r.recklessness:g} | {r.monitoring:g} | {r.stakes:g} | {int(r.seed)} | {int(r.attempt) + 1} | "
                f"{r.cert_agent_return:+.3f} | {r.cert_script_return:+.3f} | {_num(r.cert_planner_return, '+.3f')} | "
                f"{r.cert_bar:+.3f} |"
            )
    return [*lines, ""]


def compare_lines(cells: Any, other_dir: str | Path) -> list[str]:
    """This map's cells against another map's (e.g. the same grid on model v0), cell by cell."""
    import pandas as pd
    import yaml

    other_dir = Path(other_dir)
    table = other_dir / "cells.csv"
    if not table.is_file():
        from massbargain.agents.config import UserError

        raise UserError(f"--compare {str(other_dir)!r} holds no cells.csv (run massbargain mode-map there first)")
    other = pd.read_csv(table)
    info = yaml.safe_load((other_dir / "config.yaml").read_text()) if (other_dir / "config.yaml").is_file() else {}
    axes = list(AXES)
    both = cells.merge(other, on=axes, suffixes=("", "_other"))
    label = f"model v{info.get('version', '?')} (`{other_dir.name}`)"
    if both.empty:
        return ["## Against another map", "", f"{label} shares no cell with this map."]
    same = both["mode"] == both["mode_other"]
    moved = both[~same]
    oc = both["mode_other"].value_counts()
    lines = [
        "## Against another map",
        "",
        f"Against {label} on the {len(both)} cells both maps have: the other map's dominant modes are none "
        f"{oc.get('none', 0)}, consent {oc.get('consent', 0)}, mobilized {oc.get('mobilized', 0)}; the mode is the "
        f"same in {int(same.sum())} cells. Return, mean over cells: {both['mean_return'].mean():+.3f} here, "
        f"{both['mean_return_other'].mean():+.3f} there; punishment {_pct(both['punishment_rate'].mean())} vs "
        f"{_pct(both['punishment_rate_other'].mean())}; Pyrrhic "
        + (
            f"{_pct(both['pyrrhic_rate'].mean())} vs {_pct(both['pyrrhic_rate_other'].mean())}."
            if "pyrrhic_rate_other" in both
            else f"{_pct(both['pyrrhic_rate'].mean())} (not recorded there)."
        ),
    ]
    if len(moved):
        lines += ["", "| ρ̄ | μ | S | here | there | return here | return there |", "|---|---|---|---|---|---|---|"]
        for _, r in moved.iterrows():
            lines.append(
                f"| {r.recklessness:g} | {r.monitoring:g} | {r.stakes:g} | {r['mode']} | {r['mode_other']} | "
                f"{r.mean_return:+.3f} | {r.mean_return_other:+.3f} |"
            )
    return lines


def pd_index(cells: Any) -> Any:
    import pandas as pd

    return pd.MultiIndex.from_frame(cells[list(AXES)])


def _margins(cells: Any) -> np.ndarray:
    shares = np.sort(cells[[f"{m}_share" for m in MODES]].to_numpy(), axis=1)
    return shares[:, -1] - shares[:, -2]
