"""The UI server's guard, one ASGI middleware in front of every page, API call and websocket.

- Host check: a request whose ``Host`` names anything but the address the server is bound
  to (or, bound to loopback, ``localhost``/``127.0.0.1``/``[::1]``) is refused, so a page on
  another site cannot reach the server through DNS rebinding.
- Token: required when the server is bound beyond loopback. It is accepted as
  ``Authorization: Bearer TOKEN``, or once as ``?token=TOKEN``, which is answered with a
  redirect that drops it from the address and sets an HttpOnly, SameSite=Strict cookie.
  Tokens are compared in constant time.
- Unsafe methods: a POST from another site (``Origin`` not ours, or ``Sec-Fetch-Site:
  cross-site``) is refused; ``/graphql`` takes only JSON POSTs, which a browser cannot send
  cross-site without a preflight that nothing here answers; form posts carry a CSRF token
  (:meth:`Guard.csrf_ok`). Websocket handshakes from another origin are refused.
- Every response gets ``Content-Security-Policy: default-src 'self'`` (nothing is loaded
  from elsewhere, no inline script or style), ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` and ``Referrer-Policy: same-origin`` (with ``no-referrer``,
  Chromium sends ``Origin: null`` on the pages' own form posts, which then look cross-site).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["Guard", "is_loopback"]

COOKIE = "dagshift_token"
CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(value: str) -> str:
    """``Host`` header without its port: ``[::1]:8790`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """The middleware; ``token`` None means no token is asked (loopback only)."""

    def __init__(
        self, app: Any, host: str, token: str | None, allowed_hosts: set[str] | None = None
    ) -> None:
        self.app = app
        self.token = token
        names = {_host_name(host)}
        if is_loopback(host) or host in ("0.0.0.0", "::"):
            names |= _LOOPBACK_NAMES
        self.allowed = names | {h.lower() for h in (allowed_hosts or set())}
        self._csrf_key = secrets.token_bytes(32)

    # ------------------------------------------------------------------ CSRF
    def csrf_token(self, scope: dict) -> str:
        """The form token of this server (tied to the session cookie when there is one)."""
        seed = _cookies(scope).get(COOKIE, "").encode()
        return hmac.new(self._csrf_key, b"csrf:" + seed, hashlib.sha256).hexdigest()

    def csrf_ok(self, scope: dict, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf_token(scope), str(given))

    # ------------------------------------------------------------------- ASGI
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refuse(scope, headers)
        if refusal is not None:
            status, text = refusal
            await _deny(scope, receive, send, status, text)
            return
        if scope["type"] == "http" and self.token and self._token_in_query(scope):
            await self._exchange_token(scope, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + _HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refuse(self, scope: dict, headers: dict[str, str]) -> tuple[int, str] | None:
        if _host_name(headers.get("host", "")) not in self.allowed:
            return 400, "Invalid host header: this server answers only to the address it runs on"
        if self.token and not self._authorized(scope, headers):
            return 401, "A token is required: open the address with ?token=TOKEN as printed"
        origin = headers.get("origin")
        if origin and _host_name(urlsplit(origin).netloc) not in self.allowed:
            if scope["type"] == "websocket" or scope["method"] not in ("GET", "HEAD"):
                return 403, "Cross-origin request refused"
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            if headers.get("sec-fetch-site") == "cross-site":
                return 403, "Cross-site request refused"
            if scope["path"].rstrip("/") == "/graphql":
                kind = headers.get("content-type", "").split(";")[0].strip().lower()
                if kind != "application/json":
                    return 415, "GraphQL requests must be JSON POSTs (application/json)"
        return None

    def _authorized(self, scope: dict, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        candidates = [auth[7:].strip()] if auth.lower().startswith("bearer ") else []
        candidates.append(_cookies(scope).get(COOKIE, ""))
        candidates.append(self._token_in_query(scope) or "")
        return any(hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates if c)

    @staticmethod
    def _token_in_query(scope: dict) -> str | None:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        return query.get("token")

    async def _exchange_token(self, scope: dict, send: Callable) -> None:
        query = [
            (k, v)
            for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            if k != "token"
        ]
        target = scope["path"] + (f"?{urlencode(query)}" if query else "")
        cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", target.encode()), (b"set-cookie", cookie.encode())]
                + _HEADERS,
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _cookies(scope: dict) -> dict[str, str]:
    for key, value in scope.get("headers", []):
        if key.lower() == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: no cookies
                return {}
            return {k: m.value for k, m in jar.items()}
    return {}


async def _deny(scope: dict, receive: Callable, send: Callable, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # the connect message
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ]
            + _HEADERS,
        }
    )
    await send({"type": "http.response.body", "body": body})
