"""The UI server's guard: loopback without a token, a token beyond it, the Host check, no
cross-site writes, `--read-only`, and the headers every answer carries."""

import re

import httpx
import pytest
from starlette.testclient import TestClient

from dagshift.history.checkpoint import ResultStore
from dagshift.history.store import Store
from dagshift.ui.app import create_app

from .conftest import Server

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def exposed(tmp_path):
    """The app as bound to a LAN address with a token (in process: no LAN here)."""
    store = Store(tmp_path / "h.db")
    app = create_app(store, ResultStore(tmp_path / "r"), host="192.0.2.10", token=TOKEN)
    return TestClient(app, base_url="http://192.0.2.10:8790", follow_redirects=False)


def test_beyond_loopback_without_a_token_is_401(exposed):
    assert exposed.get("/").status_code == 401
    assert exposed.post("/graphql", json={"query": "{ flows { name } }"}).status_code == 401
    assert exposed.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_bearer_token_is_accepted(exposed):
    response = exposed.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    got = exposed.post(
        "/graphql",
        json={"query": "{ flows { name } }"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert got.json() == {"data": {"flows": []}}


def test_a_token_in_the_address_becomes_an_httponly_strict_cookie(exposed):
    response = exposed.get(f"/runs?state=failed&token={TOKEN}")
    assert response.status_code == 303
    assert response.headers["location"] == "/runs?state=failed"  # the token leaves the URL
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert exposed.get("/runs?state=failed").status_code == 200  # the cookie now does


def test_a_wrong_host_header_is_refused(server):
    response = httpx.get(server.url + "/", headers={"Host": "evil.example:8790"})
    assert response.status_code == 400
    assert "Invalid host header" in response.text
    assert httpx.get(server.url + "/", headers={"Host": f"localhost:{server.port}"}).is_success


def test_a_cross_site_form_post_is_refused(server):
    form = {"param:n": "3", "csrf": "whatever"}
    response = httpx.post(
        server.url + "/flows/adder/trigger", data=form, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    response = httpx.post(
        server.url + "/flows/adder/trigger", data=form, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    # same site but no CSRF token from our own page: refused too
    response = httpx.post(server.url + "/flows/adder/trigger", data=form)
    assert response.status_code == 403 and "CSRF" in response.text


def test_a_form_post_with_the_pages_csrf_token_starts_a_run(server):
    page = httpx.get(server.url + "/flows/adder").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    response = httpx.post(server.url + "/flows/adder/trigger", data={"param:n": "3", "csrf": csrf})
    assert response.status_code == 303 and response.headers["location"].startswith("/runs/")


def test_every_answer_carries_a_strict_content_security_policy(server):
    for path in ("/", "/flows/adder", "/runs", "/static/app.css", "/nope"):
        response = httpx.get(server.url + path)
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_websocket_handshakes_from_another_origin_are_refused(server):
    import asyncio

    import websockets

    async def connect(origin):
        async with websockets.connect(
            server.url.replace("http", "ws") + "/graphql",
            subprotocols=["graphql-transport-ws"],
            origin=origin,
        ) as ws:
            await ws.send('{"type": "connection_init"}')
            return await ws.recv()

    assert "connection_ack" in asyncio.run(connect(server.url))
    with pytest.raises(websockets.WebSocketException):
        asyncio.run(connect("http://evil.example"))


def test_read_only_refuses_every_change(history):
    folder, db, env = history
    srv = Server(folder, db, "--read-only", env=env)
    try:
        got = httpx.post(
            srv.url + "/graphql", json={"query": 'mutation { triggerRun(flow: "adder") { id } }'}
        ).json()
        assert "read-only" in got["errors"][0]["message"]
        page = httpx.get(srv.url + "/flows/adder").text
        assert "Start run" not in page and "read-only" in page
        assert httpx.post(srv.url + "/flows/adder/trigger", data={}).status_code == 403
    finally:
        srv.stop()


def test_binding_beyond_loopback_prints_a_new_token_and_asks_for_it(history):
    folder, db, env = history
    srv = Server(folder, db, env=env, host="0.0.0.0")
    try:
        token = re.search(r"\?token=(\S+)", srv.banner).group(1)
        assert len(token) >= 40
        assert httpx.get(srv.url + "/").status_code == 401
        ok = httpx.get(srv.url + "/", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
    finally:
        srv.stop()
