"""The CDDL of ``spec/cddl`` against real encodings, checked by an independent tool.

pycddl (a Rust CDDL implementation) validates what the library produces: every
credential of family5.json under each issuer algorithm, delegated credentials,
credentials with a status reference, presentations, the bundle, a proof of
possession and a trust list. Mutated encodings must be rejected by the schema, and
by the library's own decoders where the protocol refuses them too.

pycddl 0.6.4 departs from RFC 8610 in the ways below; :func:`pycddl_form` and
:func:`check` work around each, and the normative files are left as written:

1. a ``.cbor`` control on one member of an array is applied to every member, so
   the ``*-bstr = bstr .cbor rule`` members of COSE_Sign1 arrays are relaxed to
   ``bstr`` and their embedded bytes are validated separately against ``rule``;
2. maps inside arrays are not checked for unknown keys, so each such map (COSE
   headers, periods, exonerations, trust-list entries) is also validated on its own;
3. a map whose entries are all optional accepts unknown keys, so
   ``credential-unprotected`` and ``empty-header``, validated on their own, use
   equivalent closed forms built on ``#5.0`` (a map of zero pairs);
4. ``.regexp`` searches instead of matching the whole text (RFC 8610 uses XSD
   regular expressions, implicitly anchored), so every pattern is anchored;
5. ``.size`` does not check the type it controls (``tstr .size 4`` accepts the
   integer 42), so ``T .size R`` becomes ``(T .size R) .and T``, except on the
   members of COSE_Sign1 arrays, where ``.and`` is applied to the whole array;
6. in an array with an occurrence indicator, a type choice named by a rule is
   matched against its first alternative only, so such choices are inlined, and
   group-to-choice enumerations ``&(name: value, ...)`` become plain choices.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vitale_cred.clock import FixedClock
from vitale_cred.credential import (
    CredentialBundle,
    Delegation,
    Issuer,
    decode_claims,
    strip_x5chain,
)
from vitale_cred.device import SoftwareDeviceKey, possession_proof, verify_possession
from vitale_cred.errors import DateInvalid, VitaleCredError
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.model import Card
from vitale_cred.pki import IssuerMaterial, make_issuer_certificate
from vitale_cred.presentation import decode_presentation_payload, present
from vitale_cred.registry import CoseAlg
from vitale_cred.statement import (
    Invoice,
    ProfessionalKind,
    Statement,
    holder_digest,
    sign_statement,
    verify_statement,
)
from vitale_cred.status import StatusReference
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import TrustList, TrustListEntry, sign_trust_list

if os.environ.get("CI"):
    import pycddl  # under CI a missing validator is a failure, not a skip
else:
    pycddl = pytest.importorskip("pycddl")

ROOT = Path(__file__).resolve().parent.parent
CDDL_FILES = (
    "credential.cddl",
    "presentation.cddl",
    "proof.cddl",
    "bundle.cddl",
    "trustlist.cddl",
    "statement.cddl",
    "nfc.cddl",
    "status.cddl",
)
ROOT_RULES = ("credential", "presentation", "proof", "bundle", "trust-list", "statement")
TAGS = frozenset({18})
T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOW = int((T0 + dt.timedelta(days=2)).timestamp())
STATUS_URI = "https://status.example.fr/lists/1"

# Workaround 3: closed forms of the maps whose entries are all optional, used when
# such a map is validated on its own (inside an array, pycddl applies ``#5.0`` to the
# array itself); the normative rule each one stands for must be unchanged.
CLOSED_RULES = {
    "credential-unprotected = { ? 33 => x5chain }": (
        "credential-unprotected-closed = #5.0 / { 33 => x5chain }"
    ),
    "empty-header = {}": "empty-header-closed = #5.0",
}
_EMBEDDED_RULE = re.compile(r"^([a-z0-9-]+-bstr) = bstr \.cbor ([a-z0-9-]+)$", re.MULTILINE)
_REGEXP = re.compile(r'\.regexp "([^"]*)"')
_SIZE = re.compile(r"\b(tstr|bstr|uint) \.size (\(\d+\.\.\d+\)|\d+)")
_ARRAY_MEMBER = re.compile(r"^\s+[a-z][a-z0-9-]*: ")  # "signature: bstr .size 64,"
_ENUMERATION = re.compile(r"&\(([^)]*)\)")
_OCCURRENCE_ARRAY = re.compile(r"\[(\+|\d*\*\d*) ([a-z][a-z0-9-]*)\]")

# Workaround 1: COSE_Sign1 members validated on their own (protected, unprotected,
# payload), and credentials embedded in other structures.
SIGN1 = {
    "credential": ("credential-protected", "credential-unprotected-closed", "claims"),
    "presentation": ("device-protected", "empty-header-closed", "presentation-payload"),
    "proof": ("device-protected", "empty-header-closed", "proof-payload"),
    "trust-list": ("trust-list-protected", "empty-header-closed", "trust-list-payload"),
    "statement": ("statement-protected", "credential-unprotected-closed", "statement-payload"),
    "status-list-token": ("status-list-protected", "empty-header-closed", "status-list-claims"),
}
EMBEDDED = {
    "presentation-payload": {1: "credential"},
    "bundle": {2: "credential"},
    "request": {1: "reader-info"},
}
# Workaround 2: maps inside arrays, and the maps leading to them.
ARRAY_ITEMS = {
    "beneficiary": {6: "period", 7: "exoneration"},
    "trust-list-payload": {4: "trust-entry"},
    "statement-payload": {4: "invoice"},
}
SUBMAPS = {
    "claims": {-65537: "card"},
    "card": {5: "beneficiary"},
    "status-list-claims": {65533: "status-list"},
}


def normative_text() -> str:
    return "\n".join((ROOT / "spec" / "cddl" / name).read_text("utf-8") for name in CDDL_FILES)


def pycddl_form(text: str) -> str:
    """The normative CDDL rewritten around pycddl's departures from RFC 8610."""
    for normative, closed in CLOSED_RULES.items():
        assert normative in text, f"rule changed in spec/cddl: {normative!r}"
        text += f"\n{closed}\n"
    text = _EMBEDDED_RULE.sub(r"\1 = bstr", text)
    text = _REGEXP.sub(lambda m: f'.regexp "^(?:{m.group(1)})$"', text)
    text = "\n".join(
        line if _ARRAY_MEMBER.match(line) else _SIZE.sub(r"(\1 .size \2) .and \1", line)
        for line in text.splitlines()
    )
    text = _ENUMERATION.sub(lambda m: " / ".join(re.findall(r":\s*(-?\d+)", m.group(1))), text)
    rules = dict(re.findall(r"^([a-z][a-z0-9-]*) = ([^;\n]*?)\s*(?:;.*)?$", text, re.MULTILINE))

    def inline(m: re.Match[str]) -> str:
        definition = rules.get(m.group(2), "")
        if " / " not in definition or "{" in definition:
            return m.group(0)
        return f"[{m.group(1)} ({definition})]"

    return _OCCURRENCE_ARRAY.sub(inline, text)


