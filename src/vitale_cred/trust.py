"""Trust anchors: which keys may sign what, and how a message names its signer.

A :class:`TrustStore` answers one question for the verifier: given a COSE_Sign1,
the verification instant and the intended usage, which :class:`TrustedKey` signed
it? It knows two kinds of anchors:

* X.509 roots. An issuer certificate reaches the verifier in the message's
  ``x5chain`` header, or was registered beforehand (``add_certificate``) and is
  named by ``kid``. The path root -> (intermediate) -> issuer is validated at the
  verification instant with :mod:`cryptography.x509.verification`, and the issuer
  certificate must satisfy the profile of ``spec/trust.md`` section 2.
* Raw keys indexed by ``kid``, for deployments without X.509 (and for the signed
  trust list).

Validated paths are cached per exact certificate bytes together with the window in
which every certificate of the path is valid, so a warm lookup is a dict access.
"""

from __future__ import annotations

import datetime as _dt
import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as X509VerificationError

from .clock import to_datetime
from .cose import DEFAULT_ALGS, CoseKey, Sign1, VerifyingKey, decode_sign1
from .errors import (
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
from .pki import kid_for_certificate
from .registry import CoseAlg, CoseHeader

__all__ = ["MAX_CHAIN_LENGTH", "TrustStore", "TrustedKey", "Usage", "verify_typed"]

#: Most certificates accepted in an ``x5chain`` (issuer + intermediates).
MAX_CHAIN_LENGTH = 3


class Usage(enum.Enum):
    """What a trusted key may sign."""

    CREDENTIAL = "credential"
    STATUS_LIST = "status_list"
    TRUST_LIST = "trust_list"
    STATEMENT = "statement"


_ISSUER_USAGES = frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST, Usage.STATEMENT})


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


def _alg_for_public_key(public_key: object) -> CoseAlg:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return CoseAlg.EDDSA
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if isinstance(public_key.curve, ec.SECP256R1):
            return CoseAlg.ES256
        if isinstance(public_key.curve, ec.SECP384R1):
            return CoseAlg.ES384
    raise CertificateProfileError("issuer key must be P-256, P-384 or Ed25519")


def check_issuer_profile(cert: x509.Certificate) -> CoseAlg:
    """Check the issuer certificate profile; return the algorithm its key implies."""
    try:
        return _check_issuer_profile(cert)
    except _CERTIFICATE_DEFECTS as exc:
        raise CertificateProfileError(f"issuer certificate unusable: {exc}") from exc


def _check_issuer_profile(cert: x509.Certificate) -> CoseAlg:
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound as exc:
        raise CertificateProfileError(
            "issuer certificate needs basicConstraints and keyUsage"
        ) from exc
    except ValueError as exc:
        raise CertificateProfileError(f"issuer certificate extensions unreadable: {exc}") from exc
    if basic.value.ca:
        raise CertificateProfileError("issuer certificate must not be a CA (cA=true)")
    if not usage.critical:
        raise CertificateProfileError("keyUsage must be critical")
    if not usage.value.digital_signature or usage.value.key_cert_sign:
        raise CertificateProfileError("keyUsage must allow digitalSignature and not keyCertSign")
    return _alg_for_public_key(cert.public_key())


