"""COSE_Sign1 (RFC 9052), COSE_Key and the signature algorithms (RFC 9053).

This layer has no policy and no clock: it parses, builds ``Sig_structure`` over
the bytes received and checks a signature with a key chosen by the caller. The
algorithm is fixed by the key (Tink's rule): the protected ``alg`` must equal the
key's algorithm and belong to the caller's allow-list; nothing else is tried.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from vitale_cred._schema import labelled_map
from vitale_cred.errors import (
    BadKey,
    CoseAlgMismatch,
    CoseAlgMissing,
    CoseAlgNotAllowed,
    CoseBadSignature,
    CoseError,
    CoseHeaderConflict,
    CoseKeyError,
    CoseUnknownCritical,
    InvalidArgument,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.registry import (
    CoseAlg,
    CoseCurve,
    CoseHeader,
    CoseKeyLabel,
    CoseKeyType,
    CoseTag,
    numbers,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGS",
    "AlgorithmSpec",
    "CoseKey",
    "HeaderMemo",
    "Sign1",
    "Signer",
    "SoftwareSigner",
    "VerifyingKey",
    "decode_sign1",
    "encode_sign1",
    "sig_structure",
    "sign1",
]

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class AlgorithmSpec:
    """What an algorithm needs: key type, curve, hash, raw signature length."""

    alg: CoseAlg
    kty: CoseKeyType
    crv: CoseCurve
    signature_length: int
    coordinate_length: int
    curve: ec.EllipticCurve | None
    hash: hashes.HashAlgorithm | None


ALGORITHMS: Mapping[CoseAlg, AlgorithmSpec] = {
    CoseAlg.ES256: AlgorithmSpec(
        CoseAlg.ES256, CoseKeyType.EC2, CoseCurve.P256, 64, 32, ec.SECP256R1(), hashes.SHA256()
    ),
    CoseAlg.ES384: AlgorithmSpec(
        CoseAlg.ES384, CoseKeyType.EC2, CoseCurve.P384, 96, 48, ec.SECP384R1(), hashes.SHA384()
    ),
    CoseAlg.EDDSA: AlgorithmSpec(
        CoseAlg.EDDSA, CoseKeyType.OKP, CoseCurve.ED25519, 64, 32, None, None
    ),
}

# The labels of a compressed EC2 COSE_Key without kid or alg (every device key).
_COMPRESSED_P256_LABELS = frozenset(
    {CoseKeyLabel.KTY, CoseKeyLabel.CRV, CoseKeyLabel.X, CoseKeyLabel.Y}
)

# One immutable signature-algorithm object per ECDSA algorithm, shared by every key:
# building it for each device key loaded by a cold verification costs microseconds.
_ECDSA: Mapping[CoseAlg, ec.ECDSA] = {
    alg: ec.ECDSA(spec.hash) for alg, spec in ALGORITHMS.items() if spec.hash is not None
}

#: Algorithms accepted when a trust anchor does not narrow them further.
DEFAULT_ALGS: frozenset[CoseAlg] = frozenset(ALGORITHMS)

# Headers this implementation understands; a ``crit`` naming any other fails.
_UNDERSTOOD_HEADERS = frozenset(
    {
        CoseHeader.ALG,
        CoseHeader.CRIT,
        CoseHeader.CONTENT_TYPE,
        CoseHeader.KID,
        CoseHeader.TYP,
        CoseHeader.X5CHAIN,
    }
)
# Labels and members as the hot path reads them (registry.Numbers says why).
_H = numbers(CoseHeader)
_K = numbers(CoseKeyLabel)
_EC2, _OKP = CoseKeyType.EC2, CoseKeyType.OKP
_P256 = CoseCurve.P256
# Each curve has exactly one algorithm in ALGORITHMS: a key's default follows from it.
_CURVE_ALG = {spec.crv: alg for alg, spec in ALGORITHMS.items()}
# Curve objects are immutable: one each serves every key loaded.
_SECP256R1, _SECP384R1 = ec.SECP256R1(), ec.SECP384R1()
_SIGNATURE1 = b"\x84\x6aSignature1"
_SIGN1_TAGS = frozenset({CoseTag.COSE_SIGN1})


def _bstr(data: bytes) -> bytes:
    n = len(data)
    if n < 24:
        return bytes((0x40 | n,)) + data
    if n < 0x100:
        return bytes((0x58, n)) + data
    if n < 0x1_0000:
        return b"\x59" + n.to_bytes(2, "big") + data
    return b"\x5a" + n.to_bytes(4, "big") + data


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """The ``Sig_structure`` of a COSE_Sign1 (RFC 9052 section 4.4), over received bytes."""
    # An empty external_aad (every message of this protocol) is the constant h''.
    aad = _bstr(external_aad) if external_aad else b"\x40"
    return _SIGNATURE1 + _bstr(protected) + aad + _bstr(payload)


def ecdsa_der(r: bytes, s: bytes) -> bytes:
    """The DER ``Ecdsa-Sig-Value`` of the COSE signature halves ``r``, ``s`` (RFC 9053
    section 2.1), byte for byte what ``encode_dss_signature`` writes: ``cryptography``
    verifies only DER, and this costs half of turning both halves into integers."""
    if r[0] and s[0]:
        # No leading zero byte to strip (255 halves in 256): each INTEGER is its bytes,
        # after one zero byte when the first bit is set (DER reads that bit as a sign).
        r_high, s_high = r[0] >> 7, s[0] >> 7
        length = len(r) + len(s) + 4 + r_high + s_high
        if length < 0x80:
            return b"".join(
                (
                    b"\x30",
                    length.to_bytes(1, "big"),
                    _DER_INT_HEADS[len(r)][r_high],
                    r,
                    _DER_INT_HEADS[len(s)][s_high],
                    s,
                )
            )
    return encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))


# The head of a DER INTEGER of n content bytes, without and with a leading zero byte,
# for every n whose sequence fits a short-form length (2n + 6 < 128).
_DER_INT_HEADS = tuple((bytes((2, n)), bytes((2, n + 1, 0))) for n in range(62))


# --- keys --------------------------------------------------------------------------


class VerifyingKey:
    """A loaded public key bound to exactly one COSE algorithm.

    Loading a key (point decoding, on-curve check) costs about as much as a tenth
    of a verification: build a ``VerifyingKey`` once per trusted key and reuse it.
    """

    __slots__ = ("_ecdsa", "_public", "alg", "spec")

    def __init__(self, public_key: PublicKey, alg: CoseAlg) -> None:
        spec = ALGORITHMS.get(alg)
        if spec is None:
            raise BadKey(f"algorithm {alg!r} is not supported")
        if spec.kty is CoseKeyType.EC2:
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
                public_key.curve, type(spec.curve)
            ):
                raise BadKey(f"{alg.name} needs a {spec.crv.name} key")
        elif not isinstance(public_key, ed25519.Ed25519PublicKey):
            raise BadKey(f"{alg.name} needs an Ed25519 key")
        self._public = public_key
        self.alg = alg
        self.spec = spec
        self._ecdsa = _ECDSA.get(alg)

    @property
    def public_key(self) -> PublicKey:
        """The underlying ``cryptography`` public key."""
        return self._public

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check a raw COSE signature over ``message``; raise ``CoseBadSignature``."""
        spec = self.spec
        if len(signature) != spec.signature_length:
            raise CoseBadSignature(
                f"{spec.alg.name} signature must be {spec.signature_length} bytes, "
                f"not {len(signature)}"
            )
        try:
            if self._ecdsa is not None:
                half = spec.coordinate_length
                der = ecdsa_der(signature[:half], signature[half:])
                self._public.verify(der, message, self._ecdsa)  # type: ignore[call-arg]
            else:
                self._public.verify(signature, message)  # type: ignore[call-arg]
        except InvalidSignature:
            raise CoseBadSignature(f"{spec.alg.name} signature does not verify") from None

    def __repr__(self) -> str:
        return f"VerifyingKey({self.alg.name})"


