"""The verifier: policy in, a verified result out, or a typed error.

Checks run in a fixed order, which fixes the error code reported when several
defects coexist (``spec/verification.md`` section 2):

1. decode the presentation and the credential (``cbor.*``, ``cose.*``, ``schema.*``);
2. resolve the issuer in the trust store and verify its signature (``trust.*``,
   ``cose.*``);
3. credential validity in time (``validity.*``) and delegation policy;
4. device signature with the ``cnf`` key (``binding.*``);
5. token freshness and lifetime (``presentation.*``), audience, NFC transcript;
6. revocation status (``status.*``), when the policy names a status checker;
7. replay (``presentation.replayed``): the nonce is recorded only once all the
   checks above passed, so a forged token cannot fill the cache.

Results (:class:`VerifiedCredential`, :class:`VerifiedPresentation`) can only be
built here; callers cannot forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import cose
from .clock import MAX_CLOCK_SKEW, Clock
from .credential import MAX_CREDENTIAL_BYTES, Claims, Delegation, decode_claims
from .errors import (
    AudienceMismatch,
    ConfirmationMissing,
    CoseError,
    DelegationError,
    DeviceSignatureInvalid,
    Expired,
    InvalidArgument,
    NotYetValid,
    PresentationExpired,
    PresentationLifetimeTooLong,
    PresentationNotYetValid,
    PresentationReplayed,
    TranscriptMismatch,
    UsageError,
    VitaleCredError,
)
from .ins import Ins
from .model import Beneficiary, CardView, Organisme
from .nir import Nir
from .presentation import (
    MAX_AUDIENCE_BYTES,
    MAX_PRESENTATION_BYTES,
    MAX_TTL,
    decode_presentation_payload,
)
from .qrtext import decode_qr_text
from .registry import CoseAlg
from .replay import InMemoryReplayCache, ReplayCache
from .status import StatusReference
from .trust import TrustedKey, TrustStore, Usage

__all__ = [
    "DEFAULT_SKEW",
    "Policy",
    "StatusCheck",
    "VerifiedCredential",
    "VerifiedPresentation",
    "Verifier",
]

#: Default tolerated clock disagreement (seconds).
DEFAULT_SKEW = 30
_DEVICE_ALGS = frozenset({CoseAlg.ES256})
_FACTORY = object()


class StatusCheck(Protocol):
    """What the verifier asks about revocation (see :mod:`vitale_cred.status`)."""

    def undetermined(self, reason: str) -> Any:
        """Raise ``status.undetermined``, or return an UNDETERMINED result if accepted."""
        ...

    def check(self, ref: StatusReference, now: int, *, issuer_kid: bytes) -> Any:
        """Raise a ``status.*`` error for a revoked or suspended status; an undetermined
        one raises too, or is returned (and reported in ``status_result``) when the
        status policy explicitly accepts it. ``issuer_kid`` is the key that signed the
        credential: only a list signed by that key speaks for it."""
        ...


@dataclass(frozen=True)
class Policy:
    """What a verifier accepts. ``trust`` and ``clock`` have no default on purpose."""

    trust: TrustStore
    clock: Clock
    skew: int = DEFAULT_SKEW
    max_token_lifetime: int = MAX_TTL
    audience: bytes | None = None
    allow_delegated: bool = True
    status: StatusCheck | None = None
    replay_cache: ReplayCache | None = None
    issuer_cache_size: int = 1024

    def __post_init__(self) -> None:
        if not 0 <= self.skew <= MAX_CLOCK_SKEW:
            raise InvalidArgument(f"skew must be 0..{MAX_CLOCK_SKEW} seconds")
        if not 1 <= self.max_token_lifetime <= MAX_TTL:
            raise InvalidArgument(f"max_token_lifetime must be 1..{MAX_TTL} seconds")
        if self.issuer_cache_size < 0:
            raise InvalidArgument("issuer_cache_size must be >= 0")
        if self.audience is not None and not 1 <= len(self.audience) <= MAX_AUDIENCE_BYTES:
            raise InvalidArgument(f"audience must be 1..{MAX_AUDIENCE_BYTES} bytes")


def _only_from_verifier(token: object) -> None:
    if token is not _FACTORY:
        raise UsageError("verified results are built by the Verifier only")


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A credential whose issuer signature, trust and validity were checked."""

    card: CardView
    device_key: cose.CoseKey
    issuer: TrustedKey
    iat: int
    exp: int
    delegation: Delegation | None
    status: StatusReference | None
    status_result: Any
    raw: bytes = field(repr=False)
    _factory: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _only_from_verifier(self._factory)

    @property
    def beneficiary(self) -> Beneficiary:
        """The beneficiary this credential discloses."""
        return self.card.beneficiary


