"""omnisync.http: pacing, the retry recipe, classification, auth flows, redaction, logs, counters.

Every client here gets an injected sleep that only records, so nothing waits and the pacer's time
is virtual (it moves only by its own sleeps).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from omnisync.channels.base import Capabilities, ChannelConfig, ChannelContext
from omnisync.errors import (
    AuthError,
    ConfigError,
    Conflict,
    Kind,
    NetworkError,
    NotFound,
    PermanentError,
    RateLimited,
    ResponseError,
    TransientError,
)
from omnisync.http import (
    ApiClient,
    BasicAuth,
    OAuth1Auth,
    OAuth2RefreshAuth,
    QueryAuth,
    Redactor,
    RetryPolicy,
    SigningAuth,
    api_calls,
    bearer,
    bigcommerce_rate_limit,
    default_error_message,
    dumps_json,
    format_api_calls,
    make_client,
    oauth1_signature,
    parse_retry_after,
)

Handler = Callable[[httpx.Request], httpx.Response]
SECRET = "tok_5ecr3t_do_not_show_0123456789"


class Rig:
    def __init__(
        self,
        handler: Handler,
        *,
        rate: float | None = None,
        verbose: bool = True,
        retry: RetryPolicy | None = None,
        auth: httpx.Auth | None = None,
        **kw: Any,
    ) -> None:
        self.calls: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.logs: list[str] = []

        def record(request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            return handler(request)

        self.ctx = ChannelContext(
            env={"SHOP_TOKEN": SECRET},
            transport=httpx.MockTransport(record),
            verbose=verbose,
            log=self.logs.append,
            sleep=self.sleeps.append,
        )
        self.cfg = _Cfg(name="shop", type="test", base_url="https://api.example.test", token_env="SHOP_TOKEN")
        caps = Capabilities(
            fields=frozenset({"quantity"}), read_page_size=50, max_write_batch=50, rate_limit_per_second=rate
        )
        self.client: ApiClient = make_client(
            self.cfg,
            self.ctx,
            capabilities=caps,
            auth=auth,
            default_base_url="",
            retry=retry or RetryPolicy(),
            rng=random.Random(7),
            **kw,
        )


class _Cfg(ChannelConfig):
    token_env: str = "SHOP_TOKEN"


def ok(body: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"ok": True}, headers=headers)


def script(*responses: httpx.Response | Exception) -> Handler:
    """Answers in order; the last one repeats."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


# -- pacing ----------------------------------------------------------------------------------------
def test_the_pacer_holds_the_published_rate() -> None:
    rig = Rig(script(ok()), rate=2.0)
    for _ in range(6):
        rig.client.get("items")
    assert rig.sleeps == [0.5, 0.5, 0.5, 0.5]  # a burst of 2, then one token every 0.5 s


def test_an_unpaced_channel_never_sleeps() -> None:
    rig = Rig(script(ok()))
    for _ in range(20):
        rig.client.get("items")
    assert rig.sleeps == []


def test_the_pacer_follows_the_vendors_quota_headers() -> None:
    rig = Rig(
        script(
            ok(headers={"X-Rate-Limit-Requests-Left": "0", "X-Rate-Limit-Time-Reset-Ms": "1500"}),
            ok(headers={"X-Rate-Limit-Requests-Left": "4", "X-Rate-Limit-Time-Reset-Ms": "5000"}),
            ok(),
        ),
        rate_limit_headers=bigcommerce_rate_limit,
    )
    rig.client.get("a")
    rig.client.get("b")  # quota empty: wait the whole window
    rig.client.get("c")  # 4 left in 5 s: spread evenly
    assert rig.sleeps == [1.5, 1.0]


def test_a_bigcommerce_429_waits_for_the_window_reset() -> None:
    rig = Rig(
        script(
            ok(status=429, headers={"X-Rate-Limit-Time-Reset-Ms": "2500", "X-Rate-Limit-Requests-Left": "0"}),
            ok(),
        ),
        rate_limit_headers=bigcommerce_rate_limit,
    )
    rig.client.get("a")
    assert rig.sleeps == [2.5]  # once: the pacer does not wait again after the retry's wait


# -- the retry recipe ------------------------------------------------------------------------------
def test_retry_after_seconds_is_honoured_exactly_once() -> None:
    rig = Rig(script(ok(status=429, headers={"Retry-After": "7"}), ok()))
    assert rig.client.get("a").status_code == 200
    assert rig.sleeps == [7.0]
    assert api_calls(rig.ctx.counters, "shop") == {
        "calls": 2,
        "reads": 2,
        "writes": 0,
        "retries": 1,
        "throttled": 1,
    }


