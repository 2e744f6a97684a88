"""Integer registries: every label, algorithm and code used on the wire.

No module writes a bare ``4`` or ``-7``: it names the member here. Error messages
name both, e.g. ``exp(4)``, via :func:`label_name`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

__all__ = [
    "BeneficiaryLabel",
    "BundleLabel",
    "CardLabel",
    "CnfLabel",
    "ContextLabel",
    "CoseAlg",
    "CoseCurve",
    "CoseHeader",
    "CoseKeyLabel",
    "CoseKeyType",
    "CoseTag",
    "CwtClaim",
    "DelegationLabel",
    "EvidenceChannel",
    "EvidenceLabel",
    "FciLabel",
    "Ins",
    "InsLabel",
    "InvoiceLabel",
    "Numbers",
    "PresentationLabel",
    "ProfessionalKind",
    "ProofLabel",
    "ReaderInfoLabel",
    "RequestDataLabel",
    "RequestLabel",
    "SessionMode",
    "StatementLabel",
    "StatusValue",
    "StatusWord",
    "TrustEntryLabel",
    "TrustListLabel",
    "label_name",
    "numbers",
]


class CoseTag(IntEnum):
    """CBOR tags that the profile allows (RFC 9052 section 2, RFC 8392 section 6)."""

    COSE_SIGN1 = 18
    CWT = 61


class CoseHeader(IntEnum):
    """COSE header parameters (RFC 9052 section 3.1, RFC 9360)."""

    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    PARTIAL_IV = 6
    TYP = 16
    X5CHAIN = 33


class CoseAlg(IntEnum):
    """COSE algorithms (RFC 9053). Only signature algorithms are listed."""

    ES256 = -7
    EDDSA = -8
    ES384 = -35
    ES512 = -36
    PS256 = -37
    HMAC_256_256 = 5  # listed so that an HMAC ``alg`` is named in errors, never accepted


class CoseKeyLabel(IntEnum):
    """COSE_Key common and EC2/OKP parameters (RFC 9052 section 7, RFC 9053 section 7)."""

    KTY = 1
    KID = 2
    ALG = 3
    KEY_OPS = 4
    CRV = -1
    X = -2
    Y = -3
    D = -4


class CoseKeyType(IntEnum):
    """COSE key types."""

    OKP = 1
    EC2 = 2
    SYMMETRIC = 4


class CoseCurve(IntEnum):
    """COSE elliptic curves."""

    P256 = 1
    P384 = 2
    P521 = 3
    ED25519 = 6


class CwtClaim(IntEnum):
    """CWT claims (RFC 8392, RFC 8747, Token Status List) and the private card claims.

    Private-use claim keys are below -65536 (RFC 8392 section 9.1).
    """

    ISS = 1
    SUB = 2
    AUD = 3
    EXP = 4
    NBF = 5
    IAT = 6
    CTI = 7
    CNF = 8
    STATUS_LIST = 65533
    TTL = 65534
    #: The Token Status List reference claim. Protocol 1 credentials carry their
    #: compact reference in the card map instead (``CardLabel.STATUS``); the member
    #: stays so that errors name the label.
    STATUS = 65535
    CARD = -65537
    DELEGATION = -65538
    #: The issuer-scoped number of a status list, in its Status List Token.
    LIST = -65539


class CnfLabel(IntEnum):
    """Confirmation methods (RFC 8747 section 3.1)."""

    COSE_KEY = 1


class CardLabel(IntEnum):
    """Keys of the card map held under ``card(-65537)``."""

    NIR = 1
    ORGANISME = 2
    SERIAL = 3
    ISSUED = 4
    BENEFICIARY = 5
    INDEX = 6
    #: The credential's status reference ``[list, idx]`` (credential.md section 3.6).
    STATUS = 7


class BeneficiaryLabel(IntEnum):
    """Keys of one beneficiary (the insured or a dependant)."""

    FAMILY_NAME = 1
    GIVEN_NAMES = 2
    BIRTH_DATE = 3
    BIRTH_RANK = 4
    QUALITE = 5
    AMO = 6
    EXONERATIONS = 7
    CSS = 8
    AMC = 9
    NIR = 10
    INS = 11


class InsLabel(IntEnum):
    """Keys of a beneficiary's INS map; every key is omitted when derivable."""

    MATRICULE = 1
    BIRTH_NAME = 2
    BIRTH_GIVEN_NAMES = 3
    BIRTH_PLACE = 4
    #: The birth given names that follow the given names, when these start them.
    MORE_GIVEN_NAMES = 5


