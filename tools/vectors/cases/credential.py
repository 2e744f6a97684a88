"""Credential vectors: claims, card, device key, delegation, status reference, validity,
proof of possession and bundle (spec/credential.md, verification.md section 2)."""

from __future__ import annotations

import datetime as _dt
import struct
from collections.abc import Callable
from typing import Any

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    claims_wire,
    credential_fields,
    credential_intermediate,
    device_keys,
    h,
    invalid,
    policy_json,
    sign1,
    valid,
)
from tools.vectors._material import (
    CREDENTIAL_EXP,
    ISSUED_AT,
    SHOWN_AT,
    Material,
    ec_private_key,
    fixed_bytes,
)
from vitale_cred.credential import Delegation
from vitale_cred.device import ENROLMENT_CONTEXT, possession_proof
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import CoseKey
from vitale_cred.nir import Nir
from vitale_cred.registry import (
    BeneficiaryLabel,
    CardLabel,
    CnfLabel,
    CoseKeyLabel,
    CwtClaim,
    ProofLabel,
)
from vitale_cred.status import StatusReference

AREA = "credential"
DESCRIPTION = (
    "Issuer-signed credentials verified on their own (verification.md section 7): "
    "claims decoding order (credential.md section 3.5), device key, delegation, status "
    "reference, validity in time; enrolment proofs of possession (section 4.3) and "
    "bundles (section 6)."
)

Claims = dict[Any, Any]
Mutator = Callable[[Claims], None]

_CLAIMS = "credential.md#3.5"
_CNF = "credential.md#3.4"
#: Defects the CDDL cannot see: a point off its curve is well-formed CBOR, found only
#: when the key is loaded.
# Defects the CDDL cannot express: a point off the curve, a derived INS member written
# with its derived value, an INS matricule left implicit where no own NIR implies it.
_WELL_FORMED_DEFECTS = frozenset(
    {
        "cnf-not-on-curve",
        "cnf-uncompressed-off-curve",
        "ins-matricule-own-nir",
        "ins-matricule-missing",
        "ins-birth-name-default",
        "ins-birth-place-default",
        "ins-birth-given-names-prefixed",
        "ins-given-names-both-forms",
    }
)


def _card(claims: Claims) -> dict[Any, Any]:
    card: dict[Any, Any] = claims[CwtClaim.CARD]
    return card


def _ben(claims: Claims) -> dict[Any, Any]:
    ben: dict[Any, Any] = _card(claims)[CardLabel.BENEFICIARY]
    return ben


def _nir(number: int) -> bytes:
    """The 6-byte compact form of a NIR number (encoding.md section 3.1)."""
    return number.to_bytes(6, "big")


def _set(path: tuple[Any, ...], value: Any) -> Mutator:
    def mutate(claims: Claims) -> None:
        target = claims
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _drop(path: tuple[Any, ...]) -> Mutator:
    def mutate(claims: Claims) -> None:
        target = claims
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


_B = (CwtClaim.CARD, CardLabel.BENEFICIARY)
#: Day number of 2199-12-31, the last day a wire date may name.
_MAX_DAY = (_dt.date(2199, 12, 31) - _dt.date(1970, 1, 1)).days


