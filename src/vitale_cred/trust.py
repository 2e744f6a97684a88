"""Trust anchors: which keys may sign what, and how a message names its signer.

A :class:`TrustStore` answers one question for the verifier: given a COSE_Sign1,
the verification instant and the intended usage, which :class:`TrustedKey` signed
it? It knows two kinds of anchors:

* X.509 roots. An issuer certificate reaches the verifier in the message's
  ``x5chain`` header, or was registered beforehand (``add_certificate``) and is
  named by ``kid``. The path root -> (intermediate) -> issuer is validated at the
  verification instant by the procedure of ``spec/trust.md`` section 4.2, the same
  for every algorithm: :mod:`cryptography` only decodes certificates and checks
  signatures, because its own path validator implements the Web PKI key list (no
  Ed25519) and letting the algorithms of an unsigned ``x5chain`` pick between two
  validators let an attacker pick the weaker one.
* Raw keys indexed by ``kid``, for deployments without X.509 (and for the signed
  trust list).

A public key is identified, whatever carries it (a raw key, a registered
certificate, an ``x5chain``, a renewed certificate), by the SHA-256 of its DER
SubjectPublicKeyInfo (:func:`spki_sha256`): withdrawal and the trust-list
authority's single usage are decided on that identity, not on a ``kid``.

Validated paths are cached per exact certificate bytes together with the window in
which every certificate of the path is valid, so a warm lookup is a dict access. The
paths of registered chains are configuration and stay cached; a path built from a
message's ``x5chain`` is unauthenticated input until the message's signature verifies
with the key it yields, so it is remembered only then (:meth:`TrustStore.resolve_pending`),
in a cache of at most ``path_cache_size`` entries (:data:`PATH_CACHE_SIZE` by default).
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vitale_cred.errors import (
    CertificateChainError,
    CertificateProfileError,
    CoseAlgNotAllowed,
    InvalidArgument,
    KeyNotValidAtTime,
    KeyUsageNotAllowed,
    KeyWithdrawn,
    KidMismatch,
    UnknownIssuer,
    VerificationError,
)
from vitale_cred.hazmat.cose import (
    DEFAULT_ALGS,
    CoseKey,
    PublicKey,
    Sign1,
    VerifyingKey,
    decode_sign1,
)
from vitale_cred.pki import KID_LENGTH, MAX_CHAIN_LENGTH, kid_for_certificate
from vitale_cred.registry import CoseAlg, CoseHeader

__all__ = [
    "MAX_CHAIN_LENGTH",
    "PATH_CACHE_SIZE",
    "SPKI_SHA256_LENGTH",
    "TrustStore",
    "TrustedKey",
    "Usage",
    "spki_sha256",
    "verify_typed",
]

#: Length of a key identity: SHA-256 of the DER SubjectPublicKeyInfo.
SPKI_SHA256_LENGTH = 32
#: Default bound on the validated ``x5chain`` paths a store remembers (about 14 KiB
#: each): enough for every issuer of a deployment, small enough that a flood of
#: distinct valid chains costs a few MiB at most.
PATH_CACHE_SIZE = 256


class Usage(enum.Enum):
    """What a trusted key may sign."""

    CREDENTIAL = "credential"
    STATUS_LIST = "status_list"
    TRUST_LIST = "trust_list"
    STATEMENT = "statement"


_ISSUER_USAGES = frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT})
_AUTHORITY_ONLY = frozenset({Usage.TRUST_LIST})
# Read on every resolution: module constants, not enum attributes (registry.Numbers).
_TRUST_LIST = Usage.TRUST_LIST
_X5CHAIN = int(CoseHeader.X5CHAIN)


def spki_sha256(public_key: VerifyingKey | PublicKey) -> bytes:
    """The identity of a public key: SHA-256 of its DER SubjectPublicKeyInfo.

    The SPKI is re-encoded from the key (an EC point uncompressed with its named
    curve, RFC 5480; Ed25519 per RFC 8410), so one key has one identity whether a
    certificate, a COSE_Key or a compressed point carried it.
    """
    key = public_key.public_key if isinstance(public_key, VerifyingKey) else public_key
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise InvalidArgument("a key identity needs an EC or Ed25519 public key")
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A key the verifier trusts, for some algorithms and usages, over a time window."""

    kid: bytes
    key: VerifyingKey
    usages: frozenset[Usage] = _ISSUER_USAGES
    not_before: int | None = None
    not_after: int | None = None
    name: str = ""
    certificate: x509.Certificate | None = field(default=None, compare=False)
    #: :func:`spki_sha256` of ``key``; derived here so that no caller can pair a key
    #: with another key's identity and slip past a withdrawal.
    spki_sha256: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spki_sha256", spki_sha256(self.key))

    @property
    def alg(self) -> CoseAlg:
        """The one algorithm this key verifies."""
        return self.key.alg

    def check(self, at: int, usage: Usage, allowed_algs: frozenset[CoseAlg]) -> None:
        """Refuse a key outside its window, its usages or the allowed algorithms."""
        if usage not in self.usages:
            raise KeyUsageNotAllowed(f"key {self.kid.hex()} is not trusted for {usage.value}")
        if self.key.alg not in allowed_algs:
            raise CoseAlgNotAllowed(f"{self.key.alg.name} is not allowed for this trust anchor")
        if self.not_before is not None and at < self.not_before:
            raise KeyNotValidAtTime(f"key {self.kid.hex()} is not valid yet")
        if self.not_after is not None and at > self.not_after:
            raise KeyNotValidAtTime(f"key {self.kid.hex()} has expired")


