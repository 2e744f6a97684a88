"""The ``vitale-cred`` command line.

Exit codes: 0 success, 1 invalid input, failed verification, a file that cannot
be read or written or a card reader or HSM that failed, 2 usage error (a malformed
command line, or a file that would be replaced without ``--force``), 70 a defect,
130 interrupted (Ctrl-C). Every
failure but Ctrl-C prints one line ``vitale-cred: error [CODE] message`` on stderr
and never a traceback; ``VITALE_CRED_DEBUG=1`` re-raises defects for developers.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TextIO

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vitale_cred import __version__
from vitale_cred.adapters.files import (
    HSM_CONFIG,
    ISSUER_FILES,
    READER_BUNDLE,
    check_output,
    encrypt_private_pem,
    file_error,
    load_issuer_directory,
    write_issuer_directory,
    write_private,
)
from vitale_cred.cli import audit as audit_commands
from vitale_cred.cli import reader as reader_commands
from vitale_cred.cli._help import Help as _Help
from vitale_cred.cli._keys import PASSPHRASE_ENV, Passphrase, read_device_key
from vitale_cred.cli.completion import SHELLS
from vitale_cred.clock import Clock, SystemClock, clock_at
from vitale_cred.credential import MAX_VALIDITY_DAYS, CredentialBundle, Issuer, decode_claims
from vitale_cred.device import (
    ProvenDeviceKey,
    SoftwareDeviceKey,
    load_public_pem,
    verify_possession,
)
from vitale_cred.errors import (
    BeneficiaryMismatch,
    CommandLineError,
    FileExists,
    FileNotDirectory,
    InternalError,
    InvalidArgument,
    VitaleCredError,
)
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.cose import CoseKey, Signer, SoftwareSigner, decode_sign1
from vitale_cred.model import MAX_BENEFICIARIES, Card
from vitale_cred.pki import (
    IssuerMaterial,
    generate_private_key,
    kid_for_certificate,
    load_certificates,
    make_issuer_certificate,
    make_root_certificate,
)
from vitale_cred.presentation import DEFAULT_TTL, MAX_TTL, present_qr
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.replay import InMemoryReplayCache, ReplayCache, SqliteReplayCache
from vitale_cred.statement import (
    Invoice,
    Statement,
    holder_digest,
    sign_statement,
    verify_statement,
)
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustStore, Usage
from vitale_cred.trustlist import (
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
    verify_trust_list,
)
from vitale_cred.verify import Policy, VerifiedPresentation, Verifier, verdict

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
#: EX_SOFTWARE of sysexits.h: a defect of this program, not of its input.
EXIT_DEFECT = 70
#: 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C.
EXIT_INTERRUPTED = 130

#: Longest wait for a card that ``nfc-read --wait`` accepts, in seconds.
MAX_WAIT = 3600

#: Set to 1 to let defects raise with their traceback (for developers).
DEBUG_ENV = "VITALE_CRED_DEBUG"

_ALGS = {"ES256": CoseAlg.ES256, "ES384": CoseAlg.ES384, "EdDSA": CoseAlg.EDDSA}


#: Errors the operator fixes by changing the command line: exit 2, not 1.
_USAGE_ERRORS = (CommandLineError, FileExists)


def _emit(args: argparse.Namespace, out: TextIO, text: str, **fields: Any) -> None:
    """Print the human line(s), or with ``--json`` one JSON object."""
    if getattr(args, "json", False):
        print(json.dumps({"ok": True, **fields}, ensure_ascii=False), file=out)
    else:
        print(text, file=out)


def _clock(at: str | None) -> Clock:
    try:
        return clock_at(at)
    except InvalidArgument as exc:
        raise CommandLineError(f"--at {exc.message}") from exc


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise file_error(exc, "read", path) from exc


#: What a file given where CBOR is expected may be instead, by its first bytes.
_NOT_CBOR = (
    (b"-----BEGIN", "a PEM file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"<svg", "an SVG image"),
    (b"<?xml", "an XML file"),
    (b"VC1:", "a QR text (give it to verify)"),
)


def _read_cbor(path: str, what: str) -> bytes:
    """A file that must hold ``what`` in CBOR: another kind of file is named as such,
    not reported as a CBOR defect deep inside it."""
    data = _read(path)
    head = data.lstrip()[:16]
    for magic, kind in _NOT_CBOR:
        if head.startswith(magic):
            raise InvalidArgument(f"{path} is {kind}, not {what}")
    if head[:1] in (b"{", b"[", b'"'):
        try:
            json.loads(data)
        except (UnicodeDecodeError, ValueError, RecursionError):
            pass
        else:
            raise InvalidArgument(f"{path} is a JSON file, not {what}")
    return data


def _read_text(path: str) -> str:
    """A UTF-8 text file; any other bytes are the operator's input error (exit 1)."""
    try:
        return _read(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{path} is not UTF-8 text (byte {exc.start})") from exc


def _read_json(path: str) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{path} is not JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise InvalidArgument(f"{path} nests JSON too deeply") from exc


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise file_error(exc, "write", path) from exc


def _outputs(*paths: str | None) -> None:
    """Check every output path before the work that would be lost if writing failed."""
    for path in paths:
        if path:
            check_output(Path(path))


def _refuse_to_replace(path: Path, what: str, force: bool) -> None:
    """A private key is never replaced by accident: without --force, exit 2."""
    if path.exists() and not force:
        raise FileExists(f"{path} already exists ({what}); give --force to replace it")


# --- commands ---------------------------------------------------------------------


def _pin(env_name: str | None) -> str:
    """A PIN from the named environment variable, or typed at a prompt; never argv."""
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise CommandLineError(f"environment variable {env_name} is not set")
        return value
    if not sys.stdin.isatty():
        raise CommandLineError("give --pin-env VAR (no terminal to prompt for the PIN)")
    return getpass.getpass("token PIN: ")


@contextmanager
def _issuer_signer(
    directory: str, pin_env: str | None = None, passphrase: Passphrase | None = None
) -> Iterator[tuple[IssuerMaterial, Signer]]:
    """The issuer's material and signer: software, or the HSM named in ``hsm.json``.

    An encrypted issuer-key.pem is decrypted with ``passphrase``; root-key.pem, which
    signs trust lists only, is left unread.
    """
    path = Path(directory)
    material = load_issuer_directory(path, passphrase or Passphrase(), root_key=False)
    config_path = path / HSM_CONFIG
    if material.issuer_key is not None:
        yield material, material.signer()
        return
    if not config_path.exists():
        raise InvalidArgument(f"{directory} has neither issuer-key.pem nor {HSM_CONFIG}")
    try:
        config = json.loads(config_path.read_text("utf-8"))
        module, token_label, key_label = (
            config["module"],
            config["token_label"],
            config["key_label"],
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"{config_path} is not a valid HSM description") from exc
    from vitale_cred.adapters.hsm import Pkcs11Token  # noqa: PLC0415 - optional extra

    with Pkcs11Token.open(module, token_label, _pin(pin_env or config.get("pin_env"))) as token:
        yield material, token.signer(key_label)


def _issuer_directory(path: Path, force: bool) -> None:
    """Refuse a file, or an issuer directory already written, before any key is made."""
    if path.exists() and not path.is_dir():
        raise FileNotDirectory(f"cannot write issuer directory {path}: not a directory")
    present = [f for f in (*ISSUER_FILES, HSM_CONFIG) if (path / f).exists()]
    if present:
        _refuse_to_replace(path, f"issuer files {', '.join(present)}", force)
    parent = path.resolve().parent
    if not path.exists() and parent.exists() and not parent.is_dir():
        raise FileNotDirectory(f"cannot write issuer directory {path}: {parent} is not a directory")


def cmd_init_issuer(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    alg = _ALGS[args.alg]
    _issuer_directory(Path(args.out), args.force)
    if args.pkcs11_module and not args.token_label:
        raise CommandLineError("--pkcs11-module needs --token-label")
    # Asked before any key exists: a missing passphrase costs nothing.
    passphrase = Passphrase().new() if args.encrypt else None
    start = _dt.datetime.fromtimestamp(clock.now(), _dt.UTC)
    if args.pkcs11_module:
        from vitale_cred.adapters.hsm import Pkcs11Token  # noqa: PLC0415 - optional extra

        pin = _pin(args.pin_env)
        root_key = generate_private_key(alg)
        root = make_root_certificate(
            root_key, "Caisse primaire (HSM) root", start, start + _dt.timedelta(days=3650)
        )
        with Pkcs11Token.open(args.pkcs11_module, args.token_label, pin) as token:
            signer = token.generate_key(args.key_label, alg)
            issuer_cert = make_issuer_certificate(
                signer.public_key(),
                "Caisse primaire (HSM)",
                root_key,
                root,
                start,
                start + _dt.timedelta(days=730),
            )
        material = IssuerMaterial(root, issuer_cert, None, root_key)
        write_issuer_directory(material, Path(args.out), passphrase=passphrase)
        config = {
            "module": args.pkcs11_module,
            "token_label": args.token_label,
            "key_label": args.key_label,
            "pin_env": args.pin_env,
        }
        _write(str(Path(args.out) / HSM_CONFIG), (json.dumps(config, indent=2) + "\n").encode())
    else:
        material = IssuerMaterial.generate(alg, start)
        write_issuer_directory(material, Path(args.out), passphrase=passphrase)
        # A replaced HSM issuer: its description would now point at the wrong key.
        (Path(args.out) / HSM_CONFIG).unlink(missing_ok=True)
    written = [f for f in (*ISSUER_FILES, HSM_CONFIG) if (Path(args.out) / f).exists()]
    files = ", ".join(written)
    sealed = " (private keys encrypted)" if passphrase is not None else ""
    _emit(
        args,
        out,
        f"issuer written to {args.out}: {files}{sealed}\nkid {material.kid.hex()}  alg {args.alg}",
        directory=args.out,
        files=written,
        kid=material.kid.hex(),
        alg=args.alg,
        encrypted=passphrase is not None,
    )
    return EXIT_OK


def cmd_device_key(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.out)
    if args.public_out and Path(args.public_out).resolve() == path.resolve():
        raise CommandLineError("--public-out names the private key file --out")
    _outputs(args.out, args.public_out)
    _refuse_to_replace(path, "perhaps a device key, which cannot be recovered", args.force)
    passphrase = Passphrase().new() if args.encrypt else None
    key = SoftwareDeviceKey.generate()
    pem = key.export_private_pem()
    if passphrase is not None:
        pem = encrypt_private_pem(pem, passphrase)
    write_private(path, pem)
    public = key.public_pem().decode("ascii")
    if args.public_out:
        _write(args.public_out, key.public_pem())
    if args.json:
        _emit(
            args,
            out,
            "",
            private_key=args.out,
            public_key_pem=public,
            encrypted=passphrase is not None,
        )
    elif not args.public_out:
        out.write(public)
    return EXIT_OK


def cmd_issue(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    if not (args.device_public_key or args.device_proof):
        raise CommandLineError("give --device-public-key PEM or --device-proof FILE --nonce HEX")
    _outputs(args.out)
    raw_card = _read_json(args.card)
    if not isinstance(raw_card, dict):
        raise InvalidArgument(f"{args.card} must hold a JSON object (a card)")
    card = Card.from_json(raw_card)
    if args.device_proof:
        if not args.nonce:
            raise CommandLineError("--device-proof needs --nonce (the hex nonce the issuer sent)")
        try:
            nonce = bytes.fromhex(args.nonce)
        except ValueError as exc:
            raise CommandLineError("--nonce must be hex") from exc
        proof = _read_cbor(args.device_proof, "a proof of possession")
        device = verify_possession(proof, nonce, clock.now())
    else:
        # The operator running this command vouches for possession of the key.
        public = load_public_pem(_read(args.device_public_key))
        device = ProvenDeviceKey.unsafe_without_proof(public)
    status = None
    if args.status_index is not None and not args.status_uri:
        raise CommandLineError("--status-index needs --status-uri (the list the index points into)")
    passphrase = Passphrase()
    if args.status_uri:
        # The issuer directory is checked before its status-list registry is written.
        load_issuer_directory(Path(args.issuer), passphrase, root_key=False)
        list_id = _status_list_number(Path(args.issuer), args.status_uri)
        first = args.status_index or 0
        status = [StatusReference(list_id, first + i) for i in range(len(card.beneficiaries))]
    with _issuer_signer(args.issuer, args.pin_env, passphrase) as (material, signer):
        issuer = Issuer(
            signer, kid=material.kid, clock=clock, x5chain=[material.issuer_certificate]
        )
        bundle = issuer.issue(card, device, valid_days=args.valid_days, status=status)
    data = bundle.encode()
    _write(args.out, data)
    sizes = [len(c) for c in bundle.credentials]
    _emit(
        args,
        out,
        f"issued {len(sizes)} credentials ({', '.join(map(str, sizes))} bytes) "
        f"in {args.out} ({len(data)} bytes)",
        out_file=args.out,
        credentials=len(sizes),
        credential_bytes=sizes,
        bundle_bytes=len(data),
    )
    return EXIT_OK


def cmd_present(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    _outputs(args.png, args.svg)
    for option, path, suffix in (("--png", args.png, ".png"), ("--svg", args.svg, ".svg")):
        # The file's name says what it holds: a PNG in q.jpg would mislead every viewer.
        if path and Path(path).suffix.lower() != suffix:
            raise CommandLineError(f"{option} writes a {suffix} file: name it *{suffix}")
    bundle = CredentialBundle.decode(_read_cbor(args.credential, "a credential bundle"))
    device = read_device_key(args.device_key)
    credential = bundle.credential_for(args.beneficiary)
    text = present_qr(credential, device, clock=clock, ttl=args.ttl)
    if args.png or args.svg or args.terminal:
        from vitale_cred.adapters import qrimage  # noqa: PLC0415 - optional extra

        if args.png:
            qrimage.render_png(text, args.png)
        if args.svg:
            qrimage.render_svg(text, args.svg)
        if args.terminal:
            sys.stderr.write(qrimage.render_terminal(text))
    _emit(args, out, text, qr_text=text, characters=len(text), beneficiary=args.beneficiary)
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
    if result.ins is not None:
        record = result.ins.to_record()
        lines.append(
            f"  INS           {record['matricule']} ({record['oid']}) {record['birth_name']} "
            f"{record['birth_given_names']} {record['sex']} born {record['birth_date']} "
            f"in {record['birth_place']}"
        )
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


def _refusal(exc: VitaleCredError, out: TextIO, *, of_presentation: bool = True) -> int:
    """A refused verification with --json: the verdict (or, for anything but a
    presentation, the result) object, and the usual error line."""
    message = _one_line(exc.message)
    report = {**verdict(exc), "message": message}
    if not of_presentation:
        del report["presentation"]
    print(json.dumps(report, ensure_ascii=False), file=out)
    print(f"vitale-cred: error [{exc.code}] {message}", file=sys.stderr)
    return EXIT_INVALID


def _report_verdict(
    args: argparse.Namespace, out: TextIO, verify: Callable[[], VerifiedPresentation]
) -> int:
    """Run a verification; print the result, or with ``--json`` the refusal as JSON too."""
    try:
        result = verify()
    except _USAGE_ERRORS:
        raise
    except VitaleCredError as exc:
        if args.json:
            return _refusal(exc, out)
        raise
    if args.json:
        print(json.dumps(verdict(result), ensure_ascii=False), file=out)
    else:
        print(_verify_result(result), file=out)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)

    def verify() -> VerifiedPresentation:
        if args.image:
            from vitale_cred.adapters import qrimage  # noqa: PLC0415 - optional extra

            text = qrimage.read_image(args.image)
        elif args.qr_text == "-":
            # A QR text holds the NIR: read from stdin it never shows in `ps`.
            text = _read_stdin_text("QR text")
        elif args.qr_text:
            text = args.qr_text
        else:
            raise CommandLineError("give QR_TEXT, - (standard input) or --image PNG")
        trust = _reader_trust(args, clock)
        status = _status_checker(args.status_list, trust) if args.status_list else None
        verifier = Verifier(
            Policy(trust=trust, clock=clock, status=status, replay_cache=_replay_cache(args))
        )
        if args.evidence_out:
            # The evidence of presence records refusals too: the verdict is its content.
            return audit_commands.verify_and_record(args, verifier, text.strip())
        return verifier.verify_qr(text.strip())

    return _report_verdict(args, out, verify)


#: Overrides the directory of the reader's persistent state (the replay store).
STATE_DIR_ENV = "VITALE_CRED_STATE_DIR"
#: The replay store's file name in the state directory.
REPLAY_STORE = "replay.sqlite"
#: Most characters read from standard input as one QR text (the decoder's own cap
#: refuses anything longer with its code; this only bounds the read).
_STDIN_TEXT_CAP = 64 * 1024


def state_dir() -> Path:
    """Where readers keep state across runs: ``$VITALE_CRED_STATE_DIR``, else
    ``$XDG_STATE_HOME/vitale-cred``, else ``~/.local/state/vitale-cred``."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "vitale-cred"


def _replay_cache(args: argparse.Namespace) -> ReplayCache:
    """The replay memory of a reader command: persistent unless ``--no-replay-store``.

    Without it, the same QR code would verify again in the next run: the store is
    what makes a replay refused across runs and across readers sharing the file.
    """
    if args.no_replay_store:
        return InMemoryReplayCache()
    path = Path(args.replay_store) if args.replay_store else state_dir() / REPLAY_STORE
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise FileNotDirectory(f"cannot keep the replay store in {path.parent}") from exc
    except OSError as exc:
        raise file_error(exc, "create", path.parent) from exc
    return SqliteReplayCache(path)


def _read_stdin_text(what: str) -> str:
    data = sys.stdin.buffer.read(_STDIN_TEXT_CAP + 1) if sys.stdin else b""
    if len(data) > _STDIN_TEXT_CAP:
        raise InvalidArgument(f"{what} on standard input is longer than {_STDIN_TEXT_CAP} bytes")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"{what} on standard input is not ASCII text") from exc


def _add_replay_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replay-store",
        metavar="FILE",
        help="SQLite replay store, shareable by the readers of one site (default: "
        f"${STATE_DIR_ENV}, $XDG_STATE_HOME/vitale-cred or ~/.local/state/vitale-cred, "
        f"file {REPLAY_STORE})",
    )
    p.add_argument(
        "--no-replay-store",
        action="store_true",
        help="remember nothing between runs (tests only: a replayed QR code would pass)",
    )


def cmd_trust_bundle(args: argparse.Namespace, out: TextIO) -> int:
    """Roots and issuer certificates, each issuer's path checked, as one PEM bundle."""
    now = _clock(args.at).now()
    check_output(Path(args.out), create_parents=False)
    if Path(args.out).exists() and not args.force:
        raise FileExists(f"{args.out} exists: give --force to replace it")
    roots = [c for path in args.root for c in _certificates(path)]
    issuers = [c for path in args.issuer for c in _certificates(path)]
    for cert in roots:
        if cert.issuer != cert.subject:
            raise CommandLineError(
                f"--root {cert.subject.rfc4514_string()} is not a root (not self-issued)"
            )
    for cert in issuers:
        if cert.issuer == cert.subject:
            raise CommandLineError(
                f"--issuer {cert.subject.rfc4514_string()} is self-issued: give it with --root"
            )
    store = TrustStore(roots=roots, certificates=issuers)
    for cert in issuers:
        # The resolution a reader runs for a QR code naming this issuer's kid.
        kid = kid_for_certificate(cert)
        store.resolve(cose.Sign1(b"", {}, {CoseHeader.KID: kid}, b"", b"", b""), now)
    pem = serialization.Encoding.PEM
    bundle = b"".join(c.public_bytes(pem) for c in (*roots, *issuers))
    _write(args.out, bundle)
    _emit(
        args,
        out,
        f"reader bundle written to {args.out}: {len(roots)} root(s), {len(issuers)} issuer(s)",
        bundle=args.out,
        roots=len(roots),
        issuers=[kid_for_certificate(c).hex() for c in issuers],
    )
    return EXIT_OK


def _certificates(path: str) -> list[x509.Certificate]:
    certs = load_certificates(_read(path))
    if not certs:
        raise InvalidArgument(f"{path} holds no PEM certificate")
    return certs


def _reader_trust(args: argparse.Namespace, clock: Clock) -> TrustStore:
    """The verifier's trust: a PEM bundle, or a signed trust list anchored in its roots."""
    if not getattr(args, "trust_list", None):
        return _trust(args.trust)
    roots = _trust(args.trust).roots
    reader = TrustListReader(TrustStore.trust_list_authority(roots))
    reader.update(_read_cbor(args.trust_list, "a signed trust list"), clock=clock)
    return reader.store


def _alg_of(cert: x509.Certificate) -> CoseAlg:
    return CoseKey.from_public_key(cert.public_key()).default_alg()  # type: ignore[arg-type]


def _status_checker(path: str, trust: TrustStore) -> StatusChecker:
    token = _read_cbor(path, "a Status List Token")
    return StatusChecker(InMemoryStatusProvider([token]), trust, policy=StatusPolicy())


_STATUS_REGISTRY = "status-lists.json"


def _status_list_number(issuer_dir: Path, uri: str) -> int:
    """The issuer-scoped number of the status list at ``uri``, assigned on first use.

    Credentials carry the number, not the URI (``spec/status.md`` section 3); the
    issuer directory keeps the mapping so that ``issue`` and ``status-list build``
    agree on it.
    """
    path = issuer_dir / _STATUS_REGISTRY
    lists: dict[str, int] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidArgument(f"{path} is not a status-list registry: {exc}") from exc
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and type(v) is int and 1 <= v < 2**32 for k, v in loaded.items()
        ):
            raise InvalidArgument(f"{path} must map status-list URIs to numbers 1..2^32-1")
        lists = loaded
    if uri in lists:
        return lists[uri]
    number = max(lists.values(), default=0) + 1
    lists[uri] = number
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(lists, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return number


def _parse_revoked(path: str, size: int) -> dict[int, StatusValue]:
    """Lines ``INDEX`` (revoked) or ``INDEX suspended``; ``#`` starts a comment."""
    out: dict[int, StatusValue] = {}
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            index = int(words[0])
        except ValueError as exc:
            raise InvalidArgument(f"{path}:{number}: {words[0]!r} is not an index") from exc
        state = words[1] if len(words) > 1 else "revoked"
        if state not in _STATES or len(words) > 2 or not 0 <= index < size:
            raise InvalidArgument(f"{path}:{number}: expected 'INDEX [revoked|suspended]'")
        out[index] = _STATES[state]
    return out


_STATES = {
    "valid": StatusValue.VALID,
    "revoked": StatusValue.INVALID,
    "suspended": StatusValue.SUSPENDED,
}


def _sign_list(
    args: argparse.Namespace,
    uri: str,
    list_id: int,
    statuses: StatusList,
    now: int,
    ttl: int,
    passphrase: Passphrase,
) -> bytes:
    with _issuer_signer(args.issuer, args.pin_env, passphrase) as (material, signer):
        return issue_status_list(
            signer,
            kid=material.kid,
            uri=uri,
            list_id=list_id,
            status_list=statuses,
            iat=now,
            ttl=ttl,
        )


def cmd_status_list_build(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    _outputs(args.out)
    statuses = StatusList(args.bits, args.size)
    revoked = _parse_revoked(args.revoked, args.size) if args.revoked else {}
    for index, value in revoked.items():
        statuses.set(index, value)
    if args.size >= 1_000_000:
        # Compressing tens of millions of entries takes seconds: say what is going on.
        print(f"compressing and signing {args.size:,} entries...", file=sys.stderr, flush=True)
    # The issuer directory is checked before its status-list registry is written.
    passphrase = Passphrase()
    load_issuer_directory(Path(args.issuer), passphrase, root_key=False)
    list_id = _status_list_number(Path(args.issuer), args.uri)
    token = _sign_list(args, args.uri, list_id, statuses, clock.now(), args.ttl, passphrase)
    _write(args.out, token)
    _emit(
        args,
        out,
        f"status list {list_id} ({args.uri}): {args.size} entries, {len(revoked)} not valid, "
        f"{len(token)} bytes -> {args.out}",
        uri=args.uri,
        list=list_id,
        entries=args.size,
        not_valid=len(revoked),
        bytes=len(token),
        out_file=args.out,
    )
    return EXIT_OK


def cmd_status_list_set(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    passphrase = Passphrase()
    material = load_issuer_directory(Path(args.issuer), passphrase, root_key=False)
    token = _read_cbor(args.list, "a Status List Token")
    trust = TrustStore(
        roots=[material.root_certificate], certificates=[material.issuer_certificate]
    )
    current = verify_status_list(token, trust, clock=clock)
    statuses = StatusList.from_bytes(current.status_list.to_bytes(), current.bits)
    if not 0 <= args.index < statuses.size:
        raise InvalidArgument(f"index {args.index} is outside the list (size {statuses.size})")
    statuses.set(args.index, _STATES[args.state])
    _write(
        args.list,
        _sign_list(
            args,
            current.uri,
            current.list_id,
            statuses,
            clock.now(),
            current.ttl or 3600,
            passphrase,
        ),
    )
    _emit(
        args,
        out,
        f"{current.uri}[{args.index}] = {args.state}",
        uri=current.uri,
        index=args.index,
        state=args.state,
    )
    return EXIT_OK


def cmd_trust_list_sign(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    _outputs(args.out)
    material = load_issuer_directory(Path(args.issuer), Passphrase())
    if material.root_key is None:
        raise InvalidArgument(f"{args.issuer} has no root-key.pem to sign a trust list with")
    certs = [material.issuer_certificate]
    for path in args.issuer_cert or ():
        certs += load_certificates(_read(path))
    der = serialization.Encoding.DER
    entries = tuple(
        TrustListEntry(
            kid=kid_for_certificate(cert),
            algs=frozenset({_alg_of(cert)}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            certificate=cert.public_bytes(der),
            name=cert.subject.rfc4514_string(),
        )
        for cert in certs
    )
    now = clock.now()
    trust_list = TrustList(args.seq, now, now + args.valid_days * 86_400, entries)
    data = sign_trust_list(
        trust_list,
        SoftwareSigner(material.root_key),
        kid=kid_for_certificate(material.root_certificate),
    )
    _write(args.out, data)
    _emit(
        args,
        out,
        f"trust list seq {args.seq}: {len(entries)} entries, {len(data)} bytes -> {args.out}",
        seq=args.seq,
        entries=len(entries),
        bytes=len(data),
        out_file=args.out,
    )
    return EXIT_OK


def cmd_trust_list_verify(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    roots = _trust(args.trust).roots
    verified = verify_trust_list(
        _read_cbor(args.list, "a signed trust list"),
        TrustStore.trust_list_authority(roots),
        clock=clock,
    )
    entries = [
        {
            "kid": e.kid.hex(),
            "name": e.name,
            "algs": sorted(a.name for a in e.algs),
            "usages": sorted(u.value for u in e.usages),
        }
        for e in verified.trust_list.entries
    ]
    report = {
        "ok": True,
        "seq": verified.seq,
        "stale": verified.stale,
        "next_update": verified.trust_list.next_update,
        "entries": entries,
    }
    if args.json:
        print(json.dumps(report), file=out)
    else:
        print(
            f"VALID trust list seq {verified.seq}, next update {verified.trust_list.next_update}",
            file=out,
        )
        for entry in entries:
            print(f"  {entry['kid']}  {', '.join(entry['algs'])}  {entry['name']}", file=out)
    return EXIT_OK


def cmd_statement_issue(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    _outputs(args.out)
    bundle = CredentialBundle.decode(_read_cbor(args.credential, "a credential bundle"))
    claims = decode_claims(decode_sign1(bundle.credentials[0]).payload)
    raw = _read_json(args.invoices)
    if not isinstance(raw, list):
        raise InvalidArgument(f"{args.invoices} must hold a JSON array of invoices")
    invoices = tuple(Invoice.from_json(i) for i in raw)
    # The bundle says who is on the card: an invoice for anyone else is a wrong person.
    on_card = {decode_claims(decode_sign1(c).payload).card.index for c in bundle.credentials}
    for number, invoice in enumerate(invoices, 1):
        if invoice.beneficiary not in on_card:
            raise InvalidArgument(
                f"invoice {number} is for beneficiary {invoice.beneficiary}, who is not on "
                f"this card (beneficiaries {sorted(on_card)})"
            )
    statement = Statement(
        clock.now(),
        claims.card.serial,
        holder_digest(claims.device_key),
        invoices,
    )
    with _issuer_signer(args.issuer, args.pin_env) as (material, signer):
        data = sign_statement(
            statement,
            signer,
            kid=material.kid,
            x5chain=material.issuer_certificate.public_bytes(serialization.Encoding.DER),
        )
    _write(args.out, data)
    _emit(
        args,
        out,
        f"statement of {len(statement.invoices)} invoices, {len(data)} bytes -> {args.out}",
        invoices=len(statement.invoices),
        bytes=len(data),
        out_file=args.out,
    )
    return EXIT_OK


def cmd_statement_verify(args: argparse.Namespace, out: TextIO) -> int:
    clock = _clock(args.at)
    device = read_device_key(args.device_key)
    try:
        verified = verify_statement(
            _read_cbor(args.statement, "a statement"),
            _trust(args.trust),
            device_key=device.cose_key(),
            clock=clock,
        )
    except VitaleCredError as exc:
        if args.json:
            return _refusal(exc, out, of_presentation=False)
        raise
    invoices = [i.to_json() for i in verified.statement.invoices]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "serial": verified.statement.serial,
                    "iat": verified.statement.iat,
                    "invoices": invoices,
                }
            ),
            file=out,
        )
        return EXIT_OK
    print(f"VALID statement for card {verified.statement.serial}", file=out)
    for inv in invoices:
        print(
            f"  {inv['day']}  #{inv['beneficiary']}  {inv['kind']:<13} billed "
            f"{inv['billed_cents'] / 100:8.2f} EUR  reimbursed "
            f"{inv['reimbursed_cents'] / 100:8.2f} EUR",
            file=out,
        )
    return EXIT_OK


def _chooser(fixed: int | None) -> Callable[[int | None, tuple[int, ...]], int | None]:
    """The holder's choice: ``fixed`` if given, else the reader's hint, else the insured."""

    def choose(hint: int | None, available: tuple[int, ...]) -> int | None:
        for candidate in (fixed, hint, 0):
            if candidate is not None and candidate in available:
                return candidate
        return available[0] if available else None

    return choose


def cmd_nfc_card(args: argparse.Namespace, out: TextIO) -> int:
    from vitale_cred.adapters import pcsc  # noqa: PLC0415 - optional extra
    from vitale_cred.nfc import HolderSession, credentials_by_index  # noqa: PLC0415

    bundle = CredentialBundle.decode(_read_cbor(args.credential, "a credential bundle"))
    device = read_device_key(args.device_key)
    credentials = credentials_by_index(bundle.credentials)
    if args.beneficiary is not None and args.beneficiary not in credentials:
        raise CommandLineError(
            f"--beneficiary {args.beneficiary}: this bundle holds beneficiaries "
            f"{sorted(credentials)}"
        )
    host, _, port = args.vpcd.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandLineError("--vpcd must be HOST:PORT (a port 1..65535)")
    clock = SystemClock()

    def session() -> HolderSession:
        # The operator running this command stands for an unlocked phone.
        return HolderSession(
            credentials,
            device,
            clock=clock,
            gate=lambda: True,
            chooser=_chooser(args.beneficiary),
        )

    stop = threading.Event()
    answered = 0

    def count(total: int) -> None:
        nonlocal answered
        answered = total

    print(f"virtual card on vpcd {host}:{port}; Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        answered = pcsc.serve_virtual_card(
            session, host, int(port), stop_event=stop, on_answer=count
        )
    except KeyboardInterrupt:
        stop.set()
        # Ctrl-C removes the card: the APDUs it answered are still reported, then
        # main() exits 130 quietly, as for any interrupted command.
        _emit(args, out, f"card removed after {answered} APDUs", apdus=answered, interrupted=True)
        raise
    _emit(args, out, f"card removed after {answered} APDUs", apdus=answered)
    return EXIT_OK


def cmd_nfc_read(args: argparse.Namespace, out: TextIO) -> int:
    from vitale_cred.adapters import pcsc  # noqa: PLC0415 - optional extra

    clock = _clock(args.at)
    # A mistyped wait (1e9, nan) would hang the command instead of failing it.
    if not 0 <= args.wait <= MAX_WAIT:
        raise CommandLineError(f"--wait must be 0..{MAX_WAIT} seconds")

    if args.beneficiary is not None and not 0 <= args.beneficiary < MAX_BENEFICIARIES:
        raise CommandLineError(f"--beneficiary must be 0..{MAX_BENEFICIARIES - 1}")

    def verify() -> VerifiedPresentation:
        trust = _reader_trust(args, clock)
        status = _status_checker(args.status_list, trust) if args.status_list else None
        verifier = Verifier(
            Policy(trust=trust, clock=clock, status=status, replay_cache=_replay_cache(args))
        )
        result = pcsc.read_presentation(
            verifier,
            args.reader,
            wait_seconds=args.wait,
            beneficiary_hint=args.beneficiary,
            extended_length=args.extended,
        )
        if args.beneficiary is not None and result.beneficiary_index != args.beneficiary:
            # The holder chooses freely; the professional must not bill the wrong person.
            raise BeneficiaryMismatch(
                f"asked for beneficiary {args.beneficiary}, the phone presented "
                f"beneficiary {result.beneficiary_index}"
            )
        return result

    return _report_verdict(args, out, verify)


def _directory(path: str) -> None:
    """An output directory: a file in its place is the operator's error, said plainly."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise FileNotDirectory(f"cannot write into {path}: {candidate} is not a directory")
            return


def cmd_inspect(args: argparse.Namespace, out: TextIO) -> int:
    from vitale_cred.cli.dump import inspect_file  # noqa: PLC0415 - keeps start-up light

    trust = _trust(args.trust) if args.trust else None
    now = _clock(args.at).now() if (args.at or args.trust) else None
    # The file comes from a patient: inspect_file reads at most its cap plus one byte
    # and raises only library errors, which main() turns into exit code 1.
    refusals: list[VitaleCredError] = []
    text = inspect_file(args.file, trust=trust, now=now, refusals=refusals)
    if refusals:
        # With --trust the command is a verification: a refusal is its result.
        if not args.json:
            print(text, file=out)
        raise refusals[0]
    if args.json:
        verified = "verified" if trust is not None else "decoded"
        print(
            json.dumps(
                {"ok": True, verified: True, "description": text.splitlines()}, ensure_ascii=False
            ),
            file=out,
        )
    else:
        print(text, file=out)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from vitale_cred.cli.demo import run_demo  # noqa: PLC0415 - keeps start-up light

    if args.workdir:
        _directory(args.workdir)
        return run_demo(Path(args.workdir), out, at=args.at)
    with tempfile.TemporaryDirectory(prefix="vitale-demo-") as tmp:
        return run_demo(Path(tmp), out, at=args.at, keep=False)


def cmd_completion(args: argparse.Namespace, out: TextIO) -> int:
    from vitale_cred.cli.completion import script  # noqa: PLC0415 - keeps start-up light

    out.write(script(args.shell, _parser()))
    return EXIT_OK


# --- parser -----------------------------------------------------------------------

#: Where the passphrase of an encrypted private key file comes from.
_PASSPHRASE_FROM = f"its passphrase comes from ${PASSPHRASE_ENV}, else a prompt"
_ENCRYPT_HELP = (
    f"encrypt the private key file(s) with a passphrase: ${PASSPHRASE_ENV}, else typed "
    "twice at a prompt (never on the command line)"
)
_ISSUER_HELP = f"directory written by init-issuer (encrypted keys: {_PASSPHRASE_FROM})"
_DEVICE_KEY_HELP = f"the device's private key (PEM; if encrypted, {_PASSPHRASE_FROM})"


class _OneLineFormatter(argparse.HelpFormatter):
    """Wide enough that every command and its summary stay on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=24, width=110)
        # Room for the longest command name ("init-issuer", "status-list") plus indent.
        self._action_max_length = 20


class _Parser(argparse.ArgumentParser):
    """Usage errors raise, so that main() reports them like every other error.

    argparse would print the usage and call sys.exit(2) itself; subparsers are
    made of the same class, so this holds for every command.
    """

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{self.prog}: {message} (see {self.prog} --help)")


def _subcommand(
    actions: Any,
    name: str,
    helptext: str,
    example: str,
    *,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """An ACTION of a command, documented like a command: description and example."""
    parser: argparse.ArgumentParser = actions.add_parser(
        name,
        help=helptext,
        description=description or helptext,
        epilog=f"example: {example}",
        formatter_class=_Help,
    )
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vitale-cred",
        description="Dematerialised health-insurance card: issue, present, verify.",
        formatter_class=_OneLineFormatter,
    )
    parser.add_argument("--version", action="version", version=f"vitale-cred {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, helptext: str, example: str, description: str | None = None
    ) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=helptext,
            description=description or helptext,
            epilog=f"example: {example}",
            formatter_class=_Help,
        )

    p = add(
        "demo",
        "the whole journey: issue, QR and NFC presentations, verify, revoke",
        "vitale-cred demo",
    )
    p.add_argument(
        "--workdir", metavar="DIR", help="keep the files here instead of a temporary directory"
    )
    p.add_argument("--at", help="ISO 8601 instant to run the demo at (default: now)")
    p.set_defaults(func=cmd_demo)

    p = add(
        "init-issuer",
        "create a root CA and an issuer certificate and key",
        "vitale-cred init-issuer --out issuer/ --alg ES256\n"
        "         vitale-cred init-issuer --out issuer/ --encrypt   (asks for a passphrase)",
        description="Create a root CA and an issuer certificate and key in a directory: "
        "root.pem, root-key.pem,\nissuer.pem, issuer-key.pem (keys mode 0600) and "
        f"{READER_BUNDLE}, the bundle readers need.\nWith --encrypt both private keys are "
        "encrypted (PKCS#8) with a passphrase, taken from\n"
        f"${PASSPHRASE_ENV} if it is set, else typed twice at a prompt; every command "
        "that signs\nwith them asks for it the same way.",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="directory to write the PEM files to"
    )
    p.add_argument("--alg", choices=sorted(_ALGS), default="ES256", help="signature algorithm")
    p.add_argument("--at", help="ISO 8601 start of validity (default: now)")
    p.add_argument("--pkcs11-module", help="generate the issuer key in this PKCS#11 module")
    p.add_argument("--token-label", help="label of the PKCS#11 token")
    p.add_argument("--key-label", default="vitale-issuer", help="label of the key in the token")
    p.add_argument("--pin-env", help="environment variable holding the token PIN")
    p.add_argument(
        "--force", action="store_true", help="replace the issuer already in --out (its keys)"
    )
    p.add_argument("--encrypt", action="store_true", help=_ENCRYPT_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_init_issuer)

    p = add(
        "device-key",
        "create a device (phone) key; its public PEM goes to stdout",
        "vitale-cred device-key --out dev.pem > dev.pub.pem\n"
        "         vitale-cred device-key --out dev.pem --encrypt   (asks for a passphrase)",
        description="Create a device (phone) key: the private key in --out (PEM, mode 0600), "
        "the public PEM\non stdout. With --encrypt the private key is encrypted (PKCS#8) with "
        f"a passphrase, taken\nfrom ${PASSPHRASE_ENV} if it is set, else typed twice at a "
        "prompt; present, nfc-card,\nstatement verify and verify --professional-key ask for "
        "it the same way.",
    )
    p.add_argument("--out", required=True, help="private key file to write (PEM, mode 0600)")
    p.add_argument("--public-out", help="write the public PEM here instead of stdout")
    p.add_argument("--force", action="store_true", help="replace the key file --out")
    p.add_argument("--encrypt", action="store_true", help=_ENCRYPT_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_device_key)

    p = add(
        "issue",
        "sign one credential per beneficiary of a JSON card, bound to a device key",
        "vitale-cred issue --issuer issuer/ --card card.json "
        "--device-public-key dev.pub.pem --valid-days 365 --out cred.cbor",
    )
    p.add_argument("--issuer", required=True, metavar="DIR", help=_ISSUER_HELP)
    p.add_argument("--card", required=True, help="card JSON (spec/data-model.md section 5)")
    p.add_argument("--device-public-key", help="device public key PEM (operator-vouched)")
    p.add_argument("--device-proof", help="proof of possession (COSE_Sign1) from the device")
    p.add_argument("--nonce", help="hex nonce the proof must be over")
    p.add_argument("--valid-days", type=int, default=365, help=f"1..{MAX_VALIDITY_DAYS}")
    p.add_argument("--pin-env", help="environment variable holding the HSM PIN")
    p.add_argument(
        "--status-uri",
        help="status list URI (numbered in the issuer directory); beneficiary i gets index START+i",
    )
    p.add_argument(
        "--status-index",
        type=int,
        metavar="START",
        help="index of the first beneficiary in the status list (default 0)",
    )
    p.add_argument("--out", required=True, help="credential bundle to write (CBOR)")
    p.add_argument("--at", help="ISO 8601 issuance instant (default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_issue)

    p = add(
        "present",
        "make a short-lived QR presentation of one beneficiary",
        "vitale-cred present --credential cred.cbor --device-key dev.pem "
        "--beneficiary 2 --terminal",
    )
    p.add_argument("--credential", required=True, help="bundle written by issue")
    p.add_argument("--device-key", required=True, help=_DEVICE_KEY_HELP)
    p.add_argument("--beneficiary", type=int, default=0, help="0 = the insured, 1.. dependants")
    p.add_argument("--ttl", type=int, default=DEFAULT_TTL, help=f"seconds, 1..{MAX_TTL}")
    p.add_argument("--at", help="ISO 8601 instant (default: now)")
    p.add_argument("--png", metavar="FILE", help="also write the QR code as a PNG image")
    p.add_argument("--svg", metavar="FILE", help="also write the QR code as an SVG image")
    p.add_argument("--terminal", action="store_true", help="draw the QR code on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_present)

    p = add(
        "verify",
        "verify a QR presentation (text or image)",
        "vitale-cred verify --trust readers.pem 'VC1:...'",
    )
    p.add_argument(
        "qr_text", nargs="?", metavar="QR_TEXT", help="the scanned text, or - to read it from stdin"
    )
    p.add_argument("--image", help="PNG/JPEG holding the QR code")
    p.add_argument(
        "--trust", required=True, help="PEM: trusted root(s), optionally issuer certificates"
    )
    p.add_argument("--trust-list", help="signed trust list (then --trust holds its roots)")
    p.add_argument("--status-list", help="status list token to check revocation against")
    p.add_argument("--at", help="ISO 8601 verification instant (default: now)")
    _add_replay_options(p)
    audit_commands.add_evidence_options(p)
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    p.set_defaults(func=cmd_verify)

    p = add(
        "nfc-card",
        "play the phone: serve the credentials as a card on the vsmartcard reader",
        "vitale-cred nfc-card --credential cred.cbor --device-key dev.pem",
    )
    p.add_argument("--credential", required=True, help="bundle written by issue")
    p.add_argument("--device-key", required=True, help=_DEVICE_KEY_HELP)
    p.add_argument("--beneficiary", type=int, help="always present this one (default: ask)")
    p.add_argument("--vpcd", default="127.0.0.1:35963", help="HOST:PORT of vpcd")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_nfc_card)

    p = add(
        "nfc-read",
        "read and verify a presentation from a card on a PC/SC reader",
        "vitale-cred nfc-read --trust readers.pem --json",
    )
    p.add_argument("--trust", required=True, help="PEM: roots, optionally issuer certificates")
    p.add_argument("--trust-list", help="signed trust list (then --trust holds its roots)")
    p.add_argument("--reader", help="PC/SC reader name (default: first with a card)")
    p.add_argument(
        "--wait", type=float, default=10.0, help=f"seconds to wait for a card, 0..{MAX_WAIT}"
    )
    p.add_argument(
        "--beneficiary",
        type=int,
        help="ask the phone for this beneficiary, and refuse any other it presents",
    )
    p.add_argument("--status-list", help="status list token to check revocation against")
    _add_replay_options(p)
    p.add_argument("--extended", action="store_true", help="the reader passes extended APDUs")
    p.add_argument("--at", help="ISO 8601 verification instant (default: now)")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    p.set_defaults(func=cmd_nfc_read)

    p = add(
        "status-list",
        "build or update a signed revocation list (Token Status List)",
        "vitale-cred status-list build --issuer issuer/ --size 1000 --revoked revoked.txt "
        "--uri https://status.example/1 --out list.cwt",
    )
    lists = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _subcommand(
        lists,
        "build",
        "sign a new list, every entry valid unless --revoked says otherwise",
        "vitale-cred status-list build --issuer issuer/ --size 1000 --revoked revoked.txt "
        "--uri https://status.example/1 --out list.cwt",
    )
    q.add_argument("--issuer", required=True, metavar="DIR", help=_ISSUER_HELP)
    q.add_argument("--size", type=int, required=True, help="number of entries (1..)")
    q.add_argument("--bits", type=int, choices=[1, 2, 4, 8], default=2, help="bits per entry")
    q.add_argument("--revoked", help="file of 'INDEX [revoked|suspended]' lines")
    q.add_argument("--uri", required=True, help="https URI the list is published at")
    q.add_argument("--ttl", type=int, default=3600, help="seconds readers may cache it")
    q.add_argument("--out", required=True, help="Status List Token to write (CWT)")
    q.add_argument("--at", help="ISO 8601 issuance instant (default: now)")
    q.add_argument("--pin-env", help="environment variable holding the HSM PIN")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_status_list_build)
    q = _subcommand(
        lists,
        "set",
        "change one entry and re-sign the list in place",
        "vitale-cred status-list set list.cwt 42 revoked --issuer issuer/",
    )
    q.add_argument("list", help="the Status List Token to update (CWT)")
    q.add_argument("index", type=int, help="the entry: the credential's status index")
    q.add_argument("state", choices=sorted(_STATES), help="its new state")
    q.add_argument("--issuer", required=True, metavar="DIR", help=_ISSUER_HELP)
    q.add_argument("--at", help="ISO 8601 re-signing instant (default: now)")
    q.add_argument("--pin-env", help="environment variable holding the HSM PIN")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_status_list_set)

    p = add(
        "trust",
        "build the reader bundle: the roots and issuer certificates a reader trusts",
        "vitale-cred trust bundle --root root.pem --issuer issuer.pem --out readers.pem",
    )
    tb = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _subcommand(
        tb,
        "bundle",
        "check issuer certificates against their roots and write one PEM bundle",
        "vitale-cred trust bundle --root root.pem --issuer issuer.pem --out readers.pem",
        description="Check every issuer certificate against the roots (path and profile, at "
        "--at) and write roots and issuers as one PEM bundle, what `verify --trust` and "
        "`nfc-read --trust` read. QR codes name their issuer by kid only: a reader needs "
        "the issuer certificates, not only the roots.",
    )
    q.add_argument("--root", action="append", required=True, help="root certificate PEM (repeat)")
    q.add_argument("--issuer", action="append", default=[], help="issuer certificate PEM (repeat)")
    q.add_argument("--out", required=True, help="the bundle to write (PEM)")
    q.add_argument("--force", action="store_true", help="replace an existing --out")
    q.add_argument("--at", help="ISO 8601 instant the certificates must be valid at (default: now)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_trust_bundle)

    p = add(
        "trust-list",
        "sign or verify the list of trusted issuer certificates",
        "vitale-cred trust-list sign --issuer issuer/ --seq 1 --out trust.cbor",
    )
    tl = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _subcommand(
        tl,
        "sign",
        "sign a list of the issuer certificates with the root key",
        "vitale-cred trust-list sign --issuer issuer/ --seq 1 --out trust.cbor",
    )
    q.add_argument(
        "--issuer",
        required=True,
        metavar="DIR",
        help="directory holding root-key.pem (if encrypted: " + _PASSPHRASE_FROM + ")",
    )
    q.add_argument("--issuer-cert", action="append", help="more issuer certificates (PEM)")
    q.add_argument("--seq", type=int, required=True, help="sequence number, above the last one")
    q.add_argument("--valid-days", type=int, default=7, help="days until the next update is due")
    q.add_argument("--out", required=True, help="the signed trust list to write (CBOR)")
    q.add_argument("--at", help="ISO 8601 issuance instant (default: now)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_trust_list_sign)
    q = _subcommand(
        tl,
        "verify",
        "verify a list against its root and print its entries",
        "vitale-cred trust-list verify trust.cbor --trust root.pem",
    )
    q.add_argument("list", help="the signed trust list (CBOR)")
    q.add_argument("--trust", required=True, help="root certificate PEM")
    q.add_argument("--at", help="ISO 8601 verification instant (default: now)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_trust_list_verify)

    p = add(
        "statement",
        "sign or verify the insured's invoice summaries (shown in the app only)",
        "vitale-cred statement issue --issuer issuer/ --credential cred.cbor "
        "--invoices invoices.json --out statement.cbor",
    )
    st = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = _subcommand(
        st,
        "issue",
        "sign a statement for the holder of a credential bundle",
        "vitale-cred statement issue --issuer issuer/ --credential cred.cbor "
        "--invoices invoices.json --out statement.cbor",
    )
    q.add_argument("--issuer", required=True, metavar="DIR", help=_ISSUER_HELP)
    q.add_argument("--credential", required=True, help="the holder's bundle (binds the holder)")
    q.add_argument(
        "--invoices", required=True, help="JSON array of invoices (spec/statement.md section 2)"
    )
    q.add_argument("--out", required=True, help="the statement to write (COSE_Sign1)")
    q.add_argument("--at", help="ISO 8601 issuance instant (default: now)")
    q.add_argument("--pin-env", help="environment variable holding the HSM PIN")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_statement_issue)
    q = _subcommand(
        st,
        "verify",
        "verify a statement as the app does",
        "vitale-cred statement verify statement.cbor --trust readers.pem --device-key dev.pem",
    )
    q.add_argument("statement", help="the statement (COSE_Sign1)")
    q.add_argument("--trust", required=True, help="PEM: the issuer's root and certificate")
    q.add_argument("--device-key", required=True, help=_DEVICE_KEY_HELP)
    q.add_argument("--at", help="ISO 8601 verification instant (default: now)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_statement_verify)

    p = add(
        "inspect",
        "decode any object of the protocol, with CBOR diagnostic notation",
        "vitale-cred inspect cred.cbor",
    )
    p.add_argument("file", help="a credential, bundle, presentation, list, statement or QR text")
    p.add_argument(
        "--trust",
        help="PEM trust bundle: also verify every signed object found (exit 1 if one fails)",
    )
    p.add_argument("--at", help="ISO 8601 instant for the validity checks (default: now)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_inspect)

    p = add(
        "completion",
        "print the shell completion script for bash or zsh",
        "vitale-cred completion bash > ~/.local/share/bash-completion/completions/vitale-cred",
        description="Print a completion script for bash or zsh, generated from the "
        "options of this very command:\ncommands, actions, options, file and directory "
        "names for the options that take one.\n\n"
        "bash: source <(vitale-cred completion bash) in ~/.bashrc, or save the script as\n"
        "      ~/.local/share/bash-completion/completions/vitale-cred\n"
        "zsh:  save it as _vitale-cred in a directory of $fpath, or\n"
        "      source <(vitale-cred completion zsh) after compinit",
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    p.set_defaults(func=cmd_completion)

    reader_commands.register(sub)
    audit_commands.register(sub)
    return parser


def _one_line(text: str) -> str:
    """Messages may quote input or an OS error: keep the report on one line.

    A file name that is not UTF-8 reaches us as lone surrogates, which no stream
    could print: they are shown as escapes instead.
    """
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return " ".join(text.split()) or "(no message)"


#: Commands whose --json output is a verdict (spec/json/verdict.schema.json); every
#: other command prints a result (spec/json/result.schema.json).
_VERDICT_COMMANDS = frozenset({"verify", "nfc-read"})


def _report(
    error: VitaleCredError,
    args: argparse.Namespace | None,
    stream: TextIO,
    argv: Sequence[str],
) -> None:
    """The failure's one line on stderr, and with ``--json`` its JSON object on stdout.

    ``--json`` counts even when the command line did not parse: a program that asked
    for JSON gets JSON, whatever went wrong.
    """
    message = _one_line(error.message)
    wants_json = getattr(args, "json", False) is True if args is not None else "--json" in argv
    if wants_json:
        report: dict[str, Any] = {"ok": False, "code": error.code, "message": message}
        if argv and argv[0] in _VERDICT_COMMANDS:
            report["presentation"] = None
        print(json.dumps(report, ensure_ascii=False), file=stream)
    print(f"vitale-cred: error [{error.code}] {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code.

    This is the one error boundary: whatever goes wrong becomes one line on stderr
    and an exit code (module docstring), never a traceback.
    """
    stream = out or sys.stdout
    args: argparse.Namespace | None = None
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = _parser()
        try:
            args = parser.parse_args(words)
        except SystemExit as exc:  # --help and --version: argparse printed them already
            return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
        func: Callable[[argparse.Namespace, TextIO], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_help(stream)
            return EXIT_USAGE
        return func(args, stream)
    except KeyboardInterrupt:
        # The operator asked to stop: the shell's convention, and nothing to explain.
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (``| head``): nothing left to say.
        return EXIT_OK
    except VitaleCredError as exc:
        _report(exc, args, stream, words)
        return EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_INVALID
    except OSError as exc:
        # A file that a layer below opened without a typed error of its own.
        error = file_error(exc, "use")
        _report(error, args, stream, words)
        return EXIT_USAGE if isinstance(error, _USAGE_ERRORS) else EXIT_INVALID
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        defect = InternalError(
            f"unexpected {type(exc).__name__}: {exc} (a defect; {DEBUG_ENV}=1 shows the traceback)"
        )
        _report(defect, args, stream, words)
        return EXIT_DEFECT


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
