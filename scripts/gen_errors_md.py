#!/usr/bin/env python3
"""Generate the error-code table of ``spec/errors.md`` from ``vitale_cred.errors``.

One row per class returned by :func:`vitale_cred.errors.all_error_classes`: code,
class, parent code, meaning (first line of the class docstring) and where the error
is raised (the table ``WHERE`` below, by exact code, then by code prefix). The table
is written between the ``BEGIN``/``END`` markers; the prose around them is kept.

    python scripts/gen_errors_md.py            # rewrite the table in place
    python scripts/gen_errors_md.py --check    # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "spec" / "errors.md"
BEGIN = "<!-- BEGIN ERROR TABLE -->"
END = "<!-- END ERROR TABLE -->"

# Where each code is raised: the protocol step, with the section that defines it.
# "V n" is step n of verification.md section 2.
WHERE: dict[str, str] = {
    "error": "Root of every error; never raised itself.",
    "verification": "Root of every input rejection; never raised itself.",
    "usage": "Caller misuse with no more specific code (local), e.g. building a "
    "verified result outside a verifier.",
    "presentation.beneficiary_mismatch": "Reader policy (local): an NFC reader that asked "
    "the holder for one beneficiary received another (the holder's choice is free; the "
    "professional's software refuses to bill the wrong person).",
    "environment": "Root of the failures of the machine around the library (PC/SC, "
    "PKCS#11): local, never sent to a peer; never raised itself.",
    "issuance": "Issuance refused: device key without proof of possession, validity "
    "outside 1 .. 400 days, status entries not one per credential "
    "(credential.md 3.3).",
    "decode": "Root of the decoding errors; never raised itself.",
    "cbor.malformed": "CBOR decoding, any structure (encoding.md 2.3 checks 2, 7).",
    "cbor.trailing_bytes": "CBOR decoding (encoding.md 2.3 check 16).",
    "cbor.indefinite_length": "CBOR decoding (encoding.md 2.3 check 3).",
    "cbor.duplicate_key": "CBOR decoding (encoding.md 2.3 check 13).",
    "cbor.tag_not_allowed": "CBOR decoding (encoding.md 2.3 check 15).",
    "cbor.too_deep": "CBOR decoding (encoding.md 2.3 check 9).",
    "cbor.too_large": "CBOR decoding: size cap or item count (encoding.md 2.3 checks 1, 10).",
    "cbor.length_exceeds_input": "CBOR decoding (encoding.md 2.3 checks 4, 6, 11; "
    "truncated input).",
    "cbor.non_deterministic": "CBOR decoding (encoding.md 2.3 checks 5, 14).",
    "cbor.type_not_allowed": "CBOR decoding (encoding.md 2.3 checks 8, 12).",
    "schema.invalid": "Structure decoding (encoding.md 4; credential.md 3.5, 6; "
    "presentation.md 2.3): V 2, V 8.",
    "schema.unknown_label": "Structure decoding (encoding.md 4): V 2, V 8.",
    "schema.missing_label": "Structure decoding (encoding.md 4): V 2, V 8.",
    "cose.malformed": "COSE_Sign1 decoding (verification.md 2.1): V 1, V 7.",
    "cose.bad_signature": "Signature verification (verification.md 2.2): V 12.",
    "cose.alg_mismatch": "Signature verification (verification.md 2.2): V 12.",
    "cose.alg_not_allowed": "Issuer resolution (trust.md 4.1 step 11) and signature "
    "verification (verification.md 2.2): V 11, V 12.",
    "cose.alg_missing": "COSE_Sign1 decoding, unprotected alg (verification.md 2.1): "
    "V 1, V 7; signature verification, no protected alg: V 12.",
    "cose.unknown_critical": "COSE_Sign1 decoding (verification.md 2.1): V 1, V 7.",
    "cose.header_conflict": "COSE_Sign1 decoding (verification.md 2.1): V 1, V 7.",
    "cose.detached_payload": "Never raised by decoding: the CBOR profile refuses a null "
    "(detached) payload first, cbor.type_not_allowed (encoding.md 2.3 check 8; "
    "verification.md 2.1 step 5).",
    "cose.bad_key": "Standalone COSE_Key parsing and loading (a library API). Inside "
    "protocol messages a bad key is reported by the enclosing step: binding.cnf_missing "
    "(credential.md 3.4; V 8, V 9), issuance.pop_invalid (proof), trust.list_invalid "
    "(trust-list entry).",
    "trust.failed": "Base of the trust codes; not raised by itself.",
    "trust.unknown_issuer": "Issuer resolution (trust.md 4.1 steps 4, 7, 9): V 11.",
    "trust.chain_invalid": "Issuer resolution, x5chain shape and path validation "
    "(trust.md 4.1 steps 3, 4, 8; 4.2): V 11.",
    "trust.certificate_profile": "Issuer resolution (trust.md 2.4, 4.1 step 4): V 11; "
    "registering an issuer certificate; trust-list entries (trust.md 5.2 step 8).",
    "trust.kid_mismatch": "Issuer resolution (trust.md 4.1 step 5): V 11.",
    "trust.key_withdrawn": "Issuer resolution (trust.md 4.1 steps 1, 2, 6, 8; 7): V 11; "
    "a kid or a key identity (SPKI SHA-256) withdrawn.",
    "trust.usage_not_allowed": "Issuer resolution (trust.md 4.1 step 10): V 11; a "
    "trust-list authority key also trusted for another usage (trust.md 6.1), in a store "
    "or as a trust-list entry (trust.md 5.2 step 8).",
    "trust.key_not_valid": "Issuer resolution (trust.md 4.1 step 12): V 11.",
    "trust.list_invalid": "Trust-list verification (trust.md 5.2 steps 2, 6, 8).",
    "trust.list_expired": "Trust-list verification (trust.md 5.2 step 7).",
    "trust.list_rollback": "Trust-list update (trust.md 5.2 step 9).",
    "trust.list_too_old": "Trust-list update: issued_at + the reader's max_age reached, "
    "whatever next_update and the stale policy (trust.md 5.2 step 7a).",
    "validity.failed": "Root of the credential validity errors; never raised itself.",
    "validity.expired": "Credential validity (verification.md 2): V 13.",
    "validity.not_yet_valid": "Credential validity (verification.md 2): V 13.",
    "validity.clock_rollback": "Reading a GuardedClock (security.md 9): the reader's clock "
    "reads more than the skew before the last trusted reading, or a rollback is recorded "
    "and not yet acknowledged; raised where the verifier reads its clock, before V 1.",
    "card.invalid": "JSON card format at issuance (data-model.md 5); card map decoding "
    "(credential.md 3.5): V 8.",
    "card.nir_invalid": "NIR (data-model.md 3.1, encoding.md 3.1): at issuance; V 8.",
    "card.organisme_invalid": "Organisme (data-model.md 3.2, encoding.md 3.2): at issuance; V 8.",
    "card.date_invalid": "Dates (data-model.md 4, encoding.md 3.3, 3.4): at issuance; V 8.",
    "card.ins_invalid": "INS (data-model.md 3.4): JSON at issuance; ins map decoding: V 8.",
    "card.ins_mismatch": "INS consistency with its matricule (data-model.md 3.4.3): at "
    "issuance; V 8.",
    "binding.failed": "Root of the device-binding errors; never raised itself.",
    "binding.device_signature_invalid": "Device signature (verification.md 2): V 10.",
    "binding.cnf_missing": "Claims decoding and loading the cnf device key "
    "(credential.md 3.4): V 8, V 9.",
    "presentation.invalid": "Root of the presentation errors; never raised itself.",
    "presentation.expired": "Token freshness (presentation.md 3.1): V 5.",
    "presentation.not_yet_valid": "Token freshness (presentation.md 3.1): V 4.",
    "presentation.lifetime_too_long": "Token lifetime cap (presentation.md 3.1): V 3.",
    "presentation.replay_cache_full": "Replay (verification.md 5), a refusing replay cache "
    "that is full: V 18.",
    "presentation.replayed": "Replay cache (verification.md 5): V 18.",
    "presentation.audience_mismatch": "Audience (presentation.md 3.3): V 15.",
    "presentation.transcript_mismatch": "NFC transcript (presentation.md 3.4): V 16.",
    "presentation.disclosure_invalid": "Reserved; not raised in protocol version 1.",
    "qr.malformed": "QR text decoding (presentation.md 4.3 checks 6, 12, 13): V 0.",
    "qr.bad_prefix": "QR text decoding (presentation.md 4.3 check 2): V 0.",
    "qr.too_large": "QR text decoding (presentation.md 4.3 checks 1, 7): V 0; "
    "b45decode of a text longer than its max_chars (default 4296, the QR capacity); "
    "inspect of a QR text longer than 4296 characters (security.md 8).",
    "base45.invalid": "Root of the Base45 errors; never raised itself.",
    "base45.bad_character": "QR text decoding (presentation.md 4.3 check 3): V 0.",
    "base45.bad_length": "QR text decoding (presentation.md 4.3 check 4): V 0.",
    "base45.overflow": "QR text decoding (presentation.md 4.3 check 5): V 0.",
    "compression.invalid": "QR text decoding (presentation.md 4.3 checks 8, 10, 11): V 0; "
    "status list decompression.",
    "compression.too_large": "QR text decoding (presentation.md 4.3 check 9): V 0; "
    "status list decompression.",
    "inspect.malformed": "inspect: odd or broken hex, an APDU transcript that is not "
    "one (bad JSON, nesting, hex, text) (security.md 8).",
    "inspect.too_large": "inspect: input, APDU transcript or exchange count over its "
    "cap, checked before parsing (security.md 8).",
    "status.failed": "Root of the status errors; never raised itself.",
    "status.revoked": "Status check (verification.md 2.3): V 17.",
    "status.suspended": "Status check (verification.md 2.3): V 17.",
    "status.undetermined": "Status check (verification.md 2.3): V 17.",
    "status.list_invalid": "Status list token verification; makes the status "
    "undetermined (verification.md 2.3): V 17.",
    "status.list_expired": "Status list token verification; makes the status "
    "undetermined (verification.md 2.3): V 17.",
    "status.list_too_old": "Status check: the list's iat + the policy's max_list_age "
    "reached, on first sight or cached (status.md 4); makes the status undetermined "
    "(V 17).",
    "status.index_out_of_range": "Status check (verification.md 2.3): V 17.",
    "status.reference_invalid": "Claims decoding (credential.md 3.6): V 8; status check "
    "of a reference outside the profile: V 17.",
    "delegation.invalid": "Claims decoding (credential.md 5.2): V 8; policy refusing "
    "delegations: V 14.",
    "usage.bad_key": "Caller misuse (local): a key unsuitable for the operation.",
    "usage.invalid_argument": "Caller misuse (local): an argument outside its documented "
    "range, including a policy value out of bounds (verification.md 3).",
    "state.store_failed": "Trust state (security.md 9): the store of high-water marks "
    "cannot be opened, read or written (local); a trust-list update is refused, a "
    "status becomes undetermined, a guarded clock reading is refused.",
    "replay.store_error": "Replay (verification.md 5), a shared replay store that cannot "
    "be used (locked past its busy timeout, I/O error, a file of another format): V 18 "
    "(local; the token is not accepted).",
    "usage.command_line": "Command line (local): an unknown option, a missing or "
    "ill-formed argument; exit status 2.",
    "internal": "Command line (local): an unexpected exception, a defect, reported as "
    "one line instead of a traceback; exit status 70.",
    "io.failed": "Command line and issuer directory (local): a file or directory cannot "
    "be read or written, for a reason with no code of its own (disk full, read-only "
    "file system); exit status 1.",
    "io.not_found": "Command line and issuer directory (local): a file to read, or the "
    "directory to write into, does not exist; exit status 1.",
    "io.is_a_directory": "Command line (local): a directory given where a file is read "
    "or written; exit status 1.",
    "io.not_a_directory": "Command line and issuer directory (local): a file given where "
    "a directory is expected (init-issuer --out, demo --workdir); exit "
    "status 1.",
    "io.permission_denied": "Command line and issuer directory (local): the operating "
    "system refused access; exit status 1.",
    "io.exists": "Command line (local): init-issuer over an issuer directory, device-key "
    "over an existing file, without --force; exit status 2.",
    "key.passphrase": "Command line and issuer directory (local): a private key file "
    "encrypted with a passphrase (init-issuer, device-key --encrypt) that the passphrase "
    "given does not decrypt, or read with no passphrase at all; exit status 1.",
    "issuance.pop_invalid": "Enrolment: proof-of-possession verification (credential.md 4.3).",
    "apdu.malformed": "Root of the APDU errors; never raised itself.",
    "statement.invalid": "Statement verification by the holder's app (statement.md); "
    "never raised by a verifier.",
    "apdu.status_word_invalid": "NFC transport, reader side: response APDU parsing "
    "(ISO/IEC 7816-4).",
    "evidence.invalid": "Evidence decoding (evidence.md 6, checks E1 - E3): the record, its "
    "signed envelope or its NFC ReaderInfo is not the structure of evidence.md 2.",
    "evidence.context_mismatch": "Evidence verification (evidence.md 6, check E5): the NFC "
    "request context names another professional or invoice than the record.",
    "evidence.signature_invalid": "Evidence verification (evidence.md 6, check E4): the "
    "professional's signature over the record does not verify.",
    "evidence.signer_unknown": "Evidence verification (evidence.md 6, check E4): no key of "
    "the auditor's directory for the record's professional has the envelope's kid.",
    "audit.finding": "Root of the audit findings (evidence.md 7); never raised itself.",
    "audit.record_invalid": "Audit input (evidence.md 7.1): a row with no evidence record "
    "in it; reported in the audit report, never raised.",
    "audit.reader_refused": "Audit (evidence.md 7.2, check A2): the reader's own verdict was "
    "a refusal; reported in the audit report, never raised.",
    "audit.delegation_exceeded": "Audit (evidence.md 7.3, check A4): a delegation used "
    "outside the limits of its scope; reported in the audit report, never raised.",
    "audit.professional_unknown": "Audit (evidence.md 7.2, check A3): the professional is "
    "not in the audit's directory; reported in the audit report, never raised.",
    "audit.nonce_reused": "Audit across records (evidence.md 7.4): one presentation in the "
    "evidence of two professionals; reported in the audit report, never raised.",
    "audit.impossible_travel": "Audit across records (evidence.md 7.5): one device at two "
    "professionals too far apart for the time between the reads; reported in the audit "
    "report, never raised.",
}

PREFIX_WHERE: dict[str, str] = {
    "apdu.response": "NFC transport, reader side: response APDU parsing (ISO/IEC 7816-4).",
    "apdu.": "NFC transport: command APDU parsing and chaining (ISO/IEC 7816-4).",
    "session.": "NFC session encryption (nfc.md 6, 7).",
    "nfc.pcsc": "NFC transport: PC/SC reader access (local).",
    "nfc.": "NFC application protocol (nfc.md).",
    "hsm.": "Issuer side: signing with a PKCS#11 token (local; never sent to a peer).",
    "status.": "Status check (verification.md 2.3): V 17.",
    "trust.": "Issuer resolution (trust.md 4): V 11.",
}

_ROLE = re.compile(r":(?:class|func|data|meth|attr|mod|exc):`~?([\w.]+)`")


def _markdown(text: str) -> str:
    """Render a docstring line as Markdown table-cell text."""
    text = _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    text = text.replace("``", "`")
    return text.replace("|", "\\|").strip()


def meaning(cls: type) -> str:
    """First line of the class docstring."""
    doc = (cls.__doc__ or "").strip()
    return _markdown(doc.splitlines()[0]) if doc else ""


def where(cls: type) -> str:
    """Where the error is raised, plus the status word an NFC peer answers with."""
    code: str = cls.code  # type: ignore[attr-defined]
    text = WHERE.get(code)
    if text is None:
        text = next((v for k, v in PREFIX_WHERE.items() if code.startswith(k)), "—")
    status_word = getattr(cls, "status_word", None)
    if isinstance(status_word, int) and status_word:
        text += f" Status word {status_word:04X}."
    return _markdown(text)


def parent_code(cls: type) -> str:
    """Code of the nearest base class that has one."""
    for base in cls.__mro__[1:]:
        code = base.__dict__.get("code")
        if isinstance(code, str):
            return f"`{code}`"
    return "—"


def render_table() -> str:
    """The Markdown table, one row per error class, sorted by code."""
    sys.path.insert(0, str(ROOT / "src"))
    from vitale_cred.errors import all_error_classes  # noqa: PLC0415

    lines = [
        "| Code | Class | Parent | Meaning | Where raised |",
        "|---|---|---|---|---|",
    ]
    for cls in all_error_classes():
        lines.append(
            f"| `{cls.code}` | `{cls.__name__}` | {parent_code(cls)} | {meaning(cls)} "
            f"| {where(cls)} |"
        )
    return "\n".join(lines)


def rebuild(document: str) -> str:
    """``document`` with the table between the markers replaced by a fresh one."""
    start = document.find(BEGIN)
    stop = document.find(END)
    if start < 0 or stop < start:
        raise SystemExit(f"markers {BEGIN!r} and {END!r} not found in order")
    head = document[: start + len(BEGIN)]
    tail = document[stop:]
    return f"{head}\n{render_table()}\n{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH, help="the errors.md file")
    args = parser.parse_args(argv)
    current = args.path.read_text(encoding="utf-8")
    fresh = rebuild(current)
    if args.check:
        if fresh != current:
            print(f"{args.path} is stale: run python scripts/gen_errors_md.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        args.path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