@dataclass(frozen=True, slots=True)
class VerifiedPresentation:
    """What billing needs, verified: the insured's NIR and fund, one beneficiary."""

    credential: VerifiedCredential
    token_iat: int
    token_exp: int
    nonce: bytes
    audience: bytes | None
    transcript: bytes | None
    _factory: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _only_from_verifier(self._factory)

    @property
    def beneficiary(self) -> Beneficiary:
        """The disclosed beneficiary (the insured or one dependant)."""
        return self.credential.card.beneficiary

    @property
    def beneficiary_index(self) -> int:
        """0 for the insured, 1.. for dependants."""
        return self.credential.card.index

    @property
    def insured_nir(self) -> Nir:
        """The NIR of the insured (ouvrant droit)."""
        return self.credential.card.nir

    @property
    def organisme(self) -> Organisme:
        """The insured's fund."""
        return self.credential.card.organisme

    @property
    def delegation(self) -> Delegation | None:
        """Set when the holder acts under a delegation."""
        return self.credential.delegation

    @property
    def ins(self) -> Ins | None:
        """The beneficiary's INS, when the credential carries one: what a practice
        system records before referencing health data (``Ins.to_record()``)."""
        return self.credential.card.beneficiary.ins

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``vitale-cred verify --json`` prints)."""
        cred = self.credential
        return {
            "valid": True,
            "code": None,
            "insured_nir": cred.card.nir.value,
            "organisme": str(cred.card.organisme),
            "card_serial": cred.card.serial,
            "beneficiary_index": cred.card.index,
            "beneficiary": cred.card.beneficiary.to_json(),
            "ins": None if self.ins is None else self.ins.to_record(),
            "delegation": None
            if cred.delegation is None
            else {
                "delegator": cred.delegation.delegator,
                "delegate": cred.delegation.delegate,
                "limits": cred.delegation.limits,
            },
            "issuer": {"kid": cred.issuer.kid.hex(), "name": cred.issuer.name},
            "credential_iat": cred.iat,
            "credential_exp": cred.exp,
            "token_iat": self.token_iat,
            "token_exp": self.token_exp,
            "status": None if cred.status_result is None else str(cred.status_result),
        }


@dataclass(frozen=True, slots=True)
class _Cached:
    message: cose.Sign1
    claims: Claims
    device_key: cose.VerifyingKey
    issuer: TrustedKey


class Verifier:
    """Verifies credentials and presentations under one :class:`Policy`.

    Thread-safe. Keeps a bounded cache of credentials whose issuer signature was
    already checked, keyed by SHA-256 of their exact bytes: a credential seen
    before costs the device signature only. Trust, validity and status are still
    evaluated at every call.
    """

    def __init__(self, policy: Policy) -> None:
        if not isinstance(policy, Policy):
            raise InvalidArgument("Verifier needs a Policy")
        self.policy = policy
        self._replay: ReplayCache = (
            policy.replay_cache if policy.replay_cache is not None else InMemoryReplayCache()
        )
        self._cache: OrderedDict[bytes, _Cached] = OrderedDict()
        self._lock = threading.Lock()

    # --- credentials ---------------------------------------------------------------

    def _issuer_checked(self, credential: bytes, now: int) -> _Cached:
        digest = hashlib.sha256(credential).digest()
        cached = self._cache.get(digest)
        trust = self.policy.trust
        if cached is not None:
            issuer = trust.resolve(cached.message, now, Usage.CREDENTIAL)
            if issuer.key is cached.issuer.key:
                return cached
        message = cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES)
        claims = decode_claims(message.payload)
        issuer = trust.resolve(message, now, Usage.CREDENTIAL)
        message.verify(issuer.key, allowed_algs=trust.allowed_algs)
        try:
            device_key = claims.device_key.verifying_key()
        except CoseError as exc:
            raise ConfirmationMissing(f"cnf(8) device key unusable: {exc.message}") from exc
        entry = _Cached(message, claims, device_key, issuer)
        if self.policy.issuer_cache_size:
            with self._lock:
                self._cache[digest] = entry
                if len(self._cache) > self.policy.issuer_cache_size:
                    self._cache.popitem(last=False)
        return entry

    def _checked(self, credential: bytes, now: int) -> _Cached:
        """Steps 2 and 3: issuer trust and signature, validity in time, delegation."""
        entry = self._issuer_checked(credential, now)
        claims = entry.claims
        skew = self.policy.skew
        if claims.iat - skew > now or (claims.nbf is not None and claims.nbf - skew > now):
            raise NotYetValid("credential is not valid yet")
        if now > claims.exp + skew:
            raise Expired("credential has expired")
        if claims.delegation is not None and not self.policy.allow_delegated:
            raise DelegationError("delegated credentials are not accepted by this policy")
        return entry

    def _with_status(self, entry: _Cached, credential: bytes, now: int) -> VerifiedCredential:
        """Step 6: revocation status, then the verified credential."""
        claims = entry.claims
        status_result = None
        if self.policy.status is not None:
            if claims.status is None:
                # A credential that names no status list could never be revoked.
                status_result = self.policy.status.undetermined(
                    "credential carries no status(7) reference"
                )
            else:
                status_result = self.policy.status.check(
                    claims.status, now, issuer_kid=entry.issuer.kid
                )
        return VerifiedCredential(
            card=claims.card,
            device_key=claims.device_key,
            issuer=entry.issuer,
            iat=claims.iat,
            exp=claims.exp,
            delegation=claims.delegation,
            status=claims.status,
            status_result=status_result,
            raw=credential,
            _factory=_FACTORY,
        )

    def verify_credential(self, credential: bytes) -> VerifiedCredential:
        """Verify an issuer-signed credential (issuer signature, trust, validity, status)."""
        if not isinstance(credential, bytes):
            raise InvalidArgument("credential must be bytes")
        now = self.policy.clock.now()
        return self._with_status(self._checked(credential, now), credential, now)

    # --- presentations -------------------------------------------------------------

    def verify_presentation(
        self, token: bytes, *, transcript: bytes | None = None
    ) -> VerifiedPresentation:
        """Verify a device-signed presentation.

        ``transcript`` is the SHA-256 of the NFC session transcript the reader
        computed; a token bound to a transcript verifies only with that transcript,
        and a token without one (a QR token) never verifies in an NFC session.
        """
        if not isinstance(token, bytes):
            raise InvalidArgument("presentation must be bytes")
        policy = self.policy
        now = policy.clock.now()
        message = cose.decode_sign1(token, max_size=MAX_PRESENTATION_BYTES)
        payload = decode_presentation_payload(message.payload)
        entry = self._checked(payload.credential, now)
        try:
            message.verify(entry.device_key, allowed_algs=_DEVICE_ALGS)
        except CoseError as exc:
            raise DeviceSignatureInvalid(
                f"presentation is not signed by the credential's device key ({exc.code})"
            ) from exc
        skew = policy.skew
        if payload.ttl > policy.max_token_lifetime:
            raise PresentationLifetimeTooLong(
                f"token lifetime {payload.ttl}s exceeds {policy.max_token_lifetime}s"
            )
        if payload.iat - skew > now:
            raise PresentationNotYetValid("token issued in the future")
        if now > payload.exp + skew:
            raise PresentationExpired("token has expired")
        if not _same(policy.audience, payload.audience):
            raise AudienceMismatch("presentation audience does not match this verifier")
        if not _same(transcript, payload.transcript):
            raise TranscriptMismatch("presentation is bound to another session, or to none")
        credential = self._with_status(entry, payload.credential, now)
        # Keyed by holder and nonce: nobody can burn another holder's nonce in advance.
        replay_key = entry.claims.device_key.x + payload.nonce
        # Recorded until the largest skew, not this policy's: a reader sharing the
        # cache with a larger skew still accepts the token until then (section 5).
        if transcript is None and not self._replay.check_and_add(
            replay_key, payload.exp + MAX_CLOCK_SKEW, now
        ):
            raise PresentationReplayed("token nonce already seen")
        return VerifiedPresentation(
            credential=credential,
            token_iat=payload.iat,
            token_exp=payload.exp,
            nonce=payload.nonce,
            audience=payload.audience,
            transcript=payload.transcript,
            _factory=_FACTORY,
        )

    def verify_qr(self, text: str) -> VerifiedPresentation:
        """Verify QR text (``VC1:`` + Base45)."""
        return self.verify_presentation(decode_qr_text(text))

    def verify_many(
        self, tokens: Iterable[bytes], *, on_error: Callable[[Exception], Any] | None = None
    ) -> list[VerifiedPresentation | Exception]:
        """Verify several presentations; failures are returned in place, not raised."""
        out: list[VerifiedPresentation | Exception] = []
        for token in tokens:
            try:
                out.append(self.verify_presentation(token))
            except VitaleCredError as exc:
                if on_error is not None:
                    on_error(exc)
                out.append(exc)
        return out


def _same(expected: bytes | None, received: bytes | None) -> bool:
    if expected is None or received is None:
        return expected is received
    return hmac.compare_digest(expected, received)
