"""X.509 path validation (spec/trust.md section 4.2): one failing test per step, the
same procedure for every algorithm, and extra x5chain certificates that change nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.errors import (
    CertificateChainError,
    CertificateProfileError,
    InvalidArgument,
    TrustError,
    UnknownIssuer,
)
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.cose import PrivateKey
from vitale_cred.pki import certificate_name, generate_private_key, key_usage, kid_for_certificate
from vitale_cred.registry import CoseAlg, CoseHeader
from vitale_cred.trust import TrustStore, Usage, check_issuer_profile

from _world import NOW, T0

DER = serialization.Encoding.DER
UNKNOWN = x509.ObjectIdentifier("1.3.6.1.4.1.99999.3")
ALGS = [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA]


@dataclass
class Node:
    key: PrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(DER)


def _hash(key: PrivateKey, name: str = "") -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    chosen: dict[str, hashes.SHA256 | hashes.SHA384 | hashes.SHA512] = {
        "sha384": hashes.SHA384(),
        "sha512": hashes.SHA512(),
        "sha256": hashes.SHA256(),
    }
    if name:
        return chosen[name]
    return hashes.SHA384() if isinstance(key.curve, ec.SECP384R1) else hashes.SHA256()


def make(
    name: str,
    alg: CoseAlg,
    parent: Node | None,
    *,
    ca: bool,
    path_length: int | None = None,
    days: tuple[int, int] = (0, 365),
    critical_unknown: bool = False,
    basic_critical: bool = True,
    hash_name: str = "",
    issuer_name: x509.Name | None = None,
    key: PrivateKey | None = None,
) -> Node:
    """A certificate under ``parent`` (self-signed if None), conforming unless told."""
    key = key or generate_private_key(alg)
    subject = certificate_name(name)
    signer = parent.key if parent else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or (parent.cert.subject if parent else subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 + dt.timedelta(days=days[0]))
        .not_valid_after(T0 + dt.timedelta(days=days[1]))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
            critical=basic_critical,
        )
        .add_extension(key_usage(sign=not ca, cert_sign=ca), critical=True)
    )
    if critical_unknown:
        builder = builder.add_extension(x509.UnrecognizedExtension(UNKNOWN, b"\x05\x00"), True)
    return Node(key, builder.sign(signer, _hash(signer, hash_name)))


def resolve(store: TrustStore, leaf: Node, *extra: bytes) -> CoseAlg:
    message = cose.decode_sign1(
        cose.sign1(
            b"x",
            cose.SoftwareSigner(leaf.key),
            kid=kid_for_certificate(leaf.cert),
            unprotected={CoseHeader.X5CHAIN: [leaf.der, *extra]},
        )
    )
    key = store.resolve(message, NOW, Usage.CREDENTIAL)
    message.verify(key.key)
    return key.alg


def refused(error: type[TrustError], store: TrustStore, leaf: Node, *extra: bytes) -> None:
    with pytest.raises(error) as info:
        resolve(store, leaf, *extra)
    assert type(info.value) is error


@pytest.fixture(params=ALGS, ids=[a.name for a in ALGS])
def alg(request: pytest.FixtureRequest) -> CoseAlg:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def root(alg: CoseAlg) -> Node:
    return make("Root", alg, None, ca=True, path_length=1, days=(0, 3650))


@pytest.fixture
def store(root: Node) -> TrustStore:
    return TrustStore(roots=[root.cert])


# --- valid paths, every algorithm ------------------------------------------------------


def test_direct_and_intermediate_paths_validate(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    assert resolve(store, make("Issuer", alg, root, ca=False)) is alg
    middle = make("Intermediate", alg, root, ca=True, path_length=0)
    assert resolve(store, make("Issuer 2", alg, middle, ca=False), middle.der) is alg


def test_mixed_algorithms_on_one_path(root: Node, store: TrustStore) -> None:
    middle = make("Ed25519 intermediate", CoseAlg.EDDSA, root, ca=True, path_length=0)
    assert resolve(store, make("P-384 issuer", CoseAlg.ES384, middle, ca=False), middle.der) is (
        CoseAlg.ES384
    )


# --- one failure per step ----------------------------------------------------------------


def test_step_1_no_root_configured_is_an_unknown_issuer(root: Node, alg: CoseAlg) -> None:
    refused(UnknownIssuer, TrustStore(), make("Issuer", alg, root, ca=False))


def test_step_2_an_unreadable_certificate_anywhere_in_x5chain(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    refused(CertificateChainError, store, make("Issuer", alg, root, ca=False), b"\x30\x00")


def test_step_2_a_name_in_a_general_string_is_unreadable(root: Node, store: TrustStore) -> None:
    leaf = make("Issuer", CoseAlg.ES256, root, ca=False)
    der = leaf.der.replace(bytes.fromhex("06035504061302"), bytes.fromhex("06035504061b02"), 1)
    message = cose.decode_sign1(
        cose.sign1(b"x", cose.SoftwareSigner(leaf.key), unprotected={CoseHeader.X5CHAIN: der})
    )
    with pytest.raises(CertificateChainError):
        store.resolve(message, NOW, Usage.CREDENTIAL)
    # Outside a path (registration, trust-list entries) the same defect is a profile one.
    with pytest.raises(CertificateProfileError):
        check_issuer_profile(x509.load_der_x509_certificate(der))


@pytest.mark.parametrize(
    "deviation",
    [
        {"critical_unknown": True},
        {"basic_critical": False},
        {"ca": True, "path_length": 0},
    ],
    ids=["unknown-critical-extension", "basic-constraints-not-critical", "a-ca"],
)
def test_step_3_issuer_certificate_outside_the_profile(
    alg: CoseAlg, root: Node, store: TrustStore, deviation: dict[str, object]
) -> None:
    options: dict[str, object] = {"ca": False, **deviation}
    leaf = make("Issuer", alg, root, **options)  # type: ignore[arg-type]
    refused(CertificateProfileError, store, leaf)


def test_step_3_signature_algorithm_outside_the_allowed_three(
    root: Node, store: TrustStore
) -> None:
    if not isinstance(root.key, ec.EllipticCurvePrivateKey):
        pytest.skip("Ed25519 has a single signature algorithm")
    refused(
        CertificateProfileError,
        store,
        make("Issuer", CoseAlg.ES256, root, ca=False, hash_name="sha512"),
    )


def test_step_4_issuer_certificate_not_valid_now(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    refused(CertificateChainError, store, make("Issuer", alg, root, ca=False, days=(10, 20)))


def test_step_5_no_candidate_path(alg: CoseAlg, store: TrustStore) -> None:
    stranger = make("Other root", alg, None, ca=True, path_length=1)
    refused(CertificateChainError, store, make("Issuer", alg, stranger, ca=False))


def test_step_7_intermediate_with_an_unknown_critical_extension(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    middle = make("Intermediate", alg, root, ca=True, path_length=0, critical_unknown=True)
    refused(CertificateChainError, store, make("Issuer", alg, middle, ca=False), middle.der)


def test_step_7_intermediate_that_is_not_a_ca(alg: CoseAlg, root: Node, store: TrustStore) -> None:
    middle = make("Intermediate", alg, root, ca=False)
    refused(CertificateChainError, store, make("Issuer", alg, middle, ca=False), middle.der)


def test_step_7_root_outside_the_profile_anchors_nothing(alg: CoseAlg) -> None:
    bad_root = make("Root", alg, None, ca=True, path_length=1, critical_unknown=True)
    store = TrustStore(roots=[bad_root.cert])
    refused(CertificateChainError, store, make("Issuer", alg, bad_root, ca=False))


def test_step_8_intermediate_not_valid_now(alg: CoseAlg, root: Node, store: TrustStore) -> None:
    middle = make("Intermediate", alg, root, ca=True, path_length=0, days=(-400, -1))
    refused(CertificateChainError, store, make("Issuer", alg, middle, ca=False), middle.der)


def test_step_8_root_not_valid_now(alg: CoseAlg) -> None:
    old_root = make("Root", alg, None, ca=True, path_length=1, days=(-400, -1))
    store = TrustStore(roots=[old_root.cert])
    refused(CertificateChainError, store, make("Issuer", alg, old_root, ca=False))


def test_step_9_signature_by_another_key_under_the_same_name(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    impostor = make("Root", alg, None, ca=True, path_length=1)  # same subject, other key
    refused(CertificateChainError, store, make("Issuer", alg, impostor, ca=False))


def test_step_9_hash_not_the_one_the_issuer_key_makes(root: Node, store: TrustStore) -> None:
    if not isinstance(root.key, ec.EllipticCurvePrivateKey):
        pytest.skip("Ed25519 has a single signature algorithm")
    other = "sha256" if isinstance(root.key.curve, ec.SECP384R1) else "sha384"
    refused(
        CertificateChainError, store, make("Issuer", CoseAlg.ES256, root, ca=False, hash_name=other)
    )


def test_step_10_root_path_length_zero_forbids_an_intermediate(alg: CoseAlg) -> None:
    short = make("Root", alg, None, ca=True, path_length=0)
    store = TrustStore(roots=[short.cert])
    middle = make("Intermediate", alg, short, ca=True, path_length=0)
    refused(CertificateChainError, store, make("Issuer", alg, middle, ca=False), middle.der)
    assert resolve(store, make("Direct issuer", alg, short, ca=False)) is alg


# --- the unprotected x5chain chooses nothing ----------------------------------------------


def test_appended_certificates_of_any_algorithm_change_nothing(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    middle = make("Intermediate", alg, root, ca=True, path_length=0)
    leaf = make("Issuer", alg, middle, ca=False)
    for other in ALGS:
        unrelated = make("Unrelated", other, None, ca=True, path_length=1).der
        assert resolve(store, leaf, middle.der, unrelated) is alg
    bad = make("Intermediate", alg, root, ca=True, path_length=0, critical_unknown=True)
    bad_leaf = make("Issuer", alg, bad, ca=False)
    for other in ALGS:
        unrelated = make("Unrelated", other, None, ca=True, path_length=1).der
        refused(CertificateChainError, store, bad_leaf, bad.der, unrelated)


def test_a_failing_candidate_does_not_hide_a_valid_one(
    alg: CoseAlg, root: Node, store: TrustStore
) -> None:
    middle = make("Intermediate", alg, root, ca=True, path_length=0)
    decoy = make(
        "Intermediate", alg, root, ca=True, path_length=0, critical_unknown=True, key=middle.key
    )
    leaf = make("Issuer", alg, middle, ca=False)
    assert resolve(store, leaf, decoy.der, middle.der) is alg
    assert resolve(store, leaf, middle.der, decoy.der) is alg


def test_a_root_that_does_not_decode_is_refused_when_configured(root: Node) -> None:
    der = root.der.replace(bytes.fromhex("06035504061302"), bytes.fromhex("06035504061b02"), 1)
    with pytest.raises(InvalidArgument):
        TrustStore(roots=[x509.load_der_x509_certificate(der)])


def test_trust_list_authority_trusts_each_root_key_for_trust_lists_only() -> None:
    from vitale_cred.clock import FixedClock
    from vitale_cred.errors import InvalidArgument, UnknownIssuer
    from vitale_cred.hazmat.cose import SoftwareSigner
    from vitale_cred.pki import kid_for_certificate
    from vitale_cred.trust import TrustStore, Usage, spki_sha256
    from vitale_cred.trustlist import TrustList, sign_trust_list, verify_trust_list

    from _world import NOW, make_world

    world = make_world()
    root = world.material.root_certificate
    assert world.material.root_key is not None
    authority = TrustStore.trust_list_authority([root])
    assert authority.usages_for_key(spki_sha256(root.public_key())) == frozenset({Usage.TRUST_LIST})
    trust_list = TrustList(1, NOW - 60, NOW + 86_400, ())
    signer = SoftwareSigner(world.material.root_key)
    signed = sign_trust_list(trust_list, signer, kid=kid_for_certificate(root))
    assert verify_trust_list(signed, authority, clock=FixedClock(NOW)).seq == 1
    elsewhere = sign_trust_list(trust_list, signer, kid=b"other-kid")
    with pytest.raises(UnknownIssuer):
        verify_trust_list(elsewhere, authority, clock=FixedClock(NOW))
    with pytest.raises(InvalidArgument):
        TrustStore.trust_list_authority([])