_KEY_LABELS = frozenset(
    {
        CoseKeyLabel.KTY,
        CoseKeyLabel.CRV,
        CoseKeyLabel.X,
        CoseKeyLabel.Y,
        CoseKeyLabel.KID,
        CoseKeyLabel.ALG,
    }
)


@dataclass(frozen=True, slots=True)
class CoseKey:
    """A public COSE_Key (EC2 P-256/P-384 or OKP Ed25519). Private parts are never held.

    An EC2 ``y`` is either the coordinate or, for a compressed point (RFC 9053
    section 7.1.1), a boolean giving its sign bit.
    """

    kty: CoseKeyType
    crv: CoseCurve
    x: bytes
    y: bytes | bool | None = None
    kid: bytes | None = None
    alg: CoseAlg | None = None

    @classmethod
    def from_public_key(
        cls,
        key: PublicKey,
        *,
        kid: bytes | None = None,
        alg: CoseAlg | None = None,
        compressed: bool = False,
    ) -> CoseKey:
        """Describe a ``cryptography`` public key as a COSE_Key (EC2 optionally compressed)."""
        if isinstance(key, ed25519.Ed25519PublicKey):
            raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return cls(CoseKeyType.OKP, CoseCurve.ED25519, raw, None, kid, alg)
        if isinstance(key, ec.EllipticCurvePublicKey):
            crv = {"secp256r1": CoseCurve.P256, "secp384r1": CoseCurve.P384}.get(key.curve.name)
            if crv is None:
                raise BadKey(f"curve {key.curve.name} is not supported")
            size = (key.curve.key_size + 7) // 8
            numbers = key.public_numbers()
            return cls(
                CoseKeyType.EC2,
                crv,
                numbers.x.to_bytes(size, "big"),
                bool(numbers.y & 1) if compressed else numbers.y.to_bytes(size, "big"),
                kid,
                alg,
            )
        raise BadKey(f"unsupported key type {type(key).__name__}")

    @classmethod
    def from_map(cls, value: Any) -> CoseKey:
        """Parse a decoded COSE_Key map strictly (public keys only)."""
        if (
            type(value) is dict
            and value.keys() == _COMPRESSED_P256_LABELS
            and type(value[_K.KTY]) is int
            and value[_K.KTY] == _EC2
            and type(value[_K.CRV]) is int
            and value[_K.CRV] == _P256
            and type(value[_K.X]) is bytes
            and len(value[_K.X]) == 32
            and type(value[_K.Y]) is bool
        ):
            # Every device key has this shape: the general checks below accept it as is.
            return cls(_EC2, _P256, value[_K.X], value[_K.Y])
        if not isinstance(value, dict):
            raise CoseKeyError("COSE_Key must be a map")
        if CoseKeyLabel.D in value:
            raise CoseKeyError("COSE_Key carries a private key (d(-4)); refused")
        kty = value.get(CoseKeyLabel.KTY)
        crv = value.get(CoseKeyLabel.CRV)
        x = value.get(CoseKeyLabel.X)
        y = value.get(CoseKeyLabel.Y)
        kid = value.get(CoseKeyLabel.KID)
        alg = value.get(CoseKeyLabel.ALG)
        labelled_map(value, "COSE_Key", known=_KEY_LABELS, labels=CoseKeyLabel, error=CoseKeyError)
        if kid is not None and not isinstance(kid, bytes):
            raise CoseKeyError("COSE_Key kid(2) must be a byte string")
        for name, number in (("kty(1)", kty), ("crv(-1)", crv), ("alg(3)", alg)):
            # bool is an int in Python, and a text or array is not a registered value.
            if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
                raise CoseKeyError(f"COSE_Key {name} must be an integer")
        if not isinstance(x, bytes):
            raise CoseKeyError("COSE_Key x(-2) must be a byte string")
        spec = ALGORITHMS.get(alg) if alg is not None else None
        if alg is not None and (spec is None or spec.crv != crv or spec.kty != kty):
            raise CoseKeyError(f"COSE_Key alg(3) {alg!r} is not usable with this key")
        if kty == CoseKeyType.EC2 and crv in (CoseCurve.P256, CoseCurve.P384):
            size = 32 if crv == CoseCurve.P256 else 48
            if len(x) != size or not (
                (isinstance(y, bytes) and len(y) == size) or isinstance(y, bool)
            ):
                raise CoseKeyError(
                    f"EC2 {CoseCurve(crv).name} key needs x of {size} bytes and y "
                    f"of {size} bytes or a sign bit"
                )
            return cls(
                CoseKeyType.EC2,
                CoseCurve(crv),
                x,
                y,
                kid,
                CoseAlg(alg) if alg is not None else None,
            )
        if kty == CoseKeyType.OKP and crv == CoseCurve.ED25519:
            if y is not None or len(x) != 32:
                raise CoseKeyError("OKP Ed25519 key needs x of 32 bytes and no y")
            return cls(
                CoseKeyType.OKP,
                CoseCurve.ED25519,
                x,
                None,
                kid,
                CoseAlg(alg) if alg is not None else None,
            )
        raise CoseKeyError(f"unsupported key type/curve kty={kty!r} crv={crv!r}")

    def to_map(self) -> dict[int, Any]:
        """The COSE_Key as a CBOR map (deterministically encodable)."""
        out: dict[int, Any] = {
            CoseKeyLabel.KTY: int(self.kty),
            CoseKeyLabel.CRV: int(self.crv),
            CoseKeyLabel.X: self.x,
        }
        if self.y is not None:
            out[CoseKeyLabel.Y] = self.y
        if self.kid is not None:
            out[CoseKeyLabel.KID] = self.kid
        if self.alg is not None:
            out[CoseKeyLabel.ALG] = int(self.alg)
        return out

    def default_alg(self) -> CoseAlg:
        """The one algorithm this key is used with."""
        if self.alg is not None:
            return self.alg
        return _CURVE_ALG[self.crv]

    def public_key(self) -> PublicKey:
        """Load the key with ``cryptography`` (checks the point is on the curve)."""
        try:
            if self.kty is _OKP:
                return ed25519.Ed25519PublicKey.from_public_bytes(self.x)
            curve = _SECP256R1 if self.crv is _P256 else _SECP384R1
            if isinstance(self.y, bool):
                point = (b"\x03" if self.y else b"\x02") + self.x
            else:
                point = b"\x04" + self.x + (self.y or b"")
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
        except ValueError as exc:
            raise CoseKeyError(f"COSE_Key is not a valid {self.crv.name} point") from exc

    def verifying_key(self) -> VerifyingKey:
        """A :class:`VerifyingKey` for this key and its algorithm."""
        return VerifyingKey(self.public_key(), self.default_alg())


