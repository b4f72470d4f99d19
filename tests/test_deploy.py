"""deploy/ and docs/scaling.md: the Kubernetes manifest, the systemd units and the Dockerfile.

Nothing here runs omnisync, Docker, systemd or a cluster. Each file is parsed, its promises are
checked (one run at a time, state on a persistent volume, secrets from a Secret or an env file,
never root), and every omnisync command line it holds is resolved against the real command tree,
so renaming a flag or a command fails here before it fails in someone's cron.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import typer
import yaml

from omnisync import cli

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
MANIFEST = DEPLOY / "kubernetes" / "cronjob.yaml"
SERVICE = DEPLOY / "systemd" / "omnisync@.service"
TIMER = DEPLOY / "systemd" / "omnisync@.timer"
DOCKERFILE = DEPLOY / "Dockerfile"
SCALING = REPO / "docs" / "scaling.md"


@pytest.fixture(autouse=True)
def _no_omnisync_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads OMNISYNC_* variables; the caller's own must not change what is parsed."""
    for var in ("OMNISYNC_CONFIG", "OMNISYNC_CATALOG", "OMNISYNC_STATE"):
        monkeypatch.delenv(var, raising=False)


# -- the command tree ----------------------------------------------------------------------------
def resolve(args: list[str]) -> tuple[str, Any]:
    """Parse ``omnisync ARGS`` as the installed CLI would, without running any command.

    Returns the subcommand's name and the top-level context (whose ``params`` hold --config,
    --catalog and --state). Fails the test with Click's own message when the CLI would refuse
    the line: an unknown option or command, a bad value, a global option after the command.
    Typer builds the tree on Click (its own vendored copy in recent releases), so the objects
    are used by their Click interface only.
    """
    group = typer.main.get_command(cli.app)
    assert hasattr(group, "resolve_command") and group.commands, "the app is not a command group"
    try:
        ctx = group.make_context("omnisync", list(args), resilient_parsing=False)
        # The command name is kept apart from its arguments (Click 8.2 made that attribute private).
        protected = getattr(ctx, "_protected_args", None)
        if protected is None:
            protected = ctx.protected_args
        rest = [*protected, *ctx.args]
        if not rest:
            pytest.fail(f"omnisync {shlex.join(args)}: no command")
        name, command, sub_args = group.resolve_command(ctx, rest)
        assert name is not None and command is not None
        command.make_context(name, sub_args, parent=ctx, resilient_parsing=False)
    except Exception as exc:  # Click's UsageError and BadParameter, from whichever Click Typer uses
        if not hasattr(exc, "format_message"):
            raise
        pytest.fail(f"the CLI refuses `omnisync {shlex.join(args)}`: {exc.format_message()}")
    return name, ctx


def store_paths(ctx: Any, workdir: PurePosixPath) -> list[PurePosixPath]:
    """The folders and files a push writes: the config's folder (catalog.db, state.db and the lock
    by default) and any --catalog or --state given, relative to the working directory."""
    paths = [(workdir / str(ctx.params["config"])).parent]
    paths += [workdir / str(ctx.params[name]) for name in ("catalog", "state") if ctx.params[name]]
    return paths


def _under(path: PurePosixPath, folders: list[PurePosixPath]) -> bool:
    return any(path == f or f in path.parents for f in folders)


@pytest.mark.parametrize(
    "args",
    [
        ["push", "--quiett"],  # a misspelt (or renamed) flag
        ["--configuration", "/data/channels.toml", "push"],
        ["push", "--config", "/data/channels.toml"],  # a global option after the command
        ["pushh", "-q"],  # an unknown command
        ["push", "--max-changes", "many"],  # a value of the wrong type
        ["--config"],  # an option without its value
    ],
)
def test_resolve_refuses_what_the_cli_refuses(args: list[str]) -> None:
    """The checks below would be worthless if `resolve` accepted anything."""
    with pytest.raises(pytest.fail.Exception, match="the CLI refuses"):
        resolve(args)


def test_resolve_accepts_the_readme_cron_line() -> None:
    name, ctx = resolve(["push", "-q"])
    assert name == "push"
    assert ctx.params["config"] == Path("channels.toml")


# -- the Kubernetes manifest ---------------------------------------------------------------------
def _manifest() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    kinds = [d["kind"] for d in docs]
    assert len(kinds) == len(set(kinds)), f"one object of each kind expected, got {kinds}"
    return {d["kind"]: d for d in docs}


