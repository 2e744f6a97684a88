"""The error hierarchy.

Every failure the library reports is an instance of :class:`VitaleCredError`
with a stable, dotted ``code`` string. The codes are a public contract: they
appear in ``spec/errors.md`` and in the conformance vectors, and they never
change meaning once published.

Three branches:

* :class:`VerificationError` -- the input (a credential, a QR text, an APDU, a
  status list) is malformed, forged, stale or not trusted. Raised by every
  decode and verify function. This is the "remote" error: the peer is at fault.
* :class:`UsageError` -- the caller misused the API (wrong argument, illegal
  state transition, unsupported option). This is the "local" error.
* :class:`IssuanceError` -- the issuer refused to sign (invalid card data,
  failed proof of possession).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ApduBodyTruncated",
    "ApduChainInconsistent",
    "ApduChainTooLong",
    "ApduChainingNotSupported",
    "ApduClaInvalid",
    "ApduClaNotSupported",
    "ApduError",
    "ApduExtendedLcZero",
    "ApduExtendedLengthTruncated",
    "ApduGetResponseUnexpected",
    "ApduInsInvalid",
    "ApduInsNotSupported",
    "ApduLeWrongLength",
    "ApduResponseMalformed",
    "ApduResponseTooLong",
    "ApduResponseUnexpected",
    "ApduStatusWordInvalid",
    "ApduTooShort",
    "ApduWrongLength",
    "ApduWrongP1P2",
    "AudienceMismatch",
    "AuditDelegationExceeded",
    "AuditFinding",
    "AuditImpossibleTravel",
    "AuditNonceReused",
    "AuditProfessionalUnknown",
    "AuditReaderRefused",
    "AuditRecordInvalid",
    "BadKey",
    "Base45BadCharacter",
    "Base45BadLength",
    "Base45Error",
    "Base45Overflow",
    "BeneficiaryMismatch",
    "BindingError",
    "CardDataError",
    "CborDuplicateKey",
    "CborError",
    "CborIndefiniteLength",
    "CborLengthExceedsInput",
    "CborNonDeterministic",
    "CborTagNotAllowed",
    "CborTooDeep",
    "CborTooLarge",
    "CborTrailingBytes",
    "CborTypeNotAllowed",
    "CertificateChainError",
    "CertificateProfileError",
    "ClockRollback",
    "CommandLineError",
    "CompressionError",
    "ConfirmationMissing",
    "CoseAlgMismatch",
    "CoseAlgMissing",
    "CoseAlgNotAllowed",
    "CoseBadSignature",
    "CoseDetachedPayload",
    "CoseError",
    "CoseHeaderConflict",
    "CoseKeyError",
    "CoseUnknownCritical",
    "DateInvalid",
    "DecodeError",
    "DecompressionBomb",
    "DelegationError",
    "DeviceSignatureInvalid",
    "EnvironmentFailure",
    "EvidenceContextMismatch",
    "EvidenceError",
    "EvidenceSignatureInvalid",
    "EvidenceSignerUnknown",
    "Expired",
    "FileAccessError",
    "FileExists",
    "FileIsDirectory",
    "FileMissing",
    "FileNotDirectory",
    "FilePermissionDenied",
    "HsmError",
    "HsmKeyLabelConflict",
    "HsmKeyNotFound",
    "HsmOperationFailed",
    "HsmPinIncorrect",
    "HsmPinLocked",
    "HsmTokenInUse",
    "HsmTokenNotFound",
    "HsmUnavailable",
    "InsInvalid",
    "InsMismatch",
    "InspectInputError",
    "InspectTooLarge",
    "InternalError",
    "InvalidArgument",
    "IssuanceError",
    "KeyNotValidAtTime",
    "KeyPassphraseError",
    "KeyUsageNotAllowed",
    "KeyWithdrawn",
    "KidMismatch",
    "NfcApplicationNotFound",
    "NfcError",
    "NfcHolderRefused",
    "NfcIllegalState",
    "NfcLocked",
    "NfcOutOfOrder",
    "NfcReaderNonceRepeated",
    "NfcReaderNonceReplayed",
    "NfcRequestInvalid",
    "NfcResponseInvalid",
    "NfcVersionNotSupported",
    "NirInvalid",
    "NotYetValid",
    "OrganismeInvalid",
    "PcscError",
    "PcscNoCard",
    "PcscUnavailable",
    "PresentationError",
    "PresentationExpired",
    "PresentationLifetimeTooLong",
    "PresentationNotYetValid",
    "PresentationReplayed",
    "ProofOfPossessionError",
    "QrBadPrefix",
    "QrError",
    "QrTooLarge",
    "ReplayCacheFull",
    "ReplayStoreError",
    "Revoked",
    "SchemaError",
    "SchemaMissingLabel",
    "SchemaUnknownLabel",
    "SessionCounterExhausted",
    "SessionDecryptFailed",
    "SessionDowngrade",
    "SessionError",
    "SessionKeyInvalid",
    "StateStoreError",
    "StatementInvalid",
    "StatusError",
    "StatusIndexOutOfRange",
    "StatusListExpired",
    "StatusListInvalid",
    "StatusListTooOld",
    "StatusReferenceInvalid",
    "StatusUndetermined",
    "Suspended",
    "TranscriptMismatch",
    "TrustError",
    "TrustListExpired",
    "TrustListInvalid",
    "TrustListRollback",
    "TrustListTooOld",
    "UnknownIssuer",
    "UsageError",
    "ValidityError",
    "VerificationError",
    "VitaleCredError",
    "all_error_classes",
]


class VitaleCredError(Exception):
    """Base of every error raised by :mod:`vitale_cred`."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class VerificationError(VitaleCredError):
    """Input rejected: malformed, forged, stale, revoked or untrusted."""

    code = "verification"


