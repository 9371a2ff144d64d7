"""Play the official yourself, day by day, in the terminal (``massbargain play``).

Each morning shows the county's state (the environment's ``ansi`` view) and asks for the day's action: a
number 0-7 or an action's name (a unique prefix will do: ``tol`` for TOLERATE). ``?`` lists the actions
with what they do, ``q`` gives up the game. The superior's reaction follows each day, with any incident,
warning or punishment spelled out; the episode ends as the environment says (a concession, ACCEPT,
dismissal, a provincial takeover, or the deadline). Bad input is refused with a hint and asked again.

:func:`play` takes its input and output functions as arguments, so tests (and scripts) can drive it.
No torch here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

import massbargain  # noqa: F401  (registers the environment ids)
from massbargain.actions import ACTION_MODE, Action, Response, Severity
from massbargain.scenario import Scenario

__all__ = ["ACTION_HELP", "parse_action", "play"]

#: One line per action for the ``?`` help.
ACTION_HELP: dict[Action, str] = {
    Action.WAIT: "do nothing new",
    Action.PETITION: "object through official channels (raises visible elite opposition)",
    Action.LEAK: "leak the plan's details (informs residents, lowers its legitimacy; a little evidence)",
    Action.TOLERATE: "order the police to be tolerant (persists; lowers perceived arrest risk)",
    Action.MOBILIZE: "activate intermediaries to bring crowds out (they radicalize; much evidence)",
    Action.PACIFY: "send work teams: crowd, radicals and brokers fall; police back to normal",
    Action.CRACKDOWN: "disperse the crowd by force (may trigger a larger protest)",
    Action.ACCEPT: "give in: the plan is imposed and the game ends",
}

_REACTIONS = {
    Response.HOLD: "The superior holds to the plan.",
    Response.WARN: "The superior WARNS you: it suspects the county of staging the unrest.",
    Response.REPRESS: "The superior REPRESSES: its forces disperse the crowd; arrested brokers may talk.",
    Response.SUSPEND: "The superior SUSPENDS the plan.",
    Response.PARTIAL: "The superior makes a PARTIAL concession.",
    Response.WITHDRAW: "The superior WITHDRAWS the plan.",
}


def _hint() -> str:
    names = ", ".join(f"{a.value}={a.name.lower()}" for a in Action)
    return f"type a number 0-{len(Action) - 1} or an action name ({names}); ? for help, q to quit"


def help_text() -> str:
    """The list of actions with their mode and effect."""
    lines = ["Actions (number, name, mode: effect):"]
    for a in Action:
        mode = ACTION_MODE[a].name.lower().replace("_", " ")
        lines.append(f"  {a.value}  {a.name.lower():<10} {mode:<16} {ACTION_HELP[a]}")
    lines.append("  ?  help    q  quit")
    return "\n".join(lines)


def parse_action(text: str) -> Action:
    """The action a line of input names: a number 0-7, a name, or a unique prefix of a name.

    Raises ValueError with a hint for anything else.
    """
    t = text.strip().lower()
    if not t:
        raise ValueError(f"no action given; {_hint()}")
    if t.isdigit() or (t.startswith("-") and t[1:].isdigit()):
        n = int(t)
        if 0 <= n < len(Action):
            return Action(n)
        raise ValueError(f"no action {n}; {_hint()}")
    matches = [a for a in Action if a.name.lower().startswith(t)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"{text.strip()!r} is ambiguous ({', '.join(a.name.lower() for a in matches)}); {_hint()}")
    raise ValueError(f"unknown action {text.strip()!r}; {_hint()}")


def play(
    scenario: str | Scenario | None = "baseline",
    seed: int | None = None,
    *,
    input_fn: Callable[[str], str] = input,
    output: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Play one episode as the official, reading actions with ``input_fn`` and writing with ``output``.

    Returns a summary: ``days``, ``return``, ``outcome``, ``end_reason``, ``severity`` (names, lower case),
    ``quit`` (True if the player typed q or the input ended first).
    """
    scen = Scenario.resolve(scenario)
    env = gym.make("MassBargain-v1", scenario=scen, render_mode="ansi")
    try:
        return _play(env, scen, seed, input_fn, output)
    finally:
        env.close()


def _play(env: Any, scen: Scenario, seed: int | None, input_fn: Callable[[str], str], output: Callable) -> dict:
    env.reset(seed=seed)
    output(
        f"You are the county's leader. The prefecture plans to absorb the county as a city district "
        f"(scenario {scen.name!r}, stakes {scen.utility.stakes:g}, {_days(scen.horizon.days)} to the deadline)."
    )
    output(help_text())
    output(env.render())
    total, day, info = 0.0, 0, {}
    while True:
        try:
            line = input_fn(f"Day {day + 1}, your action [0-7, ? help, q quit]: ")
        except EOFError:
            output("\nno more input; the game stops here.")
            return _summary(day, total, info, quit=True)
        text = line.strip().lower()
        if text in ("?", "h", "help"):
            output(help_text())
            continue
        if text in ("q", "quit", "exit"):
            output("You leave the game.")
            return _summary(day, total, info, quit=True)
        try:
            action = parse_action(line)
        except ValueError as exc:
            output(f"  {exc}")
            continue
        _obs, reward, terminated, _truncated, info = env.step(int(action))
        total += reward
        day += 1
        output(env.render())
        output(f"  {_REACTIONS[info['superior_response']]}  (reward today {reward:+.3f}, total {total:+.3f})")
        if info.get("triggered"):
            output("  A violent incident: the crowd is enraged and recruitment surges for a few days.")
        if info.get("punished", Severity.NONE) != Severity.NONE:
            output(f"  The discipline inspectors punish you: {info['punished'].name.lower()}.")
        if terminated:
            output(
                f"Game over after {_days(day)}: the plan is {info['outcome'].name.lower()} "
                f"({info['end_reason'].name.lower()}); punishment: {info['severity'].name.lower()}; "
                f"your return: {total:+.3f}."
            )
            return _summary(day, total, info, quit=False)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _summary(day: int, total: float, info: dict, quit: bool) -> dict[str, Any]:
    def name(key: str) -> str | None:
        v = info.get(key)
        return v.name.lower() if v is not None else None

    return {
        "days": day,
        "return": total,
        "outcome": name("outcome"),
        "end_reason": name("end_reason"),
        "severity": name("severity"),
        "quit": quit,
    }
