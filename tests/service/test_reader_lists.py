"""Lists kept fresh: fetched over HTTPS from a local server started here (conditional
requests, disk cache, refusal of bad lists), refreshed with jitter, and enforced max age
(verdicts fail closed with their code, and the health report says why)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service._world import Pki, make_pki, serving, write_config
from vitale_cred.service.app import ReaderService
from vitale_cred.service.config import load_config
from vitale_cred.service.lists import ListManager
from vitale_cred.state import InMemoryTrustState


class MovableClock:
    """The system clock, moved forward on demand."""

    def __init__(self) -> None:
        self.offset = 0

    def now(self) -> int:
        return int(time.time()) + self.offset


@dataclass
class Published:
    data: bytes
    etag: str
    modified: str


@dataclass
class ListServer:
    """An HTTPS server of lists on 127.0.0.1 with its own CA; records every request."""

    files: dict[str, Published] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    failing: bool = False
    port: int = 0
    ca_file: Path | None = None

    def publish(self, path: str, data: bytes) -> None:
        stamp = email.utils.formatdate(time.time(), usegmt=True)
        self.files[path] = Published(data, f'"{len(self.files)}-{hash(data) & 0xFFFFFF:x}"', stamp)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


def _tls_material(directory: Path) -> tuple[Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test list CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def list_server(tmp_path: Path) -> Iterator[ListServer]:
    state = ListServer()
    ca, cert, key = _tls_material(tmp_path)
    state.ca_file = ca

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            item = state.files.get(self.path)
            if state.failing or item is None:
                self.send_response(503 if state.failing else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == item.etag:
                self.send_response(304)
                self.send_header("ETag", item.etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/cbor")
            self.send_header("Content-Length", str(len(item.data)))
            self.send_header("ETag", item.etag)
            self.send_header("Last-Modified", item.modified)
            self.end_headers()
            self.wfile.write(item.data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _config_text(server: ListServer, pki: Pki, *, status: bool = True) -> str:
    text = (
        f'[trust]\nauthority = "{pki.roots_pem}"\n[trust.list]\n'
        f'source = "{server.url("/trust.cbor")}"\nrefresh = 600\nmax_age = 3600\n'
        f'[fetch]\nca_file = "{server.ca_file}"\njitter = 0.2\nretry = 30\ntimeout = 5\n'
    )
    if status:
        text += (
            f'[status]\n[[status.list]]\nsource = "{server.url("/status/1")}"\n'
            "refresh = 300\nmax_age = 1800\n"
        )
    return text


def test_lists_are_fetched_revalidated_updated_and_cached(
    tmp_path: Path, list_server: ListServer, pki: Pki
) -> None:
    list_server.publish("/trust.cbor", pki.trust_list())
    config = load_config(write_config(tmp_path, pki, _config_text(list_server, pki, status=False)))
    clock = MovableClock()

    async def scenario() -> ListManager:
        manager = ListManager(config, clock=clock, state=InMemoryTrustState())
        await manager.start()
        source = manager.trust_source
        assert source is not None and manager.reader is not None
        assert source.fetches == {"updated": 1, "unchanged": 0, "failed": 0}
        first_seq = manager.reader.current.seq  # type: ignore[union-attr]
        assert "if-none-match" not in list_server.requests[0][1]
        # Unchanged: a conditional request, answered 304, counts as a refresh.
        clock.offset += 100
        assert await manager.refresh(source)
        assert source.fetches["unchanged"] == 1 and source.fetched_at == clock.now()
        headers = list_server.requests[-1][1]
        assert headers["if-none-match"] == list_server.files["/trust.cbor"].etag
        assert "if-modified-since" in headers and headers["user-agent"].startswith("vitale-cred")
        # A new list: put in force.
        list_server.publish("/trust.cbor", pki.trust_list())
        assert await manager.refresh(source)
        assert manager.reader.current.seq == first_seq + 1  # type: ignore[union-attr]
        # A rollback (an older list served again) is refused; the newer one stays.
        list_server.publish("/trust.cbor", pki.trust_list(seq=first_seq))
        assert await manager.refresh(source)  # still fresh: the last good fetch is recent
        assert source.last_error_code == "trust.list_rollback"
        assert manager.reader.current.seq == first_seq + 1  # type: ignore[union-attr]
        # Jitter: each delay is refresh x (1 +/- 0.2); after a failure, the retry.
        delays = [manager.next_delay(source, True) for _ in range(200)]
        assert 480 <= min(delays) < max(delays) <= 720 and len(set(delays)) > 100
        assert all(24 <= manager.next_delay(source, False) <= 36 for _ in range(50))
        await manager.stop()
        return manager

    asyncio.run(scenario())

    # Restarted with the list server down: the disk cache puts the last good list in force.
    list_server.failing = True

    async def restart() -> None:
        manager = ListManager(config, clock=clock, state=InMemoryTrustState())
        await manager.start()
        assert manager.reader is not None and manager.reader.current is not None
        assert manager.trust_failure(clock.now()) is None
        source = manager.trust_source
        assert source is not None and source.last_error is not None
        assert "HTTP 503" in source.last_error
        # Not refreshed for longer than max_age: fail closed, and the health says why.
        clock.offset += 3700
        failure = manager.trust_failure(clock.now())
        assert failure is not None and failure.code == "trust.list_expired"
        (report,) = manager.health(clock.now())
        assert report["ok"] is False and "not refreshed" in report["reason"]
        assert "HTTP 503" in report["reason"]
        await manager.stop()

    asyncio.run(restart())


def test_service_checks_status_and_fails_closed_on_stale_lists(
    tmp_path: Path, list_server: ListServer, pki: Pki
) -> None:
    list_server.publish("/trust.cbor", pki.trust_list())
    list_server.publish("/status/1", pki.status_list(revoked=(3,)))
    config = load_config(write_config(tmp_path, pki, _config_text(list_server, pki)))
    clock = MovableClock()
    service = ReaderService(config, clock=clock)
    with serving(service) as url, httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/v1/health").json()
        assert health["status"] == "ok", health["reasons"]
        assert [entry["kind"] for entry in health["lists"]] == ["trust", "status"]
        assert health["lists"][1]["detail"]["list"] == 1
        valid = client.post("/v1/verify/qr", json={"qr": pki.qr(0)}).json()
        assert valid["ok"] is True and valid["presentation"]["status"] == "valid"
        revoked = client.post("/v1/verify/qr", json={"qr": pki.qr(3)}).json()
        assert revoked["code"] == "status.revoked"
        metrics = client.get("/metrics").text
        assert 'vitale_reader_list_age_seconds{list="trust"' in metrics
        assert 'vitale_reader_list_usable{list="status:0"' in metrics

        # The status list stops refreshing: once past its max_age it is withheld, the
        # status is undetermined (refused), and the service says it is degraded.
        list_server.failing = True
        clock.offset = 1900
        stale_status = client.post("/v1/verify/qr", json={"qr": pki.qr(1, clock=clock)}).json()
        assert stale_status["code"] == "status.undetermined"
        health = client.get("/v1/health").json()
        assert health["status"] == "degraded"
        assert any("status:0" in reason for reason in health["reasons"])
        assert client.get("/v1/ready").status_code == 200

        # The trust list too: every verdict fails closed with its code.
        clock.offset = 3700
        stale_trust = client.post("/v1/verify/qr", json={"qr": pki.qr(0, clock=clock)}).json()
        assert stale_trust["code"] == "trust.list_expired"
        ready = client.get("/v1/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "failing"
        assert any(
            reason.startswith("trust: [trust.list_expired]") for reason in ready.json()["reasons"]
        )
        assert 'vitale_reader_list_usable{list="trust"' in client.get("/metrics").text


def test_a_service_without_any_trust_list_refuses_everything(
    tmp_path: Path, list_server: ListServer, pki: Pki
) -> None:
    list_server.failing = True
    config = load_config(write_config(tmp_path, pki, _config_text(list_server, pki, status=False)))
    with serving(ReaderService(config)) as url, httpx.Client(base_url=url, timeout=10) as client:
        refused = client.post("/v1/verify/qr", json={"qr": pki.qr(0)}).json()
        assert refused["code"] == "trust.list_expired"
        assert "no trust list is in force" in refused["message"]
        assert client.get("/v1/ready").status_code == 503


def test_a_trust_list_from_a_file_is_read_again_when_it_changes(tmp_path: Path, pki: Pki) -> None:
    path = tmp_path / "trust.cbor"
    path.write_bytes(pki.trust_list())
    config = load_config(
        write_config(
            tmp_path,
            pki,
            f'[trust]\nauthority = "{pki.roots_pem}"\n[trust.list]\nsource = "{path}"\n',
        )
    )

    async def scenario() -> None:
        manager = ListManager(config, clock=MovableClock(), state=InMemoryTrustState())
        await manager.start()
        source = manager.trust_source
        assert source is not None and manager.reader is not None
        seq = manager.reader.current.seq  # type: ignore[union-attr]
        assert await manager.refresh(source) and source.fetches["unchanged"] == 1
        path.write_bytes(pki.trust_list())
        assert await manager.refresh(source)
        assert manager.reader.current.seq == seq + 1  # type: ignore[union-attr]
        path.unlink()
        await manager.refresh(source)
        assert source.last_error is not None and "fetch failed" in source.last_error
        await manager.stop()

    asyncio.run(scenario())
