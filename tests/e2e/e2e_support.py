"""What the end-to-end tests share: a recording proxy in front of a server, a seller's workspace
run through the real ``omnisync`` process, and the catalog those tests push."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]

HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
}


@dataclass
class Request:
    method: str
    path: str  # with the query string
    body: bytes
    status: int | None = None
    response: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def graphql(self) -> str:
        data = self.json()
        return str(data.get("query", "")) if isinstance(data, dict) else ""


Hook = Callable[[Request], "bool | None"]  # a before-hook returning False drops the request


@dataclass
class Proxy:
    """A loopback HTTP proxy that forwards to ``upstream`` and records every request: the tests
    see exactly what omnisync sent, and can act at a precise moment (``before``/``after`` hooks,
    run in the proxy's thread: e.g. kill omnisync after a write reached the server)."""

    upstream: str
    requests: list[Request] = field(default_factory=list)
    before: Hook | None = None
    after: Hook | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=self.upstream, timeout=300)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, body)
                with proxy._lock:
                    proxy.requests.append(req)
                if proxy.before is not None and proxy.before(req) is False:
                    self.close_connection = True  # dropped: never reaches the server
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                try:
                    r = proxy._client.request(self.command, self.path, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    self.send_error(502, str(exc))
                    return
                req.status, req.response = r.status_code, r.content
                if proxy.after is not None:
                    proxy.after(req)
                try:
                    self.send_response(r.status_code)
                    for k, v in r.headers.multi_items():
                        if k.lower() not in HOP:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(r.content)))
                    self.end_headers()
                    self.wfile.write(r.content)
                except OSError:
                    pass  # the client is gone (killed on purpose)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def reset(self) -> list[Request]:
        with self._lock:
            out, self.requests = self.requests, []
        self.before = self.after = None
        return out

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


# -- the seller's side -------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"Run(code={self.code}, stdout={self.stdout[-3000:]!r}, stderr={self.stderr[-3000:]!r})"


class Seller:
    """A seller's folder (catalog.db, channels.toml, state.db) driven by the real omnisync process."""

    def __init__(self, root: Path, config: str, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = {**os.environ, **env, "NO_COLOR": "1"}
        self.env.pop("OMNISYNC_CONFIG", None)
        (root / "channels.toml").write_text(config)
        (root / "channels.toml").chmod(0o600)
        self.catalog = root / "catalog.db"

    def args(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "omnisync", *args]

    def run(self, *args: str, timeout: float = 600) -> Run:
        p = subprocess.run(
            self.args(*args), cwd=self.root, capture_output=True, text=True, timeout=timeout, env=self.env
        )
        return Run(p.returncode, p.stdout, p.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.args(*args),
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def import_csv(self, text: str) -> None:
        (self.root / "catalog.csv").write_text(text)
        if not self.catalog.exists():
            r = self.run("init")
            assert r.code == 0, r
        r = self.run("import", "catalog.csv")
        assert r.code == 0, r

    def sql(self, statement: str, args: Iterable[Any] = ()) -> None:
        conn = sqlite3.connect(self.catalog)
        try:
            conn.execute(statement, tuple(args))
            conn.commit()
        finally:
            conn.close()

    def stock(self) -> dict[str, dict[str, int]]:
        conn = sqlite3.connect(self.catalog)
        try:
            out: dict[str, dict[str, int]] = {}
            for sku, loc, qty in conn.execute("SELECT sku, location, quantity FROM stock"):
                out.setdefault(sku, {})[loc] = qty
            return out
        finally:
            conn.close()

    def expected(self, channel: str) -> dict[str, Any]:
        """The catalog after ``channel``'s rules: sku -> Listing (omnisync's own definition)."""
        from omnisync import channels as registry
        from omnisync.catalog import open_catalog, read_products
        from omnisync.channels.base import ChannelContext
        from omnisync.config import load_config
        from omnisync.rules import desired

        config = load_config(self.root / "channels.toml", env=self.env)
        cfg = next(c for c in config.enabled_channels(None) if c.name == channel)
        ctx = ChannelContext(env=self.env, config_dir=self.root, state_dir=self.root)
        caps = registry.load(cfg.type).from_config(cfg, ctx).capabilities  # no I/O in constructors
        rules = cfg.rules(caps)
        db = open_catalog(self.catalog)
        return {p.sku: desired(p, rules) for p in read_products(db, None)}

    def sandbox(self, name: str) -> dict[str, tuple[int, int | None, str]]:
        from omnisync.channels.sandbox import connect

        conn = connect(self.root / f"{name}.db")
        try:
            return {
                r[0]: (r[1], r[2], r[3])
                for r in conn.execute("SELECT sku, quantity, price_minor, title FROM listings ORDER BY sku")
            }
        finally:
            conn.close()

    def state_rows(self, query: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.root / "state.db")
        try:
            return conn.execute(query).fetchall()
        finally:
            conn.close()


def kill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL, as a power cut or the OOM killer would."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


# -- the catalog -------------------------------------------------------------------------------

SIZES = ("XS", "S", "M", "L", "XL")


@dataclass(frozen=True)
class Item:
    sku: str
    group: str  # group key (the remote product)
    title: str
    description: str
    price: Decimal  # USD
    warehouse: int
    store: int


def catalog_items(prefix: str, tees: int = 50, mugs: int = 80) -> list[Item]:
    """``tees`` products with 5 size variants each plus ``mugs`` single-variant products."""
    items: list[Item] = []
    for t in range(tees):
        group = f"{prefix}-TEE{t:03d}"
        for k, size in enumerate(SIZES):
            items.append(
                Item(
                    f"{group}-{size}",
                    group,
                    f"Tee {t} {size}",
                    f"Organic cotton tee number {t}.",
                    Decimal(15 + t % 7) + Decimal("0.95"),
                    (t + k) % 9 + 2,
                    (t * k) % 3,
                )
            )
    for m in range(mugs):
        group = f"{prefix}-MUG{m:03d}"
        items.append(
            Item(
                group,
                group,
                f"Mug {m}",
                f"Stoneware mug {m}, 350 ml.",
                Decimal(8 + m % 5) + Decimal("0.50"),
                m % 6 + 1,
                m % 2,
            )
        )
    return items


def catalog_csv(items: Iterable[Item]) -> str:
    rows = ["sku,group_key,title,description,price,currency,quantity@warehouse,quantity@store"]
    for i in items:
        group = i.group if i.group != i.sku else ""
        rows.append(f'{i.sku},{group},{i.title},"{i.description}",{i.price},USD,{i.warehouse},{i.store}')
    return "\n".join(rows) + "\n"


def groups_of(items: Iterable[Item]) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for i in items:
        out.setdefault(i.group, []).append(i)
    return out
