"""Old ids keep their behaviour: the v0 ids reproduce trajectories stored before model v1 existed.

``tests/data/v0_trajectories.npz`` was recorded by ``tests/data/make_v0_trajectories.py`` at commit 656bb4a
(model v0, before any v1 change). Each entry is compared bit for bit: observations, rewards, terminations,
the superior's responses and the outcomes, for the single env and the native vector env of every v0 id.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


def _recorder():
    spec = importlib.util.spec_from_file_location("make_v0_trajectories", DATA / "make_v0_trajectories.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REC = _recorder()
STORED = np.load(DATA / "v0_trajectories.npz")


@pytest.mark.parametrize("env_id", REC.IDS)
@pytest.mark.parametrize("kind", ["single", "vector"])
def test_v0_ids_reproduce_stored_trajectories(env_id: str, kind: str) -> None:
    play = REC.single if kind == "single" else REC.vector
    for seed in REC.SEEDS:
        fresh = play(env_id, seed)
        for key, value in fresh.items():
            stored = STORED[f"{env_id}/{kind}/{seed}/{key}"]
            assert stored.shape == value.shape, (env_id, kind, seed, key)
            assert np.array_equal(stored, value), f"{env_id} {kind} seed {seed}: {key} differs from the stored v0 run"


def test_stored_trajectories_cover_episode_ends() -> None:
    """The stored runs are not trivially short: they cross episode ends and non-HOLD responses."""
    ends = sum(int(STORED[f"{i}/single/{s}/terminated"].sum()) for i in REC.IDS for s in REC.SEEDS)
    responses = np.concatenate([STORED[f"{i}/single/{s}/response"] for i in REC.IDS for s in REC.SEEDS])
    assert ends >= 3
    assert (responses > 0).any()