@functools.cache
def schema(rule: str) -> Any:
    return pycddl.Schema(f"root = {rule}\n{pycddl_form(normative_text())}")


def validate(data: bytes, rule: str) -> None:
    schema(rule).validate_cbor(data)


def check(data: bytes, rule: str) -> None:
    """Validate ``data`` against ``rule``, then every part pycddl does not reach."""
    validate(data, rule)
    if rule in SIGN1:
        item = _cbor.decode(data, tags=TAGS)
        protected, unprotected, payload, _signature = item.value
        protected_rule, unprotected_rule, payload_rule = SIGN1[rule]
        check(protected, protected_rule)
        check(_cbor.encode(unprotected), unprotected_rule)
        check(payload, payload_rule)
        return
    walk(_cbor.decode(data, max_size=1 << 20, deterministic=False), rule)


def walk(value: Any, rule: str) -> None:
    if not isinstance(value, dict):
        return
    for label, sub in SUBMAPS.get(rule, {}).items():
        if label in value:
            walk(value[label], sub)
    for label, item_rule in ARRAY_ITEMS.get(rule, {}).items():
        for element in value.get(label, ()):
            check(_cbor.encode(element), item_rule)
    for label, inner in EMBEDDED.get(rule, {}).items():
        embedded = value.get(label)
        for data in embedded if isinstance(embedded, list) else [embedded]:
            check(data, inner)


# --- real encodings -------------------------------------------------------------------


@dataclass
class Material:
    card: Card
    device: SoftwareDeviceKey
    proof: bytes
    issuers: dict[str, Issuer]
    clock: FixedClock


