"""Evidence of presence: what practice software attaches to an electronic invoice.

A professional bills the fund for an act; the fund needs to know the card was really
there. An evidence record (``spec/evidence.md``) keeps, for one invoice, the
presentation exactly as the reader received it, how it was read, the reader's verdict
and clock, the professional's identifier and the invoice's reference::

    { 1: channel (1 QR, 2 NFC), 2: presentation (bstr), ? 3: FCI (bstr, NFC),
      ? 4: ReaderInfo (bstr, NFC), 5: read_at, 6: verdict ("ok" or a code),
      7: professional (tstr), 8: invoice (bstr) }

Optionally the professional's own key signs it: a tagged COSE_Sign1 with the protected
``typ`` ``application/vitale-evidence+cbor`` over those bytes.

Over NFC the reader's request carries a :class:`RequestContext` (the professional
and the invoice) inside ReaderInfo, which enters the session transcript that the
holder's device signature covers: the evidence then proves that the phone answered a
request for that professional and that invoice. A QR code goes one way only: its
evidence proves that the token was fresh at the recorded time, and nothing about
where it was shown (``spec/evidence.md`` section 4).

Producing evidence: :func:`verify_with_evidence` (QR: verifies and returns the
evidence of the verdict), :meth:`vitale_cred.nfc.ReaderSession.evidence` (NFC),
:class:`EvidenceLog` (a JSON Lines file for the fund). Checking it, as of the time it
records: :class:`EvidenceVerifier` (``spec/evidence.md`` section 6), which the
fund's audit (:mod:`vitale_cred.audit`) runs on every record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from vitale_cred._schema import labelled_map
from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import MAX_CLOCK_SKEW, read_clock
from vitale_cred.errors import (
    CborError,
    CoseError,
    EvidenceContextMismatch,
    EvidenceError,
    EvidenceSignatureInvalid,
    EvidenceSignerUnknown,
    FileAccessError,
    InvalidArgument,
    VerificationError,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat import cose
from vitale_cred.hazmat.qrtext import decode_qr_text
from vitale_cred.hazmat.session import session_transcript
from vitale_cred.presentation import MAX_PRESENTATION_BYTES, MAX_TTL
from vitale_cred.registry import (
    ContextLabel,
    CoseAlg,
    CoseHeader,
    EvidenceChannel,
    EvidenceLabel,
    ReaderInfoLabel,
)
from vitale_cred.trust import TrustStore, spki_sha256
from vitale_cred.verify import DEFAULT_SKEW, Policy, StatusCheck, VerifiedPresentation, Verifier

__all__ = [
    "EVIDENCE_TYP",
    "MAX_EVIDENCE_BYTES",
    "MAX_FCI_BYTES",
    "MAX_INVOICE_BYTES",
    "MAX_PROFESSIONAL_CHARS",
    "MAX_READER_INFO_BYTES",
    "VERDICT_OK",
    "Evidence",
    "EvidenceLog",
    "EvidenceRecord",
    "EvidenceVerifier",
    "ProfessionalKeys",
    "RequestContext",
    "VerifiedEvidence",
    "decode_evidence",
    "evidence_kid",
    "invoice_digest",
    "sign_evidence",
    "verify_with_evidence",
]

#: The protected ``typ(16)`` of an evidence record signed by the professional.
EVIDENCE_TYP: Final = "application/vitale-evidence+cbor"
#: Largest evidence record accepted, signed or not (bytes).
MAX_EVIDENCE_BYTES: Final = 16_384
#: Largest FCI a reader accepts (``spec/nfc.md`` section 3.1), hence in evidence.
MAX_FCI_BYTES: Final = 512
#: Largest ReaderInfo a holder accepts (``spec/nfc.md`` section 10.2, R7).
MAX_READER_INFO_BYTES: Final = 256
#: Longest professional identifier (RPPS is 11 digits, a FINESS 9 characters).
MAX_PROFESSIONAL_CHARS: Final = 32
#: Longest invoice reference: a SHA-256 digest, or an identifier of up to 32 bytes.
MAX_INVOICE_BYTES: Final = 32
#: The verdict of a reader that accepted the presentation.
VERDICT_OK: Final = "ok"

_PROFESSIONAL = re.compile(r"[0-9A-Za-z]{1,32}")
_CODE = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")
_MAX_VERDICT_CHARS = 64
_MAX_TIME = 2**40
_CONTEXT_LABELS = frozenset(ContextLabel)
_READER_INFO_LABELS = frozenset(ReaderInfoLabel)
_EVIDENCE_LABELS = frozenset(EvidenceLabel)
_EVIDENCE_REQUIRED = frozenset(
    {
        EvidenceLabel.CHANNEL,
        EvidenceLabel.PRESENTATION,
        EvidenceLabel.READ_AT,
        EvidenceLabel.VERDICT,
        EvidenceLabel.PROFESSIONAL,
        EvidenceLabel.INVOICE,
    }
)
_CHANNELS = {int(c): c for c in EvidenceChannel}
#: Algorithms a professional signs evidence with (a CPS card, an HSM, a software key).
_PROFESSIONAL_ALGS = frozenset({CoseAlg.ES256, CoseAlg.ES384, CoseAlg.EDDSA})
_SIGNED_HEAD = 0xD2  # tag 18, COSE_Sign1


def _professional_ok(value: object) -> bool:
    return isinstance(value, str) and _PROFESSIONAL.fullmatch(value) is not None


def _invoice_ok(value: object) -> bool:
    return isinstance(value, bytes) and 1 <= len(value) <= MAX_INVOICE_BYTES


def invoice_digest(invoice: bytes) -> bytes:
    """The SHA-256 of an invoice's bytes: the usual invoice reference of a context."""
    if not isinstance(invoice, bytes | bytearray | memoryview):
        raise InvalidArgument("an invoice is bytes")
    return hashlib.sha256(invoice).digest()


