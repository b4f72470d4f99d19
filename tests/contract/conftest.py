"""Fixtures of the contract suite: one harness per registered HTTP channel type.

A :class:`Harness` builds the case's fake, wraps its MockTransport in a recorder (every request an
adapter sends is kept per channel type for spec conformance), and builds the adapter through the
real registry and config model, with an injected sleep (recorded, never waiting), a log collector
and ``verbose`` on.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.base import FakeMarketplace, Faults, Sales
from tests.spec_check import RecordedRequest, RecordingTransport

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.models import Listing, RemoteListing, Value, WriteItem, WriteResult, field_kind, frozen
from omnisync.money import Money

from .cases import CASES, ChannelCase


class Harness:
    def __init__(
        self,
        case: ChannelCase,
        sink: list[RecordedRequest],
        tmp: Path,
        *,
        fake: FakeMarketplace | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.case = case
        self.fake = (
            fake if fake is not None else case.make_fake(seed=seed, faults=faults or Faults(), sales=sales)
        )
        self.sink = sink
        self.sleeps: list[float] = []
        self.logs: list[str] = []
        self.counters: dict[str, int] = {}
        raw = {**case.config(case.base_url), **dict(config or {})}
        self.ctx = ChannelContext(
            env={**case.env, **dict(env or {})},
            config_dir=tmp,
            state_dir=tmp,
            transport=RecordingTransport(self.fake.transport(), sink),
            verbose=True,
            log=self.logs.append,
            sleep=self.sleeps.append,
            counters=self.counters,
        )
        cls = load(case.type)
        self.cfg = cls.Config.model_validate(raw)
        self.adapter: Any = cls.from_config(self.cfg, self.ctx)  # a Channel with an ApiClient `.client`
        self.remote: dict[str, RemoteListing] = {}

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def caps(self) -> Any:
        return self.adapter.capabilities

    def money(self, amount: str) -> Money:
        return Money.parse(amount, self.case.currency)

    def read(self, skus: list[str] | None = None) -> dict[str, RemoteListing]:
        got = list(self.adapter.read(skus=skus))
        out = {r.sku: r for r in got}
        assert len(out) == len(got), "read() listed a SKU twice"
        self.remote.update(out)
        return out

    def item(self, sku: str, values: Mapping[str, Value]) -> WriteItem:
        remote = self.remote.get(sku)
        expected: dict[str, Value] = {}
        if self.caps.compare_and_set and remote is not None:
            expected = {
                k: remote.values[k] for k in values if field_kind(k) == "quantity" and k in remote.values
            }
        return WriteItem(
            sku=sku,
            values=frozen(values),
            listing=Listing(sku, frozen(values)),
            key=uuid.uuid4().hex,
            expected=frozen(expected),
            remote=remote,
        )

    def write(self, values: Mapping[str, Mapping[str, Value]]) -> list[WriteResult]:
        items = [self.item(sku, v) for sku, v in values.items()]
        results: list[WriteResult] = self.adapter.write(items)
        assert [r.sku for r in results] == [i.sku for i in items], "one result per item, in order"
        return results

    @contextlib.contextmanager
    def not_recorded(self) -> Iterator[None]:
        """Requests a test sends on purpose outside the adapter's logic (a deliberately wrong one)
        are kept out of the spec-conformance record."""
        mark = len(self.sink)
        try:
            yield
        finally:
            del self.sink[mark:]

    def requests(self) -> int:
        return len(self.fake.requests)

    def close(self) -> None:
        self.adapter.close()


@pytest.fixture(scope="session")
def recorded() -> dict[str, list[RecordedRequest]]:
    """Every request each channel type's adapter sent during this session (for spec checks)."""
    return {t: [] for t in CASES}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> ChannelCase:
    return CASES[request.param]


@pytest.fixture
def make_harness(
    case: ChannelCase, recorded: dict[str, list[RecordedRequest]], tmp_path: Path
) -> Iterator[Any]:
    made: list[Harness] = []

    def make(**kw: Any) -> Harness:
        h = Harness(case, recorded[case.type], tmp_path, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture
def harness(make_harness: Any) -> Harness:
    h: Harness = make_harness()
    return h


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Known gaps (case data) become strict xfails: a gap that closes shows up as XPASS."""
    here = Path(__file__).parent
    for item in items:
        if not item.path.is_relative_to(here):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is None or "case" not in callspec.params:
            continue
        case = CASES.get(callspec.params["case"])
        name = getattr(item, "originalname", item.name)
        if case is not None and name in case.known_gaps:
            item.add_marker(pytest.mark.xfail(reason=case.known_gaps[name], strict=True))
