"""The verifier: policy in, a verified result out, or a typed error.

Checks run in a fixed order, which fixes the error code reported when several
defects coexist (``spec/verification.md`` section 2):

1. decode the presentation and its payload (``cbor.*``, ``cose.*``, ``schema.*``);
2. token lifetime and freshness (``presentation.*``): payload fields only;
3. decode the credential and load its ``cnf`` key, not yet authenticated
   (``cbor.*``, ``cose.*``, ``schema.*``, ``binding.cnf_missing``);
4. device signature with that key (``binding.device_signature_invalid``);
5. resolve the issuer in the trust store and verify its signature (``trust.*``,
   ``cose.*``); only then may the certificate path and the credential be cached;
6. credential validity in time (``validity.*``) and delegation policy;
7. audience, NFC transcript (``presentation.*``);
8. revocation status (``status.*``), when the policy names a status checker;
9. replay (``presentation.replayed``): the nonce is recorded only once all the
   checks above passed, so a forged token cannot fill the cache.

Steps 2 to 4 come before any certificate path validation so that a token with a
garbage device signature costs one ECDSA verification and leaves nothing behind;
a sender forging a credential around a key of its own passes step 4 and then costs
one bounded path validation, still leaving nothing behind (``spec/security.md``,
"Cost of unauthenticated input").

Results (:class:`VerifiedCredential`, :class:`VerifiedPresentation`) are sealed
(:mod:`vitale_cred._sealed`): only the verifier builds one, and nobody can construct,
copy, alter or unpickle one.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, final

from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import MAX_CLOCK_SKEW, Clock
from vitale_cred.credential import MAX_CREDENTIAL_BYTES, Claims, Delegation, decode_claims
from vitale_cred.errors import (
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
    VitaleCredError,
)
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.ins import Ins
from vitale_cred.model import Beneficiary, CardView, Organisme
from vitale_cred.nir import Nir
from vitale_cred.presentation import (
    MAX_AUDIENCE_BYTES,
    MAX_PRESENTATION_BYTES,
    MAX_TTL,
    decode_presentation_payload,
)
from vitale_cred.registry import CoseAlg
from vitale_cred.replay import InMemoryReplayCache, ReplayCache
from vitale_cred.status import StatusReference
from vitale_cred.trust import TrustedKey, TrustStore, Usage

__all__ = [
    "DEFAULT_SKEW",
    "Policy",
    "StatusCheck",
    "VerifiedCredential",
    "VerifiedPresentation",
    "Verifier",
    "verdict",
]

#: Default tolerated clock disagreement (seconds).
DEFAULT_SKEW = 30
_DEVICE_ALGS = frozenset({CoseAlg.ES256})
_CREDENTIAL = Usage.CREDENTIAL


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


@final
class VerifiedCredential(Sealed, producer="the Verifier", hidden=("raw",)):
    """A credential whose issuer signature, trust and validity were checked."""

    __slots__ = (
        "card",
        "delegation",
        "device_key",
        "exp",
        "iat",
        "issuer",
        "raw",
        "status",
        "status_result",
    )

    card: CardView
    device_key: cose.CoseKey
    issuer: TrustedKey
    iat: int
    exp: int
    delegation: Delegation | None
    status: StatusReference | None
    status_result: Any
    raw: bytes

    @property
    def beneficiary(self) -> Beneficiary:
        """The beneficiary this credential discloses."""
        return self.card.beneficiary

    def to_json(self) -> dict[str, Any]:
        """The verified credential as JSON: the ``fields`` of the conformance vectors
        (``spec/vectors/README.md``), plus ``ins`` as a practice system records it and
        the issuer's name. One view for the command line, the reader service and the
        vectors (``spec/json/verdict.schema.json``)."""
        card = self.card
        ins = card.beneficiary.ins
        return {
            "insured_nir": card.nir.value,
            "organisme": str(card.organisme),
            "card_serial": card.serial,
            "card_issued": card.issued.isoformat(),
            "beneficiary_index": card.index,
            "beneficiary": card.beneficiary.to_json(),
            "ins": None if ins is None else ins.to_record(),
            "delegation": None
            if self.delegation is None
            else {
                "delegator": self.delegation.delegator,
                "delegate": self.delegation.delegate,
                "limits": self.delegation.limits,
            },
            "issuer_kid": self.issuer.kid.hex(),
            "issuer_name": self.issuer.name,
            "credential_iat": self.iat,
            "credential_exp": self.exp,
            "status": _status_name(self.status_result),
        }


def _status_name(result: Any) -> str | None:
    """``valid`` or ``undetermined`` (revoked and suspended are refusals), None unchecked."""
    if result is None:
        return None
    state = getattr(result, "state", None)
    return str(state.value) if state is not None else str(result)


@final
class VerifiedPresentation(Sealed, producer="the Verifier"):
    """What billing needs, verified: the insured's NIR and fund, one beneficiary."""

    __slots__ = ("audience", "credential", "nonce", "token_exp", "token_iat", "transcript")

    credential: VerifiedCredential
    token_iat: int
    token_exp: int
    nonce: bytes
    audience: bytes | None
    transcript: bytes | None

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
        """The verified presentation as JSON: the credential's view (see
        :meth:`VerifiedCredential.to_json`) and the token's own fields."""
        out = self.credential.to_json()
        out.update(
            {
                "token_iat": self.token_iat,
                "token_exp": self.token_exp,
                "nonce": self.nonce.hex(),
                "audience": None if self.audience is None else self.audience.hex(),
                "transcript": None if self.transcript is None else self.transcript.hex(),
            }
        )
        return out