# --- the request context (spec/nfc.md section 5, spec/evidence.md section 5) ---------


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Whom and what a presentation is for: the professional and the invoice.

    ``professional`` is the professional's national identifier (1 .. 32 ASCII
    letters and digits: an RPPS number, an AM number); ``invoice`` the invoice's
    reference (1 .. 32 bytes: :func:`invoice_digest` of the invoice, or its number
    when the invoice is built after the tap).
    """

    professional: str
    invoice: bytes

    def __post_init__(self) -> None:
        if not _professional_ok(self.professional):
            raise InvalidArgument("professional must be 1..32 ASCII letters and digits")
        if not _invoice_ok(self.invoice):
            raise InvalidArgument(f"invoice must be 1..{MAX_INVOICE_BYTES} bytes")

    def to_wire(self) -> dict[int, Any]:
        """The context map ``{1: professional, 2: invoice}``."""
        return {ContextLabel.PROFESSIONAL: self.professional, ContextLabel.INVOICE: self.invoice}

    @classmethod
    def from_wire(cls, value: Any, error: type[VitaleCredError]) -> RequestContext:
        """Read a context map strictly; any defect raises ``error``."""
        labelled_map(
            value,
            "context(5)",
            known=_CONTEXT_LABELS,
            required=_CONTEXT_LABELS,
            labels=ContextLabel,
            error=error,
        )
        professional = value[ContextLabel.PROFESSIONAL]
        invoice = value[ContextLabel.INVOICE]
        if not _professional_ok(professional):
            raise error("context professional(1) must be 1..32 ASCII letters and digits")
        if not _invoice_ok(invoice):
            raise error(f"context invoice(2) must be 1..{MAX_INVOICE_BYTES} bytes")
        return cls(professional, invoice)


def _reader_info_context(reader_info: bytes, error: type[VitaleCredError]) -> RequestContext | None:
    """The context a ReaderInfo carries, after checking it is a ReaderInfo map at all.

    Strict CBOR of at most 256 bytes and nesting 2, a map of ReaderInfo labels; the
    other members are the holder's business (``spec/nfc.md`` section 10.2).
    """
    try:
        info = _cbor.decode(reader_info, max_size=MAX_READER_INFO_BYTES, max_depth=2)
    except CborError as exc:
        raise error(f"ReaderInfo is not strict CBOR ({exc.code})") from exc
    labelled_map(info, "ReaderInfo", known=_READER_INFO_LABELS, labels=ReaderInfoLabel, error=error)
    if ReaderInfoLabel.CONTEXT not in info:
        return None
    return RequestContext.from_wire(info[ReaderInfoLabel.CONTEXT], error)


# --- the evidence record ---------------------------------------------------------------


def _check_fields(
    channel: object,
    presentation: object,
    read_at: object,
    verdict: object,
    professional: object,
    invoice: object,
    fci: object,
    reader_info: object,
    error: type[VitaleCredError],
) -> RequestContext | None:
    """Every rule of ``spec/evidence.md`` section 2.2, in order; the NFC context."""
    if type(channel) is not int or channel not in _CHANNELS:
        raise error("channel(1) must be 1 (QR) or 2 (NFC)")
    if not isinstance(presentation, bytes) or not 1 <= len(presentation) <= MAX_PRESENTATION_BYTES:
        raise error(f"presentation(2) must be 1..{MAX_PRESENTATION_BYTES} bytes")
    if type(read_at) is not int or not 0 <= read_at < _MAX_TIME:
        raise error("read_at(5) must be an unsigned integer time below 2^40")
    if not isinstance(verdict, str) or not (
        verdict == VERDICT_OK
        or (len(verdict) <= _MAX_VERDICT_CHARS and _CODE.fullmatch(verdict) is not None)
    ):
        raise error('verdict(6) must be "ok" or an error code')
    if not _professional_ok(professional):
        raise error("professional(7) must be 1..32 ASCII letters and digits")
    if not _invoice_ok(invoice):
        raise error(f"invoice(8) must be 1..{MAX_INVOICE_BYTES} bytes")
    if channel == EvidenceChannel.QR:
        if fci is not None or reader_info is not None:
            raise error("QR evidence carries no fci(3) and no reader_info(4)")
        return None
    if not isinstance(fci, bytes) or not 1 <= len(fci) <= MAX_FCI_BYTES:
        raise error(f"NFC evidence carries fci(3), 1..{MAX_FCI_BYTES} bytes")
    if not isinstance(reader_info, bytes) or not 1 <= len(reader_info) <= MAX_READER_INFO_BYTES:
        raise error(f"NFC evidence carries reader_info(4), 1..{MAX_READER_INFO_BYTES} bytes")
    return _reader_info_context(reader_info, error)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One evidence record, unsigned (``spec/evidence.md`` section 2).

    ``fci`` and ``reader_info`` are the NFC session's FCI and ReaderInfo bytes
    exactly as exchanged (NFC only); ``context`` is the request context ReaderInfo
    carries, if any.
    """

    channel: EvidenceChannel
    presentation: bytes
    read_at: int
    verdict: str
    professional: str
    invoice: bytes
    fci: bytes | None = None
    reader_info: bytes | None = None
    context: RequestContext | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        channel = self.channel
        context = _check_fields(
            int(channel) if isinstance(channel, EvidenceChannel) else channel,
            self.presentation,
            self.read_at,
            self.verdict,
            self.professional,
            self.invoice,
            self.fci,
            self.reader_info,
            InvalidArgument,
        )
        object.__setattr__(self, "channel", EvidenceChannel(self.channel))
        object.__setattr__(self, "context", context)

    @property
    def accepted(self) -> bool:
        """Whether the reader accepted the presentation."""
        return self.verdict == VERDICT_OK

    def transcript_hash(self) -> bytes | None:
        """SHA-256 of the NFC SessionTranscript these bytes make; None for QR."""
        if self.fci is None or self.reader_info is None:
            return None
        return hashlib.sha256(session_transcript(self.fci, self.reader_info)).digest()

    def to_wire(self) -> dict[int, Any]:
        """The evidence map."""
        out: dict[int, Any] = {
            EvidenceLabel.CHANNEL: int(self.channel),
            EvidenceLabel.PRESENTATION: self.presentation,
            EvidenceLabel.READ_AT: self.read_at,
            EvidenceLabel.VERDICT: self.verdict,
            EvidenceLabel.PROFESSIONAL: self.professional,
            EvidenceLabel.INVOICE: self.invoice,
        }
        if self.fci is not None:
            out[EvidenceLabel.FCI] = self.fci
        if self.reader_info is not None:
            out[EvidenceLabel.READER_INFO] = self.reader_info
        return out

    def encode(self, *, signer: cose.Signer | None = None) -> bytes:
        """The record's bytes: the evidence map, or with ``signer`` (the professional's
        key) a COSE_Sign1 over it (see :func:`sign_evidence`)."""
        if signer is not None:
            return sign_evidence(self, signer)
        return _cbor.encode(self.to_wire())

    @classmethod
    def from_wire(cls, value: Any) -> Evidence:
        """Read an evidence map strictly (``evidence.invalid`` for any defect)."""
        labelled_map(
            value,
            "evidence",
            known=_EVIDENCE_LABELS,
            required=_EVIDENCE_REQUIRED,
            labels=EvidenceLabel,
            error=EvidenceError,
        )
        fields = (
            value[EvidenceLabel.CHANNEL],
            value[EvidenceLabel.PRESENTATION],
            value[EvidenceLabel.READ_AT],
            value[EvidenceLabel.VERDICT],
            value[EvidenceLabel.PROFESSIONAL],
            value[EvidenceLabel.INVOICE],
            value.get(EvidenceLabel.FCI),
            value.get(EvidenceLabel.READER_INFO),
        )
        context = _check_fields(*fields, EvidenceError)
        # Checked above with the receiver's code: built without checking twice.
        out = object.__new__(cls)
        names = ("channel", "presentation", "read_at", "verdict", "professional", "invoice")
        for name, item in zip((*names, "fci", "reader_info"), fields, strict=True):
            object.__setattr__(out, name, item)
        object.__setattr__(out, "channel", _CHANNELS[fields[0]])
        object.__setattr__(out, "context", context)
        return out


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """A decoded evidence record: the evidence and, when signed, its envelope."""

    evidence: Evidence
    envelope: cose.Sign1 | None
    raw: bytes = field(repr=False)

    @property
    def signed(self) -> bool:
        """Whether the professional signed the record."""
        return self.envelope is not None


