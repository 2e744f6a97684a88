"""Issuer keys in a PKCS#11 token (SoftHSM2): generation, signing, lookup, errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred import errors, pki
from vitale_cred.adapters.hsm import Pkcs11Signer, Pkcs11Token, alg_for_ec_params, decode_ec_point
from vitale_cred.errors import (
    BadKey,
    EnvironmentFailure,
    HsmError,
    HsmKeyLabelConflict,
    HsmKeyNotFound,
    HsmOperationFailed,
    HsmPinIncorrect,
    HsmTokenInUse,
    HsmTokenNotFound,
    HsmUnavailable,
    UsageError,
)
from vitale_cred.hazmat.cose import ALGORITHMS, Signer, VerifyingKey, decode_sign1, sign1
from vitale_cred.registry import CoseAlg
from vitale_cred.trust import TrustStore

from hsm_fixtures import SoftHsmToken, softhsm_token  # noqa: F401 (fixture)

ALGS = [CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA]
ALG_IDS = [a.name for a in ALGS]
NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
AT = int((NOT_BEFORE + dt.timedelta(days=30)).timestamp())

_label_counter = iter(range(1_000_000))


def fresh_label(prefix: str) -> str:
    return f"{prefix}-{next(_label_counter)}"


@pytest.fixture
def token(softhsm_token: SoftHsmToken) -> Iterator[Pkcs11Token]:  # noqa: F811
    with Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, softhsm_token.pin) as tok:
        yield tok


@pytest.fixture
def raw_session(softhsm_token: SoftHsmToken, token: Pkcs11Token) -> Iterator[Any]:  # noqa: F811
    """A python-pkcs11 session without its own login (the process is logged in by ``token``)."""
    import pkcs11

    lib = pkcs11.lib(softhsm_token.module_path)
    session = lib.get_token(token_label=softhsm_token.label).open(rw=True)
    try:
        yield session
    finally:
        session.close()  # not logged in itself: closing does not log ``token`` out


# --- without a token -----------------------------------------------------------------


def test_module_imports_without_python_pkcs11_and_open_asks_for_the_extra() -> None:
    code = (
        "import sys; sys.modules['pkcs11'] = None\n"
        "import vitale_cred.adapters.hsm as hsm\n"
        "from vitale_cred.errors import EnvironmentFailure, HsmUnavailable\n"
        "try:\n"
        "    hsm.Pkcs11Token.open('/nonexistent.so', 'label', 'pin')\n"
        "except HsmUnavailable as exc:\n"
        "    assert isinstance(exc, EnvironmentFailure)\n"
        "    print(exc.code, exc.message)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "hsm.unavailable install vitale-cred[hsm]"


def test_open_without_python_pkcs11_raises_an_environment_failure_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pkcs11", None)
    with pytest.raises(HsmUnavailable, match=r"install vitale-cred\[hsm\]") as info:
        Pkcs11Token.open("/nonexistent.so", "label", "1234")
    assert isinstance(info.value, EnvironmentFailure)


def test_hsm_errors_are_environment_failures_with_hsm_codes() -> None:
    hsm_classes = [c for c in errors.all_error_classes() if issubclass(c, HsmError)]
    assert {c.code for c in hsm_classes} >= {
        "hsm.unavailable",
        "hsm.token_not_found",
        "hsm.key_not_found",
        "hsm.pin_incorrect",
        "hsm.operation_failed",
    }
    for cls in hsm_classes:
        # The token failing is the machine's doing: never the caller's misuse.
        assert issubclass(cls, EnvironmentFailure) and not issubclass(cls, UsageError)
        assert cls.code.startswith("hsm.")


@pytest.mark.parametrize(
    ("params", "alg"),
    [
        ("06082a8648ce3d030107", CoseAlg.ES256),
        ("06052b81040022", CoseAlg.ES384),
        ("06032b6570", CoseAlg.EDDSA),
        ("130c656477617264733235353139", CoseAlg.EDDSA),  # "edwards25519"
        ("06092b06010401da470f01", CoseAlg.EDDSA),
    ],
)
def test_ec_params_name_the_cose_algorithm(params: str, alg: CoseAlg) -> None:
    assert alg_for_ec_params(bytes.fromhex(params)) is alg


@pytest.mark.parametrize("params", ["06052b81040023", "06032b6571", "", "0500"])
def test_unsupported_ec_params_are_refused(params: str) -> None:
    with pytest.raises(BadKey):
        alg_for_ec_params(bytes.fromhex(params))


def _software_public_key(alg: CoseAlg) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    return pki.generate_private_key(alg).public_key()


def _bare_point(key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> bytes:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_ec_point_is_decoded_whether_der_wrapped_or_bare(alg: CoseAlg) -> None:
    key = _software_public_key(alg)
    point = _bare_point(key)
    wrapped = bytes((0x04, len(point))) + point
    for value in (wrapped, point):
        assert decode_ec_point(alg, value) == key


@pytest.mark.parametrize("alg", [CoseAlg.ES256, CoseAlg.ES384], ids=["ES256", "ES384"])
def test_ec_point_with_non_minimal_der_length_is_refused(alg: CoseAlg) -> None:
    point = _bare_point(_software_public_key(alg))
    with pytest.raises(BadKey):
        decode_ec_point(alg, b"\x04\x81" + bytes((len(point),)) + point)


@pytest.mark.parametrize(
    ("alg", "value"),
    [
        (CoseAlg.ES256, b""),
        (CoseAlg.ES256, b"\x04\x41" + b"\x04" + b"\x00" * 64),  # not on the curve
        (CoseAlg.ES256, b"\x04\x42" + b"\x04" + b"\x01" * 64),  # length mismatch
        (CoseAlg.ES384, b"\x04\x41\x04" + b"\x01" * 64),  # a P-256-sized point
        (CoseAlg.EDDSA, b"\x04\x1f" + b"\x01" * 31),
        (CoseAlg.EDDSA, b"\x03\x20" + b"\x01" * 32),
    ],
)
def test_malformed_ec_point_is_refused(alg: CoseAlg, value: bytes) -> None:
    with pytest.raises(BadKey):
        decode_ec_point(alg, value)


# --- in the token: signing -----------------------------------------------------------


def test_pkcs11_signer_satisfies_the_signer_protocol(token: Pkcs11Token) -> None:
    signer = token.generate_key(fresh_label("protocol"), CoseAlg.ES256)
    assert isinstance(signer, Signer)
    assert isinstance(signer, Pkcs11Signer)


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_hsm_signed_cose_sign1_verifies_with_the_software_verifier(
    token: Pkcs11Token, alg: CoseAlg
) -> None:
    signer = token.generate_key(fresh_label("sign1"), alg)
    assert signer.alg is alg
    message = sign1(b"card payload", signer, kid=b"hsm-kid")
    decoded = decode_sign1(message)
    assert decoded.kid == b"hsm-kid"
    assert decoded.alg == int(alg)
    decoded.verify(VerifyingKey(signer.public_key(), alg))


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_tampered_hsm_signed_message_does_not_verify(token: Pkcs11Token, alg: CoseAlg) -> None:
    signer = token.generate_key(fresh_label("tamper"), alg)
    decoded = decode_sign1(sign1(b"card payload", signer))
    with pytest.raises(errors.CoseBadSignature):
        decoded.verify(VerifyingKey(signer.public_key(), alg), external_aad=b"other context")


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_trust_store_resolves_hsm_key_certified_by_software_root(
    token: Pkcs11Token, alg: CoseAlg
) -> None:
    signer = token.generate_key(fresh_label("certified"), alg)
    root_key = pki.generate_private_key(alg)
    root = pki.make_root_certificate(
        root_key, "Racine (test)", NOT_BEFORE, NOT_BEFORE + dt.timedelta(days=3650)
    )
    cert = pki.make_issuer_certificate(
        signer.public_key(),
        "Caisse HSM (test)",
        root_key,
        root,
        NOT_BEFORE,
        NOT_BEFORE + dt.timedelta(days=730),
    )
    kid = pki.kid_for_certificate(cert)
    store = TrustStore(roots=[root], certificates=[cert])

    message = decode_sign1(sign1(b"card payload", signer, kid=kid))
    trusted = store.resolve(message, AT)
    assert trusted.kid == kid
    assert trusted.alg is alg
    message.verify(trusted.key)


@pytest.mark.parametrize(("alg", "length"), [(CoseAlg.ES256, 64), (CoseAlg.ES384, 96)])
def test_ecdsa_signatures_are_fixed_width_r_s_that_verify(
    token: Pkcs11Token, alg: CoseAlg, length: int
) -> None:
    signer = token.generate_key(fresh_label("width"), alg)
    verifying_key = VerifyingKey(signer.public_key(), alg)
    half = ALGORITHMS[alg].coordinate_length
    order = {
        CoseAlg.ES256: 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        CoseAlg.ES384: int(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
            "581a0db248b0a77aecec196accc52973",
            16,
        ),
    }[alg]
    for i in range(20):  # leading zero bytes of r or s must be kept
        message = b"message %d" % i
        signature = signer.sign(message)
        assert len(signature) == length
        r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        assert 0 < r < order
        assert 0 < s < order
        verifying_key.verify(signature, message)


def test_eddsa_signature_is_64_bytes_deterministic_and_over_the_whole_message(
    token: Pkcs11Token,
) -> None:
    signer = token.generate_key(fresh_label("ed"), CoseAlg.EDDSA)
    message = b"x" * 5000  # longer than any digest: CKM_EDDSA signs the message itself
    signature = signer.sign(message)
    assert len(signature) == 64
    assert signer.sign(message) == signature
    VerifyingKey(signer.public_key(), CoseAlg.EDDSA).verify(signature, message)


def test_signer_is_safe_to_share_between_threads(token: Pkcs11Token) -> None:
    signer = token.generate_key(fresh_label("threads"), CoseAlg.ES256)
    verifying_key = VerifyingKey(signer.public_key(), CoseAlg.ES256)
    messages = [b"message %d" % i for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        signatures = list(pool.map(signer.sign, messages))
    for message, signature in zip(messages, signatures, strict=True):
        verifying_key.verify(signature, message)


# --- in the token: lookup, protection ----------------------------------------------


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_key_is_found_by_label_in_a_reopened_session(
    softhsm_token: SoftHsmToken,  # noqa: F811
    alg: CoseAlg,
) -> None:
    label = fresh_label("reopen")
    with Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, softhsm_token.pin) as t:
        original_public = t.generate_key(label, alg).public_key()
    with Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, softhsm_token.pin) as t:
        signer = t.signer(label)
        assert signer.alg is alg
        assert signer.label == label
        assert signer.public_key() == original_public
        decode_sign1(sign1(b"again", signer)).verify(VerifyingKey(original_public, alg))


@pytest.mark.parametrize("alg", ALGS, ids=ALG_IDS)
def test_private_key_is_sensitive_non_extractable_and_sign_only(
    token: Pkcs11Token, raw_session: Any, alg: CoseAlg
) -> None:
    import pkcs11
    from pkcs11 import Attribute

    label = fresh_label("protected")
    protection = token.generate_key(label, alg).protection()
    assert protection.sensitive
    assert not protection.extractable
    assert protection.hardware_bound
    assert protection.sign_only

    private = raw_session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label)
    assert private[Attribute.EXTRACTABLE] is False
    assert private[Attribute.SENSITIVE] is True
    assert private[Attribute.NEVER_EXTRACTABLE] is True
    assert private[Attribute.DECRYPT] is False
    assert private[Attribute.DERIVE] is False
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        private[Attribute.VALUE]
    public = raw_session.get_key(object_class=pkcs11.ObjectClass.PUBLIC_KEY, label=label)
    assert public[Attribute.ID] == private[Attribute.ID]


def test_extractable_key_is_refused_unless_explicitly_unsafe(
    token: Pkcs11Token, raw_session: Any
) -> None:
    import pkcs11
    from pkcs11 import Attribute
    from pkcs11.util.ec import encode_named_curve_parameters

    label = fresh_label("weak")
    raw_session.generate_keypair(
        pkcs11.KeyType.EC,
        store=True,
        label=label,
        id=b"weak-key",
        public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        private_template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
    )
    with pytest.raises(BadKey, match="extractable"):
        token.signer(label)
    signer = token.signer(label, unsafe_allow_extractable=True)
    assert not signer.protection().hardware_bound
    VerifyingKey(signer.public_key(), CoseAlg.ES256).verify(signer.sign(b"m"), b"m")


# --- in the token: errors ------------------------------------------------------------


def test_wrong_pin_raises_pin_incorrect_without_quoting_it(
    softhsm_token: SoftHsmToken,  # noqa: F811
) -> None:
    wrong = softhsm_token.pin[::-1] + "9"
    with pytest.raises(HsmPinIncorrect) as info:
        Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, wrong)
    assert info.value.code == "hsm.pin_incorrect"
    assert wrong not in str(info.value)
    assert softhsm_token.pin not in str(info.value)


def test_unknown_token_label_raises_token_not_found(
    softhsm_token: SoftHsmToken,  # noqa: F811
) -> None:
    with pytest.raises(HsmTokenNotFound, match="no-such-token"):
        Pkcs11Token.open(softhsm_token.module_path, "no-such-token", softhsm_token.pin)


def test_unloadable_module_raises_hsm_unavailable(
    softhsm_token: SoftHsmToken,  # noqa: F811
) -> None:
    with pytest.raises(HsmUnavailable):
        Pkcs11Token.open("/nonexistent/libpkcs11.so", softhsm_token.label, softhsm_token.pin)


def test_unknown_key_label_raises_key_not_found(token: Pkcs11Token) -> None:
    with pytest.raises(HsmKeyNotFound, match="no-such-key"):
        token.signer("no-such-key")


def test_generating_under_a_used_label_raises_label_conflict(token: Pkcs11Token) -> None:
    label = fresh_label("twice")
    token.generate_key(label, CoseAlg.ES256)
    with pytest.raises(HsmKeyLabelConflict):
        token.generate_key(label, CoseAlg.EDDSA)
    assert token.signer(label).alg is CoseAlg.ES256


@pytest.mark.parametrize("alg", [CoseAlg.ES512, CoseAlg.PS256, CoseAlg.HMAC_256_256])
def test_generating_an_unsupported_algorithm_raises_bad_key(
    token: Pkcs11Token, alg: CoseAlg
) -> None:
    with pytest.raises(BadKey):
        token.generate_key(fresh_label("unsupported"), alg)


def test_second_open_while_logged_in_raises_token_in_use_even_with_a_wrong_pin(
    softhsm_token: SoftHsmToken,  # noqa: F811
    token: Pkcs11Token,
) -> None:
    # PKCS#11 login is per process: a second C_Login cannot check the PIN.
    with pytest.raises(HsmTokenInUse):
        Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, "not-the-pin")
    assert not token.closed
    token.generate_key(fresh_label("still-open"), CoseAlg.ES256)


def test_signer_fails_cleanly_once_its_token_is_closed(softhsm_token: SoftHsmToken) -> None:  # noqa: F811
    with Pkcs11Token.open(softhsm_token.module_path, softhsm_token.label, softhsm_token.pin) as t:
        signer = t.generate_key(fresh_label("closed"), CoseAlg.ES256)
    assert t.closed
    with pytest.raises(HsmOperationFailed, match="closed"):
        signer.sign(b"too late")
    with pytest.raises(HsmOperationFailed):
        t.signer(signer.label)
    t.close()  # idempotent


def test_repr_shows_no_pin_and_no_handle(
    softhsm_token: SoftHsmToken,  # noqa: F811
    token: Pkcs11Token,
) -> None:
    label = fresh_label("repr")
    signer = token.generate_key(label, CoseAlg.ES256)
    assert repr(signer) == f"Pkcs11Signer(ES256, label={label!r})"
    assert repr(token) == f"Pkcs11Token(label={softhsm_token.label!r}, open)"
    assert "handle" not in repr(signer).lower()
    for text in (repr(signer), str(signer), repr(token), str(token), repr(softhsm_token)):
        assert softhsm_token.pin not in text
    assert not hasattr(signer, "__dict__")
    assert not hasattr(token, "__dict__")
    assert all("pin" not in name for name in Pkcs11Token.__slots__)
