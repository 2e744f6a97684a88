"""``vitale-cred demo``: the whole journey of a card, end to end, in a work directory."""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import shutil
import threading
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from vitale_cred.adapters.files import write_issuer_directory, write_private
from vitale_cred.clock import Clock, clock_at
from vitale_cred.credential import Issuer
from vitale_cred.device import SoftwareDeviceKey, new_nonce, possession_proof, verify_possession
from vitale_cred.errors import UsageError, VitaleCredError
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.model import Card
from vitale_cred.nfc import HolderSession, ReaderSession, credentials_by_index, pair
from vitale_cred.pki import IssuerMaterial
from vitale_cred.presentation import present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
)
from vitale_cred.trust import TrustStore
from vitale_cred.verify import Policy, VerifiedPresentation, Verifier

__all__ = ["run_demo"]

STATUS_URI = "https://status.vitale.example/demo/1"
STATUS_LIST_ID = 1


def example_card() -> dict[str, Any]:
    """The ``family5.json`` example card shipped with the package."""
    text = resources.files("vitale_cred").joinpath("data/family5.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _row(result: VerifiedPresentation, channel: str, today: _dt.date) -> str:
    ben = result.beneficiary
    rights = ["AMO"] if ben.covered_on(today) else ["no AMO today"]
    rights += [e.code.name for e in ben.exonerations if e.period.covers(today)]
    if ben.css is not None and ben.css.covers(today):
        rights.append("CSS")
    if ben.amc is not None and ben.amc.period.covers(today):
        rights.append("AMC")
    name = f"{ben.family_name} {' '.join(ben.given_names)}"
    return (
        f"  {channel:<6} #{result.beneficiary_index}  {name:<22} {ben.qualite.name.lower():<9} "
        f"{ben.birth_date!s:<10}  {', '.join(rights)}"
    )


def _over_pcsc(
    verifier: Verifier, credentials: dict[int, bytes], device: SoftwareDeviceKey, clock: Clock
) -> tuple[VerifiedPresentation | None, str]:
    """One tap through pcscd and vpcd when both run here; else None and why not."""
    if importlib.util.find_spec("smartcard") is None:
        return None, "pyscard is not installed: pip install 'vitale-cred[pcsc]'"
    if not (shutil.which("pcscd") or Path("/usr/sbin/pcscd").exists()):
        return None, "pcscd is not installed (Debian: apt install pcscd vsmartcard-vpcd)"
    if not Path("/run/pcscd/pcscd.comm").exists():
        return None, "pcscd is not running (scripts/start-pcscd.sh in a source checkout)"
    from vitale_cred.adapters import pcsc  # noqa: PLC0415 - optional extra

    stop = threading.Event()

    def holder() -> HolderSession:
        return HolderSession(
            credentials, device, clock=clock, gate=lambda: True, chooser=lambda h, a: 1
        )

    card = threading.Thread(
        target=pcsc.serve_virtual_card, args=(holder,), kwargs={"stop_event": stop}, daemon=True
    )
    card.start()
    try:
        return pcsc.read_presentation(verifier, wait_seconds=5), ""
    except VitaleCredError as exc:
        return None, f"the virtual reader did not answer: [{exc.code}] {exc.message}"
    finally:
        stop.set()
        card.join(timeout=5)


def run_demo(workdir: Path, out: TextIO, *, at: str | None = None, keep: bool = True) -> int:
    """Issue ``family5.json``, present it by QR and NFC, verify, revoke, print the result.

    ``keep`` says whether ``workdir`` outlives the demo: its paths are printed only then.
    """

    def where(path: Path) -> str:
        return str(path) if keep else path.name

    clock = clock_at(at)
    start = _dt.datetime.fromtimestamp(clock.now() - 86_400, _dt.UTC)
    workdir.mkdir(parents=True, exist_ok=True)

    print("1. The fund creates its PKI (root CA + issuer certificate, ES256)", file=out)
    material = IssuerMaterial.generate(CoseAlg.ES256, start)
    write_issuer_directory(material, workdir / "issuer")
    print(f"   issuer kid {material.kid.hex()}  -> {where(workdir / 'issuer')}", file=out)

    print("2. The phone enrols: it proves possession of its P-256 device key", file=out)
    device = SoftwareDeviceKey.generate()
    nonce = new_nonce()
    proven = verify_possession(possession_proof(device, nonce, clock.now()), nonce, clock.now())
    write_private(workdir / "device.pem", device.export_private_pem())

    card = Card.from_json(example_card())
    issuer = Issuer(
        material.signer(), kid=material.kid, clock=clock, x5chain=[material.issuer_certificate]
    )
    status = [StatusReference(STATUS_LIST_ID, i) for i in range(len(card.beneficiaries))]
    bundle = issuer.issue(card, proven, valid_days=365, status=status)
    (workdir / "card.cbor").write_bytes(bundle.encode())
    (workdir / "card.json").write_text(json.dumps(card.to_json(), ensure_ascii=False, indent=2))
    sizes = ", ".join(str(len(c)) for c in bundle.credentials)
    print(
        f"3. The fund issues {len(bundle.credentials)} credentials, one per beneficiary "
        f"({sizes} bytes), and publishes its revocation list",
        file=out,
    )
    statuses = StatusList(2, 1024)
    provider = InMemoryStatusProvider()

    def publish() -> None:
        provider.publish(
            issue_status_list(
                material.signer(),
                kid=material.kid,
                uri=STATUS_URI,
                list_id=STATUS_LIST_ID,
                status_list=statuses,
                iat=clock.now(),
                ttl=60,
            ),
        )

    publish()
    trust = TrustStore(
        roots=[material.root_certificate], certificates=[material.issuer_certificate]
    )
    checker = StatusChecker(provider, trust, policy=StatusPolicy())
    verifier = Verifier(Policy(trust=trust, clock=clock, status=checker))

    print("4. The patient shows a QR code for one of the twins (beneficiary #2)", file=out)
    text = present_qr(bundle.credentials[2], device, clock=clock)
    (workdir / "qr.txt").write_text(text + "\n")
    print(f"   {len(text)} characters: {text[:48]}...", file=out)
    try:
        from vitale_cred.adapters import qrimage  # noqa: PLC0415 - optional extra

        qrimage.render_png(text, workdir / "qr.png")
        version = qrimage.qr_version(text)
        print(f"   QR version {version} at ECC level Q -> {where(workdir / 'qr.png')}", file=out)
        print(qrimage.render_terminal(text), file=out)
        text = qrimage.read_image(workdir / "qr.png")
        print("   the reader decoded the PNG back to the same text", file=out)
    except UsageError:
        print("   (install vitale-cred[qr] to draw and scan the QR image)", file=out)

    print("5. The pharmacy's software verifies it", file=out)
    results = [("QR", verifier.verify_qr(text))]
    try:
        verifier.verify_qr(text)
    except VitaleCredError as exc:
        print(f"   the same QR shown again is refused: [{exc.code}]", file=out)
    print(
        f"   presentation {len(decode_qr_text(text))} bytes; the other dependants are not in it",
        file=out,
    )
    results.append(
        ("QR", verifier.verify_qr(present_qr(bundle.credentials[0], device, clock=clock)))
    )

    print("6. At the doctor's, the phone is tapped on an NFC reader (beneficiary #1)", file=out)
    credentials = credentials_by_index(bundle.credentials)
    trace: list[tuple[bytes, bytes]] = []
    holder = HolderSession(
        credentials, device, clock=clock, gate=lambda: True, chooser=lambda hint, available: hint
    )
    nfc = pair(holder, ReaderSession(verifier, beneficiary_hint=1), trace=trace)
    moved = sum(len(c) + len(r) for c, r in trace)
    print(f"   {len(trace)} APDUs, {moved} bytes, encrypted (ECDH P-256 + AES-256-GCM)", file=out)
    results.append(("NFC", nfc))
    over_pcsc, why_not = _over_pcsc(verifier, credentials, device, clock)
    if over_pcsc is not None:
        print("   and once more over PC/SC (pcscd + virtual reader)", file=out)
        results.append(("PC/SC", over_pcsc))
    else:
        print(f"   (PC/SC tap skipped: {why_not})", file=out)

    print("7. The phone is lost: the fund revokes the card", file=out)
    for entry in status:
        statuses.set(entry.idx, StatusValue.INVALID)
    publish()
    checker.forget()
    try:
        verifier.verify_qr(present_qr(bundle.credentials[0], device, clock=clock))
        print("   ERROR: the revoked card still verifies", file=out)
        return 1
    except VitaleCredError as exc:
        print(f"   the next presentation is refused: [{exc.code}] {exc.message}", file=out)

    print("\nVerified:", file=out)
    print(f"  {'via':<6} {'#':<2}  {'name':<22} {'qualité':<9} {'born':<10}  rights", file=out)
    today = _dt.datetime.fromtimestamp(clock.now(), _dt.UTC).date()
    for channel, result in results:
        print(_row(result, channel, today), file=out)
    first = results[0][1]
    print(
        f"\n  insured NIR {first.insured_nir.formatted()}   organisme {first.organisme}",
        file=out,
    )
    if not keep:
        print("\n  (the files were in a temporary directory: --workdir DIR keeps them)", file=out)
    return 0
