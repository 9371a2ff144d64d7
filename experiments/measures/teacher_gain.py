"""What does the planner as a teacher buy the mode map's agents? (docs/MODE_MAP.md, "The teacher").

For one mode-map cell and its best member: the teacher planner's episodes (``--episodes`` on ``--teacher-seed``,
:func:`massbargain.experiments.maps.teacher.planner_demonstrations`), then for each training seed one agent
cloned from them and trained by PPO with the map's recipe (:func:`massbargain.agents.train.train`), and
each agent beside the member on ``--report`` paired episodes of seed 7 (common luck). Options change the
teacher and the fit; the defaults are the default map's.

    python -m massbargain.experiments.measures.teacher_gain --cell 0.3 0.5 0.9 \\
        --member "consent(leak_until=0.5, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)"
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from massbargain.experiments.maps.certify import paired_gap
from massbargain.experiments.maps.mode_map import AXES, ModeMapConfig
from massbargain.experiments.maps.teacher import DEMONSTRATIONS_FILE, TeacherConfig, planner_demonstrations

REPORT_SEED = 7


def main(argv: list[str] | None = None) -> int:
    cfg = ModeMapConfig.default()
    teacher, train = cfg.teaching, cfg.train_config("train")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cell", nargs=3, type=float, required=True, metavar=("RHO", "MU", "S"))
    p.add_argument("--member", required=True, help="the cell's best family member (references.csv: scripted_best)")
    p.add_argument("--episodes", type=int, default=teacher.episodes, help="teacher planner episodes")
    p.add_argument("--particles", type=int, default=teacher.particles)
    p.add_argument("--confirm-particles", type=int, default=teacher.confirm_particles)
    p.add_argument("--epochs", type=int, default=teacher.epochs, help="passes of the clone's fit")
    p.add_argument("--batch-size", type=int, default=teacher.batch_size, help="minibatch of the clone's fit")
    p.add_argument("--clone-lr", type=float, default=teacher.learning_rate, help="Adam step of the clone's fit")
    p.add_argument("--lr", type=float, default=train.learning_rate, help="PPO's step size (constant)")
    p.add_argument("--timesteps", type=int, default=train.timesteps)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds")
    p.add_argument("--teacher-seed", type=int, default=424242)
    p.add_argument("--report", type=int, default=1000, help="paired report episodes (seed 7)")
    args = p.parse_args(argv)

    from massbargain.agents.families import parse_member
    from massbargain.agents.loading import load_agent
    from massbargain.agents.planner import evaluate_policy
    from massbargain.agents.train import train as train_run
    from massbargain.agents.warm_start import save_demonstrations

    scenario = cfg.scenario_of(args.cell)
    member = parse_member(args.member, days=scenario.horizon.days)
    config = TeacherConfig(
        episodes=args.episodes,
        particles=args.particles,
        confirm_particles=args.confirm_particles,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.clone_lr,
    )
    started = time.perf_counter()
    demos = planner_demonstrations(scenario, [member.name], config, args.teacher_seed, train.gamma)
    print(f"cell {tuple(args.cell)}, member {member.name}")
    print(f"  teacher: {args.episodes} planner episodes, {len(demos)} days, {time.perf_counter() - started:.1f} s")
    m = evaluate_policy(member, scenario, args.report, REPORT_SEED, common_luck=True).returns
    overrides = dict(zip(AXES.values(), args.cell, strict=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = save_demonstrations(demos, Path(tmp) / DEMONSTRATIONS_FILE)
        for seed in args.seeds:
            run = Path(tmp) / f"run-{seed}"
            tc = train.replace(
                scenario=cfg.scenario,
                overrides=overrides,
                seed=seed,
                timesteps=args.timesteps,
                learning_rate=args.lr,
                learning_rate_final=args.lr,
                warm_start=str(path),
                **config.train_fields(),
                out=str(run),
            )
            train_run(tc, log=None)
            agent = load_agent(run, which="final", seed=seed)
            a = evaluate_policy(agent, scenario, args.report, REPORT_SEED, common_luck=True).returns
            gain, half = paired_gap(a, m)
            print(f"  seed {seed}: agent {a.mean():+.4f}, member {m.mean():+.4f}, gain {gain:+.4f} ± {half:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
