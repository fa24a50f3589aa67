"""Fixtures for the failover suite: `cluster` (3 primaries, 3 replicas) and `sentinels`
(a primary, two replicas, three Sentinels), started for each test, which may break them,
and stopped after it (see tests/redis_topologies.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from ..conftest import no_redis
from ..redis_topologies import Cluster, Sentinels

T = TypeVar("T", Cluster, Sentinels)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from _running(Cluster, tmp_path)


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[Sentinels]:
    yield from _running(Sentinels, tmp_path)


def _running(kind: type[T], directory: Path) -> Iterator[T]:
    try:
        topology = kind(directory)
    except FileNotFoundError:
        no_redis("redis-server and redis-cli are needed to start a Redis topology")
        raise
    try:
        yield topology
    finally:
        topology.stop()
