"""Output directories: one rule for every command that writes a folder of results (train, sweep, mode-map, ...).

A command writes into its ``--out`` folder and records there what made it, in ``made_by.yaml`` (the kind of
output and the configuration that decides its results). :func:`prepare_output_dir` then applies one rule:

* a missing or empty folder is created and used;
* a folder made by the same kind of output with the same configuration is continued when ``resume`` is
  true (a rerun sweep or mode map, ``train --resume``), and refused otherwise (``train`` without
  ``--resume``: pass it, or choose another folder);
* a folder made by another configuration (or another command, or not by massbargain) is refused with one
  line that names the keys that differ and the ways out: a new ``--out``, or ``--overwrite``.

``overwrite=True`` never deletes: it moves the old contents aside into a sibling folder
(``runs/x`` -> ``runs/x.old-20250102-030405``) and starts afresh.

Files are written atomically (:func:`atomic_write_text`, :func:`atomic_write_bytes`): a temporary file in the
same folder, then ``os.replace``, so a reader or an interrupted run never sees half a file. The temporary
file is created as ``open()`` creates files, with the user's umask (``tempfile.mkstemp`` would make every
file private to its owner, mode 0600).

Example::

    from massbargain.agents.outdir import prepare_output_dir

    out = prepare_output_dir("runs/map", {"seeds": 3}, resume=True, overwrite=False, what="mode map")

This module imports neither torch nor pandas.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from massbargain.agents.config import UserError

__all__ = [
    "MARKER",
    "OutputDirError",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_dir",
    "differences",
    "made_by",
    "prepare_output_dir",
    "writable_dir",
]

#: The file in each output directory that records what made it.
MARKER = "made_by.yaml"
#: How many differing keys a refusal spells out.
_SHOWN = 3


class OutputDirError(UserError):
    """An output directory that cannot be used as asked (another configuration's, not writable, ...)."""


# --- atomic files ------------------------------------------------------------------------------------------


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, with the user's umask; create the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as for open(path, "w")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, with the user's umask; create the folder if needed.

    A reader sees either the old file or the new one, never half of one (e.g. a sweep or notebook reading
    metrics while training writes them, or an interrupted run)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# --- the folder --------------------------------------------------------------------------------------------


def writable_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Create the folder ``path`` if needed and check that files can be written in it.

    Raises OutputDirError naming ``option`` and the reason: ``path`` is a file, cannot be created (e.g. an
    unwritable parent), or is not writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"{option} {str(path)!r} is a file, not a folder; choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputDirError(f"{option} {str(path)!r} cannot be created: {exc.strerror or exc}") from None
    probe = path / f".write-test.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        raise OutputDirError(f"{option} {str(path)!r} is not writable: {exc.strerror or exc}") from None
    return path


def made_by(path: str | os.PathLike) -> dict[str, Any] | None:
    """What made the output directory ``path`` (its ``made_by.yaml`` as a dict), or None if it has none."""
    import yaml

    marker = Path(path) / MARKER
    if not marker.is_file():
        return None
    try:
        data = yaml.safe_load(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """The dotted keys whose values differ between two (nested) configurations, each as
    ``key: VALUE there, VALUE here``; a key missing on one side shows as ``-``."""
    a, b = _flatten(_plain(stored)), _flatten(_plain(given))
    out = []
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key, _MISSING) != b.get(key, _MISSING):
            out.append(f"{key}: {_short(a.get(key, _MISSING))} there, {_short(b.get(key, _MISSING))} here")
    return out


def check_output_dir(
    path: str | os.PathLike, config: Mapping[str, Any], *, resume: bool, overwrite: bool, what: str
) -> bool:
    """Apply the rule of this module without touching anything; return whether the folder holds work to
    continue (true: the same configuration, ``resume``; false: a fresh start, or a move aside with
    ``overwrite``). Raises OutputDirError (one line: the difference and the ways out) where the rule refuses."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"--out {str(path)!r} is a file, not a folder; choose a folder")
    if overwrite or not _holds_work(path):
        return False
    where = str(path)
    ways_out = f"choose another --out, or pass --overwrite to move the old contents to {str(_aside(path))!r}"
    record = made_by(path)
    if record is None or not record:
        raise OutputDirError(
            f"{where!r} is not empty and was not made by this version of massbargain (no {MARKER}); {ways_out}"
        )
    if record.get("what") != what:
        raise OutputDirError(f"{where!r} holds a {record.get('what') or 'different output'}, not a {what}; {ways_out}")
    diff = differences(record.get("config") or {}, config)
    if diff:
        more = f"; and {len(diff) - _SHOWN} more" if len(diff) > _SHOWN else ""
        raise OutputDirError(
            f"{where!r} holds a {what} of another configuration ({'; '.join(diff[:_SHOWN])}{more}); {ways_out}"
        )
    if not resume:
        raise OutputDirError(
            f"{where!r} already holds this {what}; pass --resume to continue it, or --overwrite to move it to "
            f"{str(_aside(path))!r} and start afresh, or choose another --out"
        )
    return True


def prepare_output_dir(
    path: str | os.PathLike,
    config: Mapping[str, Any],
    *,
    resume: bool,
    overwrite: bool,
    what: str,
    log: Callable[[str], Any] | None = print,
) -> Path:
    """Make ``path`` ready for a ``what`` (e.g. ``"mode map"``) of configuration ``config``, by the rule of
    this module, and return it.

    Args:
        path: the output directory.
        config: what decides the results (plain values, nested mappings allowed); another configuration is
            refused. Leave out what does not change results (workers, progress bars, ...).
        resume: continue the folder's work if it is the same configuration (sweeps and mode maps always do;
            ``train`` only with ``--resume``).
        overwrite: move whatever the folder holds aside into a sibling folder first (never deletes).
        what: the kind of output, for the record and the messages.
        log: where the note about moved contents goes (None: nowhere).

    Raises:
        OutputDirError: the folder belongs to another configuration or command, holds this configuration
            but ``resume`` is false, is a file, or cannot be created or written.
    """
    import yaml

    path = Path(path)
    continuing = check_output_dir(path, config, resume=resume, overwrite=overwrite, what=what)
    if overwrite and _holds_work(path):
        aside = _aside(path)
        _move_contents(path, aside)
        if log is not None:
            log(f"moved the old contents of {path} to {aside}")
    writable_dir(path)
    if not continuing:
        record = {"made_by": f"massbargain {_version()}", "what": what, "config": _plain(config)}
        atomic_write_text(path / MARKER, yaml.safe_dump(record, sort_keys=False))
    return path


# --- helpers -----------------------------------------------------------------------------------------------

_MISSING = object()


def _holds_work(path: Path) -> bool:
    """True if ``path`` is a folder with anything but its own marker in it."""
    return path.is_dir() and any(p.name != MARKER for p in path.iterdir())


def _aside(path: Path) -> Path:
    """A sibling of ``path`` that does not exist yet: ``NAME.old-YYYYmmdd-HHMMSS`` (``-2``, ``-3``, ... if taken)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.old-{stamp}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.old-{stamp}-{n}")
        n += 1
    return candidate


def _move_contents(path: Path, aside: Path) -> None:
    """Move ``path``'s contents into the new folder ``aside``: one rename of the folder where possible, else
    item by item (``path`` is a mount point, e.g. a container volume)."""
    try:
        path.rename(aside)
        return
    except OSError:
        pass
    try:
        aside.mkdir()
        for item in list(path.iterdir()):
            shutil.move(str(item), str(aside / item.name))
    except OSError as exc:
        raise OutputDirError(f"cannot move the old contents of {str(path)!r} aside: {exc.strerror or exc}") from None


def _plain(x: Any) -> Any:
    """``x`` as plain YAML values: mappings to dicts with string keys, tuples to lists, numpy scalars to Python."""
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        return x.item()
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    return x


def _flatten(x: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(x, dict) and x:
        out: dict[str, Any] = {}
        for k, v in x.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: x}


def _short(value: Any, limit: int = 40) -> str:
    if value is _MISSING:
        return "-"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _version() -> str:
    import massbargain

    return massbargain.__version__