# --- signers ------------------------------------------------------------------------


@runtime_checkable
class Signer(Protocol):
    """Anything that signs for one COSE algorithm: software, HSM, phone keystore."""

    @property
    def alg(self) -> CoseAlg:
        """The COSE algorithm of the signatures produced."""
        ...

    def public_key(self) -> PublicKey:
        """The public half, for binding and for trust stores."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Sign ``message``; return the raw COSE signature (``r || s`` for ECDSA)."""
        ...


class SoftwareSigner:
    """A signer over an in-memory ``cryptography`` private key.

    ECDSA signatures are deterministic (RFC 6979) unless ``deterministic=False``, so
    that test vectors are reproducible. The private key never appears in ``repr``.
    """

    __slots__ = ("_alg", "_deterministic", "_key", "_spec")

    def __init__(
        self, private_key: PrivateKey, alg: CoseAlg | None = None, *, deterministic: bool = True
    ) -> None:
        if alg is None:
            alg = CoseKey.from_public_key(private_key.public_key()).default_alg()
        VerifyingKey(private_key.public_key(), alg)  # refuses a key/alg mismatch
        self._key = private_key
        self._alg = alg
        self._spec = ALGORITHMS[alg]
        self._deterministic = deterministic

    @property
    def alg(self) -> CoseAlg:
        return self._alg

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, message: bytes) -> bytes:
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(message)
        spec = self._spec
        der = key.sign(
            message,
            ec.ECDSA(spec.hash or hashes.SHA256(), deterministic_signing=self._deterministic),
        )
        r, s = decode_dss_signature(der)
        half = spec.coordinate_length
        return r.to_bytes(half, "big") + s.to_bytes(half, "big")

    def __repr__(self) -> str:
        return f"SoftwareSigner({self._alg.name})"


