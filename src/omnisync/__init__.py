"""omnisync: keep a seller's listings true on every sales channel."""

__version__ = "0.1.0"
