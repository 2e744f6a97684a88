"""Issuer signing keys in a PKCS#11 token (HSM), behind the COSE ``Signer`` protocol.

The issuing fund's signing keys are generated inside the token and never leave it:
the private half is created sensitive, non-extractable and allowed to sign only;
the public half is stored next to it under the same label and ``CKA_ID``.
:class:`Pkcs11Signer` then signs COSE messages through the token::

    with Pkcs11Token.open(module_path, "caisse-2025", pin) as token:
        signer = token.signer("issuer-es256")
        message = cose.sign1(payload, signer, kid=kid)

Mechanisms. ECDSA keys are hashed in software (SHA-256 for ES256, SHA-384 for
ES384) and the digest is signed with ``CKM_ECDSA``, which every module implements
(SoftHSM 2.6 has no ``CKM_ECDSA_SHA256``); the token returns ``r || s``, which is
the COSE signature as is. Ed25519 keys (``CKK_EC_EDWARDS``) sign the whole message
with ``CKM_EDDSA`` (pure Ed25519, as COSE ``EdDSA`` requires).

The PIN. The user PIN only ever comes from the caller, who reads it from an
environment variable or an interactive prompt, never from the command line
(``argv`` is visible to every user of the machine through ``ps``). This module
passes it to ``C_Login`` once, in :meth:`Pkcs11Token.open`, and neither stores,
logs nor shows it; no ``repr`` shows the PIN or an object handle.

Sessions. PKCS#11 login state belongs to the process, not to a session, and
python-pkcs11 logs out when a logged-in session closes. Open one
:class:`Pkcs11Token` per token and process and share it: it is thread-safe (one
lock serialises every call on its session). A second concurrent
:meth:`Pkcs11Token.open` on the same token raises ``HsmTokenInUse`` rather than
reuse a login without checking its PIN.

The extra. python-pkcs11 is imported on first use only, so that this module can
be imported without it; without it, every entry point raises
:class:`~vitale_cred.errors.HsmUnavailable` ("install vitale-cred[hsm]").
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.errors import (
    BadKey,
    HsmError,
    HsmKeyLabelConflict,
    HsmKeyNotFound,
    HsmOperationFailed,
    HsmPinIncorrect,
    HsmPinLocked,
    HsmTokenInUse,
    HsmTokenNotFound,
    HsmUnavailable,
    InvalidArgument,
)
from vitale_cred.hazmat.cose import ALGORITHMS, AlgorithmSpec, PublicKey
from vitale_cred.registry import CoseAlg

__all__ = [
    "KeyProtection",
    "Pkcs11Signer",
    "Pkcs11Token",
    "alg_for_ec_params",
    "decode_ec_point",
]

#: Bytes of the random ``CKA_ID`` given to a generated key pair.
KEY_ID_LENGTH: Final = 16

# CKA_EC_PARAMS values (DER): a named-curve OID, or for Ed25519 also the
# printable string "edwards25519" of PKCS#11 3.0 and the older GnuPG OID.
_P256_PARAMS: Final = bytes.fromhex("06082a8648ce3d030107")  # 1.2.840.10045.3.1.7
_P384_PARAMS: Final = bytes.fromhex("06052b81040022")  # 1.3.132.0.34
_ED25519_PARAMS: Final = bytes.fromhex("06032b6570")  # 1.3.101.112 (RFC 8410)
_ED25519_PARAMS_ALIASES: Final = frozenset(
    {
        _ED25519_PARAMS,
        b"\x13\x0cedwards25519",  # PrintableString
        bytes.fromhex("06092b06010401da470f01"),  # 1.3.6.1.4.1.11591.15.1
    }
)


@dataclass(frozen=True, slots=True)
class _Mechanisms:
    """How one COSE algorithm maps onto PKCS#11 (names of python-pkcs11 enum members)."""

    key_type: str
    generate: str
    sign: str
    ec_params: bytes