def verdict(outcome: VerifiedPresentation | VitaleCredError) -> dict[str, Any]:
    """One verification's verdict as JSON (``spec/json/verdict.schema.json``).

    ``{"ok": true, "code": null, "message": null, "presentation": {...}}`` for a
    presentation that verified; ``{"ok": false, "code": "...", "message": "...",
    "presentation": null}`` for a refusal, with the error's stable code.
    """
    if isinstance(outcome, VerifiedPresentation):
        return {"ok": True, "code": None, "message": None, "presentation": outcome.to_json()}
    if isinstance(outcome, VitaleCredError):
        return {"ok": False, "code": outcome.code, "message": outcome.message, "presentation": None}
    raise InvalidArgument("a verdict is made of a VerifiedPresentation or a VitaleCredError")


# The only builders of verified results; the slots they fill are reachable nowhere else.
_new_credential = sealed_factory(VerifiedCredential)
_new_presentation = sealed_factory(VerifiedPresentation)


class _Decoded(NamedTuple):
    """A credential decoded, its ``cnf`` key loaded, its issuer not yet checked."""

    # Tuples: built on every verification, they cost a third of a frozen dataclass.
    message: cose.Sign1
    claims: Claims
    device_key: cose.VerifyingKey


class _Cached(NamedTuple):
    """A credential whose issuer signature verified (an issuer-cache entry)."""

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
        # Protected headers repeat (one per issuer key, one for every device).
        self._headers = cose.HeaderMemo()

    # --- credentials ---------------------------------------------------------------

    def _decoded(self, credential: bytes) -> tuple[bytes, _Decoded | _Cached]:
        """Steps 6 to 9: the issuer-cache entry of these exact bytes, else the credential
        decoded and its ``cnf`` key loaded, without any trust work."""
        digest = hashlib.sha256(credential).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            return digest, cached
        message = cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES, memo=self._headers)
        claims = decode_claims(message.payload)
        try:
            device_key = claims.device_key.verifying_key()
        except CoseError as exc:
            raise ConfirmationMissing(f"cnf(8) device key unusable: {exc.message}") from exc
        return digest, _Decoded(message, claims, device_key)

    def _issuer_checked(self, digest: bytes, decoded: _Decoded | _Cached, now: int) -> _Cached:
        """Steps 11 and 12: issuer trust and signature. The certificate path and the
        credential are cached only once the signature verified."""
        trust = self.policy.trust
        message = decoded.message
        issuer, remember = trust.resolve_pending(message, now, _CREDENTIAL)
        if isinstance(decoded, _Cached) and issuer.key is decoded.issuer.key:
            return decoded
        message.verify(issuer.key, allowed_algs=trust.allowed_algs)
        remember()
        entry = _Cached(message, decoded.claims, decoded.device_key, issuer)
        if self.policy.issuer_cache_size:
            with self._lock:
                self._cache[digest] = entry
                if len(self._cache) > self.policy.issuer_cache_size:
                    self._cache.popitem(last=False)
        return entry

    def _valid_in_time(self, claims: Claims, now: int) -> None:
        """Steps 13 and 14: validity in time, delegation policy."""
        skew = self.policy.skew
        if claims.iat - skew > now or (claims.nbf is not None and claims.nbf - skew > now):
            raise NotYetValid("credential is not valid yet")
        if now > claims.exp + skew:
            raise Expired("credential has expired")
        if claims.delegation is not None and not self.policy.allow_delegated:
            raise DelegationError("delegated credentials are not accepted by this policy")

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
        return _new_credential(
            card=claims.card,
            device_key=claims.device_key,
            issuer=entry.issuer,
            iat=claims.iat,
            exp=claims.exp,
            delegation=claims.delegation,
            status=claims.status,
            status_result=status_result,
            raw=credential,
        )

    def verify_credential(self, credential: bytes) -> VerifiedCredential:
        """Verify an issuer-signed credential (issuer signature, trust, validity, status)."""
        if not isinstance(credential, bytes):
            raise InvalidArgument("credential must be bytes")
        now = self.policy.clock.now()
        digest, decoded = self._decoded(credential)
        entry = self._issuer_checked(digest, decoded, now)
        self._valid_in_time(entry.claims, now)
        return self._with_status(entry, credential, now)

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
        message = cose.decode_sign1(token, max_size=MAX_PRESENTATION_BYTES, memo=self._headers)
        payload = decode_presentation_payload(message.payload)
        # Steps 3 to 10 cost no certificate work and keep no state: a refused token
        # never reaches path validation unless its device signature verifies.
        skew = policy.skew
        if payload.ttl > policy.max_token_lifetime:
            raise PresentationLifetimeTooLong(
                f"token lifetime {payload.ttl}s exceeds {policy.max_token_lifetime}s"
            )
        if payload.iat - skew > now:
            raise PresentationNotYetValid("token issued in the future")
        if now > payload.exp + skew:
            raise PresentationExpired("token has expired")
        digest, decoded = self._decoded(payload.credential)
        # The cnf key is not authenticated yet: a pass here proves nothing until the
        # issuer signature over it verifies (step 12), and a failure costs one ECDSA.
        try:
            message.verify(decoded.device_key, allowed_algs=_DEVICE_ALGS)
        except CoseError as exc:
            raise DeviceSignatureInvalid(
                f"presentation is not signed by the credential's device key ({exc.code})"
            ) from exc
        entry = self._issuer_checked(digest, decoded, now)
        self._valid_in_time(entry.claims, now)
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
        return _new_presentation(
            credential=credential,
            token_iat=payload.iat,
            token_exp=payload.exp,
            nonce=payload.nonce,
            audience=payload.audience,
            transcript=payload.transcript,
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