# KeyError: cryptography before 50 raises it for name attributes of an unusual ASN.1
# string type (a GeneralString), read lazily from a certificate that parsed.
_CERTIFICATE_DEFECTS = (
    ValueError,
    TypeError,
    KeyError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
)


@dataclass(frozen=True, slots=True)
class _Path:
    key: TrustedKey
    start: int
    end: int


# --- decoding (spec/trust.md section 2.1) ---------------------------------------------

#: DER of the AlgorithmIdentifiers the profile allows in ``signatureAlgorithm`` (and,
#: identical, in ``tbsCertificate.signature``), with the key type that must have made
#: the signature: parameters absent (RFC 5758 section 3.2, RFC 8410 section 3).
_SIGNATURE_ALGORITHMS: dict[bytes, CoseAlg] = {
    bytes.fromhex("300a06082a8648ce3d040302"): CoseAlg.ES256,  # ecdsa-with-SHA256
    bytes.fromhex("300a06082a8648ce3d040303"): CoseAlg.ES384,  # ecdsa-with-SHA384
    bytes.fromhex("300506032b6570"): CoseAlg.EDDSA,  # id-Ed25519
}
_HASHES: dict[CoseAlg, hashes.HashAlgorithm] = {
    CoseAlg.ES256: hashes.SHA256(),
    CoseAlg.ES384: hashes.SHA384(),
}
_ECDSA = {alg: ec.ECDSA(hash_alg) for alg, hash_alg in _HASHES.items()}

_UTF8_STRING, _PRINTABLE_STRING, _IA5_STRING = 0x0C, 0x13, 0x16
_PRINTABLE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)
_BOOLEAN, _INTEGER, _BIT_STRING, _OCTET_STRING, _OID = 0x01, 0x02, 0x03, 0x04, 0x06
_SEQUENCE, _SET = 0x30, 0x31
_ISSUER_UID, _SUBJECT_UID, _EXTENSIONS = 0x81, 0x82, 0xA3
#: extnID contents of the two processed extensions (RFC 5280 sections 4.2.1.9, 4.2.1.3).
_BASIC_CONSTRAINTS, _KEY_USAGE = bytes.fromhex("551d13"), bytes.fromhex("551d0f")
#: The only extensions this profile processes, hence the only ones that may be critical.
_PROCESSED = frozenset({_BASIC_CONSTRAINTS, _KEY_USAGE})
_DER = serialization.Encoding.DER


@dataclass(frozen=True, slots=True)
class _Cert:
    """A certificate that decoded under the profile, with the raw fields path
    validation compares byte for byte."""

    cert: x509.Certificate
    kid: bytes  # SHA-256 of the DER, first 8 bytes (trust.md section 3)
    tbs: bytes  # DER of tbsCertificate: what the issuer's signature covers
    issuer: bytes  # DER of the issuer Name
    subject: bytes  # DER of the subject Name
    signature_alg: bytes  # DER of signatureAlgorithm
    tbs_signature_alg: bytes  # DER of tbsCertificate.signature
    unique_ids: bool
    #: (extnID content bytes, critical, extnValue content bytes), in certificate order.
    extensions: tuple[tuple[bytes, bool, bytes], ...]
    not_before: int
    not_after: int

    def valid_at(self, at: int) -> bool:
        return self.not_before <= at <= self.not_after