class TrustStore:
    """Trusted roots and keys; thread-safe, with a cache of validated paths."""

    def __init__(
        self,
        *,
        roots: Iterable[x509.Certificate] = (),
        keys: Iterable[TrustedKey] = (),
        certificates: Iterable[x509.Certificate] = (),
        allowed_algs: Iterable[CoseAlg] = DEFAULT_ALGS,
    ) -> None:
        self.allowed_algs = frozenset(allowed_algs)
        self._roots = list(roots)
        for root in self._roots:
            try:
                constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
            except x509.ExtensionNotFound as exc:
                raise InvalidArgument("a root certificate must carry basicConstraints") from exc
            if not constraints.value.ca:
                raise InvalidArgument("a root certificate must be a CA")
        self._store = Store(self._roots) if self._roots else None
        self._keys: dict[bytes, TrustedKey] = {}
        # kid -> DER of the registered issuer certificate and its intermediates.
        self._registered: dict[bytes, tuple[bytes, ...]] = {}
        self._paths: dict[tuple[bytes, ...], _Path] = {}
        self._withdrawn: set[bytes] = set()
        self._lock = threading.Lock()
        for key in keys:
            self.add_key(key)
        for cert in certificates:
            self.add_certificate(cert)

    @classmethod
    def from_pem(cls, pem: bytes, **kwargs: object) -> TrustStore:
        """Self-signed certificates become roots; the others, registered issuers."""
        certs = x509.load_pem_x509_certificates(pem)
        roots = [c for c in certs if c.issuer == c.subject]
        others = [c for c in certs if c.issuer != c.subject]
        return cls(roots=roots, certificates=others, **kwargs)  # type: ignore[arg-type]

    def add_key(self, key: TrustedKey) -> None:
        """Trust a raw key under its kid (replacing any previous entry)."""
        with self._lock:
            self._keys[key.kid] = key

    def replace_keys(self, keys: Iterable[TrustedKey]) -> None:
        """Swap the whole set of raw keys at once (a new trust list came into force)."""
        new = {key.kid: key for key in keys}
        with self._lock:
            self._keys = new

    def withdraw(self, kid: bytes) -> None:
        """Stop trusting ``kid`` at once (a compromised key), even via ``x5chain``."""
        with self._lock:
            self._withdrawn.add(kid)
            self._keys.pop(kid, None)
            self._registered.pop(kid, None)
            self._paths = {k: v for k, v in self._paths.items() if v.key.kid != kid}

    def add_certificate(
        self, cert: x509.Certificate, intermediates: Iterable[x509.Certificate] = ()
    ) -> bytes:
        """Register an issuer certificate so that messages may name it by kid only.

        The path is validated at each verification instant, not here.
        """
        check_issuer_profile(cert)
        kid = kid_for_certificate(cert)
        der = serialization.Encoding.DER
        chain = tuple(c.public_bytes(der) for c in (cert, *intermediates))
        with self._lock:
            self._registered[kid] = chain
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
        whatever the message carries.
        """
        chain = message.header(CoseHeader.X5CHAIN)
        kid = message.kid
        if kid is not None and kid in self._withdrawn:
            raise KeyWithdrawn(f"key {kid.hex()} was withdrawn")
        raw = self._keys.get(kid) if kid is not None else None
        if raw is not None:
            key = raw
        elif chain is not None:
            key = self._validated(_x5chain_items(chain), at)
            if kid is not None and kid != key.kid:
                raise KidMismatch("kid(4) does not identify the x5chain(33) certificate")
            if key.kid in self._withdrawn:
                raise KeyWithdrawn(f"key {key.kid.hex()} was withdrawn")
        elif kid is None:
            raise UnknownIssuer("message names no signer: neither kid(4) nor x5chain(33)")
        else:
            registered = self._registered.get(kid)
            if registered is None:
                raise UnknownIssuer(f"no trusted issuer with kid {kid.hex()}")
            key = self._validated(registered, at)
        key.check(at, usage, self.allowed_algs)
        return key

    def _validated(self, der_chain: tuple[bytes, ...], at: int) -> TrustedKey:
        """The issuer key of a DER chain (leaf first), validated at ``at``; cached."""
        path = self._paths.get(der_chain)
        if path is not None and path.start <= at <= path.end:
            return path.key
        if self._store is None:
            raise UnknownIssuer("certificate given but no X.509 root is trusted")
        try:
            return self._validate_path(der_chain, at)
        except _CERTIFICATE_DEFECTS as exc:
            # A certificate that parses lazily can still fail on first use of an
            # extension or its key: that is the peer's defect, never a crash.
            raise CertificateProfileError(f"certificate unusable: {exc}") from exc

    def _validate_path(self, der_chain: tuple[bytes, ...], at: int) -> TrustedKey:
        store = self._store
        if store is None:
            raise UnknownIssuer("certificate given but no X.509 root is trusted")
        try:
            certs = [x509.load_der_x509_certificate(c) for c in der_chain]
        except (ValueError, x509.InvalidVersion) as exc:
            raise CertificateChainError("x5chain(33) holds an unreadable certificate") from exc
        leaf, intermediates = certs[0], tuple(certs[1:])
        alg = check_issuer_profile(leaf)
        issuing_roots = [r for r in self._roots if r.subject == certs[-1].issuer]
        if any(_is_eddsa(c) for c in (*certs, *issuing_roots)):
            # cryptography's verifier implements the Web PKI key-algorithm list,
            # which has no Ed25519: such paths take the small RFC 5280 subset below.
            chain = _validate_eddsa_path(leaf, intermediates, self._roots, at)
        else:
            verifier = (
                PolicyBuilder()
                .store(store)
                .time(to_datetime(at))
                .max_chain_depth(MAX_CHAIN_LENGTH)
                .extension_policies(
                    ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                    ee_policy=ExtensionPolicy.permit_all(),
                )
                .build_client_verifier()
            )
            try:
                chain = verifier.verify(leaf, list(intermediates)).chain
            except (X509VerificationError, ValueError) as exc:
                # ValueError: a name or extension that only the path builder parses.
                raise CertificateChainError(f"certificate path invalid: {exc}") from exc
        start = max(_posix(c.not_valid_before_utc) for c in chain)
        end = min(_posix(c.not_valid_after_utc) for c in chain)
        key = TrustedKey(
            kid=kid_for_certificate(leaf),
            key=VerifyingKey(leaf.public_key(), alg),  # type: ignore[arg-type]
            not_before=_posix(leaf.not_valid_before_utc),
            not_after=_posix(leaf.not_valid_after_utc),
            name=leaf.subject.rfc4514_string(),
            certificate=leaf,
        )
        with self._lock:
            self._paths[der_chain] = _Path(key, start, end)
        return key


def _is_eddsa(cert: x509.Certificate) -> bool:
    return isinstance(cert.public_key(), ed25519.Ed25519PublicKey)


def _validate_eddsa_path(
    leaf: x509.Certificate,
    intermediates: tuple[x509.Certificate, ...],
    roots: list[x509.Certificate],
    at: int,
) -> list[x509.Certificate]:
    """Path validation for chains with Ed25519 keys (RFC 5280 section 6 subset).

    Checks, link by link up to a trusted root: the subject/issuer name chaining, the
    signature, that every issuer is a CA with keyCertSign, the path length, and
    that each certificate is valid at ``at``. No policy, name constraints or
    revocation: the profile forbids them in issuer PKIs of this protocol.
    """
    chain = [leaf]
    current = leaf
    pool = list(intermediates)
    for _ in range(MAX_CHAIN_LENGTH):
        root = next((r for r in roots if r.subject == current.issuer), None)
        parent = root or next((c for c in pool if c.subject == current.issuer), None)
        if parent is None:
            raise CertificateChainError("certificate path invalid: no issuer found")
        try:
            current.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature) as exc:
            raise CertificateChainError(f"certificate path invalid: {exc}") from exc
        _check_ca(parent, len(chain) - 1)
        chain.append(parent)
        if root is not None:
            break
        pool.remove(parent)
        current = parent
    else:
        raise CertificateChainError("certificate path invalid: too long")
    moment = to_datetime(at)
    for cert in chain:
        if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
            raise CertificateChainError(
                "certificate path invalid: cert is not valid at validation time"
            )
    return chain


def _check_ca(cert: x509.Certificate, below: int) -> None:
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CertificateChainError("certificate path invalid: issuer is not a CA") from exc
    if not basic.ca or not usage.key_cert_sign:
        raise CertificateChainError("certificate path invalid: issuer is not a CA")
    if not cert.extensions.get_extension_for_class(x509.BasicConstraints).critical:
        raise CertificateChainError("certificate path invalid: CA basicConstraints not critical")
    if basic.path_length is not None and below > basic.path_length:
        raise CertificateChainError("certificate path invalid: path length exceeded")


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
    key = trust.resolve(message, now, usage)
    message.verify(key.key, allowed_algs=trust.allowed_algs)
    return message, key
