"""The adapter contract: every registered HTTP channel type passes the same tests against its fake.

Capability-gated (a test skips with the reason when the channel declares it cannot do the thing);
known gaps are data in ``cases.py`` (strict xfail). Nothing here sleeps: the harness injects a sleep
that only records, so "honoured Retry-After: 7" means ``7.0 in harness.sleeps``.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from tests.fakes.base import Faults, Sales
from tests.fakes.server import FAKES

from omnisync.channels import HTTP_TYPES
from omnisync.errors import (
    AuthError,
    ChannelError,
    Kind,
    PermanentError,
    RateLimited,
    ResponseError,
    TransientError,
)
from omnisync.models import DESCRIPTION, FIELD_KINDS, PRICE, QUANTITY, TITLE, Value

from .cases import CASES
from .conftest import Harness

pytestmark = pytest.mark.contract


def test_registry_has_a_case_for_every_http_channel() -> None:
    assert set(HTTP_TYPES) == set(CASES), "every HTTP channel type needs a contract case (and back)"
    for t in HTTP_TYPES:
        assert t in FAKES, f"{t} needs a fake in tests/fakes/ registered in server.FAKES"


def test_capabilities_are_consistent_data(harness: Harness) -> None:
    caps = harness.caps
    assert caps.fields and set(caps.fields) <= set(FIELD_KINDS)
    assert 1 <= caps.read_page_size <= harness.fake.page_size_max
    assert 1 <= caps.max_write_batch <= harness.fake.batch_limit
    assert caps.rate_limit_per_second is None or caps.rate_limit_per_second > 0


# -- reading ---------------------------------------------------------------------------------------
def test_reads_every_listing_across_pages(harness: Harness) -> None:
    page = harness.caps.read_page_size
    groups = 2 if harness.case.variants else 0
    skus = harness.fake.seed(2 * page + page // 2, variable=groups, per_parent=3)
    listed = harness.read()
    assert set(listed) == set(skus) == set(harness.fake.skus())
    reads = harness.counters[f"{harness.name}.reads"]
    assert math.ceil(len(skus) / page) <= reads <= math.ceil(len(skus) / page) + groups + 2
    for sku in skus:
        stored = harness.fake.stored(sku)
        assert stored is not None
        values = listed[sku].values
        assert values.get(QUANTITY) == stored.quantity
        assert values.get(PRICE) == harness.money(stored.price or "")
        assert values.get(TITLE) == stored.title
        assert values.get(DESCRIPTION) == stored.description


def test_reads_only_the_skus_asked_for(harness: Harness) -> None:
    skus = harness.fake.seed(30, variable=2 if harness.case.variants else 0, per_parent=2)
    wanted = [skus[3], skus[-1], "NO-SUCH-SKU"]
    got = harness.read(wanted)
    assert set(got) == {skus[3], skus[-1]}


# -- writing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["19.99", "0.10", "1234567.89"])
def test_money_round_trips_exactly(harness: Harness, amount: str) -> None:
    sku = harness.fake.seed(1, price="5.00")[0]
    harness.read()
    [result] = harness.write({sku: {PRICE: harness.money(amount)}})
    assert result.ok, result.error
    assert result.applied[PRICE] == harness.money(amount)
    stored = harness.fake.stored(sku)
    assert stored is not None and stored.price == amount
    assert harness.read([sku])[sku].values[PRICE] == harness.money(amount)


def test_every_declared_field_round_trips(harness: Harness) -> None:
    sku = harness.fake.seed(1)[0]
    harness.read()
    new: dict[str, Value] = {
        QUANTITY: 7,
        PRICE: harness.money("23.45"),
        TITLE: "Mug — blue ✓",
        DESCRIPTION: "Line one.\n\nLine two with <b>bold</b> & more.",
    }
    values = {k: v for k, v in new.items() if k in harness.caps.fields}
    [result] = harness.write({sku: values})
    assert result.ok, result.error
    assert dict(result.applied) == values
    assert {k: v for k, v in harness.read([sku])[sku].values.items() if k in values} == values


def test_reapplying_a_write_is_idempotent(harness: Harness) -> None:
    skus = harness.fake.seed(3)
    harness.read()
    values: dict[str, dict[str, Value]] = {s: {QUANTITY: 4, PRICE: harness.money("9.50")} for s in skus}
    first = harness.write(values)
    state = harness.fake.state()
    second = harness.write(values)
    assert all(r.ok for r in first + second)
    assert harness.fake.state() == state, "the same absolute write twice leaves one state"
    again = harness.read()
    # what a planner compares: nothing differs, so a re-plan writes nothing
    assert all(again[s].values[k] == v for s in skus for k, v in values[s].items())


def test_writes_never_exceed_the_batch_limit(harness: Harness) -> None:
    limit = harness.caps.max_write_batch
    skus = harness.fake.seed(2 * limit + 1)
    harness.read()
    results = harness.write({s: {QUANTITY: 5} for s in skus})
    assert all(r.ok for r in results)
    sizes = harness.fake.batch_sizes()
    assert len(sizes) == math.ceil(len(skus) / limit), "the fewest write calls the limit allows"
    assert max(sizes) <= min(limit, harness.fake.batch_limit)
    assert all(harness.fake.stored(s).quantity == 5 for s in skus)  # type: ignore[union-attr]


def test_a_batch_at_the_limit_is_one_call(harness: Harness) -> None:
    limit = harness.caps.max_write_batch
    skus = harness.fake.seed(limit)
    harness.read()
    assert all(r.ok for r in harness.write({s: {QUANTITY: 2} for s in skus}))
    assert harness.fake.batch_sizes() == [limit]


def test_the_fake_refuses_an_oversized_batch_like_the_vendor(harness: Harness) -> None:
    harness.fake.seed(3)
    method, path, body = harness.fake.oversized_write(harness.fake.batch_limit + 1)
    before = harness.requests()
    with harness.not_recorded(), pytest.raises(PermanentError) as err:
        harness.adapter.client.request(method, path, json=body, idempotent=True)
    assert err.value.status in (400, 413)
    assert str(harness.fake.batch_limit) in str(err.value)
    assert harness.requests() - before == 1, "a permanent error is not retried"


def test_a_partial_batch_failure_is_reported_per_sku(harness: Harness) -> None:
    skus = harness.fake.seed(3)
    harness.read()
    harness.fake.reject(skus[1], "Sorry, you are not allowed to edit this resource.")
    results = harness.write({s: {QUANTITY: 4} for s in skus})
    assert [r.ok for r in results] == [True, False, True]
    assert "not allowed to edit" in (results[1].error or "")
    assert results[1].error_kind == Kind.PERMANENT.value
    assert [harness.fake.stored(s).quantity for s in skus] == [4, 10, 4]  # type: ignore[union-attr]


# -- retries, throttling, errors -------------------------------------------------------------------
def test_429_retry_after_is_honoured(harness: Harness) -> None:
    skus = harness.fake.seed(3)
    harness.fake.faults.fail_next(429, headers=harness.fake.throttle_headers(7))
    assert set(harness.read()) == set(skus)
    assert 7.0 in harness.sleeps
    assert harness.counters[f"{harness.name}.throttled"] == 1
    assert harness.counters[f"{harness.name}.retries"] == 1


def test_retry_after_as_an_http_date_is_honoured(harness: Harness) -> None:
    harness.fake.seed(2)
    now = datetime.now(UTC).replace(microsecond=0)
    harness.fake.faults.fail_next(
        429,
        headers={
            "Retry-After": format_datetime(now + timedelta(seconds=30), usegmt=True),
            "Date": format_datetime(now, usegmt=True),
        },
    )
    harness.read()
    assert 30.0 in harness.sleeps


def test_a_retry_after_beyond_the_cap_is_not_slept(harness: Harness) -> None:
    harness.fake.seed(2)
    harness.fake.faults.fail_next(429, headers={"Retry-After": "3600"})
    before = harness.requests()
    with pytest.raises(RateLimited) as err:
        harness.read()
    assert err.value.retry_after == 3600
    assert not harness.sleeps
    assert harness.requests() - before == 1


def test_5xx_is_retried_with_jittered_backoff(harness: Harness) -> None:
    skus = harness.fake.seed(3)
    harness.fake.faults.fail_next(503, count=2)
    assert set(harness.read()) == set(skus)
    policy = harness.adapter.client.retry
    assert len(harness.sleeps) == 2
    for n, s in enumerate(harness.sleeps, start=1):
        assert 0 <= s <= min(policy.backoff_max, policy.backoff_base * 2 ** (n - 1))


def test_idempotent_writes_are_retried(harness: Harness) -> None:
    skus = harness.fake.seed(2)
    harness.read()
    harness.fake.faults.fail_next(502)
    results = harness.write({s: {QUANTITY: 6} for s in skus})
    assert all(r.ok for r in results)
    assert len(harness.fake.batch_sizes()) == 2  # the failed call and its retry
    assert all(harness.fake.stored(s).quantity == 6 for s in skus)  # type: ignore[union-attr]


def test_a_write_applied_before_a_timeout_is_retried_safely(harness: Harness) -> None:
    skus = harness.fake.seed(2)
    harness.read()
    harness.fake.faults.fail_next(kind="timeout", applied=True)
    results = harness.write({s: {QUANTITY: 3} for s in skus})
    assert all(r.ok and r.applied[QUANTITY] == 3 for r in results)
    assert all(harness.fake.stored(s).quantity == 3 for s in skus)  # type: ignore[union-attr]


def test_4xx_is_not_retried(harness: Harness) -> None:
    harness.fake.seed(2)
    harness.fake.faults.fail_next(400)
    before = harness.requests()
    with pytest.raises(PermanentError) as err:
        harness.read()
    assert harness.requests() - before == 1
    assert not harness.sleeps
    assert err.value.status == 400 and "Scripted error 400" in str(err.value)


def test_timeouts_and_resets_are_retried(harness: Harness) -> None:
    skus = harness.fake.seed(2)
    harness.fake.faults.fail_next(kind="timeout")
    harness.fake.faults.fail_next(kind="reset")
    assert set(harness.read()) == set(skus)
    assert harness.counters[f"{harness.name}.retries"] == 2


def test_retries_are_bounded_in_attempts_and_time(make_harness: Any) -> None:
    harness: Harness = make_harness(faults=Faults(error_rate=1.0))
    harness.fake.seed(2)
    policy = harness.adapter.client.retry
    with pytest.raises(TransientError) as err:
        harness.read()
    assert harness.requests() == policy.max_attempts
    assert sum(harness.sleeps) <= policy.max_elapsed
    assert f"gave up after {policy.max_attempts} attempts" in str(err.value)


def test_a_garbage_answer_is_a_response_error(harness: Harness) -> None:
    harness.fake.seed(2)
    harness.fake.faults.fail_next(kind="garbage")
    with pytest.raises(ResponseError):
        harness.read()


def test_401_is_an_auth_error_and_not_retried(harness: Harness) -> None:
    harness.fake.seed(2)
    harness.fake.revoke_credentials()
    with pytest.raises(AuthError) as err:
        harness.read()
    assert harness.requests() == 1
    assert err.value.status == 401 and err.value.channel == harness.name


def test_401_refreshes_the_token_once(harness: Harness) -> None:
    skus = harness.fake.seed(2)
    harness.read()
    harness.fake.expire_token()
    assert set(harness.read()) == set(skus)
    assert harness.fake.oauth_refresh


def test_check_reports_reachability_in_one_line(harness: Harness) -> None:
    harness.fake.seed(2)
    line = harness.adapter.check()
    assert line and "\n" not in line
    harness.fake.revoke_credentials()
    with pytest.raises(AuthError):
        harness.adapter.check()


def test_pacing_follows_the_published_rate(harness: Harness) -> None:
    rate = harness.caps.rate_limit_per_second
    if rate is None:
        pytest.skip(f"{harness.case.type} publishes no rate limit (pacing follows the server's headers)")
    harness.fake.seed(2)
    n = int(rate * 3) + 2
    for _ in range(n):
        harness.adapter.check()
    assert sum(harness.sleeps) >= (n - max(1.0, rate)) / rate * 0.99


# -- concurrency: compare-and-set and sales during a run -------------------------------------------
def test_compare_and_set_reports_a_conflict(harness: Harness) -> None:
    if not harness.caps.compare_and_set:
        pytest.skip(f"{harness.case.type} declares compare_and_set=False")
    sku = harness.fake.seed(1)[0]
    harness.read()
    harness.fake.sell(sku, 2)
    [result] = harness.write({sku: {QUANTITY: 10}})
    assert not result.ok and result.error_kind == Kind.CONFLICT.value
    assert harness.fake.stored(sku).quantity == 8  # type: ignore[union-attr]


def test_a_sale_during_the_run_is_never_hidden(harness: Harness) -> None:
    """The fake sells between read and write. With compare-and-set the adapter reports a conflict;
    without it, its result says exactly what the store holds, and the sale stays visible to the
    engine's next read (which takes it out of the catalog stock before anything is re-offered)."""
    sku = harness.fake.seed(1, quantity=10)[0]
    harness.read()
    assert harness.fake.sell(sku, 3) == 3
    [result] = harness.write({sku: {QUANTITY: 10}})
    stored = harness.fake.stored(sku)
    assert stored is not None
    if harness.caps.compare_and_set:
        assert result.error_kind == Kind.CONFLICT.value and stored.quantity == 7
    else:
        assert result.ok and result.applied[QUANTITY] == stored.quantity
    assert harness.fake.sold[sku] == 3
    assert harness.read([sku])[sku].values[QUANTITY] == stored.quantity


