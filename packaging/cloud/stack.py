#!/usr/bin/env python3
"""The store's production stack as plain processes on this machine.

`python packaging/cloud/stack.py up --dir DIR` brings up, in this order:
- its own PostgreSQL cluster (Debian's initdb/pg_ctl, run as the `postgres` user when we
  are root, on a free port, data in DIR/pg; the machine's shared PostgreSQL is not touched),
- the migration job (`ethos cloud migrate`),
- the BTCPay simulator (`ethos btcpay-sim serve`) with the store's webhook registered and
  its deliveries sent round-robin to the replicas (as BTCPay reaches a service inside),
- N store replicas (`ethos cloud serve`, default 3) on their own ports, with a real secret
  key, an explicit webhook secret, the SMTP server given (or the shared outbox in DIR),
- HAProxy (Debian's) terminating TLS with a certificate signed by a CA made at start
  (DIR/tls/ca.pem), its backends health-checked on /readyz, and an admin socket used for
  graceful drain; a second TLS front plays BTCPay Server in front of the simulator.

With `--image` (or `Stack(image=...)`) the migration job and the replicas run the store's
OCI image under podman instead (`make image`, packaging/cloud/image/): read-only root, uid
10001, the host's network, DIR/data mounted as the data folder; `--image auto` uses it when
podman is installed and plain processes otherwise. The image runs in production mode
(`--development` turns it off; process mode stays in development, as the storm uses it):
generated BTCPay credentials and secrets, SMTP_URL required, and BTCPay reached over https
through HAProxy's BTCPay front, whose CA the store trusts through BTCPAY_CA_FILE (the CA
file mounted read-only in the container).

It stays in the foreground until SIGTERM or Ctrl-C, then tears everything down; `stop --dir
DIR` stops a stack started elsewhere (from the pids in DIR/stack.json). Other programs (the
storm, tests) import this file and drive a `Stack` object: `up()`, `kill_replica(i)`,
`restart_postgres()`, `rolling_restart()`, `down()`.
Draining a replica: HAProxy first stops sending it new requests (state drain, then maint
once its in-flight requests have finished), then the replica gets SIGTERM, closes its
listening socket and finishes what it still has before exiting.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

_LOGGER = logging.getLogger("ethos.stack")

ROOT = Path(__file__).resolve().parents[2]
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PG_USER = "postgres"
PG_DATABASE = "ethos"
SIM_API_KEY = "stack-simulator-key"  # development mode; production generates its own
SIM_STORE_ID = "stack-store"
# The simulator marks its answers so that a production store pointed at it by mistake
# refuses it; the stack's BTCPay front plays a real BTCPay Server and drops the mark.
SIMULATOR_HEADER = "X-Ethos-BTCPay-Simulator"
BACKEND = "store"
PANIC_SUFFIX = "-panic"  # the unchecked backup entry of each replica
HEALTH_PATH = "/readyz"
METRICS_PATH = "/metrics"
# A once-only job this replica runs, as its /metrics tells.
HELD_LEASE_RE = re.compile(r'^ethos_job_lease_held\{lease="([^"]+)"\} 1(?:\.0)?$', re.MULTILINE)
FALLBACK_HEALTH_PATH = "/"
START_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
CHECK_INTERVAL_MS = 500
# The image mode (packaging/cloud/image/): how it is built, podman's settings, its data folder.
IMAGE_BUILD = ROOT / "packaging" / "cloud" / "image" / "build"
CONTAINERS_CONF = ROOT / "packaging" / "cloud" / "image" / "containers.conf"
IMAGE_DATA_DIR = "/var/lib/ethos"
IMAGE_TMPFS = "/tmp:rw,size=64m,mode=1777"  # noqa: S108 (the container's own tmpfs)
IMAGE_CA_FILE = "/etc/ethos/btcpay-ca.pem"  # where the CA file is mounted (read-only)
STACK_LABEL = "ethos.stack"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0, context: ssl.SSLContext | None = None) -> int:
    """The HTTP status of a GET, or 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, ValueError):
        return 0


def wait_for(what: str, predicate: object, timeout: float, proc: subprocess.Popen | None) -> None:
    """Poll `predicate()` until it holds; fail early when `proc` died."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready within {timeout:g} s")
        time.sleep(0.1)


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    """Debian's podman with the settings these machines need (runc, containers.conf)."""
    return subprocess.run(
        ["podman", "--runtime", "runc", *args],
        env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
        capture_output=True,
        text=True,
        check=False,
    )


