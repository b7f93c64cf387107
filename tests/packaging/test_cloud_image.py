"""The store's OCI image, built and run under podman in production mode (e2e tier only).

`packaging/cloud/image/build` (what `make image` runs) builds `ethos-store:<version>`; the
base root and the dependency wheels are cached in build/cache/image, so a warm build only
rebuilds the project's layer. Then, as the Kubernetes manifests do it, with ETHOS_ENV=production
and secrets generated for the run: `ethos cloud migrate` in the image brings a fresh
PostgreSQL database to the head revision, `ethos cloud backup` dumps it with the image's
pg_dump, `ethos cloud stock import` loads units, and `ethos cloud serve` runs on a read-only
root (writable tmpfs only at /tmp and the data folder), as the image's non-root user, with
the Deployment's variables and probes. Production refuses a plain-http BTCPay, the
simulator's development credentials and the simulator itself, so BTCPay here is the
simulator behind HAProxy's TLS (packaging/cloud/stack.py's BTCPay front, a certificate from
a CA made for the test, the simulator's mark dropped): the store trusts that CA through
BTCPAY_CA_FILE (the CA file mounted read-only), and the simulator's webhook reaches the
replica through HAProxy's TLS front of the store. A checkout through it is paid by that
webhook alone (the reconciler is held off). The production refusals stay shown: a replica
on an unmigrated database exits and says why, and an unreachable BTCPay makes /readyz fail
with the reason while /healthz answers, as does a wrong DATABASE_URL. The last test runs
the production stack's migration job and replicas (packaging/cloud/stack.py) in the image,
in production mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import ssl
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
from sqlalchemy import text

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
CA_IN_IMAGE = "/etc/ethos/btcpay-ca.pem"  # BTCPAY_CA_FILE: the test's CA, mounted read-only
SKU = "EPD-1"
SERIAL = "EPD-990001"
SHIPPING_ADDRESS = {
    "ship_name": "Image Buyer",
    "ship_line1": "1 Rue de la Paix",
    "ship_postcode": "75002",
    "ship_city": "Paris",
    "ship_country": "FR",
}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
# Variables this run replaces (production's credentials and addresses).
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


@dataclass(frozen=True)
class TlsFiles:
    pem: Path  # HAProxy's certificate and key
    ca_file: Path  # the CA made for the test, which clients trust


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    pem, ca_file = load_stack_module().make_certificate(tmp_path / "tls")
    return TlsFiles(pem, ca_file)


@dataclass(frozen=True)
class Btcpay:
    """The simulator with credentials generated for the run, and the ports of HAProxy's
    TLS fronts: BTCPay's (the simulator) and the store's (the container)."""

    sim_url: str
    api_key: str
    store_id: str
    webhook_secret: str
    url: str  # https, through HAProxy
    store_tls_port: int
    proc: subprocess.Popen

    def api(self, path: str) -> str:
        return f"{self.sim_url}/api/v1/stores/{self.store_id}{path}"


@pytest.fixture
def btcpay(tls_files: TlsFiles) -> Iterator[Btcpay]:
    port = processes.free_port()
    env = {
        "ETHOS_ENV": "development",  # the simulator itself never runs in production
        "BTCPAY_API_KEY": secrets.token_urlsafe(32),
        "BTCPAY_STORE_ID": secrets.token_hex(16),
        "BTCPAY_SIM_RETRY_SCALE": "0.02",
        # Its webhooks go to the store's https front, signed by the test's CA.
        "SSL_CERT_FILE": str(tls_files.ca_file),
    }
    proc = processes.start_python(
        ["-m", "ethos", "btcpay-sim", "serve", "--port", str(port)], env=env
    )
    try:
        processes.wait_for_port("127.0.0.1", port, proc, timeout=60)
        yield Btcpay(
            sim_url=f"http://127.0.0.1:{port}",
            api_key=env["BTCPAY_API_KEY"],
            store_id=env["BTCPAY_STORE_ID"],
            webhook_secret=secrets.token_urlsafe(32),
            url=f"https://127.0.0.1:{processes.free_port()}",
            store_tls_port=processes.free_port(),
            proc=proc,
        )
    finally:
        processes.stop(proc)


def haproxy_config(tls: TlsFiles, btcpay: Btcpay, store_port: int) -> str:
    """The store's TLS front (to the container) and the stack's BTCPay front."""
    stack = load_stack_module()
    btcpay_port = int(btcpay.url.rsplit(":", 1)[1])
    sim_port = int(btcpay.sim_url.rsplit(":", 1)[1])
    return f"""\
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend store
    bind 127.0.0.1:{btcpay.store_tls_port} ssl crt {tls.pem}
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    default_backend store

