"""Serve a vendor fake over real HTTP on 127.0.0.1 (for CLI and end-to-end tests).

In a test (same process, a background thread)::

    fake = WooCommerceFake(faults=Faults.parse("5xx=0.2,storm=0.05,retry_after=0"))
    fake.seed(20)
    with FakeServer(fake) as server:
        server.url            # "http://127.0.0.1:PORT": the store's base_url
        ...                   # fake.state(), fake.requests, fake.sell(...) while it runs

As a separate process (prints the base URL on its first stdout line, serves until SIGTERM/SIGINT)::

    python -m tests.fakes.server woocommerce --port 0 --products 50 --variable 2 \
        --faults 5xx=0.2,storm=0.05 --seed 1

Admin endpoints (never faulted, never logged): ``GET /__fake__/state``, ``GET /__fake__/requests``,
``GET /__fake__/sold``, ``POST /__fake__/sell {"sku", "units"}``, ``POST /__fake__/faults {"spec"}``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .base import FakeMarketplace, FakeRequest, FakeResponse, Faults, Hang, Reset, Sales, Slow

FAKES: dict[str, str] = {
    "woocommerce": "tests.fakes.woocommerce:WooCommerceFake",
    "bigcommerce": "tests.fakes.bigcommerce:BigCommerceFake",
    "ecwid": "tests.fakes.ecwid:EcwidFake",
    "shopify": "tests.fakes.shopify:ShopifyFake",
    "vendure": "tests.fakes.vendure:VendureFake",
    "medusa": "tests.fakes.medusa:MedusaFake",
}


def fake_class(vendor: str) -> type[FakeMarketplace]:
    module, _, attr = FAKES[vendor].partition(":")
    cls: type[FakeMarketplace] = getattr(importlib.import_module(module), attr)
    return cls


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeMarketplace) -> None:
        self.fake = fake
        self.stopping = threading.Event()
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        fake = self.server.fake
        req = FakeRequest(
            method=self.command.upper(),
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            scheme="http",
            host=self.headers.get("Host", f"127.0.0.1:{self.server.server_address[1]}"),
        )
        outcome = fake.dispatch(req)
        if isinstance(outcome, Hang):
            self.server.stopping.wait(outcome.seconds)
            self.close_connection = True
            return
        if isinstance(outcome, Reset):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if isinstance(outcome, Slow):
            self.server.stopping.wait(outcome.seconds)
            outcome = outcome.response
        self._send(outcome)

    def _send(self, response: FakeResponse) -> None:
        content = response.content()
        self.send_response(response.status)
        for k, v in response.all_headers().items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the connection was reset on purpose, or the client went away
            self.close_connection = True


class FakeServer:
    """A fake on a free port of 127.0.0.1, in a background thread; a context manager."""

    def __init__(self, fake: FakeMarketplace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self._server = _Server((host, port), fake)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL of the store (what ``base_url`` in channels.toml names)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"fake-{self.fake.vendor}",
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.server", description="Serve a vendor fake on 127.0.0.1."
    )
    parser.add_argument("vendor", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, default=0, help="0: a free port (default)")
    parser.add_argument("--products", type=int, default=20, help="simple products to seed")
    parser.add_argument("--variable", type=int, default=0, help="variable products to seed")
    parser.add_argument("--per-parent", type=int, default=3, help="variations per variable product")
    parser.add_argument("--quantity", type=int, default=10)
    parser.add_argument("--price", default="19.99")
    parser.add_argument("--faults", default="", help='e.g. "5xx=0.2,storm=0.05,retry_after=0"')
    parser.add_argument("--sales", type=float, default=0.0, help="chance each listed item sells a unit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="vendor fake constructor option (e.g. consumer_key=ck_...)",
    )
    args = parser.parse_args(argv)

    options: dict[str, Any] = {}
    for opt in args.option:
        k, _, v = opt.partition("=")
        options[k.replace("-", "_")] = {"true": True, "false": False}.get(v.lower(), v)
    fake = fake_class(args.vendor)(
        seed=args.seed, faults=Faults.parse(args.faults), sales=Sales(rate=args.sales), **options
    )
    fake.seed(
        args.products,
        variable=args.variable,
        per_parent=args.per_parent,
        quantity=args.quantity,
        price=args.price,
    )
    server = FakeServer(fake, port=args.port).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(server.url, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