def _der_item(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at ``pos``; ValueError if not DER."""
    if pos + 2 > end:
        raise ValueError("truncated DER item")
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("high-number DER tag")
    pos += 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if not 1 <= size <= 4 or pos + size > end or data[pos] == 0:
            raise ValueError("DER length not minimal")
        length = int.from_bytes(data[pos : pos + size], "big")
        if length < 0x80:
            raise ValueError("DER length not minimal")
        pos += size
    if pos + length > end:
        raise ValueError("DER item runs past its container")
    return tag, pos, pos + length


def _check_name(data: bytes, start: int, end: int) -> None:
    """A Name of at least one RDN whose values are PrintableString, UTF8String or IA5String,
    each well formed in its type (RFC 5280 section 4.1.2.4 for what CAs write)."""
    if start == end:
        raise ValueError("empty Name")
    pos = start
    while pos < end:
        tag, rdn, rdn_end = _der_item(data, pos, end)
        if tag != _SET or rdn == rdn_end:
            raise ValueError("Name holds a malformed RDN")
        while rdn < rdn_end:
            tag, attr, attr_end = _der_item(data, rdn, rdn_end)
            if tag != _SEQUENCE:
                raise ValueError("Name holds a malformed attribute")
            tag, _, oid_end = _der_item(data, attr, attr_end)
            value_tag, value, value_end = _der_item(data, oid_end, attr_end)
            if tag != _OID or value_end != attr_end:
                raise ValueError("Name holds a malformed attribute")
            text = data[value:value_end]
            if value_tag == _UTF8_STRING:
                text.decode("utf-8")  # UnicodeDecodeError is a ValueError
            elif value_tag == _PRINTABLE_STRING:
                if not _PRINTABLE.issuperset(text):
                    raise ValueError("PrintableString with a character outside its set")
            elif value_tag == _IA5_STRING:
                if not text.isascii():
                    raise ValueError("IA5String with a non-ASCII byte")
            else:
                raise ValueError(f"Name attribute value of ASN.1 tag 0x{value_tag:02x}")
            rdn = attr_end
        pos = rdn_end


def _read_extensions(data: bytes, start: int, end: int) -> tuple[tuple[bytes, bool, bytes], ...]:
    """The [3] EXPLICIT Extensions of a tbsCertificate, values left undecoded: only
    basicConstraints and keyUsage are ever decoded (by the profile, section 2.1.2)."""
    tag, pos, list_end = _der_item(data, start, end)
    if tag != _SEQUENCE or list_end != end or pos == list_end:
        raise ValueError("extensions is not a non-empty SEQUENCE")
    out: list[tuple[bytes, bool, bytes]] = []
    while pos < list_end:
        tag, item, item_end = _der_item(data, pos, list_end)
        if tag != _SEQUENCE:
            raise ValueError("malformed Extension")
        tag, oid, oid_end = _der_item(data, item, item_end)
        if tag != _OID:
            raise ValueError("malformed Extension")
        tag, value, value_end = _der_item(data, oid_end, item_end)
        critical = False
        if tag == _BOOLEAN:
            # DER: critical is omitted when FALSE (its DEFAULT), and TRUE is 0xFF.
            if data[value:value_end] != b"\xff":
                raise ValueError("Extension critical flag not DER")
            critical = True
            tag, value, value_end = _der_item(data, value_end, item_end)
        if tag != _OCTET_STRING or value_end != item_end:
            raise ValueError("malformed Extension")
        out.append((data[oid:oid_end], critical, data[value:value_end]))
        pos = item_end
    return tuple(out)


def _read(der: bytes) -> _Cert:
    """Step 2 of the path validation: the bytes decode as a profile certificate.

    ``cryptography`` decodes the DER strictly but reads Names lazily; the Names are
    checked here, so that a Name that does not decode is an unreadable certificate
    (``trust.chain_invalid``) whichever field a later step happens to read first.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise CertificateChainError(f"unreadable certificate: {exc}") from exc
    try:
        if cert.version is not x509.Version.v3:
            raise ValueError(f"X.509 {cert.version.name}, not v3")
        tag, body, body_end = _der_item(der, 0, len(der))
        if tag != _SEQUENCE or body_end != len(der):
            raise ValueError("not a DER SEQUENCE")
        tag, tbs, tbs_end = _der_item(der, body, body_end)
        _, _, alg_end = _der_item(der, tbs_end, body_end)
        fields: list[tuple[int, int, int, int]] = []  # tag, header start, content, end
        pos = tbs
        while pos < tbs_end:
            tag, content, item_end = _der_item(der, pos, tbs_end)
            fields.append((tag, pos, content, item_end))
            pos = item_end
        # version [0], serialNumber, signature, issuer, validity, subject, spki, ...
        if len(fields) < 7 or any(f[0] != _SEQUENCE for f in fields[2:7]):
            raise ValueError("tbsCertificate fields out of place")
        issuer, subject = fields[3], fields[5]
        _check_name(der, issuer[2], issuer[3])
        _check_name(der, subject[2], subject[3])
        extensions = [_read_extensions(der, f[2], f[3]) for f in fields[7:] if f[0] == _EXTENSIONS]
        return _Cert(
            cert=cert,
            kid=hashlib.sha256(der).digest()[:KID_LENGTH],
            tbs=der[body:tbs_end],
            issuer=der[issuer[1] : issuer[3]],
            subject=der[subject[1] : subject[3]],
            signature_alg=der[tbs_end:alg_end],
            tbs_signature_alg=der[fields[2][1] : fields[2][3]],
            unique_ids=any(f[0] in (_ISSUER_UID, _SUBJECT_UID) for f in fields[7:]),
            extensions=extensions[0] if extensions else (),
            not_before=_posix(cert.not_valid_before_utc),
            not_after=_posix(cert.not_valid_after_utc),
        )
    except ValueError as exc:
        raise CertificateChainError(f"unreadable certificate: {exc}") from exc


# --- the profile (spec/trust.md sections 2.2 to 2.5) -----------------------------------


@dataclass(frozen=True, slots=True)
class _Profiled:
    """What the profile checks of one certificate yield."""

    key_alg: CoseAlg
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ca: bool
    path_length: int | None
    digital_signature: bool
    key_cert_sign: bool


def _alg_for_public_key(public_key: object) -> CoseAlg:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return CoseAlg.EDDSA
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if isinstance(public_key.curve, ec.SECP256R1):
            return CoseAlg.ES256
        if isinstance(public_key.curve, ec.SECP384R1):
            return CoseAlg.ES384
    raise CertificateProfileError("key must be P-256, P-384 or Ed25519")


def _common_profile(c: _Cert) -> _Profiled:
    """Section 2.2: what every certificate of a path must satisfy."""
    try:
        if c.signature_alg != c.tbs_signature_alg:
            raise CertificateProfileError(
                "signatureAlgorithm differs from tbsCertificate.signature"
            )
        if c.signature_alg not in _SIGNATURE_ALGORITHMS:
            raise CertificateProfileError(
                "signature algorithm must be ecdsa-with-SHA256, ecdsa-with-SHA384 or Ed25519"
            )
        if c.unique_ids:
            raise CertificateProfileError("issuerUniqueID and subjectUniqueID must be absent")
        public_key = c.cert.public_key()
        key_alg = _alg_for_public_key(public_key)
        if not isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise CertificateProfileError("key must be P-256, P-384 or Ed25519")
        seen = [oid for oid, _, _ in c.extensions]
        if len(set(seen)) != len(seen):
            raise CertificateProfileError("an extension appears twice")
        values = {oid: (critical, value) for oid, critical, value in c.extensions}
        for oid, (critical, _) in values.items():
            if critical and oid not in _PROCESSED:
                raise CertificateProfileError(
                    f"critical extension {_dotted(oid)} is not processed by this profile"
                )
        if _BASIC_CONSTRAINTS not in values or _KEY_USAGE not in values:
            raise CertificateProfileError("basicConstraints and keyUsage are required")
        if not values[_BASIC_CONSTRAINTS][0] or not values[_KEY_USAGE][0]:
            raise CertificateProfileError("basicConstraints and keyUsage must be critical")
        ca, path_length = _basic_constraints(values[_BASIC_CONSTRAINTS][1])
        digital_signature, key_cert_sign = _key_usage(values[_KEY_USAGE][1])
    except _CERTIFICATE_DEFECTS as exc:
        # A certificate that decoded can still fail on first use of its key (unknown
        # key algorithm, point off its curve) or of a processed extension's value.
        raise CertificateProfileError(f"certificate unusable: {exc}") from exc
    return _Profiled(key_alg, public_key, ca, path_length, digital_signature, key_cert_sign)


def _basic_constraints(value: bytes) -> tuple[bool, int | None]:
    """(cA, pathLenConstraint) of a DER BasicConstraints value (RFC 5280 section 4.2.1.9)."""
    tag, pos, end = _der_item(value, 0, len(value))
    if tag != _SEQUENCE or end != len(value):
        raise ValueError("basicConstraints value is not a SEQUENCE")
    ca, path_length = False, None
    if pos < end and value[pos] == _BOOLEAN:
        _, flag, pos = _der_item(value, pos, end)
        if value[flag:pos] != b"\xff":  # DER: FALSE is omitted (its DEFAULT)
            raise ValueError("basicConstraints cA not DER")
        ca = True
    if pos < end:
        tag, number, pos = _der_item(value, pos, end)
        digits = value[number:pos]
        if tag != _INTEGER or not digits or digits[0] & 0x80:
            raise ValueError("basicConstraints pathLenConstraint not a DER non-negative INTEGER")
        if len(digits) > 1 and digits[0] == 0 and not digits[1] & 0x80:
            raise ValueError("basicConstraints pathLenConstraint not minimal")
        path_length = int.from_bytes(digits, "big")
    if pos != end or (path_length is not None and not ca):
        raise ValueError("basicConstraints malformed")
    return ca, path_length


def _key_usage(value: bytes) -> tuple[bool, bool]:
    """(digitalSignature, keyCertSign) of a DER KeyUsage BIT STRING (bits 0 and 5)."""
    tag, pos, end = _der_item(value, 0, len(value))
    if tag != _BIT_STRING or end != len(value) or pos == end:
        raise ValueError("keyUsage value is not a BIT STRING")
    unused, bits = value[pos], value[pos + 1 : end]
    if unused > 7 or (not bits and unused):
        raise ValueError("keyUsage BIT STRING malformed")
    first = bits[0] if bits else 0
    return bool(first & 0x80), bool(first & 0x04)


def _dotted(oid: bytes) -> str:
    """Dotted form of DER OID contents, for error messages."""
    arcs, value = [], 0
    for byte in oid:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return oid.hex()
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (first, arcs[0] - 40 * first, *arcs[1:]))


