"""Can a memoryless policy copy the honest planner's gain through its values? (docs/MODE_MAP.md, "Measured").

For one mode-map cell and a scripted member: :func:`~massbargain.agents.planner.improve.rollout_improvement`
of the member on ``episodes`` planner episodes of each of two seeds, the member and each fitted policy on
``report`` paired episodes (seed 5), and the planner itself, beside the member, on 200 paired episodes of
that seed.

    python -m massbargain.experiments.measures.planner_values --cell 0.3 0 0.6
"""

from __future__ import annotations

import argparse

from massbargain.agents.families import parse_member
from massbargain.agents.planner import evaluate_policy, make_planner
from massbargain.agents.planner.improve import rollout_improvement
from massbargain.agents.planner.rules import ScriptedRule
from massbargain.experiments.maps.certify import paired_gap
from massbargain.experiments.maps.mode_map import ModeMapConfig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cell", nargs=3, type=float, required=True, metavar=("RHO", "MU", "S"))
    p.add_argument("--member", help="the family member (default: the best on 400 episodes of seed 1,000,001)")
    p.add_argument("--episodes", type=int, default=300, help="planner episodes per measurement")
    p.add_argument("--report", type=int, default=1000, help="paired report episodes (seed 5)")
    args = p.parse_args(argv)
    from massbargain.agents.families import best, select

    cfg = ModeMapConfig.default()
    scenario = cfg.scenario_of(args.cell)
    member = parse_member(args.member) if args.member else best(select(scenario, None, 400, 1_000_001))[0]
    print(f"cell {tuple(args.cell)}, member {member.name}")
    m = evaluate_policy(member, scenario, args.report, 5, common_luck=True).returns
    for seed in (99, 3_001_000):
        improved = rollout_improvement(scenario, member, args.episodes, seed)
        i = evaluate_policy(improved, scenario, args.report, 5, common_luck=True).returns
        gain, half = paired_gap(i, m)
        print(
            f"  fitted on seed {seed}: member {m.mean():+.4f}, improved {i.mean():+.4f}, gain {gain:+.4f} ± {half:.4f}"
        )
    planner = make_planner("honest", scenario, base_policies=[member, ScriptedRule(accept=True)])
    from massbargain.agents.planner import evaluate_planner

    n = min(args.report, 200)
    pr = evaluate_planner(planner, scenario, n, 5, common_luck=True).returns
    m = evaluate_policy(member, scenario, n, 5, common_luck=True).returns
    print(f"  planner on {n} episodes of seed 5: {pr.mean():+.4f} (member {m.mean():+.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
