"""The channel registry: one line per channel type, imported lazily.

``omnisync --help`` never imports an adapter; :func:`load` imports one when a config names it.
Adding a channel = one file here + one line below + one fake in ``tests/fakes/`` + one line in the
contract cases + one block in ``channels.toml.example`` (a test fails until all exist).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import BaseChannel

# type name -> "module:Class". Offline types first, then HTTP adapters.
REGISTRY: dict[str, str] = {
    "sandbox": "omnisync.channels.sandbox:SandboxChannel",
    "feed": "omnisync.channels.feed:FeedChannel",
    "woocommerce": "omnisync.channels.woocommerce:WooCommerceChannel",
    "bigcommerce": "omnisync.channels.bigcommerce:BigCommerceChannel",
    "vendure": "omnisync.channels.vendure:VendureChannel",
    "medusa": "omnisync.channels.medusa:MedusaChannel",
    "ecwid": "omnisync.channels.ecwid:EcwidChannel",
    "shopify": "omnisync.channels.shopify:ShopifyChannel",
}

# Types that talk HTTP to a vendor (the contract suite and spec conformance run over these).
HTTP_TYPES: tuple[str, ...] = tuple(t for t in REGISTRY if t not in ("sandbox", "feed"))


def types() -> list[str]:
    return sorted(REGISTRY)


def load(type_name: str) -> type[BaseChannel]:
    """The adapter class for ``type_name`` (KeyError if unknown)."""
    target = REGISTRY[type_name]
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)  # type: ignore[no-any-return]
