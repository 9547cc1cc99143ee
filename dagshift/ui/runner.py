"""Starting, resuming and cancelling runs from the UI's process.

A run started from the UI (or GraphQL's ``triggerRun``) is recorded at once, ``queued``, so
its id can be answered before a task runs. When a live ``dagshift serve`` on the same history
serves its flow, the run is handed to it (:mod:`dagshift.history.handoff`: the serve claims it
at its next tick, once across serves); else it runs in a small thread pool of this process,
from the file its flow was last registered from, exactly as ``dagshift run`` would record it.
A handed-off run that no serve claimed before every serve of its flow went away (stopped,
killed) is taken back, by the same compare-and-swap, and run here; so is one whose serve was
killed while it ran, when no serve of its flow is left on that host to take it over (it
resumes: tasks recorded as succeeded do not run again). A UI that starts watches the
handed-off runs it finds in the history the same way (:meth:`Runner.adopt`).
Cancel goes through the history (:meth:`Store.request_cancel`), so it stops a run
of this process, of a ``serve`` or of a ``dagshift run`` alike.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dagshift.history import handoff
from dagshift.history.checkpoint import ResultStore, resume_run, run_recorded
from dagshift.history.store import Store, StoreError, new_run_id

__all__ = ["RunError", "Runner"]

_log = logging.getLogger("dagshift.ui")
HANDOFF_CHECK = 1.0  # seconds between looks at the runs handed to a serve and not yet claimed


class RunError(StoreError):
    """A run cannot be started, resumed or cancelled; the message says why."""


class Runner:
    """Runs flows for the UI, at most ``workers`` runs at once."""

    def __init__(self, store: Store, results: ResultStore, workers: int = 4) -> None:
        self.store, self.results = store, results
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dagshift-ui-run")
        self._lock = threading.Lock()
        self._prepared = False
        self._handed: set[str] = set()  # runs handed to a serve, watched until they end
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()

    def _prepare(self) -> None:
        from dagshift.cliutil import prepare_imports

        with self._lock:
            if not self._prepared:
                prepare_imports()  # Airflow DAG files import `airflow` from the shim
                self._prepared = True

    def _load(self, name: str):
        from dagshift.runtime.loader import LoadError, load_file

        self._prepare()
        known = {f["name"]: f for f in self.store.flows()}
        if name not in known:
            raise RunError(f"no flow {name!r} in {self.store.path}")
        path = known[name]["path"]
        if not path:
            raise RunError(f"flow {name!r} has no recorded file: register it with a file first")
        try:
            flows = [f for f in load_file(path) if f.name == name]
        except LoadError as exc:
            raise RunError(f"cannot load flow {name!r}: {exc}") from None
        if not flows:
            raise RunError(f"{path} no longer defines flow {name!r}")
        return flows[0], path

    def trigger(
        self, name: str, parameters: Mapping[str, Any] | None = None, logical_date: Any = None
    ) -> str:
        """Record a run of flow ``name`` and start it (or hand it to the ``serve`` that
        serves the flow); return its id.

        Raises:
            RunError: the flow cannot be loaded, or a parameter is missing.
        """
        from dagshift.runtime.context import to_datetime
        from dagshift.runtime.executor import resolve_params

        flow, path = self._load(name)
        parameters = dict(parameters or {})
        try:
            params = resolve_params(flow, parameters)
            when = to_datetime(logical_date)
        except (ValueError, TypeError) as exc:
            raise RunError(str(exc)) from None
        version, _ = self.store.register(flow, path)
        run_id = new_run_id()
        if handoff.live_service(self.store, flow.name) is not None:
            handoff.hand_off(
                self.store,
                run_id,
                flow.name,
                parameters=parameters,
                params=params,
                logical_date=when.isoformat(),
                trigger="ui",
                version=version,
                path=path,
            )
            self._watch(run_id)
            return run_id
        self.store.create_run(
            run_id,
            flow.name,
            logical_date=when.isoformat(),
            params=params,
            trigger="ui",
            version=version,
            path=path,
        )
        self._pool.submit(
            self._guard,
            run_recorded,
            self.store,
            self.results,
            flow,
            path=path,
            parameters=parameters,
            logical_date=when,
            run_id=run_id,
        )
        return run_id

    def resume(self, run_id: str) -> str:
        """Run again the tasks of a failed, cancelled or interrupted run that did not succeed.

        Raises:
            RunError: the run succeeded or is still running.
        """
        run = self.store.get_run(run_id)
        if run["state"] == "success":
            raise RunError(f"run {run['run_id']} already succeeded: nothing to resume")
        if run["state"] in ("queued", "running") and self.store.run_is_alive(run) is not False:
            raise RunError(f"run {run['run_id']} is still {run['state']}: cancel it first")
        if not self.store.requeue_run(run["run_id"]):
            raise RunError(f"run {run['run_id']} changed state meanwhile: reload and retry")
        # queued at once, so its page follows it; force: the queued row still names the pid
        # of the process that ran it last, which may be this one
        self._pool.submit(
            self._guard, resume_run, self.store, self.results, run["run_id"], force=True
        )
        return run["run_id"]

    def cancel(self, run_id: str) -> str:
        """Cancel a run: "requested", "cancelled" or "finished" (see Store.request_cancel)."""
        return self.store.request_cancel(self.store.get_run(run_id)["run_id"])

    def _guard(self, fn, store: Store, results: ResultStore, *args, **kwargs) -> None:
        try:
            fn(store, results, *args, **kwargs)
        except Exception as exc:  # the server goes on; the run says why it did not run
            _log.exception("a run started from the UI failed to run")
            run_id = kwargs.get("run_id") or (args[0] if isinstance(args[0], str) else None)
            if run_id:
                store.interrupt_runs([run_id], f"could not run: {type(exc).__name__}: {exc}")

    def adopt(self) -> None:
        """Watch the handed-off runs still queued or running in the history (handed off by
        an earlier UI, say), to run them here if every serve that could goes away."""
        try:
            for run_id in handoff.active(self.store):
                self._watch(run_id)
        except StoreError as exc:
            _log.warning("cannot look for runs handed to a serve: %s", exc)

    def _watch(self, run_id: str) -> None:
        with self._lock:
            self._handed.add(run_id)
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._take_back, name="dagshift-ui-handoffs", daemon=True
                )
                self._watcher.start()

    def _take_back(self) -> None:
        """Run here the handed-off runs that no serve of their flow is left to run: those
        never claimed, and those whose claimant died (resumed); watched until they end."""
        while not self._closed.wait(HANDOFF_CHECK):
            with self._lock:
                if not self._handed:
                    self._watcher = None
                    return
                pending = sorted(self._handed)
            for run_id in pending:
                try:
                    run = self.store.get_run(run_id)
                    if run["state"] in ("queued", "running") and self._orphaned(run):
                        self._run_here(run)
                    elif run["state"] not in ("queued", "running"):
                        with self._lock:
                            self._handed.discard(run_id)
                except StoreError:
                    continue  # the history is busy: look again next time

    def _orphaned(self, run: Mapping[str, Any]) -> bool:
        """Unclaimed, or its claimant is gone, and no live serve of its flow would take it."""
        if run["pid"] is None:
            return handoff.live_service(self.store, run["flow"]) is None
        if self.store.run_is_alive(run) is not False:
            return False  # claimed by a live process (a serve, or this one), or unknown
        # only a serve on the dead claimant's host (this one) can see it is gone and take over
        return handoff.live_service(self.store, run["flow"], host=run["host"]) is None

    def _run_here(self, run: Mapping[str, Any]) -> None:
        """Claim ``run`` by compare-and-swap and run it from its record (its file,
        parameters and logical date; the tasks recorded as succeeded are not run again)."""
        run_id = run["run_id"]
        options: dict[str, Any] = {}
        if run["pid"] is None:
            if not handoff.claim(self.store, run_id):
                return  # a serve took it meanwhile
            _log.warning("run %s: no serve of its flow is left; running it here", run_id)
            options["start_from"] = ("queued",)  # not if it was cancelled meanwhile
        else:
            if not self.store.claim(run):
                return  # a restarted serve (or another) took it over first
            _log.warning(
                "run %s: the serve that ran it (pid %s) is gone and no serve of its flow is "
                "left; resuming it here",
                run_id,
                run["pid"],
            )
        self._prepare()
        # force: the run now names this process, which is alive
        self._pool.submit(
            self._guard,
            resume_run,
            self.store,
            self.results,
            run_id,
            force=True,
            rerun_unreadable=True,
            **options,
        )

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
