"""Credentials: the issuer-signed CWT of one beneficiary, and the holder's bundle.

A credential is a tagged COSE_Sign1 (protected: ``alg``, ``kid``; unprotected:
``x5chain`` of the issuer certificate, which the QR form strips) whose payload is a
CWT claims set (``spec/credential.md`` section 3)::

    { iat(6), exp(4), ? nbf(5), ? iss(1), cnf(8): {1: COSE_Key},
      card(-65537): CardView + ? status(7): [list, idx], ? delegation(-65538) }

An issued card is one credential per beneficiary, all bound to the same device
key, stored together in a :class:`CredentialBundle`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vitale_cred._payload_reader import read_usual
from vitale_cred._schema import labelled_map
from vitale_cred.clock import Clock
from vitale_cred.device import ProvenDeviceKey
from vitale_cred.errors import (
    ConfirmationMissing,
    CoseError,
    DelegationError,
    InvalidArgument,
    IssuanceError,
    SchemaError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.model import Card, CardView, StatusReference
from vitale_cred.pki import MAX_CHAIN_LENGTH, kid_for_certificate
from vitale_cred.registry import (
    BundleLabel,
    CardLabel,
    CnfLabel,
    CoseCurve,
    CoseHeader,
    CwtClaim,
    DelegationLabel,
    label_name,
    numbers,
)

__all__ = [
    "BUNDLE_VERSION",
    "MAX_CREDENTIAL_BYTES",
    "MAX_VALIDITY_DAYS",
    "Claims",
    "CredentialBundle",
    "Delegation",
    "Issuer",
    "decode_claims",
    "strip_x5chain",
]

#: Largest credential accepted (bytes); one beneficiary is about 300 bytes.
MAX_CREDENTIAL_BYTES = 8_192
#: Longest validity an issuer may grant.
MAX_VALIDITY_DAYS = 400
BUNDLE_VERSION = 1

_ALLOWED_CLAIMS = frozenset(
    {
        CwtClaim.ISS,
        CwtClaim.EXP,
        CwtClaim.NBF,
        CwtClaim.IAT,
        CwtClaim.CNF,
        CwtClaim.CARD,
        CwtClaim.DELEGATION,
    }
)
_REQUIRED_CLAIM_SET = frozenset({CwtClaim.IAT, CwtClaim.EXP, CwtClaim.CNF, CwtClaim.CARD})
# A credential without a device key is a bearer token: its own code, not a schema defect.
_MISSING_CNF = {CwtClaim.CNF: (ConfirmationMissing, "credential carries no cnf(8) device key")}
# Labels as the decoder reads them (registry.Numbers says why).
_CWT = numbers(CwtClaim)
_CNF = numbers(CnfLabel)
_CARD = numbers(CardLabel)
_P256 = CoseCurve.P256


_DELEGATION_LABELS = frozenset(DelegationLabel)


@dataclass(frozen=True, slots=True)
class Delegation:
    """A credential delegated by the insured to a trusted person's own device."""

    delegator: str
    delegate: str
    limits: str = ""

    def __post_init__(self) -> None:
        for what, value, limit in (
            ("delegator", self.delegator, 128),
            ("delegate", self.delegate, 128),
            ("limits", self.limits, 256),
        ):
            if not isinstance(value, str) or len(value) > limit or not value.isprintable():
                raise DelegationError(f"delegation {what} must be printable text of <= {limit}")
        if not self.delegator or not self.delegate:
            raise DelegationError("delegation needs a delegator and a delegate")

    def to_wire(self) -> dict[int, Any]:
        out: dict[int, Any] = {
            DelegationLabel.DELEGATOR: self.delegator,
            DelegationLabel.DELEGATE: self.delegate,
        }
        if self.limits:
            out[DelegationLabel.SCOPE] = self.limits
        return out

    @classmethod
    def from_wire(cls, value: Any) -> Delegation:
        labelled_map(
            value,
            "delegation(-65538)",
            known=_DELEGATION_LABELS,
            labels=DelegationLabel,
            error=DelegationError,
        )
        if DelegationLabel.SCOPE in value and not value[DelegationLabel.SCOPE]:
            raise DelegationError("empty delegation limits must be omitted")
        return cls(
            value.get(DelegationLabel.DELEGATOR, ""),
            value.get(DelegationLabel.DELEGATE, ""),
            value.get(DelegationLabel.SCOPE, ""),
        )


