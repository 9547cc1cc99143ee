"""Fixtures for running the same semantic tests on the threaded scheduler and a real
dask.distributed LocalCluster (two worker processes on loopback)."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="session")
def cluster_client():
    from distributed import Client, LocalCluster

    # Worker processes import task functions by module name, as a user's workers would.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=4, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(params=["threads", "cluster"])
def executor(request):
    """Keyword arguments for ``flow.run``: the local threaded scheduler or the cluster."""
    if request.param == "threads":
        return {}
    return {"cluster": request.getfixturevalue("cluster_client"), "results": "all"}