def _family5() -> Card:
    path = ROOT / "spec" / "examples" / "family5.json"
    return Card.from_json(json.loads(path.read_text("utf-8")))


def _chained_issuer(clock: FixedClock) -> Issuer:
    """An issuer whose x5chain is an array: issuer certificate + intermediate."""
    root_material = IssuerMaterial.generate(CoseAlg.ES256, T0)
    assert root_material.root_key is not None
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    intermediate = make_issuer_certificate(
        intermediate_key.public_key(),
        "intermediate",
        root_material.root_key,
        root_material.root_certificate,
        T0,
        T0 + dt.timedelta(days=700),
        ca=True,
    )
    issuer_key = ec.generate_private_key(ec.SECP256R1())
    certificate = make_issuer_certificate(
        issuer_key.public_key(),
        "Caisse (chain)",
        intermediate_key,
        intermediate,
        T0,
        T0 + dt.timedelta(days=700),
    )
    kid = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]
    return Issuer(
        cose.SoftwareSigner(issuer_key),
        kid=kid,
        clock=clock,
        x5chain=[certificate, intermediate],
        iss="Caisse (chain)",
    )


@pytest.fixture(scope="module")
def material() -> Material:
    clock = FixedClock(NOW)
    device = SoftwareDeviceKey.generate()
    nonce = bytes(range(16))
    proof = possession_proof(device, nonce, NOW)
    issuers = {}
    for alg in (CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA):
        m = IssuerMaterial.generate(alg, T0)
        issuers[alg.name] = Issuer(
            m.signer(), kid=m.kid, clock=clock, x5chain=[m.issuer_certificate]
        )
    issuers["chain"] = _chained_issuer(clock)
    return Material(_family5(), device, proof, issuers, clock)


def _proven(material: Material) -> Any:
    return verify_possession(material.proof, bytes(range(16)), NOW)


def _bundle(material: Material, issuer: str = "ES256", **kwargs: Any) -> CredentialBundle:
    kwargs.setdefault("valid_days", 365)
    return material.issuers[issuer].issue(material.card, _proven(material), **kwargs)


# --- the normative text ---------------------------------------------------------------


@pytest.mark.parametrize("rule", ROOT_RULES)
def test_normative_text_is_valid_cddl(rule: str) -> None:
    pycddl.Schema(f"root = {rule}\n{normative_text()}")


def test_workarounds_apply_to_the_expected_rules() -> None:
    text = normative_text()
    relaxed = {m.group(1): m.group(2) for m in _EMBEDDED_RULE.finditer(text)}
    assert relaxed == {
        "credential-protected-bstr": "credential-protected",
        "claims-bstr": "claims",
        "device-protected-bstr": "device-protected",
        "presentation-payload-bstr": "presentation-payload",
        "credential-bstr": "credential",
        "proof-payload-bstr": "proof-payload",
        "trust-list-protected-bstr": "trust-list-protected",
        "trust-list-payload-bstr": "trust-list-payload",
        "statement-protected-bstr": "statement-protected",
        "statement-payload-bstr": "statement-payload",
        "reader-info-bstr": "reader-info",
        "status-list-protected-bstr": "status-list-protected",
        "status-list-claims-bstr": "status-list-claims",
    }
    assert ".cbor" not in pycddl_form(text)
    assert len(_REGEXP.findall(text)) == 2


# --- valid encodings -----------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["ES256", "ES384", "EDDSA", "chain"])
def test_every_beneficiary_full_and_compact(material: Material, issuer: str) -> None:
    bundle = _bundle(material, issuer)
    assert len(bundle.credentials) == 5
    for credential in bundle.credentials:
        check(credential, "credential")
        check(strip_x5chain(credential), "credential")


def test_delegated_credentials(material: Material) -> None:
    for delegation in (
        Delegation("MARTIN Pierre", "DUPONT Anne", "pharmacie uniquement"),
        Delegation("MARTIN Pierre", "DUPONT Anne"),
    ):
        bundle = _bundle(material, valid_days=30, delegation=delegation, beneficiaries=[4])
        (credential,) = bundle.credentials
        assert decode_claims(cose.decode_sign1(credential).payload).delegation == delegation
        check(credential, "credential")