def decode_evidence(data: bytes) -> EvidenceRecord:
    """Decode an evidence record strictly (checks E1 - E3 of ``spec/evidence.md``
    section 6); nothing is verified here."""
    if not isinstance(data, bytes):
        raise InvalidArgument("an evidence record is bytes")
    envelope = None
    if data[:1] == bytes([_SIGNED_HEAD]):
        envelope = cose.decode_sign1(data, max_size=MAX_EVIDENCE_BYTES)
        typ = envelope.protected.get(CoseHeader.TYP)
        if not isinstance(typ, str) or typ != EVIDENCE_TYP:
            raise EvidenceError(f"protected typ(16) must be {EVIDENCE_TYP!r}, not {typ!r}")
        if not isinstance(envelope.protected.get(CoseHeader.KID), bytes):
            raise EvidenceError("a signed evidence record names its key in a protected kid(4)")
        payload = envelope.payload
    else:
        payload = data
    value = _cbor.decode(payload, max_size=MAX_EVIDENCE_BYTES, max_depth=2)
    return EvidenceRecord(Evidence.from_wire(value), envelope, data)


def evidence_kid(public_key: Any) -> bytes:
    """The kid of a professional's evidence key: the first 8 bytes of its SPKI SHA-256."""
    return spki_sha256(public_key)[:8]