def build(mat: Material) -> CaseList:
    """The credential cases."""
    cases = CaseList(AREA)
    issuer = RawIssuer.of(mat, "raw-es256")
    keys = {**issuer.keys(), **device_keys(mat.device)}

    def add(
        case_id: str,
        section: str,
        description: str,
        claims: Claims | bytes,
        code: str | None = None,
        *,
        index: int = 0,
        at: int = SHOWN_AT,
        policy: dict[str, Any] | None = None,
        fields: dict[str, Any] | None = None,
        step: str | None = None,
        producer: bool = True,
    ) -> None:
        signed = issuer.issue(claims)
        if code is None:
            expected = valid(
                fields or credential_fields(mat.card.view(index), issuer_kid=issuer.kid)
            )
        else:
            expected = invalid(code)
        # Only a producer's encoding must match the CDDL; receivers accept more
        # (encoding.md section 6). Structural defects must not match it.
        marks: list[tuple[str, str, bool]] = []
        if code is None and producer:
            marks = [
                ("input.credential", "credential", True),
                ("intermediate.credential_payload", "claims", True),
            ]
        elif (
            code is not None
            and code.startswith(("schema.", "binding.cnf"))
            and case_id not in _WELL_FORMED_DEFECTS
        ):
            marks = [("intermediate.credential_payload", "claims", False)]
        intermediate = credential_intermediate(signed)
        intermediate["credential"] = None
        cases.add(
            case_id,
            section,
            description,
            "verify_credential",
            expected,
            input={"credential": h(signed.data)},
            at=at,
            trust=issuer.trust(),
            policy=policy or policy_json(),
            keys=keys,
            intermediate=intermediate,
            step=step,
            cddl=marks,
        )

    def mutated(*mutators: Mutator, index: int = 0, **options: Any) -> Claims:
        claims = claims_wire(mat, index, **options)
        for mutate in mutators:
            mutate(claims)
        return claims

    # --- valid ---------------------------------------------------------------------------
    descriptions = (
        "the insured (index 0): AMO open-ended, AMC",
        "the spouse (index 1): an ALD exoneration",
        "a twin (index 2): birth rank 1, not written",
        "the other twin (index 3): birth rank 2",
        'a child born "2016-00-00" (lunar date), with CSS',
    )
    for index, description in enumerate(descriptions):
        add(
            f"valid-beneficiary-{index}",
            "credential.md#3.3",
            description,
            mutated(index=index),
            index=index,
        )
    add(
        "valid-iss", "credential.md#3.3", "with iss(1), informative text", mutated(iss="CPAM Paris")
    )
    add(
        "valid-nbf",
        "credential.md#3.3",
        "with nbf(5) in the past (receivers accept it)",
        mutated(nbf=ISSUED_AT + 3600),
        producer=False,
    )
    uncompressed = CoseKey.from_public_key(mat.device.public_key())
    add(
        "valid-cnf-uncompressed",
        _CNF,
        "cnf COSE_Key with y as a 32-byte coordinate",
        mutated(_set((CwtClaim.CNF, CnfLabel.COSE_KEY), uncompressed.to_map())),
        producer=False,
    )
    with_alg = {**mat.device.cose_key().to_map(), CoseKeyLabel.ALG: -7, CoseKeyLabel.KID: b"d"}
    add(
        "valid-cnf-alg-kid",
        _CNF,
        "cnf COSE_Key with alg(3) ES256 and kid(2)",
        mutated(_set((CwtClaim.CNF, CnfLabel.COSE_KEY), with_alg)),
        producer=False,
    )
    own_nir = _nir(2820675056018)
    # Without an INS: an INS whose matricule is implied would follow the new NIR.
    claims = mutated(
        _set((*_B, BeneficiaryLabel.NIR), own_nir), _drop((*_B, BeneficiaryLabel.INS)), index=1
    )
    fields = credential_fields(mat.card.view(1), issuer_kid=issuer.kid)
    fields["beneficiary"]["nir"] = Nir.from_wire(own_nir).value
    del fields["beneficiary"]["ins"]
    add(
        "valid-beneficiary-nir",
        "credential.md#3.5",
        "a dependant with her own NIR (nir(10))",
        claims,
        index=1,
        fields=fields,
    )
    delegation = Delegation("178047505612327", "Marie DUPONT", "pharmacie")
    fields = credential_fields(mat.card.view(0), issuer_kid=issuer.kid, delegation=delegation)
    add(
        "valid-delegation",
        "credential.md#5.1",
        "delegated to a trusted person's phone",
        mutated(delegation=delegation),
        fields=fields,
    )
    reference = StatusReference(1, 3)
    add(
        "valid-status-reference",
        "credential.md#3.6",
        "with a status reference, verified without a status checker (not examined)",
        mutated(status=reference),
    )

    # --- claims map (section 3.5) ---------------------------------------------------------
    claims_table: list[tuple[str, str, Any, str]] = [
        ("claims-array", "the payload is an array", [1, 2], "schema.invalid"),
        ("claim-sub", "sub(2), not defined for credentials", mutated(_set((CwtClaim.SUB,), "x")),
         "schema.unknown_label"),
        ("claim-cti", "cti(7), not defined for credentials",
         mutated(_set((CwtClaim.CTI,), b"\x01")), "schema.unknown_label"),
        ("claim-private", "an unregistered private claim -65540",
         mutated(_set((-65540,), 0)), "schema.unknown_label"),
        ("claim-status-list-number", "list(-65539), a Status List Token claim",
         mutated(_set((CwtClaim.LIST,), 1)), "schema.unknown_label"),
        ("claim-status-65535", "the Token Status List status(65535) claim (protocol 1 "
         "carries its reference in the card map)",
         mutated(_set((CwtClaim.STATUS,), {"status_list": {"idx": 3, "uri": "https://s.fr/1"}})),
         "schema.unknown_label"),
        ("missing-iat", "no iat(6)", mutated(_drop((CwtClaim.IAT,))), "schema.missing_label"),
        ("missing-exp", "no exp(4)", mutated(_drop((CwtClaim.EXP,))), "schema.missing_label"),
        ("missing-card", "no card(-65537)", mutated(_drop((CwtClaim.CARD,))),
         "schema.missing_label"),
        ("missing-iat-and-cnf", "neither iat(6) nor cnf(8): iat is reported first",
         mutated(_drop((CwtClaim.IAT,)), _drop((CwtClaim.CNF,))), "schema.missing_label"),
        ("iss-not-text", "iss(1) is an integer", mutated(_set((CwtClaim.ISS,), 1)),
         "schema.invalid"),
        ("iat-text", "iat(6) is text", mutated(_set((CwtClaim.IAT,), "1793491200")),
         "schema.invalid"),
        ("exp-negative", "exp(4) is negative", mutated(_set((CwtClaim.EXP,), -1)),
         "schema.invalid"),
        ("exp-2-40", "exp(4) is 2^40", mutated(_set((CwtClaim.EXP,), 2**40)), "schema.invalid"),
        ("nbf-bstr", "nbf(5) is a byte string", mutated(_set((CwtClaim.NBF,), b"\x00")),
         "schema.invalid"),
    ]  # fmt: skip
    for case_id, description, content, code in claims_table:
        data = content if isinstance(content, dict) else _cbor.encode(content)
        add(case_id, _CLAIMS, description, data, code)

    good = _cbor.encode(mutated())
    exp_head = bytes.fromhex("041a") + CREDENTIAL_EXP.to_bytes(4, "big")
    iat_head = bytes.fromhex("061a") + ISSUED_AT.to_bytes(4, "big")
    assert good[1:7] == exp_head
    assert good[7:13] == iat_head
    for case_id, description, raw, code in (
        ("claims-key-order", "iat(6) encoded before exp(4)",
         good[:1] + iat_head + exp_head + good[13:], "cbor.non_deterministic"),
        ("claims-duplicate", "exp(4) twice (the map head announces one more pair)",
         bytes([good[0] + 1]) + exp_head + good[1:], "cbor.duplicate_key"),
        ("claims-float", "exp(4) as a float64",
         good[:1] + b"\x04\xfb" + struct.pack(">d", CREDENTIAL_EXP) + good[7:],
         "cbor.type_not_allowed"),
        ("claims-tag", "exp(4) as tag 1 (epoch time)",
         good[:1] + bytes.fromhex("04c11a") + CREDENTIAL_EXP.to_bytes(4, "big") + good[7:],
         "cbor.tag_not_allowed"),
        ("claims-non-shortest", "exp(4) in an eight-byte argument",
         good[:1] + bytes.fromhex("041b") + CREDENTIAL_EXP.to_bytes(8, "big") + good[7:],
         "cbor.non_deterministic"),
        ("claims-trailing", "a byte after the claims map", good + b"\x00", "cbor.trailing_bytes"),
    ):  # fmt: skip
        add(case_id, "encoding.md#2.3", description, raw, code)

    # --- cnf (section 3.4) ---------------------------------------------------------------
    cnf = (CwtClaim.CNF,)
    key_path = (CwtClaim.CNF, CnfLabel.COSE_KEY)
    p384 = CoseKey.from_public_key(ec_private_key("device-p384", _p384()).public_key())
    not_on_curve = {**mat.device.cose_key().to_map(), CoseKeyLabel.X: _not_on_curve_x()}
    bad_y = {**uncompressed.to_map(), CoseKeyLabel.Y: bytes(31) + b"\x01"}
    for case_id, description, mutator, code in (
        ("cnf-missing", "no cnf(8)", _drop(cnf), "binding.cnf_missing"),
        ("cnf-not-map", "cnf(8) is a byte string", _set(cnf, b"\x02"), "binding.cnf_missing"),
        ("cnf-extra-member", "cnf(8) holds cose_key(1) and 3",
         _set((*cnf, 3), b"\x00"), "binding.cnf_missing"),
        ("cnf-kid-only", "cnf(8) holds kid(3) only", _set(cnf, {3: b"\x01"}),
         "binding.cnf_missing"),
        ("cnf-private-key", "the COSE_Key carries d(-4)",
         _set((*key_path, CoseKeyLabel.D), bytes(32)), "binding.cnf_missing"),
        ("cnf-p384", "a P-384 device key", _set(key_path, p384.to_map()), "binding.cnf_missing"),
        ("cnf-x-short", "x(-2) of 31 bytes", _set((*key_path, CoseKeyLabel.X), bytes(31)),
         "binding.cnf_missing"),
        ("cnf-alg-es384", "alg(3) ES384 on a P-256 key", _set((*key_path, CoseKeyLabel.ALG), -35),
         "binding.cnf_missing"),
        ("cnf-okp", "an Ed25519 (OKP) device key",
         _set(key_path, {1: 1, -1: 6, -2: bytes(range(32))}), "binding.cnf_missing"),
        ("cnf-unknown-label", "the COSE_Key carries key_ops(4)",
         _set((*key_path, CoseKeyLabel.KEY_OPS), [1]), "binding.cnf_missing"),
        ("cnf-not-on-curve", "a compressed point whose x is not on P-256: found when the key "
         "is loaded, before the issuer is resolved", _set(key_path, not_on_curve),
         "binding.cnf_missing"),
        ("cnf-uncompressed-off-curve", "an uncompressed point not on P-256",
         _set(key_path, bad_y), "binding.cnf_missing"),
    ):  # fmt: skip
        add(case_id, _CNF, description, mutated(mutator), code)

    # --- card (section 3.5, card map) ----------------------------------------------------
    card = (CwtClaim.CARD,)
    for case_id, description, mutator, code in (
        ("card-not-map", "card(-65537) is an array", _set(card, []), "schema.invalid"),
        ("card-unknown-label", "card label 8", _set((*card, 8), 0), "schema.unknown_label"),
        ("card-label-0", "card label 0 (a version number: none is carried)",
         _set((*card, 0), 1), "schema.unknown_label"),
        ("card-index-0-written", "index(6) 0, the default, written",
         _set((*card, CardLabel.INDEX), 0), "schema.invalid"),
        ("card-missing-serial", "no serial(3)", _drop((*card, CardLabel.SERIAL)),
         "schema.missing_label"),
        ("card-serial-2-63", "serial(3) 2^63", _set((*card, CardLabel.SERIAL), 2**63),
         "schema.invalid"),
        ("card-index-negative", "index(6) -1", _set((*card, CardLabel.INDEX), -1),
         "schema.invalid"),
        ("nir-too-large", "nir(1) 3 * 10^13", _set((*card, CardLabel.NIR), _nir(3 * 10**13)),
         "card.nir_invalid"),
        ("nir-sex-3", "nir(1) with sex digit 3 (outside the profile)",
         _set((*card, CardLabel.NIR), _nir(3780475056123)), "card.nir_invalid"),
        ("nir-month-13", "nir(1) with month 13", _set((*card, CardLabel.NIR), _nir(1781375056123)),
         "card.nir_invalid"),
        ("nir-text", "nir(1) as text", _set((*card, CardLabel.NIR), "178047505612327"),
         "card.nir_invalid"),
        ("nir-integer", "nir(1) as the integer 1780475056123 (not the 6-byte form)",
         _set((*card, CardLabel.NIR), 1780475056123), "card.nir_invalid"),
        ("nir-7-bytes", "nir(1) of 7 bytes", _set((*card, CardLabel.NIR),
         bytes(1) + _nir(1780475056123)),
         "card.nir_invalid"),
        ("organisme-10-digits", "organisme(2) 10^9",
         _set((*card, CardLabel.ORGANISME), 10**9), "card.organisme_invalid"),
        ("issued-after-2199", "issued(4) after 2199-12-31",
         _set((*card, CardLabel.ISSUED), _MAX_DAY + 1), "card.date_invalid"),
    ):  # fmt: skip
        add(case_id, _CLAIMS, description, mutated(mutator), code)
    add(
        "index-0-not-insured",
        _CLAIMS,
        "the spouse's data (with its qualite(5)) under the index 0 of the insured",
        mutated(_drop((*card, CardLabel.INDEX)), index=1),
        "schema.invalid",
    )
    add(
        "insured-at-index-1",
        _CLAIMS,
        "the insured's data (no qualite(5)) under index(6) 1",
        mutated(_set((*card, CardLabel.INDEX), 1)),
        "schema.missing_label",
    )
    add(
        "ins-birth-given-names-prefixed",
        _CLAIMS,
        "ins birth_given_names(3) that the given names start (more_given_names(5) is the form)",
        mutated(
            _drop((*_B, BeneficiaryLabel.INS, 5)),
            _set((*_B, BeneficiaryLabel.INS, 3), ["Claire", "Anne"]),
            index=1,
        ),
        "schema.invalid",
    )
    add(
        "index-16",
        _CLAIMS,
        "a dependant under index(6) 16",
        mutated(_set((*card, CardLabel.INDEX), 16), index=1),
        "card.invalid",
    )
    add(
        "qualite-0-at-index-1",
        _CLAIMS,
        "qualite(5) 0 (the insured) written for a dependant",
        mutated(_set((*_B, BeneficiaryLabel.QUALITE), 0), index=1),
        "card.invalid",
    )

    # --- beneficiary ---------------------------------------------------------------------
    amo = (*_B, BeneficiaryLabel.AMO)
    for case_id, description, mutator, code, index in (
        ("beneficiary-unknown-label", "beneficiary label 12", _set((*_B, 12), 0),
         "schema.unknown_label", 0),
        ("beneficiary-missing-qualite", "no qualite(5) for a dependant",
         _drop((*_B, BeneficiaryLabel.QUALITE)), "schema.missing_label", 1),
        ("qualite-written-for-insured", "qualite(5) 0 written for the insured (index 0)",
         _set((*_B, BeneficiaryLabel.QUALITE), 0), "schema.invalid", 0),
        ("given-names-one-item-array", "given_names(2) as an array of one name (one name "
         "is written as text)", _set((*_B, BeneficiaryLabel.GIVEN_NAMES), ["Claire"]),
         "schema.invalid", 1),
        ("given-names-integer", "given_names(2) as an integer",
         _set((*_B, BeneficiaryLabel.GIVEN_NAMES), 1), "schema.invalid", 0),
        ("birth-rank-1-written", "birth_rank(4) 1, the default, written",
         _set((*_B, BeneficiaryLabel.BIRTH_RANK), 1), "schema.invalid", 0),
        ("amo-empty", "amo(6) an empty array", _set(amo, []), "schema.invalid", 0),
        ("css-null", "css(8) null instead of absent", _set((*_B, BeneficiaryLabel.CSS), None),
         "cbor.type_not_allowed", 0),
        ("css-map", "css(8) as a map {1: start} (not the array form)",
         _set((*_B, BeneficiaryLabel.CSS), {1: 20454}), "schema.invalid", 0),
        ("css-empty", "css(8) an empty array", _set((*_B, BeneficiaryLabel.CSS), []),
         "schema.invalid", 0),
        ("birth-date-yyyymmdd", "birth_date(3) 19780412, the decimal form (year 49526)",
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), 19780412), "card.date_invalid", 0),
        ("birth-date-before-1850", "birth_date(3) -62401: 1849-12-31",
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), -62401), "card.date_invalid", 0),
        ("birth-date-after-2199", "birth_date(3) 83200: after 2199-12-31",
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), 83200), "card.date_invalid", 0),
        ("birth-date-lunar-day", "birth_date(3) -9140: 1978-00-12, month 00 with a day",
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), -9140), "card.date_invalid", 0),
        ("birth-date-feb-30", "birth_date(3) -9058: 1978-02-30",
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), -9058), "card.date_invalid", 0),
        ("birth-date-text", 'birth_date(3) "1978-04-12"',
         _set((*_B, BeneficiaryLabel.BIRTH_DATE), "1978-04-12"), "card.date_invalid", 0),
        ("qualite-7", "qualite(5) 7, not registered", _set((*_B, BeneficiaryLabel.QUALITE), 7),
         "card.invalid", 1),
        ("period-end-before-start", "an AMO period ending before it starts",
         _set(amo, [[18262, 18000]]), "card.date_invalid", 0),
        ("period-3-items", "an AMO period of three items",
         _set(amo, [[18262, 18300, 1]]), "schema.invalid", 0),
        ("period-bool-end", "an AMO period whose end is true",
         _set(amo, [[18262, True]]), "card.date_invalid", 0),
        ("exoneration-code-9", "exoneration code 9",
         _set((*_B, BeneficiaryLabel.EXONERATIONS), [[9, 19783]]), "card.invalid", 1),
        ("exoneration-1-item", "an exoneration [code] without a start",
         _set((*_B, BeneficiaryLabel.EXONERATIONS), [[1]]), "schema.invalid", 1),
        ("amc-organisation-int", "AMC organisation (item 0) as an integer",
         _set((*_B, BeneficiaryLabel.AMC, 0), 75500017), "card.invalid", 0),
        ("amc-5-items", "an AMC array of five items",
         _set((*_B, BeneficiaryLabel.AMC), ["75500017", "C", 20454, 20818, 1]),
         "schema.invalid", 0),
        ("beneficiary-nir-invalid", "nir(10) with month 00",
         _set((*_B, BeneficiaryLabel.NIR), _nir(2820075056018)), "card.nir_invalid", 1),
        ("family-name-empty", "family_name(1) empty",
         _set((*_B, BeneficiaryLabel.FAMILY_NAME), ""), "card.invalid", 0),
        ("family-name-control", "family_name(1) with a line feed",
         _set((*_B, BeneficiaryLabel.FAMILY_NAME), "MAR\nTIN"), "card.invalid", 0),
        ("given-names-5", "five given names",
         _set((*_B, BeneficiaryLabel.GIVEN_NAMES), ["A", "B", "C", "D", "E"]), "card.invalid", 0),
        ("birth-rank-10", "birth_rank(4) 10", _set((*_B, BeneficiaryLabel.BIRTH_RANK), 10),
         "card.invalid", 0),
        ("ins-not-map", "ins(11) as an array", _set((*_B, BeneficiaryLabel.INS), []),
         "schema.invalid", 0),
        ("ins-unknown-label", "ins(11) label 6", _set((*_B, BeneficiaryLabel.INS, 6), 0),
         "schema.unknown_label", 0),
        ("ins-matricule-own-nir", "ins matricule(1) written though it is the insured's NIR",
         _set((*_B, BeneficiaryLabel.INS, 1), _nir(1780475056123)), "schema.invalid", 0),
        ("ins-matricule-text", "ins matricule(1) as text",
         _set((*_B, BeneficiaryLabel.INS, 1), "2130475056124"), "schema.invalid", 1),
        ("ins-matricule-missing", "ins without matricule(1) for a dependant without nir(10)",
         _drop((*_B, BeneficiaryLabel.INS, 1)), "schema.missing_label", 4),
        ("ins-birth-name-default", "ins birth_name(2) equal to family_name written",
         _set((*_B, BeneficiaryLabel.INS, 2), "MARTIN"), "schema.invalid", 0),
        ("ins-birth-place-default", "ins birth_place(4) equal to the matricule's written",
         _set((*_B, BeneficiaryLabel.INS, 4), "75056"), "schema.invalid", 0),
        ("ins-birth-place-20", "ins birth_place(4) 20123 (department 20 no longer exists)",
         _set((*_B, BeneficiaryLabel.INS, 4), "20123"), "card.ins_invalid", 0),
        ("ins-birth-given-names-5", "ins birth_given_names(3) of five names",
         _set((*_B, BeneficiaryLabel.INS, 3), ["A", "B", "C", "D", "E"]), "card.ins_invalid", 0),
        ("ins-more-given-names-empty", "ins more_given_names(5) an empty array",
         _set((*_B, BeneficiaryLabel.INS, 5), []), "schema.invalid", 1),
        ("ins-given-names-both-forms", "ins with birth_given_names(3) and more_given_names(5)",
         _set((*_B, BeneficiaryLabel.INS, 3), ["Anne"]), "schema.invalid", 1),
        ("ins-more-given-names-5", "given_names and more_given_names(5) make five names",
         _set((*_B, BeneficiaryLabel.INS, 5), ["A", "B", "C", "D"]), "card.ins_invalid", 1),
        ("ins-matricule-other-year", "an INS matricule of 1979 for a birth in 1978",
         _set((*_B, BeneficiaryLabel.INS, 1), _nir(1790475056123)), "card.ins_mismatch", 0),
        ("amo-9-periods", "nine AMO periods",
         _set(amo, [[18262 + i] for i in range(9)]), "card.invalid", 0),
    ):  # fmt: skip
        add(case_id, _CLAIMS, description, mutated(mutator, index=index), code)

    # --- delegation (section 5.2) --------------------------------------------------------
    deleg = (CwtClaim.DELEGATION,)
    delegations: list[tuple[str, str, Any, str]] = [
        ("delegation-not-map", "delegation(-65538) is text", "Marie", "delegation.invalid"),
        ("delegation-unknown-label", "delegation label 4",
         {1: "178047505612327", 2: "Marie DUPONT", 4: 0}, "delegation.invalid"),
        ("delegation-empty-scope", "scope(3) the empty text",
         {1: "178047505612327", 2: "Marie DUPONT", 3: ""}, "delegation.invalid"),
        ("delegation-no-delegate", "no delegate(2)", {1: "178047505612327"},
         "delegation.invalid"),
    ]  # fmt: skip
    for case_id, description, value, code in delegations:
        add(
            case_id,
            "credential.md#5.2",
            description,
            mutated(_set(deleg, value)),
            code,
            step="decode",
        )
    add(
        "delegation-refused-by-policy",
        "verification.md#2",
        "a well-formed delegation under a policy that refuses delegations (step 10)",
        mutated(delegation=delegation),
        "delegation.invalid",
        policy=policy_json(allow_delegated=False),
    )

    # --- status reference (section 3.6) --------------------------------------------------
    status_path = (CwtClaim.CARD, CardLabel.STATUS)
    references: list[tuple[str, str, Any]] = [
        ("status-map", "the Token Status List map form", {"status_list": {"idx": 3,
         "uri": "https://status.example.fr/lists/1"}}),
        ("status-one-item", "[list] without an index", [1]),
        ("status-three-items", "[list, idx, 0]", [1, 3, 0]),
        ("status-list-2-32", "list 2^32", [2**32, 3]),
        ("status-idx-2-32", "idx 2^32", [1, 2**32]),
        ("status-idx-negative", "idx -1", [1, -1]),
        ("status-list-text", 'list "1"', ["1", 3]),
        ("status-idx-true", "idx true", [1, True]),
        ("status-list-false", "list false", [False, 3]),
    ]  # fmt: skip
    for case_id, description, value in references:
        add(
            case_id,
            "credential.md#3.6",
            description,
            mutated(_set(status_path, value)),
            "status.reference_invalid",
        )

    # --- validity in time (verification.md section 2, step 9) ----------------------------
    step9 = "verification.md#2"
    windows: list[tuple[str, str, int, str | None, int]] = [
        ("expired", "31 s after exp(4) with a skew of 30 s", CREDENTIAL_EXP + 31,
         "validity.expired", 30),
        ("expired-boundary", "exactly exp(4) + skew: still valid", CREDENTIAL_EXP + 30, None, 30),
        ("expired-skew-0", "1 s after exp(4) with a skew of 0", CREDENTIAL_EXP + 1,
         "validity.expired", 0),
        ("not-yet-valid", "31 s before iat(6) with a skew of 30 s", ISSUED_AT - 31,
         "validity.not_yet_valid", 30),
        ("not-yet-valid-boundary", "exactly iat(6) - skew: valid", ISSUED_AT - 30, None, 30),
    ]  # fmt: skip
    for case_id, description, at, verdict, skew in windows:
        add(case_id, step9, description, mutated(), verdict, at=at, policy=policy_json(skew=skew))
    add(
        "nbf-in-future",
        step9,
        "nbf(5) one day after the verification instant",
        mutated(nbf=SHOWN_AT + 86_400),
        "validity.not_yet_valid",
    )

    _enrolment(cases, mat)
    _bundle(cases, mat, issuer)
    return cases