def _pod(cron: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    containers = pod["containers"]
    assert len(containers) == 1, "one container: omnisync"
    container: dict[str, Any] = containers[0]
    return container


def _container_args(container: dict[str, Any]) -> list[str]:
    """The arguments after the image's `omnisync` ENTRYPOINT (or after an explicit command)."""
    command = container.get("command")
    if command is not None:
        assert command[:1] == ["omnisync"], f"command {command} does not run omnisync"
        return [str(a) for a in command[1:]] + [str(a) for a in container.get("args", [])]
    return [str(a) for a in container.get("args", [])]


def test_manifest_has_a_volume_a_secret_and_a_cronjob() -> None:
    docs = _manifest()
    assert set(docs) == {"PersistentVolumeClaim", "Secret", "CronJob"}
    assert docs["CronJob"]["apiVersion"] == "batch/v1"
    # SQLite wants a volume of its own with working locks, not a shared network one.
    assert docs["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_cronjob_never_runs_two_pushes_of_a_store_at_once() -> None:
    spec = _manifest()["CronJob"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    # The controller looks every 10 s; a smaller deadline can skip every run.
    assert isinstance(spec["startingDeadlineSeconds"], int) and spec["startingDeadlineSeconds"] >= 10
    assert isinstance(spec["successfulJobsHistoryLimit"], int)
    assert isinstance(spec["failedJobsHistoryLimit"], int)
    job = spec["jobTemplate"]["spec"]
    assert isinstance(job["backoffLimit"], int) and 0 <= job["backoffLimit"] <= 3
    assert isinstance(job["activeDeadlineSeconds"], int)


def test_cronjob_runs_a_push_the_cli_accepts() -> None:
    container = _container(_pod(_manifest()["CronJob"]))
    name, _ = resolve(_container_args(container))
    assert name == "push"
    assert "--dry-run" not in _container_args(container)


def test_cronjob_keeps_the_store_directory_on_the_persistent_volume() -> None:
    docs = _manifest()
    pod = _pod(docs["CronJob"])
    container = _container(pod)
    _, ctx = resolve(_container_args(container))
    workdir = PurePosixPath(container.get("workingDir") or _dockerfile_final_stage()["WORKDIR"][-1])
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    pvc_mounts = [
        PurePosixPath(m["mountPath"])
        for m in container["volumeMounts"]
        if claims.get(m["name"]) == docs["PersistentVolumeClaim"]["metadata"]["name"]
        and not m.get("readOnly", False)
    ]
    assert pvc_mounts, "no writable mount of the manifest's PersistentVolumeClaim"
    for path in store_paths(ctx, workdir):
        assert _under(path, pvc_mounts), f"{path} is not on the volume"


def test_cronjob_takes_secrets_from_the_secret_only() -> None:
    docs = _manifest()
    secret = docs["Secret"]
    container = _container(_pod(docs["CronJob"]))
    from_env = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    from_keys = [
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    ]
    assert secret["metadata"]["name"] in from_env + from_keys
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    assert keys
    literal = {e["name"] for e in container.get("env", []) if "value" in e}
    assert not keys & literal, "a secret variable is also set in plain text"
    # The Secret's keys are variables a channel's *_env key can name, as in channels.toml.example.
    example = (REPO / "channels.toml.example").read_text()
    assert keys <= set(re.findall(r'_env = "([A-Z0-9_]+)"', example))
    # The example values are placeholders, never something that could be a real credential.
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert str(value).startswith("REPLACE-ME"), key


def test_cronjob_runs_as_a_non_root_user_with_requests() -> None:
    pod = _pod(_manifest()["CronJob"])
    container = _container(pod)
    pod_sc, sc = pod["securityContext"], container.get("securityContext", {})
    assert pod_sc["runAsNonRoot"] is True and sc.get("runAsNonRoot", True) is True
    assert sc.get("runAsUser", pod_sc.get("runAsUser", 1)) != 0
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert pod["restartPolicy"] == "Never"  # a Job's failed run is a new pod, and podFailurePolicy needs it
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    # podFailurePolicy rules name this container
    rules = _manifest()["CronJob"]["spec"]["jobTemplate"]["spec"].get("podFailurePolicy", {}).get("rules", [])
    for rule in rules:
        if "onExitCodes" in rule and "containerName" in rule["onExitCodes"]:
            assert rule["onExitCodes"]["containerName"] == container["name"]


# -- the systemd units ---------------------------------------------------------------------------
def _unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file: sections of (key, value), in order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line[0] in "#;"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"{path.name}: {line!r}"
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))
    return sections


def _values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def _exec_argv(value: str, instance: str) -> list[str]:
    """ExecStart= as argv, for one instance: prefixes (-@:+!) dropped, %i and %% expanded."""
    value = value.lstrip("-@:+!")
    value = value.replace("%%", "\0").replace("%i", instance).replace("%I", instance).replace("\0", "%")
    assert "%" not in value, f"a specifier this test does not expand: {value}"
    return shlex.split(value)


def test_service_runs_a_push_the_cli_accepts() -> None:
    service = _unit(SERVICE)
    (exec_start,) = _values(service, "Service", "ExecStart")
    argv = _exec_argv(exec_start, "shop-a")
    assert PurePosixPath(argv[0]).is_absolute() and PurePosixPath(argv[0]).name == "omnisync"
    name, ctx = resolve(argv[1:])
    assert name == "push"
    # ProtectSystem=strict: the store's directory (config, catalog, state, lock) must be writable.
    (workdir,) = _values(service, "Service", "WorkingDirectory")
    writable = [
        PurePosixPath(p.replace("%i", "shop-a"))
        for v in _values(service, "Service", "ReadWritePaths")
        for p in v.split()
    ]
    for path in store_paths(ctx, PurePosixPath(workdir.replace("%i", "shop-a"))):
        assert _under(path, writable), f"{path} is read-only"


def test_service_treats_a_skipped_run_as_success_and_failures_as_failures() -> None:
    service = _unit(SERVICE)
    assert _values(service, "Service", "Type") == ["oneshot"]
    ok = {s for v in _values(service, "Service", "SuccessExitStatus") for s in v.split()}
    assert "75" in ok  # another run holds the lock: this one did nothing, by design
    assert not ok & {"1", "2", "3"}  # failed listings, bad input, a failed channel stay failures
    assert _values(service, "Service", "User") not in ([], ["root"], ["0"])
    (env_file,) = _values(service, "Service", "EnvironmentFile")
    assert "%i" in env_file  # each store its own secrets


def test_timer_starts_each_store_on_a_schedule_of_its_own() -> None:
    timer = _unit(TIMER)
    assert _values(timer, "Timer", "OnCalendar")
    assert _values(timer, "Timer", "RandomizedDelaySec")
    assert _values(timer, "Install", "WantedBy") == ["timers.target"]
    assert not _values(timer, "Timer", "Unit")  # omnisync@X.timer starts omnisync@X.service


# -- the Dockerfile ------------------------------------------------------------------------------
def _dockerfile_stages() -> list[dict[str, list[str]]]:
    """Each build stage's instructions: {"FROM": [...], "USER": [...], ...} in order."""
    stages: list[dict[str, list[str]]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append({})
        assert stages, "an instruction before FROM"
        stages[-1].setdefault(instruction, []).append(rest.strip())
    return stages


def _dockerfile_final_stage() -> dict[str, list[str]]:
    return _dockerfile_stages()[-1]


def test_dockerfile_runs_omnisync_as_a_non_root_user() -> None:
    final = _dockerfile_final_stage()
    assert re.match(r"python:3\.\d+-slim", final["FROM"][0])
    assert json.loads(final["ENTRYPOINT"][-1]) == ["omnisync"]
    user = final["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    # Numeric, so that Kubernetes' runAsNonRoot can verify it; the same uid as the manifest's.
    assert user.isdigit()
    pod = _pod(_manifest()["CronJob"])
    assert pod["securityContext"].get("runAsUser", int(user)) == int(user)
    # The working directory is where the manifest mounts the store's volume.
    mounts = [m["mountPath"] for m in _container(pod)["volumeMounts"]]
    assert final["WORKDIR"][-1] in mounts


def test_dockerfile_copies_what_exists_and_installs_the_entry_point() -> None:
    for stage in _dockerfile_stages():
        for copy in stage.get("COPY", []):
            if copy.startswith("--from"):
                continue
            *sources, _dest = copy.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["omnisync"] == "omnisync.cli:main"


# -- docs/scaling.md -----------------------------------------------------------------------------
SHELL_STOPS = {"|", "||", "&&", ";", "&", ">", ">>", "2>&1"}


def _doc_command_lines() -> list[tuple[str, list[str]]]:
    """Every omnisync command line in the shell blocks of docs/scaling.md: (line, argv after it).

    An invocation is a word named ``omnisync`` (the command, a path to it, or the image in
    ``docker run``) followed by at least one word, unless it is an option's value (the user in
    ``sudo -u omnisync``, the tag in ``docker build -t omnisync``).
    """
    text = SCALING.read_text()
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"^```(?:bash|sh|shell)\n(.*?)^```", text, re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                after_option = i > 0 and words[i - 1].startswith("-") and words[i - 1] != "--"
                if PurePosixPath(word).name != "omnisync" or after_option:
                    continue
                argv = []
                for w in words[i + 1 :]:
                    if w in SHELL_STOPS or w.startswith((">", "2>")):
                        break
                    argv.append(w)
                if argv:
                    found.append((line.strip(), argv))
    return found


def test_scaling_doc_commands_are_accepted_by_the_cli() -> None:
    lines = _doc_command_lines()
    assert len(lines) >= 5, "docs/scaling.md shows (almost) no omnisync command"
    for _line, argv in lines:
        resolve(argv)


def test_scaling_doc_names_the_deploy_files() -> None:
    text = SCALING.read_text()
    assert "docker build -f deploy/Dockerfile -t omnisync ." in text
    for path in (MANIFEST, SERVICE, TIMER, DOCKERFILE):
        assert str(path.relative_to(REPO)) in text, path
