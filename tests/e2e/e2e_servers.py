"""Real commerce servers for the end-to-end tests: npm install once per machine, start, stop.

* :func:`npm_project` installs a fixture's ``package-lock.json`` into
  ``~/.cache/omnisync-e2e/<name>-<hash of package.json + package-lock.json>`` with
  ``npm ci --no-audit --no-fund`` (once per machine; ``OMNISYNC_E2E_CACHE`` moves the folder).
* :class:`Process` starts a server in its own process group on a free 127.0.0.1 port, waits until
  it answers, and stops it by its PID (SIGTERM, then SIGKILL). The child also gets a parent-death
  signal, so a test run killed with SIGKILL does not leave servers behind.
* :class:`Postgres` is a private PostgreSQL cluster on loopback for Medusa (initdb refuses root:
  as root it runs as the ``postgres`` user in a folder that user owns).

When Node/npm, PostgreSQL or the npm packages cannot be had, :func:`unavailable` skips the tests
with the reason -- unless the environment variable ``CI`` is set, where it fails them instead.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "servers"
CACHE_ROOT = Path(os.environ.get("OMNISYNC_E2E_CACHE") or Path.home() / ".cache" / "omnisync-e2e")
INSTALLED = ".omnisync-installed"
NPM_TIMEOUT = 1200  # seconds; a cold `npm ci` of Medusa takes ~2 minutes on 2 cores
START_TIMEOUT = 240  # seconds for a server to answer after it was started


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason`` on a developer's machine; fail under CI, where nothing may be skipped."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def require_node() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable(
            "Node.js >= 20 and npm are needed for the end-to-end servers (node or npm is not on PATH)"
        )
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(f"node does not run: {exc}")
    major = int(version.lstrip("v").split(".")[0] or 0) if version.lstrip("v")[:1].isdigit() else 0
    if major < 20:
        unavailable(f"Node.js >= 20 is needed for the end-to-end servers, found {version or 'none'}")
    return node, npm


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    url: str
    admin_user: str
    admin_password: str
    log: Path
    locations: list[str] = field(default_factory=list)  # remote stock location ids
    sales_channel: str | None = None


# -- npm ---------------------------------------------------------------------------------------


def lock_hash(name: str) -> str:
    h = hashlib.sha256()
    for file in ("package.json", "package-lock.json"):
        h.update(file.encode() + b"\0" + (FIXTURES / name / file).read_bytes() + b"\0")
    return h.hexdigest()[:16]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def npm_project(name: str) -> tuple[Path, float]:
    """The fixture ``tests/e2e/servers/<name>`` with its npm packages installed, and the seconds
    the install took (0 when it was already in the cache). Other files of the fixture (server
    script, config) are copied in fresh every time, so editing them needs no reinstall."""
    _node, npm = require_node()
    src = FIXTURES / name
    dest = CACHE_ROOT / f"{name}-{lock_hash(name)}"
    took = 0.0
    with _file_lock(CACHE_ROOT / f".{name}.lock"):
        if not (dest / INSTALLED).exists():
            for old in CACHE_ROOT.glob(f"{name}-*"):  # earlier lockfiles' installs
                shutil.rmtree(old, ignore_errors=True)
            tmp = CACHE_ROOT / f".{name}.installing"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for file in ("package.json", "package-lock.json"):
                shutil.copy2(src / file, tmp / file)
            started = time.monotonic()
            env = {
                **os.environ,
                "npm_config_update_notifier": "false",
                "npm_config_fund": "false",
                "npm_config_audit": "false",
                "MEDUSA_DISABLE_TELEMETRY": "true",
                "VENDURE_DISABLE_TELEMETRY": "true",
            }
            try:
                p = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=tmp,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                unavailable(f"npm ci for the {name} test server did not finish: {exc}")
            if p.returncode != 0:
                tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
                shutil.rmtree(tmp, ignore_errors=True)
                unavailable(f"npm ci for the {name} test server failed (exit {p.returncode}):\n{tail}")
            took = time.monotonic() - started
            (tmp / INSTALLED).write_text(f"npm ci took {took:.1f} s\n")
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(tmp, dest)
        for extra in src.iterdir():  # the server script / config: always the repo's version
            if extra.is_file() and extra.name not in ("package.json", "package-lock.json"):
                shutil.copy2(extra, dest / extra.name)
    return dest, took


# -- processes ---------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig: int) -> Callable[[], None]:
    def setup() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except Exception:
            pass

    return setup


class Process:
    """One server process we started: its own process group, a log file, stopped by its PID."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log: Path,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.log = log
        self.stop_signal = stop_signal
        self._fh = open(log, "ab")
        self.proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            preexec_fn=_die_with_parent(stop_signal),
        )
        self.pid = self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> float:
        """Poll ``ready`` until it is true; seconds it took. Raises if the process died or the
        deadline passed (with the end of its log)."""
        started = time.monotonic()
        while True:
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before {what}:\n{self.log_tail()}"
                )
            try:
                if ready():
                    return time.monotonic() - started
            except (OSError, httpx.HTTPError):
                pass
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{self.name} was not {what} after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> None:
        """Stop the process group we started (the PID is its group id), politely first."""
        if self.running():
            for sig, wait in ((self.stop_signal, timeout), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            try:  # children of a process that already exited
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._fh.close()


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        return httpx.get(url, timeout=2).status_code == 200

    return check


# -- PostgreSQL --------------------------------------------------------------------------------


def pg_bin() -> Path:
    for name in ("initdb", "pg_ctl", "postgres"):
        found = shutil.which(name)
        if found:
            return Path(os.path.realpath(found)).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    unavailable("PostgreSQL is needed for the Medusa test server (apt-get install -y postgresql)")


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trust auth, fsync off, in a temp folder."""

    def __init__(self, root: Path, logs: Path) -> None:
        self.bin = pg_bin()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            # initdb refuses root: run the cluster as the postgres user (or nobody) in a folder it owns
            for candidate in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(candidate)
                except KeyError:
                    continue
                self.user = candidate
                os.chown(root, pw.pw_uid, pw.pw_gid)
                break
            else:
                unavailable("no 'postgres' or 'nobody' user to run PostgreSQL as (initdb refuses root)")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        p = subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            cwd=root,
            env=env,
            user=self.user,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if p.returncode != 0:
            raise RuntimeError(f"initdb failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
        for attempt in range(3):
            self.process = Process(
                "postgres",
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={root}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=100",
                ],
                cwd=root,
                env=env,
                log=logs / "postgres.log",
                user=self.user,
                stop_signal=signal.SIGINT,
            )  # SIGINT = fast shutdown
            try:
                self.process.wait_until(self.accepting, "accepting connections", timeout=120)
                return
            except RuntimeError:
                self.process.stop()
                if "already in use" not in self.process.log_tail(50) or attempt == 2:
                    raise
                self.port = free_port()  # taken meanwhile by someone else: another port

    def psql(self, sql: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )

    def accepting(self) -> bool:
        return self.psql("select 1").returncode == 0

    def create_database(self, name: str) -> str:
        p = self.psql(f'create database "{name}"')
        if p.returncode != 0:
            raise RuntimeError(f"create database {name} failed: {p.stderr}")
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def scratch_dir(prefix: str) -> Path:
    """A folder in the system temp dir (world-traversable, unlike pytest's tmp folders)."""
    return Path(tempfile.mkdtemp(prefix=prefix))
