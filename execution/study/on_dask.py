"""Running a sweep's cells on Dask: a ``LocalCluster`` of processes, or a scheduler address.

Dask (``distributed``) is imported only here, only when ``--dask`` is given.
Each cell is submitted under its content key, so Dask never mixes two cells
up, and results are yielded as they complete (the caller sorts them by key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from execution.study.cell import Cell, run_cell


def run_on_dask(cells: list[Cell], address: str,
                jobs: int) -> Iterator[tuple[Cell, dict[str, Any] | BaseException]]:
    """Yield (cell, result or the exception it raised) as cells complete.

    ``address`` is ``"local"`` (a ``LocalCluster`` of ``jobs`` single-threaded worker
    processes on this machine, closed afterwards) or a scheduler address such as
    ``tcp://scheduler:8786`` (its workers must run the same scalpchart).
    """
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as completed

    logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO chatter: not ours
    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.WARNING)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = {client.submit(run_cell, cell, key=f"scalpchart-cell-{cell.key}",
                                 pure=False): cell for cell in cells}
        for future in completed(futures):
            error = future.exception()
            yield futures[future], error if error is not None else future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_count(address: str, jobs: int) -> int:
    """How many workers will run the cells (a local cluster: ``jobs``)."""
    if address == "local":
        return jobs
    from dask.distributed import Client

    with Client(address) as client:
        return len(client.scheduler_info().get("workers", {}))