class UsageError(VitaleCredError):
    """The caller used the API wrongly (a local error, never the peer's)."""

    code = "usage"


class EnvironmentFailure(VitaleCredError):
    """The machine around the library failed: a card reader service, an HSM, a device.

    Neither the caller nor the peer did anything wrong; trying again may succeed.
    """

    code = "environment"


class IssuanceError(VitaleCredError):
    """The issuer refused to produce a credential."""

    code = "issuance"


# --- decoding: structure of the bytes ------------------------------------------------
class DecodeError(VerificationError):
    """The bytes are not a well-formed instance of the expected structure."""

    code = "decode"


class CborError(DecodeError):
    """Malformed or non-profile CBOR."""

    code = "cbor.malformed"


class CborTrailingBytes(CborError):
    """Bytes remain after the top-level CBOR item."""

    code = "cbor.trailing_bytes"


class CborIndefiniteLength(CborError):
    """An indefinite-length string, array or map was found."""

    code = "cbor.indefinite_length"


class CborDuplicateKey(CborError):
    """A map holds the same key twice."""

    code = "cbor.duplicate_key"


class CborTagNotAllowed(CborError):
    """A tag outside the allow-list for this structure was found."""

    code = "cbor.tag_not_allowed"


class CborTooDeep(CborError):
    """Nesting deeper than the documented bound."""

    code = "cbor.too_deep"


class CborTooLarge(CborError):
    """The input, or the number of items in it, exceeds the documented cap."""

    code = "cbor.too_large"


class CborLengthExceedsInput(CborError):
    """A declared length runs past the end of the input."""

    code = "cbor.length_exceeds_input"


class CborNonDeterministic(CborError):
    """Encoding is not deterministic (RFC 8949 section 4.2.1) where it must be."""

    code = "cbor.non_deterministic"


class CborTypeNotAllowed(CborError):
    """A CBOR type outside the profile (floats, undefined, simple values) was found."""

    code = "cbor.type_not_allowed"


class SchemaError(DecodeError):
    """Well-formed CBOR that does not match the expected structure."""

    code = "schema.invalid"


class SchemaUnknownLabel(SchemaError):
    """A map carries a label the structure does not define."""

    code = "schema.unknown_label"


class SchemaMissingLabel(SchemaError):
    """A required label is absent."""

    code = "schema.missing_label"


# --- COSE ----------------------------------------------------------------------------
class CoseError(VerificationError):
    """A COSE structure is malformed or fails verification."""

    code = "cose.malformed"


class CoseBadSignature(CoseError):
    """The signature does not verify with the key that was selected."""

    code = "cose.bad_signature"


class CoseAlgMismatch(CoseError):
    """The protected ``alg`` does not match the key's algorithm."""

    code = "cose.alg_mismatch"


class CoseAlgNotAllowed(CoseError):
    """The algorithm is not allowed by the trust anchor or policy."""

    code = "cose.alg_not_allowed"