class DelegationLabel(IntEnum):
    """Keys of the ``delegation(-65538)`` claim."""

    DELEGATOR = 1
    DELEGATE = 2
    SCOPE = 3


class PresentationLabel(IntEnum):
    """Keys of the device-signed presentation payload."""

    CREDENTIAL = 1
    IAT = 2
    TTL = 3
    NONCE = 4
    AUDIENCE = 5
    TRANSCRIPT = 6


def label_name(enum: type[IntEnum], value: object) -> str:
    """Render ``value`` as ``name(value)`` when it is a member of ``enum``."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return f"{enum(value).name.lower()}({value})"
        except ValueError:
            return f"({value})"
    return repr(value)


class Numbers:
    """The members of an ``IntEnum`` as plain ``int`` attributes: ``numbers(E).X == E.X``.

    On CPython 3.11 every attribute read on an enum class goes through the enum
    metaclass's ``__getattr__`` hook and costs about 150 ns, eight times an instance
    attribute. Decoders read dozens of labels per verification: they read them here.
    The values are the members' own, so dictionary lookups, comparisons and
    :func:`label_name` behave exactly as with the members.
    """

    def __init__(self, enum: type[IntEnum]) -> None:
        # Filled through __dict__: __setattr__ refuses every assignment.
        self.__dict__.update((member.name, int(member)) for member in enum)

    if TYPE_CHECKING:
        # For the type checker only: a Python-level __getattr__ would slow every read.
        def __getattr__(self, name: str) -> int: ...

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Numbers are read-only")


def numbers(enum: type[IntEnum]) -> Numbers:
    """The plain-``int`` view of ``enum`` (see :class:`Numbers`)."""
    return Numbers(enum)


class ProofLabel(IntEnum):
    """Keys of the device-key proof of possession signed at enrolment."""

    CONTEXT = 1
    NONCE = 2
    KEY = 3
    IAT = 4


class BundleLabel(IntEnum):
    """Keys of the holder's credential bundle file."""

    VERSION = 1
    CREDENTIALS = 2


class TrustListLabel(IntEnum):
    """Keys of a trust list payload."""

    SEQ = 1
    ISSUED_AT = 2
    NEXT_UPDATE = 3
    ENTRIES = 4
    WITHDRAWN_KEYS = 5


class TrustEntryLabel(IntEnum):
    """Keys of one trust list entry."""

    KID = 1
    KEY = 2
    CERTIFICATE = 3
    ALGS = 4
    USAGES = 5
    NOT_BEFORE = 6
    NOT_AFTER = 7
    NAME = 8


class StatementLabel(IntEnum):
    """Keys of a signed statement payload."""

    IAT = 1
    SERIAL = 2
    HOLDER = 3
    INVOICES = 4


class InvoiceLabel(IntEnum):
    """Keys of one invoice summary."""

    DAY = 1
    KIND = 2
    BILLED = 3
    REIMBURSED = 4
    BENEFICIARY = 5


# --- NFC ----------------------------------------------------------------------


class FciLabel(IntEnum):
    """Labels of the FCI map returned to SELECT."""

    VERSION = 1
    MAX_COMMAND = 2  # largest command data field per APDU the holder accepts
    MAX_RESPONSE = 3  # largest response data field per APDU the holder sends
    EXTENDED_LENGTH = 4  # bool: extended Lc/Le accepted
    ALGORITHMS = 5  # COSE algorithms of the device signature
    SESSION_MODES = 6  # SessionMode values offered, preferred first
    HOLDER_KEY = 7  # EDeviceKey, SEC1 uncompressed point (iff ECDH is offered)


class ReaderInfoLabel(IntEnum):
    """Labels of ReaderInfo, the plaintext half of the request (it enters the transcript)."""

    VERSION = 1
    NONCE = 2
    MODE = 3
    READER_KEY = 4  # EReaderKey, SEC1 uncompressed point (iff mode is ECDH)
    CONTEXT = 5  # ContextLabel map: the professional and the invoice (optional)