_ALG_MECHANISMS: Final[dict[CoseAlg, _Mechanisms]] = {
    CoseAlg.ES256: _Mechanisms("EC", "EC_KEY_PAIR_GEN", "ECDSA", _P256_PARAMS),
    CoseAlg.ES384: _Mechanisms("EC", "EC_KEY_PAIR_GEN", "ECDSA", _P384_PARAMS),
    CoseAlg.EDDSA: _Mechanisms("EC_EDWARDS", "EC_EDWARDS_KEY_PAIR_GEN", "EDDSA", _ED25519_PARAMS),
}


def _pkcs11() -> ModuleType:
    """python-pkcs11, imported on first use."""
    try:
        import pkcs11  # noqa: PLC0415
    except ImportError:
        raise HsmUnavailable("install vitale-cred[hsm]") from None
    return pkcs11


# --- pure helpers (no token needed) --------------------------------------------------


def alg_for_ec_params(ec_params: bytes) -> CoseAlg:
    """The COSE algorithm of a key from its ``CKA_EC_PARAMS`` (DER)."""
    params = bytes(ec_params)
    if params == _P256_PARAMS:
        return CoseAlg.ES256
    if params == _P384_PARAMS:
        return CoseAlg.ES384
    if params in _ED25519_PARAMS_ALIASES:
        return CoseAlg.EDDSA
    raise BadKey(f"unsupported curve: CKA_EC_PARAMS {params.hex()}")


def _unwrap_octet_string(value: bytes) -> bytes | None:
    """The content of a DER OCTET STRING spanning all of ``value``, or None.

    Only the short length form exists here: the longest point of a supported curve
    (P-384, 97 bytes) is below 128 bytes, and DER forbids a long form below 128.
    """
    if len(value) < 2 or value[0] != 0x04 or value[1] >= 0x80 or value[1] != len(value) - 2:
        return None
    return value[2:]