@pytest.mark.parametrize(
    ("list_id", "first"), [(1, 1000), (0, 0), (2**32 - 1, 2**32 - 5)], ids=["1", "0", "max"]
)
def test_credentials_with_status(material: Material, list_id: int, first: int) -> None:
    refs = [StatusReference(list_id, first + i) for i in range(5)]
    for credential in _bundle(material, status=refs).credentials:
        claims = decode_claims(cose.decode_sign1(credential).payload)
        assert claims.status is not None
        assert claims.status.list_id == list_id
        check(credential, "credential")
        check(strip_x5chain(credential), "credential")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"audience": b"pharmacie-0042"},
        {"audience": bytes(64), "ttl": 300},
        {"transcript": hashlib.sha256(b"session").digest()},
        {"compact": False, "ttl": 1},
    ],
    ids=["qr", "audience", "audience-max", "transcript", "full-form"],
)
def test_presentations(material: Material, options: dict[str, Any]) -> None:
    for credential in _bundle(material).credentials:
        token = present(credential, material.device, clock=material.clock, **options)
        check(token, "presentation")


def test_bundle(material: Material) -> None:
    check(_bundle(material).encode(), "bundle")
    check(_bundle(material, beneficiaries=[0]).encode(), "bundle")


def test_proof_of_possession(material: Material) -> None:
    check(material.proof, "proof")


def _trust_list() -> bytes:
    es256 = IssuerMaterial.generate(CoseAlg.ES256, T0)
    eddsa = IssuerMaterial.generate(CoseAlg.EDDSA, T0)
    entries = (
        TrustListEntry(
            kid=b"raw-es256",
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT}),
            key=cose.CoseKey.from_public_key(es256.issuer_key.public_key()),
            not_before=NOW,
            not_after=NOW + 86_400,
            name="Caisse (raw key)",
        ),
        TrustListEntry(
            kid=eddsa.kid,
            algs=frozenset({CoseAlg.EDDSA}),
            usages=frozenset({Usage.CREDENTIAL}),
            certificate=eddsa.issuer_certificate.public_bytes(serialization.Encoding.DER),
        ),
    )
    trust_list = TrustList(seq=7, issued_at=NOW, next_update=NOW + 86_400, entries=entries)
    authority = IssuerMaterial.generate(CoseAlg.ES256, T0)
    return sign_trust_list(trust_list, authority.signer(), kid=b"authority")


def test_trust_list() -> None:
    check(_trust_list(), "trust-list")


_STATEMENT_ISSUER = IssuerMaterial.generate(CoseAlg.ES256, T0)
_STATEMENT_KID = b"statement-kid"
_STATEMENT_TYP = {16: "application/vitale-statement+cbor"}


def _statement(device: SoftwareDeviceKey, *, certificate: bool = False) -> bytes:
    invoices = (
        Invoice(dt.date(2026, 10, 2), ProfessionalKind.MEDECIN, 3000, 2000),
        Invoice(dt.date(2026, 10, 3), ProfessionalKind.PHARMACIE, 1234, 1234, beneficiary=4),
        Invoice(dt.date(2026, 10, 5), ProfessionalKind.AUTRE, 0, 0, beneficiary=15),
    )
    statement = Statement(NOW, 7511000042, holder_digest(device.cose_key()), invoices)
    der = _STATEMENT_ISSUER.issuer_certificate.public_bytes(serialization.Encoding.DER)
    return sign_statement(
        statement,
        _STATEMENT_ISSUER.signer(),
        kid=_STATEMENT_KID,
        x5chain=der if certificate else None,
    )


@pytest.mark.parametrize("certificate", [False, True], ids=["kid", "x5chain"])
def test_statement(material: Material, certificate: bool) -> None:
    check(_statement(material.device, certificate=certificate), "statement")


# --- invalid encodings ----------------------------------------------------------------


def _claims(material: Material, index: int = 0) -> dict[Any, Any]:
    credential = _bundle(material).credentials[index]
    claims: dict[Any, Any] = _cbor.decode(cose.decode_sign1(credential).payload)
    return claims


def _with_beneficiary(claims: dict[Any, Any], label: int, value: Any) -> dict[Any, Any]:
    beneficiary = {**claims[-65537][5], label: value}
    return {**claims, -65537: {**claims[-65537], 5: beneficiary}}