def build_image() -> str:
    """`make image` (cached after the first build); returns the image's name."""
    result = subprocess.run(
        [str(IMAGE_BUILD)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"image build failed: {(result.stdout + result.stderr)[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def pg_bin() -> Path:
    """Debian's newest PostgreSQL binaries."""
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return found[-1]


class PostgresCluster:
    """A throw-away PostgreSQL cluster of our own (initdb, pg_ctl start/stop/restart)."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.bin = pg_bin()
        self.log = data_dir.parent / "postgresql.log"

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", PG_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    def init(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, PG_USER, PG_USER)
            shutil.chown(self.log, PG_USER, PG_USER)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            PG_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        )

    def _options(self) -> str:
        return (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.data_dir} -c max_connections=300"
        )

    def start(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log),
            "-o",
            self._options(),
            "-w",
            "start",
        )

    def create_database(self) -> None:
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_USER,
            PG_DATABASE,
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Fast restart: every connection is cut, as when the database server restarts."""
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log),
            "-o",
            self._options(),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def sql(self, statement: str) -> str:
        result = self._run(
            str(self.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            PG_USER,
            "-d",
            PG_DATABASE,
            "-At",
            "-c",
            statement,
        )
        return result.stdout.strip()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], capture_output=True, check=True)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A CA made for this run and a certificate it signs for 127.0.0.1/localhost:
    (HAProxy's PEM bundle, the CA file clients trust). The CA's key is deleted at once."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    key, request, cert = folder / "key.pem", folder / "request.csr", folder / "cert.pem"
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-subj", "/CN=Ethos stack test CA", "-keyout", str(ca_key), "-out", str(ca)),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    _openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
        *("-keyout", str(key), "-out", str(request)),
    )
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl(
        *("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-set_serial", str(int.from_bytes(secrets.token_bytes(8), "big"))),
        *("-days", "2", "-extfile", str(extensions), "-out", str(cert)),
    )
    ca_key.unlink()
    request.unlink()
    bundle = folder / "haproxy.pem"
    bundle.write_bytes(cert.read_bytes() + key.read_bytes())
    bundle.chmod(0o600)
    key.chmod(0o600)
    ca.chmod(0o644)  # read by the image's user through its read-only mount
    return bundle, ca


def btcpay_front(port: int, pem: Path, simulator_port: int) -> str:
    """HAProxy sections of a TLS front playing BTCPay Server: the simulator behind it,
    without its mark (so production talks to it as to a real BTCPay over https)."""
    return f"""\
frontend btcpay
    bind 127.0.0.1:{port} ssl crt {pem}
    default_backend btcpay

backend btcpay
    http-response del-header {SIMULATOR_HEADER}
    server simulator 127.0.0.1:{simulator_port}
"""


@dataclass
class Replica:
    """One `ethos cloud serve` process; `proc` is None while it is stopped."""

    name: str
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    health_path: str = HEALTH_PATH

    def ready(self) -> bool:
        return http_status(self.url + self.health_path) == 200


