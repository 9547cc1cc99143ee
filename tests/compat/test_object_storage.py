"""ObjectStoragePath on local files and an fsspec store, against Airflow 3.3 and 2.11."""

import shutil
import sys

import pytest

from tests.compat.conftest import run_json
from tests.oracle.harness import airflow_run

pytestmark = pytest.mark.oracle

DAG_FILE = """
import os

import pendulum
from {dag_module} import DAG
from {task_module} import task
from {path_module} import ObjectStoragePath

with DAG("storage", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):

    @task
    def local():
        root = os.environ["STORAGE_ROOT"]
        base = ObjectStoragePath("file://" + root)
        data = base / "in" / "{{{{ ds }}}}.csv"
        data.parent.mkdir(parents=True, exist_ok=True)
        data.write_text("a,b\\n1,2\\n")
        copied = base / "copied.csv"
        data.copy(copied)
        moved = base / "moved.csv"
        copied.move(moved)
        plain = ObjectStoragePath(root) / "plain.txt"
        plain.write_text("plain")
        seen = lambda p: str(p).replace(root, "<root>")
        return {{
            "str": seen(data),
            "parts": [data.name, data.stem, data.suffix, seen(data.parent)],
            "protocol": [data.protocol, plain.protocol, data.bucket, data.namespace],
            "key": data.key.replace(root.lstrip("/"), "<root>"),
            "read": data.read_text(),
            "exists": [data.exists(), copied.exists(), moved.exists(), data.is_file()],
            "size": [data.size(), data.stat().st_size],
            "listing": sorted(seen(p) for p in base.iterdir()),
            "glob": sorted(seen(p) for p in base.glob("**/*.csv")),
            "plain": [seen(plain), plain.read_text()],
            "equal": data == ObjectStoragePath("file://" + root + "/in/{{{{ ds }}}}.csv"),
            "serialized": seen(data.serialize()["path"]),
        }}

    @task
    def in_memory():
        path = ObjectStoragePath("memory://bucket/folder/f.txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("in memory")
        with_conn = ObjectStoragePath("s3://my-bucket/a/b.csv", conn_id="aws")
        return [
            str(path),
            path.bucket,
            path.key,
            path.read_text(),
            [str(p) for p in path.parent.iterdir()],
            str(with_conn),
            with_conn.bucket,
            with_conn.key,
        ]

    local()
    in_memory()
"""

AF3 = {"dag_module": "airflow.sdk", "task_module": "airflow.sdk", "path_module": "airflow.sdk"}
AF2 = {
    "dag_module": "airflow",
    "task_module": "airflow.decorators",
    "path_module": "airflow.io.path",
}


@pytest.mark.parametrize("generation, names", [("3", AF3), ("2", AF2)], ids=["af3", "af2"])
def test_object_storage_paths_behave_as_in_airflow(dag_file, tmp_path, generation, names):
    path = dag_file(DAG_FILE.format(**names))
    ours_root, theirs_root = tmp_path / "ours", tmp_path / "theirs"
    ours_root.mkdir()
    theirs_root.mkdir()
    ours = run_json(path, env={"STORAGE_ROOT": str(ours_root)})["storage"]
    oracle_root = f"/tmp/dagshift-osp-oracle-af{generation}"  # fixed: part of the cache key
    shutil.rmtree(oracle_root, ignore_errors=True)
    theirs = airflow_run(path, "2024-01-15", generation, env={"STORAGE_ROOT": oracle_root})
    local = ours["tasks"]["local"]["result"]
    assert local["read"] == "a,b\n1,2\n" and local["exists"] == [True, False, True, True]
    assert local["str"] == "file://<root>/in/{{ ds }}.csv"
    assert ours["tasks"]["in_memory"]["result"][:4] == [
        "memory://bucket/folder/f.txt",
        "bucket",
        "folder/f.txt",
        "in memory",
    ]
    if generation == "2":
        # Airflow 2.11 serves only the schemes its installed providers register (memory://
        # fails there); the shim serves every fsspec scheme in both generations.
        del ours["tasks"]["in_memory"], theirs["storage"]["tasks"]["in_memory"]
    assert ours["tasks"] == theirs["storage"]["tasks"]


def test_a_store_url_without_fsspec_says_what_to_install(shim, monkeypatch, tmp_path):
    from airflow.sdk import ObjectStoragePath

    monkeypatch.setitem(sys.modules, "fsspec", None)  # as where fsspec is not installed
    local = ObjectStoragePath(f"file://{tmp_path}") / "x.txt"
    local.write_text("still works")
    assert local.read_text() == "still works" and [p.name for p in local.parent.iterdir()] == [
        "x.txt"
    ]
    with pytest.raises(ImportError) as info:
        ObjectStoragePath("s3://bucket/key").exists()
    assert "needs fsspec" in str(info.value) and "pip install fsspec" in str(info.value)
