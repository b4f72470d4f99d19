"""A seller's workspace (catalog + channels.toml) and ways to run the CLI, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

CSV = """sku,group_key,title,description,price,currency,quantity@warehouse,quantity@store,brand,gtin,images
TEE-S,TEE,Tee S,Cotton tee.,19.99,USD,10,2,Omni,4006381333931,https://shop.example/img/tee-s.jpg
TEE-M,TEE,Tee M,Cotton tee.,19.99,USD,8,0,Omni,,https://shop.example/img/tee-m.jpg
TEE-L,TEE,Tee L,Cotton tee.,19.99,USD,5,1,Omni,,https://shop.example/img/tee-l.jpg
MUG,,Mug,Stoneware.,12.50,USD,7,0,Omni,,https://shop.example/img/mug.jpg
POSTER,,Poster,Paper.,9.00,USD,3,3,Omni,,https://shop.example/img/poster.jpg
"""

CONFIG = """catalog = "catalog.db"
state = "state.db"

[channels.shop]
type = "sandbox"
path = "shop.db"

[channels.market]
type = "sandbox"
path = "market.db"
max_write_batch = 2

[channels.market.stock]
buffer = 1

[channels.feed]
type = "feed"
format = "google"
path = "feed.tsv"
link_template = "https://shop.example/p/{sku}"
"""


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "channels.toml"
        self.catalog = root / "catalog.db"
        self.state = root / "state.db"

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run omnisync in-process (Typer's CliRunner), from the workspace folder."""
        from omnisync.cli import app

        runner = CliRunner()
        old = os.getcwd()
        os.chdir(self.root)
        try:
            r = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        finally:
            os.chdir(old)
        return Result(r.exit_code, r.stdout, r.stderr)

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        """Run the real omnisync process."""
        p = subprocess.run(
            [sys.executable, "-m", "omnisync", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        return Result(p.returncode, p.stdout, p.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "omnisync", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sandbox(self, name: str) -> dict[str, tuple[int, int | None, str]]:
        """What a sandbox channel holds: sku -> (quantity, price_minor, title)."""
        from omnisync.channels.sandbox import connect

        conn = connect(self.root / f"{name}.db")
        try:
            return {
                r[0]: (r[1], r[2], r[3])
                for r in conn.execute("SELECT sku, quantity, price_minor, title FROM listings ORDER BY sku")
            }
        finally:
            conn.close()

    def stock(self, sku: str) -> int:
        import sqlite3

        conn = sqlite3.connect(self.catalog)
        try:
            return int(
                conn.execute("SELECT COALESCE(SUM(quantity),0) FROM stock WHERE sku=?", (sku,)).fetchone()[0]
            )
        finally:
            conn.close()


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"Result(code={self.code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"
