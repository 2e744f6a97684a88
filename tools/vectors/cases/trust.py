"""Trust vectors: resolving the issuer of a credential (spec/trust.md section 4), the
X.509 profile (section 2) and raw-key trust, every algorithm."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from tools.vectors._build import (
    CaseList,
    RawIssuer,
    RawKey,
    Signed,
    claims_wire,
    credential_fields,
    credential_intermediate,
    device_keys,
    h,
    invalid,
    issue,
    pki_keys,
    pki_trust,
    policy_json,
    trust_json,
    valid,
)
from tools.vectors._material import SHOWN_AT, Material, Pki, der
from vitale_cred.registry import CoseHeader
from vitale_cred.trust import spki_sha256

AREA = "trust"
DESCRIPTION = (
    "Issuer resolution for credentials (trust.md section 4.1): x5chain against X.509 "
    "roots, kid against registered certificates and raw keys, path validation, the "
    "issuer certificate profile, usages, validity windows and algorithm allow-lists."
)

_RESOLVE = "trust.md#4.1"
_PATH = "trust.md#4.2"
_PROFILE = "trust.md#2.4"
_EVERY = "trust.md#2.1"
_DECODING = "trust.md#2.1.1"
#: An extension OID no verifier processes (a private arc), marked critical in variants.
_UNKNOWN_OID = "1.3.6.1.4.1.99999.1"


def build(mat: Material) -> CaseList:
    """The trust cases."""
    cases = CaseList(AREA)
    view = mat.card.view(0)
    claims = claims_wire(mat, 0)

    def add(
        case_id: str,
        section: str,
        description: str,
        signed: Signed | bytes,
        code: str | None,
        trust: dict[str, Any],
        *,
        kid: bytes | None = None,
        keys: dict[str, Any] | None = None,
        at: int = SHOWN_AT,
        producer: bool = True,
    ) -> None:
        data = signed.data if isinstance(signed, Signed) else signed
        if code is None:
            if kid is None:
                raise ValueError("a valid case names the issuer kid")
            expected = valid(credential_fields(view, issuer_kid=kid))
        else:
            expected = invalid(code)
        intermediate: dict[str, Any] = {}
        if isinstance(signed, Signed):
            intermediate = credential_intermediate(signed)
            intermediate["credential"] = None
        cases.add(
            case_id,
            section,
            description,
            "verify_credential",
            expected,
            input={"credential": h(data)},
            at=at,
            trust=trust,
            policy=policy_json(),
            keys={**(keys or {}), **device_keys(mat.device)},
            intermediate=intermediate,
            cddl=[("input.credential", "credential")] if code is None and producer else [],
        )

    # --- valid -------------------------------------------------------------------------
    for name in ("es256", "es384", "eddsa"):
        pki = mat.pki[name]
        add(
            f"x5chain-{name}",
            _RESOLVE,
            f"full form: the {pki.alg.name} issuer certificate in x5chain(33), the verifier "
            "trusts the root only",
            issue(pki, claims, full=True),
            None,
            pki_trust(pki, registered=False),
            kid=pki.kid,
            keys=pki_keys(pki),
        )
        add(
            f"registered-{name}",
            _RESOLVE,
            f"compact form: kid(4) names a registered {pki.alg.name} issuer certificate",
            issue(pki, claims),
            None,
            pki_trust(pki),
            kid=pki.kid,
            keys=pki_keys(pki),
        )
    chained = mat.pki["es256-intermediate"]
    add(
        "x5chain-intermediate",
        _PATH,
        "x5chain(33) = [issuer, intermediate CA], the verifier trusts the root only",
        issue(chained, claims, full=True),
        None,
        pki_trust(chained, registered=False),
        kid=chained.kid,
        keys=pki_keys(chained),
    )
    add(
        "registered-intermediate",
        _PATH,
        "compact form: the issuer certificate registered with its intermediate CA",
        issue(chained, claims),
        None,
        pki_trust(chained),
        kid=chained.kid,
        keys=pki_keys(chained),
    )
    es256 = mat.pki["es256"]
    one = issue(es256, claims, unprotected={CoseHeader.X5CHAIN: [der(es256.issuer)]})
    add(
        "x5chain-array-of-one",
        "encoding.md#6",
        "x5chain(33) as an array holding one certificate: receivers accept it",
        one,
        None,
        pki_trust(es256, registered=False),
        kid=es256.kid,
        keys=pki_keys(es256),
        producer=False,
    )
    for name in ("raw-es256", "raw-es384", "raw-eddsa"):
        raw = RawIssuer.of(mat, name)
        add(
            name,
            _RESOLVE,
            f"a raw {raw.key.default_alg().name} key registered under its kid",
            raw.issue(claims),
            None,
            raw.trust(),
            kid=raw.kid,
            keys=raw.keys(),
        )
    raw = RawIssuer.of(mat, "raw-es256")
    window = raw.trust(not_before=SHOWN_AT - 1, not_after=SHOWN_AT)
    add(
        "raw-key-window",
        _RESOLVE,
        "a raw key whose window ends at the verification instant",
        raw.issue(claims),
        None,
        window,
        kid=raw.kid,
        keys=raw.keys(),
    )
    only_credentials = raw.trust(usages=["credential"])
    add(
        "raw-key-credential-usage",
        _RESOLVE,
        "a raw key trusted for credentials only",
        raw.issue(claims),
        None,
        only_credentials,
        kid=raw.kid,
        keys=raw.keys(),
    )
    shadow = trust_json(
        roots=[es256.root],
        certificates=[(es256.issuer, [])],
        keys=[RawKey(es256.kid, raw.key)],
    )
    add(
        "raw-key-before-certificate",
        _RESOLVE,
        "a raw key and a registered certificate share a kid: the raw key is used",
        raw.issue(claims, kid=es256.kid),
        None,
        shadow,
        kid=es256.kid,
        keys=raw.keys(),
    )

    # --- unknown issuer ------------------------------------------------------------------
    add(
        "unknown-kid",
        _RESOLVE,
        "kid(4) names no trusted key or certificate",
        issue(es256, claims, kid=b"unknown!"),
        "trust.unknown_issuer",
        pki_trust(es256),
        keys=pki_keys(es256),
    )
    add(
        "no-kid-no-x5chain",
        _RESOLVE,
        "neither kid(4) nor x5chain(33)",
        issue(es256, claims, protected={1: -7}),
        "trust.unknown_issuer",
        pki_trust(es256),
        keys=pki_keys(es256),
    )
    add(
        "x5chain-without-roots",
        _RESOLVE,
        "x5chain(33) given to a verifier that trusts raw keys only",
        issue(es256, claims, full=True),
        "trust.unknown_issuer",
        raw.trust(),
        keys=pki_keys(es256),
    )

    # --- path validation -------------------------------------------------------------------
    stranger = mat.untrusted_issuer()
    add(
        "untrusted-root",
        _PATH,
        "an issuer certificate under a root the verifier does not trust",
        issue(stranger, claims, full=True),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(stranger),
    )
    registered_stranger = trust_json(roots=[es256.root], certificates=[(stranger.issuer, [])])
    add(
        "registered-untrusted-root",
        _PATH,
        "a registered issuer certificate whose root is not trusted",
        issue(stranger, claims),
        "trust.chain_invalid",
        registered_stranger,
        keys=pki_keys(stranger),
    )
    expired = mat.variant_issuer(
        "ES256 issuer, expired", 0x1201, not_before=_utc(2025, 1, 1), not_after=_utc(2026, 6, 1)
    )
    add(
        "issuer-certificate-expired",
        _PATH,
        "the issuer certificate expired before the verification instant",
        issue(expired, claims, full=True),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(expired),
    )
    future = mat.variant_issuer(
        "ES256 issuer, not yet valid",
        0x1202,
        not_before=_utc(2027, 1, 1),
        not_after=_utc(2029, 1, 1),
    )
    add(
        "issuer-certificate-not-yet-valid",
        _PATH,
        "the issuer certificate starts after the verification instant",
        issue(future, claims, full=True),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(future),
    )
    add(
        "intermediate-missing",
        _PATH,
        "an issuer under an intermediate CA, sent without the intermediate",
        issue(chained, claims, unprotected={CoseHeader.X5CHAIN: der(chained.issuer)}),
        "trust.chain_invalid",
        pki_trust(chained, registered=False),
        keys=pki_keys(chained),
    )
    four = [der(es256.issuer), der(chained.intermediates[0]), der(es256.root), der(es256.root)]
    add(
        "x5chain-4-certificates",
        _RESOLVE,
        "x5chain(33) of four certificates (3 at most)",
        issue(es256, claims, unprotected={CoseHeader.X5CHAIN: four}),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(es256),
    )
    add(
        "x5chain-garbage",
        _PATH,
        "x5chain(33) holds bytes that are not a certificate",
        issue(es256, claims, unprotected={CoseHeader.X5CHAIN: b"\x30\x03\x02\x01\x00"}),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(es256),
    )
    for case_id, description, value in (
        ("x5chain-empty-array", "x5chain(33) is an empty array", []),
        ("x5chain-integer", "x5chain(33) is an integer", 1),
        ("x5chain-array-of-text", "x5chain(33) is an array of text", ["MIIB"]),
    ):
        add(
            case_id,
            _RESOLVE,
            description,
            issue(es256, claims, unprotected={CoseHeader.X5CHAIN: value}),
            "trust.chain_invalid",
            pki_trust(es256, registered=False),
            keys=pki_keys(es256),
        )

    # --- issuer certificate profile ----------------------------------------------------------
    for case_id, description, variant in (
        ("profile-ca", "the issuer certificate is a CA (cA = TRUE)",
         mat.variant_issuer("ES256 issuer, CA", 0x1203, ca=True, path_length=0)),
        ("profile-no-digital-signature", "keyUsage without digitalSignature",
         mat.variant_issuer("ES256 issuer, no digitalSignature", 0x1204,
                            digital_signature=False)),
        ("profile-key-usage-not-critical", "keyUsage not marked critical",
         mat.variant_issuer("ES256 issuer, keyUsage not critical", 0x1205,
                            key_usage_critical=False)),
    ):  # fmt: skip
        add(
            case_id,
            _PROFILE,
            description,
            issue(variant, claims, full=True),
            "trust.certificate_profile",
            pki_trust(es256, registered=False),
            keys=pki_keys(variant),
        )
    root_as_issuer = Pki(es256.alg, es256.root_key, es256.root, es256.root_key, es256.root)
    add(
        "profile-root-as-issuer",
        _PROFILE,
        "the root certificate itself in x5chain(33)",
        issue(root_as_issuer, claims, full=True),
        "trust.certificate_profile",
        pki_trust(es256, registered=False),
        keys=pki_keys(root_as_issuer),
    )

    # --- one profile and one path procedure for every algorithm (2.1, 4.2) ----------------
    for case_id, description, variant in (
        ("profile-unknown-critical-extension",
         "the issuer certificate carries an unknown extension marked critical",
         mat.variant_issuer("ES256 issuer, unknown critical extension", 0x1206,
                            critical_oid=_UNKNOWN_OID)),
        ("profile-basic-constraints-not-critical", "basicConstraints not marked critical",
         mat.variant_issuer("ES256 issuer, basicConstraints not critical", 0x1207,
                            basic_constraints_critical=False)),
        ("profile-signature-algorithm-sha512",
         "the issuer certificate is signed with ecdsa-with-SHA512, outside the profile",
         mat.variant_issuer("ES256 issuer, SHA-512", 0x1208, signature_hash="sha512")),
    ):  # fmt: skip
        add(
            case_id,
            _EVERY,
            description,
            issue(variant, claims, full=True),
            "trust.certificate_profile",
            pki_trust(es256, registered=False),
            keys=pki_keys(variant),
        )
    sha384 = mat.variant_issuer("ES256 issuer, SHA-384 by P-256", 0x1209, signature_hash="sha384")
    add(
        "signature-algorithm-not-the-issuer-key-s",
        _PATH,
        "the issuer certificate is signed with ecdsa-with-SHA384 by the P-256 root: an "
        "allowed algorithm, but not the one a P-256 key makes",
        issue(sha384, claims, full=True),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(sha384),
    )
    general = der(es256.issuer).replace(
        bytes.fromhex("06035504061302"), bytes.fromhex("06035504061b02"), 1
    )
    add(
        "name-general-string",
        _DECODING,
        "the issuer Name of the issuer certificate holds a GeneralString: the Name does "
        "not decode, so the certificate is unreadable",
        issue(es256, claims, unprotected={CoseHeader.X5CHAIN: general}),
        "trust.chain_invalid",
        pki_trust(es256, registered=False),
        keys=pki_keys(es256),
    )
    critical = mat.chained("ES256 critical", 0x1300, critical_oid=_UNKNOWN_OID)
    add(
        "intermediate-unknown-critical-extension",
        _PATH,
        "the intermediate CA carries an unknown extension marked critical",
        issue(critical, claims, full=True),
        "trust.chain_invalid",
        pki_trust(critical, registered=False),
        keys=pki_keys(critical),
    )
    eddsa_unrelated = der(mat.pki["eddsa"].issuer)
    add(
        "appended-eddsa-certificate-selects-nothing",
        _PATH,
        "x5chain(33) = [ES256 issuer, intermediate CA with an unknown critical extension, "
        "an unrelated Ed25519 certificate]: the extra certificate is in no candidate path "
        "and the path is refused as without it",
        issue(
            critical,
            claims,
            unprotected={CoseHeader.X5CHAIN: [*critical.x5chain(), eddsa_unrelated]},
        ),
        "trust.chain_invalid",
        pki_trust(critical, registered=False),
        keys=pki_keys(critical),
    )
    add(
        "appended-eddsa-certificate-ignored",
        _PATH,
        "x5chain(33) = [issuer, intermediate CA, an unrelated Ed25519 certificate]: valid",
        issue(
            chained, claims, unprotected={CoseHeader.X5CHAIN: [*chained.x5chain(), eddsa_unrelated]}
        ),
        None,
        pki_trust(chained, registered=False),
        kid=chained.kid,
        keys=pki_keys(chained),
        producer=False,
    )
    decoy = mat.chained("ES256", 0x1600, critical_oid=_UNKNOWN_OID).intermediates[0]
    add(
        "failed-candidate-then-valid-path",
        _PATH,
        "x5chain(33) = [issuer, a decoy intermediate with the right subject and key but an "
        "unknown critical extension, the genuine intermediate]: the first candidate fails, "
        "the second is the path",
        issue(
            chained,
            claims,
            unprotected={
                CoseHeader.X5CHAIN: [der(chained.issuer), der(decoy), der(chained.intermediates[0])]
            },
        ),
        None,
        pki_trust(chained, registered=False),
        kid=chained.kid,
        keys=pki_keys(chained),
        producer=False,
    )
    eddsa_critical = mat.chained("EdDSA critical", 0x3300, "eddsa", critical_oid=_UNKNOWN_OID)
    add(
        "eddsa-intermediate-unknown-critical-extension",
        _PATH,
        "an Ed25519 path whose intermediate CA carries an unknown critical extension: "
        "the same procedure as for ECDSA",
        issue(eddsa_critical, claims, full=True),
        "trust.chain_invalid",
        pki_trust(eddsa_critical, registered=False),
        keys=pki_keys(eddsa_critical),
    )
    stale = mat.chained(
        "ES256 expired intermediate",
        0x1500,
        not_before=_utc(2025, 1, 1),
        not_after=_utc(2026, 6, 1),
    )
    add(
        "intermediate-expired",
        _PATH,
        "the intermediate CA expired before the verification instant",
        issue(stale, claims, full=True),
        "trust.chain_invalid",
        pki_trust(stale, registered=False),
        keys=pki_keys(stale),
    )
    short = mat.chained("ES256 pathLen 0", 0x1400, root_path_length=0)
    add(
        "root-path-length-zero",
        _PATH,
        "the root's pathLenConstraint is 0 and the path holds an intermediate CA",
        issue(short, claims, full=True),
        "trust.chain_invalid",
        pki_trust(short, registered=False),
        keys=pki_keys(short),
    )

    # --- withdrawn keys (trust.md section 7) and raw-key precedence -----------------------
    withdrawal = "trust.md#7"
    add(
        "withdrawn-raw-key",
        withdrawal,
        "kid(4) names a raw key that was withdrawn",
        raw.issue(claims),
        "trust.key_withdrawn",
        trust_json(keys=[RawKey(raw.kid, raw.key)], withdrawn=[raw.kid]),
        keys=raw.keys(),
    )
    add(
        "withdrawn-registered",
        withdrawal,
        "kid(4) names a registered issuer certificate that was withdrawn",
        issue(es256, claims),
        "trust.key_withdrawn",
        trust_json(roots=[es256.root], certificates=[(es256.issuer, [])], withdrawn=[es256.kid]),
        keys=pki_keys(es256),
    )
    add(
        "withdrawn-full-form",
        withdrawal,
        "a withdrawn kid(4) with its still-valid certificate in x5chain(33)",
        issue(es256, claims, full=True),
        "trust.key_withdrawn",
        trust_json(roots=[es256.root], withdrawn=[es256.kid]),
        keys=pki_keys(es256),
    )
    add(
        "withdrawn-x5chain-without-kid",
        withdrawal,
        "no kid(4), and x5chain(33) carries the certificate of a withdrawn kid",
        issue(es256, claims, full=True, protected={1: -7}),
        "trust.key_withdrawn",
        trust_json(roots=[es256.root], withdrawn=[es256.kid]),
        keys=pki_keys(es256),
    )
    add(
        "withdrawn-other-kid",
        withdrawal,
        "another kid was withdrawn: no effect",
        issue(es256, claims),
        None,
        trust_json(
            roots=[es256.root], certificates=[(es256.issuer, [])], withdrawn=[mat.pki["es384"].kid]
        ),
        kid=es256.kid,
        keys=pki_keys(es256),
    )

    # --- withdrawal by key (trust.md section 7): per public key, not per certificate ---
    es256_key = spki_sha256(es256.issuer_key.public_key())
    # Same subject name, hence the same derived key: a renewal of the ES256 issuer
    # certificate (new serial, new validity) for a key that stays compromised.
    renewed = mat.variant_issuer(
        "ES256 issuer", 0x1701, not_before=_utc(2026, 6, 1), not_after=_utc(2030, 1, 1)
    )
    add(
        "withdrawn-key-renewed-x5chain",
        withdrawal,
        "the ES256 issuer key was withdrawn by its SPKI SHA-256; x5chain(33) carries a "
        "renewed certificate (new serial and kid) for the same key",
        issue(renewed, claims, full=True),
        "trust.key_withdrawn",
        trust_json(roots=[es256.root], withdrawn_keys=[es256_key]),
        keys=pki_keys(renewed),
    )
    add(
        "withdrawn-key-renewed-registered",
        withdrawal,
        "kid(4) names a registered renewed certificate whose key was withdrawn by its SPKI SHA-256",
        issue(renewed, claims),
        "trust.key_withdrawn",
        trust_json(
            roots=[es256.root], certificates=[(renewed.issuer, [])], withdrawn_keys=[es256_key]
        ),
        keys=pki_keys(renewed),
    )
    add(
        "withdrawn-kid-renewed-certificate",
        withdrawal,
        "the kid of the registered ES256 issuer certificate was withdrawn, which withdraws "
        "its key: a renewed certificate for that key in x5chain(33) is refused",
        issue(renewed, claims, full=True),
        "trust.key_withdrawn",
        trust_json(roots=[es256.root], certificates=[(es256.issuer, [])], withdrawn=[es256.kid]),
        keys=pki_keys(renewed),
    )
    add(
        "withdrawn-key-raw",
        withdrawal,
        "kid(4) names a raw key whose SPKI SHA-256 was withdrawn",
        raw.issue(claims),
        "trust.key_withdrawn",
        trust_json(
            keys=[RawKey(raw.kid, raw.key)],
            withdrawn_keys=[spki_sha256(raw.key.verifying_key())],
        ),
        keys=raw.keys(),
    )
    add(
        "withdrawn-key-other",
        withdrawal,
        "another key was withdrawn by its SPKI SHA-256: no effect on a renewed certificate",
        issue(renewed, claims, full=True),
        None,
        trust_json(
            roots=[es256.root],
            withdrawn_keys=[spki_sha256(mat.pki["es384"].issuer_key.public_key())],
        ),
        kid=renewed.kid,
        keys=pki_keys(renewed),
    )
    add(
        "raw-key-ignores-x5chain",
        _RESOLVE,
        "kid(4) names a raw key: the x5chain(33) the message also carries (here a "
        "certificate under an untrusted root) is not consulted",
        raw.issue(claims, unprotected={CoseHeader.X5CHAIN: der(stranger.issuer)}),
        None,
        trust_json(roots=[es256.root], keys=[RawKey(raw.kid, raw.key)]),
        kid=raw.kid,
        keys=raw.keys(),
        producer=False,
    )

    # --- kid, usage, window, algorithms --------------------------------------------------------
    add(
        "kid-mismatch",
        _RESOLVE,
        "kid(4) is not the kid of the x5chain(33) certificate",
        issue(es256, claims, full=True, kid=mat.pki["es384"].kid),
        "trust.kid_mismatch",
        pki_trust(es256, registered=False),
        keys=pki_keys(es256),
    )
    add(
        "usage-status-list-only",
        _RESOLVE,
        "a raw key trusted for status lists only",
        raw.issue(claims),
        "trust.usage_not_allowed",
        raw.trust(usages=["status_list"]),
        keys=raw.keys(),
    )
    add(
        "usage-trust-list-only",
        _RESOLVE,
        "a raw key trusted for trust lists only",
        raw.issue(claims),
        "trust.usage_not_allowed",
        raw.trust(usages=["trust_list"]),
        keys=raw.keys(),
    )
    add(
        "usage-credential-and-trust-list",
        "trust.md#6.1",
        "a raw key trusted for credentials and for trust lists: an authority key is "
        "trusted for nothing else, so it is refused for every usage",
        raw.issue(claims),
        "trust.usage_not_allowed",
        raw.trust(usages=["credential", "trust_list"]),
        keys=raw.keys(),
    )
    add(
        "x5chain-carrying-an-authority-key",
        "trust.md#6.1",
        "x5chain(33) holds a valid issuer certificate whose key the store also trusts, "
        "as a raw key, for trust lists",
        issue(es256, claims, full=True),
        "trust.usage_not_allowed",
        trust_json(
            roots=[es256.root], keys=[RawKey(b"authority", es256.cose_key(), ["trust_list"])]
        ),
        keys=pki_keys(es256),
    )
    add(
        "key-window-ended",
        _RESOLVE,
        "a raw key whose window ended 1 s before",
        raw.issue(claims),
        "trust.key_not_valid",
        raw.trust(not_after=SHOWN_AT - 1),
        keys=raw.keys(),
    )
    add(
        "key-window-not-started",
        _RESOLVE,
        "a raw key whose window starts 1 s after",
        raw.issue(claims),
        "trust.key_not_valid",
        raw.trust(not_before=SHOWN_AT + 1),
        keys=raw.keys(),
    )
    raw384 = RawIssuer.of(mat, "raw-es384")
    narrow = trust_json(keys=[RawKey(raw384.kid, raw384.key)], allowed_algs=[-7])
    add(
        "alg-not-allowed-raw",
        "trust.md#6",
        "an ES384 raw key in a trust store that allows ES256 only",
        raw384.issue(claims),
        "cose.alg_not_allowed",
        narrow,
        keys=raw384.keys(),
    )
    eddsa = mat.pki["eddsa"]
    add(
        "alg-not-allowed-x5chain",
        "trust.md#6",
        "an Ed25519 issuer certificate in a trust store that allows ES256 only",
        issue(eddsa, claims, full=True),
        "cose.alg_not_allowed",
        pki_trust(eddsa, registered=False, allowed_algs=[-7]),
        keys=pki_keys(eddsa),
    )
    return cases


def _utc(year: int, month: int, day: int) -> _dt.datetime:
    return _dt.datetime(year, month, day, tzinfo=_dt.UTC)
