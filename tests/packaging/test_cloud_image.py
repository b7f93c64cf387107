"""The store's OCI image, built and run under podman (e2e tier only).

`packaging/cloud/image/build` (what `make image` runs) builds `ethos-store:<version>`; the
base root and the dependency wheels are cached in build/cache/image, so a warm build only
rebuilds the project's layer. Then, as the Kubernetes manifests do it: `ethos cloud migrate`
in the image brings a fresh PostgreSQL database to the head revision, `ethos cloud backup`
dumps it with the image's pg_dump, and `ethos cloud serve` runs on a read-only root
(writable tmpfs only at /tmp and the data folder), as the image's non-root user, with the
Deployment's variables and probes. The store's BTCPay here is the simulator over plain
http, which production refuses, so the container runs with ETHOS_ENV=development and the
simulator's development credentials; that production accepts the Deployment's settings is
checked in test_k8s_manifests.py. The second test runs the production stack's migration
job and replicas (packaging/cloud/stack.py) in the image.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import yaml

from cloud import db
from tests.support import processes
from tests.support.databases import new_postgres_database
from tests.support.processes import ROOT
from tests.support.smtp_sink import MailCatcher

pytestmark = pytest.mark.e2e_only

IMAGE_DIR = ROOT / "packaging" / "cloud" / "image"
DEPLOYMENT = ROOT / "packaging" / "cloud" / "k8s" / "deployment.yaml"
CONFIG_MAP = ROOT / "packaging" / "cloud" / "k8s" / "configmap.yaml"
STACK_SCRIPT = ROOT / "packaging" / "cloud" / "stack.py"
IMAGE_UID = "10001"
# Variables the simulator run replaces (production-only credentials and addresses).
REPLACED_HERE = {
    "ETHOS_ENV",
    "ETHOS_BASE_URL",
    "DATABASE_URL",
    "SMTP_URL",
    "BTCPAY_URL",
    "BTCPAY_STORE_ID",
    "BTCPAY_API_KEY",
    "BTCPAY_WEBHOOK_SECRET",
    "ETHOS_SECRET_KEY",
}


def podman_command(*args: str) -> list[str]:
    return ["podman", "--runtime", "runc", *args]


def podman_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(IMAGE_DIR / "containers.conf"), **(extra or {})}


def podman_result(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        podman_command(*args),
        env=podman_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def podman(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = podman_result(*args, env=env, timeout=timeout)
    assert result.returncode == 0, f"podman {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def deployment_container() -> dict:
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("podman") is None:
        pytest.fail(
            "podman is not installed: the image cannot be built or run "
            "(apt-get install -y podman runc; .ci/run installs them)"
        )
    started = time.monotonic()
    result = subprocess.run(
        [str(IMAGE_DIR / "build")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    name = result.stdout.strip().splitlines()[-1]
    print(f"image {name} built in {time.monotonic() - started:.0f} s")
    return name


@dataclass(frozen=True)
class FreshDatabase:
    url: str  # as the store reads it (postgresql://…)
    name: str


@pytest.fixture
async def fresh_database() -> AsyncIterator[FreshDatabase]:
    """A PostgreSQL database of its own on the tier's server, dropped afterwards."""
    async with new_postgres_database("ethos_image") as sqlalchemy_url:
        url = sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")
        yield FreshDatabase(url=url, name=url.rsplit("/", 1)[1])