backend store
    server replica 127.0.0.1:{store_port}

{stack.btcpay_front(btcpay_port, tls.pem, sim_port)}"""


@contextlib.contextmanager
def haproxy(config_text: str, folder: Path, port: int) -> Iterator[None]:
    config = folder / "haproxy.cfg"
    config.write_text(config_text)
    proc = subprocess.Popen(
        ["haproxy", "-W", "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        processes.wait_for_port("127.0.0.1", port, proc, timeout=30)
        yield
    finally:
        processes.stop(proc)


def container_settings(
    database: FreshDatabase, mail: MailCatcher, btcpay: Btcpay, store_url: str
) -> dict[str, str]:
    """The Deployment's variables, with this machine's services and generated secrets in
    place of production's."""
    config = yaml.safe_load(CONFIG_MAP.read_text())["data"]
    names = set(config) | {entry["name"] for entry in deployment_container()["env"]}
    assert names >= REPLACED_HERE | {"ETHOS_TRUSTED_PROXIES"}
    assert config["ETHOS_ENV"] == "production"
    env = {name: value for name, value in config.items() if name not in REPLACED_HERE}
    env.update(
        ETHOS_ENV="production",
        ETHOS_BASE_URL=store_url,
        DATABASE_URL=database.url,
        SMTP_URL=mail.url,
        BTCPAY_URL=btcpay.url,
        BTCPAY_API_KEY=btcpay.api_key,
        BTCPAY_STORE_ID=btcpay.store_id,
        BTCPAY_WEBHOOK_SECRET=btcpay.webhook_secret,
        BTCPAY_CA_FILE=CA_IN_IMAGE,
        ETHOS_SECRET_KEY=secrets.token_urlsafe(48),
        ETHOS_TRUSTED_PROXIES="127.0.0.1",
        # Only the webhook can pay the order (the reconciler would re-read the invoice).
        ETHOS_RECONCILE_SECONDS="3600",
    )
    return env


def run_args(env: dict[str, str], ca_file: Path) -> list[str]:
    """`podman run` options matching the Deployment: read-only root, tmpfs where it writes,
    no capabilities, no privilege escalation, the CA file mounted read-only; the variables
    passed by name (values from podman's own environment, so no secret is on a command
    line)."""
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
        "-v",
        f"{ca_file}:{CA_IN_IMAGE}:ro",
    ]
    for name in sorted(env):
        options += ["-e", name]
    return options


