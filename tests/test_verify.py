"""Credential and presentation verification: every acceptance and every rejection code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from vitale_cred import device as device_module
from vitale_cred.clock import FixedClock
from vitale_cred.credential import (
    Claims,
    CredentialBundle,
    Delegation,
    Issuer,
    decode_claims,
    strip_x5chain,
)
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.errors import (
    AudienceMismatch,
    Base45BadCharacter,
    CborDuplicateKey,
    CborLengthExceedsInput,
    CborNonDeterministic,
    CertificateChainError,
    CertificateProfileError,
    ConfirmationMissing,
    CoseAlgMismatch,
    CoseAlgMissing,
    CoseAlgNotAllowed,
    CoseBadSignature,
    CoseUnknownCritical,
    DelegationError,
    DeviceSignatureInvalid,
    Expired,
    InvalidArgument,
    KeyUsageNotAllowed,
    KeyWithdrawn,
    KidMismatch,
    NotYetValid,
    PresentationExpired,
    PresentationLifetimeTooLong,
    PresentationNotYetValid,
    PresentationReplayed,
    QrBadPrefix,
    SchemaError,
    SchemaUnknownLabel,
    TranscriptMismatch,
    UnknownIssuer,
    UsageError,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import encode_qr_text
from vitale_cred.pki import (
    IssuerMaterial,
    generate_private_key,
    kid_for_certificate,
    make_issuer_certificate,
)
from vitale_cred.presentation import (
    MAX_TTL,
    NONCE_LENGTH,
    PresentationPayload,
    decode_presentation_payload,
    present,
    present_qr,
)
from vitale_cred.registry import CardLabel, CoseAlg, CoseHeader, CwtClaim, PresentationLabel
from vitale_cred.status import StatusReference
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.verify import Policy, VerifiedCredential, VerifiedPresentation, Verifier

from _world import NOW, T0, World, make_world


def claims_of(credential: bytes) -> Claims:
    return decode_claims(cose.decode_sign1(credential).payload)


def resign(world: World, credential: bytes, **changes: object) -> bytes:
    """The credential with some claims changed, properly signed by the issuer."""
    return world.issuer.sign_claims(dataclasses.replace(claims_of(credential), **changes))


def sign_payload(world: World, payload: dict[int, object], **kwargs: object) -> bytes:
    return cose.sign1(
        _cbor.encode(payload), world.material.signer(), kid=world.material.kid, **kwargs
    )  # type: ignore[arg-type]


def expect(
    exc_type: type[VitaleCredError], code: str, call: object, *args: object, **kwargs: object
) -> None:
    with pytest.raises(exc_type) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert type(info.value) is exc_type
    assert info.value.code == code


# --- credentials --------------------------------------------------------------------


def test_every_family5_credential_verifies_with_each_algorithm(any_world: World) -> None:
    verifier = any_world.verifier()
    for index, credential in enumerate(any_world.bundle.credentials):
        verified = verifier.verify_credential(credential)
        assert verified.card.index == index
        assert verified.card.beneficiary == any_world.card.beneficiaries[index]
        assert verified.issuer.kid == any_world.material.kid
        assert verified.device_key == any_world.device.cose_key()


def test_credential_verifies_by_kid_once_x5chain_is_stripped(world: World) -> None:
    compact = strip_x5chain(world.bundle.credentials[0])
    assert CoseHeader.X5CHAIN not in cose.decode_sign1(compact).unprotected
    assert len(compact) < len(world.bundle.credentials[0]) - 300
    assert world.verifier().verify_credential(compact).card.index == 0


def test_credential_with_a_flipped_signature_bit_is_refused(world: World) -> None:
    credential = bytearray(world.bundle.credentials[1])
    credential[-1] ^= 0x01
    expect(
        CoseBadSignature,
        "cose.bad_signature",
        world.verifier().verify_credential,
        bytes(credential),
    )


def test_altered_beneficiary_breaks_the_issuer_signature(world: World) -> None:
    message = cose.decode_sign1(world.bundle.credentials[2])
    claims = _cbor.decode(message.payload)
    claims[CwtClaim.CARD][5][1] = "DURAND"
    forged = cose.encode_sign1(
        message.protected_bytes, message.unprotected, _cbor.encode(claims), message.signature
    )
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_alg_not_allowed_by_the_trust_store_is_refused(world: World) -> None:
    trust = TrustStore(
        roots=[world.material.root_certificate],
        certificates=[world.material.issuer_certificate],
        allowed_algs=[CoseAlg.EDDSA],
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        CoseAlgNotAllowed,
        "cose.alg_not_allowed",
        verifier.verify_credential,
        world.bundle.credentials[0],
    )


def test_protected_alg_that_does_not_match_the_issuer_key_is_refused(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    p384 = cose.SoftwareSigner(generate_private_key(CoseAlg.ES384))
    forged = cose.sign1(payload, p384, kid=world.material.kid)
    expect(CoseAlgMismatch, "cose.alg_mismatch", world.verifier().verify_credential, forged)


def test_alg_in_the_unprotected_header_only_is_refused(world: World) -> None:
    message = cose.decode_sign1(world.bundle.credentials[0])
    forged = cose.encode_sign1(
        _cbor.encode({CoseHeader.KID: world.material.kid}),
        {CoseHeader.ALG: int(CoseAlg.ES256)},
        message.payload,
        message.signature,
    )
    expect(CoseAlgMissing, "cose.alg_missing", world.verifier().verify_credential, forged)


def test_unknown_critical_header_is_refused(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    forged = cose.sign1(
        payload,
        world.material.signer(),
        kid=world.material.kid,
        protected={CoseHeader.CRIT: [99], 99: 1},
    )
    expect(CoseUnknownCritical, "cose.unknown_critical", world.verifier().verify_credential, forged)


def test_expired_credential_is_refused_beyond_the_skew(world: World) -> None:
    claims = claims_of(world.bundle.credentials[0])
    verifier = world.verifier(skew=30)
    world.clock.advance(claims.exp - NOW + 30)
    assert verifier.verify_credential(world.bundle.credentials[0])
    world.clock.advance(1)
    expect(Expired, "validity.expired", verifier.verify_credential, world.bundle.credentials[0])


def test_credential_issued_in_the_future_is_not_yet_valid(world: World) -> None:
    future = resign(world, world.bundle.credentials[0], iat=NOW + 31)
    expect(NotYetValid, "validity.not_yet_valid", world.verifier(skew=30).verify_credential, future)
    later_nbf = resign(world, world.bundle.credentials[0], nbf=NOW + 3600)
    expect(NotYetValid, "validity.not_yet_valid", world.verifier().verify_credential, later_nbf)


def test_issuer_unknown_to_the_trust_store_is_refused(world: World) -> None:
    other = make_world()
    verifier = Verifier(Policy(trust=other.trust, clock=world.clock))
    compact = strip_x5chain(world.bundle.credentials[0])
    expect(UnknownIssuer, "trust.unknown_issuer", verifier.verify_credential, compact)


def test_x5chain_from_another_root_is_a_broken_chain(world: World) -> None:
    other = make_world()
    verifier = Verifier(Policy(trust=other.trust, clock=world.clock))
    expect(
        CertificateChainError,
        "trust.chain_invalid",
        verifier.verify_credential,
        world.bundle.credentials[0],
    )


def test_kid_that_does_not_name_the_x5chain_certificate_is_refused(world: World) -> None:
    message = cose.decode_sign1(world.bundle.credentials[0])
    forged = cose.sign1(
        message.payload,
        world.material.signer(),
        kid=b"\x00" * 8,
        unprotected=message.unprotected,
    )
    expect(KidMismatch, "trust.kid_mismatch", world.verifier().verify_credential, forged)


def credential_from_certificate(world: World, name: str, **profile: object) -> bytes:
    """A credential signed under an issuer certificate made with ``profile`` deviations."""
    material = world.material
    key = generate_private_key(CoseAlg.ES256)
    assert material.root_key is not None
    cert = make_issuer_certificate(
        key.public_key(),
        name,
        material.root_key,
        material.root_certificate,
        T0,
        T0 + dt.timedelta(days=30),
        **profile,  # type: ignore[arg-type]
    )
    issuer = Issuer(
        cose.SoftwareSigner(key), kid=kid_for_certificate(cert), clock=world.clock, x5chain=[cert]
    )
    return issuer.sign_claims(claims_of(world.bundle.credentials[0]))


@pytest.mark.parametrize(
    "profile",
    [{"key_usage_sign": False, "serial": 77}, {"ca": True, "serial": 78}],
    ids=["without-digital-signature-usage", "that-is-a-ca"],
)
def test_issuer_certificate_outside_the_profile_is_refused(
    world: World, profile: dict[str, object]
) -> None:
    credential = credential_from_certificate(world, "off-profile", **profile)
    expect(
        CertificateProfileError,
        "trust.certificate_profile",
        world.verifier().verify_credential,
        credential,
    )


def test_expired_issuer_certificate_breaks_the_chain(world: World) -> None:
    world.clock.advance(3 * 365 * 86_400)
    verifier = world.verifier(skew=0)
    expect(
        CertificateChainError,
        "trust.chain_invalid",
        verifier.verify_credential,
        world.bundle.credentials[0],
    )


def test_key_trusted_only_for_status_lists_cannot_sign_credentials(world: World) -> None:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(signer.public_key()), b"sl", usages=[Usage.STATUS_LIST]
            )
        ]
    )
    issuer = Issuer(signer, kid=b"sl", clock=world.clock)
    credential = issuer.sign_claims(claims_of(world.bundle.credentials[0]))
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(KeyUsageNotAllowed, "trust.usage_not_allowed", verifier.verify_credential, credential)


def test_kid_indexed_raw_key_trust_works_without_x509(world: World) -> None:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.EDDSA))
    trust = TrustStore(keys=[raw_key(cose.CoseKey.from_public_key(signer.public_key()), b"k1")])
    issuer = Issuer(signer, kid=b"k1", clock=world.clock)
    credential = issuer.sign_claims(claims_of(world.bundle.credentials[3]))
    verified = Verifier(Policy(trust=trust, clock=world.clock)).verify_credential(credential)
    assert verified.card.index == 3


def test_credential_without_cnf_is_refused(world: World) -> None:
    claims = claims_of(world.bundle.credentials[0]).to_wire()
    del claims[CwtClaim.CNF]
    expect(
        ConfirmationMissing,
        "binding.cnf_missing",
        world.verifier().verify_credential,
        sign_payload(world, claims),
    )


def test_cnf_with_a_p384_key_is_refused(world: World) -> None:
    claims = claims_of(world.bundle.credentials[0]).to_wire()
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    claims[CwtClaim.CNF] = {1: cose.CoseKey.from_public_key(p384).to_map()}
    expect(
        ConfirmationMissing,
        "binding.cnf_missing",
        world.verifier().verify_credential,
        sign_payload(world, claims),
    )


def test_unknown_claim_is_refused_even_when_signed(world: World) -> None:
    claims = claims_of(world.bundle.credentials[0]).to_wire()
    claims[-70000] = "diagnosis"
    expect(
        SchemaUnknownLabel,
        "schema.unknown_label",
        world.verifier().verify_credential,
        sign_payload(world, claims),
    )


def test_non_deterministic_claims_are_refused_even_when_signed(world: World) -> None:
    claims = claims_of(world.bundle.credentials[0]).to_wire()
    body = _cbor.encode(claims)
    # Re-encode the iat(6) head in a longer form: same value, different bytes.
    iat = claims[CwtClaim.IAT]
    short = b"\x06\x1a" + iat.to_bytes(4, "big")
    assert short in body
    payload = body.replace(short, b"\x06\x1b" + iat.to_bytes(8, "big"))
    forged = cose.sign1(payload, world.material.signer(), kid=world.material.kid)
    expect(
        CborNonDeterministic, "cbor.non_deterministic", world.verifier().verify_credential, forged
    )


def test_duplicate_claim_keys_are_refused_even_when_signed(world: World) -> None:
    body = _cbor.encode({CwtClaim.ISS: "a"})
    duplicated = b"\xa2" + body[1:] + body[1:]
    forged = cose.sign1(duplicated, world.material.signer(), kid=world.material.kid)
    expect(CborDuplicateKey, "cbor.duplicate_key", world.verifier().verify_credential, forged)


def test_delegated_credential_reports_the_delegation(world: World) -> None:
    delegate = SoftwareDeviceKey.generate()
    bundle = world.issuer.issue(
        world.card,
        ProvenDeviceKey.unsafe_without_proof(delegate.cose_key()),
        valid_days=30,
        delegation=Delegation("MARTIN Pierre", "DURAND Anne", "pharmacy only"),
        beneficiaries=[3],
    )
    verified = world.verifier().verify_presentation(
        present(bundle.credentials[0], delegate, clock=world.clock)
    )
    assert verified.delegation == Delegation("MARTIN Pierre", "DURAND Anne", "pharmacy only")
    assert verified.beneficiary_index == 3
    expect(
        DelegationError,
        "delegation.invalid",
        world.verifier(allow_delegated=False).verify_credential,
        bundle.credentials[0],
    )


def test_a_delegate_cannot_present_with_the_holders_device_key(world: World) -> None:
    delegate = SoftwareDeviceKey.generate()
    bundle = world.issuer.issue(
        world.card,
        ProvenDeviceKey.unsafe_without_proof(delegate.cose_key()),
        valid_days=30,
        delegation=Delegation("MARTIN Pierre", "DURAND Anne"),
        beneficiaries=[0],
    )
    # present() refuses to sign this (the holder's library checks the binding first):
    # a delegate's phone modified to try it signs the token itself.
    with pytest.raises(DeviceSignatureInvalid):
        present(bundle.credentials[0], world.device, clock=world.clock)
    token = _forged(bundle.credentials[0], world.device, world.clock.now())
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        token,
    )


def test_verified_results_cannot_be_built_by_callers(world: World) -> None:
    verified = world.verifier().verify_credential(world.bundle.credentials[0])
    with pytest.raises(TypeError, match="dataclass"):  # sealed, not a dataclass
        dataclasses.replace(verified, iat=0)
    with pytest.raises(UsageError):
        VerifiedCredential(
            card=verified.card,
            device_key=verified.device_key,
            issuer=verified.issuer,
            iat=0,
            exp=0,
            delegation=None,
            status=None,
            status_result=None,
            raw=b"",
        )
    with pytest.raises(UsageError):
        VerifiedPresentation(verified, 0, 0, b"", None, None)


# --- presentations ------------------------------------------------------------------


def test_qr_presentation_of_each_beneficiary_verifies(world: World) -> None:
    verifier = world.verifier()
    for index, credential in enumerate(world.bundle.credentials):
        result = verifier.verify_qr(present_qr(credential, world.device, clock=world.clock))
        assert result.beneficiary_index == index
        assert result.insured_nir == world.card.nir
        assert result.organisme == world.card.organisme
        assert result.beneficiary == world.card.beneficiaries[index]
        assert result.token_exp - result.token_iat == 60


def test_qr_text_of_one_family5_beneficiary_fits_the_dcc_median(world: World) -> None:
    lengths = [
        len(present_qr(c, world.device, clock=world.clock)) for c in world.bundle.credentials
    ]
    assert max(lengths) <= 555, lengths


def test_presentation_discloses_no_other_dependant(world: World) -> None:
    token = present(world.bundle.credentials[2], world.device, clock=world.clock)
    for other in (0, 1, 3, 4):
        ben = world.card.beneficiaries[other]
        assert ben.given_names[0].encode() not in token
    assert b"MARTIN" in token
    payload = _cbor.decode(cose.decode_sign1(token).payload)
    assert set(payload) == {1, 2, 4}  # ttl(3) omitted at its default of 60
    claims = claims_of(payload[PresentationLabel.CREDENTIAL])
    assert claims.card.beneficiary == world.card.beneficiaries[2]


def test_presentation_ttl_is_written_only_when_it_is_not_60(world: World) -> None:
    credential = world.bundle.credentials[0]
    default = _cbor.decode(
        cose.decode_sign1(present(credential, world.device, clock=world.clock)).payload
    )
    assert PresentationLabel.TTL not in default
    longer = present(credential, world.device, clock=world.clock, ttl=120)
    assert _cbor.decode(cose.decode_sign1(longer).payload)[PresentationLabel.TTL] == 120
    assert PresentationPayload(b"c", NOW, 60, b"\x07" * NONCE_LENGTH).to_wire().keys() == {1, 2, 4}
    verified = world.verifier().verify_presentation(longer)
    assert verified.token_exp - verified.token_iat == 120


def test_presentation_with_ttl_60_written_out_is_refused(world: World) -> None:
    wire = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x07" * NONCE_LENGTH
    ).to_wire()
    assert PresentationLabel.TTL not in wire
    wire[PresentationLabel.TTL] = 60
    forged = cose.sign1(_cbor.encode(wire), world.device)
    expect(SchemaError, "schema.invalid", world.verifier().verify_presentation, forged)
    with pytest.raises(SchemaError) as info:
        decode_presentation_payload(_cbor.encode(wire))
    assert "ttl(3)" in info.value.message


@pytest.mark.parametrize("ttl", [0, -1, 0x10000, True, "60"])
def test_presentation_ttl_outside_1_to_65535_is_refused(world: World, ttl: object) -> None:
    wire = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x07" * NONCE_LENGTH
    ).to_wire()
    wire[PresentationLabel.TTL] = ttl
    with pytest.raises(SchemaError) as info:
        decode_presentation_payload(_cbor.encode(wire))
    assert type(info.value) is SchemaError
    assert info.value.code == "schema.invalid"


def test_expired_token_is_refused(world: World) -> None:
    token = present(world.bundle.credentials[0], world.device, clock=world.clock, ttl=60)
    world.clock.advance(60 + 30 + 1)
    expect(
        PresentationExpired,
        "presentation.expired",
        world.verifier(skew=30).verify_presentation,
        token,
    )


def test_token_from_the_future_is_not_yet_valid(world: World) -> None:
    phone = FixedClock(NOW + 31)
    token = present(world.bundle.credentials[0], world.device, clock=phone)
    expect(
        PresentationNotYetValid,
        "presentation.not_yet_valid",
        world.verifier(skew=30).verify_presentation,
        token,
    )


def test_token_lifetime_over_the_policy_cap_is_refused(world: World) -> None:
    token = present(world.bundle.credentials[0], world.device, clock=world.clock, ttl=MAX_TTL)
    assert world.verifier().verify_presentation(token)
    token = present(world.bundle.credentials[0], world.device, clock=world.clock, ttl=120)
    expect(
        PresentationLifetimeTooLong,
        "presentation.lifetime_too_long",
        world.verifier(max_token_lifetime=60).verify_presentation,
        token,
    )


def test_lifetime_over_the_hard_cap_is_refused_even_if_signed(world: World) -> None:
    credential = strip_x5chain(world.bundle.credentials[0])
    payload = PresentationPayload(credential, NOW, MAX_TTL + 1, b"\x01" * NONCE_LENGTH)
    token = cose.sign1(_cbor.encode(payload.to_wire()), world.device)
    expect(
        PresentationLifetimeTooLong,
        "presentation.lifetime_too_long",
        world.verifier().verify_presentation,
        token,
    )
    with pytest.raises(InvalidArgument):
        present(credential, world.device, clock=world.clock, ttl=MAX_TTL + 1)


def test_replayed_token_is_refused_and_a_fresh_one_is_not(world: World) -> None:
    verifier = world.verifier()
    token = present(world.bundle.credentials[0], world.device, clock=world.clock)
    verifier.verify_presentation(token)
    expect(PresentationReplayed, "presentation.replayed", verifier.verify_presentation, token)
    verifier.verify_presentation(
        present(world.bundle.credentials[0], world.device, clock=world.clock)
    )


def test_token_signed_by_another_device_key_is_refused(world: World) -> None:
    thief = SoftwareDeviceKey.generate()
    with pytest.raises(DeviceSignatureInvalid):
        present(world.bundle.credentials[0], thief, clock=world.clock)
    token = _forged(world.bundle.credentials[0], thief, world.clock.now())
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        world.verifier().verify_presentation,
        token,
    )


def test_credential_of_another_holder_spliced_into_a_token_is_refused(world: World) -> None:
    other = make_world()
    other_credential = strip_x5chain(other.bundle.credentials[0])
    payload = PresentationPayload(other_credential, NOW, 60, b"\x02" * NONCE_LENGTH)
    token = cose.sign1(_cbor.encode(payload.to_wire()), world.device)
    trust = TrustStore(
        roots=[other.material.root_certificate], certificates=[other.material.issuer_certificate]
    )
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        verifier.verify_presentation,
        token,
    )


def test_disclosed_beneficiary_altered_inside_a_token_is_refused(world: World) -> None:
    message = cose.decode_sign1(strip_x5chain(world.bundle.credentials[2]))
    claims = _cbor.decode(message.payload)
    assert claims[CwtClaim.CARD][5][3] == (2013 - 2000) * 416 + 4 * 32 + 21  # 2013-04-21
    claims[CwtClaim.CARD][5][3] += 1  # 2013-04-22: a valid date, the signature breaks
    forged = cose.encode_sign1(message.protected_bytes, {}, _cbor.encode(claims), message.signature)
    token = cose.sign1(
        _cbor.encode(PresentationPayload(forged, NOW, 60, b"\x03" * NONCE_LENGTH).to_wire()),
        world.device,
    )
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_presentation, token)


def test_audience_binding_is_enforced_both_ways(world: World) -> None:
    credential = world.bundle.credentials[0]
    bound = present(credential, world.device, clock=world.clock, audience=b"pharmacie-42")
    assert world.verifier(audience=b"pharmacie-42").verify_presentation(bound)
    expect(
        AudienceMismatch,
        "presentation.audience_mismatch",
        world.verifier(audience=b"cabinet-7").verify_presentation,
        bound,
    )
    expect(
        AudienceMismatch,
        "presentation.audience_mismatch",
        world.verifier().verify_presentation,
        present(credential, world.device, clock=world.clock, audience=b"x"),
    )
    expect(
        AudienceMismatch,
        "presentation.audience_mismatch",
        world.verifier(audience=b"pharmacie-42").verify_presentation,
        present(credential, world.device, clock=world.clock),
    )


def test_nfc_token_bound_to_a_transcript_is_refused_as_qr_and_in_another_session(
    world: World,
) -> None:
    transcript = hashlib.sha256(b"session one").digest()
    token = present(
        world.bundle.credentials[0], world.device, clock=world.clock, transcript=transcript
    )
    verifier = world.verifier()
    assert verifier.verify_presentation(token, transcript=transcript)
    assert verifier.verify_presentation(token, transcript=transcript)  # session-bound, no cache
    expect(
        TranscriptMismatch, "presentation.transcript_mismatch", verifier.verify_presentation, token
    )
    expect(
        TranscriptMismatch,
        "presentation.transcript_mismatch",
        verifier.verify_presentation,
        token,
        transcript=hashlib.sha256(b"session two").digest(),
    )


def test_unknown_presentation_label_is_refused(world: World) -> None:
    payload = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x04" * NONCE_LENGTH
    ).to_wire()
    payload[9] = 1
    token = cose.sign1(_cbor.encode(payload), world.device)
    expect(SchemaUnknownLabel, "schema.unknown_label", world.verifier().verify_presentation, token)


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, 0.99])
def test_truncated_qr_token_is_refused(world: World, keep: float) -> None:
    token = present(world.bundle.credentials[0], world.device, clock=world.clock)
    truncated = encode_qr_text(token[: int(len(token) * keep)], compress=False)
    with pytest.raises(CborLengthExceedsInput) as info:
        world.verifier().verify_qr(truncated)
    assert info.value.code == "cbor.length_exceeds_input"


def test_lowercase_qr_text_is_refused(world: World) -> None:
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock)
    expect(QrBadPrefix, "qr.bad_prefix", world.verifier().verify_qr, text.lower())
    expect(
        Base45BadCharacter,
        "base45.bad_character",
        world.verifier().verify_qr,
        "VC1:" + text[4:].lower(),
    )


def test_short_nonce_is_refused(world: World) -> None:
    payload = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x04" * 8
    ).to_wire()
    token = cose.sign1(_cbor.encode(payload), world.device)
    expect(SchemaError, "schema.invalid", world.verifier().verify_presentation, token)


def test_presentation_nonce_is_12_random_bytes(world: World) -> None:
    # 96 bits per presentation; the NFC reader and enrolment nonces stay 16 bytes.
    assert NONCE_LENGTH == 12
    assert device_module.NONCE_LENGTH == 16
    asked: list[int] = []

    def rng(n: int) -> bytes:
        asked.append(n)
        return bytes(range(1, n + 1))

    token = present(world.bundle.credentials[0], world.device, clock=world.clock, rng=rng)
    assert asked == [12]
    payload = _cbor.decode(cose.decode_sign1(token).payload)
    assert payload[PresentationLabel.NONCE] == bytes(range(1, 13))
    assert decode_presentation_payload(cose.decode_sign1(token).payload).nonce == bytes(
        range(1, 13)
    )
    verified = world.verifier().verify_presentation(token)
    assert verified.nonce == bytes(range(1, 13))


@pytest.mark.parametrize("length", [0, 1, 11, 13, 16, 32])
def test_nonce_of_another_length_than_12_is_refused(world: World, length: int) -> None:
    wire = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x04" * length
    ).to_wire()
    token = cose.sign1(_cbor.encode(wire), world.device)
    expect(SchemaError, "schema.invalid", world.verifier().verify_presentation, token)
    with pytest.raises(SchemaError) as info:
        decode_presentation_payload(_cbor.encode(wire))
    assert type(info.value) is SchemaError
    assert "nonce(4)" in info.value.message


@pytest.mark.parametrize("nonce", ["\x04" * 12, 12, [4] * 12, {4: 12}])
def test_nonce_that_is_not_a_byte_string_is_refused(world: World, nonce: object) -> None:
    wire = PresentationPayload(
        strip_x5chain(world.bundle.credentials[0]), NOW, 60, b"\x04" * NONCE_LENGTH
    ).to_wire()
    wire[PresentationLabel.NONCE] = nonce
    with pytest.raises(VitaleCredError) as info:
        decode_presentation_payload(_cbor.encode(wire))
    assert info.value.code == "schema.invalid"


@pytest.mark.parametrize("length", [11, 16])
def test_present_refuses_an_rng_that_returns_another_length(world: World, length: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        present(
            world.bundle.credentials[0],
            world.device,
            clock=world.clock,
            rng=lambda n: b"\x04" * length,
        )
    assert info.value.code == "usage.invalid_argument"


def test_issuer_cache_does_not_outlive_a_withdrawn_key(world: World) -> None:
    signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(keys=[raw_key(cose.CoseKey.from_public_key(signer.public_key()), b"r1")])
    issuer = Issuer(signer, kid=b"r1", clock=world.clock)
    credential = issuer.sign_claims(claims_of(world.bundle.credentials[0]))
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    verifier.verify_presentation(present(credential, world.device, clock=world.clock))
    trust.withdraw(b"r1")
    expect(
        KeyWithdrawn,
        "trust.key_withdrawn",
        verifier.verify_presentation,
        present(credential, world.device, clock=world.clock),
    )


def test_issuer_cache_still_checks_credential_expiry(world: World) -> None:
    verifier = world.verifier()
    credential = world.bundle.credentials[0]
    verifier.verify_presentation(present(credential, world.device, clock=world.clock))
    world.clock.advance(366 * 86_400)
    phone = FixedClock(world.clock.now())
    # The phone's library refuses to show an expired credential; a modified one could.
    with pytest.raises(Expired):
        present(credential, world.device, clock=phone)
    expect(
        Expired,
        "validity.expired",
        verifier.verify_presentation,
        _forged(credential, world.device, phone.now()),
    )


def test_one_verifier_shared_by_threads_gives_the_same_results(world: World) -> None:
    verifier = world.verifier()
    tokens = [
        present(world.bundle.credentials[i % 5], world.device, clock=world.clock)
        for i in range(200)
    ]
    results: list[int] = []
    errors: list[BaseException] = []

    def run(chunk: list[bytes]) -> None:
        for token in chunk:
            try:
                results.append(verifier.verify_presentation(token).beneficiary_index)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(tokens[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == sorted(i % 5 for i in range(200))


def test_verify_many_returns_failures_in_place(world: World) -> None:
    good = present(world.bundle.credentials[0], world.device, clock=world.clock)
    out = world.verifier().verify_many([good, b"\x00", good])
    assert isinstance(out[0], VerifiedPresentation)
    assert isinstance(out[1], VitaleCredError)
    assert isinstance(out[2], PresentationReplayed)


def test_policy_bounds_are_enforced(world: World) -> None:
    with pytest.raises(InvalidArgument):
        Policy(trust=world.trust, clock=world.clock, skew=301)
    with pytest.raises(InvalidArgument):
        Policy(trust=world.trust, clock=world.clock, max_token_lifetime=301)
    with pytest.raises(InvalidArgument):
        Verifier("not a policy")  # type: ignore[arg-type]


def test_issuance_refuses_an_unproven_key_and_excessive_validity(world: World) -> None:
    from vitale_cred.errors import IssuanceError

    with pytest.raises(IssuanceError):
        world.issuer.issue(world.card, world.device.cose_key(), valid_days=10)  # type: ignore[arg-type]
    with pytest.raises(IssuanceError):
        world.issuer.issue(
            world.card,
            ProvenDeviceKey.unsafe_without_proof(world.device.cose_key()),
            valid_days=401,
        )


def test_bundle_round_trips_and_rejects_other_versions(world: World) -> None:
    data = world.bundle.encode()
    assert CredentialBundle.decode(data) == world.bundle
    tampered = _cbor.decode(data)
    tampered[1] = 2
    with pytest.raises(SchemaError):
        CredentialBundle.decode(_cbor.encode(tampered))


# --- robustness ---------------------------------------------------------------------

_WORLD = make_world()
_VERIFIER = Verifier(Policy(trust=_WORLD.trust, clock=FixedClock(NOW)))
_TOKEN = present(_WORLD.bundle.credentials[1], _WORLD.device, clock=FixedClock(NOW))


@given(st.binary(max_size=600))
def test_arbitrary_bytes_into_the_verifier_raise_only_library_errors(data: bytes) -> None:
    for call in (_VERIFIER.verify_presentation, _VERIFIER.verify_credential):
        with pytest.raises(VitaleCredError):
            call(data)


@given(st.integers(min_value=0, max_value=len(_TOKEN) - 1), st.integers(1, 255))
def test_every_single_byte_mutation_of_a_token_is_refused(position: int, flip: int) -> None:
    mutated = bytearray(_TOKEN)
    mutated[position] ^= flip
    verifier = Verifier(Policy(trust=_WORLD.trust, clock=FixedClock(NOW)))
    with pytest.raises(VitaleCredError):
        verifier.verify_presentation(bytes(mutated))


@given(st.text(max_size=700))
def test_arbitrary_text_into_verify_qr_raises_only_library_errors(text: str) -> None:
    with pytest.raises(VitaleCredError):
        _VERIFIER.verify_qr(text)


def test_material_generated_for_each_algorithm_signs_verifiable_credentials() -> None:
    for alg in (CoseAlg.ES384, CoseAlg.EDDSA):
        material = IssuerMaterial.generate(alg, T0)
        assert material.signer().alg is alg


class _RecordingStatus:
    """A status check that records what the verifier asks it."""

    def __init__(self) -> None:
        self.asked: list[tuple[StatusReference, int, bytes]] = []

    def undetermined(self, reason: str) -> str:
        return f"undetermined: {reason}"

    def check(self, ref: StatusReference, now: int, *, issuer_kid: bytes) -> str:
        self.asked.append((ref, now, issuer_kid))
        return "checked"


def test_verifier_asks_the_status_check_with_the_credentials_issuer_kid(world: World) -> None:
    credential = resign(world, world.bundle.credentials[1], status=StatusReference(5, 17))
    status = _RecordingStatus()
    verified = world.verifier(status=status).verify_credential(credential)
    assert verified.status == StatusReference(5, 17)
    assert verified.status_result == "checked"
    assert status.asked == [(StatusReference(5, 17), NOW, world.material.kid)]


def test_credential_without_a_status_reference_is_reported_undetermined(world: World) -> None:
    status = _RecordingStatus()
    verified = world.verifier(status=status).verify_credential(world.bundle.credentials[0])
    assert verified.status is None
    assert verified.status_result == "undetermined: credential carries no status(7) reference"
    assert status.asked == []


def test_status_reference_travels_in_the_card_map_not_as_a_claim(world: World) -> None:
    credential = resign(world, world.bundle.credentials[1], status=StatusReference(5, 17))
    claims = _cbor.decode(cose.decode_sign1(credential).payload)
    assert CwtClaim.STATUS not in claims
    assert claims[CwtClaim.CARD][CardLabel.STATUS] == [5, 17]
    assert claims_of(credential).status == StatusReference(5, 17)
    assert CardLabel.STATUS not in claims_of(credential).card.to_wire()


def test_draft_status_claim_in_a_signed_credential_is_an_unknown_label(world: World) -> None:
    claims = _cbor.decode(cose.decode_sign1(world.bundle.credentials[0]).payload)
    claims[CwtClaim.STATUS] = {"status_list": {"idx": 0, "uri": "https://s.example/1"}}
    forged = sign_payload(world, claims)
    expect(SchemaUnknownLabel, "schema.unknown_label", world.verifier().verify_credential, forged)


def _forged(credential: bytes, device: SoftwareDeviceKey, now: int) -> bytes:
    """A presentation signed without present()'s checks: what a modified app could send."""
    payload = PresentationPayload(strip_x5chain(credential), now, 60, b"\x07" * NONCE_LENGTH)
    return cose.sign1(_cbor.encode(payload.to_wire()), device)


def test_present_refuses_what_every_verifier_would_refuse(world: World) -> None:
    credential = world.bundle.credentials[0]
    expect(
        DeviceSignatureInvalid,
        "binding.device_signature_invalid",
        present,
        credential,
        SoftwareDeviceKey.generate(),
        clock=world.clock,
    )
    late = FixedClock(world.clock.now() + 400 * 86_400)
    expect(Expired, "validity.expired", present, credential, world.device, clock=late)
    early = FixedClock(world.clock.now() - 30 * 86_400)
    expect(NotYetValid, "validity.not_yet_valid", present, credential, world.device, clock=early)
    assert world.verifier().verify_presentation(
        present(credential, world.device, clock=world.clock)
    )