def test_retry_after_as_an_http_date_uses_the_servers_clock() -> None:
    server_now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rig = Rig(
        script(
            ok(
                status=503,
                headers={
                    "Retry-After": format_datetime(server_now + timedelta(seconds=12), usegmt=True),
                    "Date": format_datetime(server_now, usegmt=True),
                },
            ),
            ok(),
        )
    )
    rig.client.get("a")
    assert rig.sleeps == [12.0]


def test_a_retry_after_beyond_the_cap_ends_the_retries() -> None:
    rig = Rig(
        script(ok(status=429, headers={"Retry-After": "900"}), ok()), retry=RetryPolicy(retry_after_cap=60)
    )
    with pytest.raises(RateLimited) as err:
        rig.client.get("a")
    assert err.value.retry_after == 900 and rig.sleeps == [] and len(rig.calls) == 1


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("Fri, 02 Jan 2026 03:04:15 GMT", 10.0),
        ("Fri, 02 Jan 2026 03:03:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == expected


def test_backoff_is_full_jitter_and_bounded_by_attempts() -> None:
    rig = Rig(script(ok(status=503)), retry=RetryPolicy(max_attempts=5, backoff_base=0.5, backoff_max=3))
    with pytest.raises(TransientError) as err:
        rig.client.get("a")
    assert len(rig.calls) == 5 and len(rig.sleeps) == 4
    for n, s in enumerate(rig.sleeps, start=1):
        assert 0 <= s <= min(3, 0.5 * 2 ** (n - 1))
    assert "gave up after 5 attempts" in str(err.value) and err.value.status == 503


def test_retries_are_bounded_in_total_time() -> None:
    rig = Rig(
        script(ok(status=429, headers={"Retry-After": "4"})),
        retry=RetryPolicy(max_attempts=100, max_elapsed=10),
    )
    with pytest.raises(RateLimited):
        rig.client.get("a")
    assert rig.sleeps == [4.0, 4.0] and len(rig.calls) == 3  # a third wait would pass 10 s


def test_a_plain_post_is_not_retried_after_a_5xx() -> None:
    rig = Rig(script(ok(status=503), ok()))
    with pytest.raises(TransientError):
        rig.client.post("orders", json={"a": 1})
    assert len(rig.calls) == 1


@pytest.mark.parametrize(
    "method, kwargs",
    [
        ("POST", {"json": {"items": [{"id": 1, "quantity": 5}]}, "idempotent": True}),
        ("PUT", {"json": {"quantity": 5}}),
        ("DELETE", {}),
        ("GET", {}),
    ],
)
def test_idempotent_requests_are_retried_after_a_5xx(method: str, kwargs: dict[str, Any]) -> None:
    rig = Rig(script(ok(status=502), ok(status=500), ok()))
    assert rig.client.request(method, "items", **kwargs).status_code == 200
    assert len(rig.calls) == 3
    bodies = {c.content for c in rig.calls}
    assert len(bodies) == 1  # the same absolute request each time


def test_a_429_is_retried_even_for_a_plain_post() -> None:
    rig = Rig(script(ok(status=429, headers={"Retry-After": "1"}), ok()))
    assert rig.client.post("orders", json={}).status_code == 200 and len(rig.calls) == 2


def test_a_post_whose_connection_never_opened_is_retried() -> None:
    rig = Rig(script(httpx.ConnectError("refused"), ok()))
    assert rig.client.post("orders", json={}).status_code == 200


def test_a_post_that_timed_out_is_not_sent_again() -> None:
    rig = Rig(script(httpx.ReadTimeout("timed out"), ok()))
    with pytest.raises(NetworkError) as err:
        rig.client.post("orders", json={})
    assert err.value.sent and err.value.kind is Kind.RETRY and len(rig.calls) == 1


def test_timeouts_and_resets_are_retried_for_reads() -> None:
    rig = Rig(
        script(
            httpx.ReadTimeout("timed out"),
            httpx.ReadError("reset by peer"),
            httpx.RemoteProtocolError("Server disconnected"),
            ok(),
        )
    )
    assert rig.client.get("a").status_code == 200
    assert len(rig.calls) == 4 and rig.ctx.counters["shop.retries"] == 3


# -- classification --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "status, error",
    [
        (400, PermanentError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (409, Conflict),
        (413, PermanentError),
        (422, PermanentError),
    ],
)
def test_4xx_are_classified_and_never_retried(status: int, error: type[Exception]) -> None:
    rig = Rig(script(ok({"code": "x", "message": "Nope."}, status=status), ok()))
    with pytest.raises(error) as err:
        rig.client.get("a")
    assert len(rig.calls) == 1 and not rig.sleeps
    assert "Nope." in str(err.value) and f"HTTP {status}" in str(err.value)
    assert err.value.channel == "shop"  # type: ignore[attr-defined]


def test_vendor_overrides_change_single_entries() -> None:
    rig = Rig(script(ok({"message": "quota"}, status=400), ok()), error_overrides={400: Kind.RATE_LIMITED})
    assert rig.client.get("a").status_code == 200 and len(rig.calls) == 2
    rig = Rig(script(ok(status=501), ok()), error_overrides={501: Kind.PERMANENT})
    with pytest.raises(PermanentError):
        rig.client.get("a")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {
                "code": "woocommerce_rest_product_invalid_id",
                "message": "Invalid ID.",
                "data": {"status": 404},
            },
            "Invalid ID. [woocommerce_rest_product_invalid_id]",
        ),
        (
            {"status": 422, "title": "Invalid data", "errors": {"name": "must be unique"}},
            "Invalid data: name: must be unique",
        ),
        (
            {"error": {"code": 400, "message": "Invalid offerId.", "status": "INVALID_ARGUMENT"}},
            "Invalid offerId.",
        ),
        ({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}, "Throttled"),
        ({"error": "invalid_grant", "error_description": "Refresh token expired"}, "Refresh token expired"),
        ({"message": "<b>Sorry</b>, you &amp; me"}, "Sorry , you & me"),
    ],
)
def test_the_vendors_error_message_is_extracted(body: Any, message: str) -> None:
    assert default_error_message(httpx.Response(400, json=body)) == message