# --- COSE_Sign1 --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sign1:
    """A decoded COSE_Sign1. ``protected_bytes`` and ``payload`` are the bytes received."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes
    raw: bytes = field(repr=False)

    @property
    def alg(self) -> int | None:
        """The protected ``alg``, or None."""
        value = self.protected.get(_H.ALG)
        # A boolean is not an algorithm number, though bool subclasses int.
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def kid(self) -> bytes | None:
        """The ``kid``, protected first, then unprotected."""
        value = self.protected.get(_H.KID, self.unprotected.get(_H.KID))
        return value if isinstance(value, bytes) else None

    def header(self, label: int) -> Any:
        """A header value, protected taking precedence."""
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    def to_be_signed(self, external_aad: bytes = b"") -> bytes:
        """The ``Sig_structure`` bytes the signature covers."""
        return sig_structure(self.protected_bytes, self.payload, external_aad)

    def verify(
        self,
        key: VerifyingKey,
        *,
        allowed_algs: Collection[CoseAlg] = DEFAULT_ALGS,
        external_aad: bytes = b"",
    ) -> None:
        """Verify with ``key``: the protected ``alg`` must be allowed and equal the key's."""
        alg = self.protected.get(_H.ALG)
        if alg is None:
            raise CoseAlgMissing("no alg(1) in the protected header")
        if alg not in allowed_algs:
            raise CoseAlgNotAllowed(f"alg(1) {alg!r} is not allowed here")
        if alg != key.alg:
            raise CoseAlgMismatch(f"alg(1) {alg!r} does not match the key's {key.alg.name}")
        key.verify(self.signature, sig_structure(self.protected_bytes, self.payload, external_aad))


