"""The auth flows of the adapter kit (``omnisync.http``), against ``httpx.MockTransport``: OAuth2
client credentials and refresh token (one token-endpoint parser), a login returning a session token
(Vendure's and Medusa's are configurations of it), and request signing over another flow.

Each flow: the token is obtained once and cached; a 401 obtains a new one once and resends once; a
second 401 is an :class:`AuthError`; a token about to expire is replaced first; no secret or token
ever shows in the log or in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from omnisync.channels.base import Capabilities, ChannelConfig, ChannelContext
from omnisync.channels.medusa import MedusaLogin
from omnisync.channels.vendure import VendureLogin
from omnisync.errors import AuthError, ResponseError
from omnisync.http import (
    ApiClient,
    OAuth2ClientCredentialsAuth,
    OAuth2RefreshAuth,
    SessionLoginAuth,
    SigningAuth,
    Tokens,
    make_client,
)

CLIENT_ID = "cid-4a1e"
CLIENT_SECRET = "csecret-9f8e7d6c5b4a"
PASSWORD = "pw-do-not-print-3141"
TOKEN_URL = "https://auth.example.test/oauth/token"

Handler = Callable[[httpx.Request], httpx.Response]


class _Cfg(ChannelConfig):
    pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A client for ``https://api.example.test`` with ``auth``, every request recorded."""

    def __init__(self, handler: Handler, auth: httpx.Auth) -> None:
        self.calls: list[httpx.Request] = []
        self.logs: list[str] = []

        def record(request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            return handler(request)

        ctx = ChannelContext(
            env={},
            transport=httpx.MockTransport(record),
            verbose=True,
            log=self.logs.append,
            sleep=lambda s: None,
        )
        cfg = _Cfg(name="shop", type="test", base_url="https://api.example.test", retry_attempts=2)
        caps = Capabilities(fields=frozenset({"quantity"}), read_page_size=50, max_write_batch=50)
        self.client: ApiClient = make_client(
            cfg, ctx, capabilities=caps, auth=auth, default_base_url="", rng=random.Random(7)
        )

    def paths(self) -> list[str]:
        return [c.url.path for c in self.calls]

    def shown(self) -> str:
        """Everything the run showed: the log."""
        return "\n".join(self.logs)


def answer(body: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


class OAuthServer:
    """A token endpoint issuing at-1, at-2, ... and an API accepting the tokens in ``valid``."""

    def __init__(self, *, expires_in: int | None = 3600, refresh_status: int = 200) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.expires_in = expires_in
        self.status = refresh_status
        self.grants: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.grants.append(form(request))
            if self.status != 200:
                return answer(
                    {"error": "invalid_client", "error_description": "Client authentication failed"},
                    status=self.status,
                )
            token = f"at-{len(self.issued) + 1}-secretish"
            self.issued.append(token)
            self.valid.add(token)
            body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return answer(body)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.valid:
            return answer({"items": []})
        return answer({"message": f"token {token} is not valid"}, status=401)


def client_credentials(clock: Clock | None = None, **kw: Any) -> OAuth2ClientCredentialsAuth:
    return OAuth2ClientCredentialsAuth(
        token_url=TOKEN_URL,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=clock or Clock(),
        **kw,
    )


# -- OAuth2 client credentials -----------------------------------------------------------------
def test_client_credentials_fetch_one_token_and_reuse_it() -> None:
    server = OAuthServer()
    rig = Rig(server, client_credentials())
    for _ in range(3):
        rig.client.get("items")
    assert rig.paths() == ["/oauth/token", "/items", "/items", "/items"]
    [grant] = server.grants
    assert grant == {"grant_type": "client_credentials"}  # the client in HTTP Basic, not the form
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert rig.calls[0].headers["Authorization"] == f"Basic {basic}"
    assert all(c.headers["Authorization"] == f"Bearer {server.issued[0]}" for c in rig.calls[1:])
    assert server.issued[0] not in rig.shown() and CLIENT_SECRET not in rig.shown()


def test_client_credentials_in_the_body_and_a_header_of_the_vendors_choice() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return answer({"access_token": "tok-1", "expires_in": 600})
        return answer()

    auth = client_credentials(client_auth="body", header="X-Access-Token", prefix="", scope="catalog")
    Rig(handler, auth).client.get("items")
    assert form(seen[0]) == {
        "grant_type": "client_credentials",
        "scope": "catalog",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert "Authorization" not in seen[0].headers
    assert seen[1].headers["X-Access-Token"] == "tok-1" and "Authorization" not in seen[1].headers


def test_client_credentials_get_a_new_token_once_on_401_and_resend_once() -> None:
    server = OAuthServer()
    rig = Rig(server, client_credentials())
    rig.client.get("items")
    server.valid.clear()  # the vendor revoked at-1 before it expired
    assert rig.client.get("items").status_code == 200
    assert rig.paths() == ["/oauth/token", "/items", "/items", "/oauth/token", "/items"]
    assert rig.calls[-1].headers["Authorization"] == f"Bearer {server.issued[1]}"


def test_client_credentials_a_second_401_is_an_auth_error_without_a_third_token() -> None:
    server = OAuthServer()
    auth = client_credentials()
    rig = Rig(server, auth)
    rig.client.get("items")
    server.valid.clear()

    def refuse_all(request: httpx.Request) -> httpx.Response:
        response = server(request)
        server.valid.clear()  # every token is refused, even a fresh one
        return response

    rig2 = Rig(refuse_all, auth)
    with pytest.raises(AuthError) as err:
        rig2.client.get("items")
    assert rig2.paths() == ["/items", "/oauth/token", "/items"]
    assert len(server.issued) == 2 and auth.refreshes == 2
    text = str(err.value)
    assert "***" in text and not any(t in text for t in server.issued) and CLIENT_SECRET not in text


def test_client_credentials_replace_a_token_shortly_before_it_expires() -> None:
    server = OAuthServer(expires_in=300)
    clock = Clock()
    rig = Rig(server, client_credentials(clock, leeway=60))
    rig.client.get("items")
    clock.now = 239.0  # 61 s left: still used
    rig.client.get("items")
    assert rig.paths() == ["/oauth/token", "/items", "/items"]
    clock.now = 240.0  # 60 s left: within the leeway, replaced before the request
    rig.client.get("items")
    assert rig.paths()[3:] == ["/oauth/token", "/items"]
    assert rig.calls[-1].headers["Authorization"] == f"Bearer {server.issued[1]}"


def test_a_token_without_expires_in_is_kept_until_a_401() -> None:
    server = OAuthServer(expires_in=None)
    clock = Clock()
    rig = Rig(server, client_credentials(clock))
    rig.client.get("items")
    clock.now = 10 * 86400.0
    rig.client.get("items")
    assert rig.paths() == ["/oauth/token", "/items", "/items"]


def test_a_refused_client_is_an_auth_error_with_the_vendors_reason_and_no_secret() -> None:
    rig = Rig(OAuthServer(refresh_status=401), client_credentials())
    with pytest.raises(AuthError, match="Client authentication failed") as err:
        rig.client.get("items")
    assert CLIENT_SECRET not in str(err.value) and err.value.channel == "shop"
    assert rig.paths() == ["/oauth/token"]  # an AuthError is not retried


def test_a_token_answer_without_a_token_is_a_response_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return answer({"token_type": "Bearer"})

    with pytest.raises(ResponseError, match="without an access_token"):
        Rig(handler, client_credentials()).client.get("items")


# -- OAuth2 refresh token: the same endpoint parsing ------------------------------------------------
def test_refresh_token_flow_keeps_a_rotated_refresh_token_and_redacts_it() -> None:
    kept: list[Tokens] = []
    calls: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            calls.append(form(request))
            n = len(calls)
            return answer({"access_token": f"at-{n}-x", "refresh_token": f"rt-{n + 1}-x", "expires_in": 120})
        return answer({"echo": request.headers["Authorization"]})

    clock = Clock()
    auth = OAuth2RefreshAuth(
        token_url=TOKEN_URL,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token="rt-1-x",
        on_tokens=kept.append,
        clock=clock,
        leeway=30,
    )
    rig = Rig(handler, auth)
    rig.client.get("items")
    clock.now = 95.0  # within 30 s of the end of its 120 s
    rig.client.get("items")
    assert [c["refresh_token"] for c in calls] == ["rt-1-x", "rt-2-x"]
    assert all(c["grant_type"] == "refresh_token" for c in calls)
    assert kept == [Tokens("at-1-x", "rt-2-x", 120.0), Tokens("at-2-x", "rt-3-x", 120.0)]
    assert auth.refresh_token == "rt-3-x"
    redacted = rig.client.redactor("rt-3-x at-2-x rt-1-x " + CLIENT_SECRET)
    assert redacted == "*** *** *** ***"


# -- a login returning a session token --------------------------------------------------------------
class JsonLogin(SessionLoginAuth):
    """A plain configuration of the login flow: ``POST /login`` answers ``{"jwt": ...}``."""

    def __init__(self, password: str) -> None:
        super().__init__(secrets=[password], header="X-Session", prefix="")
        self.password = password

    def login_request(self, request: httpx.Request) -> httpx.Request:
        return self.json_post(request.url.join("/login"), {"user": "admin", "password": self.password})

    def session_token(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            raise AuthError("login failed: refused", status=response.status_code)
        return str(response.json()["jwt"])


class LoginServer:
    def __init__(self, header: str = "X-Session", prefix: str = "") -> None:
        self.header, self.prefix = header, prefix
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.logins: list[dict[str, Any]] = []
        self.refuse_logins = False

    def issue(self) -> str:
        token = f"sess-{len(self.issued) + 1}-{'z' * 12}"
        self.issued.append(token)
        self.valid.add(token)
        return token

    def api(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get(self.header, "").removeprefix(self.prefix)
        if token in self.valid:
            return answer({"ok": True})
        return answer({"message": f"session {token} expired"}, status=401)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            self.logins.append(json.loads(request.content))
            if self.refuse_logins:
                return answer({"message": "wrong password"}, status=401)
            return answer({"jwt": self.issue()})
        return self.api(request)


def test_session_login_logs_in_once_and_puts_the_token_on_every_request() -> None:
    server = LoginServer()
    rig = Rig(server, JsonLogin(PASSWORD))
    rig.client.get("items")
    rig.client.post("items", json={"a": 1}, idempotent=True)
    assert rig.paths() == ["/login", "/items", "/items"]
    assert server.logins == [{"user": "admin", "password": PASSWORD}]
    assert rig.calls[0].headers["Content-Type"] == "application/json"
    assert all(c.headers["X-Session"] == server.issued[0] for c in rig.calls[1:])
    assert PASSWORD not in rig.shown() and server.issued[0] not in rig.shown()


def test_session_login_logs_in_again_once_on_401_then_a_second_401_is_an_auth_error() -> None:
    server = LoginServer()
    rig = Rig(server, JsonLogin(PASSWORD))
    rig.client.get("items")
    server.valid.clear()  # the session ended
    assert rig.client.get("items").status_code == 200
    assert rig.paths() == ["/login", "/items", "/items", "/login", "/items"]

    original = server.api

    def refuse_everything(request: httpx.Request) -> httpx.Response:
        server.valid.clear()
        return original(request)

    server.api = refuse_everything  # type: ignore[method-assign]
    with pytest.raises(AuthError) as err:
        rig.client.get("items")
    assert rig.paths()[5:] == ["/items", "/login", "/items"]
    text = str(err.value)
    assert not any(t in text for t in server.issued) and PASSWORD not in text


def test_a_refused_login_is_an_auth_error_without_the_password() -> None:
    server = LoginServer()
    server.refuse_logins = True
    rig = Rig(server, JsonLogin(PASSWORD))
    with pytest.raises(AuthError, match="login failed") as err:
        rig.client.get("items")
    assert PASSWORD not in str(err.value) and PASSWORD not in rig.shown()
    assert rig.paths() == ["/login"]


def test_medusas_login_is_the_session_login_flow() -> None:
    server = LoginServer(header="Authorization", prefix="Bearer ")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/user/emailpass":
            server.logins.append(json.loads(request.content))
            return answer({"token": server.issue()})
        return server.api(request)

    auth = MedusaLogin("https://api.example.test/auth/user/emailpass", "admin@example.test", PASSWORD)
    rig = Rig(handler, auth)
    rig.client.get("admin/stores")
    server.valid.clear()
    rig.client.get("admin/stores")
    assert rig.paths() == [
        "/auth/user/emailpass",
        "/admin/stores",
        "/admin/stores",
        "/auth/user/emailpass",
        "/admin/stores",
    ]
    assert server.logins[0] == {"email": "admin@example.test", "password": PASSWORD}
    assert not any(t in rig.shown() for t in [PASSWORD, *server.issued])


def test_vendures_login_is_the_session_login_flow() -> None:
    server = LoginServer(header="Authorization", prefix="Bearer ")

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "OmnisyncLogin" in body["query"]:
            server.logins.append(body["variables"])
            token = server.issue()
            data = {"data": {"login": {"__typename": "CurrentUser", "id": "1", "identifier": "admin"}}}
            return answer(data, headers={"vendure-auth-token": token})
        return server.api(request)

    auth = VendureLogin("admin", PASSWORD)
    rig = Rig(handler, auth)
    rig.client.post("admin-api", params={"languageCode": "en"}, json={"query": "{ me { id } }"})
    assert [str(c.url) for c in rig.calls] == [
        "https://api.example.test/admin-api",  # the login goes to the API, without the query
        "https://api.example.test/admin-api?languageCode=en",
    ]
    assert server.logins == [{"username": "admin", "password": PASSWORD}]
    assert rig.calls[1].headers["Authorization"] == f"Bearer {server.issued[0]}"
    assert not any(t in rig.shown() for t in [PASSWORD, *server.issued])


# -- request signing --------------------------------------------------------------------------------
SIGNING_KEY = "sk-hmac-27182818"


def hmac_signer(seen: list[tuple[str, bytes, str]]) -> Callable[[httpx.Request], None]:
    """A TikTok-style signer: HMAC over path, sorted query and body, added as a query parameter,
    plus a header with the timestamp."""

    def sign(request: httpx.Request) -> None:
        query = "".join(f"{k}{v}" for k, v in sorted(request.url.params.multi_items()) if k != "sign")
        message = request.url.path.encode() + query.encode() + request.content
        digest = hmac.new(SIGNING_KEY.encode(), message, hashlib.sha256).hexdigest()
        request.url = request.url.copy_merge_params({"sign": digest, "timestamp": "1767225600"})
        request.headers["X-Signed-With"] = request.headers.get("Authorization", "none")
        seen.append((request.url.path, request.content, digest))

    return sign


def test_a_signer_gets_the_final_body_and_adds_query_parameters_and_headers() -> None:
    seen: list[tuple[str, bytes, str]] = []
    rig = Rig(lambda r: answer(), SigningAuth(hmac_signer(seen), secrets=[SIGNING_KEY]))
    rig.client.post("orders", params={"shop": "s1"}, json={"qty": 3}, idempotent=True)
    [(path, body, digest)] = seen
    assert path == "/orders" and body == b'{"qty":3}'
    sent = rig.calls[0]
    assert sent.url.params["sign"] == digest and sent.url.params["shop"] == "s1"
    assert sent.headers["X-Signed-With"] == "none" and sent.content == body
    assert digest not in rig.shown() and SIGNING_KEY not in rig.shown()  # ?sign= is never logged


def test_signing_over_client_credentials_signs_each_api_request_with_its_token() -> None:
    server = OAuthServer()
    seen: list[tuple[str, bytes, str]] = []
    auth = SigningAuth(hmac_signer(seen), secrets=[SIGNING_KEY], inner=client_credentials())
    rig = Rig(server, auth)
    rig.client.get("items")
    server.valid.clear()
    rig.client.get("items")
    assert rig.paths() == ["/oauth/token", "/items", "/items", "/oauth/token", "/items"]
    assert [p for p, _, _ in seen] == ["/items", "/items", "/items"]  # the token endpoint: unsigned
    assert "sign" not in rig.calls[0].url.params and "sign" not in rig.calls[3].url.params
    first, second = server.issued
    assert rig.calls[1].headers["X-Signed-With"] == f"Bearer {first}"
    assert rig.calls[4].headers["X-Signed-With"] == f"Bearer {second}"  # re-signed with the new token
    assert not any(t in rig.shown() for t in [first, second, CLIENT_SECRET, SIGNING_KEY])