@pytest.mark.parametrize(
    "content", [b"<html><h1>Bad Gateway</h1></html>", b"\xff\xfe{garbage", b"", b'{"mess']
)
def test_garbage_error_bodies_never_raise_a_traceback(content: bytes) -> None:
    rig = Rig(script(httpx.Response(502, content=content)), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TransientError) as err:
        rig.client.get("a")
    assert "Bad Gateway" in str(err.value)


@pytest.mark.parametrize("content", [b"", b'[{"id": 1,', b"\x00\x01", b"<html>"])
def test_a_garbage_success_body_is_a_response_error(content: bytes) -> None:
    rig = Rig(script(httpx.Response(200, content=content)))
    response = rig.client.get("a")
    with pytest.raises(ResponseError) as err:
        rig.client.json(response)
    assert err.value.kind is Kind.PERMANENT and "not valid JSON" in str(err.value)


def test_json_money_stays_exact() -> None:
    rig = Rig(script(httpx.Response(200, content=b'{"price": 19.99, "big": 1234567.89}')))
    data = rig.client.json(rig.client.get("a"))
    assert data == {"price": Decimal("19.99"), "big": Decimal("1234567.89")}
    assert (
        dumps_json({"price": Decimal("19.99"), "n": [Decimal("0.10")], "s": "19.99"})
        == b'{"price":19.99,"n":[0.10],"s":"19.99"}'
    )


def test_a_redirect_is_a_permanent_error_naming_base_url() -> None:
    rig = Rig(script(httpx.Response(301, headers={"Location": f"https://www.example.test/x?token={SECRET}"})))
    with pytest.raises(PermanentError) as err:
        rig.client.get("a")
    assert "base_url" in str(err.value) and SECRET not in str(err.value)


def test_base_url_is_required_and_base_path_is_joined() -> None:
    ctx = ChannelContext(env={}, transport=httpx.MockTransport(script(ok())))
    caps = Capabilities(fields=frozenset(), read_page_size=1, max_write_batch=1)
    with pytest.raises(ConfigError):
        make_client(ChannelConfig(name="x", type="t"), ctx, capabilities=caps, auth=None, default_base_url="")
    client = make_client(
        ChannelConfig(name="x", type="t", base_url="https://s.test/shop/"),
        ctx,
        capabilities=caps,
        auth=None,
        default_base_url="",
        base_path="/wp-json/wc/v3",
    )
    assert str(client.get("products").request.url) == "https://s.test/shop/wp-json/wc/v3/products"
    assert client.http.timeout == httpx.Timeout(30.0)


