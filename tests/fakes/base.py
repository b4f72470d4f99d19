"""The vendor-fake harness: a tiny router, fault injection, simulated sales and a request log.

A vendor fake (``tests/fakes/<vendor>.py``) subclasses :class:`FakeMarketplace`, registers its routes
and implements the vendor-neutral store API the contract suite uses (``seed``, ``stored``, ``sell``,
``reject``, ``revoke_credentials``, ``expire_token``). The same object serves:

- as an ``httpx.MockTransport`` handler (``fake.transport()``, fast: no sockets, no threads), where a
  timeout is raised as ``httpx.ReadTimeout`` and a reset as ``httpx.ReadError``;
- as a real HTTP server on 127.0.0.1 (``tests/fakes/server.py``), where a timeout hangs the
  connection and a reset closes it with an RST.

Everything random is drawn from one ``random.Random(seed)``, so a run is reproducible.
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx

ADMIN_PREFIX = "/__fake__"


# -- requests and responses ------------------------------------------------------------------------
@dataclass
class FakeRequest:
    """A request as the fake sees it (transport-independent)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    scheme: str = "http"
    host: str = "localhost"

    @property
    def params(self) -> dict[str, str]:
        """The query as a dict (last value wins, like PHP)."""
        return dict(self.query)

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name, default)

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body, parse_float=Decimal)

    @property
    def url(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{q}" if q else "")

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> FakeRequest:
        request.read()
        return cls(
            method=request.method.upper(),
            path=request.url.path,
            query=list(request.url.params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.content,
            scheme=request.url.scheme,
            host=request.headers.get("host", request.url.netloc.decode()),
        )


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body, default=_json_default).encode()

    def all_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if not isinstance(self.body, bytes) and self.body is not None:
            out.setdefault("Content-Type", "application/json; charset=UTF-8")
        return out

    def to_httpx(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.all_headers(), content=self.content())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return float(obj)  # the fake answers like a PHP server would
    raise TypeError(type(obj).__name__)


@dataclass(frozen=True)
class Hang:
    """Fault: no answer. MockTransport raises ``httpx.ReadTimeout``; the server holds the
    connection ``seconds`` and closes it. ``applied`` means the request was processed first."""

    seconds: float
    applied: bool = False


@dataclass(frozen=True)
class Reset:
    """Fault: the connection is reset. MockTransport raises ``httpx.ReadError``."""

    applied: bool = False


@dataclass(frozen=True)
class Slow:
    """Fault: answer after ``seconds`` (the server really waits; MockTransport records it)."""

    seconds: float
    response: FakeResponse


Outcome = FakeResponse | Hang | Reset | Slow


# -- routing ---------------------------------------------------------------------------------------
Handler = Callable[..., FakeResponse]


class Router:
    """``router.add("GET", "/products/{id:int}", handler)``; handlers get the request and the path
    parameters as keyword arguments."""

    _PARAM = re.compile(r"\{(\w+)(?::(int))?\}")

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], dict[str, str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        kinds: dict[str, str] = {}

        def repl(m: re.Match[str]) -> str:
            kinds[m.group(1)] = m.group(2) or "str"
            return rf"(?P<{m.group(1)}>\d+)" if m.group(2) == "int" else rf"(?P<{m.group(1)}>[^/]+)"

        regex = re.compile("^" + self._PARAM.sub(repl, pattern.rstrip("/")) + "/?$")
        self._routes.append((method.upper(), regex, kinds, handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, Any]] | str | None:
        """(handler, params); ``"method"`` when the path exists with another method; None."""
        path_found = False
        for m, regex, kinds, handler in self._routes:
            found = regex.match(path)
            if not found:
                continue
            path_found = True
            if m != method.upper():
                continue
            params: dict[str, Any] = {}
            for k, v in found.groupdict().items():
                params[k] = int(v) if kinds.get(k) == "int" else v
            return handler, params
        return "method" if path_found else None


# -- faults ----------------------------------------------------------------------------------------
@dataclass
class Scripted:
    """One scripted fault for an upcoming request."""

    kind: str = "status"  # status | timeout | reset | garbage
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    applied: bool = False  # timeout/reset: process the request first
    match: str | None = None  # only requests whose "METHOD path" contains this


@dataclass
class Faults:
    """Fault injection, per request (admin routes are never faulted).

    Rates are probabilities per request, drawn from the fake's seeded random source. ``queue`` holds
    scripted faults taken in order by the next matching requests (:meth:`fail_next`).
    """

    error_rate: float = 0.0  # answer a 5xx (HTML body, like a host or proxy would)
    error_status: int = 503
    storm_rate: float = 0.0  # chance a request starts a 429 storm
    storm_length: int = 3  # consecutive 429 answers in a storm
    retry_after: int = 1  # Retry-After (seconds) sent with 429s
    timeout_rate: float = 0.0
    reset_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.2
    hang_seconds: float = 5.0  # server mode: how long a "timeout" holds the connection
    writes_only: bool = False  # apply the random faults to non-GET requests only
    leak_request_in_errors: bool = False  # 5xx bodies echo the URL and headers (a careless proxy)
    queue: deque[Scripted] = field(default_factory=deque)
    storm_left: int = 0

    def fail_next(
        self,
        status: int = 503,
        *,
        count: int = 1,
        kind: str = "status",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        applied: bool = False,
        match: str | None = None,
    ) -> None:
        """Script the next ``count`` matching requests to fail (``kind``: status, timeout, reset,
        garbage: a 200 answer with a truncated JSON body)."""
        for _ in range(count):
            self.queue.append(Scripted(kind, status, dict(headers or {}), body, applied, match))

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """``"5xx=0.2,storm=0.05,storm_length=3,retry_after=0,timeout=0.02,reset=0.02,slow=0.1"``."""
        names = {
            "5xx": "error_rate",
            "error": "error_rate",
            "status": "error_status",
            "storm": "storm_rate",
            "storm_length": "storm_length",
            "retry_after": "retry_after",
            "timeout": "timeout_rate",
            "reset": "reset_rate",
            "slow": "slow_rate",
            "slow_seconds": "slow_seconds",
            "hang_seconds": "hang_seconds",
            "writes_only": "writes_only",
            "leak": "leak_request_in_errors",
        }
        out = cls()
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, _, value = part.partition("=")
            attr = names.get(key.strip())
            if attr is None:
                raise ValueError(f"unknown fault {key!r} (known: {', '.join(sorted(names))})")
            current = getattr(out, attr)
            if isinstance(current, bool):
                setattr(out, attr, value.strip().lower() in ("1", "true", "yes", ""))
            elif isinstance(current, int):
                setattr(out, attr, int(value))
            else:
                setattr(out, attr, float(value))
        return out


@dataclass
class Sales:
    """Simulated sales: after each listing page is served, each listed item in stock sells
    ``1..max_units`` with probability ``rate`` (never below zero)."""

    rate: float = 0.0
    max_units: int = 1
    # Also after reads filtered by SKU. Off by default: buyers then order between a full listing
    # read and the writes that follow it (the window compare-and-set, or a pre-write read of the
    # batch, closes), but not inside the single round trip between a pre-write read and its write,
    # which no client of an API without compare-and-set can close.
    on_lookups: bool = False


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]
    fault: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Stored:
    """The vendor-neutral view of one stored listing (prices as exact decimal strings)."""

    sku: str
    quantity: int | None
    price: str | None
    title: str | None
    description: str | None


