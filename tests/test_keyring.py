"""Secrets from the OS keyring when the config names a keyring service (`keyring_service`)."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from tests.fakes.server import FakeServer
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import Workspace


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def ring() -> MemoryKeyring:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_secrets_come_from_the_keyring_when_the_environment_lacks_them(
    ring: MemoryKeyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = WooCommerceFake()
    skus = fake.seed(3)
    ws = Workspace(tmp_path)
    (tmp_path / "catalog.csv").write_text(
        "sku,title,price,currency,quantity\n"
        + "".join(f"{s},Product {i + 1},21.00,USD,4\n" for i, s in enumerate(skus))
    )
    monkeypatch.delenv("WC_KEY", raising=False)
    monkeypatch.delenv("WC_SECRET", raising=False)
    with FakeServer(fake) as server:
        ws.config.write_text(f"""catalog = "catalog.db"
keyring_service = "omnisync-test"

[channels.woo]
type = "woocommerce"
base_url = "{server.url}"
consumer_key_env = "WC_KEY"
consumer_secret_env = "WC_SECRET"
sync = ["quantity", "price"]
""")
        assert ws.cli("init").code == 0 and ws.cli("import", "catalog.csv").code == 0
        r = ws.cli("push")
        assert r.code == 2 and "WC_KEY" in r.stderr and "keyring" in r.stderr
        assert fake.requests == []
        ring.set_password("omnisync-test", "WC_KEY", fake.consumer_key)
        ring.set_password("omnisync-test", "WC_SECRET", fake.consumer_secret)
        r = ws.cli("push")
        assert r.code == 0, r
        assert fake.consumer_secret not in r.stdout + r.stderr
        assert all(fake.stored(s).quantity == 4 for s in skus)
        assert ws.cli("channels", "--check").code == 0


def test_keyring_service_must_be_a_name(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    ws.config.write_text('keyring_service = 3\n[channels.s]\ntype = "sandbox"\npath = "s.db"\n')
    r = ws.cli("status")
    assert r.code == 2 and "channels.toml:1" in r.stderr and "keyring_service" in r.stderr