@dataclass(frozen=True, slots=True)
class Claims:
    """The decoded claims of a credential (not yet checked against time or trust)."""

    iat: int
    exp: int
    nbf: int | None
    iss: str | None
    device_key: cose.CoseKey
    card: CardView
    delegation: Delegation | None
    status: StatusReference | None

    def to_wire(self) -> dict[int, Any]:
        card = self.card.to_wire()
        if self.status is not None:
            card[CardLabel.STATUS] = self.status.to_wire()
        out: dict[int, Any] = {
            CwtClaim.IAT: self.iat,
            CwtClaim.EXP: self.exp,
            CwtClaim.CNF: {CnfLabel.COSE_KEY: self.device_key.to_map()},
            CwtClaim.CARD: card,
        }
        if self.nbf is not None:
            out[CwtClaim.NBF] = self.nbf
        if self.iss is not None:
            out[CwtClaim.ISS] = self.iss
        if self.delegation is not None:
            out[CwtClaim.DELEGATION] = self.delegation.to_wire()
        return out


def _time(claims: dict[Any, Any], label: int) -> int:
    value = claims[label]
    if type(value) is not int or not 0 <= value < 2**40:
        raise SchemaError(f"{label_name(CwtClaim, label)} must be an unsigned integer time")
    return value


def decode_claims(payload: bytes) -> Claims:
    """Parse a credential payload strictly (deterministic CBOR, known labels only)."""
    # The usual layout is read by shape; anything else, and every defect, by the
    # strict decoder (the two agree on every input the first one accepts).
    claims = read_usual(payload)
    if claims is None:
        claims = _cbor.decode(payload, max_size=MAX_CREDENTIAL_BYTES, max_depth=8)
    labelled_map(
        claims,
        "credential payload (a CWT claims map)",
        known=_ALLOWED_CLAIMS,
        required=_REQUIRED_CLAIM_SET,
        labels=CwtClaim,
        missing_by_label=_MISSING_CNF,
    )
    cnf = claims[_CWT.CNF]
    if not isinstance(cnf, dict) or set(cnf) != {_CNF.COSE_KEY}:
        raise ConfirmationMissing("cnf(8) must hold exactly a COSE_Key(1)")
    try:
        device_key = cose.CoseKey.from_map(cnf[_CNF.COSE_KEY])
    except CoseError as exc:
        raise ConfirmationMissing(f"cnf(8) COSE_Key unusable: {exc.message}") from exc
    if device_key.crv is not _P256:
        raise ConfirmationMissing("cnf(8) device key must be P-256")
    iss = claims.get(_CWT.ISS)
    if _CWT.ISS in claims and type(iss) is not str:
        raise SchemaError("iss(1) must be text")
    iat, exp = _time(claims, _CWT.IAT), _time(claims, _CWT.EXP)
    if exp <= iat:
        raise SchemaError("exp(4) must be after iat(6)")
    nbf = _time(claims, _CWT.NBF) if _CWT.NBF in claims else None
    card = claims[_CWT.CARD]
    status_wire = None
    if isinstance(card, dict) and _CARD.STATUS in card:
        # The status reference travels in the card map but belongs to the credential:
        # the card is checked without it, then the reference (credential.md 3.5).
        card = dict(card)
        status_wire = card.pop(_CARD.STATUS)
    view = CardView.from_wire(card)
    status = None if status_wire is None else StatusReference.from_wire(status_wire)
    return Claims(
        iat=iat,
        exp=exp,
        nbf=nbf,
        iss=iss,
        device_key=device_key,
        card=view,
        delegation=Delegation.from_wire(claims[_CWT.DELEGATION])
        if _CWT.DELEGATION in claims
        else None,
        status=status,
    )


def strip_x5chain(credential: bytes) -> bytes:
    """The credential without its unprotected ``x5chain`` (the compact QR form).

    The signature does not cover the unprotected header, so it still verifies; the
    verifier then finds the issuer by ``kid``.
    """
    message = cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES)
    unprotected = {k: v for k, v in message.unprotected.items() if k != CoseHeader.X5CHAIN}
    return cose.encode_sign1(
        message.protected_bytes, unprotected, message.payload, message.signature
    )