def decode_sign1(
    data: bytes,
    *,
    require_tag: bool = True,
    deterministic: bool = True,
    max_size: int = _cbor.MAX_INPUT_BYTES,
    memo: HeaderMemo | None = None,
) -> Sign1:
    """Parse a COSE_Sign1 strictly; no signature is checked here.

    ``memo`` (a verifier's own :class:`HeaderMemo`) skips decoding a protected
    header seen before.

    The protected header must be a byte string holding a map (or empty); ``crit``
    may name only understood labels that are present in the protected header; a
    label may not appear in both headers; the payload must be attached.
    """
    if deterministic and type(data) is bytes and len(data) <= max_size:
        parts = _compact_sign1(data)
        if parts is not None:
            protected_bytes, payload, signature = parts
            protected = (
                _checked_compact(protected_bytes) if memo is None else memo.checked(protected_bytes)
            )
            return Sign1(protected_bytes, protected, {}, payload, signature, data)
    value = _cbor.decode(
        data,
        tags=_SIGN1_TAGS,
        max_size=max_size,
        max_depth=8,
        deterministic=deterministic,
    )
    if isinstance(value, _cbor.Tagged):
        value = value.value
    elif require_tag:
        raise CoseError("COSE_Sign1 must carry tag 18")
    if not isinstance(value, list) or len(value) != 4:
        raise CoseError("COSE_Sign1 must be an array of 4 items")
    protected_bytes, unprotected, payload, signature = value
    if not isinstance(protected_bytes, bytes):
        raise CoseError("protected header must be a byte string")
    if not isinstance(unprotected, dict):
        raise CoseError("unprotected header must be a map")
    # A detached (null) payload never gets here: the CBOR profile refuses null.
    if not isinstance(payload, bytes):
        raise CoseError("payload must be a byte string")
    if not isinstance(signature, bytes):
        raise CoseError("signature must be a byte string")
    protected = _decode_protected(protected_bytes, deterministic)
    _check_headers(protected, unprotected)
    return Sign1(protected_bytes, protected, unprotected, payload, signature, bytes(data))


def _compact_sign1(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """The parts of the usual COSE_Sign1 layout, read directly, or None.

    That layout is ``18([h'<short protected>', {}, h'<payload>', h'<signature>'])``
    with every head in shortest form and nothing after it: what every presentation
    and compact credential looks like. Such bytes are exactly what the strict decoder
    accepts and returns for them, so reading them in place only skips its generic
    machinery; anything else (another layout, a non-shortest head, a truncation)
    returns None and takes the strict decoder, which names the defect.
    """
    try:
        if data[0] != 0xD2 or data[1] != 0x84:
            return None
        head = data[2]
        if not 0x40 <= head < 0x58:
            return None
        pos = 3 + head - 0x40
        protected = data[3:pos]
        if data[pos] != 0xA0:
            return None
        head = data[pos + 1]
        if 0x40 <= head < 0x58:
            length, pos = head - 0x40, pos + 2
        elif head == 0x58:
            length, pos = data[pos + 2], pos + 3
            if length < 24:
                return None
        elif head == 0x59:
            length, pos = int.from_bytes(data[pos + 2 : pos + 4], "big"), pos + 4
            if length < 0x100:
                return None
        else:
            return None
        payload = data[pos : pos + length]
        pos += length
        if data[pos] != 0x58:
            return None
        length = data[pos + 1]
        if length < 24 or pos + 2 + length != len(data):
            return None
        return protected, payload, data[pos + 2 :]
    except IndexError:
        return None


def _decode_protected(protected_bytes: bytes, deterministic: bool) -> dict[Any, Any]:
    if not protected_bytes:
        return {}
    protected = _cbor.decode(protected_bytes, max_depth=4, deterministic=deterministic)
    if not isinstance(protected, dict):
        raise CoseError("protected header must encode a map")
    return protected


class HeaderMemo:
    """Protected headers already decoded and checked, kept by their exact bytes.

    Protected headers repeat across messages (one per issuer key, one for every
    device): a verifier that owns a memo decodes each of them once. Only headers of
    the compact layout that passed every header check are kept (the checks depend on
    the protected map alone when the unprotected header is empty), at most ``size``;
    the memo is emptied when full rather than evicting one by one. Not shared across
    threads without the verifier's own discipline: a lost entry only costs a decode.
    """

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int = 256) -> None:
        if type(size) is not int or size < 1:
            raise InvalidArgument("size must be an integer >= 1")
        self._entries: dict[bytes, dict[Any, Any]] = {}
        self._size = size

    def __len__(self) -> int:
        return len(self._entries)

    def checked(self, protected_bytes: bytes) -> dict[Any, Any]:
        """The decoded protected header (a fresh copy), checked for an empty unprotected."""
        cached = self._entries.get(protected_bytes)
        if cached is not None:
            return dict(cached)
        protected = _checked_compact(protected_bytes)
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[protected_bytes] = protected
        return dict(protected)


