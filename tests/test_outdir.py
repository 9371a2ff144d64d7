"""The rule for output directories (massbargain.agents.outdir) and atomic files written with the user's umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from massbargain.agents.config import UserError
from massbargain.agents.outdir import (
    MARKER,
    OutputDirError,
    atomic_write_bytes,
    atomic_write_text,
    check_output_dir,
    differences,
    made_by,
    prepare_output_dir,
    writable_dir,
)

CONFIG = {"seeds": 3, "grid": {"stakes": [0.15, 0.6, 0.9]}, "train": {"timesteps": 150_000}}
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root writes into read-only folders anyway


def prepare(path: Path, config: dict = CONFIG, **kw) -> Path:
    kw = {"resume": True, "overwrite": False, "what": "mode map", "log": None, **kw}
    return prepare_output_dir(path, config, **kw)


def test_a_new_folder_is_created_and_records_what_made_it(tmp_path):
    out = prepare(tmp_path / "a" / "map")
    assert out.is_dir() and [p.name for p in out.iterdir()] == [MARKER]
    record = made_by(out)
    assert record["what"] == "mode map" and record["config"] == CONFIG
    assert record["made_by"].startswith("massbargain ")
    assert made_by(tmp_path) is None


def test_the_same_configuration_is_continued_only_when_resuming(tmp_path):
    out = prepare(tmp_path / "map")
    (out / "results.csv").write_text("old\n")
    assert prepare(out, dict(CONFIG)) == out  # a tuple/list or a copy: the same configuration
    assert (out / "results.csv").read_text() == "old\n"
    with pytest.raises(OutputDirError) as err:
        prepare(out, resume=False)
    assert "already holds this mode map; pass --resume to continue it, or --overwrite" in str(err.value)


def test_another_configuration_is_refused_naming_what_differs(tmp_path):
    out = prepare(tmp_path / "map")
    (out / "results.csv").write_text("old\n")
    quick = {"seeds": 2, "grid": {"stakes": [0.15, 0.6]}, "train": {"timesteps": 150_000}}
    with pytest.raises(OutputDirError) as err:
        prepare(out, quick)
    message = str(err.value)
    assert message.startswith(f"{str(out)!r} holds a mode map of another configuration (")
    assert "seeds: 3 there, 2 here; grid.stakes: [0.15, 0.6, 0.9] there, [0.15, 0.6] here" in message
    assert "choose another --out, or pass --overwrite to move the old contents to" in message
    assert "\n" not in message and isinstance(err.value, UserError)
    assert (out / "results.csv").read_text() == "old\n"  # nothing touched


def test_a_long_difference_is_cut_to_three_keys():
    stored = {f"k{i}": i for i in range(6)}
    diff = differences(stored, {f"k{i}": i + 1 for i in range(6)})
    assert diff[0] == "k0: 0 there, 1 here" and len(diff) == 6
    assert differences({"a": 1}, {"a": 1, "b": 2}) == ["b: - there, 2 here"]
    assert differences({"a": (1, 2)}, {"a": [1, 2]}) == []


def test_another_command_or_a_foreign_folder_is_refused(tmp_path):
    out = prepare(tmp_path / "map")
    (out / "report.md").write_text("x")
    with pytest.raises(OutputDirError, match="holds a mode map, not a sweep; choose another --out"):
        prepare(out, what="sweep")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(OutputDirError, match="is not empty and was not made by this version of massbargain"):
        prepare(foreign)
    assert (foreign / "cat.jpg").read_bytes() == b"\xff\xd8"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare(empty) == empty  # an empty folder is as good as a new one


def test_overwrite_moves_the_old_contents_aside_and_never_deletes(tmp_path):
    out = prepare(tmp_path / "map")
    (out / "results.csv").write_text("first\n")
    said: list[str] = []
    prepare(out, {"seeds": 1}, overwrite=True, log=said.append)
    aside = sorted(p for p in tmp_path.iterdir() if p.name.startswith("map.old-"))
    assert len(aside) == 1 and (aside[0] / "results.csv").read_text() == "first\n"
    assert made_by(aside[0])["config"] == CONFIG  # the old folder keeps its own record
    assert said == [f"moved the old contents of {out} to {aside[0]}"]
    assert [p.name for p in out.iterdir()] == [MARKER] and made_by(out)["config"] == {"seeds": 1}
    (out / "results.csv").write_text("second\n")
    prepare(out, {"seeds": 2}, overwrite=True)  # a second move gets a folder of its own
    aside = sorted(p for p in tmp_path.iterdir() if p.name.startswith("map.old-"))
    assert len(aside) == 2 and {(a / "results.csv").read_text() for a in aside} == {"first\n", "second\n"}


def test_check_output_dir_touches_nothing(tmp_path):
    assert check_output_dir(tmp_path / "new", CONFIG, resume=False, overwrite=False, what="x") is False
    assert not (tmp_path / "new").exists()
    out = prepare(tmp_path / "map")
    (out / "a").write_text("")
    assert check_output_dir(out, CONFIG, resume=True, overwrite=False, what="mode map") is True
    assert check_output_dir(out, {}, resume=True, overwrite=True, what="mode map") is False
    assert (out / "a").exists()


def test_unusable_folders_are_one_line_errors(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(OutputDirError, match="is a file, not a folder"):
        prepare(a_file)
    with pytest.raises(OutputDirError, match=r"cannot be created: Not a directory"):
        prepare(a_file / "run")


@pytest.mark.skipif(AS_ROOT or os.name != "posix", reason="root writes into read-only folders")
def test_read_only_folders_are_named_as_such(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    (parent / "existing").mkdir()
    parent.chmod(0o500)
    (parent / "existing").chmod(0o500)
    try:
        with pytest.raises(OutputDirError, match="cannot be created: Permission denied"):
            prepare(parent / "new")
        with pytest.raises(OutputDirError, match="is not writable: Permission denied"):
            writable_dir(parent / "existing")
    finally:
        (parent / "existing").chmod(0o700)
        parent.chmod(0o700)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        text = atomic_write_text(tmp_path / "sub" / "config.yaml", "a: 1\n")
        blob = atomic_write_bytes(tmp_path / "model.zip", b"PK")
        atomic_write_text(text, "a: 2\n")  # replacing a file
    finally:
        os.umask(old)
    for path in (text, blob):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, (path, oct(path.stat().st_mode))
    assert yaml.safe_load(text.read_text()) == {"a": 2} and blob.read_bytes() == b"PK"
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary file left behind
