"""Airflow's e-mail: ``EmailOperator`` and ``airflow.utils.email``, sent as Airflow sends them.

The message is built as Airflow 2.11's ``build_mime_message`` builds it (a ``MIMEMultipart`` of
``mime_subtype`` with the HTML body and attachments, ``To``/``CC`` joined by ", ", recipients
including CC and BCC), and sent with ``smtplib`` using Airflow's ``[smtp]`` options through
:mod:`dagshift.compat.configuration` (``AIRFLOW__SMTP__SMTP_HOST``...), credentials from the
``smtp_default`` connection (or ``conn_id``) first, then ``[smtp] smtp_user``/``smtp_password``,
retrying a dropped connection ``smtp_retry_limit`` times. ``[email] email_backend`` picks the
sending function, as in Airflow.
"""

from __future__ import annotations

import collections.abc
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Iterable
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any

from dagshift.compat.baseoperator import BaseOperator
from dagshift.compat.configuration import conf
from dagshift.compat.exceptions import AirflowConfigException, AirflowException

__all__ = [
    "EmailOperator",
    "build_mime_message",
    "get_email_address_list",
    "send_email",
    "send_email_smtp",
    "send_mime_email",
]

log = logging.getLogger("airflow.utils.email")


def get_email_address_list(addresses: str | Iterable[str]) -> list[str]:
    """A list of addresses from a string (split on ``,`` and ``;``) or an iterable of strings."""
    if isinstance(addresses, str):
        return [a.strip() for a in re.split(r"[,;]", addresses)]
    if isinstance(addresses, collections.abc.Iterable):
        if not all(isinstance(item, str) for item in addresses):
            raise TypeError("The items in your iterable must be strings.")
        return list(addresses)
    raise TypeError(f"Unexpected argument type: Received '{type(addresses).__name__}'.")