class CoseAlgMissing(CoseError):
    """No ``alg`` in the protected header (an unprotected ``alg`` is not accepted)."""

    code = "cose.alg_missing"


class CoseUnknownCritical(CoseError):
    """The ``crit`` header names a label this implementation does not understand."""

    code = "cose.unknown_critical"


class CoseHeaderConflict(CoseError):
    """The same label appears in the protected and the unprotected header."""

    code = "cose.header_conflict"


class CoseDetachedPayload(CoseError):
    """The payload is nil (detached) where an attached payload is required."""

    code = "cose.detached_payload"


class CoseKeyError(CoseError):
    """A COSE_Key is malformed, on the wrong curve, or not a valid point."""

    code = "cose.bad_key"


# --- trust ---------------------------------------------------------------------------
class TrustError(VerificationError):
    """The signer cannot be tied to a trust anchor."""

    code = "trust.failed"


class UnknownIssuer(TrustError):
    """No trusted key or certificate matches the message's ``kid``/``x5chain``."""

    code = "trust.unknown_issuer"


class CertificateChainError(TrustError):
    """The certificate chain does not validate to a trusted root."""

    code = "trust.chain_invalid"


class CertificateProfileError(TrustError):
    """The signer certificate violates the issuer certificate profile."""

    code = "trust.certificate_profile"


class KidMismatch(TrustError):
    """The ``kid`` does not identify the certificate carried in ``x5chain``."""

    code = "trust.kid_mismatch"


class KeyUsageNotAllowed(TrustError):
    """The key is trusted, but not for this usage (credentials / status lists)."""

    code = "trust.usage_not_allowed"


class KeyNotValidAtTime(TrustError):
    """The trusted key is outside its stated validity window at the verification instant."""

    code = "trust.key_not_valid"


class KeyWithdrawn(TrustError):
    """The key was withdrawn (compromised) and is refused whatever the message carries."""

    code = "trust.key_withdrawn"


class TrustListInvalid(TrustError):
    """A trust list is malformed or not signed by a trust-list authority."""

    code = "trust.list_invalid"


class TrustListExpired(TrustError):
    """The trust list passed its next_update and the policy refuses stale lists."""

    code = "trust.list_expired"


class TrustListRollback(TrustError):
    """The trust list is older than (or conflicts with) the one in force."""

    code = "trust.list_rollback"


class TrustListTooOld(TrustListExpired):
    """A trust list issued longer ago than the reader's maximum age, whatever its next_update."""

    code = "trust.list_too_old"


# --- time ----------------------------------------------------------------------------
class ValidityError(VerificationError):
    """Time-based validity check failed."""

    code = "validity.failed"


class Expired(ValidityError):
    """The credential's ``exp`` is in the past (beyond the allowed skew)."""

    code = "validity.expired"


class NotYetValid(ValidityError):
    """The credential's ``nbf``/``iat`` is in the future (beyond the allowed skew)."""

    code = "validity.not_yet_valid"


class ClockRollback(ValidityError):
    """The reader's clock reads earlier than a time it already trusted (set back)."""

    code = "validity.clock_rollback"


# --- model ---------------------------------------------------------------------------
class CardDataError(SchemaError):
    """Card data violates the data model (bad NIR, organisme, date, ...)."""

    code = "card.invalid"


class NirInvalid(CardDataError):
    """The NIR has a wrong form or a wrong control key."""

    code = "card.nir_invalid"


class OrganismeInvalid(CardDataError):
    """The organisme is not régime(2) + caisse(3) + centre(4) digits."""

    code = "card.organisme_invalid"


class DateInvalid(CardDataError):
    """A date is not a valid (or, for birth dates, lunar) calendar date."""

    code = "card.date_invalid"


class InsInvalid(CardDataError):
    """An INS (identité nationale de santé) field is missing, unknown or malformed."""

    code = "card.ins_invalid"


class InsMismatch(InsInvalid):
    """The INS contradicts its matricule: OID, sex, birth year or birth month."""

    code = "card.ins_mismatch"


# --- device binding and presentations --------------------------------------------
class BindingError(VerificationError):
    """Device binding failed."""

    code = "binding.failed"


class DeviceSignatureInvalid(BindingError):
    """The presentation is not signed by the key in the credential's ``cnf``."""

    code = "binding.device_signature_invalid"


