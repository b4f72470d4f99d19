"""Fuzzing the vendor response parsers: garbage, truncated JSON and wrong types from the channel.

Every registered HTTP adapter is driven against its fake through a transport that mangles the
answers (hypothesis chooses which answers and how). Whatever comes back, the adapter raises one of
omnisync's ChannelError types or returns per-SKU results: never another exception (a traceback),
and never a result claiming a value the channel did not confirm.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.contract.cases import CASES

from omnisync.channels import HTTP_TYPES, load
from omnisync.channels.base import ChannelContext
from omnisync.errors import ChannelError
from omnisync.models import Listing, WriteItem, frozen
from omnisync.money import Money

MODES = ("keep", "truncate", "garbage", "retype", "empty", "html")


def retype(value: Any, rng: random.Random) -> Any:
    """The same shape with some leaves and containers of the wrong type."""
    roll = rng.random()
    if isinstance(value, dict):
        if roll < 0.1:
            return list(value.values())
        return {k: retype(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        if roll < 0.1:
            return {"0": value}
        return [retype(v, rng) for v in value]
    if roll < 0.3:
        return rng.choice([None, "x", -1, 1.5, True, [], {}, "9" * 40])
    return value


class Mangler(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, plan: list[str], seed: int) -> None:
        self.inner = inner
        self.plan = plan
        self.rng = random.Random(seed)
        self.n = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        mode = self.plan[self.n % len(self.plan)]
        self.n += 1
        body = response.read()
        if mode == "keep":
            return response
        if mode == "truncate":
            body = body[: self.rng.randint(0, max(0, len(body) - 1))]
        elif mode == "garbage":
            body = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 64)))
        elif mode == "retype":
            try:
                body = json.dumps(retype(json.loads(body), self.rng)).encode()
            except ValueError:
                body = b"{"
        elif mode == "empty":
            body = b""
        elif mode == "html":
            body = b"<html><body>Maintenance</body></html>"
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        return httpx.Response(response.status_code, headers=headers, content=body)


TYPES = [t for t in HTTP_TYPES if t in CASES]


@pytest.mark.parametrize("type_name", TYPES)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(st.sampled_from(MODES), min_size=1, max_size=6), seed=st.integers(0, 10_000))
def test_garbage_answers_give_a_clear_error_never_a_traceback(
    type_name: str, plan: list[str], seed: int, tmp_path: Path
) -> None:
    case = CASES[type_name]
    fake = case.make_fake(seed=seed)
    skus = fake.seed(6)
    transport = Mangler(fake.transport(), plan, seed)
    ctx = ChannelContext(
        env=dict(case.env),
        config_dir=tmp_path,
        state_dir=tmp_path,
        transport=transport,
        sleep=lambda s: None,
        log=lambda m: None,
    )
    cls = load(type_name)
    cfg = cls.Config.model_validate({**case.config(case.base_url), "retry_attempts": 2})
    adapter = cls.from_config(cfg, ctx)
    try:
        try:
            remote = {r.sku: r for r in adapter.read()}
        except ChannelError:
            return
        sku = skus[0]
        price = Money.parse("12.34", case.currency)
        item = WriteItem(
            sku=sku,
            values=frozen({"price": price, "quantity": 3}),
            listing=Listing(sku, frozen({})),
            key=uuid.uuid4().hex,
            remote=remote.get(sku),
            expected=frozen({"quantity": remote[sku].values["quantity"]})
            if adapter.capabilities.compare_and_set and sku in remote and "quantity" in remote[sku].values
            else frozen({}),
        )
        try:
            results = adapter.write([item])
        except ChannelError:
            return
        for res in results:
            if res.ok:
                stored = fake.stored(res.sku)
                # A success confirming the value sent must be true of the store. (A well-typed
                # but wrong echo, e.g. a reserved count retyped to 1, is reported as what the
                # channel said; the engine's verification then refuses it as not what was sent.)
                if res.applied.get("quantity") == item.values["quantity"]:
                    assert stored is not None and stored.quantity == item.values["quantity"]
    finally:
        adapter.close()