class ContextLabel(IntEnum):
    """Labels of a request context: whom and what the holder's signature is for.

    Carried in ReaderInfo (``context(5)``), so that it enters the session transcript
    the device signature covers (``spec/nfc.md`` section 5, ``spec/evidence.md``).
    """

    PROFESSIONAL = 1  # tstr: the professional's national identifier
    INVOICE = 2  # bstr: the invoice's reference (its digest or its identifier)


class RequestLabel(IntEnum):
    """Labels of the request map (command data of PRESENTATION REQUEST)."""

    READER_INFO = 1  # bstr .cbor ReaderInfo
    DATA = 2  # bstr: RequestData, encrypted under SKReader in ECDH mode


class RequestDataLabel(IntEnum):
    """Labels of RequestData."""

    BENEFICIARY_HINT = 1  # the beneficiary index the professional picked


class SessionMode(IntEnum):
    """How the request data and the response are protected."""

    PLAINTEXT = 0
    ECDH_P256_A256GCM = 1


# --- evidence of presence -----------------------------------------------------


class EvidenceLabel(IntEnum):
    """Keys of an evidence record (``spec/evidence.md`` section 2)."""

    CHANNEL = 1  # EvidenceChannel
    PRESENTATION = 2  # bstr: the presentation exactly as received (decrypted over NFC)
    FCI = 3  # bstr: the holder's FCI as received (NFC only)
    READER_INFO = 4  # bstr: the ReaderInfo as sent (NFC only)
    READ_AT = 5  # uint: the reader's clock when it verified
    VERDICT = 6  # tstr: "ok" or the code of the reader's refusal
    PROFESSIONAL = 7  # tstr: the professional who billed
    INVOICE = 8  # bstr: the invoice's reference


class EvidenceChannel(IntEnum):
    """How the presentation reached the reader."""

    QR = 1
    NFC = 2


# --- Token Status List --------------------------------------------------------


class StatusValue(IntEnum):
    """Status Type values of a Token Status List (draft-ietf-oauth-status-list, 7.1)."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02
    #: Application specific; this profile gives it no meaning: undetermined.
    APPLICATION_SPECIFIC = 0x03


# --- statement ----------------------------------------------------------------


class ProfessionalKind(IntEnum):
    """Coarse category of the professional who billed (never a specialty)."""

    MEDECIN = 1
    PHARMACIE = 2
    DENTISTE = 3
    AUXILIAIRE = 4  # nurse, physiotherapist, speech therapist...
    LABORATOIRE = 5
    ETABLISSEMENT = 6  # hospital, clinic
    TRANSPORT = 7
    AUTRE = 9


# --- ISO 7816-4 ---------------------------------------------------------------


class StatusWord(IntEnum):
    """Status words (SW1-SW2) this library sends or interprets.

    ``BYTES_REMAINING`` and ``WRONG_LE`` are families (61xx, 6Cxx): build and
    read their SW2 with :func:`sw_bytes_remaining` / :func:`bytes_remaining_of`
    and :func:`sw_wrong_le` / :func:`wrong_le_of`.
    """

    OK = 0x9000
    BYTES_REMAINING = 0x6100
    END_OF_FILE = 0x6282
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    LAST_COMMAND_OF_CHAIN_EXPECTED = 0x6883
    COMMAND_CHAINING_NOT_SUPPORTED = 0x6884
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    SECURE_MESSAGING_DATA_INCORRECT = 0x6988
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    INCORRECT_DATA = 0x6A80
    FILE_NOT_FOUND = 0x6A82
    NOT_ENOUGH_MEMORY = 0x6A84
    INCORRECT_P1_P2 = 0x6A86
    WRONG_LE = 0x6C00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


class Ins(IntEnum):
    """Instruction bytes.

    The codec itself interprets only SELECT and GET RESPONSE. The application
    protocol adds its instructions in the marked block below, so that every
    INS value of the library lives in this one registry.
    """

    SELECT = 0xA4
    GET_RESPONSE = 0xC0
    # --- application protocol instructions ---
    # NFC presentation protocol (spec/nfc.md): proprietary class 80 (chained 90).
    PRESENTATION_REQUEST = 0x3A
    # --- end application protocol instructions ---