class ConfirmationMissing(BindingError):
    """The credential carries no usable ``cnf`` device key."""

    code = "binding.cnf_missing"


class PresentationError(VerificationError):
    """A presentation is malformed or not acceptable."""

    code = "presentation.invalid"


class PresentationExpired(PresentationError):
    """The presentation token's lifetime has passed."""

    code = "presentation.expired"


class PresentationNotYetValid(PresentationError):
    """The presentation token is issued in the future (beyond the allowed skew)."""

    code = "presentation.not_yet_valid"


class PresentationLifetimeTooLong(PresentationError):
    """The token's ``exp - iat`` exceeds the policy's lifetime cap."""

    code = "presentation.lifetime_too_long"


class PresentationReplayed(PresentationError):
    """The token's nonce was already seen within its lifetime."""

    code = "presentation.replayed"


class ReplayCacheFull(PresentationError):
    """The replay cache is full of unexpired tokens and its policy refuses new ones."""

    code = "presentation.replay_cache_full"


class BeneficiaryMismatch(PresentationError):
    """The presentation discloses another beneficiary than the one the reader asked for."""

    code = "presentation.beneficiary_mismatch"


class AudienceMismatch(PresentationError):
    """The presentation is bound to another verifier or challenge."""

    code = "presentation.audience_mismatch"


class TranscriptMismatch(PresentationError):
    """The presentation is bound to another NFC session, or to none."""

    code = "presentation.transcript_mismatch"


class QrError(DecodeError):
    """The QR text is malformed."""

    code = "qr.malformed"


class QrBadPrefix(QrError):
    """The text does not start with a supported context prefix."""

    code = "qr.bad_prefix"


class Base45Error(QrError):
    """Invalid Base45 (RFC 9285)."""

    code = "base45.invalid"


class Base45BadCharacter(Base45Error):
    """A character outside the Base45 alphabet (lower case included)."""

    code = "base45.bad_character"


class Base45BadLength(Base45Error):
    """The text length is 1 modulo 3."""

    code = "base45.bad_length"


class Base45Overflow(Base45Error):
    """A group decodes to a value larger than its byte width allows."""

    code = "base45.overflow"


class CompressionError(QrError):
    """The compressed payload is invalid."""

    code = "compression.invalid"


class DecompressionBomb(CompressionError):
    """The payload decompresses past the documented size cap."""

    code = "compression.too_large"


class QrTooLarge(QrError):
    """The QR text exceeds the documented size cap."""

    code = "qr.too_large"


# --- local tools reading untrusted input (inspect) ----------------------------------
class InspectInputError(DecodeError):
    """Input given to inspect is no readable object of the protocol."""

    code = "inspect.malformed"


class InspectTooLarge(InspectInputError):
    """Input given to inspect exceeds one of its documented size caps."""

    code = "inspect.too_large"


# --- status (revocation) ------------------------------------------------------------
class StatusError(VerificationError):
    """Status (revocation) check failed."""

    code = "status.failed"


class Revoked(StatusError):
    """The status list marks the credential INVALID (revoked)."""

    code = "status.revoked"


class Suspended(StatusError):
    """The status list marks the credential SUSPENDED."""

    code = "status.suspended"


class StatusUndetermined(StatusError):
    """No fresh, trusted status list is available and policy requires one."""

    code = "status.undetermined"


# --- status lists (Token Status List) ---
class StatusListInvalid(StatusError):
    """A Status List Token is unacceptable: bad typ, claims, bits or subject."""

    code = "status.list_invalid"


class StatusListExpired(StatusError):
    """The Status List Token's ``exp`` has passed: it must not be relied upon."""

    code = "status.list_expired"


class StatusListTooOld(StatusListExpired):
    """A status list issued longer ago than the policy's maximum list age, with or without exp."""

    code = "status.list_too_old"


class StatusIndexOutOfRange(StatusError):
    """The referenced index lies outside the status list."""

    code = "status.index_out_of_range"


class StatusReferenceInvalid(SchemaError):
    """A credential's ``status`` claim is not a well-formed status list reference."""

    code = "status.reference_invalid"


# --- end status lists ---


# --- statements ----------------------------------------------------------------------
class StatementInvalid(VerificationError):
    """A signed statement is malformed, of another type, or bound to another holder."""

    code = "statement.invalid"


