"""Scripted policy families, and an honest way to pick the best scripted policy for a scenario.

A single hand-written script is a weak yardstick: a reviewer can always say the script was badly tuned.
This module replaces "the best scripted policy" by the best **member** of a few parametric **families**,
chosen on one seed and reported on another.

Families
--------
A :class:`Family` is a readable rule with a few parameters and a grid of values for each; a :class:`Member`
is a family with one value per parameter. A member follows the project's policy protocol (``act(obs)``:
(F,) -> int, (B, F) -> (B,) ints) and is a memoryless function of the observation: everything it needs is
in the 19 fields of :data:`massbargain.OBSERVATION_FIELDS`. The day is ``time_used · T`` with T the
scenario's ``horizon.days``, so a member is built for a horizon (``days``, 30 by default) and plays
scenarios with that horizon (:func:`members` builds them from a scenario).

The first applicable line of a rule decides the day's action. ``petition`` (the cadence on days with
nothing else to do) is ``daily`` (PETITION), ``alternate`` (PETITION on even days, WAIT on odd ones) or
``never`` (WAIT).

=================  =========  =====================================================================
family             mode       rule
=================  =========  =====================================================================
``passive``        none       WAIT.
``petition``       none       PETITION on every ``every``-th day (day 0, every, 2·every, ...), else WAIT.
``accept``         exit       ACCEPT on day 0.
``consent``        consent    1. backed off (``back_off``: the official has received a warning, two
                              warnings, or an investigation is open): PACIFY while the police are
                              tolerant (the posture returns to normal) or the radical share exceeds
                              ``pacify_at``, else the cadence; 2. PACIFY when the radical share exceeds
                              ``pacify_at``; 3. TOLERATE if ``tolerate`` and the police are not
                              tolerant; 4. LEAK while the informed share is below ``leak_until``;
                              5. the cadence.
``mobilize``       mobilized  1. PACIFY when the radical share exceeds ``pacify_at`` or disorder exceeds
                              ``pacify_at``/5; 2. MOBILIZE while broker activity is below
                              ``mobilize_below`` and the day is before ``stop_after`` (and, for a
                              managed mobilization, one with a ``pacify_at``, while the crowd is below
                              :data:`MANAGED_CROWD`); 3. TOLERATE if ``tolerate`` and the police are not
                              tolerant; 4. ``otherwise`` (PETITION or WAIT). Every member mobilizes on
                              day 0.
``crackdown``      control    CRACKDOWN when the crowd exceeds ``above``, else ``otherwise``
                              (WAIT or PETITION).
=================  =========  =====================================================================

How the grids were chosen. Every dimension issue 12 names has at least two values, one of them the old
script's, so that every scripted baseline of :data:`massbargain.agents.BASELINES` but ``random`` is a member
(:data:`BASELINE_MEMBERS`; a test holds each to act exactly as its baseline). The other values come from a
sweep of finer grids (1,780 members, model v0, on the three presets and on the baseline at full monitoring;
docs/FAMILIES.md has the table and the script): a value was dropped when its best member never earned more
than 0.005 above the best member of a kept value; values that were never best in v0 but act on a v1
mechanism (back off when warned, tolerate or not under monitoring) were kept. On model v1 the consent grid
changed in one place: a tolerated standoff radicalizes by itself there, and the best consent member on every
v1 preset pacifies at a radical share of 0.1, so ``pacify_at`` is {0.1, 0.3, never}; the ``alternate``
petition cadence, never best on v1, was dropped to keep 108 consent members. The result is 193 members: one
selection on 1000 episodes takes ~5 s on one core.

Selection
---------
:func:`select` plays every member on the same episodes (``run_episodes`` with one seed for all: common
random numbers, so the hidden draws of episode ``i`` are the same for every member) and returns a
:class:`Selection`, a table of :class:`Result` rows: mean return with its 95% interval, concession,
punishment, riot (peak disorder at or above ``superior.veto_disorder``) and Pyrrhic (a concession and a
punishment in one episode) rates. :func:`best` gives the best row overall, of a mode or of a family.

The best of 193 noisy means is biased upward (the winner's curse), so a figure reported for the chosen
member must come from other episodes. :func:`best_out_of_sample` chooses on ``choose_seed`` and plays only
the chosen members on ``report_seed``; the two must differ. The project's convention
(:func:`choice_seed`): an evaluation on seed ``s`` chooses its scripted members on seed ``s + 1_000_000``,
far from the small seeds used for evaluation anywhere in the project. Comparisons with other policies on
the report seed are paired episode by episode (:func:`paired_difference`).

No torch and no pandas here, so that the env-level stylized facts can use this module.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from massbargain.actions import Action, Mode
from massbargain.core import OBS_INDEX, WARNINGS_SCALE
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario

__all__ = [
    "BASELINE_MEMBERS",
    "CHOICE_SEED_OFFSET",
    "FAMILIES",
    "MANAGED_CROWD",
    "MODES",
    "Chosen",
    "Difference",
    "Family",
    "Member",
    "OutOfSample",
    "Result",
    "Selection",
    "best",
    "best_out_of_sample",
    "choice_seed",
    "digest",
    "format_out_of_sample",
    "members",
    "paired_difference",
    "parse_member",
    "select",
]

#: The modes a family can stand for: no mass pressure, consent or mobilized instability, control, exit.
MODES = ("none", "consent", "mobilized", "control", "exit")

#: A managed mobilization (one that pacifies) mobilizes only while the crowd is below this share.
MANAGED_CROWD = 0.25

#: An evaluation on seed ``s`` chooses its scripted members on seed ``s + CHOICE_SEED_OFFSET``.
CHOICE_SEED_OFFSET = 1_000_000

_I = OBS_INDEX
_WAIT, _PETITION, _LEAK, _TOLERATE = int(Action.WAIT), int(Action.PETITION), int(Action.LEAK), int(Action.TOLERATE)
_MOBILIZE, _PACIFY, _CRACKDOWN, _ACCEPT = (
    int(Action.MOBILIZE),
    int(Action.PACIFY),
    int(Action.CRACKDOWN),
    int(Action.ACCEPT),
)
_NEVER = None  # the grid value of a threshold or a day that never applies


def choice_seed(report_seed: int) -> int:
    """The seed on which an evaluation with ``report_seed`` chooses its scripted members."""
    return int(report_seed) + CHOICE_SEED_OFFSET


# --- families ------------------------------------------------------------------------------------


Rule = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Family:
    """A parametric scripted policy: ``rule(obs (B, F), day (B,), **params) -> actions (B,)``.

    ``grid`` lists each parameter with its values, in the order names show them; ``mode`` is the mode the
    family stands for (one of :data:`MODES`).
    """

    name: str
    mode: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    rule: Rule = field(repr=False)
    doc: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}")

    @property
    def size(self) -> int:
        """Number of members."""
        return math.prod(len(values) for _, values in self.grid)

    def member(self, days: int = 30, **params: Any) -> Member:
        """The member with these parameter values (each must be on the grid)."""
        names = [k for k, _ in self.grid]
        if set(params) != set(names):
            raise ValueError(f"{self.name} takes the parameters {', '.join(names) or 'none'}; got {sorted(params)}")
        for k, values in self.grid:
            if params[k] not in values:
                raise ValueError(
                    f"{self.name}: {k} must be one of {', '.join(_text(v) for v in values)}; got {params[k]!r}"
                )
        return Member(self, tuple((k, params[k]) for k in names), days)

    def members(self, days: int = 30) -> tuple[Member, ...]:
        """Every member, in grid order (the last parameter varies fastest)."""
        names = [k for k, _ in self.grid]
        product = itertools.product(*(values for _, values in self.grid))
        return tuple(Member(self, tuple(zip(names, combo, strict=True)), days) for combo in product)


@dataclass(frozen=True)
class Member:
    """One family member: a deterministic, memoryless policy with a readable name.

    ``days`` is the horizon T of the scenarios it plays (the day is read as ``time_used · T``).
    """

    family: Family
    params: tuple[tuple[str, Any], ...]
    days: int = 30

    @property
    def name(self) -> str:
        """e.g. ``consent(leak_until=0.9, tolerate=yes, pacify_at=0.3, petition=daily, back_off=never)``."""
        if not self.params:
            return self.family.name
        return f"{self.family.name}({', '.join(f'{k}={_text(v)}' for k, v in self.params)})"

    @property
    def mode(self) -> str:
        return self.family.mode

    def rule(self, obs: np.ndarray) -> np.ndarray:
        """Actions (B,) for a batch of observations (B, F)."""
        day = np.rint(obs[:, _I["time_used"]] * self.days).astype(np.int64)
        return np.asarray(self.family.rule(obs, day, **dict(self.params)), dtype=np.int64)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return int(self.rule(obs[None])[0])
        return self.rule(obs)

    def __repr__(self) -> str:
        return f"Member({self.name!r})"


def _text(value: Any) -> str:
    """A grid value as names show it: never, yes/no, 0.3, daily."""
    if value is None:
        return "never"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _cadence(day: np.ndarray, petition: str) -> np.ndarray:
    """PETITION or WAIT on the days a rule has nothing else to do."""
    if petition == "daily":
        return np.full(day.shape, _PETITION)
    if petition == "alternate":
        return np.where(day % 2 == 0, _PETITION, _WAIT)
    return np.full(day.shape, _WAIT)


def _above(obs: np.ndarray, name: str, threshold: float | None) -> np.ndarray:
    """Rows where the field exceeds the threshold (never, for ``None``)."""
    if threshold is None:
        return np.zeros(obs.shape[0], dtype=bool)
    return obs[:, _I[name]] > threshold


def _passive(obs: np.ndarray, day: np.ndarray) -> np.ndarray:
    return np.full(obs.shape[0], _WAIT)


def _petition(obs: np.ndarray, day: np.ndarray, every: int) -> np.ndarray:
    return np.where(day % every == 0, _PETITION, _WAIT)


def _accept(obs: np.ndarray, day: np.ndarray) -> np.ndarray:
    return np.full(obs.shape[0], _ACCEPT)


_BACK_OFF_WARNINGS = {"warning": 1, "2-warnings": 2}


def _backed_off(obs: np.ndarray, back_off: str) -> np.ndarray:
    if back_off == "investigation":
        return obs[:, _I["investigation"]] > 0.5
    if back_off in _BACK_OFF_WARNINGS:
        # warnings / WARNINGS_SCALE is a float32: compare with half a warning of slack
        return obs[:, _I["warnings"]] * WARNINGS_SCALE > _BACK_OFF_WARNINGS[back_off] - 0.5
    return np.zeros(obs.shape[0], dtype=bool)


def _consent(
    obs: np.ndarray,
    day: np.ndarray,
    leak_until: float,
    tolerate: bool,
    pacify_at: float | None,
    petition: str,
    back_off: str,
) -> np.ndarray:
    radical = _above(obs, "radical_share", pacify_at)
    tolerant = obs[:, _I["police_tolerant"]] > 0.5
    rest = _cadence(day, petition)
    backed_off = _backed_off(obs, back_off)
    return np.select(
        [
            backed_off & (tolerant | radical),
            backed_off,
            radical,
            ~tolerant if tolerate else np.zeros(obs.shape[0], dtype=bool),
            obs[:, _I["informed"]] < leak_until,
        ],
        [_PACIFY, rest, _PACIFY, _TOLERATE, _LEAK],
        rest,
    )


def _mobilize(
    obs: np.ndarray,
    day: np.ndarray,
    mobilize_below: float,
    pacify_at: float | None,
    stop_after: int | None,
    otherwise: str,
    tolerate: bool,
) -> np.ndarray:
    pacify = _above(obs, "radical_share", pacify_at)
    mobilize = obs[:, _I["broker_activity"]] < mobilize_below
    if pacify_at is not None:  # a managed mobilization: keep the crowd calm and small
        pacify |= obs[:, _I["disorder"]] > pacify_at / 5
        mobilize &= obs[:, _I["crowd"]] < MANAGED_CROWD
    if stop_after is not None:
        mobilize &= day < stop_after
    tolerant = obs[:, _I["police_tolerant"]] > 0.5
    return np.select(
        [pacify, mobilize, ~tolerant if tolerate else np.zeros(obs.shape[0], dtype=bool)],
        [_PACIFY, _MOBILIZE, _TOLERATE],
        _PETITION if otherwise == "petition" else _WAIT,
    )


def _crackdown(obs: np.ndarray, day: np.ndarray, above: float, otherwise: str) -> np.ndarray:
    return np.where(obs[:, _I["crowd"]] > above, _CRACKDOWN, _PETITION if otherwise == "petition" else _WAIT)


def _families() -> dict[str, Family]:
    out = [
        Family("passive", "none", (), _passive, "Always WAIT."),
        Family("petition", "none", (("every", (1, 2, 3)),), _petition, "Official channels: PETITION every k days."),
        Family("accept", "exit", (), _accept, "ACCEPT on day 0: the plan goes ahead, nothing is spent."),
        Family(
            "consent",
            "consent",
            (
                ("leak_until", (0.5, 0.7, 0.9)),
                ("tolerate", (True, False)),
                ("pacify_at", (0.1, 0.3, _NEVER)),
                ("petition", ("daily", "never")),
                ("back_off", ("never", "warning", "investigation")),
            ),
            _consent,
            "Consent instability: let word spread (LEAK) and the crowd gather (TOLERATE), keep it calm.",
        ),
        Family(
            "mobilize",
            "mobilized",
            (
                ("mobilize_below", (0.1, 0.3, 0.5)),
                ("pacify_at", (0.1, 0.2, _NEVER)),
                ("stop_after", (5, _NEVER)),
                ("otherwise", ("petition", "wait")),
                ("tolerate", (False, True)),
            ),
            _mobilize,
            "Managed mobilization: keep the brokers busy, pacify a radical crowd, stop after a while.",
        ),
        Family(
            "crackdown",
            "control",
            (("above", (0.01, 0.05, 0.1, 0.2)), ("otherwise", ("wait", "petition"))),
            _crackdown,
            "Control: disperse crowds above a size by force.",
        ),
    ]
    return {f.name: f for f in out}


#: The families by name, in the order tables show them.
FAMILIES: dict[str, Family] = _families()


def members(scenario: Scenario | None = None, families: Iterable[Family] | None = None) -> tuple[Member, ...]:
    """Every member of ``families`` (default: all of :data:`FAMILIES`) for ``scenario``'s horizon."""
    days = 30 if scenario is None else scenario.horizon.days
    chosen = FAMILIES.values() if families is None else families
    return tuple(m for f in chosen for m in f.members(days))