def sign_evidence(evidence: Evidence, signer: cose.Signer) -> bytes:
    """The professional's signature over ``evidence``: a tagged COSE_Sign1, protected
    ``alg``, ``kid`` (:func:`evidence_kid` of the signer's key) and ``typ``.

    ``signer`` is any :class:`~vitale_cred.hazmat.cose.Signer`: a software key, or a
    PKCS#11 token (:class:`vitale_cred.adapters.hsm.Pkcs11Token`) as for issuers.
    """
    if not isinstance(evidence, Evidence):
        raise InvalidArgument("sign_evidence signs an Evidence")
    if signer.alg not in _PROFESSIONAL_ALGS:
        raise InvalidArgument(f"a professional signs with ES256, ES384 or EdDSA, not {signer.alg}")
    kid = evidence_kid(signer.public_key())
    return cose.sign1(
        _cbor.encode(evidence.to_wire()),
        signer,
        kid=kid,
        protected={CoseHeader.TYP: EVIDENCE_TYP},
    )


# --- producing evidence ------------------------------------------------------------------


def verify_with_evidence(
    verifier: Verifier,
    presentation: bytes | str,
    *,
    professional: str,
    invoice: bytes,
) -> tuple[VerifiedPresentation | VerificationError, Evidence]:
    """Verify a QR presentation (its text or its bytes) and record the evidence.

    Returns the verdict (the verified presentation, or the refusal, returned rather
    than raised) and the evidence of it: the token as decoded from the QR text,
    ``read_at`` the verifier's clock when verification began. A QR text that does
    not even decode to a token has no evidence: its error is raised. The caller
    encodes the evidence, signed or not (:meth:`Evidence.encode`).
    """
    if not isinstance(verifier, Verifier):
        raise InvalidArgument("verify_with_evidence needs a Verifier")
    RequestContext(professional, invoice)  # the caller's arguments, checked up front
    token = decode_qr_text(presentation) if isinstance(presentation, str) else presentation
    if not isinstance(token, bytes):
        raise InvalidArgument("presentation must be QR text or bytes")
    read_at = read_clock(verifier.policy.clock)
    outcome: VerifiedPresentation | VerificationError
    try:
        outcome = verifier.verify_presentation(token)
    except VerificationError as exc:
        if not 1 <= len(token) <= MAX_PRESENTATION_BYTES:
            raise  # nothing a record can hold
        outcome = exc
    verdict = VERDICT_OK if isinstance(outcome, VerifiedPresentation) else outcome.code
    evidence = Evidence(EvidenceChannel.QR, token, read_at, verdict, professional, invoice)
    return outcome, evidence