# --- delegation ---------------------------------------------------------------------
class DelegationError(VerificationError):
    """A delegated credential is not acceptable."""

    code = "delegation.invalid"


# --- APDU (ISO 7816-4) and NFC ---------------------------------------------------
# Each APDU/NFC error carries the status word the card answers with.
class ApduError(DecodeError):
    """A command or response APDU is malformed."""

    code = "apdu.malformed"
    status_word: ClassVar[int] = 0x6700


# Length forms of a command APDU (ISO/IEC 7816-4 section 5.1): the card answers 6700.
class ApduWrongLength(ApduError):
    """The length fields of a command do not match its size."""

    code = "apdu.wrong_length"
    status_word = 0x6700  # wrong length


class ApduTooShort(ApduWrongLength):
    """Fewer than the four header bytes CLA INS P1 P2."""

    code = "apdu.too_short"


class ApduBodyTruncated(ApduWrongLength):
    """Lc announces more data bytes than the body holds."""

    code = "apdu.body_truncated"


class ApduLeWrongLength(ApduWrongLength):
    """The bytes after the data do not form the Le field of the length form in use."""

    code = "apdu.le_wrong_length"


class ApduExtendedLengthTruncated(ApduWrongLength):
    """A body of two bytes starting with 00: an incomplete extended length field."""

    code = "apdu.extended_length_truncated"


class ApduExtendedLcZero(ApduWrongLength):
    """An extended Lc of 0000 followed by more bytes."""

    code = "apdu.extended_lc_zero"


class ApduClaNotSupported(ApduError):
    """The class byte is not supported."""

    code = "apdu.cla_not_supported"
    status_word = 0x6E00  # class not supported


class ApduClaInvalid(ApduClaNotSupported):
    """CLA FF, which ISO/IEC 7816-4 declares invalid."""

    code = "apdu.cla_invalid"


class ApduInsNotSupported(ApduError):
    """The instruction byte is not supported."""

    code = "apdu.ins_not_supported"
    status_word = 0x6D00  # instruction not supported


class ApduInsInvalid(ApduInsNotSupported):
    """INS 6X or 9X, which ISO/IEC 7816-4 declares invalid."""

    code = "apdu.ins_invalid"


class ApduWrongP1P2(ApduError):
    """P1-P2 are incorrect for the instruction."""

    code = "apdu.wrong_p1p2"
    status_word = 0x6A86  # incorrect parameters P1-P2


class ApduChainTooLong(ApduError):
    """A command chain carries more data than the receiver accepts."""

    code = "apdu.chain_too_long"
    status_word = 0x6A84  # not enough memory space


class ApduChainInconsistent(ApduError):
    """A command does not continue the open chain (other CLA, INS, P1 or P2)."""

    code = "apdu.chain_inconsistent"
    status_word = 0x6883  # last command of the chain expected


class ApduChainingNotSupported(ApduError):
    """The chaining bit is set on an instruction that may not be chained."""

    code = "apdu.chaining_not_supported"
    status_word = 0x6884  # command chaining not supported


class ApduGetResponseUnexpected(ApduError):
    """GET RESPONSE arrived while no response data is pending."""

    code = "apdu.get_response_unexpected"
    status_word = 0x6985  # conditions of use not satisfied


# Response errors are raised on the reader side, which sends no status word;
# 6F00 is what to show if one is needed.
class ApduResponseMalformed(ApduError):
    """A response APDU is malformed (fewer than the two status bytes)."""

    code = "apdu.response_malformed"
    status_word = 0x6F00  # no precise diagnosis


class ApduStatusWordInvalid(ApduResponseMalformed):
    """SW1 is neither 61-6F nor 90-9F (ISO/IEC 7816-4 section 5.6)."""

    code = "apdu.status_word_invalid"


class ApduResponseTooLong(ApduResponseMalformed):
    """The response data, single or reassembled, exceeds the documented bound."""

    code = "apdu.response_too_long"


class ApduResponseUnexpected(ApduResponseMalformed):
    """The card broke the GET RESPONSE / wrong-Le protocol (no progress, repeated 6Cxx)."""

    code = "apdu.response_unexpected"


# NFC application protocol (spec/nfc.md). Raised by the holder, which answers
# ``status_word``; raised by the reader when the holder's answer is at fault.
class NfcError(VerificationError):
    """The peer broke the NFC application protocol."""

    code = "nfc.error"
    status_word: ClassVar[int] = 0x6F00  # no precise diagnosis


