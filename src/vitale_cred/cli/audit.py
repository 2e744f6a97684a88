"""``vitale-cred audit``, and the evidence options of ``vitale-cred verify``.

``register(subparsers)`` adds the ``audit`` command to the main parser: the fund's
audit of evidence records (:mod:`vitale_cred.audit`, extra ``vitale-cred[audit]``,
imported only when it runs). For ``verify --evidence-out F``, :func:`add_evidence_options`
adds the options to ``verify`` and :func:`verify_and_record` verifies and writes
the evidence (:func:`write_evidence`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from vitale_cred.adapters.files import decrypt_private_pem, file_error
from vitale_cred.cli._help import Help
from vitale_cred.cli._keys import PASSPHRASE_ENV, Passphrase
from vitale_cred.errors import CommandLineError, InvalidArgument, VerificationError
from vitale_cred.evidence import Evidence, EvidenceLog, invoice_digest, verify_with_evidence
from vitale_cred.hazmat.cose import Signer, SoftwareSigner
from vitale_cred.pki import load_private_key
from vitale_cred.verify import VerifiedPresentation, Verifier

__all__ = [
    "add_evidence_options",
    "cmd_audit",
    "register",
    "verify_and_record",
    "write_evidence",
]

# --- evidence of verify ------------------------------------------------------------------


def write_evidence(path: str | Path, evidence: Evidence, *, signer: Signer | None = None) -> None:
    """Write one evidence record: appended as a line ``{"evidence": base64}`` to a
    ``.jsonl`` file (the fund's audit reads those), else the record's CBOR bytes."""
    target = Path(path)
    data = evidence.encode(signer=signer)
    if target.suffix == ".jsonl":
        EvidenceLog(target).append(data)
        return
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise file_error(exc, "write", target) from exc


def add_evidence_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``verify`` that record evidence (``spec/evidence.md``)."""
    parser.add_argument(
        "--evidence-out",
        metavar="FILE",
        help="write the evidence of this verification (accepted or refused): appended "
        "to FILE.jsonl as one JSON line, else FILE holds the CBOR record",
    )
    parser.add_argument(
        "--professional",
        metavar="ID",
        help="with --evidence-out: the billing professional's identifier (RPPS, AM number)",
    )
    invoice = parser.add_mutually_exclusive_group()
    invoice.add_argument(
        "--invoice",
        metavar="HEX",
        help="with --evidence-out: the invoice reference, 1 to 32 bytes in hex",
    )
    invoice.add_argument(
        "--invoice-file",
        metavar="FILE",
        help="with --evidence-out: the invoice itself; its SHA-256 is the reference",
    )
    parser.add_argument(
        "--professional-key",
        metavar="FILE",
        help="with --evidence-out: sign the evidence with this key, a PEM private key (if "
        f"encrypted, its passphrase comes from ${PASSPHRASE_ENV}, else a prompt), or "
        'a JSON file {"module", "token_label", "key_label", "pin_env"} naming a PKCS#11 key',
    )


def _invoice(args: argparse.Namespace) -> bytes:
    if args.invoice_file:
        try:
            return invoice_digest(Path(args.invoice_file).read_bytes())
        except OSError as exc:
            raise file_error(exc, "read", args.invoice_file) from exc
    if not args.invoice:
        raise CommandLineError("--evidence-out needs --invoice HEX or --invoice-file FILE")
    try:
        return bytes.fromhex(args.invoice)
    except ValueError as exc:
        raise CommandLineError("--invoice is hexadecimal") from exc


@contextlib.contextmanager
def _professional_signer(path: str | None) -> Iterator[Signer | None]:
    """No signer, a software key, or the PKCS#11 key a JSON description names."""
    if path is None:
        yield None
        return
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise file_error(exc, "read", path) from exc
    if not data.lstrip().startswith(b"{"):
        yield SoftwareSigner(load_private_key(decrypt_private_pem(data, path, Passphrase())))
        return
    try:
        config = json.loads(data)
        module, token, key = config["module"], config["token_label"], config["key_label"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"{path} is not a PKCS#11 key description") from exc
    pin_env = config.get("pin_env")
    if pin_env:
        pin = os.environ.get(pin_env)
        if pin is None:
            raise CommandLineError(f"environment variable {pin_env} is not set")
    elif sys.stdin.isatty():
        pin = getpass.getpass("token PIN: ")
    else:
        raise CommandLineError(f"{path} names no pin_env (no terminal to prompt for the PIN)")
    from vitale_cred.adapters.hsm import Pkcs11Token  # noqa: PLC0415 - optional extra

    with Pkcs11Token.open(module, token, pin) as opened:
        yield opened.signer(key)


def verify_and_record(
    args: argparse.Namespace, verifier: Verifier, text: str
) -> VerifiedPresentation:
    """``verify --evidence-out``: verify ``text`` and write the evidence of the verdict,
    then return the result or raise the refusal, as ``verify`` does without evidence."""
    if not args.professional:
        raise CommandLineError("--evidence-out needs --professional ID")
    invoice = _invoice(args)
    with _professional_signer(args.professional_key) as signer:
        outcome, evidence = verify_with_evidence(
            verifier, text, professional=args.professional, invoice=invoice
        )
        write_evidence(args.evidence_out, evidence, signer=signer)
    if isinstance(outcome, VerificationError):
        raise outcome
    return outcome


# --- vitale-cred audit -----------------------------------------------------------------


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise file_error(exc, "read", path) from exc


#: Most worker processes ``--workers`` starts on this machine.
MAX_LOCAL_WORKERS = 256


def cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    """Run the audit and print its summary (a table, or one JSON object)."""
    from vitale_cred import audit  # noqa: PLC0415 - only when an audit runs

    if args.workers is not None and not 0 <= args.workers <= MAX_LOCAL_WORKERS:
        # A mistyped count would try to start that many processes on this machine.
        raise CommandLineError(
            f"--workers is 0 (this process) to {MAX_LOCAL_WORKERS}; a larger cluster is "
            "reached with --scheduler"
        )
    if args.scheduler is not None and not args.scheduler.strip():
        raise CommandLineError("--scheduler needs an address (tcp://HOST:PORT)")
    if args.workers is not None and args.scheduler:
        raise CommandLineError("give --workers or --scheduler, not both")
    if args.partition_size < 1:
        raise CommandLineError("--partition-size is at least 1")
    trust_lists = [_read(p) for p in args.trust_list]
    status_lists = [_read(p) for p in args.status_list]
    if args.archive:
        directory = Path(args.archive)
        if not directory.is_dir():
            raise InvalidArgument(f"{directory} is not a directory of signed lists")
        for path in sorted(p for p in directory.iterdir() if p.is_file()):
            data = _read(str(path))
            kind = audit.classify_signed(data)
            (trust_lists if kind == "trust_list" else status_lists).append(data)
    material = audit.AuditMaterial(
        pem=_read(args.trust), trust_lists=tuple(trust_lists), status_lists=tuple(status_lists)
    )
    professionals = audit.load_directory(args.professionals) if args.professionals else None
    try:
        parameters = audit.AuditParameters(
            skew=args.skew,
            max_speed_kmh=args.max_speed,
            distance_slack_km=args.distance_slack,
            time_slack_s=args.time_slack,
        )
    except ValueError as exc:
        raise CommandLineError(str(exc)) from exc
    workers = args.workers
    if workers is None and not args.scheduler:
        workers = os.cpu_count() or 1

    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    summary = audit.run_audit(
        args.inputs,
        args.out,
        material=material,
        professionals=professionals,
        parameters=parameters,
        workers=workers,
        scheduler=args.scheduler,
        partition_size=args.partition_size,
        replace=args.force,
        log=log,
    )
    if args.json:
        print(
            json.dumps({"ok": True, "report": str(args.out), **summary}, sort_keys=True), file=out
        )
    else:
        print(audit.format_summary(summary), file=out)
        print(f"\nreport: {args.out}/records/*.parquet, summary.json, summary.md", file=out)
        if summary.get("chart"):
            print(f"chart: {args.out}/findings.png", file=out)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``audit`` to the main parser."""
    p = subparsers.add_parser(
        "audit",
        help="the fund's audit of evidence of presence (Parquet or JSON Lines, on Dask)",
        description=(
            "Check evidence records as of the time each one records, with the trust and "
            "status lists in force then, and look across records for the same token at "
            "two professionals and one phone at two places too far apart "
            "(spec/evidence.md section 7). Runs on a local Dask cluster of --workers "
            "processes, or on a running cluster (--scheduler); --workers 0 runs in this "
            "process. Writes OUT/records/*.parquet (one row per record), summary.json, "
            "summary.md and findings.png. Guide: docs/audit.md."
        ),
        epilog="example: vitale-cred audit evidence-2026-12-01.parquet --trust readers.pem "
        "--archive lists/ --professionals professionals.jsonl --out report/ --workers 8",
        formatter_class=Help,
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="evidence files: *.parquet (binary column evidence) or JSON Lines "
        '({"evidence": base64} a line)',
    )
    p.add_argument(
        "--trust",
        required=True,
        metavar="PEM",
        help="the readers' trust: roots and issuer certificates (with trust lists: the roots "
        "that sign them)",
    )
    p.add_argument(
        "--archive",
        metavar="DIR",
        help="a directory of the signed trust lists and status lists issued over the period",
    )
    p.add_argument(
        "--trust-list",
        action="append",
        default=[],
        metavar="FILE",
        help="an archived signed trust list (repeat the option for each)",
    )
    p.add_argument(
        "--status-list",
        action="append",
        default=[],
        metavar="FILE",
        help="an archived Status List Token (repeat the option for each)",
    )
    p.add_argument(
        "--professionals",
        metavar="FILE",
        help="the directory of professionals (JSON Lines or Parquet: id, kind, lat, lon, "
        "keys): positions for the travel check, kinds for delegations, evidence keys",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the report directory")
    p.add_argument(
        "--force", action="store_true", help="replace the report already in --out, if any"
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local Dask worker processes, one core each; 0: no Dask, this process "
        "(default: the number of CPUs)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786) whose workers see INPUT and --out",
    )
    p.add_argument(
        "--partition-size",
        type=int,
        default=50_000,
        metavar="N",
        help="records per task: bounds each worker's memory",
    )
    p.add_argument(
        "--skew", type=int, default=30, metavar="S", help="tolerated clock skew, seconds"
    )
    p.add_argument(
        "--max-speed",
        type=float,
        default=250.0,
        metavar="KMH",
        help="travel check: the fastest journey between two practices, km/h",
    )
    p.add_argument(
        "--distance-slack",
        type=float,
        default=30.0,
        metavar="KM",
        help="travel check: distance always allowed between two practices, km",
    )
    p.add_argument(
        "--time-slack",
        type=int,
        default=60,
        metavar="S",
        help="travel check: time added between two reads for the readers' clocks, seconds",
    )
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=cmd_audit)