def digest(candidates: Iterable[Member] | None = None) -> str:
    """A short fingerprint of a set of members (default: all), to stamp results that depend on the grid."""
    names = "\n".join(m.name for m in (members() if candidates is None else candidates))
    return hashlib.sha256(names.encode()).hexdigest()[:12]


def parse_member(name: str, days: int = 30, families: Mapping[str, Family] = FAMILIES) -> Member:
    """The member a name stands for: ``parse_member(m.name, m.days) == m``."""
    head, _, tail = name.strip().partition("(")
    family = families.get(head.strip())
    if family is None:
        raise ValueError(f"unknown family {head.strip()!r}; families: {', '.join(families)}")
    if tail and not tail.endswith(")"):
        raise ValueError(f"a member name looks like family(key=value, ...); got {name!r}")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in tail[:-1].split(","))):
        key, sep, text = item.partition("=")
        grid = dict(family.grid)
        if not sep or key.strip() not in grid:
            raise ValueError(f"{family.name} takes {', '.join(grid) or 'no parameters'}; got {item!r}")
        values = {_text(v): v for v in grid[key.strip()]}
        if text.strip() not in values:
            raise ValueError(f"{family.name}: {key.strip()} must be one of {', '.join(values)}; got {text.strip()!r}")
        params[key.strip()] = values[text.strip()]
    return family.member(days, **params)