class NfcApplicationNotFound(NfcError):
    """SELECT named another AID (holder), or the card has no such application (reader)."""

    code = "nfc.application_not_found"
    status_word = 0x6A82  # file or application not found


class NfcOutOfOrder(NfcError):
    """A command arrived in a state that does not accept it."""

    code = "nfc.out_of_order"
    status_word = 0x6985  # conditions of use not satisfied


class NfcLocked(NfcError):
    """The holder's user has not unlocked the app or not chosen a beneficiary yet."""

    code = "nfc.locked"
    status_word = 0x6982  # security status not satisfied


class NfcRequestInvalid(NfcError):
    """The reader's request is malformed (CBOR, labels, nonce, hint, mode)."""

    code = "nfc.request_invalid"
    status_word = 0x6A80  # incorrect parameters in the command data field


class NfcVersionNotSupported(NfcError):
    """The peer speaks another protocol version."""

    code = "nfc.version_not_supported"
    status_word = 0x6A80


class NfcReaderNonceReplayed(NfcError):
    """The holder already answered a request carrying this reader nonce."""

    code = "nfc.reader_nonce_replayed"
    status_word = 0x6A80


class NfcResponseInvalid(NfcError):
    """The holder's FCI or response is malformed or offers nothing usable."""

    code = "nfc.response_invalid"


class NfcHolderRefused(NfcError):
    """The holder answered an error status word (kept in ``received_status_word``)."""

    code = "nfc.holder_refused"
    received_status_word: int = 0


class SessionError(VerificationError):
    """Session encryption failed (ECDH / HKDF / AES-GCM, ISO 18013-5 9.1.1 pattern)."""

    code = "session.error"
    status_word: ClassVar[int] = 0x6988  # StatusWord.SECURE_MESSAGING_DATA_INCORRECT


class SessionDecryptFailed(SessionError):
    """A ciphertext does not authenticate: tampered, replayed, or out of counter order."""

    code = "session.decrypt_failed"


class SessionKeyInvalid(SessionError):
    """An ephemeral public key is not an uncompressed point on P-256."""

    code = "session.key_invalid"
    status_word = 0x6A80


class SessionDowngrade(SessionError):
    """The peer offers or asks for plaintext while the policy requires encryption."""

    code = "session.downgrade"
    status_word = 0x6A80


class NfcIllegalState(UsageError):
    """A session method was called in a state that does not allow it."""

    code = "nfc.illegal_state"


class NfcReaderNonceRepeated(UsageError):
    """The reader's random source produced a nonce it had already used."""

    code = "nfc.reader_nonce_repeated"


class SessionCounterExhausted(UsageError):
    """A session sent 2^32 - 1 messages: its counter may not wrap."""

    code = "session.counter_exhausted"


class PcscError(EnvironmentFailure):
    """The PC/SC transport failed (no pcscd, no reader, card gone, I/O error)."""

    code = "nfc.pcsc_error"


class PcscUnavailable(PcscError):
    """pyscard is not installed or pcscd does not answer."""

    code = "nfc.pcsc_unavailable"


class PcscNoCard(PcscError):
    """No reader held a card before the deadline."""

    code = "nfc.pcsc_no_card"


# --- end APDU (ISO 7816-4) and NFC -----------------------------------------------


# --- HSM (PKCS#11) ---
class HsmError(EnvironmentFailure):
    """A PKCS#11 token (HSM) could not do what was asked."""

    code = "hsm.error"


class HsmUnavailable(HsmError):
    """python-pkcs11 is not installed, or the PKCS#11 module cannot be loaded."""

    code = "hsm.unavailable"


class HsmTokenNotFound(HsmError):
    """No token, or more than one, carries the requested label."""

    code = "hsm.token_not_found"


class HsmTokenInUse(HsmError):
    """This process is already logged in to the token: share the open token."""

    code = "hsm.token_in_use"


class HsmPinIncorrect(HsmError):
    """The token refused the user PIN."""

    code = "hsm.pin_incorrect"


class HsmPinLocked(HsmError):
    """The user PIN is locked (or expired) on the token."""

    code = "hsm.pin_locked"


class HsmKeyNotFound(HsmError):
    """No key pair with the requested label is on the token."""

    code = "hsm.key_not_found"