# -- the base fake ---------------------------------------------------------------------------------
class FakeMarketplace:
    """Base of every vendor fake. Subclasses set the class attributes, register routes in
    :meth:`routes` and implement the store API below."""

    vendor: ClassVar[str] = ""
    api_prefix: ClassVar[str] = ""
    batch_limit: ClassVar[int] = 0  # the vendor's items-per-write limit
    page_size_max: ClassVar[int] = 0
    oauth_refresh: ClassVar[bool] = False  # the vendor has a token refresh flow

    def __init__(self, *, seed: int = 0, faults: Faults | None = None, sales: Sales | None = None) -> None:
        self.router = Router()
        self.faults = faults or Faults()
        self.sales = sales or Sales()
        self.rng = random.Random(seed)
        self.requests: list[LoggedRequest] = []
        self.sold: dict[str, int] = {}  # units sold by the simulation or sell()
        self.delays: list[float] = []  # Slow faults seen in MockTransport mode
        self.lock = threading.RLock()
        self.routes()

    # -- subclass API --
    def routes(self) -> None:
        raise NotImplementedError

    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        """None when the request is authenticated, else the vendor's 401 answer."""
        return None

    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        """The vendor's error body."""
        return FakeResponse(status, {"code": code, "message": message, "data": {"status": status, **data}})

    def throttle_headers(self, retry_after: int) -> dict[str, str]:
        return {"Retry-After": str(retry_after)}

    def seed(
        self, n: int, *, variable: int = 0, per_parent: int = 3, quantity: int = 10, price: str = "19.99"
    ) -> list[str]:
        """Create ``n`` sellable SKUs (plus ``variable`` grouped products with ``per_parent``
        variants each, where the vendor has them); returns every sellable SKU created."""
        raise NotImplementedError

    def stored(self, sku: str) -> Stored | None:
        raise NotImplementedError

    def skus(self) -> list[str]:
        raise NotImplementedError

    def sell(self, sku: str, units: int) -> int:
        """A shopper buys ``units`` (never below zero); returns the units actually sold."""
        raise NotImplementedError

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        """The next write of ``sku`` fails for that item only (the rest of the batch succeeds)."""
        raise NotImplementedError

    def revoke_credentials(self) -> None:
        """The seller revoked the API key: every request answers 401."""
        raise NotImplementedError

    def expire_token(self) -> None:
        """The access token expires now (OAuth vendors refresh it; others answer 401)."""
        raise NotImplementedError

    def batch_sizes(self) -> list[int]:
        """Objects carried by each write request the fake received, in order."""
        raise NotImplementedError

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        """A native write request carrying ``n`` objects: (method, path relative to the API root,
        JSON body), to show the fake refuses more than :attr:`batch_limit` like the vendor."""
        raise NotImplementedError

    def state(self) -> dict[str, dict[str, Any]]:
        """sku -> stored values, for admin endpoints and assertions."""
        out: dict[str, dict[str, Any]] = {}
        for sku in self.skus():
            s = self.stored(sku)
            if s is not None:
                out[sku] = {
                    "quantity": s.quantity,
                    "price": s.price,
                    "title": s.title,
                    "description": s.description,
                }
        return out

    def list_items_hook(self, skus: Iterable[str], *, lookup: bool = False) -> None:
        """Call after serving a listing page (``lookup``: a read filtered by SKU): simulated sales
        happen here."""
        if self.sales.rate <= 0 or (lookup and not self.sales.on_lookups):
            return
        for sku in list(skus):
            if self.rng.random() < self.sales.rate:
                self.sell(sku, self.rng.randint(1, max(1, self.sales.max_units)))

    # -- request log --
    def calls(self, method: str | None = None, path_contains: str | None = None) -> list[LoggedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
        ]

    # -- dispatch --
    def dispatch(self, req: FakeRequest) -> Outcome:
        with self.lock:
            if req.path.startswith(ADMIN_PREFIX):
                return self._admin(req)
            try:
                body = req.json()
            except ValueError:
                body = None
            entry = LoggedRequest(
                req.method,
                req.path,
                {k: [v for kk, v in req.query if kk == k] for k, _ in req.query},
                body,
                dict(req.headers),
            )
            self.requests.append(entry)
            fault = self._fault(req)
            if fault is not None:
                entry.fault = (
                    type(fault).__name__ if not isinstance(fault, FakeResponse) else str(fault.status)
                )
                if isinstance(fault, (Hang, Reset)) and fault.applied:
                    self._route(req)
                if isinstance(fault, Slow):
                    return Slow(fault.seconds, self._route(req))
                return fault
            return self._route(req)

    def _route(self, req: FakeRequest) -> FakeResponse:
        denied = self.authenticate(req)
        if denied is not None:
            return denied
        found = self.router.match(req.method, req.path)
        if found is None:
            return self.error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if found == "method":
            return self.error(405, "rest_no_route", "No route was found matching the URL and request method.")
        assert not isinstance(found, str)
        handler, params = found
        try:
            return handler(req, **params)
        except _BadJSON:
            return self.error(400, "rest_invalid_json", "Invalid JSON body passed.")

    def _fault(self, req: FakeRequest) -> Outcome | None:
        f = self.faults
        line = f"{req.method} {req.path}"
        for i, s in enumerate(f.queue):
            if s.match is None or s.match in line:
                del f.queue[i]
                return self._scripted(s, req)
        if f.writes_only and req.method == "GET":
            return None
        if f.storm_left > 0:
            f.storm_left -= 1
            return self._throttled()
        r = self.rng.random
        if f.storm_rate and r() < f.storm_rate:
            f.storm_left = max(0, f.storm_length - 1)
            return self._throttled()
        if f.error_rate and r() < f.error_rate:
            return self._host_error(f.error_status, req)
        if f.timeout_rate and r() < f.timeout_rate:
            return Hang(f.hang_seconds)
        if f.reset_rate and r() < f.reset_rate:
            return Reset()
        if f.slow_rate and r() < f.slow_rate:
            return Slow(f.slow_seconds, FakeResponse())
        return None

    def _scripted(self, s: Scripted, req: FakeRequest) -> Outcome:
        if s.kind == "timeout":
            return Hang(self.faults.hang_seconds, applied=s.applied)
        if s.kind == "reset":
            return Reset(applied=s.applied)
        if s.kind == "garbage":
            return FakeResponse(200, b'[{"id": 12, "sku": "trunc', {"Content-Type": "application/json"})
        headers = dict(s.headers)
        if s.status == 429 and not headers:
            headers = self.throttle_headers(self.faults.retry_after)
        if s.body is not None:
            return FakeResponse(s.status, s.body, headers)
        if s.status >= 500:
            resp = self._host_error(s.status, req)
            resp.headers.update(headers)
            return resp
        if s.status == 429:
            return FakeResponse(429, _html(429, "Too Many Requests"), headers)
        resp = self.error(s.status, "fake_scripted_error", f"Scripted error {s.status}.")
        resp.headers.update(headers)
        return resp

    def _throttled(self) -> FakeResponse:
        return FakeResponse(
            429, _html(429, "Too Many Requests"), self.throttle_headers(self.faults.retry_after)
        )

    def _host_error(self, status: int, req: FakeRequest) -> FakeResponse:
        if self.faults.leak_request_in_errors:
            echo = f"upstream failed for {req.url} with headers {json.dumps(req.headers)}"
            return FakeResponse(status, {"code": "proxy_error", "message": echo})
        return FakeResponse(
            status,
            _html(status, "Service Unavailable" if status == 503 else "Server Error"),
            {"Content-Type": "text/html"},
        )

    # -- admin endpoints (server mode: tests in another process inspect and steer the fake) --
    def _admin(self, req: FakeRequest) -> FakeResponse:
        sub = req.path[len(ADMIN_PREFIX) :]
        if req.method == "GET" and sub == "/state":
            return FakeResponse(200, self.state())
        if req.method == "GET" and sub == "/requests":
            return FakeResponse(
                200,
                {
                    "count": len(self.requests),
                    "faulted": sum(1 for r in self.requests if r.fault),
                    "requests": [
                        {"method": r.method, "path": r.path, "fault": r.fault} for r in self.requests
                    ],
                },
            )
        if req.method == "GET" and sub == "/sold":
            return FakeResponse(200, dict(self.sold))
        if req.method == "POST" and sub == "/sell":
            data = req.json() or {}
            sold = self.sell(str(data["sku"]), int(data["units"]))
            return FakeResponse(200, {"sold": sold})
        if req.method == "POST" and sub == "/faults":
            data = req.json() or {}
            self.faults = Faults.parse(str(data.get("spec", "")))
            return FakeResponse(200, {"ok": True})
        return FakeResponse(404, {"error": f"no admin route {req.method} {sub}"})

    # -- MockTransport mode --
    def handler(self, request: httpx.Request) -> httpx.Response:
        outcome = self.dispatch(FakeRequest.from_httpx(request))
        if isinstance(outcome, Hang):
            raise httpx.ReadTimeout("timed out", request=request)
        if isinstance(outcome, Reset):
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        if isinstance(outcome, Slow):
            self.delays.append(outcome.seconds)
            return outcome.response.to_httpx()
        return outcome.to_httpx()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class _BadJSON(Exception):
    pass


def json_body(req: FakeRequest) -> Any:
    try:
        return req.json()
    except ValueError:
        raise _BadJSON() from None


def _html(status: int, title: str) -> bytes:
    return f"<html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>".encode()


def basic_credentials(req: FakeRequest) -> tuple[str, str] | None:
    auth = req.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def parse_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)