def test_sales_between_reads_show_up_in_the_next_read(make_harness: Any) -> None:
    harness: Harness = make_harness(sales=Sales(rate=0.5, max_units=2), seed=11)
    skus = harness.fake.seed(40, quantity=10)
    first = harness.read()
    assert harness.fake.sold, "the simulation sold something after serving the listing"
    harness.fake.sales.rate = 0  # the shop closes: the next read must show exactly what is stored
    second = harness.read()
    stored = {s: harness.fake.stored(s) for s in skus}
    for sku in skus:
        st = stored[sku]
        assert st is not None and st.quantity is not None
        assert second[sku].values[QUANTITY] == st.quantity
        assert first[sku].values[QUANTITY] == st.quantity + harness.fake.sold.get(sku, 0)


# -- logs, counters, secrets -----------------------------------------------------------------------
def test_verbose_log_and_counters_match_the_calls_made(harness: Harness) -> None:
    harness.fake.seed(5)
    harness.read()
    harness.write({s: {QUANTITY: 1} for s in harness.fake.skus()[:2]})
    name = harness.name
    pattern = re.compile(rf"^{re.escape(name)}: (GET|POST|PUT|PATCH|DELETE) /\S* \d{{3}} \d+ms$")
    lines = [line for line in harness.logs if pattern.match(line)]
    assert len(lines) == harness.requests() == harness.counters[name]
    assert harness.counters[f"{name}.reads"] + harness.counters[f"{name}.writes"] == harness.counters[name]
    assert harness.counters[f"{name}.writes"] == len(harness.fake.batch_sizes())
    assert not any("?" in line for line in harness.logs), "no query string in the request log"