async def test_the_image_serves_in_production_read_only_as_non_root_and_a_checkout_pays(
    image: str,
    fresh_database: FreshDatabase,
    smtp_server: MailCatcher,
    btcpay: Btcpay,
    tls_files: TlsFiles,
    tmp_path: Path,
) -> None:
    port = processes.free_port()
    store_url = f"https://127.0.0.1:{btcpay.store_tls_port}"
    env = container_settings(fresh_database, smtp_server, btcpay, store_url)
    options = run_args(env, tls_files.ca_file)

    # The migration role: the same image, `ethos cloud migrate`, as the Job runs it.
    output = podman("run", "--rm", *options, image, "cloud", "migrate", env=env)
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
    podman("run", "--rm", *options, *mount, image, "cloud", "backup", "/backups/s.dump", env=env)
    assert (backups / "s.dump").read_bytes()[:5] == b"PGDMP"
    # Stock, imported by the image from the factory's CSV.
    stock = tmp_path / "stock"
    stock.mkdir()
    (stock / "units.csv").write_text(f"serial,sku,claim_secret\n{SERIAL},{SKU},{'ab' * 32}\n")
    mount = ["-v", f"{stock}:/stock:ro"]
    podman("run", "--rm", *options, *mount, image, "cloud", "stock", "import", "/stock/units.csv",
           env=env)  # fmt: skip

    # BTCPay sends the store's webhook to its public https address (through HAProxy).
    register_webhook(btcpay, f"{store_url}/webhooks/btcpay")
    # The serving role, with the Deployment's command and probes (on a free port here:
    # the container shares the host's network).
    args = list(deployment_container()["args"])
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    name = f"ethos-store-test-{uuid.uuid4().hex[:8]}"
    tls = ssl.create_default_context(cafile=str(tls_files.ca_file))
    with haproxy(haproxy_config(tls_files, btcpay, port), tmp_path, btcpay.store_tls_port):
        podman("run", "-d", "--name", name, *options, image, *args, env=env)
        try:
            probes = {
                kind: deployment_container()[kind]["httpGet"]["path"]
                for kind in ("livenessProbe", "readinessProbe")
            }
            async with httpx.AsyncClient(base_url=store_url, timeout=10, verify=tls) as client:
                # Ready: the database, the schema at head, and BTCPay over https.
                answer = await wait_for_ready(client, probes["readinessProbe"], name)
                assert answer.status_code == 200, answer.text
                assert answer.json()["checked"] == ["database", "migrations", "btcpay"]
                alive = await client.get(probes["livenessProbe"])
                assert alive.status_code == 200, alive.text
                shop = await client.get("/")
                assert shop.status_code == 200
                assert "Ethos" in shop.text and "/products/" in shop.text
                # Production: /metrics is not served without a token.
                assert (await client.get("/metrics")).status_code == 404

                order_id = await guest_checkout(client)
                await pay_at_btcpay(btcpay, order_id)
                assert await wait_for_order_status(fresh_database, order_id) == "paid"
                assert await owned_serials(fresh_database, order_id) == [SERIAL]

                # BTCPay gone: /readyz names it, /healthz still answers (no restart loop).
                processes.stop(btcpay.proc)
                failing = await wait_for_failing(client, probes["readinessProbe"], "btcpay")
                assert set(failing) == {"btcpay"}, failing
                assert "BTCPay Server not usable" in failing["btcpay"], failing
                assert (await client.get(probes["livenessProbe"])).status_code == 200

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
    text = logs.stdout + logs.stderr
    assert "Traceback" not in text, text[-4000:]
    for secret in (env["ETHOS_SECRET_KEY"], btcpay.api_key, btcpay.webhook_secret):
        assert secret not in text


async def test_the_image_in_production_refuses_an_unmigrated_database_and_says_why(
    image: str,
    fresh_database: FreshDatabase,
    smtp_server: MailCatcher,
    btcpay: Btcpay,
    tls_files: TlsFiles,
) -> None:
    store_url = f"https://127.0.0.1:{btcpay.store_tls_port}"
    env = container_settings(fresh_database, smtp_server, btcpay, store_url)
    port = str(processes.free_port())
    refused = podman_result(
        "run", "--rm", *run_args(env, tls_files.ca_file), image,
        "cloud", "serve", "--host", "127.0.0.1", "--port", port, env=env,
    )  # fmt: skip
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "refusing to serve" in said
    assert "database schema is at nothing" in said
    assert "run `ethos cloud migrate`" in said


async def test_the_image_with_a_wrong_database_url_stays_alive_and_readyz_names_it(
    image: str,
    fresh_database: FreshDatabase,
    smtp_server: MailCatcher,
    btcpay: Btcpay,
    tls_files: TlsFiles,
) -> None:
    store_url = f"https://127.0.0.1:{btcpay.store_tls_port}"
    env = container_settings(fresh_database, smtp_server, btcpay, store_url)
    env["DATABASE_URL"] = f"postgresql://ethos@127.0.0.1:{processes.free_port()}/nowhere"
    port = processes.free_port()
    name = f"ethos-store-test-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "-d", "--name", name, *run_args(env, tls_files.ca_file), image,
        "cloud", "serve", "--host", "127.0.0.1", "--port", str(port), env=env,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            failing = await wait_for_failing(client, "/readyz", "database")
            assert set(failing) == {"database"}, failing
            assert "cannot reach the database" in failing["database"]
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/products")).status_code == 503
        podman("healthcheck", "run", name)  # alive: an orchestrator does not restart it
        state = podman("inspect", "--format", "{{.State.Status}}", name).strip()
        assert state == "running"
    finally:
        podman_result("rm", "-f", "-t", "10", name)


