"""While bulk work runs (pulls, a remap), the cyclic collector runs less often; the setting
comes back after the last of several overlapping ones, even when one fails."""

from __future__ import annotations

import gc

import pytest

from bridge.gcpause import BULK_GC_THRESHOLD, fewer_collections


def test_the_threshold_is_raised_while_pulls_run_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    assert gc.get_threshold() == (max(before[0], BULK_GC_THRESHOLD), *before[1:])
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], BULK_GC_THRESHOLD)  # one pull still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_failing_pull_restores_it() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the source failed")
    assert gc.get_threshold() == before
