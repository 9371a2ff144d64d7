"""The core's numpy operation count per day stays small (a guard on speed that does not time anything)."""

from __future__ import annotations

from massbargain.experiments.measures.opcount import count_operations


def test_one_environment_runs_on_few_numpy_operations():
    counts = count_operations(None, days=200)
    assert counts["draw binomial"] == 2.0  # informed, then one crowd draw (not one per resident type)
    assert 10 <= sum(counts.values()) <= 40, counts


def test_batched_core_operation_count_does_not_grow_with_copies():
    small, large = count_operations(8, days=60), count_operations(1024, days=60)
    assert sum(large.values()) <= 320, large
    assert abs(sum(large.values()) - sum(small.values())) <= 2  # vectorized: no per-copy Python loops