# -- redaction, logs, counters ---------------------------------------------------------------------
def test_the_redactor_masks_every_form_of_a_secret() -> None:
    r = Redactor(["p@ss word/+="])
    assert r("a p@ss word/+= b") == "a *** b"
    assert r("x=p%40ss%20word%2F%2B%3D") == "x=***"
    assert r("x=p%40ss+word%2F%2B%3D") == "x=***"
    assert (
        r.url("https://h.test/p?consumer_secret=abc&page=2&oauth_signature=zz")
        == "https://h.test/p?consumer_secret=***&page=2&oauth_signature=***"
    )
    assert (
        r('{"access_token": "unknown-token", "authorization": "Bearer abc.def"}')
        == '{"access_token": "***", "authorization": "Bearer ***"}'
    )
    r.add(None)
    r.add("")
    assert r("plain text stays") == "plain text stays"


def test_a_long_error_is_cut_after_redaction_so_no_piece_of_a_secret_survives() -> None:
    body = {"message": "x" * 360 + " upstream said " + SECRET}
    rig = Rig(script(ok(body, status=400)))
    with pytest.raises(PermanentError) as err:
        rig.client.get("a")
    assert SECRET[:8] not in str(err.value) and "***" in str(err.value)


def test_every_secret_of_the_config_is_redacted_from_errors_and_logs() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return ok({"message": f"bad token {SECRET} in {request.url}"}, status=400)

    rig = Rig(echo, auth=bearer(SECRET))
    with pytest.raises(PermanentError) as err:
        rig.client.get("a", params={"q": SECRET})
    text = str(err.value) + repr(err.value) + "\n".join(rig.logs)
    assert SECRET not in text and "***" in text


def test_the_verbose_log_has_one_line_per_request_without_query_strings() -> None:
    rig = Rig(
        script(ok(status=503), ok()), auth=QueryAuth({"consumer_key": "ck_x", "consumer_secret": SECRET})
    )
    rig.client.get("products", params={"page": 2})
    lines = [line for line in rig.logs if "; retry " not in line]
    assert [line.rsplit(" ", 1)[0] for line in lines] == [
        "shop: GET /products 503",
        "shop: GET /products 200",
    ]
    assert all(line.endswith("ms") for line in lines)
    assert not any("?" in line or SECRET in line or "ck_x" in line for line in rig.logs)
    assert any("GET /products: Service Unavailable (HTTP 503); retry 1 of 5 in " in line for line in rig.logs)
    assert "consumer_secret" in str(rig.calls[0].url)  # it was sent, just never shown


def test_quiet_mode_logs_nothing_but_still_counts() -> None:
    rig = Rig(script(ok()), verbose=False)
    rig.client.get("a")
    rig.client.put("b", json={"x": 1})
    assert rig.logs == []
    assert (
        format_api_calls(rig.ctx.counters, "shop")
        == "2 API calls (1 reads, 1 writes, 0 retries, 0 throttled)"
    )


# -- auth flows ------------------------------------------------------------------------------------
def test_static_header_and_basic_auth() -> None:
    rig = Rig(script(ok()), auth=bearer(SECRET))
    assert rig.client.get("a").request.headers["Authorization"] == f"Bearer {SECRET}"
    rig = Rig(script(ok()), auth=BasicAuth("ck", "cs"))
    assert (
        rig.client.get("a").request.headers["Authorization"] == "Basic " + base64.b64encode(b"ck:cs").decode()
    )


def test_oauth1_signature_matches_a_hand_computed_base_string() -> None:
    url = httpx.URL("http://Example.COM:80/wp-json/wc/v3/products")
    params = [
        ("page", "1"),
        ("oauth_consumer_key", "ck"),
        ("oauth_nonce", "n"),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", "1700000000"),
        ("sku", "A B,C"),
    ]
    base = (
        "GET&http%3A%2F%2Fexample.com%2Fwp-json%2Fwc%2Fv3%2Fproducts&oauth_consumer_key%3Dck"
        "%26oauth_nonce%3Dn%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000"
        "%26page%3D1%26sku%3DA%2520B%252CC"
    )
    expected = base64.b64encode(hmac.new(b"cs&", base.encode(), hashlib.sha256).digest()).decode()
    assert oauth1_signature("GET", url, params, "cs") == expected