def _payload(material: Material) -> dict[Any, Any]:
    token = present(_bundle(material).credentials[0], material.device, clock=material.clock)
    payload: dict[Any, Any] = _cbor.decode(cose.decode_sign1(token).payload)
    return payload


def _untagged(material: Material) -> bytes:
    return _cbor.encode(_cbor.decode(_bundle(material).credentials[0], tags=TAGS).value)


def _with_unprotected(material: Material, header: dict[int, Any]) -> bytes:
    item = _cbor.decode(_bundle(material).credentials[0], tags=TAGS)
    protected, _, payload, signature = item.value
    return _cbor.encode(_cbor.Tagged(18, [protected, header, payload, signature]))


def _proof_with(material: Material, label: int, value: Any) -> bytes:
    payload = {**_cbor.decode(cose.decode_sign1(material.proof).payload), label: value}
    return cose.sign1(_cbor.encode(payload), material.device)


def _with_card(claims: dict[Any, Any], label: int, value: Any) -> dict[Any, Any]:
    card = {**claims[-65537], label: value}
    if value is _OMIT:
        del card[label]
    return {**claims, -65537: card}


_OMIT = object()


def _decode_credential_claims(data: bytes) -> None:
    decode_claims(data)


def _decode_credential(data: bytes) -> None:
    message = cose.decode_sign1(data)
    decode_claims(message.payload)


def _trust_payload(entry_changes: dict[int, Any]) -> bytes:
    payload = _cbor.decode(cose.decode_sign1(_trust_list()).payload)
    payload[4][0].update(entry_changes)
    return _cbor.encode(payload)


def _decode_trust_payload(data: bytes) -> None:
    TrustList.from_wire(_cbor.decode(data))


def _statement_payload(material: Material, changes: dict[int, Any]) -> bytes:
    payload = _cbor.decode(cose.decode_sign1(_statement(material.device)).payload)
    payload[4][0].update(changes)
    return _cbor.encode(payload)


def _verify_statement_payload(material: Material) -> Callable[[bytes], None]:
    def verify(payload: bytes) -> None:
        token = cose.sign1(
            payload, _STATEMENT_ISSUER.signer(), kid=_STATEMENT_KID, protected=_STATEMENT_TYP
        )
        key = cose.CoseKey.from_public_key(_STATEMENT_ISSUER.signer().public_key())
        trust = TrustStore(keys=[raw_key(key, _STATEMENT_KID)])
        verify_statement(token, trust, device_key=material.device.cose_key(), clock=FixedClock(NOW))

    return verify


def _decode_bundle(data: bytes) -> None:
    CredentialBundle.decode(data)


def _verify_proof(data: bytes) -> None:
    verify_possession(data, bytes(range(16)), NOW)


Mutation = Callable[[Material], bytes]

