"""Connections: parsed and written exactly as real Airflow does, found where Airflow looks."""

import json
import os
import subprocess

import pytest

from dagshift.compat.connections import Connection, as_airflow_environment, get_connection
from dagshift.compat.exceptions import AirflowNotFoundException
from tests.oracle.harness import airflow_python

FORMS = [
    "postgres://ann:s%40cret@db.example:5433/sales?sslmode=require",
    "postgresql://db.example/sales",
    "mysql://user@host",
    "http://api.example.com/v1",
    "https://user:p%2Fw@host:8443",
    "google-cloud-platform://?key_path=%2Fkeys%2Fa.json&scope=x",
    "aws://?__extra__=%7B%22region_name%22%3A+%22eu-west-1%22%2C+%22n%22%3A+1%7D",
    "sqlite://%2Ftmp%2Fsales.db",
    "ssh://host:22?timeout=10&compress=",
    "http://https%3A%2F%2Fexample.com",
    "http://http://example.com:8080/path",
    "https://http://example.com",
    "a_b://host?x=1&y=true&z=%7B%22k%22%3A1%7D",
    "docker://user:pw@registry.example:5000",
    "spark://spark://master:7077",  # invalid in Airflow too: the scheme is replaced twice
    "spark://spark-master://master:7077",
    "a://b://c://d",
    "vertica://@:5433",
    '{"conn_type": "my-type", "host": "h", "port": "5432", "extra": {"a": {"b": 1}}}',
    '{"conn_type": "postgres", "login": "u", "password": "p w", "schema": "s", "extra": "x"}',
    '{"conn_type": "http", "extra": "[1, 2]"}',
    '{"conn_type": "http", "port": "80a"}',
]
FIELDS = ("conn_type", "host", "login", "password", "schema", "port", "extra")

_ORACLE = f"""
import json, sys
from airflow.models.connection import Connection
FIELDS = {FIELDS!r}
out = []
for form in json.loads(sys.argv[1]):
    try:
        c = Connection.from_json(form, conn_id="c") if form.startswith("{{") else Connection(
            conn_id="c", uri=form)
    except Exception as e:
        out.append(str(e))
        continue
    out.append([getattr(c, f) for f in FIELDS] + [c.get_uri(), c.extra_dejson])
print(json.dumps(out))
"""


def _ours(form):
    try:
        c = (
            Connection.from_json(form, conn_id="c")
            if form.startswith("{")
            else Connection(conn_id="c", uri=form)
        )
    except Exception as exc:
        return str(exc)
    return [getattr(c, f) for f in FIELDS] + [c.get_uri(), c.extra_dejson]


@pytest.mark.oracle
@pytest.mark.parametrize("generation", ["2", "3"])
def test_connections_parse_and_print_as_in_real_airflow(generation, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "dagshift.compat.connections.installed_airflow_generation", lambda: generation
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    proc = subprocess.run(
        [str(airflow_python(generation)), "-c", _ORACLE, json.dumps(FORMS)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = json.loads(proc.stdout.splitlines()[-1])
    for form, expected in zip(FORMS, theirs, strict=True):
        assert _ours(form) == expected, form


def test_a_connection_comes_from_the_environment_before_the_connections_file(tmp_path, monkeypatch):
    store = tmp_path / "connections.json"
    store.write_text(
        json.dumps(
            {
                "warehouse": "postgres://file@db/sales",
                "api": {"conn_type": "http", "host": "api.example", "extra": {"token": "t"}},
            }
        )
    )
    monkeypatch.setenv("DAGSHIFT_CONNECTIONS", str(store))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", '{"conn_type": "postgres", "login": "env"}')
    assert get_connection("warehouse").login == "env"
    assert get_connection("api").extra_dejson == {"token": "t"}
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE")
    assert get_connection("warehouse").login == "file"
    with pytest.raises(AirflowNotFoundException, match="The conn_id `nowhere` isn't defined"):
        get_connection("nowhere")
    # What bridged operators and hooks (real Airflow) see: the same connections.
    env = as_airflow_environment()
    assert Connection.from_json(env["AIRFLOW_CONN_API"]).host == "api.example"


def test_a_broken_connections_file_is_named_with_what_to_do(tmp_path, monkeypatch):
    store = tmp_path / "connections.json"
    store.write_text("{not json")
    monkeypatch.setenv("DAGSHIFT_CONNECTIONS", str(store))
    with pytest.raises(RuntimeError, match="connections.json: cannot read the connections file"):
        get_connection("x")