def _checked_compact(protected_bytes: bytes) -> dict[Any, Any]:
    protected = _decode_protected(protected_bytes, True)
    _check_headers(protected, {})
    return protected


def _check_headers(protected: Mapping[Any, Any], unprotected: Mapping[Any, Any]) -> None:
    both = set(protected) & set(unprotected)
    if both:
        raise CoseHeaderConflict(f"labels {sorted(map(str, both))} in both headers")
    if CoseHeader.CRIT in unprotected:
        raise CoseUnknownCritical("crit(2) must be protected")
    crit = protected.get(CoseHeader.CRIT)
    if crit is not None:
        if not isinstance(crit, list) or not crit:
            raise CoseUnknownCritical("crit(2) must be a non-empty array")
        for label in crit:
            # A boolean is refused: true would otherwise equal alg(1) in both sets below.
            if (
                not isinstance(label, int | str)
                or isinstance(label, bool)
                or label not in _UNDERSTOOD_HEADERS
                or label not in protected
            ):
                raise CoseUnknownCritical(f"critical header {label!r} is not understood")
    alg = protected.get(CoseHeader.ALG)
    if alg is not None and (not isinstance(alg, int | str) or isinstance(alg, bool)):
        raise CoseError("alg(1) must be an integer or text")
    for headers in (protected, unprotected):
        kid = headers.get(CoseHeader.KID)
        if kid is not None and not isinstance(kid, bytes):
            raise CoseError("kid(4) must be a byte string")
    if CoseHeader.ALG in unprotected:
        # An unprotected alg could be swapped by anyone: treat it as absent, loudly.
        raise CoseAlgMissing("alg(1) must be in the protected header")


def encode_sign1(
    protected_bytes: bytes,
    unprotected: Mapping[int, Any],
    payload: bytes,
    signature: bytes,
) -> bytes:
    """Assemble a tagged COSE_Sign1 from its parts, keeping ``protected_bytes`` as is."""
    return _cbor.encode(
        _cbor.Tagged(CoseTag.COSE_SIGN1, [protected_bytes, dict(unprotected), payload, signature])
    )


def sign1(
    payload: bytes,
    signer: Signer,
    *,
    kid: bytes | None = None,
    protected: Mapping[int, Any] | None = None,
    unprotected: Mapping[int, Any] | None = None,
    external_aad: bytes = b"",
) -> bytes:
    """Sign ``payload`` into a tagged COSE_Sign1 with ``alg`` (and ``kid``) protected."""
    header: dict[int, Any] = {CoseHeader.ALG: int(signer.alg)}
    if kid is not None:
        header[CoseHeader.KID] = kid
    if protected:
        header.update(protected)
    protected_bytes = _cbor.encode(header)
    signature = signer.sign(sig_structure(protected_bytes, payload, external_aad))
    if len(signature) != ALGORITHMS[signer.alg].signature_length:
        raise BadKey(f"signer returned a {len(signature)}-byte signature")
    return encode_sign1(protected_bytes, unprotected or {}, payload, signature)
