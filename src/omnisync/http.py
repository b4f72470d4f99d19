"""One HTTP client factory for every channel adapter.

:func:`make_client` returns an :class:`ApiClient`: an ``httpx.Client`` underneath (``ctx.transport``
when the context carries one, so tests pass an ``httpx.MockTransport`` or nothing for a real loopback
server) wrapped in the policies every adapter shares, so that adapters never sleep, retry, count or
redact on their own:

- **timeouts** from ``cfg.timeout_seconds``;
- a **pacer** per channel: a token bucket at the vendor's published limit
  (``capabilities.rate_limit_per_second``), corrected by the vendor's own rate-limit headers through a
  small parser strategy (:func:`retry_after_header`, :func:`bigcommerce_rate_limit`,
  :func:`remaining_reset_headers`);
- **one tenacity retry recipe**: full-jitter exponential backoff, ``Retry-After`` (seconds or an HTTP
  date) honoured up to a cap, bounded by attempts *and* total time; only idempotent requests are sent
  again (GET/HEAD/PUT/DELETE, and POSTs the adapter marks ``idempotent=True``), except that a 429
  (refused before processing) and a connection that never opened are retried for any request;
- **classification** through :func:`omnisync.errors.classify_status` plus the vendor's overrides into
  omnisync's :class:`~omnisync.errors.ChannelError` kinds, with the vendor's own error message;
  garbage or truncated bodies raise :class:`~omnisync.errors.ResponseError`, never a traceback;
- **auth as httpx ``Auth`` flows**: :class:`HeaderAuth`/:func:`bearer`, :class:`BasicAuth`,
  :class:`QueryAuth`, :class:`OAuth1Auth` (one-legged, WooCommerce over plain HTTP), the token
  flows of :class:`TokenAuth` (a token obtained by a request of their own, cached until shortly
  before it expires; a 401 obtains a new one once and resends once): :class:`OAuth2RefreshAuth`,
  :class:`OAuth2ClientCredentialsAuth` and :class:`SessionLoginAuth` (a login returning a session
  token), and :class:`SigningAuth` (a request-signing hook, optionally over another flow);
- **redaction**: a :class:`Redactor` holding every secret value the channel uses, applied to the
  ``--verbose`` request log, to every exception message and to logged URLs;
- a ``--verbose`` request log through ``ctx.log`` (``name: METHOD /path status 12ms``, never a query
  string) and API-call counters in ``ctx.counters`` (see :func:`api_calls`).

Time: with ``ctx.sleep`` injected (tests) the client keeps *virtual* time, starting at 0 and advanced
only by its own sleeps, so pacing and retry budgets are deterministic and nothing ever waits.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import hashlib
import hmac
import html
import json
import math
import random
import re
import secrets as _secrets
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote, quote_plus

import httpx
import tenacity

from .errors import (
    AuthError,
    ChannelError,
    ConfigError,
    Kind,
    NetworkError,
    PermanentError,
    ResponseError,
    classify_status,
    error_for,
)

if TYPE_CHECKING:  # channels/base.py may import this module; only annotations need these
    from .channels.base import Capabilities, ChannelConfig, ChannelContext

__all__ = [
    "IDEMPOTENT_METHODS",
    "SECRET_PARAMS",
    "ApiClient",
    "BasicAuth",
    "BodyErrorParser",
    "HeaderAuth",
    "OAuth1Auth",
    "OAuth2ClientCredentialsAuth",
    "OAuth2RefreshAuth",
    "OAuth2TokenAuth",
    "OmnisyncAuth",
    "Pacer",
    "QueryAuth",
    "RateLimitInfo",
    "Redactor",
    "RetryPolicy",
    "SessionLoginAuth",
    "SigningAuth",
    "TokenAuth",
    "Tokens",
    "api_calls",
    "bearer",
    "bigcommerce_rate_limit",
    "default_error_message",
    "dumps_json",
    "format_api_calls",
    "make_client",
    "oauth1_signature",
    "parse_retry_after",
    "remaining_reset_headers",
    "retry_after_header",
]

IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

# Query parameters whose values are secrets wherever they appear (logged URLs, error messages).
SECRET_PARAMS: frozenset[str] = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "client_secret",
        "code",
        "consumer_key",
        "consumer_secret",
        "key",
        "oauth_consumer_key",
        "oauth_signature",
        "oauth_token",
        "password",
        "refresh_token",
        "secret",
        "sig",
        "sign",
        "signature",
        "token",
        "x-amz-signature",
    }
)
_SECRET_PARAM_WORDS = ("secret", "token", "signature", "password", "apikey", "api_key")
MASK = "***"
# "consumer_secret=abc" / "access_token": "abc" in free text (an echoed URL or body): the value goes
# even when it is not a secret this client knows (a token some proxy added, say)
_PARAM_IN_TEXT = re.compile(
    r"""\b((?:[A-Za-z0-9_.-]*(?:secret|token|signature|password|apikey|api_key)|consumer_key|key)["']?)"""
    r"""(\s*[=:]\s*["']?)(?!\*\*\*)([^\s&"',;}]+)""",
    re.IGNORECASE,
)
_AUTH_IN_TEXT = re.compile(
    r"""\b((?:proxy-)?authorization["']?\s*[=:]\s*["']?(?:[A-Za-z0-9_-]+\s+)?)(?!\*\*\*)([^\s"',;}]+)""",
    re.IGNORECASE,
)


# -- redaction -------------------------------------------------------------------------------------
class Redactor:
    """Replaces every known secret value (and its URL-encoded forms) with ``***``.

    >>> r = Redactor(["s3cr3t-value"])
    >>> r("auth failed for s3cr3t-value")
    'auth failed for ***'
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Also redact ``secret`` (e.g. an access token obtained at run time)."""
        if not secret or not secret.strip():
            return
        forms = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
        with self._lock:
            before = len(self._values)
            self._values.update(f for f in forms if f)
            if len(self._values) != before:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._values)

    def __call__(self, text: object) -> str:
        out = str(text)
        pattern = self._pattern
        if pattern is not None:
            out = pattern.sub(MASK, out)
        out = _AUTH_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}", out)
        return _PARAM_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)

    def url(self, url: httpx.URL | str, *, query: bool = True) -> str:
        """A URL safe to show: secret-looking query values masked, then every secret value."""
        u = httpx.URL(str(url))
        if not query or not u.query:
            return self(u.copy_with(query=None, fragment=None))
        pairs = [(k, MASK if _is_secret_param(k) else v) for k, v in u.params.multi_items()]
        shown = u.copy_with(query=None, fragment=None)
        text = str(shown) + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='*')}" for k, v in pairs)
        return self(text)

    def path(self, url: httpx.URL) -> str:
        """The path of ``url`` only (for log lines): no host, no query string."""
        return self(url.path)


