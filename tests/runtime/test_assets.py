"""Assets in the functional API: URIs checked as Airflow checks them (pinned against real
Airflow 3.3 and 2.11), conditions, outlets recorded as events, consumers started by serve."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pendulum
import pytest

from dagshift import Asset, AssetAlias, Flow, outlet_events, task, triggering_asset_events
from dagshift.compat.assets import Dataset
from dagshift.history.checkpoint import ResultStore, load_completed, run_recorded
from dagshift.history.service import Service
from dagshift.history.store import Store
from tests.history.conftest import FakeClock
from tests.oracle import harness

URIS = [
    "s3://Bucket/Key/",
    "S3://bucket/a?b=2&a=1#frag",
    "postgres://user:secret@host:5432/db/schema/table",
    "file:///tmp/x//",
    "x-custom://Any/Thing/",
    "plain name",
    "airflow://reserved",
    "",
    "   ",
    "café://x",
]
ORACLE = """
import json, sys, warnings
warnings.simplefilter("ignore")
gen = sys.argv[1]
if gen == "3":
    from airflow.sdk import Asset as A
    make = lambda u: A(uri=u)
else:
    from airflow.datasets import Dataset as A
    make = lambda u: A(u)
out = []
for uri in json.loads(sys.argv[2]):
    try:
        out.append(["ok", make(uri).uri])
    except Exception as exc:
        out.append(["error", str(exc)])
print(json.dumps(out))
"""


def _ours(uri: str, generation: str) -> list[str]:
    try:
        made = Asset(uri=uri) if generation == "3" else Dataset(uri)
        return ["ok", made.uri]
    except (ValueError, TypeError) as exc:
        return ["error", str(exc)]


@pytest.mark.oracle
@pytest.mark.parametrize("generation", ["3", "2"])
def test_asset_uris_are_normalized_and_refused_as_airflow_does(generation, tmp_path):
    python = harness.airflow_python(generation)
    if not python.exists():
        pytest.skip(f"no Airflow {generation} environment")
    proc = subprocess.run(
        [str(python), "-I", "-c", ORACLE, generation, json.dumps(URIS)],
        env=harness._airflow_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    mine = [_ours(u, generation) for u in URIS]
    assert mine == theirs
    assert ["error", f"{'Asset' if generation == '3' else 'Dataset'} scheme 'airflow' is "
            "reserved"] in mine  # fmt: skip


def test_conditions_combine_with_or_and_and():
    a, b, c = Asset("a"), Asset("b"), Asset("c")
    cond = (a | b) & c
    assert not cond.evaluate({"a": True})
    assert cond.evaluate({"b": True, "c": True})
    assert list(cond.keys()) == ["a", "b", "c"]
    assert repr(a | b | c) == repr((a | b) | c)  # flattened as Airflow does


def test_a_task_outlet_must_be_an_asset():
    with pytest.raises(TypeError, match="outlets must be Assets"):

        @task(outlets=["s3://not/an/asset"])
        def bad():
            return 1


RAW = Asset("s3://lake/raw.parquet")
DAILY = AssetAlias("daily-partitions")


@task(outlets=[RAW])
def extract():
    outlet_events()[RAW].extra = {"rows": 7}
    return 7


@task(outlets=[DAILY])
def partition():
    outlet_events()[DAILY].add(Asset("s3://lake/2024-01-01"), extra={"day": 1})


CONSUMERS = """
from dagshift import Asset, AssetAlias, Flow, task, triggering_asset_events

@task
def seen():
    return [[e.asset.uri, e.source_dag_id, e.source_task_id, e.extra]
            for uri in triggering_asset_events() for e in triggering_asset_events()[uri]]

with Flow("on_raw", schedule=[Asset("s3://lake/raw.parquet")]) as on_raw:
    seen()

with Flow("on_alias", schedule=AssetAlias("daily-partitions")) as on_alias:
    seen()
