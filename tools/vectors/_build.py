"""Builders shared by the case modules: signed structures, trust and policy JSON, cases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from tools.vectors._material import (
    CREDENTIAL_EXP,
    ISSUED_AT,
    Material,
    Pki,
    cose_key_hex,
    fixed_bytes,
    pem_certificate,
    pem_private,
)
from vitale_cred.cli.dump import diagnostic
from vitale_cred.credential import Delegation
from vitale_cred.device import SoftwareDeviceKey, device_cose_key
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey, Signer, sig_structure
from vitale_cred.model import CardView
from vitale_cred.presentation import NONCE_LENGTH, PresentationPayload
from vitale_cred.registry import CardLabel, CnfLabel, CoseAlg, CoseHeader, CoseTag, CwtClaim
from vitale_cred.status import StatusReference

__all__ = [
    "CaseList",
    "RawIssuer",
    "RawKey",
    "Signed",
    "claims_wire",
    "credential_fields",
    "invalid",
    "issue",
    "policy_json",
    "present",
    "presentation_fields",
    "sign1",
    "trust_json",
    "valid",
]

DEFAULT_ALGS = [int(CoseAlg.ES256), int(CoseAlg.ES384), int(CoseAlg.EDDSA)]
ISSUER_USAGES = ["credential", "status_list", "statement"]

# Failing step of each verification code, in the order a verifier runs them.
STEPS = ("decode", "signature", "validity", "binding", "status", "replay")
_STEP_OF_PREFIX = (
    ("qr.", "decode"),
    ("base45.", "decode"),
    ("compression.", "decode"),
    ("cbor.", "decode"),
    ("schema.", "decode"),
    ("card.", "decode"),
    ("binding.cnf_missing", "decode"),
    ("status.reference_invalid", "decode"),
    ("cose.malformed", "decode"),
    ("cose.detached_payload", "decode"),
    ("cose.header_conflict", "decode"),
    ("cose.unknown_critical", "decode"),
    ("trust.", "signature"),
    ("cose.", "signature"),
    ("validity.", "validity"),
    ("delegation.", "validity"),
    ("binding.", "binding"),
    ("presentation.replayed", "replay"),
    ("presentation.", "binding"),
    ("status.", "status"),
)


def step_of(code: str) -> str:
    """The verification step a code belongs to (see spec/vectors/README.md)."""
    for prefix, step in _STEP_OF_PREFIX:
        if code.startswith(prefix):
            return step
    raise ValueError(f"no step for {code}")


def h(data: bytes) -> str:
    """Lower-case hex."""
    return data.hex()


def sha256_hex(data: bytes) -> str:
    """SHA-256, hex."""
    return hashlib.sha256(data).hexdigest()


def diag(data: bytes) -> str | None:
    """Diagnostic notation of ``data`` (lenient decode), or None when it does not decode."""
    try:
        return diagnostic(_cbor.decode(data, tags=frozenset({18, 24, 61}), deterministic=False))
    except VitaleCredError:
        return None


# --- COSE_Sign1 ---------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A COSE_Sign1 and its parts, as sent."""

    data: bytes
    protected: bytes
    payload: bytes
    signature: bytes
    to_be_signed: bytes


def sign1(
    signer: Signer,
    payload: bytes,
    *,
    protected: Mapping[int, Any] | bytes | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    kid: bytes | None = None,
    alg: int | None = None,
    tagged: bool = True,
    signature: bytes | None = None,
) -> Signed:
    """Sign ``payload``; ``protected`` (map or exact bytes) replaces ``{alg, kid}`` if given."""
    if isinstance(protected, bytes):
        protected_bytes = protected
    else:
        header: dict[int, Any] = {CoseHeader.ALG: int(signer.alg if alg is None else alg)}
        if kid is not None:
            header[CoseHeader.KID] = kid
        if protected is not None:
            header = dict(protected)
        protected_bytes = _cbor.encode(header)
    tbs = sig_structure(protected_bytes, payload)
    sig = signer.sign(tbs) if signature is None else signature
    body: list[Any] = [protected_bytes, dict(unprotected or {}), payload, sig]
    item: Any = _cbor.Tagged(CoseTag.COSE_SIGN1, body) if tagged else body
    return Signed(_cbor.encode(item), protected_bytes, payload, sig, tbs)


# --- credentials and presentations ---------------------------------------------------