def register_webhook(btcpay: Btcpay, url: str) -> None:
    """The store's webhook in the BTCPay store, with the secret the store was given."""
    answer = httpx.post(
        btcpay.api("/webhooks"),
        json={"url": url, "secret": btcpay.webhook_secret},
        headers={"Authorization": f"token {btcpay.api_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


async def guest_checkout(client: httpx.AsyncClient) -> str:
    """Cart and checkout as a guest, through the store's https front; the order's id."""
    page = await client.get(f"/products/{SKU}")
    form = {"sku": SKU, "quantity": "1", "csrf_token": csrf_token(page)}
    added = await client.post("/cart/add", data=form)
    assert added.status_code == 303, added.text
    page = await client.get("/checkout")
    form = {"csrf_token": csrf_token(page), "email": "buyer@example.org", **SHIPPING_ADDRESS}
    placed = await client.post("/checkout", data=form)
    assert placed.status_code == 303, placed.text
    return placed.headers["location"].rsplit("/", 1)[-1]


def csrf_token(page: httpx.Response) -> str:
    assert page.status_code == 200, page.text
    match = CSRF_RE.search(page.text)
    assert match is not None, page.text[:2000]
    return match.group(1)


async def pay_at_btcpay(btcpay: Btcpay, order_id: str) -> None:
    """The buyer's wallet pays the order's invoice and the blocks confirm it."""
    headers = {"Authorization": f"token {btcpay.api_key}", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=btcpay.sim_url, headers=headers, timeout=10) as sim:
        invoices = (await sim.get(btcpay.api("/invoices"), params={"orderId": order_id})).json()
        assert len(invoices) == 1, invoices
        paid = await sim.post(f"/i/{invoices[0]['id']}/test/pay-confirm")
        assert paid.status_code == 200, paid.text


async def wait_for_order_status(database: FreshDatabase, order_id: str) -> str:
    """The order's status once it is paid, or the last seen after 30 s."""
    engine = db.create_engine(database.url.replace("://", "+asyncpg://", 1))
    status = None
    try:
        for _ in range(300):
            async with engine.connect() as connection:
                status = await connection.scalar(
                    text("SELECT status FROM orders WHERE id = :id"), {"id": order_id}
                )
            if status == "paid":
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return str(status)


async def owned_serials(database: FreshDatabase, order_id: str) -> list[str]:
    engine = db.create_engine(database.url.replace("://", "+asyncpg://", 1))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT u.serial FROM ownerships o JOIN stock_units u ON u.id = o.unit_id "
                    "WHERE o.order_id = :id"
                ),
                {"id": order_id},
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def wait_for_failing(client: httpx.AsyncClient, path: str, check: str) -> dict[str, str]:
    """What the readiness probe names as failing once `check` fails with its own reason
    (not only a check still running past the probe's 2 s), within about 30 s."""
    failing: dict[str, str] = {}
    for _ in range(300):
        try:
            answer = await client.get(path)
        except httpx.TransportError:  # not listening yet
            await asyncio.sleep(0.1)
            continue
        if answer.status_code == 503:
            failing = answer.json()["failing"]
            if check in failing and not failing[check].startswith("no answer within"):
                return failing
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never named {check} failing: {failing}")


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


def test_the_stack_runs_its_migration_job_and_replicas_in_the_image_in_production(
    image: str, smtp_server: MailCatcher, tmp_path: Path
) -> None:
    stack_module = load_stack_module()
    folder = tmp_path / "stack"
    stack = stack_module.Stack(folder, replicas=2, image=image, smtp_url=smtp_server.url)
    try:
        stack.up()
        log = (folder / "migrate.log").read_text()
        assert "database is at the latest schema" in log
        # Both replicas are containers of the image (not host processes), in production,
        # reaching BTCPay over https through HAProxy's BTCPay front.
        assert stack_containers(folder) == [image, image]
        for node in stack.nodes:
            env = container_env(stack._containers[node.name])
            assert env["ETHOS_ENV"] == "production"
            assert env["BTCPAY_URL"].startswith("https://")
            assert env["BTCPAY_API_KEY"] != stack_module.SIM_API_KEY
        context = stack.ssl_context()
        ready = stack_module.http_status(stack.base_url + "/readyz", context=context)
        assert ready == 200
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


def container_env(name: str) -> dict[str, str]:
    listed = podman("inspect", "--format", "{{json .Config.Env}}", name)
    return dict(item.split("=", 1) for item in json.loads(listed))