"""


def test_serve_starts_functional_consumers_on_outlet_and_alias_events(tmp_path):
    store = Store(tmp_path / "h.db")
    results = ResultStore.beside(store.path)
    (tmp_path / "consumers.py").write_text(textwrap.dedent(CONSUMERS))
    svc = Service([tmp_path / "consumers.py"], store, clock=FakeClock(pendulum.now("UTC")),
                  poll=0, log=print)  # fmt: skip
    assert svc.tick() == []  # loaded; nothing pending yet
    with Flow("produce") as produce:
        extract()
        partition()
    run_recorded(store, results, produce)
    started = svc.tick()
    assert svc.wait_idle(30)
    assert len(started) == 2
    by_flow = {r["flow"]: r for r in store.list_runs(limit=None) if r["trigger"] == "asset"}
    raw_run, alias_run = by_flow["on_raw"], by_flow["on_alias"]
    raw = load_completed(store, results, raw_run["run_id"])["seen"].result
    assert raw == [["s3://lake/raw.parquet", "produce", "extract", {"rows": 7}]]
    alias = load_completed(store, results, alias_run["run_id"])["seen"].result
    assert alias == [["s3://lake/2024-01-01", "produce", "partition", {"day": 1}]]
    assert svc.tick() == []  # consumed: nothing starts again
    svc.shutdown()


def test_triggering_asset_events_is_empty_outside_an_asset_triggered_run():
    @task
    def look():
        return len(triggering_asset_events())

    with Flow("plain") as flow:
        look()
    assert flow.run().tasks["look"].result == 0


def test_a_task_yielding_metadata_records_its_extras_as_airflow_s_callable_runner_does(tmp_path):
    """Airflow (``callback_runner.create_executable_runner``, 2.x ``ExecutionCallableRunner``):
    a generator task runs to its end; each yielded ``Metadata`` updates its asset's extra and,
    with an alias, adds an event through the alias as well; other values are ignored; the
    task's result is the generator's return value."""
    from dagshift import Metadata
    from dagshift.history.assets import events_of

    @task(outlets=[RAW, DAILY])
    def produce():
        yield Metadata(RAW, {"rows": 1})
        yield "ignored"
        yield Metadata(RAW, {"cols": 2}, alias=DAILY)
        return "done"

    store = Store(tmp_path / "h.db")
    with Flow("yielding") as flow:
        produce()
    run = run_recorded(store, ResultStore.beside(store.path), flow)
    assert run.tasks["produce"].result == "done"
    by_uri = [(e["alias"], e["extra"]) for e in events_of(store, uri=RAW.uri)]
    assert sorted(by_uri, key=str) == [
        ("daily-partitions", {"cols": 2}),
        (None, {"rows": 1, "cols": 2}),
    ]


def test_inlet_events_read_the_recorded_events_of_the_task_s_inlets_only(tmp_path):
    from dagshift import get_run_context

    @task(inlets=[RAW])
    def read():
        inlets = get_run_context()["inlet_events"]
        try:
            inlets[DAILY]
        except KeyError:
            other = "KeyError"  # Airflow's: inlet_events is keyed by the task's inlets only
        return [
            [[e.source_task_id, e.extra] for e in inlets[RAW]],
            [e.id for e in inlets[0]] == [e.id for e in inlets[RAW]],
            other,
        ]

    store = Store(tmp_path / "h.db")
    results = ResultStore.beside(store.path)
    with Flow("produce") as produce:
        extract()
    with Flow("consume") as consume:
        read()
    assert consume.run().tasks["read"].result == [[], True, "KeyError"]  # no history: none
    run_recorded(store, results, produce)
    run_recorded(store, results, produce)
    run = run_recorded(store, results, consume)
    assert run.tasks["read"].result == [
        [["extract", {"rows": 7}], ["extract", {"rows": 7}]],
        True,
        "KeyError",
    ]


def test_inlet_events_by_a_uri_string_normalize_it_as_airflow_2_does(tmp_path):
    """Airflow 2.11 sanitizes a string key as a Dataset URI (user info dropped, scheme lower)."""
    from dagshift import get_run_context

    @task(inlets=[RAW])
    def read():
        inlets = get_run_context()["inlet_events"]
        with pytest.warns(UserWarning, match="auth info"):
            by_user = [e.extra for e in inlets["S3://someone@lake/raw.parquet"]]
        return [by_user, [e.extra for e in inlets["s3://lake/raw.parquet/"]]]

    store = Store(tmp_path / "h.db")
    results = ResultStore.beside(store.path)
    with Flow("produce") as produce:
        extract()
    with Flow("consume") as consume:
        read()
    run_recorded(store, results, produce)
    run = run_recorded(store, results, consume)
    assert run.tasks["read"].result == [[{"rows": 7}], [{"rows": 7}]]
