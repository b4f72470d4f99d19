"""The vendor fakes served over real HTTP on 127.0.0.1: in a thread and as a separate process.

These are what the CLI and end-to-end tests start; here they are checked with the real adapter and
the real httpx transport (sockets, timeouts, resets), with an injected sleep so retries never wait.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeServer, Faults
from tests.fakes.woocommerce import WooCommerceFake

from omnisync.channels.base import ChannelContext
from omnisync.channels.woocommerce import WooCommerceChannel, WooCommerceConfig
from omnisync.errors import NetworkError
from omnisync.http import format_api_calls
from omnisync.models import QUANTITY, Listing, WriteItem, frozen

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[1]


def adapter(
    url: str, fake: WooCommerceFake, *, timeout: float = 5.0
) -> tuple[WooCommerceChannel, ChannelContext]:
    ctx = ChannelContext(
        env={"K": fake.consumer_key, "S": fake.consumer_secret}, sleep=lambda s: None, verbose=True
    )
    cfg = WooCommerceConfig(
        name="woo",
        type="woocommerce",
        base_url=url,
        consumer_key_env="K",
        consumer_secret_env="S",
        timeout_seconds=timeout,
    )
    return WooCommerceChannel(cfg, ctx), ctx


def push_all(ch: WooCommerceChannel, quantity: int) -> list[Any]:
    listed = {r.sku: r for r in ch.read()}
    items = [
        WriteItem(sku=s, values=frozen({QUANTITY: quantity}), listing=Listing(s, frozen({})), key=s, remote=r)
        for s, r in listed.items()
    ]
    out: list[Any] = []
    for start in range(0, len(items), ch.capabilities.max_write_batch):
        out += ch.write(items[start : start + ch.capabilities.max_write_batch])
    return out


def test_the_adapter_reads_and_writes_over_loopback_with_oauth1() -> None:
    fake = WooCommerceFake()
    skus = fake.seed(120, variable=2, per_parent=3)
    with FakeServer(fake) as server:
        assert server.url.startswith("http://127.0.0.1:")
        ch, ctx = adapter(server.url, fake)
        results = push_all(ch, 4)
        ch.close()
    assert len(results) == len(skus) and all(r.ok for r in results)
    assert all(fake.stored(s).quantity == 4 for s in skus)  # type: ignore[union-attr]
    assert ctx.counters["woo"] == len(fake.requests)
    assert all("oauth_signature" in r.query for r in fake.requests)
    assert format_api_calls(ctx.counters, "woo").startswith(f"{len(fake.requests)} API calls")


def test_timeouts_resets_and_slow_answers_over_real_sockets() -> None:
    fake = WooCommerceFake(faults=Faults(hang_seconds=3.0))
    skus = fake.seed(3)
    fake.faults.fail_next(kind="timeout")
    fake.faults.fail_next(kind="reset")
    fake.faults.fail_next(503)
    with FakeServer(fake) as server:
        ch, ctx = adapter(server.url, fake, timeout=0.3)
        assert {r.sku for r in ch.read()} == set(skus)
        ch.close()
    assert ctx.counters["woo.retries"] == 3
    assert [r.fault for r in fake.requests[:3]] == ["Hang", "Reset", "503"]


def test_a_dead_server_is_a_network_error_after_bounded_retries() -> None:
    fake = WooCommerceFake()
    server = FakeServer(fake).start()
    url = server.url
    server.stop()
    ch, _ctx = adapter(url, fake, timeout=0.5)
    with pytest.raises(NetworkError) as err:
        list(ch.read())
    assert not err.value.sent and "gave up after" in str(err.value)


def test_pushing_through_5xx_and_429_storms_converges() -> None:
    fake = WooCommerceFake(seed=3, faults=Faults.parse("5xx=0.2,storm=0.05,storm_length=3,retry_after=0"))
    skus = fake.seed(150, variable=3, per_parent=4)
    with FakeServer(fake) as server:
        ch, ctx = adapter(server.url, fake)
        results = push_all(ch, 2)
        ch.close()
    assert all(r.ok for r in results) and len(results) == len(skus)
    assert all(v["quantity"] == 2 for v in fake.state().values())
    faulted = [r for r in fake.requests if r.fault]
    assert faulted and ctx.counters["woo.retries"] == len(faulted)
    assert ctx.counters["woo.throttled"] == sum(1 for r in faulted if r.fault == "429")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _post(url: str, body: Any) -> Any:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_the_fake_runs_as_a_separate_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.server",
            "woocommerce",
            "--port",
            "0",
            "--products",
            "5",
            "--variable",
            "1",
            "--per-parent",
            "2",
            "--faults",
            "5xx=0.0",
            "--option",
            "consumer_key=ck_proc",
            "--option",
            "consumer_secret=cs_proc",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        state = _get(f"{url}/__fake__/state")
        assert len(state) == 7 and state["WC-0001"] == {
            "quantity": 10,
            "price": "19.99",
            "title": "Product 1",
            "description": "Description of product 1.",
        }
        assert _post(f"{url}/__fake__/sell", {"sku": "WC-0001", "units": 3}) == {"sold": 3}
        fake = WooCommerceFake(consumer_key="ck_proc", consumer_secret="cs_proc")
        ch, ctx = adapter(url, fake)
        listed = {r.sku: r for r in ch.read()}
        ch.close()
        assert listed["WC-0001"].values[QUANTITY] == 7 and len(listed) == 7
        assert _post(f"{url}/__fake__/faults", {"spec": "5xx=1.0"}) == {"ok": True}
        assert _get(f"{url}/__fake__/requests")["count"] == ctx.counters["woo"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
