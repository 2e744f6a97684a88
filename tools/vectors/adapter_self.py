"""The conformance adapter of this library: one case JSON in, one result JSON out.

Run as ``python -m tools.vectors.adapter_self`` (reads one case on stdin,
prints one result on stdout), or call :func:`run_case` in-process. The protocol is
described in :mod:`tools.vectors` and ``spec/vectors/README.md``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred.clock import FixedClock
from vitale_cred.credential import CredentialBundle
from vitale_cred.device import SoftwareDeviceKey, verify_possession
from vitale_cred.errors import VitaleCredError
from vitale_cred.evidence import EvidenceVerifier, ProfessionalKeys, RequestContext
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.apdu import parse_command, parse_response
from vitale_cred.hazmat.base45 import b45decode
from vitale_cred.hazmat.cose import CoseKey
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.nfc import (
    Done,
    EncryptionPolicy,
    HolderSession,
    PresentationRequested,
    ReaderSession,
    ReaderState,
    SeenNonces,
    Selected,
)
from vitale_cred.presentation import NONCE_LENGTH
from vitale_cred.registry import CoseAlg
from vitale_cred.statement import verify_statement
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusPolicy,
    StatusResult,
    verify_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import StalePolicy, TrustListReader
from vitale_cred.verify import Policy, VerifiedCredential, VerifiedPresentation, Verifier

__all__ = ["main", "run_case"]

Result = dict[str, Any]
_USAGES = {u.value: u for u in Usage}


class HarnessError(Exception):
    """The case cannot be set up (a defect of the case or of the adapter, not a verdict)."""


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise HarnessError(f"{what} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise HarnessError(f"{what} is not hex") from exc


def _pem_certificate(text: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(text.encode("ascii"))


def build_trust(spec: Mapping[str, Any]) -> TrustStore:
    """A trust store from the ``trust`` member of a case."""
    keys = []
    for entry in spec.get("keys", []):
        cose_key = CoseKey.from_map(_cbor.decode(_bytes(entry["cose_key"], "cose_key")))
        if int(cose_key.default_alg()) != entry["alg"]:
            raise HarnessError(f"trust key alg {entry['alg']} does not match its COSE_Key")
        keys.append(
            raw_key(
                cose_key,
                _bytes(entry["kid"], "kid"),
                usages=[_USAGES[u] for u in entry["usages"]],
                not_before=entry.get("not_before"),
                not_after=entry.get("not_after"),
            )
        )
    store = TrustStore(
        roots=[_pem_certificate(p) for p in spec.get("roots", [])],
        keys=keys,
        allowed_algs=[CoseAlg(a) for a in spec.get("allowed_algs", [-7, -35, -8])],
    )
    for entry in spec.get("certificates", []):
        store.add_certificate(
            _pem_certificate(entry["certificate"]),
            [_pem_certificate(p) for p in entry.get("intermediates", [])],
        )
    for kid in spec.get("withdrawn", []):
        store.withdraw(_bytes(kid, "withdrawn kid"))
    for identity in spec.get("withdrawn_keys", []):
        store.withdraw_key(_bytes(identity, "withdrawn key"))
    return store


def build_status(policy: Mapping[str, Any], trust: TrustStore) -> StatusChecker | None:
    """The status checker of a policy, or None."""
    status_spec = policy.get("status")
    if status_spec is None:
        return None
    provider = InMemoryStatusProvider()
    for token in status_spec["lists"]:
        try:
            provider.publish(_bytes(token, "status list"))
        except VitaleCredError:
            continue  # a token that cannot even be indexed is never served
    return StatusChecker(
        provider,
        trust,
        policy=StatusPolicy(
            on_undetermined=status_spec.get("on_undetermined", "reject"),
            max_age=status_spec.get("max_age", 0),
        ),
    )


def build_verifier(case: Mapping[str, Any]) -> Verifier:
    """The verifier of a ``verify_*`` or ``nfc_reader`` case."""
    trust = build_trust(case["trust"])
    policy = case.get("policy") or {}
    status = build_status(policy, trust)
    audience = policy.get("audience")
    return Verifier(
        Policy(
            trust=trust,
            clock=FixedClock(case["at"]),
            skew=policy.get("skew", 30),
            max_token_lifetime=policy.get("max_token_lifetime", 300),
            audience=None if audience is None else _bytes(audience, "audience"),
            allow_delegated=policy.get("allow_delegated", True),
            status=status,
        )
    )


def _status_name(result: Any) -> str | None:
    if result is None:
        return None
    if isinstance(result, StatusResult):
        return result.state.value
    return str(result)


def credential_fields(cred: VerifiedCredential) -> dict[str, Any]:
    """The ``fields`` of a verified credential."""
    card = cred.card
    beneficiary = card.beneficiary.to_json()
    return {
        "insured_nir": card.nir.value,
        "organisme": str(card.organisme),
        "card_serial": card.serial,
        "card_issued": card.issued.isoformat(),
        "beneficiary_index": card.index,
        "beneficiary": beneficiary,
        "delegation": None
        if cred.delegation is None
        else {
            "delegator": cred.delegation.delegator,
            "delegate": cred.delegation.delegate,
            "limits": cred.delegation.limits,
        },
        "issuer_kid": cred.issuer.kid.hex(),
        "credential_iat": cred.iat,
        "credential_exp": cred.exp,
        "status": _status_name(cred.status_result),
    }


def presentation_fields(result: VerifiedPresentation) -> dict[str, Any]:
    """The ``fields`` of a verified presentation."""
    out = credential_fields(result.credential)
    out.update(
        {
            "token_iat": result.token_iat,
            "token_exp": result.token_exp,
            "nonce": result.nonce.hex(),
            "audience": None if result.audience is None else result.audience.hex(),
            "transcript": None if result.transcript is None else result.transcript.hex(),
        }
    )
    return out


def _valid(fields: Mapping[str, Any] | None = None, **extra: Any) -> Result:
    return {"result": "valid", "fields": dict(fields or {}), **extra}


def _invalid(exc: VitaleCredError, **extra: Any) -> Result:
    return {"result": "invalid", "code": exc.code, **extra}


# --- operations ------------------------------------------------------------------------


def _cbor_decode(case: Mapping[str, Any]) -> Result:
    params = case.get("params", {})
    _cbor.decode(
        _bytes(case["input"]["cbor"], "cbor"),
        tags=frozenset(params.get("tags", [])),
        max_size=params.get("max_size", _cbor.MAX_INPUT_BYTES),
        max_depth=params.get("max_depth", _cbor.MAX_DEPTH),
        deterministic=params.get("deterministic", True),
    )
    return _valid()


def _base45_decode(case: Mapping[str, Any]) -> Result:
    return _valid({"bytes": b45decode(case["input"]["text"]).hex()})


def _qr_decode(case: Mapping[str, Any]) -> Result:
    return _valid({"payload": decode_qr_text(case["input"]["qr_text"]).hex()})


def _verify_sequence(
    case: Mapping[str, Any], verify: Callable[[Verifier, Any], VerifiedPresentation], key: str
) -> Result:
    verifier = build_verifier(case)
    data = case["input"]
    for position, prior in enumerate(data.get("prior", [])):
        try:
            verify(verifier, prior)
        except VitaleCredError as exc:
            return _invalid(exc, detail=f"prior input {position} was refused")
    return _valid(presentation_fields(verify(verifier, data[key])))


def _verify_qr(case: Mapping[str, Any]) -> Result:
    return _verify_sequence(case, lambda v, text: v.verify_qr(text), "qr_text")


def _verify_presentation(case: Mapping[str, Any]) -> Result:
    transcript = case["input"].get("transcript")
    digest = None if transcript is None else _bytes(transcript, "transcript")

    def verify(verifier: Verifier, token: str) -> VerifiedPresentation:
        return verifier.verify_presentation(_bytes(token, "presentation"), transcript=digest)

    return _verify_sequence(case, verify, "presentation")


def _verify_credential(case: Mapping[str, Any]) -> Result:
    verifier = build_verifier(case)
    credential = _bytes(case["input"]["credential"], "credential")
    return _valid(credential_fields(verifier.verify_credential(credential)))


def _verify_possession(case: Mapping[str, Any]) -> Result:
    data = case["input"]
    proven = verify_possession(
        _bytes(data["proof"], "proof"), _bytes(data["nonce"], "nonce"), case["at"]
    )
    return _valid({"device_key": _cbor.encode(proven.key.to_map()).hex()})


def _decode_bundle(case: Mapping[str, Any]) -> Result:
    bundle = CredentialBundle.decode(_bytes(case["input"]["bundle"], "bundle"))
    return _valid({"credentials": [c.hex() for c in bundle.credentials]})


def _verify_status_list(case: Mapping[str, Any]) -> Result:
    data = case["input"]
    verified = verify_status_list(
        _bytes(data["token"], "token"),
        build_trust(case["trust"]),
        clock=FixedClock(case["at"]),
        expected_kid=None
        if data.get("expected_kid") is None
        else _bytes(data["expected_kid"], "kid"),
        expected_list=data.get("expected_list"),
    )
    return _valid(
        {
            "uri": verified.uri,
            "list": verified.list_id,
            "iat": verified.iat,
            "exp": verified.exp,
            "ttl": verified.ttl,
            "bits": verified.bits,
            "size": verified.size,
            "values": [int(verified.status(i)) for i in range(verified.size)],
        }
    )


def _verify_statement(case: Mapping[str, Any]) -> Result:
    data = case["input"]
    device_key = CoseKey.from_map(_cbor.decode(_bytes(data["device_key"], "device_key")))
    verified = verify_statement(
        _bytes(data["statement"], "statement"),
        build_trust(case["trust"]),
        device_key=device_key,
        clock=FixedClock(case["at"]),
    )
    statement = verified.statement
    return _valid(
        {
            "iat": statement.iat,
            "serial": statement.serial,
            "invoices": [i.to_json() for i in statement.invoices],
            "issuer_kid": verified.issuer.kid.hex(),
        }
    )


def _trust_list_update(case: Mapping[str, Any]) -> Result:
    policy = case.get("policy") or {}
    reader = TrustListReader(
        build_trust(case["trust"]), stale=StalePolicy(policy.get("stale", "reject"))
    )
    lists = case["input"]["lists"]
    verified = None
    for position, text in enumerate(lists):
        try:
            verified = reader.update(_bytes(text, "trust list"), clock=FixedClock(case["at"]))
        except VitaleCredError as exc:
            if position < len(lists) - 1:
                return _invalid(exc, detail=f"list {position} was refused")
            raise
    if verified is None:
        raise HarnessError("no trust list in the case")
    return _valid(
        {
            "seq": verified.seq,
            "stale": verified.stale,
            "kids": [e.kid.hex() for e in verified.trust_list.entries],
        }
    )


def _verify_evidence(case: Mapping[str, Any]) -> Result:
    trust = build_trust(case["trust"])
    policy = case.get("policy") or {}
    professionals = None
    if "professionals" in case:
        professionals = ProfessionalKeys(
            {
                entry["id"]: [
                    CoseKey.from_map(_cbor.decode(_bytes(key, "professional key")))
                    for key in entry["keys"]
                ]
                for entry in case["professionals"]
            }
        )
    verifier = EvidenceVerifier(
        trust,
        status=build_status(policy, trust),
        professionals=professionals,
        skew=policy.get("skew", 30),
        max_token_lifetime=policy.get("max_token_lifetime", 300),
        allow_delegated=policy.get("allow_delegated", True),
    )
    verified = verifier.verify(_bytes(case["input"]["evidence"], "evidence"))
    evidence = verified.evidence
    return _valid(
        {
            "channel": evidence.channel.name.lower(),
            "read_at": evidence.read_at,
            "reader_verdict": evidence.verdict,
            "professional": evidence.professional,
            "invoice": evidence.invoice.hex(),
            "bound": verified.bound,
            "signer": None if verified.signer is None else verified.signer.hex(),
            "presentation": presentation_fields(verified.presentation),
        }
    )


def _apdu_parse_command(case: Mapping[str, Any]) -> Result:
    raw = _bytes(case["input"]["apdu"], "apdu")
    cmd = parse_command(raw)
    body = raw[4:]
    extended = len(body) >= 3 and body[0] == 0
    number = 1 + (cmd.le is not None) + 2 * bool(cmd.data)
    return _valid(
        {
            "cla": cmd.cla,
            "ins": cmd.ins,
            "p1": cmd.p1,
            "p2": cmd.p2,
            "data": cmd.data.hex(),
            "ne": cmd.le,
            "case": f"{number}{'E' if extended else ('S' if number > 1 else '')}",
        }
    )


def _apdu_parse_response(case: Mapping[str, Any]) -> Result:
    response = parse_response(_bytes(case["input"]["apdu"], "apdu"))
    return _valid({"data": response.data.hex(), "sw": f"{response.sw:04X}"})


class _SizedRng:
    """Serves the bytes a case fixes, by request size (16: nonces, 32: key scalars)."""

    def __init__(self, queues: Mapping[int, list[bytes]]) -> None:
        self._queues = {size: list(values) for size, values in queues.items()}

    def __call__(self, n: int) -> bytes:
        queue = self._queues.get(n)
        if not queue:
            raise HarnessError(f"the case provides no more random values of {n} bytes")
        return queue.pop(0)


def _nfc_reader(case: Mapping[str, Any]) -> Result:
    config = case["reader"]
    scalar = config.get("ephemeral_private_key")
    rng = _SizedRng(
        {
            16: [_bytes(config["nonce"], "nonce")],
            32: [] if scalar is None else [_bytes(scalar, "ephemeral_private_key")],
        }
    )
    context = config.get("context")
    reader = ReaderSession(
        build_verifier(case),
        beneficiary_hint=config.get("beneficiary_hint"),
        encryption=EncryptionPolicy(config.get("encryption", "required")),
        extended_length=config.get("extended_length", True),
        rng=rng,
        context=None
        if context is None
        else RequestContext(context["professional"], _bytes(context["invoice"], "invoice")),
    )
    retries = config.get("retries_after_locked", 0)
    sent: list[str] = []
    for exchange in case["input"]["exchanges"]:
        command = reader.next_command()
        if command is None and reader.state is ReaderState.LOCKED and retries > 0:
            retries -= 1
            reader.retry()
            command = reader.next_command()
        if command is None:
            break
        sent.append(command.hex())
        if command != _bytes(exchange["command"], "command"):
            return {"result": "error", "message": "command differs", "transcript": sent}
        try:
            reader.feed(_bytes(exchange["response"], "response"))
        except VitaleCredError as exc:
            if reader.state is ReaderState.LOCKED and retries > 0:
                continue
            return _invalid(exc, transcript=sent)
    extra = reader.next_command() if reader.state is not ReaderState.DONE else None
    if extra is not None:
        sent.append(extra.hex())
        return {"result": "error", "message": "more commands than recorded", "transcript": sent}
    if reader.state is not ReaderState.DONE:
        return {"result": "error", "message": f"reader ended in {reader.state.value}"}
    return _valid(presentation_fields(reader.result), transcript=sent)


def _events(events: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, Selected):
            out.append({"event": "selected"})
        elif isinstance(event, PresentationRequested):
            requested: dict[str, Any] = {
                "event": "presentation_requested",
                "beneficiary_hint": event.beneficiary_hint,
            }
            if event.context is not None:
                requested["context"] = {
                    "professional": event.context.professional,
                    "invoice": event.context.invoice.hex(),
                }
            out.append(requested)
        elif isinstance(event, Done):
            out.append({"event": "done", "beneficiary_index": event.beneficiary_index})
    return out


def _nfc_holder(case: Mapping[str, Any]) -> Result:
    config = case["holder"]
    credentials = {
        entry["index"]: _bytes(entry["credential"], "credential") for entry in config["credentials"]
    }
    device = SoftwareDeviceKey.from_pem(config["device_private_key"].encode("ascii"))
    if not isinstance(device.public_key(), ec.EllipticCurvePublicKey):  # pragma: no cover
        raise HarnessError("device key must be P-256")
    users = list(config.get("user", [{"verified": True, "choice": 0}]))
    position = {"user": -1}

    def gate() -> bool:
        position["user"] = min(position["user"] + 1, len(users) - 1)
        return bool(users[position["user"]]["verified"])

    def chooser(hint: int | None, available: tuple[int, ...]) -> int | None:
        del hint, available
        choice = users[max(position["user"], 0)].get("choice")
        return None if choice is None else int(choice)

    rng = _SizedRng(
        {
            32: [_bytes(k, "ephemeral key") for k in config.get("ephemeral_private_keys", [])],
            NONCE_LENGTH: [_bytes(n, "nonce") for n in config.get("presentation_nonces", [])],
        }
    )
    holder = HolderSession(
        credentials,
        device,
        clock=FixedClock(case["at"]),
        gate=gate,
        chooser=chooser,
        encryption=EncryptionPolicy(config.get("encryption", "required")),
        extended_length=config.get("extended_length", True),
        max_command_data=config.get("max_command_data"),
        max_response_data=config.get("max_response_data"),
        ttl=config.get("ttl", 60),
        rng=rng,
        seen_nonces=SeenNonces(),
    )
    responses: list[str] = []
    events: list[Any] = []
    for exchange in case["input"]["exchanges"]:
        responses.append(holder.process(_bytes(exchange["command"], "command")).hex())
        events += holder.events()
    error = holder.last_error
    if error is not None:
        return _invalid(error, transcript=responses)
    return _valid({"state": holder.state.value, "events": _events(events)}, transcript=responses)


OPERATIONS: dict[str, Callable[[Mapping[str, Any]], Result]] = {
    "cbor_decode": _cbor_decode,
    "base45_decode": _base45_decode,
    "qr_decode": _qr_decode,
    "verify_qr": _verify_qr,
    "verify_presentation": _verify_presentation,
    "verify_credential": _verify_credential,
    "verify_possession": _verify_possession,
    "decode_bundle": _decode_bundle,
    "verify_status_list": _verify_status_list,
    "trust_list_update": _trust_list_update,
    "verify_statement": _verify_statement,
    "verify_evidence": _verify_evidence,
    "apdu_parse_command": _apdu_parse_command,
    "apdu_parse_response": _apdu_parse_response,
    "nfc_reader": _nfc_reader,
    "nfc_holder": _nfc_holder,
}


def run_case(case: Mapping[str, Any]) -> Result:
    """Run one case against this library; never raises."""
    operation = OPERATIONS.get(case.get("operation", ""))
    if operation is None:
        return {"result": "skipped", "reason": f"unknown operation {case.get('operation')!r}"}
    try:
        return operation(case)
    except VitaleCredError as exc:
        return _invalid(exc)
    except HarnessError as exc:
        return {"result": "error", "message": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any other exception is a finding, reported
        return {"result": "error", "message": f"{type(exc).__name__}: {exc}"}


def main() -> int:
    """Read one case JSON on stdin, print one result JSON on stdout."""
    try:
        case = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        print(json.dumps({"result": "error", "message": f"stdin is not JSON: {exc}"}))
        return 2
    print(json.dumps(run_case(case), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