def claims_wire(
    mat: Material,
    index: int = 0,
    *,
    iat: int = ISSUED_AT,
    exp: int = CREDENTIAL_EXP,
    nbf: int | None = None,
    iss: str | None = None,
    device: SoftwareDeviceKey | None = None,
    delegation: Delegation | None = None,
    status: StatusReference | None = None,
) -> dict[int, Any]:
    """The claims map of the credential of beneficiary ``index`` of the card."""
    key = device_cose_key((device or mat.device).public_key())
    card = mat.card.view(index).to_wire()
    if status is not None:
        card[CardLabel.STATUS] = status.to_wire()
    out: dict[int, Any] = {
        CwtClaim.IAT: iat,
        CwtClaim.EXP: exp,
        CwtClaim.CNF: {CnfLabel.COSE_KEY: key.to_map()},
        CwtClaim.CARD: card,
    }
    if nbf is not None:
        out[CwtClaim.NBF] = nbf
    if iss is not None:
        out[CwtClaim.ISS] = iss
    if delegation is not None:
        out[CwtClaim.DELEGATION] = delegation.to_wire()
    return out


def issue(
    pki: Pki,
    claims: Mapping[int, Any] | bytes,
    *,
    full: bool = False,
    kid: bytes | None = None,
    protected: Mapping[int, Any] | bytes | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    tagged: bool = True,
    signature: bytes | None = None,
) -> Signed:
    """A credential signed by the PKI's issuer key (compact unless ``full``)."""
    payload = claims if isinstance(claims, bytes) else _cbor.encode(dict(claims))
    header = dict(unprotected or {})
    if full:
        chain = pki.x5chain()
        header[CoseHeader.X5CHAIN] = chain[0] if len(chain) == 1 else chain
    return sign1(
        pki.signer(),
        payload,
        protected=protected,
        unprotected=header,
        kid=pki.kid if kid is None else kid,
        tagged=tagged,
        signature=signature,
    )


def issue_raw(
    signer: Signer,
    kid: bytes,
    claims: Mapping[int, Any] | bytes,
    **options: Any,
) -> Signed:
    """A credential signed by a raw (certificate-less) key."""
    payload = claims if isinstance(claims, bytes) else _cbor.encode(dict(claims))
    return sign1(signer, payload, kid=kid, **options)


def nonce_for(case_id: str) -> bytes:
    """The 12-byte presentation nonce of a case."""
    return fixed_bytes(f"nonce/{case_id}", NONCE_LENGTH)


def present(
    credential: bytes,
    device: Signer,
    *,
    iat: int,
    nonce: bytes,
    ttl: int = 60,
    audience: bytes | None = None,
    transcript: bytes | None = None,
    payload: Mapping[int, Any] | bytes | None = None,
    protected: Mapping[int, Any] | bytes | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    tagged: bool = True,
) -> Signed:
    """A presentation signed by ``device`` (``payload`` overrides the usual map)."""
    if payload is None:
        payload = PresentationPayload(credential, iat, ttl, nonce, audience, transcript).to_wire()
    raw = payload if isinstance(payload, bytes) else _cbor.encode(dict(payload))
    return sign1(device, raw, protected=protected, unprotected=unprotected, tagged=tagged)


# --- JSON pieces ---------------------------------------------------------------------


@dataclass(frozen=True)
class RawKey:
    """A kid-indexed key of a trust configuration."""

    kid: bytes
    key: CoseKey
    usages: Sequence[str] = tuple(ISSUER_USAGES)
    not_before: int | None = None
    not_after: int | None = None


def trust_json(
    *,
    roots: Iterable[x509.Certificate] = (),
    certificates: Iterable[tuple[x509.Certificate, Sequence[x509.Certificate]]] = (),
    keys: Iterable[RawKey] = (),
    allowed_algs: Sequence[int] = tuple(DEFAULT_ALGS),
    withdrawn: Iterable[bytes] = (),
    withdrawn_keys: Iterable[bytes] = (),
) -> dict[str, Any]:
    """A trust store, as the ``trust`` member of a case (``withdrawn_keys``, SPKI
    SHA-256 values, only when there are some, so that older cases keep their bytes)."""
    out: dict[str, Any] = {
        "withdrawn": [h(kid) for kid in withdrawn],
        "allowed_algs": list(allowed_algs),
        "roots": [pem_certificate(c) for c in roots],
        "certificates": [
            {
                "certificate": pem_certificate(cert),
                "intermediates": [pem_certificate(c) for c in inter],
            }
            for cert, inter in certificates
        ],
        "keys": [
            {
                "kid": h(k.kid),
                "cose_key": cose_key_hex(k.key),
                "alg": int(k.key.default_alg()),
                "usages": list(k.usages),
                "not_before": k.not_before,
                "not_after": k.not_after,
            }
            for k in keys
        ],
    }
    identities = [h(identity) for identity in withdrawn_keys]
    if identities:
        out["withdrawn_keys"] = identities
    return out