@pytest.fixture
def btcpay_simulator() -> Iterator[str]:
    port = processes.free_port()
    proc = processes.start_python(["-m", "ethos", "btcpay-sim", "serve", "--port", str(port)])
    try:
        processes.wait_for_port("127.0.0.1", port, proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        processes.stop(proc)


def container_settings(
    database: FreshDatabase, mail: MailCatcher, btcpay_url: str, store_url: str
) -> dict[str, str]:
    """The Deployment's variables, with this machine's services in place of production's."""
    config = yaml.safe_load(CONFIG_MAP.read_text())["data"]
    names = set(config) | {entry["name"] for entry in deployment_container()["env"]}
    assert names >= REPLACED_HERE - {"ETHOS_ENV"} | {"ETHOS_TRUSTED_PROXIES"}
    env = {name: value for name, value in config.items() if name not in REPLACED_HERE}
    env.update(
        ETHOS_ENV="development",
        ETHOS_BASE_URL=store_url,
        DATABASE_URL=database.url,
        SMTP_URL=mail.url,
        BTCPAY_URL=btcpay_url,
        ETHOS_SECRET_KEY=secrets.token_urlsafe(48),
    )
    return env


def run_args(env: dict[str, str]) -> list[str]:
    """`podman run` options matching the Deployment: read-only root, tmpfs where it writes,
    no capabilities, no privilege escalation; the variables passed by name (values from
    podman's own environment, so no secret is on a command line)."""
    options = [
        "--network=host",
        "--read-only",
        "--read-only-tmpfs=false",
        "--tmpfs",
        "/tmp:rw,size=64m,mode=1777",
        "--tmpfs",
        "/var/lib/ethos:rw,size=256m,mode=0750,U",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
    ]
    for name in sorted(env):
        options += ["-e", name]
    return options


async def test_the_image_migrates_a_fresh_database_and_serves_read_only_as_non_root(
    image: str,
    fresh_database: FreshDatabase,
    smtp_server: MailCatcher,
    btcpay_simulator: str,
    tmp_path: Path,
) -> None:
    port = processes.free_port()
    store_url = f"http://127.0.0.1:{port}"
    env = container_settings(fresh_database, smtp_server, btcpay_simulator, store_url)

    # The migration role: the same image, `ethos cloud migrate`, as the Job runs it.
    output = podman("run", "--rm", *run_args(env), image, "cloud", "migrate", env=env)
    assert "database is at the latest schema" in output
    engine = db.create_engine(db_url := fresh_database.url.replace("://", "+asyncpg://", 1))
    try:
        assert await db.async_current_revisions(engine) == db.head_revisions(), db_url
    finally:
        await engine.dispose()
    # The backup role: `ethos cloud backup` with the image's pg_dump (custom format).
    backups = tmp_path / "backups"
    backups.mkdir()
    mount = ["-v", f"{backups}:/backups:U"]
    podman(
        "run", "--rm", *run_args(env), *mount, image, "cloud", "backup", "/backups/s.dump", env=env
    )
    assert (backups / "s.dump").read_bytes()[:5] == b"PGDMP"

    # The serving role, with the Deployment's command and probes (on a free port here:
    # the container shares the host's network).
    args = list(deployment_container()["args"])
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    name = f"ethos-store-test-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, *run_args(env), image, *args, env=env)
    try:
        probes = {
            kind: deployment_container()[kind]["httpGet"]["path"]
            for kind in ("livenessProbe", "readinessProbe")
        }
        async with httpx.AsyncClient(base_url=store_url, timeout=5) as client:
            answers = await wait_for_ready(client, probes["readinessProbe"], name)
            assert answers.status_code == 200, answers.text
            alive = await client.get(probes["livenessProbe"])
            assert alive.status_code == 200, alive.text
            shop = await client.get("/")
            assert shop.status_code == 200
            assert "Ethos" in shop.text and "/products/" in shop.text

        # Non-root: the serving process runs as the image's user.
        users = podman("top", name, "huser", "user").split()
        assert users[2:] == [IMAGE_UID, "ethos"], users
        assert podman("exec", name, "id", "-u").strip() == IMAGE_UID
        # Read-only root; the data folder is the writable tmpfs.
        attempt = podman_result("exec", name, "touch", "/opt/ethos/written")
        assert attempt.returncode != 0
        assert "Read-only file system" in attempt.stderr
        podman("exec", name, "touch", "/var/lib/ethos/written")
        # The image's own HEALTHCHECK passes against the running store.
        podman("healthcheck", "run", name)
        # The Deployment's preStop command exists in the image (minbase has coreutils).
        pre_stop = deployment_container()["lifecycle"]["preStop"]["exec"]["command"]
        podman("exec", name, *pre_stop)
    finally:
        logs = podman_result("logs", name)
        podman_result("rm", "-f", "-t", "10", name)
    assert "Traceback" not in logs.stdout + logs.stderr, (logs.stdout + logs.stderr)[-4000:]


async def wait_for_ready(client: httpx.AsyncClient, path: str, name: str) -> httpx.Response:
    """Ask the readiness probe until it answers 200 (60 s), as the kubelet would."""
    deadline = time.monotonic() + 60
    answer: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            answer = await client.get(path)
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", name).strip()
        assert state == "running", podman("logs", name)[-4000:]
        await asyncio.sleep(0.5)
    assert answer is not None, f"{path} never answered"
    return answer


def load_stack_module() -> ModuleType:
    """packaging/cloud/stack.py is a script other programs import by its path."""
    spec = importlib.util.spec_from_file_location("ethos_cloud_stack", STACK_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def stack_containers(folder: Path, *, running: bool = True) -> list[str]:
    """The images of the stack's containers (running ones, or all of them)."""
    listed = podman(
        "ps",
        *([] if running else ["-a"]),
        "--filter",
        f"label=ethos.stack={folder}",
        "--format",
        "{{.Image}}",
    )
    return listed.split()


def test_the_stack_runs_its_migration_job_and_replicas_in_the_image(
    image: str, tmp_path: Path
) -> None:
    stack_module = load_stack_module()
    folder = tmp_path / "stack"
    stack = stack_module.Stack(folder, replicas=2, image=image)
    try:
        stack.up()
        log = (folder / "migrate.log").read_text()
        assert "database is at the latest schema" in log
        # Both replicas are containers of the image (not host processes).
        assert stack_containers(folder) == [image, image]
        context = stack.ssl_context()
        assert stack_module.http_status(stack.base_url + "/readyz", context=context) == 200
        assert stack_module.http_status(stack.base_url + "/", context=context) == 200
        # SIGKILL one replica: its container dies with it; HAProxy sends to the other.
        stack.kill_replica(0)
        assert stack_containers(folder) == [image]
        for _attempt in range(5):
            assert stack_module.http_status(stack.base_url + "/", context=context) == 200
        stack.restart_killed(stack.nodes[0])
        assert stack_containers(folder) == [image, image]
    finally:
        stack.down()
    assert stack_containers(folder, running=False) == []
