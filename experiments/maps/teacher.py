"""Whom the mode map's agents learn from before PPO trains them: the planner where mass pressure pays.

Each agent of the map starts as a behaviour-cloned copy of a teacher (:mod:`massbargain.agents.warm_start`)
and PPO trains it from there. The teacher of a cell is

* the **honest planner** (:mod:`massbargain.agents.planner`, built on the cell's best members and "give in
  tomorrow", as the certification's) in cells where mass pressure pays, i.e. where the best scripted member
  is of the consent or the mobilized mode: its own ``episodes`` episodes on the cell's **teacher seed**
  (:func:`teacher_seed`: apart from the evaluation, certification and choice episodes), played once per
  cell by the cell's reference run and cloned by every seed of the cell;
* the cell's **best scripted member** elsewhere (where nothing pays, the best member is passive and the
  planner adds next to nothing) and everywhere when ``planner`` is false.

Why. An agent cloned from the best member stays within a few thousandths of it (PPO at the map's budget
finds no better policy in its noise), and in 11 of 36 cells the member itself is below the certification
bar set by the planner. A clone of the planner starts above it. The planner here is a cheaper one than the
certification's (``particles``, ``confirm_particles``): its episodes are training data, not a yardstick.
docs/MODE_MAP.md gives the measurements behind each number.

The demonstrations are written to the reference run's folder (``OUT/models/<reference run>/``,
:data:`DEMONSTRATIONS_FILE`) and named by their digest in the agents' run configs, so that a changed
teacher is a changed run. An agent's run reads the file if it finds it there with that digest and otherwise
plays the same planner episodes again (deterministic: same seed, same demonstrations, checked by the
digest), e.g. on a Ray node that does not share the map's folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from massbargain.agents.config import UserError
from massbargain.experiments.maps.certify import check_whole_numbers, section_config
from massbargain.scenario import Scenario

__all__ = [
    "DEMONSTRATIONS_FILE",
    "TEACHER_SEED_OFFSET",
    "TeacherConfig",
    "planner_demonstrations",
    "teacher_demonstrations",
    "teacher_seed",
    "teaches",
]

#: The teacher's episodes in a cell whose evaluation seed is ``s`` use seed ``s + TEACHER_SEED_OFFSET``
#: (the choice seed is ``s + 1_000_000``, :data:`massbargain.agents.families.CHOICE_SEED_OFFSET`).
TEACHER_SEED_OFFSET = 2_000_000
#: File of a cell's planner demonstrations in its reference run's folder.
DEMONSTRATIONS_FILE = "demonstrations.npz"
#: Modes of the best member in whose cells the planner teaches.
PLANNER_MODES = ("consent", "mobilized")


@dataclass(frozen=True)
class TeacherConfig:
    """Whom agents clone (the ``teacher`` mapping of a mode-map config).

    Attributes:
        planner: in cells whose best member is consent or mobilized, clone the honest planner's episodes
            (False: the best member everywhere).
        episodes: planner episodes per cell (played once, cloned by every seed of the cell).
        particles, confirm_particles: the teacher planner's screening and confirmation particles.
        epochs, batch_size, learning_rate: the clone's fit on the planner's episodes (passes, minibatch,
            Adam step size); the best member's clone keeps ``massbargain train``'s.
    """

    planner: bool = True
    episodes: int = 500
    particles: int = 16
    confirm_particles: int = 128
    epochs: int = 100
    batch_size: int = 512
    learning_rate: float = 0.005

    def __post_init__(self) -> None:
        if not isinstance(self.planner, bool):
            raise UserError(f"teacher.planner must be true or false, got {self.planner!r}")
        minima = (("episodes", 1), ("particles", 2), ("confirm_particles", 0), ("epochs", 1), ("batch_size", 1))
        check_whole_numbers(self, "teacher", minima)
        v = self.learning_rate
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v <= 1.0:
            raise UserError(f"teacher.learning_rate must be a number in (0, 1], got {v!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> TeacherConfig:
        """A config from a mapping of its fields (unknown keys refused with the valid ones)."""
        return section_config(cls, data, "teacher")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> TeacherConfig:
        """The config within a teacher spec (a run config's ``teacher``, which also holds gamma, seeds, ...)."""
        return cls(**{f.name: spec[f.name] for f in dataclasses.fields(cls)})

    def train_fields(self) -> dict[str, Any]:
        """The TrainConfig fields of the clone's fit on the planner's demonstrations."""
        return {
            "warm_start_epochs": self.epochs,
            "warm_start_batch_size": self.batch_size,
            "warm_start_learning_rate": self.learning_rate,
        }


def teacher_seed(eval_seed: int) -> int:
    """The seed of the teacher's episodes in a cell whose evaluation episodes use ``eval_seed``."""
    return int(eval_seed) + TEACHER_SEED_OFFSET


def teaches(config: TeacherConfig, best_mode: str) -> bool:
    """Whether the planner teaches in a cell whose best scripted member is of ``best_mode``."""
    return config.planner and best_mode in PLANNER_MODES


def planner_demonstrations(
    scenario: Scenario, bases: Sequence[str], config: TeacherConfig, seed: int, gamma: float
) -> Any:
    """The teacher planner's ``config.episodes`` episodes on ``seed`` (:class:`~massbargain.agents.warm_start.
    Demonstrations`): an honest planner built on the members named ``bases`` and "give in tomorrow", with the
    teacher's particles, its own random numbers seeded by ``seed`` too."""
    from massbargain.agents.families import parse_member
    from massbargain.agents.planner import make_planner
    from massbargain.agents.planner.rules import ScriptedRule
    from massbargain.agents.warm_start import demonstrations

    members = [parse_member(name, days=scenario.horizon.days) for name in bases]
    planner = make_planner(
        "honest",
        scenario,
        base_policies=[*members, ScriptedRule(accept=True)],
        particles=config.particles,
        confirm_particles=config.confirm_particles,
        seed=seed,
    )
    return demonstrations(planner, scenario, config.episodes, seed, gamma)


def teacher_demonstrations(spec: Mapping[str, Any], scenario: Scenario, workdir: str | None, scratch: str) -> Path:
    """The demonstrations file an agent's run clones, from its config's ``teacher`` spec.

    ``spec`` holds the reference run's id (``reference``), the demonstrations' ``digest``, the planner's
    ``bases``, ``seed`` and ``gamma`` and the :class:`TeacherConfig` fields. The file is the reference run's
    (next to ``workdir`` in the map's ``models`` folder) when it is there with that digest; otherwise the
    same episodes are played again into ``scratch``, and a different digest is an error (the demonstrations
    would not be the ones the run is named by).
    """
    from massbargain.agents.warm_start import load_demonstrations, save_demonstrations

    if workdir is not None:
        path = Path(workdir).parent / spec["reference"] / DEMONSTRATIONS_FILE
        try:
            if load_demonstrations(path).digest() == spec["digest"]:
                return path
        except ValueError:
            pass  # not there (another node) or not readable: play them again
    demos = planner_demonstrations(scenario, spec["bases"], TeacherConfig.from_spec(spec), spec["seed"], spec["gamma"])
    if demos.digest() != spec["digest"]:
        raise RuntimeError(
            f"the teacher's demonstrations came out different from the reference run's ({demos.digest()} instead "
            f"of {spec['digest']}): the planner or the model changed since the map's references were made; "
            "rerun the map into a new folder"
        )
    return save_demonstrations(demos, Path(scratch) / DEMONSTRATIONS_FILE)