class EvidenceLog:
    """Appends evidence records to a JSON Lines file, one ``{"evidence": base64}`` a line.

    The file the fund's audit reads (``vitale-cred audit``). Each record is one
    ``write`` on a descriptor opened with ``O_APPEND``, so the processes and threads
    of a practice can share one log. ``extra`` members (text) go on the same line and
    are ignored by the audit.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._lock = threading.Lock()

    @property
    def path(self) -> str:
        """The log file."""
        return self._path

    def append(self, record: Evidence | bytes, **extra: str) -> None:
        """Append ``record`` (an :class:`Evidence`, or the bytes of an encoded one)."""
        data = record.encode() if isinstance(record, Evidence) else record
        if not isinstance(data, bytes):
            raise InvalidArgument("an evidence record is an Evidence or bytes")
        if "evidence" in extra or not all(isinstance(v, str) for v in extra.values()):
            raise InvalidArgument("extra members are text, and none is named evidence")
        line = json.dumps(
            {"evidence": base64.b64encode(data).decode("ascii"), **extra},
            ensure_ascii=True,
            separators=(",", ":"),
        )
        payload = (line + "\n").encode("ascii")
        with self._lock:
            try:
                fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as exc:
                raise FileAccessError(f"cannot open the evidence log {self._path}: {exc}") from exc
            try:
                os.write(fd, payload)
            except OSError as exc:
                raise FileAccessError(f"cannot write the evidence log {self._path}: {exc}") from exc
            finally:
                os.close(fd)

    def __repr__(self) -> str:
        return f"EvidenceLog({self._path!r})"


# --- checking evidence as of its time (spec/evidence.md section 6) -----------------------


class ProfessionalKeys:
    """The auditor's directory of the keys professionals sign evidence with.

    Keys are found by professional and ``kid`` (:func:`evidence_kid`): a record is
    checked only against the keys of the professional it names.
    """

    def __init__(self, keys: Mapping[str, Iterable[Any]] | None = None) -> None:
        self._keys: dict[tuple[str, bytes], cose.VerifyingKey] = {}
        for professional, items in (keys or {}).items():
            for key in items:
                self.add(professional, key)

    def add(self, professional: str, key: Any) -> bytes:
        """Register ``key`` (a public key, a COSE_Key or a VerifyingKey); its kid."""
        if not _professional_ok(professional):
            raise InvalidArgument("professional must be 1..32 ASCII letters and digits")
        if isinstance(key, cose.CoseKey):
            verifying = key.verifying_key()
        elif isinstance(key, cose.VerifyingKey):
            verifying = key
        else:
            alg = cose.CoseKey.from_public_key(key).default_alg()
            verifying = cose.VerifyingKey(key, alg)
        if verifying.alg not in _PROFESSIONAL_ALGS:
            raise InvalidArgument("a professional's key signs with ES256, ES384 or EdDSA")
        kid = evidence_kid(verifying)
        self._keys[(professional, kid)] = verifying
        return kid

    def key(self, professional: str, kid: bytes) -> cose.VerifyingKey | None:
        """The key ``kid`` of ``professional``, if registered."""
        return self._keys.get((professional, kid))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"ProfessionalKeys({len(self._keys)} keys)"


@final
class VerifiedEvidence(Sealed, producer="EvidenceVerifier.verify()"):
    """An evidence record checked as of its time: decoded, its signature (if checked)
    and NFC context consistent, its presentation verified at ``read_at``."""

    __slots__ = ("bound", "evidence", "presentation", "signer")

    evidence: Evidence
    presentation: VerifiedPresentation
    #: NFC evidence whose transcript names this professional and this invoice.
    bound: bool
    #: The kid of the professional key whose signature verified, or None.
    signer: bytes | None


_new_verified_evidence = sealed_factory(VerifiedEvidence)


class _RecordClock:
    """The verifiers' clock: it reads the time of the record being checked, per thread."""

    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local = threading.local()

    def now(self) -> int:
        value = getattr(self._local, "at", None)
        if value is None:
            raise InvalidArgument("an evidence verifier's clock is read only during a check")
        return int(value)

    def run(self, at: int, call: Callable[[], VerifiedPresentation]) -> VerifiedPresentation:
        self._local.at = at
        try:
            return call()
        finally:
            self._local.at = None


