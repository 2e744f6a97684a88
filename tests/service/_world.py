"""A reader-service world at the real current time: PKI, holder, lists, configuration.

The service reads the system clock (a guarded one), so its test material is issued
now, not at the fixed instant of ``tests/conftest.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from vitale_cred.clock import SystemClock
from vitale_cred.credential import CredentialBundle, Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.hazmat.cose import SoftwareSigner
from vitale_cred.hazmat.qrtext import encode_qr_text
from vitale_cred.model import Card
from vitale_cred.pki import IssuerMaterial, kid_for_certificate
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.status import StatusList, StatusReference, StatusValue, issue_status_list
from vitale_cred.trust import Usage
from vitale_cred.trustlist import TrustList, TrustListEntry, sign_trust_list

ROOT = Path(__file__).resolve().parents[2]
CARD_JSON = json.loads((ROOT / "spec/examples/family5.json").read_text("utf-8"))
#: Personal data of the card that must never reach a log.
NIR = CARD_JSON["nir"].replace(" ", "")
NAMES = sorted(
    {b["family_name"] for b in CARD_JSON["beneficiaries"]}
    | {n for b in CARD_JSON["beneficiaries"] for n in b["given_names"]}
)
STATUS_URI = "https://status.example/lists/1"
STATUS_LIST_ID = 1


@dataclass
class Pki:
    """One issuer (root + issuer certificate), one holder with the family5 card."""

    material: IssuerMaterial
    device: SoftwareDeviceKey
    bundle: CredentialBundle
    directory: Path
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def trust_pem(self) -> Path:
        return self.directory / "trust.pem"

    @property
    def roots_pem(self) -> Path:
        return self.directory / "roots.pem"

    def qr(self, beneficiary: int = 0, ttl: int = 300, clock: Any = None) -> str:
        """A fresh presentation of ``beneficiary`` as QR text (at ``clock``'s time)."""
        return present_qr(
            self.bundle.credentials[beneficiary],
            self.device,
            clock=clock if clock is not None else SystemClock(),
            ttl=ttl,
        )

    def forged(self, beneficiary: int = 0) -> str:
        """A presentation whose device signature was altered (one bit)."""
        token = bytearray(
            present(self.bundle.credentials[beneficiary], self.device, clock=SystemClock(), ttl=300)
        )
        token[-1] ^= 0x01
        return encode_qr_text(bytes(token))

    def trust_list(
        self, *, seq: int | None = None, issued_at: int | None = None, days: int = 7
    ) -> bytes:
        if seq is None:
            self.seq += 1
            seq = self.seq
        now = int(time.time()) if issued_at is None else issued_at
        cert = self.material.issuer_certificate
        entry = TrustListEntry(
            kid=kid_for_certificate(cert),
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            certificate=cert.public_bytes(serialization.Encoding.DER),
            name="Test issuer",
        )
        assert self.material.root_key is not None
        return sign_trust_list(
            TrustList(seq, now, now + days * 86_400, (entry,)),
            SoftwareSigner(self.material.root_key),
            kid=kid_for_certificate(self.material.root_certificate),
        )

    def status_list(
        self, revoked: tuple[int, ...] = (), *, iat: int | None = None, ttl: int | None = 600
    ) -> bytes:
        statuses = StatusList(2, 64)
        for index in revoked:
            statuses.set(index, StatusValue.INVALID)
        return issue_status_list(
            self.material.signer(),
            kid=self.material.kid,
            uri=STATUS_URI,
            list_id=STATUS_LIST_ID,
            status_list=statuses,
            iat=int(time.time()) if iat is None else iat,
            ttl=ttl,
        )


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    material = IssuerMaterial.generate(CoseAlg.ES256, start)
    device = SoftwareDeviceKey.generate()
    issuer = Issuer(
        material.signer(),
        kid=material.kid,
        clock=SystemClock(),
        x5chain=[material.issuer_certificate],
    )
    card = Card.from_json(CARD_JSON)
    bundle = issuer.issue(
        card,
        ProvenDeviceKey.unsafe_without_proof(device.cose_key()),
        valid_days=365,
        status=[StatusReference(STATUS_LIST_ID, i) for i in range(len(card.beneficiaries))],
    )
    pem = serialization.Encoding.PEM
    (directory / "roots.pem").write_bytes(material.root_certificate.public_bytes(pem))
    (directory / "trust.pem").write_bytes(
        material.root_certificate.public_bytes(pem) + material.issuer_certificate.public_bytes(pem)
    )
    (directory / "bundle.cbor").write_bytes(bundle.encode())
    (directory / "device.pem").write_bytes(device.export_private_pem())
    return Pki(material, device, bundle, directory)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(
    directory: Path, pki: Pki, text: str = "", *, port: int = 8765, state: Path | None = None
) -> Path:
    """A configuration over ``pki``'s PEM bundle unless ``text`` sets [trust] itself."""
    state_dir = state if state is not None else directory / "state"
    trust = "" if "[trust]" in text else f'[trust]\ncertificates = "{pki.trust_pem}"\n'
    server = "" if "[server]" in text else f"[server]\nport = {port}\naccess_log = true\n"
    body = f'{server}\n[state]\ndir = "{state_dir}"\n\n{trust}\n{text}\n'
    path = directory / "reader.toml"
    path.write_text(body, "utf-8")
    return path


@contextmanager
def running_service(
    config: Path, port: int, *, timeout: float = 30.0
) -> Iterator[subprocess.Popen[str]]:
    """``python -m vitale_cred reader``-equivalent subprocess, ready when it yields."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vitale_cred",
            "reader",
            "serve",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise AssertionError(f"service exited {process.returncode}: {err[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("service did not start")
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def serving(service: Any, port: int | None = None) -> Iterator[str]:
    """``service`` (a ReaderService) served by uvicorn in a thread; yields its base URL."""
    import threading

    import uvicorn

    from vitale_cred.service.app import create_app

    port = port or free_port()
    config = uvicorn.Config(
        create_app(service),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=True,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the in-thread service did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
