"""Short messages for unknown names, e.g. ``unknown preset 'chanxing'; did you mean 'changxing'?``

One rule for every kind of name the package refuses (scenario keys, presets, training-config keys, sweep
keys, ``reset`` options): suggest the closest valid name (``difflib``), and list the valid names only when
the list is short; a long list is replaced by where to find it. Standard library only.

Examples:
    >>> unknown("scenario key", "brokers.recklesness", ["brokers.recklessness", "brokers.decay"])
    "unknown scenario key 'brokers.recklesness'; did you mean 'brokers.recklessness'?"
    >>> unknown("reset option", "seed", ["scenario"])
    "unknown reset option 'seed'; allowed: scenario"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "unknown"]

#: Longest list of valid names (in characters) a message spells out; longer ones are replaced by ``where``.
MAX_LISTING = 240


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The valid name ``name`` most likely stands for, or None.

    Dotted names (``group.field``) are matched part by part: a field that exists in exactly one group
    (``recklessness`` -> ``brokers.recklessness``); within a valid group, the closest field; with an
    unknown group, the closest whole name. "Close" is ``difflib``'s similarity of at least 0.6.
    """
    choices = [str(c) for c in choices]
    group, dot, field = str(name).rpartition(".")
    same_field = [c for c in choices if c.rpartition(".")[2] == field]
    if len(same_field) == 1:
        return same_field[0]
    if dot:
        fields = [c.rpartition(".")[2] for c in choices if c.rpartition(".")[0] == group]
        if fields:
            match = difflib.get_close_matches(field, fields, n=1, cutoff=0.6)
            return f"{group}.{match[0]}" if match else None
    match = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return match[0] if match else None


def unknown(what: str, name: object, choices: Iterable[str], where: str | None = None) -> str:
    """A one-line message for an unknown ``name`` of kind ``what``: the closest valid name, else the valid
    names when they are few (at most :data:`MAX_LISTING` characters), else ``where`` to find them."""
    choices = [str(c) for c in choices]
    head = f"unknown {what} {name!r}"
    guess = closest(str(name), choices) if isinstance(name, str) else None
    if guess is not None:
        return f"{head}; did you mean {guess!r}?"
    listing = ", ".join(choices)
    if len(listing) <= MAX_LISTING:
        return f"{head}; allowed: {listing}"
    return f"{head}; {where}" if where else head