# (id, rule, invalid encoding, library decoder that must reject it too, or None where
# the protocol lets receivers accept more than producers emit: encoding.md section 6)
INVALID: list[tuple[str, str, Mutation, Callable[[bytes], None] | None]] = [
    (
        "claims-unknown-claim",
        "claims",
        lambda m: _cbor.encode({**_claims(m), 2: "sub"}),
        _decode_credential_claims,
    ),
    (
        "claims-without-cnf",
        "claims",
        lambda m: _cbor.encode({k: v for k, v in _claims(m).items() if k != 8}),
        _decode_credential_claims,
    ),
    (
        "claims-exp-as-text",
        "claims",
        lambda m: _cbor.encode({**_claims(m), 4: "2027"}),
        _decode_credential_claims,
    ),
    (
        "cnf-uncompressed-key",
        "claims",
        lambda m: _cbor.encode(
            {
                **_claims(m),
                8: {1: cose.CoseKey.from_public_key(m.device.public_key()).to_map()},
            }
        ),
        None,
    ),
    (
        "card-version-label-0",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 0, 1)),
        _decode_credential_claims,
    ),
    (
        "card-index-0-written",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 6, 0)),
        _decode_credential_claims,
    ),
    (
        "card-dependant-without-index",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m, 1), 6, _OMIT)),
        _decode_credential_claims,
    ),
    (
        "card-index-16",
        "claims",
        lambda m: _cbor.encode({**_claims(m, 1), -65537: {**_claims(m, 1)[-65537], 6: 16}}),
        _decode_credential_claims,
    ),
    (
        "beneficiary-family-name-integer",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 1, 42)),
        _decode_credential_claims,
    ),
    (
        "beneficiary-unknown-label",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 12, "diagnosis")),
        _decode_credential_claims,
    ),
    (
        "beneficiary-birth-rank-default-written",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 4, 1)),
        _decode_credential_claims,
    ),
    (
        "beneficiary-one-given-name-in-an-array",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 2, ["Claire"])),
        _decode_credential_claims,
    ),
    (
        "beneficiary-given-names-integer",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 2, 1)),
        _decode_credential_claims,
    ),
    (
        "card-nir-integer",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 1, 1_780_475_056_123)),
        _decode_credential_claims,
    ),
    (
        "card-nir-7-bytes",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 1, (1_780_475_056_123).to_bytes(7, "big"))),
        _decode_credential_claims,
    ),
    (
        "beneficiary-five-given-names",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 2, ["A", "B", "C", "D", "E"])),
        _decode_credential_claims,
    ),
    (
        "beneficiary-qualite-7",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 5, 7)),
        _decode_credential_claims,
    ),
    (
        "beneficiary-dependant-qualite-assure",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 5, 0)),
        _decode_credential_claims,
    ),
    (
        "beneficiary-insured-qualite-written",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 5, 0)),
        _decode_credential_claims,
    ),
    (
        "beneficiary-empty-amo",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 6, [])),
        _decode_credential_claims,
    ),
    (
        "period-as-a-map",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 6, [{1: 18262}])),
        _decode_credential_claims,
    ),
    (
        "period-empty",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 6, [[]])),
        _decode_credential_claims,
    ),
    (
        "period-three-items",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 6, [[18262, 18263, 18264]])),
        _decode_credential_claims,
    ),
    (
        "css-not-an-array",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 8, 18262)),
        _decode_credential_claims,
    ),
    (
        "exoneration-code-6",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 7, [[6, 19783]])),
        _decode_credential_claims,
    ),
    (
        "exoneration-without-start",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 7, [[1]])),
        _decode_credential_claims,
    ),
    (
        "exoneration-four-items",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m, 1), 7, [[1, 19783, 21608, 0]])),
        _decode_credential_claims,
    ),
    (
        "amc-organisation-not-digits",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 9, ["7550001A", "MUT", 20454])),
        _decode_credential_claims,
    ),
    (
        "amc-without-start",
        "claims",
        lambda m: _cbor.encode(_with_beneficiary(_claims(m), 9, ["75500017", "MUT"])),
        _decode_credential_claims,
    ),
    (
        "amc-as-a-map",
        "claims",
        lambda m: _cbor.encode(
            _with_beneficiary(_claims(m), 9, {1: "75500017", 2: "MUT", 3: 20454})
        ),
        _decode_credential_claims,
    ),
    (
        "status-draft-claim",
        "claims",
        lambda m: _cbor.encode(
            {**_claims(m), 65535: {"status_list": {"idx": 1, "uri": STATUS_URI}}}
        ),
        _decode_credential_claims,
    ),
    (
        "status-one-item",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [1])),
        _decode_credential_claims,
    ),
    (
        "status-three-items",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [1, 2, 3])),
        _decode_credential_claims,
    ),
    (
        "status-idx-2^32",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [1, 2**32])),
        _decode_credential_claims,
    ),
    (
        "status-list-2^32",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [2**32, 1])),
        _decode_credential_claims,
    ),
    (
        "status-list-bool",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [True, 1])),
        _decode_credential_claims,
    ),
    (
        "status-uri-instead-of-list",
        "claims",
        lambda m: _cbor.encode(_with_card(_claims(m), 7, [STATUS_URI, 1])),
        _decode_credential_claims,
    ),
    (
        "delegation-unknown-label",
        "claims",
        lambda m: _cbor.encode({**_claims(m), -65538: {1: "A", 2: "B", 4: "C"}}),
        _decode_credential_claims,
    ),
    (
        "delegation-without-delegate",
        "claims",
        lambda m: _cbor.encode({**_claims(m), -65538: {1: "A"}}),
        _decode_credential_claims,
    ),
    ("credential-untagged", "credential", _untagged, _decode_credential),
    (
        "credential-unknown-unprotected-label",
        "credential",
        lambda m: _with_unprotected(m, {4: b"kid"}),
        None,  # receivers ignore non-critical header labels
    ),
    (
        "credential-x5chain-empty-array",
        "credential",
        lambda m: _with_unprotected(m, {33: []}),
        None,  # refused at issuer resolution (trust.failed), not at decoding
    ),
    (
        "presentation-without-nonce",
        "presentation-payload",
        lambda m: _cbor.encode({k: v for k, v in _payload(m).items() if k != 4}),
        decode_presentation_payload,
    ),
    (
        "presentation-short-nonce",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 4: bytes(11)}),
        decode_presentation_payload,
    ),
    (
        "presentation-16-byte-nonce",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 4: bytes(16)}),
        decode_presentation_payload,
    ),
    (
        "presentation-unknown-label",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 7: b""}),
        decode_presentation_payload,
    ),
    (
        "presentation-ttl-60-written",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 3: 60}),
        decode_presentation_payload,
    ),
    (
        "presentation-ttl-301",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 3: 301}),
        None,  # decodes; the verifier's lifetime cap refuses it
    ),
    (
        "presentation-credential-garbage",
        "presentation-payload",
        lambda m: _cbor.encode({**_payload(m), 1: b"\x18"}),
        None,  # decodes; credential decoding refuses it
    ),
    (
        "bundle-17-credentials",
        "bundle",
        lambda m: _cbor.encode({1: 1, 2: [_bundle(m).credentials[0]] * 17}),
        _decode_bundle,
    ),
    (
        "bundle-version-2",
        "bundle",
        lambda m: _cbor.encode({1: 2, 2: list(_bundle(m).credentials)}),
        _decode_bundle,
    ),
    (
        "trust-entry-key-and-certificate",
        "trust-list-payload",
        lambda m: _trust_payload({3: b"certificate"}),
        _decode_trust_payload,
    ),
    (
        "trust-entry-usage-4",
        "trust-list-payload",
        lambda m: _trust_payload({5: [1, 4]}),
        _decode_trust_payload,
    ),
    (
        "trust-entry-unknown-label",
        "trust-list-payload",
        lambda m: _trust_payload({9: "x"}),
        _decode_trust_payload,
    ),
    (
        "proof-wrong-context",
        "proof",
        lambda m: _proof_with(m, 1, "vitale-cred/enrol/v2"),
        _verify_proof,
    ),
    (
        "proof-short-nonce",
        "proof",
        lambda m: _proof_with(m, 2, bytes(8)),
        _verify_proof,
    ),
]