def send_email(
    to: list[str] | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    dryrun: bool = False,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    conn_id: str | None = None,
    custom_headers: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Send with the backend of ``[email] email_backend`` (SMTP by default)."""
    backend = conf.getimport("email", "email_backend")
    return backend(
        ", ".join(get_email_address_list(to)),
        subject,
        html_content,
        files=files,
        dryrun=dryrun,
        cc=cc,
        bcc=bcc,
        mime_subtype=mime_subtype,
        mime_charset=mime_charset,
        conn_id=conn_id or conf.get("email", "email_conn_id"),
        from_email=conf.get("email", "from_email", fallback=None),
        custom_headers=custom_headers,
        **kwargs,
    )


def send_email_smtp(
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    dryrun: bool = False,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    conn_id: str = "smtp_default",
    from_email: str | None = None,
    custom_headers: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Build the message and send it over SMTP."""
    mail_from = conf.get("smtp", "smtp_mail_from", fallback=None) or from_email
    if mail_from is None:
        raise ValueError(
            "You should set from email - either by smtp/smtp_mail_from config or `from_email` "
            "parameter"
        )
    msg, recipients = build_mime_message(
        mail_from, to, subject, html_content, files, cc, bcc, mime_subtype, mime_charset,
        custom_headers,
    )  # fmt: skip
    send_mime_email(mail_from, recipients, msg, conn_id=conn_id, dryrun=dryrun)


def build_mime_message(
    mail_from: str | None,
    to: str | Iterable[str],
    subject: str,
    html_content: str,
    files: list[str] | None = None,
    cc: str | Iterable[str] | None = None,
    bcc: str | Iterable[str] | None = None,
    mime_subtype: str = "mixed",
    mime_charset: str = "utf-8",
    custom_headers: dict[str, Any] | None = None,
) -> tuple[MIMEMultipart, list[str]]:
    """The message and every recipient (To, CC and BCC), as Airflow builds them."""
    recipients = get_email_address_list(to)
    msg = MIMEMultipart(mime_subtype)
    msg["Subject"] = subject
    if mail_from:
        msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    if cc:
        cc = get_email_address_list(cc)
        msg["CC"] = ", ".join(cc)
        recipients += cc
    if bcc:
        recipients += get_email_address_list(bcc)
    msg["Date"] = formatdate(localtime=True)
    msg.attach(MIMEText(html_content, "html", mime_charset))
    for name in files or []:
        basename = os.path.basename(name)
        with open(name, "rb") as fh:
            part = MIMEApplication(fh.read(), Name=basename)
        part["Content-Disposition"] = f'attachment; filename="{basename}"'
        part["Content-ID"] = f"<{basename}>"
        msg.attach(part)
    for key, value in (custom_headers or {}).items():
        msg[key] = value
    return msg, recipients


def _credentials(conn_id: str | None) -> tuple[str | None, str | None]:
    from dagshift.compat.hooks import BaseHook

    user = password = None
    if conn_id is not None:
        try:
            conn = BaseHook.get_connection(conn_id)
            user, password = conn.login, conn.password
        except AirflowException:
            pass
    if user is None or password is None:
        try:
            user, password = conf.get("smtp", "smtp_user"), conf.get("smtp", "smtp_password")
        except AirflowConfigException:
            log.debug("No user/password found for SMTP, so logging in with no authentication.")
    return user, password


def _connect(host: str, port: int, timeout: int, with_ssl: bool) -> smtplib.SMTP:
    if not with_ssl:
        return smtplib.SMTP(host=host, port=port, timeout=timeout)
    context = None if conf.get("email", "ssl_context") == "none" else ssl.create_default_context()
    return smtplib.SMTP_SSL(host=host, port=port, timeout=timeout, context=context)


def send_mime_email(
    e_from: str,
    e_to: str | list[str],
    mime_msg: MIMEMultipart,
    conn_id: str | None = "smtp_default",
    dryrun: bool = False,
) -> None:
    """Send ``mime_msg`` with the ``[smtp]`` options; a dropped connection is retried."""
    host = conf.get_mandatory_value("smtp", "smtp_host")
    port, timeout = conf.getint("smtp", "smtp_port"), conf.getint("smtp", "smtp_timeout")
    starttls, with_ssl = conf.getboolean("smtp", "smtp_starttls"), conf.getboolean(
        "smtp", "smtp_ssl"
    )
    retry_limit = conf.getint("smtp", "smtp_retry_limit")
    user, password = _credentials(conn_id)
    if dryrun:
        return
    for attempt in range(1, retry_limit + 1):
        log.info("Email alerting: attempt %s", attempt)
        try:
            smtp = _connect(host, port, timeout, with_ssl)
        except smtplib.SMTPServerDisconnected:
            if attempt == retry_limit:
                raise
            continue
        if starttls:
            smtp.starttls()
        if user and password:
            smtp.login(user, password)
        log.info("Sent an alert email to %s", e_to)
        smtp.sendmail(e_from, e_to, mime_msg.as_string())
        smtp.quit()
        return


class EmailOperator(BaseOperator):
    """Sends an e-mail (``to``, ``subject``, ``html_content`` and ``files`` are templated)."""

    template_fields = ("to", "subject", "html_content", "files")
    template_ext = (".html",)
    ui_color = "#e6faf9"

    def __init__(
        self,
        *,
        to: list[str] | str,
        subject: str,
        html_content: str,
        files: list | None = None,
        cc: list[str] | str | None = None,
        bcc: list[str] | str | None = None,
        mime_subtype: str = "mixed",
        mime_charset: str = "utf-8",
        conn_id: str | None = None,
        custom_headers: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.to, self.subject, self.html_content = to, subject, html_content
        self.files = files or []
        self.cc, self.bcc = cc, bcc
        self.mime_subtype, self.mime_charset = mime_subtype, mime_charset
        self.conn_id, self.custom_headers = conn_id, custom_headers

    def execute(self, context: dict[str, Any]) -> None:
        send_email(
            self.to,
            self.subject,
            self.html_content,
            files=self.files,
            cc=self.cc,
            bcc=self.bcc,
            mime_subtype=self.mime_subtype,
            mime_charset=self.mime_charset,
            conn_id=self.conn_id,
            custom_headers=self.custom_headers,
        )