class HsmKeyLabelConflict(HsmError):
    """The label is already used on the token, or names more than one key."""

    code = "hsm.key_label_conflict"


class HsmOperationFailed(HsmError):
    """The token failed an operation (closed session, mechanism error, device error)."""

    code = "hsm.operation_failed"


# --- end HSM ---


# --- persisted trust state --------------------------------------------------------
class StateStoreError(UsageError):
    """The trust-state store (high-water marks) cannot be read or written."""

    code = "state.store_failed"


# --- misuse -------------------------------------------------------------------------
class BadKey(UsageError):
    """A key is unsuitable for the requested operation."""

    code = "usage.bad_key"


class KeyPassphraseError(BadKey):
    """An encrypted private key file cannot be decrypted: wrong passphrase, or none given."""

    code = "key.passphrase"


class InvalidArgument(UsageError):
    """An argument is out of its documented range."""

    code = "usage.invalid_argument"


class CommandLineError(UsageError):
    """The command line is malformed: an unknown option, a missing or ill-formed argument."""

    code = "usage.command_line"


# --- local files (the command line and the issuer directory) ----------------------
# A child of InvalidArgument, which reported these before they had codes of their own.
class FileAccessError(InvalidArgument):
    """A local file or directory cannot be read or written."""

    code = "io.failed"


class FileMissing(FileAccessError):
    """A file, or the directory that should hold it, does not exist."""

    code = "io.not_found"


class FileIsDirectory(FileAccessError):
    """A directory was given where a file is expected."""

    code = "io.is_a_directory"


class FileNotDirectory(FileAccessError):
    """A file was given where a directory is expected (or in a path as a directory)."""

    code = "io.not_a_directory"


class FilePermissionDenied(FileAccessError):
    """The operating system refused access to a file or directory."""

    code = "io.permission_denied"


class FileExists(FileAccessError):
    """A file or directory the command would replace exists; ``--force`` replaces it."""

    code = "io.exists"


class InternalError(VitaleCredError):
    """A defect: an unexpected exception, reported as one line instead of a traceback."""

    code = "internal"


class ReplayStoreError(UsageError):
    """The shared replay store could not be read or written (locked too long, I/O, foreign file)."""

    code = "replay.store_error"


class ProofOfPossessionError(IssuanceError):
    """The holder's proof of possession of the device key does not verify."""

    code = "issuance.pop_invalid"


# --- evidence of presence and its audit (spec/evidence.md) --------------------------
class EvidenceError(VerificationError):
    """An evidence record is malformed: not a map of the evidence labels with their types."""

    code = "evidence.invalid"


class EvidenceContextMismatch(EvidenceError):
    """NFC evidence whose request context names another professional or invoice."""

    code = "evidence.context_mismatch"


class EvidenceSignatureInvalid(EvidenceError):
    """The professional's signature over an evidence record does not verify."""

    code = "evidence.signature_invalid"


class EvidenceSignerUnknown(EvidenceError):
    """An evidence record is signed by no key registered for its professional."""

    code = "evidence.signer_unknown"


class AuditFinding(VerificationError):
    """A finding of the fund's audit over many evidence records; never raised itself."""

    code = "audit.finding"


class AuditRecordInvalid(AuditFinding):
    """An input row holds no evidence record (not JSON, no evidence member, not base64, null)."""

    code = "audit.record_invalid"


class AuditReaderRefused(AuditFinding):
    """The evidence says the reader refused the presentation, yet the invoice was billed."""

    code = "audit.reader_refused"


class AuditNonceReused(AuditFinding):
    """One presentation (holder key and nonce) is in the evidence of two professionals."""

    code = "audit.nonce_reused"


class AuditImpossibleTravel(AuditFinding):
    """One holder device read at two professionals too far apart for the time between."""

    code = "audit.impossible_travel"


class AuditDelegationExceeded(AuditFinding):
    """A delegated credential presented outside the limits its scope states."""

    code = "audit.delegation_exceeded"


class AuditProfessionalUnknown(AuditFinding):
    """The evidence names a professional missing from the audit's directory."""

    code = "audit.professional_unknown"


def all_error_classes() -> list[type[VitaleCredError]]:
    """Every error class defined by the library, base classes included."""
    seen: list[type[VitaleCredError]] = []
    stack: list[type[VitaleCredError]] = [VitaleCredError]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: c.code)
