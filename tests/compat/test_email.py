"""EmailOperator and send_email: the same message real Airflow 2.11 sends, to a real SMTP server.

An aiosmtpd server on loopback receives what dagshift's shim sends and what real Airflow sends
for the same DAG file (``dag.test()`` in its own environment); envelope and message must agree
(the ``Date`` header and MIME boundaries aside).
"""

import email
import socket
import uuid

import pytest

from tests.oracle.harness import airflow_run

aiosmtpd = pytest.importorskip("aiosmtpd.controller")

DAG = """
import pendulum
from airflow import DAG
from airflow.operators.email import EmailOperator
from airflow.operators.python import PythonOperator
from airflow.utils.email import send_email

with DAG("mailer", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    EmailOperator(
        task_id="report",
        to="ann@example.com; bob@example.com",
        cc=["cat@example.com"],
        bcc="dan@example.com",
        subject="Report for {{ ds }}",
        html_content="<h1>Totals</h1><p>{{ params.total }} rows</p>",
        files=["ATTACHMENT"],
        params={"total": 42},
        custom_headers={"X-Team": "data"},
    )
    PythonOperator(
        task_id="direct",
        python_callable=lambda: send_email(["eve@example.com"], "direct", "<b>hi</b>"),
    )
"""


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = aiosmtpd.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, {
        "AIRFLOW__SMTP__SMTP_HOST": "127.0.0.1",
        "AIRFLOW__SMTP__SMTP_PORT": str(port),
        "AIRFLOW__SMTP__SMTP_STARTTLS": "False",
        "AIRFLOW__SMTP__SMTP_MAIL_FROM": "airflow@example.com",
        "AIRFLOW_VAR_NONCE": uuid.uuid4().hex,  # a fresh oracle run, never a cached one
    }
    controller.stop()


def _shape(message):
    """What a reader sees of a received message: envelope, headers, parts."""
    mail_from, rcpts, content = message
    msg = email.message_from_bytes(content)
    headers = sorted((k, v) for k, v in msg.items() if k not in ("Date", "Content-Type"))
    parts = [
        (p.get_content_type(), p.get_filename(), p.get_payload(decode=True))
        for p in msg.walk()
        if not p.is_multipart()
    ]
    return mail_from, rcpts, msg.get_content_type(), headers, parts


@pytest.mark.oracle
def test_the_shim_sends_what_real_airflow_sends(dag_file, tmp_path, smtp, load, monkeypatch):
    inbox, env = smtp
    attachment = tmp_path / "totals.csv"
    attachment.write_text("region,total\neu,42\n")
    path = dag_file(DAG.replace("ATTACHMENT", str(attachment)))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = load(path)["mailer"].run(logical_date="2024-01-15")
    assert {t: r.state for t, r in run.tasks.items()} == {"report": "success", "direct": "success"}
    ours = sorted(_shape(m) for m in inbox.messages)
    inbox.messages.clear()
    theirs = airflow_run(path, "2024-01-15", generation="2", env=env)["mailer"]
    assert {t: r["state"] for t, r in theirs["tasks"].items()} == {
        "report": "success",
        "direct": "success",
    }
    assert ours == sorted(_shape(m) for m in inbox.messages)
    report = next(m for m in ours if m[0] == "airflow@example.com" and len(m[1]) == 4)
    assert report[1] == ["ann@example.com", "bob@example.com", "cat@example.com", "dan@example.com"]
    assert ("Subject", "Report for 2024-01-15") in report[3]
    assert report[4][1][1] == "totals.csv"


def test_an_unreachable_smtp_server_fails_the_task(dag_file, tmp_path, load, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__SMTP__SMTP_PORT", str(port))
    attachment = tmp_path / "a.txt"
    attachment.write_text("x")
    run = load(dag_file(DAG.replace("ATTACHMENT", str(attachment))))["mailer"].run()
    assert run.tasks["report"].state == "failed"
    assert "Connection refused" in run.tasks["report"].error