def _p384() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.SECP384R1()


def _not_on_curve_x() -> bytes:
    """The first x (counting up from 0) with no point on P-256: x^3 - 3x + b is no square."""
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    b = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
    x = 0
    while pow((x**3 - 3 * x + b) % p, (p - 1) // 2, p) == 1:
        x += 1
    return x.to_bytes(32, "big")


def _enrolment(cases: CaseList, mat: Material) -> None:
    section = "credential.md#4.3"
    nonce = fixed_bytes("enrolment-nonce", 16)
    at = ISSUED_AT
    device = mat.device
    key_map = device.cose_key().to_map()
    good = possession_proof(device, nonce, at)
    keys = device_keys(device)

    def add(
        case_id: str,
        description: str,
        proof: bytes,
        code: str | None,
        *,
        check_nonce: bytes = nonce,
        when: int = at,
    ) -> None:
        expected = (
            valid({"device_key": h(_cbor.encode(key_map))}) if code is None else invalid(code)
        )
        cases.add(
            case_id,
            section,
            description,
            "verify_possession",
            expected,
            input={"proof": h(proof), "nonce": h(check_nonce)},
            at=when,
            keys=keys,
            cddl=[("input.proof", "proof")] if code is None else [],
        )

    def proof_of(payload: dict[int, Any], signer: Any = device) -> bytes:
        return sign1(signer, _cbor.encode(payload)).data

    base: dict[int, Any] = {
        ProofLabel.CONTEXT: ENROLMENT_CONTEXT,
        ProofLabel.NONCE: nonce,
        ProofLabel.KEY: key_map,
        ProofLabel.IAT: at,
    }
    add("proof-valid", "a proof of possession over the issuer's nonce", good, None)
    add(
        "proof-late-boundary",
        "checked 300 s after it was made: still accepted",
        good,
        None,
        when=at + 300,
    )
    pop = "issuance.pop_invalid"
    add(
        "proof-other-nonce",
        "checked against another nonce",
        good,
        pop,
        check_nonce=fixed_bytes("other-nonce", 16),
    )
    add("proof-stale", "checked 301 s after it was made", good, pop, when=at + 301)
    add("proof-future", "made 301 s after the verification instant", good, pop, when=at - 301)
    add(
        "proof-other-context",
        'context "vitale-cred/enrol/v2"',
        proof_of({**base, ProofLabel.CONTEXT: "vitale-cred/enrol/v2"}),
        pop,
    )
    add("proof-extra-label", "a fifth label", proof_of({**base, 5: 0}), pop)
    add(
        "proof-other-signer",
        "the key in the payload is not the key that signed",
        proof_of(base, mat.other_device),
        pop,
    )
    p384_key = ec_private_key("device-p384", _p384())
    from vitale_cred.hazmat.cose import SoftwareSigner

    p384 = SoftwareSigner(p384_key)
    add(
        "proof-p384",
        "a P-384 key proving itself with ES384",
        proof_of(
            {**base, ProofLabel.KEY: CoseKey.from_public_key(p384_key.public_key()).to_map()}, p384
        ),
        pop,
    )
    untagged = _cbor.encode(_cbor.decode(good, tags=frozenset({18})).value)
    add("proof-untagged", "the proof without tag 18", untagged, pop)


def _bundle(cases: CaseList, mat: Material, issuer: RawIssuer) -> None:
    section = "credential.md#6"
    credentials = [issuer.issue(claims_wire(mat, i)).data for i in range(5)]

    def add(case_id: str, description: str, value: Any, code: str | None) -> None:
        data = value if isinstance(value, bytes) else _cbor.encode(value)
        expected = (
            valid({"credentials": [h(c) for c in credentials]}) if code is None else invalid(code)
        )
        cases.add(
            case_id,
            section,
            description,
            "decode_bundle",
            expected,
            input={"bundle": h(data)},
            cddl=[("input.bundle", "bundle")] if code is None else [],
        )

    add("bundle-valid", "the five credentials of family5.json", {1: 1, 2: credentials}, None)
    add("bundle-version-2", "version(1) 2", {1: 2, 2: credentials}, "schema.invalid")
    add("bundle-extra-key", "a label 3", {1: 1, 2: credentials, 3: 0}, "schema.invalid")
    add("bundle-empty", "no credential", {1: 1, 2: []}, "schema.invalid")
    add(
        "bundle-17",
        "17 credentials",
        {1: 1, 2: credentials * 3 + credentials[:2]},
        "schema.invalid",
    )
    add("bundle-text-credential", "a credential as text", {1: 1, 2: ["x"]}, "schema.invalid")
    add("bundle-not-map", "an array", [1, credentials], "schema.invalid")
    unsorted = bytes.fromhex("a2") + _cbor.encode(2)[:1] + _cbor.encode(credentials)
    add(
        "bundle-key-order",
        "labels 2 then 1",
        unsorted + bytes.fromhex("0101"),
        "cbor.non_deterministic",
    )
