"""README of the vector directory, generated with the vectors (its tables count them)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources

from tools.vectors._build import CaseList

__all__ = ["EXCLUDED_CODES", "render_readme"]

_GROUP = "group code: never raised itself, only its children are (errors.md section 3)"


def _local(what: str) -> str:
    return f"local error ({what}): no input can trigger it"


def _audit(what: str) -> str:
    return (
        f"a finding of the fund's audit ({what}, evidence.md section 7), reported in its "
        "report and never raised; tests/test_audit.py proves it on synthetic evidence"
    )


#: Error codes of the registry without a vector, and why.
EXCLUDED_CODES: Mapping[str, str] = {
    "error": "root of every error; " + _GROUP,
    "verification": "root of the input rejections; " + _GROUP,
    "decode": _GROUP,
    "apdu.malformed": _GROUP,
    "base45.invalid": _GROUP,
    "binding.failed": _GROUP,
    "nfc.error": _GROUP,
    "presentation.invalid": _GROUP,
    "session.error": _GROUP,
    "status.failed": _GROUP,
    "trust.failed": _GROUP,
    "presentation.replay_cache_full": "a state of one verifier (its replay cache full of "
    "unexpired tokens under the refuse policy), not a property of any one input",
    "cose.bad_key": "raised by standalone COSE_Key parsing (a library API); inside protocol "
    "messages an unusable key is reported by the enclosing step: binding.cnf_missing (cnf), "
    "issuance.pop_invalid (proof of possession), trust.list_invalid (trust-list entry)",
    "cose.detached_payload": "kept so that the code stays registered, but no input can "
    "trigger it: the CBOR profile refuses null, the only detached payload, first "
    "(cbor.type_not_allowed, encoding.md section 2.3 check 8)",
    "validity.failed": _GROUP,
    "issuance": "raised only when the issuer's own software calls the issuance API with "
    "out-of-range arguments (validity days, status entries, an unproven device key); "
    "the proof of possession, the one input an issuer receives, has "
    "issuance.pop_invalid",
    "usage": _local("the caller misused the API"),
    "environment": _local("the root of PC/SC and HSM failures"),
    "presentation.beneficiary_mismatch": _local(
        "the reader's own check of the beneficiary it asked for"
    ),
    "usage.bad_key": _local("the caller passed an unsuitable key"),
    "usage.invalid_argument": _local("an argument or a policy value out of bounds"),
    "nfc.illegal_state": _local("a session method called in the wrong state"),
    "nfc.reader_nonce_repeated": _local("the reader's own random source repeated a nonce"),
    "session.counter_exhausted": _local("the local side sent 2^32 - 1 messages"),
    "nfc.pcsc_error": _local("PC/SC transport"),
    "nfc.pcsc_no_card": _local("PC/SC transport"),
    "nfc.pcsc_unavailable": _local("PC/SC transport"),
    "replay.store_error": _local("the reader's shared replay store"),
    "state.store_failed": _local("the reader's trust-state store"),
    "inspect.malformed": "raised by the inspection tool, a local reader of files and QR "
    "texts, never by a protocol step",
    "inspect.too_large": "raised by the inspection tool, a local reader of files and QR "
    "texts, never by a protocol step",
    "validity.clock_rollback": "a state of one reader (its persisted clock readings), not a "
    "property of any one input",
    "status.list_too_old": "a reader policy (the maximum age of a list from its iat) applied "
    "to a list that is otherwise valid; the vectors fix no such policy",
    "trust.list_too_old": "a reader policy (the maximum age of a trust list from its "
    "issued_at) applied to a list that is otherwise valid; the vectors fix no such policy",
    "usage.command_line": _local("the operator's command line"),
    "internal": _local("a defect of the command line, reported instead of a traceback"),
    "io.failed": _local("files of the command line and the issuer directory"),
    "io.not_found": _local("files of the command line and the issuer directory"),
    "io.is_a_directory": _local("files of the command line and the issuer directory"),
    "io.not_a_directory": _local("files of the command line and the issuer directory"),
    "io.permission_denied": _local("files of the command line and the issuer directory"),
    "io.exists": _local("files of the command line and the issuer directory"),
    "key.passphrase": _local("an encrypted private key file of the command line"),
    "hsm.error": _local("the issuer's PKCS#11 token"),
    "hsm.key_label_conflict": _local("the issuer's PKCS#11 token"),
    "hsm.key_not_found": _local("the issuer's PKCS#11 token"),
    "hsm.operation_failed": _local("the issuer's PKCS#11 token"),
    "hsm.pin_incorrect": _local("the issuer's PKCS#11 token"),
    "hsm.pin_locked": _local("the issuer's PKCS#11 token"),
    "hsm.token_in_use": _local("the issuer's PKCS#11 token"),
    "hsm.token_not_found": _local("the issuer's PKCS#11 token"),
    "hsm.unavailable": _local("the issuer's PKCS#11 token"),
    "audit.finding": "root of the audit findings; " + _GROUP,
    "audit.record_invalid": _audit("a row of the audit's input files that holds no record"),
    "audit.reader_refused": _audit("the reader's verdict against the audit's reading"),
    "audit.professional_unknown": _audit("the record against the audit's directory"),
    "audit.delegation_exceeded": _audit("a delegation's scope against the audit's directory"),
    "audit.nonce_reused": _audit("a property of several records, not of one input"),
    "audit.impossible_travel": _audit("a property of several records, not of one input"),
}


def _table(counts: Mapping[str, int], header: str) -> list[str]:
    lines = [f"| {header} | Cases |", "|---|---|"]
    lines += [f"| `{name}` | {count} |" for name, count in sorted(counts.items())]
    return lines


def render_readme(lists: Sequence[CaseList], descriptions: Mapping[str, str]) -> str:
    """The README text for the generated case lists."""
    template = resources.files(__package__).joinpath("README.template.md").read_text("utf-8")
    lines: list[str] = []
    total = 0
    for cases in lists:
        total += len(cases.cases)
        lines.append(
            f"| [{cases.area}.json]({cases.area}.json) | {len(cases.cases)} | "
            f"{descriptions[cases.area]} |"
        )
    lines.append(f"| total | {total} | |")
    areas = "\n".join(lines)
    codes: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    for cases in lists:
        for case in cases.cases:
            operations[case["operation"]] += 1
            if case["expected"]["result"] == "invalid":
                codes[case["expected"]["code"]] += 1
    lines = ["## 10. Coverage", "", "Cases per operation:", ""]
    lines += _table(operations, "Operation")
    lines += ["", "Invalid cases per error code:", ""]
    lines += _table(codes, "Code")
    lines += [
        "",
        "Codes of the registry without a vector, and why:",
        "",
        "| Code | Why no vector |",
        "|---|---|",
    ]
    lines += [f"| `{code}` | {why} |" for code, why in sorted(EXCLUDED_CODES.items())]
    coverage = "\n".join(lines)
    return template.replace("<!-- AREAS -->", areas).replace("<!-- COVERAGE -->", coverage)
