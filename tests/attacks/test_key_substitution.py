"""kid and x5chain substitution: the message may name its signer, never vouch for it.

``kid`` and ``x5chain`` only select a key among those the trust store already
trusts; an ``x5chain`` is validated to a trusted root at the verification instant
and must satisfy the issuer profile before its key is used.
"""

from __future__ import annotations

import datetime as dt

import cryptography
import pytest
from cryptography.hazmat.primitives import serialization

from vitale_cred.errors import (
    CertificateChainError,
    CertificateProfileError,
    CoseBadSignature,
    KeyUsageNotAllowed,
    KidMismatch,
    UnknownIssuer,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.pki import (
    generate_private_key,
    kid_for_certificate,
    make_issuer_certificate,
    make_root_certificate,
)
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.verify import Policy, Verifier

from ._support import expect, with_parts, without_x5chain
from _world import T0, World

DER = serialization.Encoding.DER
CRYPTOGRAPHY_MAJOR = int(cryptography.__version__.split(".")[0])


def _sibling_issuer(world: World, serial: int = 90) -> tuple[cose.SoftwareSigner, bytes]:
    """A second, genuine issuer certificate under the same trusted root."""
    assert world.material.root_key is not None
    key = generate_private_key(CoseAlg.ES256)
    cert = make_issuer_certificate(
        key.public_key(),
        "Sibling fund",
        world.material.root_key,
        world.material.root_certificate,
        T0,
        T0 + dt.timedelta(days=365),
        serial=serial,
    )
    return cose.SoftwareSigner(key), cert.public_bytes(DER)


def _patched_certificate(world: World, old: str, new: str) -> bytes:
    der = world.material.issuer_certificate.public_bytes(DER)
    position = der.find(bytes.fromhex(old))
    assert position > 0
    return der[:position] + bytes.fromhex(new) + der[position + len(old) // 2 :]


def test_kid_of_a_key_trusted_only_for_status_lists_cannot_sign_credentials(
    world: World,
) -> None:
    status_signer = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    trust = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(status_signer.public_key()),
                b"status",
                usages=[Usage.STATUS_LIST],
            )
        ]
    )
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    forged = cose.sign1(payload, status_signer, kid=b"status")
    verifier = Verifier(Policy(trust=trust, clock=world.clock))
    expect(KeyUsageNotAllowed, "trust.usage_not_allowed", verifier.verify_credential, forged)


def test_attacker_key_under_an_unknown_kid_is_an_unknown_issuer(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    attacker = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    forged = cose.sign1(payload, attacker, kid=b"caisse-75")
    expect(UnknownIssuer, "trust.unknown_issuer", world.verifier().verify_credential, forged)


def test_attacker_key_under_the_genuine_kid_fails_the_signature(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    attacker = cose.SoftwareSigner(generate_private_key(CoseAlg.ES256))
    forged = cose.sign1(payload, attacker, kid=world.material.kid)
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_message_naming_no_signer_at_all_is_an_unknown_issuer(world: World) -> None:
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    forged = cose.sign1(payload, world.material.signer())
    expect(UnknownIssuer, "trust.unknown_issuer", world.verifier().verify_credential, forged)


def test_self_made_chain_to_an_untrusted_root_is_refused(world: World) -> None:
    root_key = generate_private_key(CoseAlg.ES256)
    root = make_root_certificate(root_key, "Fake CPAM root", T0, T0 + dt.timedelta(days=900))
    key = generate_private_key(CoseAlg.ES256)
    cert = make_issuer_certificate(
        key.public_key(), "Fake CPAM", root_key, root, T0, T0 + dt.timedelta(days=365)
    )
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    forged = cose.sign1(
        payload,
        cose.SoftwareSigner(key),
        kid=kid_for_certificate(cert),
        unprotected={CoseHeader.X5CHAIN: cert.public_bytes(DER)},
    )
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_sibling_issuer_certificate_under_the_first_issuers_kid_is_a_kid_mismatch(
    world: World,
) -> None:
    _, sibling_der = _sibling_issuer(world)
    forged = with_parts(world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: sibling_der})
    expect(KidMismatch, "trust.kid_mismatch", world.verifier().verify_credential, forged)


def test_sibling_issuer_certificate_cannot_vouch_for_another_issuers_signature(
    world: World,
) -> None:
    sibling, sibling_der = _sibling_issuer(world, serial=91)
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    signed_by_a = cose.sign1(payload, world.material.signer())  # no kid
    forged = with_parts(signed_by_a, unprotected={CoseHeader.X5CHAIN: sibling_der})
    assert sibling.alg is CoseAlg.ES256
    expect(CoseBadSignature, "cose.bad_signature", world.verifier().verify_credential, forged)


def test_root_ca_certificate_offered_as_the_signer_certificate_is_refused(
    world: World,
) -> None:
    root_der = world.material.root_certificate.public_bytes(DER)
    forged = with_parts(
        without_x5chain(world.bundle.credentials[0]),
        unprotected={CoseHeader.X5CHAIN: root_der},
    )
    expect(
        CertificateProfileError,
        "trust.certificate_profile",
        world.verifier().verify_credential,
        forged,
    )


def test_x5chain_longer_than_the_bound_is_refused(world: World) -> None:
    der = world.material.issuer_certificate.public_bytes(DER)
    forged = with_parts(world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: [der] * 4})
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_x5chain_holding_garbage_is_an_unreadable_chain(world: World) -> None:
    forged = with_parts(
        world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: b"\x30\x03\x02\x01\x00"}
    )
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_x5chain_of_the_wrong_cbor_type_is_refused(world: World) -> None:
    forged = with_parts(world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: 33})
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_kid_moved_to_the_unprotected_header_still_selects_only_trusted_keys(
    world: World,
) -> None:
    compact = without_x5chain(world.bundle.credentials[0])
    message = cose.decode_sign1(compact)
    forged = cose.encode_sign1(
        _cbor.encode({CoseHeader.ALG: int(CoseAlg.ES256)}),
        {CoseHeader.KID: b"\x00" * 8},
        message.payload,
        message.signature,
    )
    expect(UnknownIssuer, "trust.unknown_issuer", world.verifier().verify_credential, forged)


