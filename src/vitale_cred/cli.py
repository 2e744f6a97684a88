"""The ``vitale-cred`` command line.

Exit codes: 0 success, 1 invalid input or failed verification (one line naming
the error code is printed on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .clock import Clock, FixedClock, SystemClock, from_datetime
from .credential import MAX_VALIDITY_DAYS, CredentialBundle, Issuer
from .device import ProvenDeviceKey, SoftwareDeviceKey, load_public_pem, verify_possession
from .errors import InvalidArgument, UsageError, VerificationError, VitaleCredError
from .model import Card
from .pki import IssuerMaterial
from .presentation import DEFAULT_TTL, MAX_TTL, present_qr
from .registry import CoseAlg
from .trust import TrustStore
from .verify import Policy, VerifiedPresentation, Verifier

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

_ALGS = {"ES256": CoseAlg.ES256, "ES384": CoseAlg.ES384, "EdDSA": CoseAlg.EDDSA}


class _Usage(Exception):
    """A command-line usage error (exit 2)."""


def _clock(at: str | None) -> Clock:
    if at is None:
        return SystemClock()
    try:
        moment = _dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise _Usage(f"--at {at!r} is not an ISO 8601 date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return FixedClock(from_datetime(moment))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror}") from exc


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise InvalidArgument(f"cannot write {path}: {exc.strerror}") from exc


def example_card() -> dict[str, Any]:
    """The ``family5.json`` example card shipped with the package."""
    text = resources.files("vitale_cred").joinpath("data/family5.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# --- commands ---------------------------------------------------------------------


def cmd_init_issuer(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    material = IssuerMaterial.generate(
        _ALGS[args.alg], _dt.datetime.fromtimestamp(clock.now(), _dt.UTC)
    )
    material.write(Path(args.out))
    print(
        f"issuer written to {args.out}: root.pem, root-key.pem, issuer.pem, issuer-key.pem",
        file=out,
    )
    print(f"kid {material.kid.hex()}  alg {args.alg}", file=out)
    return EXIT_OK


def cmd_device_key(args: argparse.Namespace, out: TextIO) -> int:
    key = SoftwareDeviceKey.generate()
    path = Path(args.out)
    try:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
    except OSError as exc:
        raise InvalidArgument(f"cannot write {args.out}: {exc.strerror}") from exc
    _write(args.out, key.export_private_pem())
    if args.public_out:
        _write(args.public_out, key.public_pem())
    else:
        out.write(key.public_pem().decode("ascii"))
    return EXIT_OK


def cmd_issue(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    if not (args.device_public_key or args.device_proof):
        raise _Usage("give --device-public-key PEM or --device-proof FILE --nonce HEX")
    material = IssuerMaterial.load(Path(args.issuer))
    try:
        card = Card.from_json(json.loads(_read(args.card)))
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{args.card} is not JSON: {exc.msg}") from exc
    if args.device_proof:
        if not args.nonce:
            raise _Usage("--device-proof needs --nonce (the hex nonce the issuer sent)")
        try:
            nonce = bytes.fromhex(args.nonce)
        except ValueError as exc:
            raise _Usage("--nonce must be hex") from exc
        device = verify_possession(_read(args.device_proof), nonce, clock.now())
    else:
        # The operator running this command vouches for possession of the key.
        public = load_public_pem(_read(args.device_public_key))
        device = ProvenDeviceKey.unsafe_without_proof(public)
    issuer = Issuer(
        material.signer(),
        kid=material.kid,
        clock=clock,
        x5chain=[material.issuer_certificate],
    )
    bundle = issuer.issue(card, device, valid_days=args.valid_days)
    data = bundle.encode()
    _write(args.out, data)
    sizes = ", ".join(str(len(c)) for c in bundle.credentials)
    print(
        f"issued {len(bundle.credentials)} credentials ({sizes} bytes) "
        f"in {args.out} ({len(data)} bytes)",
        file=out,
    )
    return EXIT_OK


def cmd_present(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    bundle = CredentialBundle.decode(_read(args.credential))
    device = SoftwareDeviceKey.from_pem(_read(args.device_key))
    credential = bundle.credential_for(args.beneficiary)
    text = present_qr(credential, device, clock=clock, ttl=args.ttl)
    if args.png or args.svg or args.terminal:
        from . import qrimage  # noqa: PLC0415 - optional extra

        if args.png:
            qrimage.render_png(text, args.png)
        if args.svg:
            qrimage.render_svg(text, args.svg)
        if args.terminal:
            sys.stderr.write(qrimage.render_terminal(text))
    print(text, file=out)
    return EXIT_OK


def _verify_result(result: VerifiedPresentation) -> str:
    ben = result.beneficiary
    rights = ", ".join(f"AMO {p.start}..{p.end or 'open'}" for p in ben.amo) or "no AMO period"
    exo = ", ".join(f"{e.code.name} until {e.period.end or 'open'}" for e in ben.exonerations)
    lines = [
        "VALID",
        f"  insured NIR   {result.insured_nir.formatted()}",
        f"  organisme     {result.organisme}",
        f"  beneficiary   #{result.beneficiary_index} {ben.family_name} "
        f"{' '.join(ben.given_names)} ({ben.qualite.name.lower()}, born {ben.birth_date}"
        f"{', rank ' + str(ben.birth_rank) if ben.birth_rank != 1 else ''})",
        f"  rights        {rights}" + (f"; {exo}" if exo else ""),
    ]
    if ben.css is not None:
        lines.append(f"  CSS           {ben.css.start}..{ben.css.end or 'open'}")
    if result.delegation is not None:
        lines.append(
            f"  delegated     by {result.delegation.delegator} to {result.delegation.delegate}"
        )
    return "\n".join(lines)


def _trust(path: str) -> TrustStore:
    try:
        return TrustStore.from_pem(_read(path))
    except ValueError as exc:
        raise InvalidArgument(f"{path} is not a PEM certificate bundle") from exc


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    try:
        if args.image:
            from . import qrimage  # noqa: PLC0415 - optional extra

            text = qrimage.read_image(args.image)
        elif args.qr_text:
            text = args.qr_text
        else:
            raise _Usage("give QR_TEXT or --image PNG")
        verifier = Verifier(Policy(trust=_trust(args.trust), clock=clock))
        result = verifier.verify_qr(text.strip())
    except VitaleCredError as exc:
        if args.json:
            print(json.dumps({"valid": False, "code": exc.code, "message": exc.message}), file=out)
            return EXIT_INVALID
        raise
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False), file=out)
    else:
        print(_verify_result(result), file=out)
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    from .inspect import inspect_bytes  # noqa: PLC0415 - keeps start-up light

    data = _read(args.file)
    print(inspect_bytes(data), file=out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import run_demo  # noqa: PLC0415 - keeps start-up light

    if args.workdir:
        return run_demo(Path(args.workdir), out, at=args.at)
    with tempfile.TemporaryDirectory(prefix="vitale-demo-") as tmp:
        return run_demo(Path(tmp), out, at=args.at)


# --- parser -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitale-cred",
        description="Dematerialised health-insurance card: issue, present, verify.",
    )
    parser.add_argument("--version", action="version", version=f"vitale-cred {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, helptext: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=helptext,
            description=helptext,
            epilog=f"example: {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add("demo", "issue a sample card, present it as QR, verify it", "vitale-cred demo")
    p.add_argument("--workdir", help="keep the files here instead of a temporary directory")
    p.add_argument("--at", help="ISO 8601 instant to run the demo at (default: now)")
    p.set_defaults(func=cmd_demo)

    p = add(
        "init-issuer",
        "create a root CA and an issuer certificate and key",
        "vitale-cred init-issuer --out issuer/ --alg ES256",
    )
    p.add_argument("--out", required=True, help="directory to write the PEM files to")
    p.add_argument("--alg", choices=sorted(_ALGS), default="ES256")
    p.add_argument("--at", help="ISO 8601 start of validity (default: now)")
    p.set_defaults(func=cmd_init_issuer)

    p = add(
        "device-key",
        "create a device (phone) key: private PEM to --out, public PEM to stdout",
        "vitale-cred device-key --out dev.pem > dev.pub.pem",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--public-out", help="write the public PEM here instead of stdout")
    p.set_defaults(func=cmd_device_key)

    p = add(
        "issue",
        "sign one credential per beneficiary of a JSON card, bound to a device key",
        "vitale-cred issue --issuer issuer/ --card card.json "
        "--device-public-key dev.pub.pem --valid-days 365 --out cred.cbor",
    )
    p.add_argument("--issuer", required=True, help="directory written by init-issuer")
    p.add_argument("--card", required=True, help="card JSON (spec/data-model.md section 5)")
    p.add_argument("--device-public-key", help="device public key PEM (operator-vouched)")
    p.add_argument("--device-proof", help="proof of possession (COSE_Sign1) from the device")
    p.add_argument("--nonce", help="hex nonce the proof must be over")
    p.add_argument("--valid-days", type=int, default=365, help=f"1..{MAX_VALIDITY_DAYS}")
    p.add_argument("--out", required=True)
    p.add_argument("--at", help="ISO 8601 issuance instant (default: now)")
    p.set_defaults(func=cmd_issue)

    p = add(
        "present",
        "make a short-lived QR presentation of one beneficiary",
        "vitale-cred present --credential cred.cbor --device-key dev.pem "
        "--beneficiary 2 --terminal",
    )
    p.add_argument("--credential", required=True, help="bundle written by issue")
    p.add_argument("--device-key", required=True)
    p.add_argument("--beneficiary", type=int, default=0, help="0 = the insured")
    p.add_argument("--ttl", type=int, default=DEFAULT_TTL, help=f"seconds, 1..{MAX_TTL}")
    p.add_argument("--at", help="ISO 8601 instant (default: now)")
    p.add_argument("--png")
    p.add_argument("--svg")
    p.add_argument("--terminal", action="store_true", help="draw the QR code on stderr")
    p.set_defaults(func=cmd_present)

    p = add(
        "verify",
        "verify a QR presentation (text or image)",
        "vitale-cred verify --trust readers.pem 'VC1:...'",
    )
    p.add_argument("qr_text", nargs="?", metavar="QR_TEXT")
    p.add_argument("--image", help="PNG/JPEG holding the QR code")
    p.add_argument(
        "--trust", required=True, help="PEM: trusted root(s), optionally issuer certificates"
    )
    p.add_argument("--at", help="ISO 8601 verification instant (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    p = add(
        "inspect",
        "decode a credential bundle, credential, presentation or QR text",
        "vitale-cred inspect cred.cbor",
    )
    p.add_argument("file")
    p.set_defaults(func=cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    stream = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors this way
        return int(exc.code or 0) and EXIT_USAGE
    func: Callable[[argparse.Namespace, TextIO], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(stream)
        return EXIT_USAGE
    try:
        return func(args, stream)
    except _Usage as exc:
        print(f"vitale-cred: usage: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (VerificationError, UsageError, VitaleCredError) as exc:
        print(f"vitale-cred: error [{exc.code}] {exc.message}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
