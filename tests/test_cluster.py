"""Sweeps on a multi-node Ray cluster: nothing lost, the same output directory as a local run, a dead node survived.

The cluster is ``ray.cluster_utils.Cluster`` on this one machine: a head node and a worker node, one CPU and one
unit of the custom resource ``massbargain`` each; every run asks for that resource, so runs land on both nodes.
Training budgets are tiny (about a thousand PPO steps): these tests check the machinery, not learning. Nothing
is timed; the waits have generous limits for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from massbargain.agents.config import UserError
from massbargain.experiments.cli import main
from massbargain.experiments.maps.cluster import STAGING, pack_dir, unpack_dir
from massbargain.experiments.maps.sweep import SweepSpec, load_results, read_record, run_one, run_sweep, sweep

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

#: A tiny PPO run: 4 envs x 64 steps = one 256-step rollout per update, 1024 steps in all.
TINY = {
    "timesteps": 1024,
    "n_envs": 4,
    "n_steps": 64,
    "batch_size": 128,
    "n_epochs": 2,
    "eval_freq": 512,
    "eval_episodes": 100,
    "checkpoint_freq": 10**9,
    "accept_warmup": 512,
    "episodes": 200,
}
SPEC = SweepSpec.from_dict({"base": TINY, "grid": {"brokers.recklessness": [0.1, 0.9]}, "seeds": [0, 1]})
RESOURCES = {"massbargain": 1}
#: Entries of a saved SB3 model's ``data`` that depend on the wall clock or the process rather than on the
#: training: when it started, where its TensorBoard log went, the episodes' wall-clock times (``t`` in the
#: episode info buffer), and the observation space, pickled with the state of its own unseeded generator.
CLOCK_DATA = {"start_time", "tensorboard_log", "ep_info_buffer", "observation_space"}


# --- comparing output directories ------------------------------------------------------------------------


def _files(root: Path) -> list[str]:
    """Relative paths of every file under ``root``; TensorBoard event files (named after the host, the pid and
    the time) by their folder."""
    names = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            names.append(rel.rsplit("/", 1)[0] + "/<events>" if "tfevents" in p.name else rel)
    return sorted(names)


def _zip_contents(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    data = json.loads(members.pop("data"))
    # An object entry holds its pickle (":serialized:", what loading reads) beside readable reprs of its
    # attributes, which name memory addresses; only the pickle counts.
    data = {k: v[":serialized:"] if isinstance(v, dict) and ":serialized:" in v else v for k, v in data.items()}
    return {"members": members, "data": {k: v for k, v in data.items() if k not in CLOCK_DATA}}


def assert_same_run_dir(a: Path, b: Path) -> None:
    """Two training directories of the same config and seed hold the same files with the same trained
    contents: every network and optimizer tensor byte for byte, the same model data apart from
    :data:`CLOCK_DATA`, the same evaluation history, configuration and scenario (timings and the path the run
    was trained in apart)."""
    assert _files(a) == _files(b)
    for rel in _files(a):
        if rel.endswith(".zip"):
            assert _zip_contents(a / rel) == _zip_contents(b / rel), rel
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    for key in ("status", "timesteps", "eval_seed", "history", "best", "final"):
        assert ma[key] == mb[key], key
    ca, cb = (yaml.safe_load((d / "config.yaml").read_text()) for d in (a, b))
    for key in ("scenario", "seed", "versions"):
        assert ca[key] == cb[key], key
    assert {**ca["config"], "out": None} == {**cb["config"], "out": None}


def assert_same_out(out: Path, ref: Path) -> None:
    """A sweep's output directory equals the reference's: the same files; the same records apart from the
    time taken and the node; the same training directories (:func:`assert_same_run_dir`); the same table."""
    assert _files(out) == _files(ref)
    for path in sorted((ref / "runs").glob("*.json")):
        mine, theirs = read_record(out, path.stem), read_record(ref, path.stem)
        for rec in (mine, theirs):
            rec.pop("node", None)
            rec.pop("seconds")
            rec["metrics"].pop("train_seconds")
        assert mine == theirs
        assert_same_run_dir(out / "models" / path.stem, ref / "models" / path.stem)
    timing = ["seconds", "train_seconds"]
    a, b = load_results(out).drop(columns=timing), load_results(ref).drop(columns=timing)
    assert a.equals(b)


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the sweep run locally, in this process."""
    out = tmp_path_factory.mktemp("local") / "out"
    sweep(SPEC, out, workers=1, progress=False)
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A head node and a worker node on this machine, one CPU and one unit of ``massbargain`` each."""
    if ray.is_initialized():
        ray.shutdown()
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": dict(RESOURCES), "include_dashboard": False},
    )
    c.worker = c.add_node(num_cpus=1, resources=dict(RESOURCES))
    c.wait_for_nodes()
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()


def _nodes(out: Path) -> set[str]:
    return {read_record(out, p.stem)["node"]["id"] for p in (out / "runs").glob("*.json")}


# --- tests -----------------------------------------------------------------------------------------------


def test_pack_and_unpack_a_training_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "checkpoints").mkdir(parents=True)
    (src / "model.zip").write_bytes(bytes(range(256)) * 10)
    (src / "checkpoints" / "model_8_steps.zip").write_bytes(b"x")
    dest = tmp_path / "models" / "run"
    dest.mkdir(parents=True)
    (dest / "leftover").write_text("an unfinished attempt")
    unpack_dir(pack_dir(src), dest)
    assert _files(dest) == ["checkpoints/model_8_steps.zip", "model.zip"]
    assert (dest / "model.zip").read_bytes() == (src / "model.zip").read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["run"]  # no temporary directory left
    assert pack_dir(tmp_path / "missing") is None


def test_cluster_run_equals_local_run(cluster: Any, local_out: Path, tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    sweep(SPEC, out, backend="ray", address=cluster.address, resources=RESOURCES, progress=False)
    assert_same_out(out, local_out)
    assert _nodes(out) == {cluster.head_node.node_id, cluster.worker.node_id}  # the runs used both nodes


def test_cluster_resumes_through_shared_storage(cluster: Any, local_out: Path, tmp_path: Path) -> None:
    """An interrupted sweep (two runs finished, one unfinished, writes cut short) resumed on the cluster
    with --storage: finished runs are kept as they were, the others run, and the result equals the local
    run's; the staging folder is gone afterwards."""
    out = tmp_path / "resumed"
    runs = SPEC.runs()
    (out / "runs").mkdir(parents=True)
    shutil.copy(local_out / "made_by.yaml", out / "made_by.yaml")  # the interrupted sweep's own record
    for r in runs[:2]:  # finished
        shutil.copy(local_out / "runs" / f"{r.run_id}.json", out / "runs")
        shutil.copytree(local_out / "models" / r.run_id, out / "models" / r.run_id)
    (out / "models" / runs[2].run_id).mkdir()  # unfinished: a training directory, no result file
    (out / "models" / runs[2].run_id / "model.zip").write_text("half a model")
    (out / "models" / f".{runs[3].run_id}.123.tmp").mkdir()  # an unpacking cut short
    (out / "runs" / f".{runs[3].run_id}.json.x.tmp").write_text("{")  # a write cut short
    before = {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}
    storage = tmp_path / "shared"
    sweep(SPEC, out, backend="ray", address=cluster.address, storage=storage, resources=RESOURCES, progress=False)
    assert_same_out(out, local_out)
    for name, data in before.items():  # not redone
        assert (out / "runs" / name).read_bytes() == data
    assert {"node" in read_record(out, r.run_id) for r in runs[2:]} == {True}
    assert not (storage / STAGING).exists()


