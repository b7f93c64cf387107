"""BTCPay over https behind a private CA: BTCPAY_CA_FILE makes the store's BTCPay client
trust that CA (beside the system's); without it the certificate is refused, and an
unreadable file is refused at start-up, naming the variable."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud.app import create_app
from cloud.btcpay_simulator.app import SimulatorSettings, create_simulator_app
from cloud.config import CloudSettings, ConfigError
from cloud.payments.settings import BtcpaySettings
from tests.support import processes

API_KEY = "tls-test-api-key"
STORE_ID = "tls-test-store"


@dataclass(frozen=True)
class PrivateCa:
    ca_file: Path
    server_context: ssl.SSLContext


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_private_ca(folder: Path) -> PrivateCa:
    """A CA of this test and a certificate it signs for 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Ethos test CA"))
        .issuer_name(_name("Ethos test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    return PrivateCa(ca_file, server_context)


@pytest.fixture
def private_ca(tmp_path: Path) -> PrivateCa:
    return make_private_ca(tmp_path)


@pytest.fixture
async def btcpay_over_https(private_ca: PrivateCa) -> AsyncIterator[str]:
    """The simulator served over https with the private CA's certificate."""
    app = create_simulator_app(SimulatorSettings(api_key=API_KEY, store_id=STORE_ID))
    runner = web.AppRunner(app)
    await runner.setup()
    port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=private_ca.server_context).start()
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _with_btcpay(settings: CloudSettings, url: str, ca_file: Path | None) -> CloudSettings:
    btcpay = BtcpaySettings(
        url=url,
        api_key=API_KEY,
        store_id=STORE_ID,
        webhook_secret="tls-test-webhook-secret",
        ca_file=None if ca_file is None else str(ca_file),
    )
    return replace(settings, btcpay=btcpay)


async def test_btcpay_behind_a_private_ca_is_reached_with_btcpay_ca_file(
    aiohttp_client, cloud_settings, btcpay_over_https: str, private_ca: PrivateCa
):
    settings = _with_btcpay(cloud_settings, btcpay_over_https, private_ca.ca_file)
    client = await aiohttp_client(create_app(settings))
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    assert "btcpay" in body["checked"] and body["failing"] == {}


async def test_without_the_ca_file_btcpays_certificate_is_refused(
    aiohttp_client, cloud_settings, btcpay_over_https: str
):
    client = await aiohttp_client(create_app(_with_btcpay(cloud_settings, btcpay_over_https, None)))
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    assert set(body["failing"]) == {"btcpay"}
    assert "cannot be reached" in body["failing"]["btcpay"]


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_an_unreadable_btcpay_ca_file_is_refused_at_start(tmp_path: Path, content: bytes | None):
    ca_file = tmp_path / "ca.pem"
    if content is not None:
        ca_file.write_bytes(content)
    env = {"ETHOS_DATA_DIR": str(tmp_path), "BTCPAY_CA_FILE": str(ca_file)}
    with pytest.raises(ConfigError, match="BTCPAY_CA_FILE"):
        CloudSettings.from_env(env)
