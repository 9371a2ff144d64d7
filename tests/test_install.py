"""Install extras: the light core registers and runs every id without torch; a command that needs a missing
extra says which one in one line; pyproject.toml's extras and massbargain.extras agree.

The light install is simulated in a subprocess that hides the extras' packages (``sys.modules[name] = None``
makes both ``import name`` and ``importlib.util.find_spec(name)`` fail, as if it were not installed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from massbargain.extras import EXTRAS, require

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: Every package an extra brings (import names), hidden to simulate ``pip install massbargain``.
HEAVY = sorted({m for modules in EXTRAS.values() for m in modules} | {"scipy", "nbclient", "IPython"})


def run_light(body: str) -> dict:
    """Run ``body`` with every extra's package hidden; it prints one JSON line as its last line."""
    code = f"import sys\nfor _m in {HEAVY!r}:\n    sys.modules[_m] = None\n" + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_light_core_makes_and_steps_every_id_without_any_extra():
    report = run_light(
        """
        import json
        import gymnasium as gym
        import massbargain
        played = {}
        for env_id in massbargain.ENV_IDS:
            env = gym.make(env_id, render_mode="ansi")
            env.reset(seed=0)
            for action in (2, 3, 1):
                env.step(action)
            text = env.render()
            vec = gym.make_vec(env_id, num_envs=4)
            vec.reset(seed=0)
            vec.step(vec.action_space.sample() % 7)
            played[env_id] = text.startswith("Day")
        heavy = [m for m in ("torch", "stable_baselines3", "pandas", "matplotlib") if sys.modules.get(m)]
        print(json.dumps({"played": played, "ids": list(massbargain.ENV_IDS), "heavy": heavy}))
        """
    )
    assert report["heavy"] == []
    assert list(report["played"]) == report["ids"] and all(report["played"].values())


def test_commands_name_the_extra_they_need_and_the_core_commands_run():
    report = run_light(
        """
        import contextlib, io, json
        from massbargain.experiments.cli import main
        results = {}
        for argv in (["train", "--out", "x"], ["evaluate", "x"], ["mode-map", "--quick", "--out", "x"],
                     ["bench", "--quick"], ["baselines", "--episodes", "20"], ["--version"]):
            err, out = io.StringIO(), io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    status = main(argv)
                except SystemExit as exc:
                    status = exc.code
            results[argv[0]] = [status, err.getvalue(), out.getvalue()]
        import gymnasium as gym
        env = gym.make("MassBargain-v0", render_mode="rgb_array")
        env.reset(seed=0)
        try:
            env.render()
        except ImportError as exc:
            results["rgb_array"] = [type(exc).__name__, str(exc), ""]
        print(json.dumps(results))
        """
    )
    for command, extras in (("train", "train"), ("evaluate", "train"), ("mode-map", "train,analysis")):
        status, err, _ = report[command]
        assert status == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"massbargain: error: massbargain {command} needs the ") and "torch" in err
        assert f"pip install 'massbargain[{extras}]'" in err
    assert report["bench"][0] == 2 and "needs the train extra" in report["bench"][1]
    status, err, out = report["baselines"]
    assert status == 0 and out.startswith("baseline: 20 episodes per baseline") and err == ""
    assert report["--version"][0] == 0 and "extras installed: none" in report["--version"][2]
    kind, message, _ = report["rgb_array"]
    assert kind == "MissingExtra" and "pip install 'massbargain[render]'" in message


def test_require_names_the_missing_extras():
    require("train", what="this test")  # installed here: nothing happens
    hidden = run_light(
        """
        import json
        from massbargain.extras import MissingExtra, installed, missing, require
        try:
            require("train", "ray", what="massbargain sweep")
            message = None
        except MissingExtra as exc:
            message = str(exc)
        print(json.dumps({"message": message, "missing": missing("train", "ray"), "installed": installed()}))
        """
    )
    assert hidden["missing"] == ["train", "ray"] and hidden["installed"] == []
    assert hidden["message"].startswith("massbargain sweep needs the train and ray extras (")
    assert "pip install 'massbargain[train,ray]' (in a clone: pip install -e '.[train,ray]')" in hidden["message"]


def test_a_folder_named_like_a_package_is_not_the_package(tmp_path, monkeypatch):
    """A namespace folder in the working directory (Ray leaves /tmp/ray behind) is not the package."""
    from massbargain.extras import _importable

    (tmp_path / "mb_probe_folder").mkdir()
    (tmp_path / "mb_probe_module.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _importable("mb_probe_folder") is False
    assert _importable("mb_probe_module") is True and _importable("mb_not_anywhere") is False


def test_pyproject_extras_match_massbargain_extras():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = {re.split(r"[<>=!~ \[;]", d)[0].lower().replace("_", "-") for d in project["dependencies"]}
    assert names == {"gymnasium", "numpy", "pyyaml"}  # the light core
    extras = project["optional-dependencies"]

    def dists(extra: str) -> set[str]:
        out: set[str] = set()
        for dep in extras[extra]:
            name = re.split(r"[<>=!~ \[;]", dep)[0].lower()
            if name == "massbargain":  # massbargain[a,b]: those extras' packages
                for inner in re.search(r"\[(.*)\]", dep).group(1).split(","):
                    out |= dists(inner.strip())
            else:
                out.add(name.replace("_", "-"))
        return out

    distribution = {"sklearn": "scikit-learn"}  # modules imported under another name than their distribution's
    for extra, modules in EXTRAS.items():
        assert {distribution.get(m, m).lower().replace("_", "-") for m in modules} <= dists(extra), extra
    assert dists("train") | dists("analysis") <= dists("test")  # the suite runs every test
    assert dists("all") >= dists("train") | dists("render") | dists("analysis") | dists("ray")
    assert "torch==" not in PYPROJECT.read_text().replace(" ", "")  # never pinned exactly