def test_killed_worker_node_loses_nothing(cluster: Any, tmp_path: Path) -> None:
    """A third node is killed while it trains a run: Ray reruns that run on a live node, and the sweep
    ends with every run once, its training directory complete, and the rerun run's results those of an
    undisturbed run."""
    node_tmp = tmp_path / "node-tmp"  # the doomed node's temporary directory: its runs train there
    node_tmp.mkdir()
    doomed = cluster.add_node(num_cpus=1, resources=dict(RESOURCES), env_vars={"TMPDIR": str(node_tmp)})
    cluster.wait_for_nodes()
    # Longer runs (8192 steps), so that the kill falls in the middle of training.
    spec = SweepSpec.from_dict(
        {"base": {**TINY, "timesteps": 8192}, "grid": {"brokers.recklessness": [0.1, 0.5, 0.9]}, "seeds": [0]}
    )
    killed: list[str] = []

    def kill_when_training() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            started = list(node_tmp.glob("massbargain-run-*/*/config.yaml"))  # train() has begun
            if started:
                killed.append(started[0].parent.name)
                cluster.remove_node(doomed, allow_graceful=False)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_training, daemon=True)
    killer.start()
    out = tmp_path / "out"
    runs = spec.runs()
    records = run_sweep(runs, out, backend="ray", address=cluster.address, resources=RESOURCES, progress=False)
    killer.join(timeout=60)
    assert killed, "no run started on the node to kill"
    assert len(records) == 3 and len({r["run_id"] for r in records}) == 3
    assert sorted(p.stem for p in (out / "runs").glob("*.json")) == sorted(r.run_id for r in runs)
    assert sorted(p.name for p in (out / "models").iterdir()) == sorted(r.run_id for r in runs)  # no leftovers
    for r in runs:
        assert json.loads((out / "models" / r.run_id / "metrics.json").read_text())["status"] == "complete"
    rerun = read_record(out, killed[0])
    assert rerun["node"]["id"] != doomed.node_id  # its result came from a live node
    run = next(r for r in runs if r.run_id == killed[0])
    undisturbed = run_one(run.config, run.seed, tmp_path / "undisturbed")
    for key in ("mean_return", "consent_share", "mobilized_share", "punishment_rate", "advantage"):
        assert rerun["metrics"][key] == undisturbed[key], key
    assert_same_run_dir(out / "models" / killed[0], tmp_path / "undisturbed")


def test_cluster_errors_name_the_option(cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC.to_dict()))
    for flags, words in (
        (["--storage", str(tmp_path)], "--storage is for --backend ray"),
        (["--resources", "massbargain=1"], "--resources is for --backend ray"),
    ):
        assert main(["sweep", str(spec_path), "--out", str(tmp_path / "o"), *flags]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        main(["sweep", str(spec_path), "--out", str(tmp_path / "o"), "--backend", "ray", "--resources", "gpu=-1"])
    assert stop.value.code == 2
    assert "expected NAME=AMOUNT with an amount > 0" in capsys.readouterr().err
    with pytest.raises(UserError, match="cluster offers 0 of 'gpu_box'"):
        sweep(SPEC, tmp_path / "o", backend="ray", address=cluster.address, resources={"gpu_box": 1}, progress=False)
    with pytest.raises(UserError, match="storage is an option of the ray backend"):
        sweep(SPEC, tmp_path / "o", storage=tmp_path, progress=False)
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(UserError, match="is not a directory"):
        sweep(SPEC, tmp_path / "o", backend="ray", address=cluster.address, storage=a_file, progress=False)