@dataclass
class Stack:
    """The whole stack; every process's output goes to DIR/<name>.log."""

    folder: Path
    replicas: int = 3
    smtp_url: str | None = None
    reconcile_seconds: int = 5
    retry_scale: str = "0.02"
    log_level: str = "WARNING"
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    https_port: int = 0
    sim_port: int = 0
    pg: PostgresCluster | None = None
    sim: subprocess.Popen | None = None
    haproxy: subprocess.Popen | None = None
    nodes: list[Replica] = field(default_factory=list)
    ca_file: Path | None = None
    tls_pem: Path | None = None
    btcpay_port: int = 0  # HAProxy's TLS front of the simulator
    # The store's image to run the migration job and the replicas in (None: processes).
    image: str | None = None
    # ETHOS_ENV=production for the store (None: in image mode only).
    production: bool | None = None
    # The simulator's credentials (None: the constants in development, generated in production).
    sim_api_key: str | None = None
    sim_store_id: str | None = None
    # The replicas' /metrics bearer token (the storm asks them which jobs they run).
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _containers: dict[str, str] = field(default_factory=dict)
    _pg_tmp: Path | None = None

    def __post_init__(self) -> None:
        if self.production is None:
            self.production = self.image is not None
        if self.sim_api_key is None:
            self.sim_api_key = secrets.token_urlsafe(32) if self.production else SIM_API_KEY
        if self.sim_store_id is None:
            self.sim_store_id = secrets.token_hex(16) if self.production else SIM_STORE_ID

    # -- addresses ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def btcpay_url(self) -> str:
        """BTCPay as the store sees it: the TLS front in production, else the simulator."""
        return f"https://127.0.0.1:{self.btcpay_port}" if self.production else self.sim_url

    @property
    def admin_socket(self) -> Path:
        return self.folder / "haproxy.sock"

    def ssl_context(self) -> ssl.SSLContext:
        assert self.ca_file is not None
        return ssl.create_default_context(cafile=str(self.ca_file))

    def store_env(self) -> dict[str, str]:
        assert self.pg is not None
        env = {
            "ETHOS_DATA_DIR": str(self.folder / "data"),
            "ETHOS_BASE_URL": self.base_url,
            "DATABASE_URL": self.pg.url,
            "ETHOS_SECRET_KEY": self.secret_key,
            "BTCPAY_URL": self.btcpay_url,
            "BTCPAY_API_KEY": str(self.sim_api_key),
            "BTCPAY_STORE_ID": str(self.sim_store_id),
            "BTCPAY_WEBHOOK_SECRET": self.webhook_secret,
            "ETHOS_RECONCILE_SECONDS": str(self.reconcile_seconds),
            "ETHOS_TRUSTED_PROXIES": "127.0.0.1",
            "ETHOS_METRICS_TOKEN": self.metrics_token,
            "LOG_LEVEL": self.log_level,
            **self.extra_env,
        }
        if self.smtp_url:
            env["SMTP_URL"] = self.smtp_url
        if self.production:
            assert self.ca_file is not None
            env["ETHOS_ENV"] = "production"
            env["BTCPAY_CA_FILE"] = IMAGE_CA_FILE if self.image else str(self.ca_file)
        return env

    # -- processes ------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("ab")
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in our terminal is ours to pass on
        )

    def _ethos(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        return self._spawn(name, [sys.executable, "-m", "ethos", *args], env)

    def _store(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        """An `ethos` command of the store: a process, or a container of the image."""
        if self.image is None:
            return self._ethos(name, args, env)
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        container = f"ethos-stack-{name}-{secrets.token_hex(4)}"
        self._containers[name] = container
        env = {**env, "ETHOS_DATA_DIR": IMAGE_DATA_DIR}
        command = [
            *("podman", "--runtime", "runc", "run", "--rm", "--name", container),
            *("--label", f"{STACK_LABEL}={self.folder}", "--network=host"),
            *("--read-only", "--read-only-tmpfs=false", "--tmpfs", IMAGE_TMPFS),
            *("-v", f"{data}:{IMAGE_DATA_DIR}:U", "--cap-drop=ALL"),
            *(("-v", f"{self.ca_file}:{IMAGE_CA_FILE}:ro") if self.ca_file else ()),
            *("--security-opt=no-new-privileges", "--stop-timeout", str(int(STOP_TIMEOUT_S))),
            *(option for key in sorted(env) for option in ("-e", key)),  # values: podman's env
            self.image,
            *args,
        ]
        return self._spawn(name, command, {**env, "CONTAINERS_CONF": str(CONTAINERS_CONF)})

    def up(self) -> None:
        """Bring up everything; on any failure, tear down what started and raise."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.production and not self.smtp_url:
            raise RuntimeError(
                "production mode needs an SMTP server (--smtp-url): production refuses to "
                "write mail to an outbox; --development runs the image without it"
            )
        try:
            self.tls_pem, self.ca_file = make_certificate(self.folder / "tls")
            self._start_postgres()
            self.migrate()
            self._start_simulator()
            self.nodes = [Replica(f"store{i + 1}", free_port()) for i in range(self.replicas)]
            # HAProxy first: in production the replicas reach BTCPay through it.
            self._start_haproxy()
            for node in self.nodes:
                self.start_replica(node, wait=False)
            for node in self.nodes:
                self.wait_replica_ready(node)
            self._wait_haproxy()
            self.configure_deliveries()
            self._write_state()
        except BaseException:
            self.down()
            raise

    def _start_postgres(self) -> None:
        # Its own folder under /tmp: the postgres user must reach it (pytest's tmp is 0700).
        self._pg_tmp = Path(tempfile.mkdtemp(prefix="ethos-stack-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self._pg_tmp, PG_USER, PG_USER)
        self.pg = PostgresCluster(self._pg_tmp / "data", free_port())
        self.pg.init()
        self.pg.start()
        self.pg.create_database()
        _LOGGER.info("PostgreSQL on port %s (%s)", self.pg.port, self.pg.data_dir)

    def migrate(self) -> None:
        """The migration job: `ethos cloud migrate`, once, before any replica starts."""
        job = self._store("migrate", ["cloud", "migrate"], self.store_env())
        if job.wait(timeout=START_TIMEOUT_S) != 0:
            raise RuntimeError(f"migration job failed: see {self.folder / 'migrate.log'}")

    def _start_simulator(self) -> None:
        self.sim_port = free_port()
        self.https_port = free_port()
        self.btcpay_port = free_port()
        env = {
            "ETHOS_ENV": "development",  # the simulator is never production's
            "BTCPAY_API_KEY": str(self.sim_api_key),
            "BTCPAY_STORE_ID": str(self.sim_store_id),
            "BTCPAY_SIM_RETRY_SCALE": self.retry_scale,
            "LOG_LEVEL": self.log_level,
            # Webhooks sent to the store's https address trust the stack's CA.
            "SSL_CERT_FILE": str(self.ca_file),
        }
        self.sim = self._ethos(
            "btcpay-sim", ["btcpay-sim", "serve", "--port", str(self.sim_port)], env
        )
        wait_for("BTCPay simulator", lambda: port_open(self.sim_port), START_TIMEOUT_S, self.sim)
        self.sim_api(
            "POST",
            f"/api/v1/stores/{self.sim_store_id}/webhooks",
            {"url": f"{self.base_url}/webhooks/btcpay", "secret": self.webhook_secret},
        )

    def sim_api(self, method: str, path: str, body: object | None = None) -> object:
        """A JSON call to the simulator's API (Greenfield or its test hooks)."""
        request = urllib.request.Request(  # noqa: S310 (our own simulator, http on loopback)
            self.sim_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"token {self.sim_api_key}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read() or b"null")

    def configure_deliveries(self, *, through_haproxy: bool = False, **chaos: object) -> None:
        """Webhooks go round-robin to the replicas' own addresses (BTCPay inside the
        network), or to the store's public https address (`through_haproxy`); `chaos` adds
        the simulator's duplicate/reorder/forge/drop rates."""
        targets = (
            [f"{self.base_url}/webhooks/btcpay"]
            if through_haproxy
            else [f"{node.url}/webhooks/btcpay" for node in self.nodes]
        )
        self.sim_api("POST", "/simulator/chaos", {"targets": targets, **chaos})

    def import_stock(self, csv_text: str) -> str:
        """`ethos cloud stock import` as a job (in the image in image mode); its output."""
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "stock.csv").write_text(csv_text)
        inside = IMAGE_DATA_DIR if self.image else str(data)
        job = self._store(
            "stock-import", ["cloud", "stock", "import", f"{inside}/stock.csv"], self.store_env()
        )
        if job.wait(timeout=START_TIMEOUT_S) != 0:
            raise RuntimeError(f"stock import failed: see {self.folder / 'stock-import.log'}")
        return (self.folder / "stock-import.log").read_text()

    def start_replica(self, node: Replica, wait: bool = True) -> None:
        node.proc = self._store(
            node.name, ["cloud", "serve", "--port", str(node.port)], self.store_env()
        )
        if wait:
            self.wait_replica_ready(node)

    def wait_replica_ready(self, node: Replica) -> None:
        wait_for(f"replica {node.name}", lambda: port_open(node.port), START_TIMEOUT_S, node.proc)
        if http_status(node.url + HEALTH_PATH) == 404:
            # A store without readiness yet: its home page (which reads the database).
            _LOGGER.warning("%s has no %s; health-checking / instead", node.name, HEALTH_PATH)
            node.health_path = FALLBACK_HEALTH_PATH
        wait_for(f"replica {node.name}", node.ready, START_TIMEOUT_S, node.proc)

    @property
    def health_path(self) -> str:
        return self.nodes[0].health_path if self.nodes else HEALTH_PATH

    def _start_haproxy(self) -> None:
        assert self.tls_pem is not None
        config = self.folder / "haproxy.cfg"
        config.write_text(self.haproxy_config(self.tls_pem))
        check = subprocess.run(
            ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        self.haproxy = self._spawn("haproxy", ["haproxy", "-W", "-db", "-f", str(config)], {})
        wait_for("HAProxy", lambda: port_open(self.https_port), START_TIMEOUT_S, self.haproxy)

    def _wait_haproxy(self) -> None:
        """HAProxy answers the store's readiness and sees every replica up."""
        context = self.ssl_context()
        wait_for(
            "HAProxy",
            lambda: http_status(self.base_url + self.health_path, context=context) == 200,
            START_TIMEOUT_S,
            self.haproxy,
        )
        for node in self.nodes:
            self.wait_backend(node, "UP")

    def haproxy_config(self, pem: Path) -> str:
        servers = "\n".join(
            f"    server {node.name} 127.0.0.1:{node.port} check" for node in self.nodes
        )
        # Panic routing: when every replica fails its check at once, that is overload (a
        # readiness answer later than its timeout), not a store down everywhere; refusing
        # all traffic with 503 would make it worse. The same replicas, unchecked, take the
        # traffic then; a dead one refuses the connection and HAProxy re-dispatches.
        panic = "\n".join(
            f"    server {node.name}{PANIC_SUFFIX} 127.0.0.1:{node.port} backup"
            for node in self.nodes
        )
        return f"""\
global
    maxconn 4096
    stats socket {self.admin_socket} mode 600 level admin
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    # A connection refused by a stopped replica is tried again on another one; a request
    # that reached a replica is never sent twice (a checkout must not be placed twice).
    retries 3
    retry-on conn-failure
    option redispatch 1

frontend https
    bind 127.0.0.1:{self.https_port} ssl crt {pem}
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk GET {self.health_path}
    http-check expect status 200
    # A replica busy with sign-ups answers its readiness slowly, not wrongly: a check may
    # take 3 s, and three failures in a row take it out.
    timeout check 3s
    default-server inter {CHECK_INTERVAL_MS} fall 3 rise 2
    option allbackups
{servers}
{panic}

{btcpay_front(self.btcpay_port, pem, self.sim_port)}"""

    # -- HAProxy's runtime API ------------------------------------------------------------

    def haproxy_command(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.admin_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def backend_stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's `show stat` rows of our backend's servers, by server name."""
        lines = self.haproxy_command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == BACKEND and row.get("svname") not in ("FRONTEND", "BACKEND"):
                rows[row["svname"]] = row
        return rows

    def wait_backend(self, node: Replica, status: str, timeout: float = START_TIMEOUT_S) -> None:
        wait_for(
            f"HAProxy sees {node.name} {status}",
            lambda: self.backend_stats()[node.name]["status"].startswith(status),
            timeout,
            None,
        )

    # -- faults and operations ------------------------------------------------------------

    def drain(self, node: Replica) -> None:
        """HAProxy sends it nothing new, then its in-flight requests finish."""
        names = (node.name, node.name + PANIC_SUFFIX)
        for name in names:
            self.haproxy_command(f"set server {BACKEND}/{name} state drain")
        wait_for(
            f"{node.name} drained",
            lambda: all(int(self.backend_stats()[n]["scur"] or 0) == 0 for n in names),
            DRAIN_TIMEOUT_S,
            None,
        )
        for name in names:
            self.haproxy_command(f"set server {BACKEND}/{name} state maint")

    def undrain(self, node: Replica) -> None:
        for name in (node.name, node.name + PANIC_SUFFIX):
            self.haproxy_command(f"set server {BACKEND}/{name} state ready")

    def stop_replica(self, node: Replica) -> int:
        """SIGTERM: the replica stops accepting, finishes in-flight work and exits."""
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        try:
            code = node.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            node.proc.kill()
            code = node.proc.wait()
        node.proc = None
        return code

    def held_leases(self, node: Replica) -> list[str]:
        """The once-only jobs a running replica holds, from its /metrics ([] if it does
        not answer)."""
        request = urllib.request.Request(  # noqa: S310 (our own replica, over http)
            node.url + METRICS_PATH, headers={"Authorization": f"Bearer {self.metrics_token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5.0) as response:  # noqa: S310
                return sorted(HELD_LEASE_RE.findall(response.read().decode()))
        except (OSError, ValueError):
            return []

    def kill_replica(self, index: int) -> Replica:
        """SIGKILL, no warning: what a crashed machine does to a replica."""
        node = self.nodes[index]
        assert node.proc is not None
        if self.image is not None:  # the container, not only its podman client
            podman("kill", "--signal", "KILL", self._containers[node.name])
        node.proc.kill()
        node.proc.wait()
        node.proc = None
        return node

    def restart_killed(self, node: Replica) -> None:
        self.start_replica(node)
        self.wait_backend(node, "UP")

    def restart_postgres(self) -> None:
        assert self.pg is not None
        self.pg.restart()

    def rolling_restart(self) -> None:
        """One replica at a time: drain, stop, start, wait ready, back into HAProxy."""
        for node in self.nodes:
            self.drain(node)
            self.stop_replica(node)
            self.start_replica(node)
            self.undrain(node)
            self.wait_backend(node, "UP")

    def _write_state(self) -> None:
        assert self.pg is not None
        state = {
            "base_url": self.base_url,
            "simulator": self.sim_url,
            "btcpay": self.btcpay_url,
            "ca_file": str(self.ca_file),
            "database_url": self.pg.url,
            "pg_data": str(self.pg.data_dir),
            "replicas": {n.name: n.url for n in self.nodes},
            "launcher": os.getpid(),
            "pids": [p.pid for p in self._procs()],
        }
        (self.folder / "stack.json").write_text(json.dumps(state, indent=2))

    def _procs(self) -> list[subprocess.Popen]:
        procs = [self.haproxy, *(n.proc for n in self.nodes), self.sim]
        return [p for p in procs if p is not None]

    def down(self) -> None:
        """Stop HAProxy, the replicas, the simulator and PostgreSQL; remove its data."""
        for proc in self._procs():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs():
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.haproxy = self.sim = None
        for node in self.nodes:
            node.proc = None
        if self.image is not None:  # containers whose podman client did not clean up
            listed = podman("ps", "-aq", "--filter", f"label={STACK_LABEL}={self.folder}")
            if listed.stdout.split():
                podman("rm", "-f", *listed.stdout.split())
        if self.pg is not None:
            self.pg.stop("immediate")
            self.pg = None
        if self._pg_tmp is not None:
            shutil.rmtree(self._pg_tmp, ignore_errors=True)
            self._pg_tmp = None


def stop_from_state(folder: Path) -> None:
    """`stop`: end the processes a foreground `up` left (its pids), then its PostgreSQL."""
    state = json.loads((folder / "stack.json").read_text())
    try:  # the foreground `up` tears its own stack down on SIGTERM
        os.kill(state["launcher"], signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S * 2
        while time.monotonic() < deadline:
            os.kill(state["launcher"], 0)
            time.sleep(0.2)
    except ProcessLookupError:
        pass
    for pid in state["pids"]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    data = Path(state["pg_data"])
    if (data / "postmaster.pid").exists():
        PostgresCluster(data, 0).stop("immediate")
    shutil.rmtree(data.parent, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="bring the stack up and keep it running until stopped")
    up.add_argument("--dir", type=Path, required=True, help="logs, certificate, state")
    up.add_argument("--replicas", type=int, default=3)
    up.add_argument("--smtp-url", default=None, help="default: mail to DIR/data/outbox")
    up.add_argument(
        "--image",
        nargs="?",
        const="build",
        default=None,
        help="run the migration job and the replicas in the store's image under podman: "
        "`--image` builds it (make image, cached), `--image NAME` uses NAME, `--image auto` "
        "builds and uses it when podman is installed (plain processes otherwise)",
    )
    up.add_argument(
        "--development",
        action="store_true",
        help="run the image in development mode (default in image mode: production, which "
        "needs --smtp-url)",
    )
    stop = commands.add_parser("stop", help="tear down a stack started with up")
    stop.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "stop":
        stop_from_state(args.dir)
        return 0
    image = args.image
    if image == "auto":
        image = "build" if shutil.which("podman") else None
    if image == "build":
        image = build_image()
    stack = Stack(
        args.dir.resolve(),
        replicas=args.replicas,
        smtp_url=args.smtp_url,
        image=image,
        production=False if args.development else None,
    )
    stack.up()
    print(f"store on {stack.base_url} (CA: {stack.ca_file}); replicas:", flush=True)
    for node in stack.nodes:
        print(f"  {node.name} {node.url}", flush=True)
    mode = "production" if stack.production else "development"
    print(f"store in {mode} mode; BTCPay: {stack.btcpay_url}", flush=True)
    print(f"BTCPay simulator on {stack.sim_url}; Ctrl-C or `stop --dir` ends it", flush=True)

    def _stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