def _issuer_profile(c: _Cert) -> _Profiled:
    """Section 2.5: the issuer (document signer) certificate, the first of the path."""
    profiled = _common_profile(c)
    if profiled.ca:
        raise CertificateProfileError("issuer certificate must not be a CA (cA=true)")
    if not profiled.digital_signature or profiled.key_cert_sign:
        raise CertificateProfileError("keyUsage must allow digitalSignature and not keyCertSign")
    return profiled


def _ca_profile(c: _Cert) -> _Profiled:
    """Sections 2.3 and 2.4: a root or an intermediate."""
    profiled = _common_profile(c)
    if not profiled.ca:
        raise CertificateProfileError("CA certificate must have cA=true")
    if not profiled.key_cert_sign:
        raise CertificateProfileError("CA certificate keyUsage must allow keyCertSign")
    return profiled


def check_issuer_profile(cert: x509.Certificate) -> CoseAlg:
    """Check an issuer certificate against the profile; return the algorithm its key implies.

    For a certificate outside any path (a registration, a trust-list entry) every
    defect is a profile defect: :class:`CertificateProfileError`.
    """
    try:
        read = _read(cert.public_bytes(_DER))
    except CertificateChainError as exc:
        raise CertificateProfileError(exc.message) from exc
    return _issuer_profile(read).key_alg


@dataclass(frozen=True, slots=True)
class _Anchor:
    """A configured root, profile-checked once when the store is built."""

    cert: _Cert
    profiled: _Profiled | None
    problem: str