def _forms(secret: str) -> set[str]:
    """The secret, its URL-encoded forms, and every 12-character piece of it (a message cut short
    must not leave half a secret behind)."""
    out = {secret, quote(secret, safe=""), quote_plus(secret)}
    out.update(secret[i : i + 12] for i in range(0, max(1, len(secret) - 11)))
    return out


def test_no_secret_in_any_error_log_or_result(case: Any, make_harness: Any) -> None:
    texts: list[str] = []
    secrets = set(case.secrets) | set(case.wrong_secret_env.values())

    def collect(h: Harness, fn: Any) -> Any:
        try:
            return fn()
        except ChannelError as exc:
            texts.extend([str(exc), repr(exc), *map(str, exc.args)])
            return None

    for overrides in case.auth_variants.values():
        h: Harness = make_harness(config=overrides, faults=Faults(leak_request_in_errors=True))
        skus = h.fake.seed(3)
        texts.append(h.adapter.check())
        h.read()
        attempts = h.adapter.client.retry.max_attempts
        h.fake.faults.fail_next(500, count=attempts)
        collect(h, h.read)
        h.fake.faults.fail_next(kind="timeout", count=attempts)
        collect(h, h.read)
        h.fake.faults.fail_next(kind="garbage")
        collect(h, h.read)
        h.fake.reject(skus[0], "Sorry, you are not allowed to edit this resource.")
        results = collect(h, lambda h=h, skus=skus: h.write({s: {QUANTITY: 1} for s in skus})) or []
        texts.extend(f"{r.error} {r.applied}" for r in results)
        h.fake.revoke_credentials()
        collect(h, h.read)
        wrong: Harness = make_harness(config=overrides, env=case.wrong_secret_env)
        wrong.fake.seed(1)
        collect(wrong, wrong.read)
        texts.extend(h.logs + wrong.logs)
        for key in h.counters:
            texts.append(key)
        basic = base64.b64encode(f"{case.secrets[0]}:{case.secrets[1]}".encode()).decode()
        secrets.add(basic)
    assert any("***" in t for t in texts), "the leaky proxy's echo was redacted somewhere"
    blob = "\n".join(texts)
    for secret in secrets:
        for form in _forms(secret):
            assert form not in blob, f"a piece of a secret leaked: {form[:4]}..."