class Issuer:
    """Signs credentials for a fund. The signer may be software or an HSM."""

    def __init__(
        self,
        signer: cose.Signer,
        *,
        kid: bytes,
        clock: Clock,
        x5chain: Sequence[x509.Certificate] = (),
        iss: str | None = None,
    ) -> None:
        if signer.alg not in cose.ALGORITHMS:
            raise InvalidArgument(f"issuer algorithm {signer.alg!r} is not supported")
        if not isinstance(kid, bytes) or not 1 <= len(kid) <= 32:
            raise InvalidArgument("kid must be 1..32 bytes")
        self._signer = signer
        self._kid = kid
        self._clock = clock
        self._iss = iss
        der = serialization.Encoding.DER
        chain = [c.public_bytes(der) for c in x5chain]
        if len(chain) > MAX_CHAIN_LENGTH:
            raise InvalidArgument(f"x5chain holds at most {MAX_CHAIN_LENGTH} certificates")
        if chain and kid != kid_for_certificate(x5chain[0]):
            raise InvalidArgument("kid must be the kid of the x5chain leaf certificate")
        self._unprotected: dict[int, Any] = {}
        if chain:
            self._unprotected[CoseHeader.X5CHAIN] = chain[0] if len(chain) == 1 else chain

    @property
    def kid(self) -> bytes:
        """The kid written in every credential's protected header."""
        return self._kid

    def sign_claims(self, claims: Claims) -> bytes:
        """Sign a claims set as a credential (tagged COSE_Sign1)."""
        return cose.sign1(
            _cbor.encode(claims.to_wire()),
            self._signer,
            kid=self._kid,
            unprotected=self._unprotected,
        )

    def issue(
        self,
        card: Card,
        device: ProvenDeviceKey,
        *,
        valid_days: int,
        status: Sequence[StatusReference] | None = None,
        delegation: Delegation | None = None,
        beneficiaries: Sequence[int] | None = None,
    ) -> CredentialBundle:
        """One credential per beneficiary of ``card``, all bound to ``device``.

        ``status`` gives one status-list entry per issued credential, in order.
        """
        if not isinstance(device, ProvenDeviceKey):
            raise IssuanceError("device key must be a ProvenDeviceKey (see verify_possession)")
        if type(valid_days) is not int or not 1 <= valid_days <= MAX_VALIDITY_DAYS:
            raise IssuanceError(f"validity must be 1..{MAX_VALIDITY_DAYS} days")
        indices = (
            list(range(len(card.beneficiaries))) if beneficiaries is None else list(beneficiaries)
        )
        if status is not None and len(status) != len(indices):
            raise IssuanceError("give one status entry per issued credential")
        now = self._clock.now()
        exp = now + valid_days * 86_400
        credentials = []
        for position, index in enumerate(indices):
            claims = Claims(
                iat=now,
                exp=exp,
                nbf=None,
                iss=self._iss,
                device_key=device.key,
                card=card.view(index),
                delegation=delegation,
                status=None if status is None else status[position],
            )
            credentials.append(self.sign_claims(claims))
        return CredentialBundle(tuple(credentials))


@dataclass(frozen=True, slots=True)
class CredentialBundle:
    """The holder's file: every credential of one card (one per beneficiary)."""

    credentials: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.credentials) <= 16:
            raise SchemaError("a bundle holds 1..16 credentials")

    def encode(self) -> bytes:
        """Deterministic CBOR ``{1: version, 2: [credential bstr ...]}``."""
        return _cbor.encode(
            {BundleLabel.VERSION: BUNDLE_VERSION, BundleLabel.CREDENTIALS: list(self.credentials)}
        )

    @classmethod
    def decode(cls, data: bytes) -> CredentialBundle:
        """Parse a bundle file strictly (the credentials inside are not verified here)."""
        value = _cbor.decode(data, max_size=16 * MAX_CREDENTIAL_BYTES, max_depth=3)
        if not isinstance(value, dict) or set(value) != set(BundleLabel):
            raise SchemaError("bundle must be {1: version, 2: [credentials]}")
        version = value[BundleLabel.VERSION]
        if type(version) is not int or version != BUNDLE_VERSION:
            raise SchemaError(f"bundle version {value[BundleLabel.VERSION]!r} is not supported")
        creds = value[BundleLabel.CREDENTIALS]
        if not isinstance(creds, list) or not all(isinstance(c, bytes) for c in creds):
            raise SchemaError("bundle credentials must be an array of byte strings")
        return cls(tuple(creds))

    def credential_for(self, index: int) -> bytes:
        """The credential of beneficiary ``index`` (by the card index it carries)."""
        for credential in self.credentials:
            message = cose.decode_sign1(credential, max_size=MAX_CREDENTIAL_BYTES)
            if decode_claims(message.payload).card.index == index:
                return credential
        raise InvalidArgument(f"no credential for beneficiary {index} in this bundle")


def day_of(t: int) -> _dt.date:
    """The UTC calendar day of POSIX time ``t``."""
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).date()