@pytest.mark.parametrize(
    ("rule", "mutation"), [(r, f) for _, r, f, _ in INVALID], ids=[i for i, *_ in INVALID]
)
def test_schema_rejects(material: Material, rule: str, mutation: Mutation) -> None:
    with pytest.raises(pycddl.ValidationError):
        check(mutation(material), rule)


@pytest.mark.parametrize(
    ("mutation", "decoder"),
    [(f, d) for _, _, f, d in INVALID if d is not None],
    ids=[i for i, _, _, d in INVALID if d is not None],
)
def test_library_rejects_too(
    material: Material, mutation: Mutation, decoder: Callable[[bytes], None]
) -> None:
    with pytest.raises(VitaleCredError):
        decoder(mutation(material))


def test_calendar_checks_go_beyond_the_schema(material: Material) -> None:
    """CDDL bounds a birth date to -62400..83199; only the calendar check refuses
    2023-02-29 or 1978-02-30."""
    for value in ((2023 - 2000) * 416 + 2 * 32 + 29, (1978 - 2000) * 416 + 2 * 32 + 30):
        claims = _with_beneficiary(_claims(material), 3, value)
        check(_cbor.encode(claims), "claims")
        with pytest.raises(DateInvalid):
            decode_claims(_cbor.encode(claims))


@pytest.mark.parametrize(
    ("changes", "rule"),
    [({2: 8}, "statement-payload"), ({6: 1}, "statement-payload"), ({3: -1}, "statement-payload")],
    ids=["kind-8", "unknown-label", "negative-amount"],
)
def test_invalid_invoices(material: Material, changes: dict[int, Any], rule: str) -> None:
    payload = _statement_payload(material, changes)
    with pytest.raises(pycddl.ValidationError):
        check(payload, rule)
    with pytest.raises(VitaleCredError):
        _verify_statement_payload(material)(payload)