def test_oauth1_signs_each_send_afresh() -> None:
    nonces = iter(["n1", "n2", "n3"])
    auth = OAuth1Auth(
        "ck_x", "cs_y", clock=lambda: datetime(2026, 1, 1, tzinfo=UTC), nonce=lambda: next(nonces)
    )
    rig = Rig(script(ok(status=503), ok()), auth=auth)
    rig.client.get("products", params={"page": 1})
    sent = [dict(c.url.params) for c in rig.calls]
    assert [s["oauth_nonce"] for s in sent] == ["n1", "n2"]
    assert all(s["oauth_timestamp"] == "1767225600" and s["page"] == "1" for s in sent)
    for s, call in zip(sent, rig.calls, strict=True):
        others = [(k, v) for k, v in call.url.params.multi_items() if k != "oauth_signature"]
        assert s["oauth_signature"] == oauth1_signature("GET", call.url, others, "cs_y")


def _oauth2_server(valid: list[str], tokens: list[str], refresh_status: int = 200) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
            assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "rt-1"
            assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
            if refresh_status != 200:
                return ok(
                    {"error": "invalid_grant", "error_description": "Refresh token revoked"},
                    status=refresh_status,
                )
            token = tokens.pop(0)
            return ok({"access_token": token, "expires_in": 7200, "token_type": "Bearer"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in valid:
            return ok({"items": []})
        return ok({"message": f"token {token} expired"}, status=401)

    return handler


def _oauth2(**kw: Any) -> OAuth2RefreshAuth:
    return OAuth2RefreshAuth(
        token_url="https://auth.example.test/oauth/token",
        client_id="cid",
        client_secret="csecret",
        refresh_token="rt-1",
        **kw,
    )


def test_oauth2_gets_a_token_then_refreshes_once_on_401() -> None:
    valid = ["at-1"]
    auth = _oauth2()
    rig = Rig(_oauth2_server(valid, ["at-1", "at-2"]), auth=auth)
    rig.client.get("items")
    assert auth.access_token == "at-1" and auth.refreshes == 1
    valid[:] = ["at-2"]  # the server expired at-1
    rig.client.get("items")
    assert auth.access_token == "at-2" and auth.refreshes == 2
    assert [c.url.path for c in rig.calls] == ["/oauth/token", "/items", "/items", "/oauth/token", "/items"]
    assert rig.ctx.counters["shop"] == 5  # token calls count as API calls
    assert not any("at-1" in line or "at-2" in line for line in rig.logs)


def test_oauth2_a_second_401_is_an_auth_error_without_a_second_refresh() -> None:
    auth = _oauth2(access_token="at-0")
    rig = Rig(_oauth2_server([], ["at-1", "at-2"]), auth=auth)
    with pytest.raises(AuthError) as err:
        rig.client.get("items")
    assert auth.refreshes == 1 and "at-1" not in str(err.value) and "***" in str(err.value)


def test_oauth2_a_failed_refresh_is_an_auth_error_with_the_vendors_reason() -> None:
    rig = Rig(_oauth2_server([], [], refresh_status=400), auth=_oauth2())
    with pytest.raises(AuthError) as err:
        rig.client.get("items")
    assert "Refresh token revoked" in str(err.value) and err.value.channel == "shop"
    assert "rt-1" not in str(err.value)


def test_oauth2_a_busy_token_endpoint_is_transient_and_retried() -> None:
    answers = [ok(status=503), ok({"access_token": "at-9"})]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return answers.pop(0)
        return ok() if request.headers.get("Authorization") == "Bearer at-9" else ok(status=401)

    auth = _oauth2()
    rig = Rig(handler, auth=auth)
    assert rig.client.get("items").status_code == 200
    assert auth.refreshes == 1 and rig.ctx.counters["shop.retries"] == 1


def test_signing_hook_signs_every_attempt_with_the_body() -> None:
    signed: list[str] = []

    def sign(request: httpx.Request) -> None:
        sig = hmac.new(b"k3y", request.content, hashlib.sha256).hexdigest()
        request.headers["X-Sign"] = sig
        signed.append(sig)

    rig = Rig(script(ok(status=500), ok()), auth=SigningAuth(sign, secrets=["k3y"]))
    rig.client.post("items", json={"a": Decimal("1.50")}, idempotent=True)
    assert len(signed) == 2 and rig.calls[1].headers["X-Sign"] == signed[1]
    assert json.loads(rig.calls[0].content) == {"a": 1.5} and rig.calls[0].content == b'{"a":1.50}'