def pki_trust(pki: Pki, *, registered: bool = True, **options: Any) -> dict[str, Any]:
    """Trust the PKI's root, with its issuer certificate registered (kid lookups)."""
    certificates = [(pki.issuer, list(pki.intermediates))] if registered else []
    return trust_json(roots=[pki.root], certificates=certificates, **options)


def status_policy_json(
    lists: Sequence[bytes],
    *,
    on_undetermined: str = "reject",
    max_age: int = 0,
) -> dict[str, Any]:
    """The ``policy.status`` member: a status checker over published tokens."""
    return {
        "on_undetermined": on_undetermined,
        "max_age": max_age,
        "lists": [h(token) for token in lists],
    }


def policy_json(
    *,
    skew: int = 30,
    max_token_lifetime: int = 300,
    audience: bytes | None = None,
    allow_delegated: bool = True,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A verifier policy, every parameter explicit."""
    return {
        "skew": skew,
        "max_token_lifetime": max_token_lifetime,
        "audience": None if audience is None else h(audience),
        "allow_delegated": allow_delegated,
        "status": status,
    }


def pki_keys(pki: Pki, label: str = "issuer") -> dict[str, Any]:
    """Informative key material of a PKI (for producers reproducing the vectors)."""
    out: dict[str, Any] = {
        "alg": int(pki.alg),
        "kid": h(pki.kid),
        "private_key": pem_private(pki.issuer_key),
    }
    return {label: out}


def device_keys(device: SoftwareDeviceKey, label: str = "device") -> dict[str, Any]:
    """Informative device key material: PKCS#8 PEM and the compressed COSE_Key."""
    return {
        label: {
            "alg": int(CoseAlg.ES256),
            "private_key": device.export_private_pem().decode("ascii"),
            "cose_key": cose_key_hex(device.cose_key()),
        }
    }


# --- expected results ----------------------------------------------------------------


def credential_fields(
    view: CardView,
    *,
    issuer_kid: bytes,
    iat: int = ISSUED_AT,
    exp: int = CREDENTIAL_EXP,
    delegation: Delegation | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Fields of a verified credential (spec/vectors/README.md, "Fields")."""
    beneficiary = view.beneficiary.to_json()
    return {
        "insured_nir": view.nir.value,
        "organisme": str(view.organisme),
        "card_serial": view.serial,
        "card_issued": view.issued.isoformat(),
        "beneficiary_index": view.index,
        "beneficiary": beneficiary,
        "delegation": None
        if delegation is None
        else {
            "delegator": delegation.delegator,
            "delegate": delegation.delegate,
            "limits": delegation.limits,
        },
        "issuer_kid": h(issuer_kid),
        "credential_iat": iat,
        "credential_exp": exp,
        "status": status,
    }


def presentation_fields(
    view: CardView,
    *,
    issuer_kid: bytes,
    token_iat: int,
    ttl: int,
    nonce: bytes,
    audience: bytes | None = None,
    transcript: bytes | None = None,
    **credential: Any,
) -> dict[str, Any]:
    """Fields of a verified presentation."""
    out = credential_fields(view, issuer_kid=issuer_kid, **credential)
    out.update(
        {
            "token_iat": token_iat,
            "token_exp": token_iat + ttl,
            "nonce": h(nonce),
            "audience": None if audience is None else h(audience),
            "transcript": None if transcript is None else h(transcript),
        }
    )
    return out


def steps_for(
    operation: str, failing: str | None, *, status: bool, replay: bool
) -> dict[str, bool]:
    """Per-step expectations: passed steps true, the failing one false, later ones absent."""
    names = ["decode", "signature", "validity"]
    if operation != "verify_credential":
        names.append("binding")
    if status:
        names.append("status")
    if replay:
        names.append("replay")
    out: dict[str, bool] = {}
    for name in names:
        if name == failing:
            out[name] = False
            break
        out[name] = True
    return out


def valid(fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Expected: valid, with the given fields."""
    return {"result": "valid", "fields": dict(fields or {})}


def invalid(code: str) -> dict[str, Any]:
    """Expected: invalid, with ``code``."""
    return {"result": "invalid", "code": code}


@dataclass
class CaseList:
    """The cases of one area, with a check that ids are unique."""

    area: str
    cases: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        case_id: str,
        section: str,
        description: str,
        operation: str,
        expected: dict[str, Any],
        *,
        input: dict[str, Any],
        at: int | None = None,
        trust: dict[str, Any] | None = None,
        policy: dict[str, Any] | None = None,
        keys: dict[str, Any] | None = None,
        intermediate: dict[str, Any] | None = None,
        cddl: Sequence[tuple[str, str] | tuple[str, str, bool]] = (),
        params: dict[str, Any] | None = None,
        step: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        full_id = f"{self.area}-{case_id}"
        if any(c["id"] == full_id for c in self.cases):
            raise ValueError(f"duplicate case id {full_id}")
        entry: dict[str, Any] = {
            "id": full_id,
            "section": section,
            "description": description,
            "operation": operation,
            "input": input,
            "expected": dict(expected),
        }
        if at is not None:
            entry["at"] = at
        for name, value in (
            ("trust", trust),
            ("policy", policy),
            ("keys", keys),
            ("params", params),
        ):
            if value is not None:
                entry[name] = value
        if intermediate:
            entry["intermediate"] = {k: v for k, v in intermediate.items() if v is not None}
        if cddl:
            entry["cddl"] = [
                {"path": mark[0], "rule": mark[1], "conforms": mark[2] if len(mark) == 3 else True}
                for mark in cddl
            ]
        if extra:
            entry.update(extra)
        if operation in ("verify_qr", "verify_presentation", "verify_credential"):
            has_status = bool(policy and policy.get("status"))
            replay = operation in ("verify_qr", "verify_presentation") and not input.get(
                "transcript"
            )
            failing = None
            if expected["result"] == "invalid":
                failing = step or step_of(expected["code"])
            entry["expected"]["steps"] = steps_for(
                operation, failing, status=has_status, replay=replay
            )
        self.cases.append(entry)


def credential_intermediate(signed: Signed, prefix: str = "credential") -> dict[str, Any]:
    """Intermediate values of an issuer-signed structure."""
    return {
        prefix: h(signed.data),
        f"{prefix}_sha256": sha256_hex(signed.data),
        f"{prefix}_payload": h(signed.payload),
        f"{prefix}_sig_structure": h(signed.to_be_signed),
        f"{prefix}_payload_diagnostic": diag(signed.payload),
    }


def presentation_intermediate(token: Signed, credential: Signed | None) -> dict[str, Any]:
    """Intermediate values of a presentation and of the credential inside."""
    out: dict[str, Any] = {
        "presentation": h(token.data),
        "presentation_sha256": sha256_hex(token.data),
        "presentation_payload": h(token.payload),
        "presentation_sig_structure": h(token.to_be_signed),
        "presentation_payload_diagnostic": diag(token.payload),
    }
    if credential is not None:
        out.update(credential_intermediate(credential))
    return out


@dataclass(frozen=True)
class RawIssuer:
    """An issuer known by a raw key (kid-indexed trust, no certificate)."""

    name: str
    kid: bytes
    signer: Signer
    key: CoseKey
    private_pem: str

    @classmethod
    def of(cls, mat: Material, name: str) -> RawIssuer:
        """The raw key ``name`` of the material."""
        kid, signer = mat.raw_signer(name)
        _, private, _ = mat.raw[name]
        return cls(name, kid, signer, mat.raw_cose_key(name), pem_private(private))

    def issue(self, claims: Mapping[int, Any] | bytes, **options: Any) -> Signed:
        """A credential signed by this key, kid in the protected header."""
        return issue_raw(self.signer, options.pop("kid", self.kid), claims, **options)

    def trust(self, **options: Any) -> dict[str, Any]:
        """A trust store holding only this key."""
        return trust_json(keys=[RawKey(self.kid, self.key, **options)])

    def keys(self, label: str = "issuer") -> dict[str, Any]:
        """Informative key material."""
        return {
            label: {
                "alg": int(self.key.default_alg()),
                "kid": h(self.kid),
                "private_key": self.private_pem,
                "cose_key": cose_key_hex(self.key),
            }
        }
