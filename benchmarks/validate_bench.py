"""Benchmark ``omnisync validate``: SKUs x channels checked per second.

    python benchmarks/validate_bench.py [--skus 100000] [--channels 5]

Builds a synthetic catalog (variants in groups of four, identifiers, images, a few listings that
break rules), checks it against up to five channels with price and content rules, and prints the
numbers. No assertions: the numbers are for people.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from decimal import Decimal

from omnisync.channels.base import Capabilities, ChannelConfig
from omnisync.models import Product
from omnisync.money import Money
from omnisync.rules import ContentRules, PriceRules
from omnisync.validate import summary, validate
from omnisync.validation_rules import RULE_SETS

FIELDS = frozenset({"quantity", "price", "title", "description"})


def gtin13(n: int) -> str:
    body = f"{400000000000 + n:012d}"
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def catalog(count: int) -> list[Product]:
    products = []
    for i in range(count):
        bad = i % 97 == 0  # about 1% of SKUs break a rule or two
        products.append(
            Product(
                sku=f"SKU-{i:07d}",
                title=f"Organic cotton tee {i // 4}, crew neck"
                + ("x" * 90 if bad else "")
                + f", size {i % 4}",
                price=Money(1999 + i % 500, "USD"),
                description="Soft organic cotton tee. Machine washable." + (" <script>" if bad else ""),
                group_key=f"TEE-{i // 4:06d}",
                stock={"main": i % 40, "shop": i % 3},
                gtin=gtin13(i) if not bad else "4006381333932",
                brand="Acme",
                mpn=f"AC-{i}",
                images=(f"https://cdn.example.com/p/{i}.jpg", f"https://cdn.example.com/p/{i}-b.jpg"),
                link=f"https://shop.example.com/p/{i}",
            )
        )
    return products


def channels(count: int) -> list[tuple[ChannelConfig, Capabilities]]:
    caps = Capabilities(fields=FIELDS, read_page_size=100, max_write_batch=100)
    configs = [
        ChannelConfig(
            name="ebay",
            type="sandbox",
            validate_as=["ebay"],
            currency="USD",
            price=PriceRules(markup_percent=Decimal(12), ending=Decimal("0.99")),
        ),
        ChannelConfig(
            name="google",
            type="sandbox",
            validate_as=["google"],
            content=ContentRules(title_template="{brand} {title}"),
        ),
        ChannelConfig(
            name="amazon",
            type="sandbox",
            validate_as=["amazon", "walmart"],
            price=PriceRules(add=Decimal("1.50")),
        ),
        ChannelConfig(name="etsy", type="sandbox", validate_as=["etsy", "meta"]),
        ChannelConfig(name="shop", type="sandbox", validate_as=["shopify", "bigcommerce", "tiktok"]),
    ]
    return [(cfg, caps) for cfg in configs[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=5, choices=range(1, 6))
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also measure peak memory (tracemalloc; makes the run much slower)",
    )
    args = parser.parse_args()

    products = catalog(args.skus)
    chans = channels(args.channels)
    rules = sum(len(RULE_SETS[n]) for cfg, _ in chans for n in ["sandbox", *cfg.validate_as])
    if args.memory:
        tracemalloc.start()
    start = time.perf_counter()
    findings = validate(products, chans)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if args.memory else 0
    tracemalloc.stop()
    counts = summary(findings)
    checks = args.skus * len(chans)
    print(f"SKUs:             {args.skus:,}")
    print(f"channels:         {len(chans)} ({rules} rules in all)")
    print(
        f"findings:         {len(findings):,} ({counts['errors']:,} errors, {counts['warnings']:,} warnings)"
    )
    print(f"seconds:          {seconds:.2f}")
    print(f"SKU-checks/s:     {checks / seconds:,.0f}")
    if args.memory:
        print(f"peak memory (MB): {peak / 1e6:.0f} (traced, so the time above is slower)")


if __name__ == "__main__":
    main()