def _signed_by(child: _Cert, parent: _Profiled) -> str:
    """Why ``child`` is not signed by ``parent``'s key, or "" if it is."""
    expected = _SIGNATURE_ALGORITHMS[child.signature_alg]  # the child's profile checked it
    if parent.key_alg is not expected:
        return "signature algorithm does not match the issuer key"
    cert = child.cert
    try:
        if isinstance(parent.public_key, ed25519.Ed25519PublicKey):
            parent.public_key.verify(cert.signature, child.tbs)
        else:
            parent.public_key.verify(cert.signature, child.tbs, _ECDSA[expected])
    except InvalidSignature:
        return "bad certificate signature"
    return ""


class TrustStore:
    """Trusted roots and keys; thread-safe, with a cache of validated paths.

    The paths of registered chains stay cached (one per registered certificate); the
    paths of ``x5chain`` headers are cached only once their message verified, at most
    ``path_cache_size`` of them (:data:`PATH_CACHE_SIZE`; 0 disables that cache), the
    oldest insertion evicted first.
    """

    def __init__(
        self,
        *,
        roots: Iterable[x509.Certificate] = (),
        keys: Iterable[TrustedKey] = (),
        certificates: Iterable[x509.Certificate] = (),
        allowed_algs: Iterable[CoseAlg] = DEFAULT_ALGS,
        path_cache_size: int = PATH_CACHE_SIZE,
    ) -> None:
        if isinstance(path_cache_size, bool) or not isinstance(path_cache_size, int):
            raise InvalidArgument("path_cache_size must be an integer")
        if path_cache_size < 0:
            raise InvalidArgument("path_cache_size must be >= 0 (0 disables the cache)")
        self.allowed_algs = frozenset(allowed_algs)
        self._path_cache_size = path_cache_size
        self._roots = list(roots)
        # Subject DER -> the roots of that subject, in the order configured.
        self._anchors: dict[bytes, list[_Anchor]] = {}
        for root in self._roots:
            try:
                constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
            except x509.ExtensionNotFound as exc:
                raise InvalidArgument("a root certificate must carry basicConstraints") from exc
            if not constraints.value.ca:
                raise InvalidArgument("a root certificate must be a CA")
            try:
                read = _read(root.public_bytes(_DER))
            except CertificateChainError as exc:
                raise InvalidArgument(f"a root certificate must decode: {exc.message}") from exc
            # A root outside the CA profile is kept but anchors no path (section 4.2
            # step 6): its problem is reported by every path that reaches it.
            try:
                anchor = _Anchor(read, _ca_profile(read), "")
            except CertificateProfileError as exc:
                anchor = _Anchor(read, None, f"root outside the profile: {exc.message}")
            self._anchors.setdefault(read.subject, []).append(anchor)
        self._keys: dict[bytes, TrustedKey] = {}
        # kid -> DER of the registered issuer certificate and its intermediates.
        self._registered: dict[bytes, tuple[bytes, ...]] = {}
        # The decoded certificates of the registered chains: configuration, decoded
        # once when registered; a path through them is still validated at each instant.
        self._decoded: dict[tuple[bytes, ...], list[_Cert]] = {}
        # Validated paths of registered chains: one per registered chain at most.
        self._configured_paths: dict[tuple[bytes, ...], _Path] = {}
        # Validated paths of x5chain headers, entered only once the message carrying
        # the chain verified (_remember), at most path_cache_size of them, the oldest
        # insertion evicted first: a hit takes no lock, so it does not reorder.
        self._paths: dict[tuple[bytes, ...], _Path] = {}
        self._withdrawn: set[bytes] = set()
        # Key identities (spki_sha256) withdrawn: every certificate and raw key that
        # carries one is refused, whatever its kid. Replaced, never mutated, so that
        # resolve reads it without the lock.
        self._withdrawn_keys: frozenset[bytes] = frozenset()
        # kid -> key identity of each registered issuer certificate.
        self._registered_spki: dict[bytes, bytes] = {}
        # Key identity -> every usage the store grants it through raw keys and
        # registered certificates, and the identities trusted for trust lists; rebuilt
        # by _reindex whenever either source changes.
        self._granted: dict[bytes, frozenset[Usage]] = {}
        self._authority_keys: frozenset[bytes] = frozenset()
        self._lock = threading.Lock()
        for key in keys:
            self._keys[key.kid] = key
        self._reindex()
        for cert in certificates:
            self.add_certificate(cert)

    @classmethod
    def trust_list_authority(cls, roots: Iterable[x509.Certificate]) -> TrustStore:
        """The authority store of a :class:`~vitale_cred.trustlist.TrustListReader`:
        each root certificate's key, trusted to sign trust lists and nothing else
        (``spec/trust.md`` section 6.1), under the certificate's kid (section 3), the
        kid ``vitale-cred trust-list sign`` signs with."""
        keys = []
        for root in roots:
            public = root.public_key()
            key = CoseKey.from_public_key(public)  # type: ignore[arg-type]
            verifying = VerifyingKey(public, key.default_alg())  # type: ignore[arg-type]
            keys.append(raw_key(verifying, kid_for_certificate(root), usages=[Usage.TRUST_LIST]))
        if not keys:
            raise InvalidArgument("a trust-list authority needs at least one root")
        return cls(keys=keys)

    @classmethod
    def from_pem(cls, pem: bytes, **kwargs: object) -> TrustStore:
        """Self-signed certificates become roots; the others, registered issuers."""
        certs = x509.load_pem_x509_certificates(pem)
        roots = [c for c in certs if c.issuer == c.subject]
        others = [c for c in certs if c.issuer != c.subject]
        return cls(roots=roots, certificates=others, **kwargs)  # type: ignore[arg-type]

    def add_key(self, key: TrustedKey) -> None:
        """Trust a raw key under its kid (replacing any previous entry).

        A key whose identity is withdrawn may be added but never resolves; a key
        trusted for trust lists and for anything else (on one entry or across
        entries and certificates of one public key) never resolves either
        (``spec/trust.md`` section 6.1).
        """
        with self._lock:
            self._keys[key.kid] = key
            self._reindex()

    def replace_keys(self, keys: Iterable[TrustedKey]) -> None:
        """Swap the whole set of raw keys at once (a new trust list came into force)."""
        new = {key.kid: key for key in keys}
        with self._lock:
            self._keys = new
            self._reindex()

    def withdraw(self, kid: bytes) -> None:
        """Stop trusting ``kid`` and the key it names at once (a compromised key).

        The kid is refused whatever the message carries (even an ``x5chain``), and
        when the store knows the key behind it (a raw key, a registered certificate,
        a cached path) that key's identity is withdrawn as by :meth:`withdraw_key`:
        a renewed certificate or another kid for the same key is refused too.
        """
        with self._lock:
            identities = {
                path.key.spki_sha256
                for path in (*self._paths.values(), *self._configured_paths.values())
                if path.key.kid == kid
            }
            raw = self._keys.pop(kid, None)
            if raw is not None:
                identities.add(raw.spki_sha256)
            registered = self._registered_spki.pop(kid, None)
            if registered is not None:
                identities.add(registered)
            self._withdrawn.add(kid)
            chain = self._registered.pop(kid, None)
            if chain is not None:
                self._decoded.pop(chain, None)
                self._configured_paths.pop(chain, None)
            self._withdraw_identities(identities)
            self._paths = {k: v for k, v in self._paths.items() if v.key.kid != kid}
            self._reindex()

    def withdraw_key(self, key: bytes | VerifyingKey | PublicKey) -> None:
        """Stop trusting a public key at once, under every kid and certificate.

        ``key`` is the key itself or its :func:`spki_sha256` (32 bytes). Every raw
        key, registered certificate and ``x5chain`` certificate carrying it is then
        refused with ``trust.key_withdrawn``, including certificates issued for it
        later (a renewal does not un-compromise a key). Withdrawal is permanent.
        """
        if isinstance(key, bytes):
            if len(key) != SPKI_SHA256_LENGTH:
                raise InvalidArgument(
                    f"a key identity is a {SPKI_SHA256_LENGTH}-byte SHA-256, not {len(key)} bytes"
                )
            identity = key
        elif isinstance(key, VerifyingKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            identity = spki_sha256(key)
        else:
            raise InvalidArgument("withdraw_key takes a public key or its 32-byte SPKI SHA-256")
        with self._lock:
            self._withdraw_identities({identity})

    @property
    def withdrawn_keys(self) -> frozenset[bytes]:
        """The key identities (SPKI SHA-256) withdrawn from this store."""
        return self._withdrawn_keys

    def usages_for_key(self, identity: bytes) -> frozenset[Usage]:
        """Every usage this store grants the key of ``identity`` (its SPKI SHA-256)
        through its raw keys and registered certificates."""
        return self._granted.get(identity, frozenset())

    def _withdraw_identities(self, identities: set[bytes]) -> None:
        """Under the lock: remember ``identities`` and forget the paths ending in them."""
        if not identities:
            return
        self._withdrawn_keys = self._withdrawn_keys | identities
        self._paths = {k: v for k, v in self._paths.items() if v.key.spki_sha256 not in identities}
        self._configured_paths = {
            k: v for k, v in self._configured_paths.items() if v.key.spki_sha256 not in identities
        }

    def _reindex(self) -> None:
        """Under the lock: rebuild the usages granted to each key identity."""
        granted: dict[bytes, frozenset[Usage]] = {}
        for raw in self._keys.values():
            granted[raw.spki_sha256] = granted.get(raw.spki_sha256, frozenset()) | raw.usages
        for identity in self._registered_spki.values():
            granted[identity] = granted.get(identity, frozenset()) | _ISSUER_USAGES
        self._granted = granted
        self._authority_keys = frozenset(
            identity for identity, usages in granted.items() if Usage.TRUST_LIST in usages
        )

    def add_certificate(
        self, cert: x509.Certificate, intermediates: Iterable[x509.Certificate] = ()
    ) -> bytes:
        """Register an issuer certificate so that messages may name it by kid only.

        The path is validated at each verification instant, not here.
        """
        check_issuer_profile(cert)
        kid = kid_for_certificate(cert)
        identity = spki_sha256(cert.public_key())  # type: ignore[arg-type]  # profile-checked
        der = serialization.Encoding.DER
        chain = tuple(c.public_bytes(der) for c in (cert, *intermediates))
        try:
            decoded: list[_Cert] | None = [_read(item) for item in chain]
        except CertificateChainError:
            decoded = None  # left for each verification to report
        with self._lock:
            previous = self._registered.get(kid)
            if previous is not None and previous != chain:
                self._configured_paths.pop(previous, None)
            self._registered[kid] = chain
            self._registered_spki[kid] = identity
            if decoded is not None:
                self._decoded[chain] = decoded
            self._reindex()
        return kid

    @property
    def roots(self) -> list[x509.Certificate]:
        """The trusted root certificates."""
        return list(self._roots)

    def resolve(self, message: Sign1, at: int, usage: Usage = Usage.CREDENTIAL) -> TrustedKey:
        """The trusted key that must have signed ``message`` at time ``at``.

        A ``kid`` naming a raw key (from a trust list, say) selects that key, and any
        ``x5chain`` is then ignored; otherwise the ``x5chain`` is validated to a root,
        or a registered certificate is looked up by ``kid``. A withdrawn kid is refused
        whatever the message carries, and so is every key whose identity
        (:func:`spki_sha256`) was withdrawn, whichever way it was found.

        A path newly validated from the ``x5chain`` is not remembered: the chain is
        unsigned, so until the message's signature verifies it is anyone's input. Use
        :meth:`resolve_pending` to remember it after that check.
        """
        return self._resolve(message, at, usage)[0]

    def resolve_pending(
        self, message: Sign1, at: int, usage: Usage = Usage.CREDENTIAL
    ) -> tuple[TrustedKey, Callable[[], None]]:
        """:meth:`resolve`, and a function to call once ``message``'s signature verified
        with the key: it remembers the path validated from the message's ``x5chain``
        (if any was), so that the next message carrying that chain skips validation.
        Not called, nothing of the message stays in the store."""
        key, pending = self._resolve(message, at, usage)
        if pending is None:
            return key, _nothing_to_remember
        chain, path = pending
        return key, lambda: self._remember(chain, path)

    def _resolve(
        self, message: Sign1, at: int, usage: Usage
    ) -> tuple[TrustedKey, tuple[tuple[bytes, ...], _Path] | None]:
        """The key, and the x5chain path validated for it now (None if none was)."""
        chain = message.header(_X5CHAIN)
        kid = message.kid
        pending: tuple[tuple[bytes, ...], _Path] | None = None
        if kid is not None and kid in self._withdrawn:
            raise KeyWithdrawn(f"key {kid.hex()} was withdrawn")
        raw = self._keys.get(kid) if kid is not None else None
        if raw is not None:
            key = raw
            self._check_not_withdrawn(key)
        elif chain is not None:
            items = _x5chain_items(chain)
            path = _live(self._paths.get(items), at)
            if path is None:
                path = self._validated(items, at)
                pending = (items, path)
            key = path.key
            if kid is not None and kid != key.kid:
                raise KidMismatch("kid(4) does not identify the x5chain(33) certificate")
            if key.kid in self._withdrawn:
                raise KeyWithdrawn(f"key {key.kid.hex()} was withdrawn")
            self._check_not_withdrawn(key)
        elif kid is None:
            raise UnknownIssuer("message names no signer: neither kid(4) nor x5chain(33)")
        else:
            registered = self._registered.get(kid)
            if registered is None:
                # QR codes name their issuer by kid alone: a root is not enough.
                raise UnknownIssuer(
                    f"no trusted issuer with kid {kid.hex()}: the trust store needs that "
                    "issuer's certificate (a reader bundle: root and issuer certificates) "
                    "or a trust list naming it"
                )
            path = _live(self._configured_paths.get(registered), at)
            if path is None:
                path = self._validated(registered, at)
                # A registered chain is configuration, not input: its path is kept at
                # once, one entry per registered certificate.
                with self._lock:
                    if self._registered.get(kid) is registered:
                        self._configured_paths[registered] = path
            key = path.key
            self._check_not_withdrawn(key)
        if _TRUST_LIST in key.usages or key.spki_sha256 in self._authority_keys:
            self._check_single_usage_authority(key)
        key.check(at, usage, self.allowed_algs)
        return key, pending

    def _remember(self, chain: tuple[bytes, ...], path: _Path) -> None:
        """Keep the validated path of an x5chain whose message verified, within the bound."""
        if not self._path_cache_size:
            return
        with self._lock:
            key = path.key
            # Withdrawn while the message was being verified: never cache it again.
            if key.kid in self._withdrawn or key.spki_sha256 in self._withdrawn_keys:
                return
            paths = self._paths
            paths.pop(chain, None)
            paths[chain] = path
            while len(paths) > self._path_cache_size:
                del paths[next(iter(paths))]

    def _check_not_withdrawn(self, key: TrustedKey) -> None:
        if key.spki_sha256 in self._withdrawn_keys:
            raise KeyWithdrawn(
                f"the public key of {key.kid.hex()} (SPKI SHA-256 {key.spki_sha256.hex()}) "
                "was withdrawn"
            )

    def _check_single_usage_authority(self, key: TrustedKey) -> None:
        """A trust-list authority key signs trust lists and nothing else (section 6.1):
        a key the store trusts for trust lists and for any other usage, on one entry or
        through several entries or certificates of the same public key, is refused for
        every usage, so that neither role can be exercised with the other's key."""
        usages = key.usages | self._granted.get(key.spki_sha256, frozenset())
        if usages != _AUTHORITY_ONLY:
            raise KeyUsageNotAllowed(
                f"key {key.kid.hex()} is a trust-list authority key also trusted for "
                + ", ".join(sorted(u.value for u in usages - _AUTHORITY_ONLY))
            )

    def _validated(self, der_chain: tuple[bytes, ...], at: int) -> _Path:
        """The path of a DER chain (leaf first) validated at ``at``: the expensive step
        (up to 3 certificate decodings and their signatures), never cached here."""
        if not self._roots:
            raise UnknownIssuer("certificate given but no X.509 root is trusted")
        certs = self._decoded.get(der_chain) or [_read(der) for der in der_chain]
        leaf = certs[0]
        profiled = _issuer_profile(leaf)
        if not leaf.valid_at(at):
            raise CertificateChainError(
                "issuer certificate is not valid at the verification instant"
            )
        chain = self._path(leaf, certs[1:], at)
        try:
            name = leaf.cert.subject.rfc4514_string()
        except _CERTIFICATE_DEFECTS as exc:  # decoded by _read; kept as a guard
            raise CertificateProfileError(f"issuer subject unusable: {exc}") from exc
        key = TrustedKey(
            kid=leaf.kid,
            key=VerifyingKey(profiled.public_key, profiled.key_alg),
            not_before=leaf.not_before,
            not_after=leaf.not_after,
            name=name,
            certificate=leaf.cert,
        )
        start = max(c.not_before for c in chain)
        end = min(c.not_after for c in chain)
        return _Path(key, start, end)

    def _path(self, leaf: _Cert, pool: list[_Cert], at: int) -> list[_Cert]:
        """Steps 6 to 9 of section 4.2: the first candidate path that validates.

        Candidates are issuer -> root, then issuer -> intermediate -> root for each
        intermediate of ``pool`` in order; a certificate of ``pool`` that no candidate
        uses is never looked at beyond its subject, so extra certificates can add
        candidates but never change the verdict of another one. At most
        (1 + len(pool)) x (roots sharing one subject) candidates, each signature
        verified once.
        """
        failures: list[str] = []
        for anchor in self._anchors.get(leaf.issuer, ()):
            problem = _anchor_link(leaf, anchor, 0, at)
            if not problem:
                return [leaf, anchor.cert]
            failures.append(problem)
        for intermediate in pool:
            if intermediate.subject != leaf.issuer:
                continue
            try:
                middle = _ca_profile(intermediate)
            except CertificateProfileError as exc:
                failures.append(f"intermediate outside the profile: {exc.message}")
                continue
            problem = "" if intermediate.valid_at(at) else "intermediate not valid at the instant"
            problem = problem or _signed_by(leaf, middle)
            anchors = self._anchors.get(intermediate.issuer, ())
            if problem or not anchors:
                failures.append(problem or "no trusted root issued the intermediate")
                continue
            for anchor in anchors:
                problem = _anchor_link(intermediate, anchor, 1, at)
                if not problem:
                    return [leaf, intermediate, anchor.cert]
                failures.append(problem)
        reason = "; ".join(failures) if failures else "no trusted root or intermediate issued it"
        raise CertificateChainError(f"certificate path invalid: {reason}")


def _live(path: _Path | None, at: int) -> _Path | None:
    """A cached path if it holds at ``at`` (every certificate of it valid then)."""
    if path is not None and path.start <= at <= path.end:
        return path
    return None


def _nothing_to_remember() -> None:
    """The commit of a resolution that validated no new path."""


def _anchor_link(child: _Cert, anchor: _Anchor, below: int, at: int) -> str:
    """Why ``anchor`` cannot issue ``child`` with ``below`` intermediates under it, or ""."""
    if anchor.profiled is None:
        return anchor.problem
    if not anchor.cert.valid_at(at):
        return "root not valid at the instant"
    path_length = anchor.profiled.path_length
    if path_length is not None and below > path_length:
        return "root pathLenConstraint exceeded"
    return _signed_by(child, anchor.profiled)


def _posix(value: _dt.datetime) -> int:
    return int(value.timestamp())


def _x5chain_items(chain: object) -> tuple[bytes, ...]:
    items = [chain] if isinstance(chain, bytes) else chain
    if not isinstance(items, list) or not items or not all(isinstance(c, bytes) for c in items):
        raise CertificateChainError("x5chain(33) must be a certificate or a non-empty array")
    if len(items) > MAX_CHAIN_LENGTH:
        raise CertificateChainError(f"x5chain(33) holds more than {MAX_CHAIN_LENGTH} certificates")
    return tuple(items)


def raw_key(
    cose_key: CoseKey | VerifyingKey,
    kid: bytes,
    *,
    usages: Iterable[Usage] = _ISSUER_USAGES,
    not_before: int | None = None,
    not_after: int | None = None,
    name: str = "",
) -> TrustedKey:
    """A :class:`TrustedKey` from a COSE_Key or a loaded key (kid-indexed trust)."""
    key = cose_key if isinstance(cose_key, VerifyingKey) else cose_key.verifying_key()
    return TrustedKey(kid, key, frozenset(usages), not_before, not_after, name)


def verify_typed(
    data: bytes,
    trust: TrustStore,
    *,
    typ: str,
    usage: Usage,
    now: int,
    max_size: int,
    error: type[VerificationError],
) -> tuple[Sign1, TrustedKey]:
    """Decode a signed document of media type ``typ`` and check its signer for ``usage``.

    The order is that of every signed document of the protocol (trust lists,
    status lists, statements): envelope, protected ``typ(16)`` (else ``error``),
    signer resolution, signature.
    """
    message = decode_sign1(data, max_size=max_size)
    found = message.protected.get(CoseHeader.TYP)
    if not isinstance(found, str) or found != typ:
        raise error(f"protected typ(16) must be {typ!r}, not {found!r}")
    key, remember = trust.resolve_pending(message, now, usage)
    message.verify(key.key, allowed_algs=trust.allowed_algs)
    remember()
    return message, key
