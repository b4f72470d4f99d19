"""Spec conformance: every request an adapter sent is checked against the vendor's published spec.

The contract suite (``test_contract.py``, collected first) records every request per channel type;
here each type also runs a small workload of its own (so ``pytest -m spec`` alone checks something)
and every recorded request is validated. A test proves a wrong request is caught. Without
``../shared/specs`` these tests skip with the reason; with ``CI`` set they fail instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests import spec_check
from tests.spec_check import DiscoveryDoc, GraphQLSchema, RecordedRequest, require_specs

from omnisync.models import DESCRIPTION, PRICE, QUANTITY, TITLE

from .cases import ChannelCase
from .conftest import Harness

pytestmark = pytest.mark.spec


def exercise(make_harness: Any) -> None:
    """Every endpoint an adapter uses in a run: check, full and selective reads, writes of every
    declared field (grouped SKUs included), a write split across batches, each auth flavour."""
    h: Harness = make_harness()
    skus = h.fake.seed(h.caps.max_write_batch + 1, variable=2 if h.case.variants else 0, per_parent=2)
    h.adapter.check()
    listed = h.read()
    h.read([skus[0], skus[-1], "NO-SUCH-SKU"])
    values: dict[str, Any] = {QUANTITY: 3, PRICE: h.money("12.34"), TITLE: "T", DESCRIPTION: "D"}
    h.write({s: {k: v for k, v in values.items() if k in h.caps.fields} for s in skus[:2]})
    h.write({skus[-1]: {QUANTITY: 1, PRICE: h.money("1.00")}})
    h.write({s: {QUANTITY: 2} for s in listed})
    for overrides in h.case.auth_variants.values():
        other: Harness = make_harness(config=overrides)
        other.fake.seed(2)
        other.read()
        other.write({s: {QUANTITY: 1} for s in other.fake.skus()})


def test_every_recorded_request_conforms(
    case: ChannelCase, make_harness: Any, recorded: dict[str, list[RecordedRequest]]
) -> None:
    if case.spec is None or case.violations is None:
        pytest.fail(f"{case.type} has no spec loader: add one to its case (or a known gap with a reason)")
    spec = case.spec()
    exercise(make_harness)
    requests = recorded[case.type]
    assert requests, "nothing was recorded"
    problems = [v for r in requests for v in case.violations(spec, r)]
    spec_check.assert_conforms(problems)
    methods = {r.method for r in requests}
    assert {"GET", "POST"} <= methods or {"GET", "PUT"} <= methods, "reads and writes were both checked"


def test_a_wrong_request_is_caught(case: ChannelCase) -> None:
    if case.spec is None or case.violations is None:
        pytest.fail(f"{case.type} has no spec loader")
    spec = case.spec()
    bad = case.bad_requests(case.base_url)
    assert bad, f"{case.type}: give the case some deliberately wrong requests"
    for request, expect in bad:
        problems = case.violations(spec, request)
        assert problems, f"{request} should not conform"
        assert any(expect.lower() in p.lower() for p in problems), (request, problems)


def test_spec_tests_skip_locally_but_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        require_specs("no-such-vendor", "spec.json")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="never skip"):
        require_specs("no-such-vendor", "spec.json")


# -- the helpers later adapters use ----------------------------------------------------------------
def test_google_discovery_helper_validates_merchant_api_requests() -> None:
    doc = DiscoveryDoc.load(require_specs("google", "merchantapi.products_v1beta.json"))
    good = {
        "offerId": "SKU-1",
        "contentLanguage": "en",
        "feedLabel": "US",
        "channel": "ONLINE",
        "attributes": {"title": "Mug", "price": {"amountMicros": "19990000", "currencyCode": "USD"}},
    }
    path = "products/v1beta/accounts/123/productInputs:insert"
    query = [("dataSource", "accounts/123/dataSources/456")]
    assert doc.violations("POST", path, query, good) == []
    wrong = {**good, "attributes": {"price": {"amountMicros": 19.99}}, "offerID": "typo"}
    problems = doc.violations("POST", path, query + [("pageSize", "ten")], wrong)
    assert any("amountMicros" in p or "19.99" in p for p in problems), problems
    assert any("offerID" in p for p in problems) and any("pageSize" in p for p in problems)
    assert doc.violations("GET", "products/v1beta/accounts/123/products", [("pageSize", "x")], None)
    assert doc.violations("POST", "products/v1beta/nowhere", [], None)


def test_graphql_helper_validates_shopify_operations() -> None:
    schema = GraphQLSchema.load(require_specs("shopify", "admin_schema_2025-01.json.gz"))
    mutation = (
        "mutation set($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) "
        "{ userErrors { field message code } } }"
    )
    good: dict[str, Any] = {
        "input": {
            "reason": "correction",
            "name": "available",
            "ignoreCompareQuantity": True,
            "quantities": [
                {
                    "inventoryItemId": "gid://shopify/InventoryItem/1",
                    "locationId": "gid://shopify/Location/1",
                    "quantity": 5,
                }
            ],
        }
    }
    assert schema.violations(mutation, good) == []
    bad = {"input": {**good["input"], "quantities": [{**good["input"]["quantities"][0], "quantity": "5x"}]}}
    assert schema.violations(mutation, bad)
    assert schema.violations("{ shop { nam } }")
    rec = RecordedRequest(
        "POST",
        "https://x.myshopify.com/admin/api/2025-01/graphql.json",
        (("content-type", "application/json"),),
        b'{"query": "{ shop { name } }"}',
    )
    assert schema.request_violations(rec) == []


def test_spec_files_are_read_from_beside_the_repo() -> None:
    assert spec_check.SPECS == Path(spec_check.REPO).parent / "shared" / "specs"