def _is_secret_param(name: str) -> bool:
    low = name.lower()
    return low in SECRET_PARAMS or any(w in low for w in _SECRET_PARAM_WORDS)


# -- rate-limit headers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class RateLimitInfo:
    """What a response says about the vendor's quota. All fields optional."""

    remaining: float | None = None  # requests left in the current window
    reset_after: float | None = None  # seconds until the window refills
    retry_after: float | None = None  # seconds the server asks us to wait before the next request


RateLimitParser = Callable[[httpx.Response, datetime], RateLimitInfo]


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (relative to ``now``)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _server_now(response: httpx.Response, now: datetime) -> datetime:
    """The server's own clock (its ``Date`` header) when it sent one: HTTP-date Retry-After values
    are relative to it, so a skewed local clock does not matter."""
    date = response.headers.get("date")
    if date:
        try:
            parsed = parsedate_to_datetime(date)
            if parsed is not None:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            pass
    return now


def retry_after_header(response: httpx.Response, now: datetime) -> RateLimitInfo:
    """The default strategy: only the standard ``Retry-After`` header."""
    return RateLimitInfo(
        retry_after=parse_retry_after(response.headers.get("retry-after"), _server_now(response, now))
    )


def _num(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        n = float(value.strip())
    except ValueError:
        return None
    return n if math.isfinite(n) else None


def remaining_reset_headers(
    remaining: str, reset: str, *, reset_unit: float = 1.0, retry_after: Sequence[str] = ("retry-after",)
) -> RateLimitParser:
    """A strategy for the common ``X-...-Remaining`` / ``X-...-Reset`` header pair.

    ``reset`` is read as a duration in ``reset_unit`` seconds (0.001 for milliseconds).
    """

    def parse(response: httpx.Response, now: datetime) -> RateLimitInfo:
        left = _num(response.headers.get(remaining))
        reset_value = _num(response.headers.get(reset))
        reset_after = reset_value * reset_unit if reset_value is not None else None
        ra: float | None = None
        for name in retry_after:
            ra = parse_retry_after(response.headers.get(name), _server_now(response, now))
            if ra is not None:
                break
        if ra is None and response.status_code == 429 and reset_after is not None:
            ra = reset_after
        return RateLimitInfo(remaining=left, reset_after=reset_after, retry_after=ra)

    return parse


# BigCommerce: X-Rate-Limit-Requests-Left and X-Rate-Limit-Time-Reset-Ms (ms until the quota
# refreshes); a 429 means "sleep for X-Rate-Limit-Time-Reset-Ms" (storefronts.md 3.3).
bigcommerce_rate_limit: RateLimitParser = remaining_reset_headers(
    "x-rate-limit-requests-left",
    "x-rate-limit-time-reset-ms",
    reset_unit=0.001,
    retry_after=("retry-after", "x-retry-after"),
)


# -- pacing ----------------------------------------------------------------------------------------
class _Clock:
    """Monotonic seconds and sleep. Virtual when only ``sleep`` is injected: time starts at 0 and
    moves only when this clock sleeps."""

    def __init__(self, sleep: Callable[[float], None] | None, monotonic: Callable[[], float] | None) -> None:
        self._virtual = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep if sleep is not None else time.sleep
        if monotonic is not None:
            self._now: Callable[[], float] = monotonic
        elif sleep is not None:
            self._now = lambda: self._virtual
        else:
            self._now = time.monotonic

    def now(self) -> float:
        return self._now()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._sleep(seconds)
        with self._lock:
            self._virtual += seconds


class Pacer:
    """A token bucket at ``rate`` requests per second (``None``: unpaced), corrected by the server.

    The vendor's headers move a "not before" instant: ``remaining`` requests left in a window that
    resets in ``reset_after`` seconds spreads the rest evenly (all of the window when none is left),
    and a ``retry_after`` (capped at ``max_pause``) holds every request until it has passed.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: float | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_pause: float = 60.0,
    ) -> None:
        self.rate = rate if rate is not None and rate > 0 else None
        self.capacity = max(1.0, burst if burst is not None else (self.rate or 1.0))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._stamp = clock()
        self._not_before = -math.inf
        self.max_pause = max_pause
        self.waited = 0.0  # total seconds spent pacing
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if self.rate is not None and now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = max(self._stamp, now)

    def acquire(self) -> float:
        """Take one token, sleeping first if needed. Returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            delay = 0.0
            if now < self._not_before:
                delay = self._not_before - now
            if self.rate is not None:
                tokens_then = min(self.capacity, self._tokens + delay * self.rate)
                if tokens_then < 1:
                    delay += (1 - tokens_then) / self.rate
            if delay > 0:
                self._sleep(delay)
                self.waited += delay
                now = max(self._clock(), now + delay)
                self._refill(now)
                self._tokens = max(self._tokens, 1.0) if self.rate is not None else self._tokens
            if self.rate is not None:
                self._tokens -= 1
            return delay

    def observe(self, info: RateLimitInfo) -> None:
        """Correct the bucket from what the server said about its quota."""
        with self._lock:
            now = self._clock()
            hold = -math.inf
            if info.remaining is not None and info.reset_after is not None:
                hold = now + max(0.0, info.reset_after) / (max(0.0, info.remaining) + 1)
            if info.remaining is not None and self.rate is not None:
                self._refill(now)
                self._tokens = min(self._tokens, max(0.0, info.remaining))
            if info.retry_after is not None:
                hold = max(hold, now + min(info.retry_after, self.max_pause))
            self._not_before = max(self._not_before, min(hold, now + self.max_pause))


# -- retry policy ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """The one retry recipe's knobs.

    Full-jitter backoff: attempt ``n`` waits ``uniform(0, min(backoff_max, backoff_base * 2**(n-1)))``
    seconds, unless the server named a wait (``Retry-After``): that wait is honoured exactly when it
    is at most ``retry_after_cap``; a longer demand ends the retries (the error carries
    ``retry_after`` so the run can say when to come back). At most ``max_attempts`` tries, and no
    sleep that would end past ``max_elapsed`` seconds after the first try.
    """

    max_attempts: int = 6
    max_elapsed: float = 180.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0


DEFAULT_RETRY = RetryPolicy()


# -- error messages --------------------------------------------------------------------------------
ErrorParser = Callable[[httpx.Response], "str | None"]
# A vendor whose errors come in a successful answer (GraphQL: HTTP 200 with top-level ``errors``)
# names them: ``(kind, message)``, or None for a real success. Its kind decides retries as a status would.
BodyErrorParser = Callable[[httpx.Response], "tuple[Kind, str] | None"]
_TAG = re.compile(r"<[^>]+>")


def _clean(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _shorten(text: str, limit: int = 400) -> str:
    """Cut a long message (after redaction: cutting first could leave half a secret unmatched)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def default_error_message(response: httpx.Response) -> str | None:
    """The vendor's own message from a JSON error body, in the shapes vendors use:
    ``{"message", "code"}`` (WooCommerce/WordPress), ``{"errors": [{"message"}]}`` (GraphQL, eBay),
    ``{"errors": {field: msg}}`` and ``{"title", "detail"}`` (BigCommerce, problem+json),
    ``{"error": {"message"}}`` (Google), ``{"error", "error_description"}`` (OAuth2)."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return _message_from(body)


def _message_from(body: Any) -> str | None:
    if isinstance(body, list):
        parts = [m for m in (_message_from(x) for x in body[:5]) if m]
        return "; ".join(parts) or None
    if not isinstance(body, dict):
        return None
    msg: str | None = None
    for key in ("message", "error_description", "detail", "errorMessage", "title"):
        v = body.get(key)
        if isinstance(v, str) and v.strip():
            msg = v
            break
    err = body.get("error")
    if msg is None and isinstance(err, dict):
        msg = _message_from(err)
    elif msg is None and isinstance(err, str) and err.strip():
        msg = err
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        inner = _message_from(errors)
        msg = f"{msg}: {inner}" if msg and inner and inner not in msg else (msg or inner)
    elif isinstance(errors, dict) and errors:
        inner = "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:5] if isinstance(v, str))
        msg = f"{msg}: {inner}" if msg and inner else (msg or inner or None)
    code = body.get("code")
    if msg and isinstance(code, str) and code and code not in msg:
        msg = f"{msg} [{code}]"
    return _clean(msg) if msg else None


# -- JSON ------------------------------------------------------------------------------------------
_DEC_MARK = "\u0000dec:"
_DEC_RE = re.compile(r'"\\u0000dec:(-?[0-9.Ee+-]+)"')


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"{obj} is not a JSON number")
        return f"{_DEC_MARK}{obj}"
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps_json(obj: Any) -> bytes:
    """JSON with ``Decimal`` written as an exact JSON number (never through float)."""
    text = json.dumps(obj, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    return _DEC_RE.sub(lambda m: m.group(1), text).encode("utf-8")


# -- auth flows ------------------------------------------------------------------------------------
class OmnisyncAuth(httpx.Auth):
    """An httpx auth flow that knows its secrets (for the redactor)."""

    def secret_values(self) -> list[str]:
        return []

    def attach(self, redactor: Redactor) -> None:
        """Called by :func:`make_client`: flows that obtain new secrets at run time register them."""
        for s in self.secret_values():
            redactor.add(s)


class HeaderAuth(OmnisyncAuth):
    """A static token in a header: ``HeaderAuth("X-Auth-Token", token)``."""

    def __init__(self, header: str, token: str, *, prefix: str = "") -> None:
        self.header = header
        self.token = token
        self.prefix = prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = f"{self.prefix}{self.token}"
        yield request

    def secret_values(self) -> list[str]:
        return [self.token]


def bearer(token: str) -> HeaderAuth:
    """``Authorization: Bearer <token>``."""
    return HeaderAuth("Authorization", token, prefix="Bearer ")


class BasicAuth(OmnisyncAuth):
    """HTTP Basic: ``Authorization: Basic base64(user:password)``."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raw = f"{self.username}:{self.password}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        yield request

    def secret_values(self) -> list[str]:
        raw = f"{self.username}:{self.password}".encode()
        return [self.username, self.password, base64.b64encode(raw).decode("ascii")]


class QueryAuth(OmnisyncAuth):
    """Credentials as query parameters (WooCommerce ``consumer_key``/``consumer_secret`` over HTTPS
    when the server drops the Authorization header; legacy ``?token=`` APIs)."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = dict(params)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(self.params)
        yield request

    def secret_values(self) -> list[str]:
        return list(self.params.values())


def _rfc3986(text: str) -> str:
    return quote(text, safe="~")  # unreserved: ALPHA DIGIT - . _ ~ (quote keeps "-._" itself)


def oauth1_signature(
    method: str,
    url: httpx.URL,
    params: Sequence[tuple[str, str]],
    secret: str,
    *,
    signature_method: str = "HMAC-SHA256",
    token_secret: str = "",
) -> str:
    """An OAuth 1.0a signature (RFC 5849 section 3.4) over the method, the URL without its query
    and ``params`` (query parameters plus the ``oauth_*`` ones, without ``oauth_signature``)."""
    algo = {"HMAC-SHA256": hashlib.sha256, "HMAC-SHA1": hashlib.sha1}.get(signature_method)
    if algo is None:
        raise ValueError(f"unsupported OAuth signature method {signature_method!r}")
    scheme = url.scheme.lower()
    host = (url.host or "").lower()
    port = url.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{url.path}"
    encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    base_string = "&".join([method.upper(), _rfc3986(base_uri), _rfc3986(normalized)])
    key = f"{_rfc3986(secret)}&{_rfc3986(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), algo).digest()
    return base64.b64encode(digest).decode("ascii")


class OAuth1Auth(OmnisyncAuth):
    """One-legged OAuth 1.0a (a consumer key and secret, no token), parameters in the query string:
    what WooCommerce requires over plain HTTP (storefronts.md 2.1). Each send is signed afresh, so a
    retried request carries a new nonce and timestamp."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        signature_method: Literal["HMAC-SHA256", "HMAC-SHA1"] = "HMAC-SHA256",
        clock: Callable[[], datetime] | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.signature_method = signature_method
        self.clock = clock or (lambda: datetime.now(UTC))
        self.nonce = nonce or (lambda: _secrets.token_hex(16))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        oauth = {
            "oauth_consumer_key": self.consumer_key,
            "oauth_nonce": self.nonce(),
            "oauth_signature_method": self.signature_method,
            "oauth_timestamp": str(int(self.clock().timestamp())),
        }
        params = [*request.url.params.multi_items(), *oauth.items()]
        oauth["oauth_signature"] = oauth1_signature(
            request.method, request.url, params, self.consumer_secret, signature_method=self.signature_method
        )
        request.url = request.url.copy_merge_params(oauth)
        yield request

    def secret_values(self) -> list[str]:
        return [self.consumer_key, self.consumer_secret]


class SigningAuth(OmnisyncAuth):
    """A request-signing hook (Walmart's signature headers, TikTok Shop's HMAC, Amazon-style APIs).

    ``sign(request)`` gets each request just before it goes out, as it will be sent: final URL and
    query, headers, and body (``request.content``, already serialized). It adds what the vendor
    wants: headers (``request.headers[...] = ...``) and query parameters
    (``request.url = request.url.copy_merge_params({...})``). Every send is signed anew, so a retried
    request carries a fresh timestamp and signature.

    ``inner`` authenticates first (e.g. an :class:`OAuth2ClientCredentialsAuth` whose token is part
    of what is signed): the signer sees the request with the inner flow's token on it, also when
    the inner flow sends it again after a 401; the inner flow's own requests (its token endpoint)
    are not signed.
    """

    requires_request_body = True

    def __init__(
        self,
        sign: Callable[[httpx.Request], None],
        *,
        secrets: Iterable[str] = (),
        inner: OmnisyncAuth | None = None,
    ) -> None:
        self.sign = sign
        self._secrets = [s for s in secrets if s]
        self.inner = inner
        self.requires_response_body = bool(inner is not None and inner.requires_response_body)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.inner is None:
            self.sign(request)
            yield request
            return
        flow = self.inner.auth_flow(request)
        outgoing = next(flow)
        while True:
            if outgoing is request:
                self.sign(outgoing)
            response = yield outgoing
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    def secret_values(self) -> list[str]:
        return [*self._secrets, *(self.inner.secret_values() if self.inner is not None else [])]

    def attach(self, redactor: Redactor) -> None:
        for s in self._secrets:
            redactor.add(s)
        if self.inner is not None:
            self.inner.attach(redactor)


class TokenAuth(OmnisyncAuth, metaclass=abc.ABCMeta):
    """The shape every token flow shares: a token obtained by a request of the flow's own, put on
    every request (``header: prefix + token``).

    The token is obtained before the first request, and again when it is within ``leeway`` seconds
    of its expiry (when the vendor says when that is). On a 401 the flow obtains a new one once and
    resends the request once; a second 401 goes back to the caller, whose client raises it as an
    :class:`AuthError`. When another request already replaced the token that was refused, it is
    resent with that one without asking again. Every token obtained is redacted from logs and
    errors from then on.

    Subclasses say how to ask (:meth:`token_request`) and read the answer (:meth:`take`, which
    calls :meth:`keep`): :class:`OAuth2RefreshAuth`, :class:`OAuth2ClientCredentialsAuth`,
    :class:`SessionLoginAuth`.
    """

    requires_response_body = True

    def __init__(
        self,
        *,
        token: str | None = None,
        header: str = "Authorization",
        prefix: str = "Bearer ",
        clock: Callable[[], float] = time.monotonic,
        leeway: float = 60.0,
    ) -> None:
        self.token = token
        self.header = header
        self.prefix = prefix
        self.clock = clock
        self.leeway = leeway
        self.expires_at: float | None = None
        self._redactor: Redactor | None = None

    # -- hooks ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def token_request(self, request: httpx.Request) -> httpx.Request:
        """The request that obtains a token (``request``: the one about to be authenticated)."""

    @abc.abstractmethod
    def take(self, response: httpx.Response) -> None:
        """Read the answer to :meth:`token_request`: :meth:`keep` the token, or raise
        :class:`AuthError` (refused) or :class:`ResponseError` (no token in it)."""

    def credentials(self) -> list[str]:
        """The secrets the flow starts with (redacted from the start)."""
        return []

    # -- shared ----------------------------------------------------------------------------------
    def secret_values(self) -> list[str]:
        return [s for s in (*self.credentials(), self.token) if s]

    def attach(self, redactor: Redactor) -> None:
        super().attach(redactor)
        self._redactor = redactor

    def redact(self, secret: str) -> None:
        """Redact a secret obtained at run time (a token, a rotated refresh token)."""
        if self._redactor is not None:
            self._redactor.add(secret)

    def keep(self, token: str, expires_in: object = None) -> None:
        """Use ``token`` from now on; ``expires_in``: seconds it lives, when the vendor says."""
        self.redact(token)
        self.token = token
        self.expires_at = (
            self.clock() + float(expires_in)
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
            else None
        )

    def expired(self) -> bool:
        return self.expires_at is not None and self.clock() >= self.expires_at - self.leeway

    def apply(self, request: httpx.Request, token: str | None) -> None:
        request.headers[self.header] = f"{self.prefix}{token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        fresh = False
        if not self.token or self.expired():
            self.take((yield self.token_request(request)))
            fresh = True
        used = self.token
        self.apply(request, used)
        response = yield request
        if response.status_code == 401 and not fresh:
            if self.token == used:  # nobody else obtained a new one meanwhile
                self.take((yield self.token_request(request)))
            self.apply(request, self.token)
            yield request


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: float | None = None


class OAuth2TokenAuth(TokenAuth):
    """An OAuth2 token endpoint (RFC 6749 section 5): ``POST token_url`` with the grant of the
    subclass (:meth:`grant`), the client id and secret in HTTP Basic (``client_auth="basic"``) or
    in the form (``"body"``); the answer's ``access_token`` is used until shortly before its
    ``expires_in``. A refusal is an :class:`AuthError` with the vendor's reason; a token endpoint
    that is down or busy is a transient error (the request is retried like any other)."""

    failure = "refreshing the access token failed"

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        access_token: str | None = None,
        scope: str | None = None,
        client_auth: Literal["basic", "body"] = "basic",
        header: str = "Authorization",
        prefix: str = "Bearer ",
        extra_params: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        leeway: float = 60.0,
    ) -> None:
        super().__init__(token=access_token, header=header, prefix=prefix, clock=clock, leeway=leeway)
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.client_auth = client_auth
        self.extra_params = dict(extra_params or {})
        self.refreshes = 0  # tokens obtained

    @property
    def access_token(self) -> str | None:
        return self.token

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self.token = value

    @abc.abstractmethod
    def grant(self) -> dict[str, str]:
        """The grant's form fields (``grant_type`` first)."""

    def received(self, body: Mapping[str, Any], expires: object) -> None:
        """Called after each token obtained, with the whole answer (a rotated refresh token)."""

    def credentials(self) -> list[str]:
        return [self.client_secret]

    def token_request(self, request: httpx.Request) -> httpx.Request:
        data = {**self.grant(), **self.extra_params}
        if self.scope:
            data["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.client_auth == "basic":
            raw = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        else:
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        return httpx.Request("POST", self.token_url, data=data, headers=headers)

    def take(self, response: httpx.Response) -> None:
        status = response.status_code
        if status != 200:
            msg = default_error_message(response) or f"HTTP {status}"
            kind = classify_status(status)
            retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            if kind in (Kind.RETRY, Kind.RATE_LIMITED):  # the token endpoint is down or busy
                raise error_for(kind, f"{self.failure}: {msg}", status=status, retry_after=retry_after)
            raise AuthError(f"{self.failure}: {msg}", status=status)
        try:
            body = json.loads(response.content)
            token = body["access_token"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ResponseError("the token endpoint answered without an access_token") from None
        if not isinstance(token, str) or not token:
            raise ResponseError("the token endpoint answered without an access_token")
        expires = body.get("expires_in")
        self.keep(token, expires)
        self.refreshes += 1
        self.received(body, expires)


class OAuth2RefreshAuth(OAuth2TokenAuth):
    """OAuth2 with a refresh token (eBay, Etsy, Amazon LWA): ``grant_type=refresh_token``.

    A rotated refresh token is used from then on, redacted, and handed to ``on_tokens`` with the
    new access token so the adapter can keep it.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        access_token: str | None = None,
        scope: str | None = None,
        client_auth: Literal["basic", "body"] = "basic",
        header: str = "Authorization",
        prefix: str = "Bearer ",
        extra_params: Mapping[str, str] | None = None,
        on_tokens: Callable[[Tokens], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        leeway: float = 60.0,
    ) -> None:
        super().__init__(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            access_token=access_token,
            scope=scope,
            client_auth=client_auth,
            header=header,
            prefix=prefix,
            extra_params=extra_params,
            clock=clock,
            leeway=leeway,
        )
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens

    def credentials(self) -> list[str]:
        return [self.client_secret, self.refresh_token]

    def grant(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": self.refresh_token}

    def received(self, body: Mapping[str, Any], expires: object) -> None:
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self.refresh_token:
            self.redact(rotated)
            self.refresh_token = rotated
        if self.on_tokens is not None:
            assert self.token is not None
            seconds = float(expires) if isinstance(expires, (int, float)) else None
            self.on_tokens(Tokens(self.token, self.refresh_token, seconds))


class OAuth2ClientCredentialsAuth(OAuth2TokenAuth):
    """OAuth2's client-credentials grant (Walmart, TikTok Shop-style token endpoints, Shopify Dev
    Dashboard apps): ``grant_type=client_credentials`` with the client id and secret; the token is
    kept until shortly before ``expires_in`` and obtained again once after a 401."""

    def grant(self) -> dict[str, str]:
        return {"grant_type": "client_credentials"}


class SessionLoginAuth(TokenAuth):
    """A login that returns a session token (Vendure's ``login`` mutation, Medusa's
    ``POST /auth/user/emailpass``): log in before the first request, put the token on every request
    (``Authorization: Bearer`` by default), log in again once after a 401 and resend once. The
    credentials (``secrets``) and every token are redacted.

    Subclasses give the login request (:meth:`login_request`, often :meth:`json_post`) and find the
    token in its answer (:meth:`session_token`, raising :class:`AuthError` when the login is refused).
    """

    def __init__(
        self,
        *,
        secrets: Iterable[str] = (),
        header: str = "Authorization",
        prefix: str = "Bearer ",
        clock: Callable[[], float] = time.monotonic,
        leeway: float = 60.0,
    ) -> None:
        super().__init__(header=header, prefix=prefix, clock=clock, leeway=leeway)
        self._secrets = [s for s in secrets if s]

    @abc.abstractmethod
    def login_request(self, request: httpx.Request) -> httpx.Request:
        """The login (e.g. :meth:`json_post` of the credentials); ``request``: the one it is for."""

    @abc.abstractmethod
    def session_token(self, response: httpx.Response) -> str:
        """The session token in the login's answer, or raise :class:`AuthError` (refused) or
        :class:`ResponseError` (no token in it)."""

    @staticmethod
    def json_post(url: httpx.URL | str, payload: Any) -> httpx.Request:
        """A JSON ``POST`` (the usual shape of a login)."""
        return httpx.Request(
            "POST",
            url,
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    def credentials(self) -> list[str]:
        return list(self._secrets)

    def token_request(self, request: httpx.Request) -> httpx.Request:
        return self.login_request(request)

    def take(self, response: httpx.Response) -> None:
        self.keep(self.session_token(response))


# -- the client ------------------------------------------------------------------------------------
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("omnisync")
    except Exception:  # pragma: no cover - not installed
        return "0"


def _kind_of_count(method: str) -> str:
    return "reads" if method in ("GET", "HEAD", "OPTIONS") else "writes"


COUNTER_KINDS: tuple[str, ...] = ("reads", "writes", "retries", "throttled")


def api_calls(counters: Mapping[str, int], channel: str) -> dict[str, int]:
    """A channel's counters: ``calls`` (every HTTP request sent, retries and token refreshes
    included), ``reads`` (GET/HEAD), ``writes`` (the rest), ``retries`` (requests sent again after a
    failure) and ``throttled`` (429 answers)."""
    out = {"calls": counters.get(channel, 0)}
    for k in COUNTER_KINDS:
        out[k] = counters.get(f"{channel}.{k}", 0)
    return out


def format_api_calls(counters: Mapping[str, int], channel: str) -> str:
    """``"12 API calls (9 reads, 3 writes, 2 retries, 1 throttled)"``."""
    c = api_calls(counters, channel)
    return (
        f"{c['calls']} API calls ({c['reads']} reads, {c['writes']} writes, "
        f"{c['retries']} retries, {c['throttled']} throttled)"
    )


Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


class ApiClient:
    """What an adapter talks to: ``request``/``get``/``post``/``put`` return a successful
    ``httpx.Response`` (its body already read) or raise a :class:`ChannelError` of the right kind.

    ``idempotent`` marks a request safe to send again (default: by method). Mark absolute-value batch
    POSTs ``idempotent=True``; leave creates and relative adjustments unmarked.
    """

    def __init__(
        self,
        *,
        name: str,
        http: httpx.Client,
        redactor: Redactor,
        pacer: Pacer,
        clock: _Clock,
        ctx: ChannelContext,
        retry: RetryPolicy,
        error_overrides: Mapping[int, Kind] | None,
        rate_limit: RateLimitParser,
        error_message: ErrorParser,
        rng: random.Random,
        body_errors: BodyErrorParser | None = None,
    ) -> None:
        self.name = name
        self.http = http
        self.redactor = redactor
        self.pacer = pacer
        self.retry = retry
        self.error_overrides = dict(error_overrides or {})
        self._clock = clock
        self._ctx = ctx
        self._rate_limit = rate_limit
        self._error_message = error_message
        self._rng = rng
        self._body_errors = body_errors
        self._lock = threading.Lock()

    # -- counting and logging (also fed by httpx event hooks) --
    def _count(self, key: str | None, n: int = 1) -> None:
        full = self.name if key is None else f"{self.name}.{key}"
        with self._lock:
            self._ctx.counters[full] = self._ctx.counters.get(full, 0) + n

    def _log(self, message: str) -> None:
        if self._ctx.verbose:
            self._ctx.log(self.redactor(f"{self.name}: {message}"))

    def _on_request(self, request: httpx.Request) -> None:
        request.extensions["omnisync_t0"] = time.perf_counter()
        self._count(None)
        # a POST that only reads (a GraphQL query) is marked by the adapter: ``count_as="reads"``
        self._count(request.extensions.get("omnisync_count") or _kind_of_count(request.method))

    def _on_response(self, response: httpx.Response) -> None:
        request = response.request
        t0 = request.extensions.get("omnisync_t0")
        ms = (time.perf_counter() - t0) * 1000 if isinstance(t0, float) else 0.0
        if response.status_code == 429:
            self._count("throttled")
        self._log(f"{request.method} {self.redactor.path(request.url)} {response.status_code} {ms:.0f}ms")

    # -- public API --
    def get(
        self, path: str, *, params: Params = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return self.request("GET", path, params=params, headers=headers)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = False,
        count_as: Literal["reads", "writes"] | None = None,
    ) -> httpx.Response:
        return self.request(
            "POST", path, params=params, json=json, headers=headers, idempotent=idempotent, count_as=count_as
        )

    def put(
        self, path: str, *, json: Any = None, params: Params = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        return self.request("PUT", path, params=params, json=json, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        count_as: Literal["reads", "writes"] | None = None,
    ) -> httpx.Response:
        """``count_as`` files the request under ``reads`` or ``writes`` in the counters (default: by
        method; a GraphQL query is a POST that reads)."""
        method = method.upper()
        safe_again = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        hdrs = dict(headers or {})
        body = content
        if json is not None:
            body = dumps_json(json)
            hdrs.setdefault("Content-Type", "application/json")
        start = self._clock.now()
        policy = self.retry

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, ChannelError):
                return False
            if exc.kind is Kind.RATE_LIMITED:
                return True  # refused before it was processed: safe for any request
            if exc.kind is not Kind.RETRY:
                return False
            return safe_again or (isinstance(exc, NetworkError) and not exc.sent)

        def stop(rs: tenacity.RetryCallState) -> bool:
            exc = rs.outcome.exception() if rs.outcome is not None else None
            if rs.attempt_number >= policy.max_attempts:
                return True
            ra = getattr(exc, "retry_after", None)
            if isinstance(ra, (int, float)) and ra > policy.retry_after_cap:
                return True
            return self._clock.now() - start + (rs.upcoming_sleep or 0.0) > policy.max_elapsed

        def wait(rs: tenacity.RetryCallState) -> float:
            exc = rs.outcome.exception() if rs.outcome is not None else None
            ra = getattr(exc, "retry_after", None)
            if isinstance(ra, (int, float)):
                return float(min(ra, policy.retry_after_cap))
            ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** (rs.attempt_number - 1))
            return self._rng.uniform(0, ceiling)

        def before_sleep(rs: tenacity.RetryCallState) -> None:
            self._count("retries")
            exc = rs.outcome.exception() if rs.outcome is not None else None
            reason = str(exc)
            if reason.startswith(f"{self.name}: "):
                reason = reason[len(self.name) + 2 :]
            self._log(
                f"{reason}; retry {rs.attempt_number} of {policy.max_attempts - 1} "
                f"in {rs.upcoming_sleep:.2f}s"
            )

        def gave_up(rs: tenacity.RetryCallState) -> Any:
            exc = rs.outcome.exception() if rs.outcome is not None else None
            assert isinstance(exc, ChannelError)
            if rs.attempt_number > 1:
                raise _annotated(exc, f" (gave up after {rs.attempt_number} attempts)")
            raise exc

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(retryable),
            stop=stop,
            wait=wait,
            sleep=self._clock.sleep,
            before_sleep=before_sleep,
            retry_error_callback=gave_up,
        )
        result: httpx.Response = retrying(self._attempt, method, path, params, body, hdrs, count_as)
        return result

    def _attempt(
        self,
        method: str,
        path: str,
        params: Params,
        body: bytes | None,
        headers: Mapping[str, str],
        count_as: str | None = None,
    ) -> httpx.Response:
        self.pacer.acquire()
        try:
            request = self.http.build_request(
                method,
                path,
                params=cast(Any, params),
                content=body,
                headers=headers,
                extensions={"omnisync_count": count_as} if count_as else None,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
            raise PermanentError(
                self.redactor(f"{method} {path}: cannot build the request: {exc}"), channel=self.name
            ) from None
        shown = f"{method} {self.redactor.path(request.url)}"
        t0 = time.perf_counter()
        try:
            response = self.http.send(request)
            response.read()
        except ChannelError as exc:  # raised inside an auth flow (token refresh failed)
            raise _annotated(exc, "", channel=self.name, redactor=self.redactor) from None
        except httpx.UnsupportedProtocol as exc:
            raise PermanentError(self.redactor(f"{shown}: {exc}"), channel=self.name) from None
        except httpx.TransportError as exc:
            ms = (time.perf_counter() - t0) * 1000
            sent = not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
            self._log(f"{method} {self.redactor.path(request.url)} ERR {type(exc).__name__} {ms:.0f}ms")
            detail = str(exc) or type(exc).__name__
            raise NetworkError(
                self.redactor(f"{shown}: {what} ({type(exc).__name__}: {detail})"),
                sent=sent,
                channel=self.name,
            ) from None
        info = self._rate_limit(response, self._ctx.clock())
        self.pacer.observe(info)
        status = response.status_code
        if 300 <= status < 400:
            where = response.headers.get("location", "")
            raise PermanentError(
                f"{shown}: redirected to {self.redactor.url(where) if where else '(nowhere)'}; "
                "set base_url to the address the API answers on",
                channel=self.name,
                status=status,
            )
        kind = classify_status(status, self.error_overrides)
        if kind is None:
            found = None
            if self._body_errors is not None:
                try:
                    found = self._body_errors(response)
                except Exception:  # a vendor parser must never turn an answer into a traceback
                    found = None
            if found is None:
                return response
            kind, text = found
            if kind is Kind.RATE_LIMITED:
                self._count("throttled")
            raise error_for(
                kind,
                _shorten(self.redactor(f"{shown}: {text}")),
                channel=self.name,
                status=status,
                retry_after=info.retry_after,
            )
        vendor = None
        try:
            vendor = self._error_message(response)
        except Exception:  # a vendor parser must never turn an error into a traceback
            vendor = None
        text = vendor or f"{response.reason_phrase or 'error'}"
        raise error_for(
            kind,
            _shorten(self.redactor(f"{shown}: {text}")),
            channel=self.name,
            status=status,
            retry_after=info.retry_after,
        )

    def json(self, response: httpx.Response) -> Any:
        """The body as JSON (decimals exact), or :class:`ResponseError` for garbage."""
        try:
            return json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            shown = f"{response.request.method} {self.redactor.path(response.request.url)}"
            raise ResponseError(
                f"{shown}: the answer is not valid JSON ({len(response.content)} bytes)",
                channel=self.name,
                status=response.status_code,
            ) from None

    def get_json(self, path: str, *, params: Params = None) -> tuple[Any, httpx.Response]:
        response = self.get(path, params=params)
        return self.json(response), response

    def wait(self, seconds: float) -> None:
        """Pause ``seconds`` on this client's clock (the injected sleep and virtual time in tests):
        for adapters polling an asynchronous job between status requests (Ecwid batch tickets)."""
        self._clock.sleep(seconds)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _annotated(
    exc: ChannelError, note: str, *, channel: str | None = None, redactor: Redactor | None = None
) -> ChannelError:
    """The same error (class, kind, status, retry_after) with a note and the channel name."""
    base_message = str(exc)
    if exc.channel and base_message.startswith(f"{exc.channel}: "):
        base_message = base_message[len(exc.channel) + 2 :]
    if exc.status and base_message.endswith(f" (HTTP {exc.status})"):
        base_message = base_message[: -len(f" (HTTP {exc.status})")]
    message = base_message + note
    if redactor is not None:
        message = redactor(message)
    cls = type(exc)
    kw: dict[str, Any] = dict(
        channel=channel or exc.channel, status=exc.status, kind=exc.kind, retry_after=exc.retry_after
    )
    if isinstance(exc, NetworkError):
        kw["sent"] = exc.sent
    try:
        new = cls(message, **kw)
    except TypeError:  # a subclass with another signature
        new = error_for(
            exc.kind, message, channel=kw["channel"], status=exc.status, retry_after=exc.retry_after
        )
    return new


def make_client(
    cfg: ChannelConfig,
    ctx: ChannelContext,
    *,
    capabilities: Capabilities,
    auth: httpx.Auth | None,
    default_base_url: str,
    base_path: str = "",
    error_overrides: Mapping[int, Kind] | None = None,
    rate_limit_headers: RateLimitParser = retry_after_header,
    error_message: ErrorParser = default_error_message,
    body_errors: BodyErrorParser | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    headers: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    burst: float | None = None,
    monotonic: Callable[[], float] | None = None,
    rng: random.Random | None = None,
) -> ApiClient:
    """The one way an adapter gets an HTTP client.

    :param cfg: the channel's config (``name``, ``base_url``, ``timeout_seconds``, ``*_env`` secrets).
    :param ctx: the run's context (``transport``, ``sleep``, ``log``, ``verbose``, ``counters``, ``env``).
    :param capabilities: ``rate_limit_per_second`` sets the pacer's rate (``None``: header-driven only).
    :param auth: an httpx auth flow (see :class:`OmnisyncAuth` subclasses) or ``None``.
    :param default_base_url: used when ``cfg.base_url`` is not set (the vendor's production URL).
    :param base_path: appended to the base URL (``"/wp-json/wc/v3"``); request paths are relative.
    :param error_overrides: status -> kind entries that differ from :data:`errors.STATUS_TABLE`.
    :param rate_limit_headers: reads the vendor's quota headers (and body, for GraphQL costs).
    :param error_message: extracts the vendor's message from an error response.
    :param body_errors: finds errors a vendor reports inside a successful answer (GraphQL's HTTP 200
        with ``errors``, e.g. Shopify's ``THROTTLED``): ``(kind, message)`` is raised like a status.
    :param secrets: extra secret values to redact (every ``*_env`` secret of ``cfg`` and every
        secret the auth flow holds are added automatically).
    :param monotonic: a monotonic clock for pacing and retry budgets (default: real time, or
        virtual time when ``ctx.sleep`` is injected).

    Example::

        client = make_client(cfg, ctx, capabilities=CAPS, auth=bearer(token),
                             default_base_url="https://api.example.com/v1")
        data, response = client.get_json("items", params={"limit": 100})
    """
    root = (cfg.base_url or default_base_url or "").rstrip("/")
    if not root:
        raise ConfigError("base_url is required for this channel", field=f"channels.{cfg.name}.base_url")
    url = root + ("/" + base_path.strip("/") if base_path.strip("/") else "")

    redactor = Redactor(secrets)
    for _key, var in cfg.secret_fields().items():
        redactor.add(ctx.env.get(var))
    if isinstance(auth, OmnisyncAuth):
        auth.attach(redactor)

    if retry is DEFAULT_RETRY:
        retry = dataclasses.replace(retry, max_attempts=cfg.retry_attempts, max_elapsed=cfg.retry_max_seconds)
    clock = _Clock(ctx.sleep, monotonic)
    pacer = Pacer(
        capabilities.rate_limit_per_second,
        burst=burst,
        clock=clock.now,
        sleep=clock.sleep,
        max_pause=retry.retry_after_cap,
    )
    all_headers = {
        "User-Agent": f"omnisync/{_version()}",
        "Accept": "application/json",
        **dict(headers or {}),
    }
    holder: dict[str, ApiClient] = {}

    def on_request(request: httpx.Request) -> None:
        holder["client"]._on_request(request)

    def on_response(response: httpx.Response) -> None:
        holder["client"]._on_response(response)

    http = httpx.Client(
        base_url=url,
        auth=auth,
        headers=all_headers,
        timeout=httpx.Timeout(cfg.timeout_seconds),
        transport=ctx.transport,
        follow_redirects=False,
        event_hooks={"request": [on_request], "response": [on_response]},
    )
    client = ApiClient(
        name=cfg.name,
        http=http,
        redactor=redactor,
        pacer=pacer,
        clock=clock,
        ctx=ctx,
        retry=retry,
        error_overrides=error_overrides,
        rate_limit=rate_limit_headers,
        error_message=error_message,
        rng=rng or random.Random(),
        body_errors=body_errors,
    )
    holder["client"] = client
    return client
