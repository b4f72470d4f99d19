"""In-memory fakes of the vendor APIs: ``httpx.MockTransport`` handlers that can also be served on
127.0.0.1 (``tests/fakes/server.py``). One module per vendor, registered in ``server.FAKES``."""

from typing import Any

from .base import FakeMarketplace, FakeRequest, FakeResponse, Faults, LoggedRequest, Sales, Stored

__all__ = [
    "FAKES",
    "FakeMarketplace",
    "FakeRequest",
    "FakeResponse",
    "FakeServer",
    "Faults",
    "LoggedRequest",
    "Sales",
    "Stored",
    "fake_class",
]


def __getattr__(name: str) -> Any:
    # imported lazily: `python -m tests.fakes.server` must not find the module already imported
    if name in ("FAKES", "FakeServer", "fake_class"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