MALFORMED_CERTIFICATES = [
    pytest.param("0603551d0f", "0603551d13", id="duplicate-basic-constraints-extension"),
    pytest.param("2a8648ce3d0201", "2a8648ce3d0209", id="unknown-public-key-algorithm"),
    pytest.param("2a8648ce3d030107", "2a8648ce3d030101", id="point-not-on-the-named-curve"),
]


@pytest.mark.parametrize(("old", "new"), MALFORMED_CERTIFICATES)
def test_malformed_x5chain_certificate_is_a_profile_error_not_a_crash(
    world: World, old: str, new: str
) -> None:
    forged = with_parts(
        world.bundle.credentials[0],
        unprotected={CoseHeader.X5CHAIN: _patched_certificate(world, old, new)},
    )
    expect(
        CertificateProfileError,
        "trust.certificate_profile",
        world.verifier().verify_credential,
        forged,
    )


def test_x5chain_certificate_with_its_issuer_name_in_a_general_string_is_unreadable(
    world: World,
) -> None:
    # A Name that does not decode makes the certificate unreadable (spec/trust.md
    # section 2.1.1), whichever field a validator happens to read first.
    forged = with_parts(
        world.bundle.credentials[0],
        unprotected={
            CoseHeader.X5CHAIN: _patched_certificate(world, "06035504061302", "06035504061b02")
        },
    )
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_x5chain_certificate_with_an_unparsable_subject_is_a_chain_error_not_a_crash(
    world: World,
) -> None:
    # Found by fuzz/fuzz_cose.py: invalid UTF-8 in the subject CN, and a
    # signatureAlgorithm that no longer matches the key so the verifier reparses names.
    der = bytearray(world.material.issuer_certificate.public_bytes(DER))
    name = der.rfind(b"Caisse primaire (test)")
    der[name + 3 : name + 5] = b"\x8d\x86"
    oid = der.rfind(bytes.fromhex("2a8648ce3d0403"))
    der[oid + 1 : oid + 3] = b"\x48\x86"
    forged = with_parts(world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: bytes(der)})
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)


def test_x5chain_certificate_claiming_x509_version_4_is_an_unreadable_chain(
    world: World,
) -> None:
    der = world.material.issuer_certificate.public_bytes(DER)
    version = der.find(bytes.fromhex("a003020102"))  # [0] EXPLICIT INTEGER 2 (v3)
    forged_der = der[: version + 4] + b"\x04" + der[version + 5 :]
    forged = with_parts(world.bundle.credentials[0], unprotected={CoseHeader.X5CHAIN: forged_der})
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)
