"""Unsigned x5chain padding: extra certificates can only fail to help.

``x5chain`` sits in the unprotected header, covered by no signature: anyone on the
path can append certificates to it. The path procedure (spec/trust.md section
4.2) is the same for every algorithm, and an appended certificate that no
candidate path uses changes nothing.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from vitale_cred.errors import CertificateChainError
from vitale_cred.hazmat import cose
from vitale_cred.pki import (
    IssuerMaterial,
    certificate_name,
    generate_private_key,
    key_usage,
    kid_for_certificate,
)
from vitale_cred.registry import CoseAlg, CoseHeader

from ._support import claims_of, expect
from _world import T0, World

DER = serialization.Encoding.DER


def test_unrelated_ed25519_certificate_cannot_excuse_an_intermediate_unknown_critical_extension(
    world: World,
) -> None:
    # An ECDSA intermediate the old Web PKI validator refused for its unknown critical
    # extension; appending any Ed25519 certificate used to switch the chain to a
    # reduced validator that did no criticality processing.
    material = world.material
    assert material.root_key is not None
    intermediate_key = generate_private_key(CoseAlg.ES256)
    intermediate = (
        x509.CertificateBuilder()
        .subject_name(certificate_name("Rogue intermediate"))
        .issuer_name(material.root_certificate.subject)
        .public_key(intermediate_key.public_key())
        .serial_number(501)
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(sign=False, cert_sign=True), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x05\x00"),
            critical=True,
        )
        .sign(material.root_key, hashes.SHA256())
    )
    issuer_key = generate_private_key(CoseAlg.ES256)
    issuer = (
        x509.CertificateBuilder()
        .subject_name(certificate_name("Issuer under the rogue intermediate"))
        .issuer_name(intermediate.subject)
        .public_key(issuer_key.public_key())
        .serial_number(502)
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(sign=True, cert_sign=False), critical=True)
        .sign(intermediate_key, hashes.SHA256())
    )
    unrelated = IssuerMaterial.generate(CoseAlg.EDDSA, T0).issuer_certificate
    payload = cose.decode_sign1(world.bundle.credentials[0]).payload
    chain = [c.public_bytes(DER) for c in (issuer, intermediate, unrelated)]
    forged = cose.sign1(
        payload,
        cose.SoftwareSigner(issuer_key),
        kid=kid_for_certificate(issuer),
        unprotected={CoseHeader.X5CHAIN: chain},
    )
    assert claims_of(forged) == claims_of(world.bundle.credentials[0])
    expect(CertificateChainError, "trust.chain_invalid", world.verifier().verify_credential, forged)
