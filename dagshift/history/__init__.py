"""What happened: run records in SQLite (flows, versions, runs, task runs), result checkpoints
that let a failed or killed run resume, ``serve`` (the scheduler of a folder of flows) and the
``runs``/``serve``/``backfill`` commands. It reads and writes through one query layer
(:class:`~dagshift.history.store.Store`) that the CLI and ``serve`` share; it depends on the
runtime, never the other way round."""

from dagshift.history.checkpoint import ResultStore, resume_run, run_recorded
from dagshift.history.store import Store, StoreError, default_db_path, new_run_id

__all__ = [
    "ResultStore",
    "Store",
    "StoreError",
    "default_db_path",
    "new_run_id",
    "resume_run",
    "run_recorded",
]