class _NoReplay:
    """An auditor re-verifies tokens it has seen: replays are its cross-record check."""

    __slots__ = ()

    def check_and_add(self, nonce: bytes, expires_at: int, now: int) -> bool:
        return True


class EvidenceVerifier:
    """Checks evidence records as of the time each one records.

    ``trust`` is a :class:`~vitale_cred.trust.TrustStore`, or a function giving the
    store in force at a time (an archive of trust lists); ``status`` checks
    revocation at a given time (a checker over the status lists in force then), or
    None to leave revocation aside; ``professionals`` the directory of the keys
    professionals sign evidence with (without it a signature is not checked, and
    :attr:`VerifiedEvidence.signer` is None). The other parameters are those of a
    :class:`~vitale_cred.verify.Policy`. No replay check: a replay across readers is
    the audit's own check (``spec/evidence.md`` section 7.4).

    Thread-safe. One verifier per trust store in force, each with its issuer cache:
    a credential seen before costs the device signature only.
    """

    def __init__(
        self,
        trust: TrustStore | Callable[[int], TrustStore],
        *,
        status: StatusCheck | None = None,
        professionals: ProfessionalKeys | None = None,
        skew: int = DEFAULT_SKEW,
        max_token_lifetime: int = MAX_TTL,
        allow_delegated: bool = True,
        issuer_cache_size: int = 4096,
    ) -> None:
        if not isinstance(trust, TrustStore) and not callable(trust):
            raise InvalidArgument("trust is a TrustStore or a function of time giving one")
        if not 0 <= skew <= MAX_CLOCK_SKEW:
            raise InvalidArgument(f"skew must be 0..{MAX_CLOCK_SKEW} seconds")
        self._trust = trust
        self._status = status
        self._professionals = professionals
        self._skew = skew
        self._max_token_lifetime = max_token_lifetime
        self._allow_delegated = allow_delegated
        self._cache_size = issuer_cache_size
        self._clock = _RecordClock()
        self._verifiers: dict[tuple[int, bool], tuple[TrustStore, Verifier]] = {}
        self._lock = threading.Lock()
        # Checked now rather than at the first record.
        self._policy(TrustStore(), status=True)

    def _policy(self, store: TrustStore, *, status: bool) -> Policy:
        return Policy(
            trust=store,
            clock=self._clock,
            skew=self._skew,
            max_token_lifetime=self._max_token_lifetime,
            allow_delegated=self._allow_delegated,
            status=self._status if status else None,
            replay_cache=_NoReplay(),
            issuer_cache_size=self._cache_size,
        )

    def _verifier(self, at: int, *, status: bool) -> Verifier:
        store = self._trust if isinstance(self._trust, TrustStore) else self._trust(at)
        if not isinstance(store, TrustStore):
            raise InvalidArgument("the trust function must return a TrustStore")
        key = (id(store), status)
        entry = self._verifiers.get(key)
        if entry is not None and entry[0] is store:
            return entry[1]
        verifier = Verifier(self._policy(store, status=status))
        with self._lock:
            self._verifiers[key] = (store, verifier)
        return verifier

    def verify(
        self, data: bytes | EvidenceRecord, *, at: int | None = None, status: bool = True
    ) -> VerifiedEvidence:
        """Check one record (``spec/evidence.md`` section 6, E1 - E6) or raise the
        code of the first failing check.

        ``at`` replaces the record's ``read_at`` as the instant of verification and
        ``status=False`` leaves revocation aside: together they tell whether a record
        refused for its time or status is nevertheless authentic (section 7.6).
        """
        record = data if isinstance(data, EvidenceRecord) else decode_evidence(data)
        evidence = record.evidence
        signer = None
        if record.envelope is not None and self._professionals is not None:
            signer = self._check_signature(record.envelope, evidence.professional)
        bound = False
        transcript = None
        if evidence.channel is EvidenceChannel.NFC:
            context = evidence.context
            if context is not None:
                if (
                    context.professional != evidence.professional
                    or context.invoice != evidence.invoice
                ):
                    raise EvidenceContextMismatch(
                        "the NFC request context names another professional or invoice"
                    )
                bound = True
            transcript = evidence.transcript_hash()
        when = evidence.read_at if at is None else at
        verifier = self._verifier(when, status=status)
        token = evidence.presentation
        presentation = self._clock.run(
            when, lambda: verifier.verify_presentation(token, transcript=transcript)
        )
        return _new_verified_evidence(
            evidence=evidence, presentation=presentation, bound=bound, signer=signer
        )

    def _check_signature(self, envelope: cose.Sign1, professional: str) -> bytes:
        kid = envelope.protected.get(CoseHeader.KID)
        if not isinstance(kid, bytes):  # decode_evidence checked it; keeps the types exact
            raise EvidenceError("a signed evidence record names its key in a protected kid(4)")
        professionals = self._professionals
        key = None if professionals is None else professionals.key(professional, kid)
        if key is None:
            raise EvidenceSignerUnknown(
                f"no key {kid.hex()} is registered for professional {professional}"
            )
        try:
            envelope.verify(key, allowed_algs=_PROFESSIONAL_ALGS)
        except CoseError as exc:
            raise EvidenceSignatureInvalid(
                f"the professional's signature does not verify ({exc.code})"
            ) from exc
        return kid

    def __repr__(self) -> str:
        return f"EvidenceVerifier({len(self._verifiers)} trust epochs)"