def decode_ec_point(alg: CoseAlg, ec_point: bytes) -> PublicKey:
    """A ``cryptography`` public key from a ``CKA_EC_POINT`` value.

    PKCS#11 specifies a DER OCTET STRING around the point (``04 41 04 x y`` for
    P-256; ``04 20 k`` for Ed25519); some modules return the bare point (``04 x y``,
    or the 32-byte Ed25519 key). Both are accepted: the lengths cannot be confused.
    """
    spec = _spec(alg)
    value = bytes(ec_point)
    if spec.curve is None:
        raw = value if len(value) == 32 else _unwrap_octet_string(value)
        if raw is None or len(raw) != 32:
            raise BadKey(f"CKA_EC_POINT is not an Ed25519 key ({len(value)} bytes)")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    bare_length = 2 * spec.coordinate_length + 1
    if len(value) == bare_length and value[0] == 0x04:
        point: bytes | None = value
    else:
        point = _unwrap_octet_string(value)
    if point is None:
        raise BadKey(f"CKA_EC_POINT is not a DER OCTET STRING ({len(value)} bytes)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(spec.curve, point)
    except ValueError as exc:
        raise BadKey(f"CKA_EC_POINT is not a valid {spec.crv.name} point") from exc


def _spec(alg: CoseAlg) -> AlgorithmSpec:
    spec = ALGORITHMS.get(alg)
    if spec is None or alg not in _ALG_MECHANISMS:
        raise BadKey(f"algorithm {alg!r} is not supported in a PKCS#11 token")
    return spec


def _hsm_error(exc: Exception, action: str) -> HsmError:
    """The library error for a python-pkcs11 exception (never quoting a PIN)."""
    errors = _pkcs11().exceptions
    name = type(exc).__name__
    if isinstance(exc, errors.PinIncorrect | errors.PinInvalid | errors.PinLenRange):
        return HsmPinIncorrect(f"{action}: the token refused the PIN ({name})")
    if isinstance(exc, errors.PinLocked | errors.PinExpired):
        return HsmPinLocked(f"{action}: the user PIN is locked or expired ({name})")
    if isinstance(exc, errors.UserAlreadyLoggedIn | errors.AnotherUserAlreadyLoggedIn):
        return HsmTokenInUse(
            f"{action}: this process is already logged in to the token; "
            "share the open Pkcs11Token instead of opening it twice"
        )
    if isinstance(
        exc,
        errors.NoSuchToken
        | errors.MultipleTokensReturned
        | errors.TokenNotPresent
        | errors.TokenNotRecognised
        | errors.SlotIDInvalid
        | errors.DeviceRemoved,
    ):
        return HsmTokenNotFound(f"{action}: {name}")
    if isinstance(exc, errors.UserNotLoggedIn | errors.SessionClosed | errors.SessionHandleInvalid):
        return HsmOperationFailed(f"{action}: the session is closed or logged out ({name})")
    return HsmOperationFailed(f"{action} failed: {name}")


# --- token and signer ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyProtection:
    """The protection attributes of a private key, as the token reports them."""

    sensitive: bool
    extractable: bool
    always_sensitive: bool
    never_extractable: bool
    sign: bool
    decrypt: bool
    unwrap: bool
    derive: bool

    @property
    def hardware_bound(self) -> bool:
        """Sensitive and non-extractable since generation: the key never left the token."""
        return (
            self.sensitive
            and not self.extractable
            and self.always_sensitive
            and self.never_extractable
        )

    @property
    def sign_only(self) -> bool:
        """The key may sign and do nothing else."""
        return self.sign and not (self.decrypt or self.unwrap or self.derive)


class Pkcs11Token:
    """A logged-in read-write session on one PKCS#11 token; a context manager.

    Build it with :meth:`open`. Every call on the session holds one lock, so a
    token and its signers may be shared between threads.
    """

    __slots__ = ("_closed", "_label", "_lock", "_p11", "_session")

    def __init__(self, p11: ModuleType, session: Any, label: str) -> None:
        self._p11 = p11
        self._session = session
        self._label = label
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def open(cls, module_path: str, token_label: str, pin: str) -> Pkcs11Token:
        """Load the PKCS#11 module, find the token by label and log in with ``pin``.

        Token slots are not stable (SoftHSM numbers them at random): the label is
        the only way to name a token.
        """
        if not isinstance(pin, str):
            raise InvalidArgument("the PIN must be a str")
        if not token_label:
            raise InvalidArgument("the token label must not be empty")
        p11 = _pkcs11()
        try:
            lib = p11.lib(module_path)
        except p11.exceptions.PKCS11Error as exc:
            raise HsmUnavailable(f"cannot load the PKCS#11 module {module_path}") from exc
        try:
            token = lib.get_token(token_label=token_label)
        except p11.exceptions.NoSuchToken:
            raise HsmTokenNotFound(f"no token labelled {token_label!r}") from None
        except p11.exceptions.MultipleTokensReturned:
            raise HsmTokenNotFound(f"several tokens are labelled {token_label!r}") from None
        except p11.exceptions.PKCS11Error as exc:
            raise _hsm_error(exc, f"find token {token_label!r}") from exc
        try:
            session = token.open(rw=True, user_pin=pin)
        except p11.exceptions.PKCS11Error as exc:
            raise _hsm_error(exc, f"log in to token {token_label!r}") from None
        return cls(p11, session, token_label)

    @property
    def label(self) -> str:
        """The token label."""
        return self._label

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    def close(self) -> None:
        """Log out and close the session; signers of this token stop working."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            session, self._session = self._session, None
            try:
                session.close()
            except self._p11.exceptions.PKCS11Error as exc:
                raise _hsm_error(exc, "close the session") from exc

    def __enter__(self) -> Pkcs11Token:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"Pkcs11Token(label={self._label!r}, {state})"

    @contextmanager
    def _use(self, action: str) -> Iterator[Any]:
        """The session, under the lock, with python-pkcs11 errors translated."""
        with self._lock:
            if self._closed:
                raise HsmOperationFailed(f"{action}: the token session is closed")
            try:
                yield self._session
            except self._p11.exceptions.PKCS11Error as exc:
                raise _hsm_error(exc, action) from exc

    def _find(self, session: Any, attributes: dict[Any, Any]) -> list[Any]:
        return list(session.get_objects(attributes))

    def generate_key(self, label: str, alg: CoseAlg) -> Pkcs11Signer:
        """Generate a key pair for ``alg`` (ES256, ES384 or EdDSA) in the token.

        The private key is a token object, private, sensitive and non-extractable,
        allowed to sign and nothing else; the public key is stored with the same
        label and a fresh random ``CKA_ID``. The protection is read back from the
        token: a module that ignored it gets its key pair destroyed and an error.
        """
        if not label:
            raise InvalidArgument("the key label must not be empty")
        _spec(alg)
        mechanisms = _ALG_MECHANISMS[alg]
        p11 = self._p11
        attr = p11.Attribute
        with self._use(f"generate {alg.name} key {label!r}") as session:
            if self._find(session, {attr.LABEL: label}):
                raise HsmKeyLabelConflict(f"the token already holds an object labelled {label!r}")
            key_id = secrets.token_bytes(KEY_ID_LENGTH)
            public, private = session.generate_keypair(
                getattr(p11.KeyType, mechanisms.key_type),
                store=True,
                label=label,
                id=key_id,
                capabilities=p11.MechanismFlag.SIGN | p11.MechanismFlag.VERIFY,
                mechanism=getattr(p11.Mechanism, mechanisms.generate),
                public_template={
                    attr.EC_PARAMS: mechanisms.ec_params,
                    attr.TOKEN: True,
                    attr.PRIVATE: False,
                    attr.VERIFY: True,
                    attr.ENCRYPT: False,
                    attr.WRAP: False,
                },
                private_template={
                    attr.TOKEN: True,
                    attr.PRIVATE: True,
                    attr.SENSITIVE: True,
                    attr.EXTRACTABLE: False,
                    attr.SIGN: True,
                    attr.DECRYPT: False,
                    attr.UNWRAP: False,
                    attr.DERIVE: False,
                },
            )
            protection = self._protection(private)
            if not (protection.hardware_bound and protection.sign_only):
                public.destroy()
                private.destroy()
                raise HsmOperationFailed(
                    f"the token did not apply the key protection requested: {protection}"
                )
            return self._signer(alg, label, key_id, private, public)

    def signer(self, label: str, *, unsafe_allow_extractable: bool = False) -> Pkcs11Signer:
        """The signer over the key pair labelled ``label``; its curve sets the algorithm.

        A private key that is extractable or not sensitive is refused: an issuer key
        must not be able to leave the token. ``unsafe_allow_extractable`` lifts that
        check (for keys imported into a test token, never for production keys).
        """
        if not label:
            raise InvalidArgument("the key label must not be empty")
        p11 = self._p11
        attr = p11.Attribute
        with self._use(f"find key {label!r}") as session:
            privates = self._find(
                session, {attr.CLASS: p11.ObjectClass.PRIVATE_KEY, attr.LABEL: label}
            )
            if not privates:
                raise HsmKeyNotFound(f"no private key labelled {label!r} on the token")
            if len(privates) > 1:
                raise HsmKeyLabelConflict(f"{len(privates)} private keys are labelled {label!r}")
            private = privates[0]
            key_id = bytes(private[attr.ID])
            query = {attr.CLASS: p11.ObjectClass.PUBLIC_KEY}
            query.update({attr.ID: key_id} if key_id else {attr.LABEL: label})
            publics = self._find(session, query)
            if not publics:
                raise HsmKeyNotFound(f"the public half of key {label!r} is not on the token")
            if len(publics) > 1:
                raise HsmKeyLabelConflict(f"{len(publics)} public keys match key {label!r}")
            public = publics[0]
            key_type = private[attr.KEY_TYPE]
            params = bytes(private[attr.EC_PARAMS])
            if key_type not in (p11.KeyType.EC, p11.KeyType.EC_EDWARDS):
                raise BadKey(f"key {label!r} is not an EC or Edwards key")
            alg = alg_for_ec_params(params)
            if getattr(p11.KeyType, _ALG_MECHANISMS[alg].key_type) != key_type:
                raise BadKey(f"key {label!r}: key type and curve disagree")
            # Compare curves, not bytes: SoftHSM 2.6 reports the private half of an
            # Ed25519 key as "edwards25519" whatever form was given at generation.
            if alg_for_ec_params(bytes(public[attr.EC_PARAMS])) is not alg:
                raise BadKey(f"key {label!r}: the public and private halves are on other curves")
            protection = self._protection(private)
            if not protection.sign:
                raise BadKey(f"key {label!r} is not allowed to sign")
            if not unsafe_allow_extractable and (
                protection.extractable or not protection.sensitive
            ):
                raise BadKey(f"key {label!r} is extractable or not sensitive; refused")
            return self._signer(alg, label, key_id, private, public)

    def _protection(self, private: Any) -> KeyProtection:
        attr = self._p11.Attribute
        names = (
            "SENSITIVE",
            "EXTRACTABLE",
            "ALWAYS_SENSITIVE",
            "NEVER_EXTRACTABLE",
            "SIGN",
            "DECRYPT",
            "UNWRAP",
            "DERIVE",
        )
        values = private.get_attributes([getattr(attr, n) for n in names])
        return KeyProtection(*(bool(values.get(getattr(attr, n), False)) for n in names))

    def _signer(
        self, alg: CoseAlg, label: str, key_id: bytes, private: Any, public: Any
    ) -> Pkcs11Signer:
        public_key = decode_ec_point(alg, bytes(public[self._p11.Attribute.EC_POINT]))
        return Pkcs11Signer(self, alg, label, key_id, private, public_key)


class Pkcs11Signer:
    """A :class:`~vitale_cred.hazmat.cose.Signer` whose private key stays in a PKCS#11 token.

    Obtained from :meth:`Pkcs11Token.generate_key` or :meth:`Pkcs11Token.signer`;
    valid while its token is open. The public key is read once, when the signer is
    made. ``repr`` names the algorithm and the label, never a handle.
    """

    __slots__ = (
        "_alg",
        "_key_id",
        "_label",
        "_mechanism",
        "_private",
        "_public",
        "_spec",
        "_token",
    )

    def __init__(
        self,
        token: Pkcs11Token,
        alg: CoseAlg,
        label: str,
        key_id: bytes,
        private: Any,
        public_key: PublicKey,
    ) -> None:
        self._token = token
        self._alg = alg
        self._spec = _spec(alg)
        self._label = label
        self._key_id = key_id
        self._private = private
        self._public = public_key
        self._mechanism = getattr(token._p11.Mechanism, _ALG_MECHANISMS[alg].sign)

    @property
    def alg(self) -> CoseAlg:
        """The COSE algorithm, fixed by the key's curve."""
        return self._alg

    @property
    def label(self) -> str:
        """The key's ``CKA_LABEL``."""
        return self._label

    @property
    def key_id(self) -> bytes:
        """The key's ``CKA_ID``."""
        return self._key_id

    def public_key(self) -> PublicKey:
        """The public half, rebuilt from ``CKA_EC_POINT``."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Sign ``message`` in the token; return the raw COSE signature.

        ES256/ES384: SHA-256/SHA-384 in software, then ``CKM_ECDSA`` (``r || s``).
        EdDSA: ``CKM_EDDSA`` over the message itself.
        """
        spec = self._spec
        data = message if spec.hash is None else hashlib.new(spec.hash.name, message).digest()
        with self._token._use(f"sign with key {self._label!r}"):
            signature = bytes(self._private.sign(data, mechanism=self._mechanism))
        if len(signature) != spec.signature_length:
            raise HsmOperationFailed(
                f"the token returned a {len(signature)}-byte {self._alg.name} signature, "
                f"not {spec.signature_length}"
            )
        return signature

    def protection(self) -> KeyProtection:
        """The private key's protection attributes, read from the token now."""
        with self._token._use(f"read attributes of key {self._label!r}"):
            return self._token._protection(self._private)

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._alg.name}, label={self._label!r})"