#: The scripted baselines of :data:`massbargain.agents.BASELINES` (all but ``random``) as family members:
#: each acts exactly as its baseline on every observation (a test holds them to it).
BASELINE_MEMBERS: dict[str, str] = {
    "passive": "passive",
    "petition": "petition(every=1)",
    "consent": "consent(leak_until=0.5, tolerate=yes, pacify_at=0.3, petition=daily, back_off=never)",
    "mobilize": "mobilize(mobilize_below=0.5, pacify_at=never, stop_after=never, otherwise=petition, tolerate=no)",
    "mobilize_pacify": "mobilize(mobilize_below=0.3, pacify_at=0.2, stop_after=never, otherwise=petition, tolerate=no)",
    "crackdown": "crackdown(above=0.01, otherwise=wait)",
    "accept": "accept",
}


# --- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One policy's figures on one batch of episodes (rates are shares of episodes)."""

    name: str
    mode: str
    episodes: int
    seed: int
    mean_return: float
    return_ci95: float  # half-width of the 95% normal interval, 1.96·sd/√n
    concession_rate: float
    punishment_rate: float
    riot_rate: float  # peak disorder >= superior.veto_disorder
    pyrrhic_rate: float  # a concession and a punishment in the same episode
    played_mode: str  # the most common episode mode of its episodes (passive, official_channel, consent, mobilized)

    @classmethod
    def of(cls, batch: EpisodeBatch, scenario: Scenario, name: str, mode: str, seed: int) -> Result:
        n = batch.returns.size
        conceded, punished = batch.conceded, batch.punished
        return cls(
            name=name,
            mode=mode,
            episodes=n,
            seed=seed,
            mean_return=float(batch.returns.mean()),
            return_ci95=float(1.96 * batch.returns.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            concession_rate=float(conceded.mean()),
            punishment_rate=float(punished.mean()),
            riot_rate=float((batch.peak_disorder >= scenario.superior.veto_disorder).mean()),
            pyrrhic_rate=float((conceded & punished).mean()),
            played_mode=Mode(int(np.bincount(batch.mode, minlength=len(Mode)).argmax())).name.lower(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, eq=False)
class Selection:
    """Every candidate member on the same episodes: ``results[i]`` and ``returns[i]`` belong to ``members[i]``."""

    scenario: str
    seed: int
    episodes: int
    members: tuple[Member, ...]
    results: tuple[Result, ...]
    returns: np.ndarray  # (members, episodes)

    def result(self, member: Member | str) -> Result:
        """The row of a member (or of a member's name)."""
        name = member if isinstance(member, str) else member.name
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"{name!r} was not among the selected members")


def _play(policy: Any, scenario: Scenario, episodes: int, seed: int) -> EpisodeBatch:
    return run_episodes(policy, scenario, episodes, seed)


def select(
    scenario: Scenario,
    families: Iterable[Family | Member] | None = None,
    episodes: int = 1000,
    seed: int = 0,
) -> Selection:
    """Play every member of ``families`` (families or single members; default: all) on the same episodes.

    Every member meets the same ``episodes`` starts (``run_episodes`` with ``seed``: common random numbers),
    so differences between rows are paired. The figures are in-sample: report the chosen member on another
    seed (:func:`best_out_of_sample`).
    """
    candidates = _candidates(scenario, families)
    if not candidates:
        raise ValueError("select needs at least one family or member")
    batches = [_play(m, scenario, episodes, seed) for m in candidates]
    results = tuple(Result.of(b, scenario, m.name, m.mode, seed) for m, b in zip(candidates, batches, strict=True))
    return Selection(scenario.name, seed, episodes, candidates, results, np.stack([b.returns for b in batches]))


def _candidates(scenario: Scenario, families: Iterable[Family | Member] | None) -> tuple[Member, ...]:
    out: list[Member] = []
    for item in FAMILIES.values() if families is None else families:
        if isinstance(item, Family):
            out.extend(item.members(scenario.horizon.days))
        elif isinstance(item, Member):
            if item.days != scenario.horizon.days:
                raise ValueError(
                    f"member {item.name} was built for {item.days} days; the scenario lasts {scenario.horizon.days}"
                )
            out.append(item)
        else:
            raise TypeError(f"expected a Family or a Member, got {type(item).__name__}")
    return tuple(out)


def best(selection: Selection, mode: str | None = None, family: str | None = None) -> tuple[Member, Result]:
    """The member with the highest mean return, overall or among those of a mode or a family.

    Ties go to the first in selection order.
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    index = [
        i
        for i, m in enumerate(selection.members)
        if (mode is None or m.mode == mode) and (family is None or m.family.name == family)
    ]
    if not index:
        raise ValueError(f"no member of mode {mode!r} / family {family!r} in this selection")
    top = max(index, key=lambda i: (selection.results[i].mean_return, -i))
    return selection.members[top], selection.results[top]


# --- out-of-sample report ------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """Mean of the per-episode differences a − b with its 95% normal interval (paired episodes)."""

    mean: float
    low: float
    high: float
    episodes: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "ci95": [self.low, self.high], "episodes": self.episodes}


def paired_difference(a: EpisodeBatch | np.ndarray, b: EpisodeBatch | np.ndarray) -> Difference:
    """a − b on the same episodes (same seed): mean ± 1.96·sd(a_i − b_i)/√n.

    Pairing removes the share of the variance both sides owe to the episode's start (hidden recklessness,
    resolve, mood, first informed residents).
    """
    x = np.asarray(a.returns if isinstance(a, EpisodeBatch) else a, dtype=float)
    y = np.asarray(b.returns if isinstance(b, EpisodeBatch) else b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired episodes must match in number: {x.size} and {y.size}")
    d = x - y
    half = 1.96 * d.std(ddof=1) / math.sqrt(d.size) if d.size > 1 else float("nan")
    return Difference(float(d.mean()), float(d.mean() - half), float(d.mean() + half), int(d.size))


@dataclass(frozen=True)
class Chosen:
    """A member chosen on the choice seed, with its figures there (in-sample) and on the report seed."""

    key: str  # "best", a mode or "family:<name>"
    member: Member
    choice: Result
    report: Result
    versus: dict[str, Difference]  # report seed, paired: this member − the other policy

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "member": self.member.name,
            "mode": self.member.mode,
            "choice": self.choice.to_dict(),
            "report": self.report.to_dict(),
            "versus": {k: d.to_dict() for k, d in self.versus.items()},
        }


@dataclass(frozen=True)
class OutOfSample:
    """What :func:`best_out_of_sample` found: choices on one seed, figures on another."""

    scenario: str
    episodes: int
    choose_seed: int
    report_seed: int
    candidates: int
    chosen: dict[str, Chosen]  # "best", then each mode present, then "family:<name>"
    others: dict[str, Result]  # the policies compared with, on the report seed

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "episodes": self.episodes,
            "choose_seed": self.choose_seed,
            "report_seed": self.report_seed,
            "candidates": self.candidates,
            "chosen": {k: c.to_dict() for k, c in self.chosen.items()},
            "others": {k: r.to_dict() for k, r in self.others.items()},
        }


def best_out_of_sample(
    scenario: Scenario,
    choose_seed: int,
    report_seed: int,
    episodes: int = 1000,
    *,
    families: Iterable[Family | Member] | None = None,
    against: Mapping[str, Any] | None = None,
    modes: Sequence[str] | None = None,
) -> OutOfSample:
    """Choose the best member overall, per mode and per family on ``choose_seed``; report them on ``report_seed``.

    Only the chosen members (and the ``against`` policies, name -> policy) are played on the report seed,
    all with the same seed, so each chosen member's ``versus`` holds a paired difference with every
    ``against`` policy. ``modes`` restricts the candidates to families of those modes.
    """
    if choose_seed == report_seed:
        raise ValueError(f"choose_seed and report_seed must differ (both {choose_seed}): report out of sample")
    candidates = _candidates(scenario, families)
    if modes is not None:
        unknown = [m for m in modes if m not in MODES]
        if unknown:
            raise ValueError(f"mode must be one of {', '.join(MODES)}; got {unknown[0]!r}")
        candidates = tuple(m for m in candidates if m.mode in modes)
    selection = select(scenario, candidates, episodes, choose_seed)
    keys: dict[str, tuple[Member, Result]] = {"best": best(selection)}
    for mode in MODES:
        if any(m.mode == mode for m in selection.members):
            keys[mode] = best(selection, mode=mode)
    for name in dict.fromkeys(m.family.name for m in selection.members):
        keys[f"family:{name}"] = best(selection, family=name)
    played: dict[str, EpisodeBatch] = {}
    for member, _ in keys.values():
        if member.name not in played:
            played[member.name] = _play(member, scenario, episodes, report_seed)
    others = {name: _play(policy, scenario, episodes, report_seed) for name, policy in (against or {}).items()}
    chosen = {
        key: Chosen(
            key,
            member,
            result,
            Result.of(played[member.name], scenario, member.name, member.mode, report_seed),
            {name: paired_difference(played[member.name], batch) for name, batch in others.items()},
        )
        for key, (member, result) in keys.items()
    }
    return OutOfSample(
        scenario.name,
        episodes,
        choose_seed,
        report_seed,
        len(candidates),
        chosen,
        {
            name: Result.of(batch, scenario, name, getattr(policy, "mode", ""), report_seed)
            for (name, policy), batch in zip((against or {}).items(), others.values(), strict=True)
        },
    )


def format_out_of_sample(report: OutOfSample) -> str:
    """A plain-text table of :func:`best_out_of_sample`: the best member of each family, marked when it is
    the best of its mode or overall, then the other policies with their paired differences."""
    pct = "{:.0%}".format

    def figures(r: Result) -> list[str]:
        rates = (r.concession_rate, r.punishment_rate, r.riot_rate, r.pyrrhic_rate)
        return [f"{r.mean_return:+.3f} ± {r.return_ci95:.3f}", *map(pct, rates), r.played_mode]

    best_of = {c.member.name: key for key, c in report.chosen.items() if key in MODES}
    overall = report.chosen["best"].member.name if "best" in report.chosen else None
    head = ["family", "mode", "best member", "chosen on", "reported", "concession", "punished", "riot", "Pyrrhic"]
    head += ["played", ""]
    rows = [head]
    for key, c in report.chosen.items():
        if not key.startswith("family:"):
            continue
        name = c.member.name
        mark = "best overall" if name == overall else "best of mode" if name in best_of else ""
        family = key.split(":", 1)[1]
        rows.append([family, c.member.mode, name, f"{c.choice.mean_return:+.3f}", *figures(c.report), mark])
    lines = [
        f"{report.scenario}: best of {report.candidates} scripted family members, chosen on seed {report.choose_seed} "
        f"and reported on seed {report.report_seed} ({report.episodes} episodes each)",
        *_columns(rows, left=3),
    ]
    if report.others:
        rows = [["other policy", "mode", "reported", "concession", "punished", "riot", "Pyrrhic", "played"]]
        rows[0] += ["best − it", ""]
        for name, r in report.others.items():
            versus = []
            for key in dict.fromkeys(["best", r.mode]):
                if key in report.chosen:
                    d = report.chosen[key].versus[name]
                    label = "" if key == "best" else f" (best {key})"
                    versus.append(f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]{label}")
            rows.append([name, r.mode, *figures(r), versus[0] if versus else "", "; ".join(versus[1:])])
        lines += ["", *_columns(rows, left=2)]
    note = (
        "chosen on: mean return on the choice seed (in-sample, biased upward by the choice); reported: mean return "
        "± 95% CI on the report seed, and rates as shares of its episodes (riot: peak disorder >= "
        "superior.veto_disorder; Pyrrhic: a concession and a punishment in one episode); played: the most common "
        "episode mode of its episodes (what it did, whatever its family's label); best − it: the best "
        "member's return minus the other policy's on the same episodes, with a paired 95% CI, and the same for "
        "the best member of the policy's mode."
    )
    return "\n".join([*lines, *textwrap.wrap(note, 110)])


def _columns(rows: list[list[str]], left: int) -> list[str]:
    """Rows aligned in columns (the first ``left`` columns and the last to the left), a rule under the head."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1

    def line(row: list[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i < left or i == last else c.rjust(w) for i, (c, w) in pairs]
        return "  ".join(cells).rstrip()

    return [line(rows[0]), line(["-" * w for w in widths]), *map(line, rows[1:])]
