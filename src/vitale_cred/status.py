"""Revocation and suspension with the IETF Token Status List, CWT form.

Follows draft-ietf-oauth-status-list ("Token Status List (TSL)"; section numbers
as in the working group's editor's copy of June 2026):

* section 4.1: the byte array. Each entry takes ``bits`` of 1, 2, 4 or 8 bits,
  packed from the least significant bit of byte 0 upwards (index 0 is the lowest
  ``bits`` of byte 0), then compressed with DEFLATE in the ZLIB format (RFC 1950);
* section 4.3: the CBOR ``StatusList`` map ``{"bits": uint, "lst": bstr,
  ? "aggregation_uri": tstr}``;
* section 5.2: the Status List Token, a tagged COSE_Sign1 (18) with the protected
  header ``typ(16)`` = ``"application/statuslist+cwt"`` (RFC 9596) and the claims
  ``sub(2)`` (the list's URI), ``iat(6)``, optional ``exp(4)`` and ``ttl(65534)``,
  and ``status_list(65533)``;
* section 6.3: the referenced token's ``status(65535)`` claim. Protocol 1 replaces it
  with a compact reference ``[list, idx]`` in the card map (``CardLabel.STATUS``):
  ``list`` is a number scoped to the issuer key, which the Status List Token states
  in its private claim ``list(-65539)``; the token must be signed by the same key as
  the credential (``spec/status.md`` section 3);
* section 7.1: status values 0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED, 0x03
  application specific;
* section 8.3: validation; an index out of the list's bounds MUST be rejected;
* section 13.7: ``exp`` is absolute, ``ttl`` counts from the moment of fetching.

Profile (stricter than the draft, so that every verifier reads a list alike):

* URIs are ``https://`` with a non-empty host, printable ASCII from the RFC 3986
  set, no fragment, at most :data:`MAX_URI_LENGTH` characters;
* list numbers and indices are unsigned integers below 2^32;
* the Status List Token carries only the claims above plus an ignored text
  ``iss(1)``; any other claim is refused; ``typ`` must be the media-type string
  (the numeric CoAP Content-Format is not accepted);
* the COSE envelope must be deterministically encoded; the claims map need not be
  (the draft's own examples order it ``2, 6, 4, 65534, 65533`` and put ``bits``
  before ``lst``). Duplicate keys are refused either way and the signature covers
  the bytes received, so the order carries no meaning;
* a list is expired from its ``exp(4)`` on, with no clock skew; an ``iat(6)`` more
  than ``clock.MAX_CLOCK_SKEW`` ahead of ``now`` is refused;
* the decompressed list is at most :data:`MAX_STATUS_LIST_BYTES` bytes and the
  token at most :data:`MAX_STATUS_TOKEN_BYTES`; every slot of the byte array is an
  entry (a list's size is its byte length times ``8 / bits``).

No network here: a :class:`StatusProvider` hands over token bytes by issuer key and
list number (the file-backed one is the only I/O), and time is the caller's ``now``
(POSIX seconds).
"""

from __future__ import annotations

import enum
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, final, runtime_checkable

from vitale_cred._schema import labelled_map, uint32
from vitale_cred._sealed import Sealed, sealed_factory
from vitale_cred.clock import MAX_CLOCK_SKEW, Clock, read_clock
from vitale_cred.errors import (
    InvalidArgument,
    Revoked,
    StatusIndexOutOfRange,
    StatusListExpired,
    StatusListInvalid,
    StatusListTooOld,
    StatusUndetermined,
    Suspended,
    UsageError,
    VerificationError,
    VitaleCredError,
)
from vitale_cred.hazmat import cbor as _cbor
from vitale_cred.hazmat.cose import Signer, decode_sign1, sign1
from vitale_cred.hazmat.deflate import inflate
from vitale_cred.model import StatusReference
from vitale_cred.registry import CoseHeader, CwtClaim, StatusValue
from vitale_cred.state import TrustState, status_list_iat_mark
from vitale_cred.trust import TrustStore, Usage, verify_typed

__all__ = [
    "MAX_PRODUCER_TTL",
    "MAX_STATUS_INDEX",
    "MAX_STATUS_LIST_BYTES",
    "MAX_STATUS_TOKEN_BYTES",
    "MAX_TOKEN_CLAIMS_DEPTH",
    "MAX_URI_LENGTH",
    "STATUS_LIST_TYP",
    "InMemoryStatusProvider",
    "StatusChecker",
    "StatusList",
    "StatusListLocator",
    "StatusPolicy",
    "StatusProvider",
    "StatusReference",
    "StatusResult",
    "StatusState",
    "StatusValue",
    "VerifiedStatusList",
    "issue_status_list",
    "peek_status_list",
    "verify_status_list",
]

#: Largest decompressed status list accepted (16 MiB): 134 M entries at 1 bit,
#: 67 M at 2 bits; a 60 M-card population at 2 bits needs 15 MB.
MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024
#: Largest Status List Token accepted: an incompressible list at the cap, plus room
#: for DEFLATE's stored-block overhead, the claims and the signature.
MAX_STATUS_TOKEN_BYTES = MAX_STATUS_LIST_BYTES + 64 * 1024
#: Longest status list URI accepted.
MAX_URI_LENGTH = 256
#: List numbers and indices are below 2^32.
MAX_LIST_ID = 2**32
#: Deepest nesting of a Status List Token's claims: the claims map, then the
#: ``status_list(65533)`` map inside it.
MAX_TOKEN_CLAIMS_DEPTH = 2
#: Indices (and so list sizes) stay below 2^32; the byte cap keeps a list far below.
MAX_STATUS_INDEX = 2**32 - 1
#: The ``typ(16)`` value of a Status List Token in CWT form (section 5.2).
STATUS_LIST_TYP = "application/statuslist+cwt"

# RFC 9596 ``typ`` COSE header parameter. Not (yet) in registry.CoseHeader.

_ALLOWED_BITS = frozenset({1, 2, 4, 8})
# bits -> (index shift to the byte, mask of the slot within the byte, shift from
# slot to bit offset): index i lives in byte i >> a, at bit (i & b) << c.
_LAYOUT: Mapping[int, tuple[int, int, int]] = {
    1: (3, 7, 0),
    2: (2, 3, 1),
    4: (1, 1, 2),
    8: (0, 0, 3),
}
_KEY_STATUS_LIST = "status_list"
_KEY_IDX = "idx"
_KEY_URI = "uri"
_KEY_BITS = "bits"
_KEY_LST = "lst"
_KEY_AGGREGATION_URI = "aggregation_uri"
_LIST_KEYS = frozenset({_KEY_BITS, _KEY_LST, _KEY_AGGREGATION_URI})
_TOKEN_CLAIMS = frozenset(
    {
        CwtClaim.ISS,
        CwtClaim.SUB,
        CwtClaim.IAT,
        CwtClaim.EXP,
        CwtClaim.TTL,
        CwtClaim.STATUS_LIST,
        CwtClaim.LIST,
    }
)
# RFC 3986 unreserved, reserved (minus "#": no fragment) and "%" of pct-encoding.
_URI_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*+,;=%"
)
_HTTPS = "https://"


# Indexed by value: a tuple lookup is several times cheaper than StatusValue(value).
_REGISTERED: tuple[StatusValue, ...] = tuple(StatusValue)


def _check_uri(value: object, error: type[VitaleCredError], what: str) -> str:
    if not isinstance(value, str):
        raise error(f"{what} must be a text string")
    if not 0 < len(value) <= MAX_URI_LENGTH:
        raise error(f"{what} must hold 1 to {MAX_URI_LENGTH} characters")
    if not value.startswith(_HTTPS):
        raise error(f"{what} must be an https:// URI")
    if not _URI_CHARS.issuperset(value):
        raise error(f"{what} holds characters outside the RFC 3986 profile")
    host = value[len(_HTTPS) :].split("/", 1)[0].split("?", 1)[0]
    if not host:
        raise error(f"{what} has no host")
    return value


def _check_uint(value: object, error: type[VitaleCredError], what: str) -> int:
    if type(value) is not int or value < 0:
        raise error(f"{what} must be an unsigned integer")
    return value


#: Longest ``ttl`` a producer writes (spec/status.md section 3): 31 days.
MAX_PRODUCER_TTL = 31 * 86_400


def _check_u32(value: object, error: type[VitaleCredError], what: str) -> int:
    return uint32(value, error, what)


# --- the byte array (section 4.1) ------------------------------------------------


class StatusList:
    """A status list: ``size`` entries of ``bits`` bits in a byte array.

    Mutable for the status issuer (:meth:`set`); the lists inside a
    :class:`VerifiedStatusList` are read-only. :meth:`get` is a shift and a mask.
    """

    __slots__ = (
        "_bit_shift",
        "_bits",
        "_byte_shift",
        "_data",
        "_read_only",
        "_size",
        "_slot_mask",
        "_value_mask",
    )

    _bits: int
    _size: int
    _data: bytearray
    _byte_shift: int
    _slot_mask: int
    _bit_shift: int
    _value_mask: int
    _read_only: bool

    def __init__(self, bits: int, size: int) -> None:
        """An all-VALID list of ``size`` entries (the draft's recommended default)."""
        if type(bits) is not int or bits not in _ALLOWED_BITS:
            raise InvalidArgument(f"bits must be 1, 2, 4 or 8, not {bits!r}")
        if type(size) is not int or not 1 <= size <= MAX_STATUS_INDEX + 1:
            # An empty list answers for no credential: verifiers refuse it (section 2).
            raise InvalidArgument(f"size must be an integer 1..2^32, not {size!r}")
        per_byte = 8 // bits
        length = -(-size // per_byte)
        if length > MAX_STATUS_LIST_BYTES:
            raise InvalidArgument(
                f"{size} entries of {bits} bits exceed the {MAX_STATUS_LIST_BYTES}-byte cap"
            )
        self._setup(bits, bytearray(length), size)

    def _setup(self, bits: int, data: bytearray, size: int) -> None:
        # Every index of a list is below 2^32: the byte cap keeps size <= 2^27.
        self._bits = bits
        self._data = data
        self._size = size
        self._byte_shift, self._slot_mask, self._bit_shift = _LAYOUT[bits]
        self._value_mask = (1 << bits) - 1
        self._read_only = False

    @classmethod
    def from_bytes(cls, data: bytes, bits: int) -> StatusList:
        """A list over an uncompressed byte array; every slot of it is an entry."""
        if type(bits) is not int or bits not in _ALLOWED_BITS:
            raise InvalidArgument(f"bits must be 1, 2, 4 or 8, not {bits!r}")
        if not isinstance(data, bytes | bytearray):
            raise InvalidArgument("status list data must be bytes")
        if not 1 <= len(data) <= MAX_STATUS_LIST_BYTES:
            raise InvalidArgument(
                f"status list of {len(data)} bytes: 1 to {MAX_STATUS_LIST_BYTES} bytes"
            )
        self = cls.__new__(cls)
        self._setup(bits, bytearray(data), len(data) * (8 // bits))
        return self

    @classmethod
    def from_compressed(
        cls, lst: bytes, bits: int, *, max_bytes: int = MAX_STATUS_LIST_BYTES
    ) -> StatusList:
        """Inflate exactly one zlib stream (RFC 1950) of at most ``max_bytes`` bytes.

        Raises ``status.list_invalid`` for a bad ``bits``, ``compression.invalid``
        for an invalid, truncated or trailing stream and ``compression.too_large``
        past the cap.
        """
        if type(bits) is not int or bits not in _ALLOWED_BITS:
            raise StatusListInvalid(f"bits must be 1, 2, 4 or 8, not {bits!r}")
        if not isinstance(lst, bytes | bytearray):
            raise InvalidArgument("lst must be bytes")
        if type(max_bytes) is not int or not 0 <= max_bytes <= MAX_STATUS_LIST_BYTES:
            raise InvalidArgument(f"max_bytes must be within 0..{MAX_STATUS_LIST_BYTES}")
        data = inflate(bytes(lst), max_bytes, "lst")
        if not data:
            raise StatusListInvalid("the list is empty: a status list has at least one entry")
        self = cls.__new__(cls)
        self._setup(bits, bytearray(data), len(data) * (8 // bits))
        return self

    @property
    def bits(self) -> int:
        """Bits per entry: 1, 2, 4 or 8."""
        return self._bits

    @property
    def size(self) -> int:
        """Number of entries (indices ``0 .. size - 1``)."""
        return self._size

    @property
    def read_only(self) -> bool:
        """True for the list of a :class:`VerifiedStatusList`."""
        return self._read_only

    def __len__(self) -> int:
        return self._size

    def get(self, idx: int) -> int:
        """The status value at ``idx``; ``status.index_out_of_range`` outside the list."""
        if type(idx) is not int or not 0 <= idx < self._size:
            raise StatusIndexOutOfRange(f"index {idx!r} is outside the list of {self._size}")
        return (
            self._data[idx >> self._byte_shift] >> ((idx & self._slot_mask) << self._bit_shift)
        ) & self._value_mask

    def set(self, idx: int, value: int) -> None:
        """Set the status value at ``idx`` (``StatusValue.VALID`` reinstates)."""
        if self._read_only:
            raise UsageError("this status list is read-only (it came from a verified token)")
        if type(idx) is not int or not 0 <= idx < self._size:
            raise InvalidArgument(f"index {idx!r} is outside the list of {self._size}")
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"status value must be an integer, not {value!r}")
        if not 0 <= value <= self._value_mask:
            raise InvalidArgument(f"status value {value} does not fit in {self._bits} bits")
        pos = idx >> self._byte_shift
        offset = (idx & self._slot_mask) << self._bit_shift
        self._data[pos] = (self._data[pos] & ~(self._value_mask << offset) & 0xFF) | (
            value << offset
        )

    def to_bytes(self) -> bytes:
        """The uncompressed byte array."""
        return bytes(self._data)

    def compressed(self) -> bytes:
        """The byte array as a zlib stream at level 9 (section 4.1 recommends the highest)."""
        return zlib.compress(self._data, 9)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return (self._bits, self._size, self._data) == (other._bits, other._size, other._data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        mode = ", read-only" if self._read_only else ""
        return f"StatusList(bits={self._bits}, size={self._size}{mode})"


# --- the credential's reference (section 6.3) ------------------------------------


# --- the Status List Token (section 5.2) -------------------------------------------


def issue_status_list(
    signer: Signer,
    *,
    kid: bytes,
    uri: str,
    list_id: int,
    status_list: StatusList,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    aggregation_uri: str | None = None,
) -> bytes:
    """Sign ``status_list`` into a Status List Token (tagged COSE_Sign1, CWT claims).

    ``kid`` must be the key that signs the credentials referencing this list, and
    ``list_id`` the number those credentials carry (``spec/status.md`` section 3).
    """
    if not isinstance(kid, bytes) or not kid:
        raise InvalidArgument("kid must be a non-empty byte string")
    if not isinstance(status_list, StatusList):
        raise InvalidArgument("status_list must be a StatusList")
    _check_uri(uri, InvalidArgument, "uri")
    _check_u32(list_id, InvalidArgument, "list_id")
    _check_uint(iat, InvalidArgument, "iat")
    claims: dict[int, Any] = {CwtClaim.SUB: uri, CwtClaim.IAT: iat, CwtClaim.LIST: list_id}
    if exp is not None:
        if _check_uint(exp, InvalidArgument, "exp") <= iat:
            raise InvalidArgument("exp must be after iat")
        claims[CwtClaim.EXP] = exp
    if ttl is not None:
        if not 1 <= _check_uint(ttl, InvalidArgument, "ttl") <= MAX_PRODUCER_TTL:
            raise InvalidArgument(f"ttl must be 1..{MAX_PRODUCER_TTL} seconds (31 days)")
        claims[CwtClaim.TTL] = ttl
    body: dict[str, Any] = {_KEY_BITS: status_list.bits, _KEY_LST: status_list.compressed()}
    if aggregation_uri is not None:
        body[_KEY_AGGREGATION_URI] = _check_uri(aggregation_uri, InvalidArgument, "aggregation_uri")
    claims[CwtClaim.STATUS_LIST] = body
    return sign1(
        _cbor.encode(claims),
        signer,
        kid=kid,
        protected={CoseHeader.TYP: STATUS_LIST_TYP},
    )


@final
class VerifiedStatusList(Sealed, producer="verify_status_list()"):
    """A Status List Token whose signature, signer usage, claims and list were checked.

    Only :func:`verify_status_list` creates one; it cannot be changed afterwards
    (sealed, :mod:`vitale_cred._sealed`).
    """

    __slots__ = ("_list", "aggregation_uri", "exp", "iat", "kid", "list_id", "ttl", "uri")

    uri: str
    list_id: int
    iat: int
    exp: int | None
    ttl: int | None
    aggregation_uri: str | None
    kid: bytes
    _list: StatusList

    # Compared by identity: its StatusList is unhashable, and two fetches of one list
    # are two results.
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @property
    def bits(self) -> int:
        """Bits per entry."""
        return self._list.bits

    @property
    def size(self) -> int:
        """Number of entries."""
        return self._list.size

    @property
    def status_list(self) -> StatusList:
        """The (read-only) list."""
        return self._list

    def status(self, idx: int) -> int:
        """The status value at ``idx`` (a :class:`StatusValue` member when registered).

        Raises ``status.index_out_of_range`` outside the list (section 8.3 step 6).
        """
        value = self._list.get(idx)
        return _REGISTERED[value] if value < len(_REGISTERED) else value

    def expired(self, now: int) -> bool:
        """True once ``exp`` is reached."""
        return self.exp is not None and now >= self.exp

    def __repr__(self) -> str:
        return (
            f"VerifiedStatusList(uri={self.uri!r}, list_id={self.list_id}, iat={self.iat}, "
            f"exp={self.exp}, ttl={self.ttl}, bits={self.bits}, size={self.size})"
        )


_new_verified_status_list = sealed_factory(VerifiedStatusList)


@dataclass(frozen=True, slots=True)
class StatusListLocator:
    """What a Status List Token says it is, read WITHOUT verification (for indexing)."""

    kid: bytes
    list_id: int
    uri: str


def peek_status_list(token: bytes) -> StatusListLocator:
    """The signer ``kid``, ``list(-65539)`` and ``sub(2)`` a token claims, unverified.

    For indexing tokens in a provider only; :func:`verify_status_list` checks them.
    """
    message = decode_sign1(token, max_size=MAX_STATUS_TOKEN_BYTES)
    kid = message.protected.get(CoseHeader.KID)
    if not isinstance(kid, bytes) or not kid:
        raise StatusListInvalid("a Status List Token needs a protected kid(4)")
    claims = _cbor.decode(
        message.payload,
        max_size=MAX_STATUS_TOKEN_BYTES,
        max_depth=MAX_TOKEN_CLAIMS_DEPTH,
        deterministic=False,
    )
    if not isinstance(claims, dict):
        raise StatusListInvalid("status list claims must be a map")
    return StatusListLocator(
        kid=kid,
        list_id=_check_u32(claims.get(CwtClaim.LIST), StatusListInvalid, "list(-65539)"),
        uri=_check_uri(claims.get(CwtClaim.SUB), StatusListInvalid, "sub(2)"),
    )


def verify_status_list(
    token: bytes,
    trust: TrustStore,
    *,
    clock: Clock,
    expected_uri: str | None = None,
    expected_kid: bytes | None = None,
    expected_list: int | None = None,
    max_bytes: int = MAX_STATUS_LIST_BYTES,
    max_token_bytes: int = MAX_STATUS_TOKEN_BYTES,
) -> VerifiedStatusList:
    """Verify a Status List Token at time ``now`` or raise a library error.

    Order: envelope (deterministic COSE_Sign1, tag 18), ``typ(16)``, signer resolved
    in ``trust`` for :attr:`Usage.STATUS_LIST` (a key trusted only for credentials is
    refused), signature with the trust store's algorithms, claims, then the list.
    ``sub(2)`` must equal ``expected_uri``, the signer's kid ``expected_kid`` and
    ``list(-65539)`` ``expected_list`` when given (``status.list_invalid``). A list
    whose ``exp(4)`` has passed raises ``status.list_expired``. The time is what
    ``clock`` tells.
    """
    return _verify_status_list(
        token,
        trust,
        now=read_clock(clock),
        expected_uri=expected_uri,
        expected_kid=expected_kid,
        expected_list=expected_list,
        max_bytes=max_bytes,
        max_token_bytes=max_token_bytes,
    )


def _verify_status_list(
    token: bytes,
    trust: TrustStore,
    *,
    now: int,
    expected_uri: str | None,
    expected_kid: bytes | None,
    expected_list: int | None,
    max_bytes: int,
    max_token_bytes: int,
) -> VerifiedStatusList:
    if expected_uri is not None:
        _check_uri(expected_uri, InvalidArgument, "expected_uri")
    message, key = verify_typed(
        token,
        trust,
        typ=STATUS_LIST_TYP,
        usage=Usage.STATUS_LIST,
        now=now,
        max_size=max_token_bytes,
        error=StatusListInvalid,
    )
    if expected_kid is not None and key.kid != expected_kid:
        # A list speaks only for the credentials its own signer issued.
        raise StatusListInvalid(
            f"status list signed by {key.kid.hex()}, not by the credential's issuer "
            f"{expected_kid.hex()}"
        )

    claims = _cbor.decode(
        message.payload,
        max_size=max_token_bytes,
        max_depth=MAX_TOKEN_CLAIMS_DEPTH,
        deterministic=False,
    )
    labelled_map(
        claims,
        "the claims of a Status List Token",
        known=_TOKEN_CLAIMS,
        labels=CwtClaim,
        error=StatusListInvalid,
    )
    if CwtClaim.ISS in claims and not isinstance(claims[CwtClaim.ISS], str):
        raise StatusListInvalid("iss(1) must be a text string")
    if CwtClaim.SUB not in claims:
        raise StatusListInvalid("sub(2) is required")
    uri = _check_uri(claims[CwtClaim.SUB], StatusListInvalid, "sub(2)")
    if expected_uri is not None and uri != expected_uri:
        raise StatusListInvalid(f"sub(2) {uri!r} is not the referenced {expected_uri!r}")
    if CwtClaim.LIST not in claims:
        raise StatusListInvalid("list(-65539) is required")
    list_id = _check_u32(claims[CwtClaim.LIST], StatusListInvalid, "list(-65539)")
    if expected_list is not None and list_id != expected_list:
        raise StatusListInvalid(f"list(-65539) {list_id} is not the referenced {expected_list}")
    if CwtClaim.IAT not in claims:
        raise StatusListInvalid("iat(6) is required")
    iat = _check_uint(claims[CwtClaim.IAT], StatusListInvalid, "iat(6)")
    exp = claims.get(CwtClaim.EXP)
    if exp is not None and _check_uint(exp, StatusListInvalid, "exp(4)") <= iat:
        raise StatusListInvalid("exp(4) must be after iat(6)")
    ttl = claims.get(CwtClaim.TTL)
    if ttl is not None and _check_uint(ttl, StatusListInvalid, "ttl(65534)") == 0:
        raise StatusListInvalid("ttl(65534) must be positive")
    body = claims.get(CwtClaim.STATUS_LIST)
    if not isinstance(body, dict):
        raise StatusListInvalid("status_list(65533) must be a map")
    if not _LIST_KEYS.issuperset(body) or _KEY_BITS not in body or _KEY_LST not in body:
        raise StatusListInvalid(
            'status_list(65533) must hold "bits", "lst" and at most "aggregation_uri"'
        )
    bits = body[_KEY_BITS]
    if type(bits) is not int or bits not in _ALLOWED_BITS:
        raise StatusListInvalid(f'"bits" must be 1, 2, 4 or 8, not {bits!r}')
    lst = body[_KEY_LST]
    if not isinstance(lst, bytes):
        raise StatusListInvalid('"lst" must be a byte string')
    aggregation_uri = body.get(_KEY_AGGREGATION_URI)
    if aggregation_uri is not None:
        _check_uri(aggregation_uri, StatusListInvalid, '"aggregation_uri"')
    # Time comes after every claim is known to be well formed (spec/status.md section 3),
    # and before the list is inflated: an expired list costs no decompression.
    if iat > now + MAX_CLOCK_SKEW:
        raise StatusListInvalid(f"iat(6) {iat} is in the future (now {now})")
    if exp is not None and now >= exp:
        raise StatusListExpired(f"status list {uri} expired at {exp} (now {now})")
    status_list = StatusList.from_compressed(lst, bits, max_bytes=max_bytes)
    status_list._read_only = True
    return _new_verified_status_list(
        uri=uri,
        list_id=list_id,
        iat=iat,
        exp=exp,
        ttl=ttl,
        aggregation_uri=aggregation_uri,
        kid=key.kid,
        _list=status_list,
    )


# --- providers: where token bytes come from ----------------------------------------


@runtime_checkable
class StatusProvider(Protocol):
    """Hands over the Status List Token number ``list_id`` of the issuer key ``kid``.

    Returns ``None`` when no token can be obtained; raises nothing else. Network
    adapters live outside the library.
    """

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        """The token bytes, or None."""
        ...


class InMemoryStatusProvider:
    """Tokens held in memory (tests, a reader fed by a sync job, a holder's cache).

    Tokens are indexed by the signer ``kid`` and ``list(-65539)`` they claim, read
    without verification: the checker verifies whatever it is handed.
    """

    __slots__ = ("_lock", "_tokens")

    def __init__(self, tokens: Iterable[bytes] = ()) -> None:
        self._tokens: dict[tuple[bytes, int], bytes] = {}
        self._lock = threading.Lock()
        for token in tokens:
            self.publish(token)

    def publish(self, token: bytes) -> StatusListLocator:
        """Serve ``token`` under what it claims to be (replacing the previous one)."""
        if not isinstance(token, bytes):
            raise InvalidArgument("token must be bytes")
        locator = peek_status_list(token)
        with self._lock:
            self._tokens[(locator.kid, locator.list_id)] = token
        return locator

    def withdraw(self, kid: bytes, list_id: int) -> None:
        """Stop serving that list."""
        with self._lock:
            self._tokens.pop((kid, list_id), None)

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        return self._tokens.get((kid, list_id))

    def __repr__(self) -> str:
        return f"InMemoryStatusProvider({len(self._tokens)} lists)"


# --- checking a credential's status ------------------------------------------------


class StatusState(enum.Enum):
    """What a status check concluded.

    :meth:`StatusChecker.check` raises REVOKED and SUSPENDED as errors; it returns
    VALID, or UNDETERMINED under the "accept" policy.
    """

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    UNDETERMINED = "undetermined"


@dataclass(frozen=True, slots=True)
class StatusResult:
    """The outcome of :meth:`StatusChecker.check`, with why.

    ``code`` is the error code that made the status undetermined, if one did.
    """

    state: StatusState
    reason: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class StatusPolicy:
    """How a :class:`StatusChecker` treats missing, stale or unusable lists.

    ``on_undetermined``: ``"reject"`` raises ``status.undetermined``; ``"accept"``
    returns an UNDETERMINED result for the caller to act on. Never VALID.

    ``max_age``: once a cached list's ``ttl`` has passed and no fresh copy can be
    obtained, the cached list is still used while it is at most ``max_age``
    seconds old (counted from its fetch), and never past its ``exp``. 0: never.

    ``max_list_age``: a list is never used from ``iat + max_list_age`` on, whether
    it has an ``exp`` or not, cached or seen for the first time
    (``status.list_too_old``, which makes the status undetermined). Counted from
    the signed ``iat``, not from the fetch, so a restart or a new checker does not
    reset it. Default 7 days (:data:`StatusPolicy.DEFAULT_MAX_LIST_AGE`).
    """

    #: A week: revocation must reach readers within hours (spec/status.md), so a
    #: week-old list means a broken channel, and a reader must not keep reading an
    #: all-valid list for longer than that whatever the list's own ``exp``.
    DEFAULT_MAX_LIST_AGE: ClassVar[int] = 7 * 86_400

    on_undetermined: Literal["reject", "accept"] = "reject"
    max_age: int = 0
    max_list_age: int = DEFAULT_MAX_LIST_AGE

    def __post_init__(self) -> None:
        if self.on_undetermined not in ("reject", "accept"):
            raise InvalidArgument('on_undetermined must be "reject" or "accept"')
        if type(self.max_age) is not int or self.max_age < 0:
            raise InvalidArgument("max_age must be a non-negative integer of seconds")
        if type(self.max_list_age) is not int or self.max_list_age <= 0:
            raise InvalidArgument("max_list_age must be a positive integer of seconds")


@dataclass(frozen=True, slots=True)
class _Cached:
    verified: VerifiedStatusList
    fetched_at: int
    refresh_at: int


class StatusChecker:
    """Checks credentials against status lists, caching each verified list.

    A list is reused until ``min(fetch time + ttl, exp)``; without ``ttl`` until
    ``exp``; without either it is fetched again on every check (section 13.7); never
    from ``iat + policy.max_list_age`` on. A refreshed list older (``iat``) than the
    cached one is refused as a replay; with a ``state``, older than the last list
    accepted for that (issuer key, list) by any checker sharing the state, before a
    restart included.
    """

    __slots__ = ("_cache", "_lock", "_max_bytes", "_policy", "_provider", "_state", "_trust")

    def __init__(
        self,
        provider: StatusProvider,
        trust: TrustStore,
        *,
        policy: StatusPolicy,
        max_bytes: int = MAX_STATUS_LIST_BYTES,
        state: TrustState | None = None,
    ) -> None:
        if not isinstance(policy, StatusPolicy):
            raise InvalidArgument("policy must be a StatusPolicy")
        if state is not None and not isinstance(state, TrustState):
            raise InvalidArgument("state must be a TrustState")
        self._state = state
        self._provider = provider
        self._trust = trust
        self._policy = policy
        self._max_bytes = max_bytes
        self._cache: dict[tuple[bytes, int], _Cached] = {}
        self._lock = threading.Lock()

    @property
    def policy(self) -> StatusPolicy:
        """The policy in force."""
        return self._policy

    def forget(self, kid: bytes | None = None, list_id: int | None = None) -> None:
        """Drop the cached list ``list_id`` of ``kid`` (every list when both are None)."""
        with self._lock:
            if kid is None:
                self._cache.clear()
            elif list_id is None:
                for key in [k for k in self._cache if k[0] == kid]:
                    del self._cache[key]
            else:
                self._cache.pop((kid, list_id), None)

    def check(self, ref: StatusReference, now: int, *, issuer_kid: bytes) -> StatusResult:
        """The status of ``ref``, in a credential signed by ``issuer_kid``, at ``now``.

        Returns VALID; raises ``status.revoked`` or ``status.suspended``; raises
        ``status.index_out_of_range`` whatever the policy (section 8.3 step 6). When
        no fresh, trusted list of that issuer key is at hand, or the value has no
        meaning here, raises ``status.undetermined`` under "reject" and returns
        UNDETERMINED under "accept".
        """
        if not isinstance(ref, StatusReference):
            raise InvalidArgument("ref must be a StatusReference")
        if type(now) is not int:
            raise InvalidArgument("now must be POSIX seconds (int)")
        if not isinstance(issuer_kid, bytes) or not issuer_kid:
            raise InvalidArgument("issuer_kid must be a non-empty byte string")
        key = (issuer_kid, ref.list_id)
        name = f"list {ref.list_id} of issuer {issuer_kid.hex()}"
        cached = self._cache.get(key)
        source = "list"
        if cached is None or now >= cached.refresh_at:
            refreshed, failure = self._refresh(key, now, cached)
            if refreshed is not None:
                cached = refreshed
            elif cached is not None and self._usable_when_stale(cached, now):
                source = f"stale list fetched at {cached.fetched_at} (within max_age)"
            else:
                return self._undetermined(self._explain(name, now, cached, failure), failure)
        value = cached.verified.status(ref.idx)
        if value == StatusValue.VALID:
            return StatusResult(StatusState.VALID, f"{name} #{ref.idx} is VALID in the {source}")
        if value == StatusValue.INVALID:
            raise Revoked(f"{name} #{ref.idx} is INVALID (revoked)")
        if value == StatusValue.SUSPENDED:
            raise Suspended(f"{name} #{ref.idx} is SUSPENDED")
        return self._undetermined(
            f"{name} #{ref.idx} has status value {value}, which has no meaning here", None
        )

    def _refresh(
        self, key: tuple[bytes, int], now: int, cached: _Cached | None
    ) -> tuple[_Cached | None, VitaleCredError | None]:
        kid, list_id = key
        token = self._provider.fetch(kid, list_id)
        if token is None:
            return None, None
        try:
            verified = _verify_status_list(
                token,
                self._trust,
                now=now,
                expected_uri=None,
                expected_kid=kid,
                expected_list=list_id,
                max_bytes=self._max_bytes,
                max_token_bytes=MAX_STATUS_TOKEN_BYTES,
            )
        except VerificationError as exc:
            return None, exc
        # The age ceiling is checked on first sight too: a checker with nothing cached
        # (new, or restarted) must not accept an old all-valid list that has no exp.
        too_old_at = verified.iat + self._policy.max_list_age
        if now >= too_old_at:
            return None, StatusListTooOld(
                f"status list iat(6) {verified.iat} is {now - verified.iat} s old: the "
                f"policy's max_list_age is {self._policy.max_list_age} s"
            )
        if cached is not None and verified.iat < cached.verified.iat:
            return None, StatusListInvalid(
                f"fetched list iat(6) {verified.iat} is older than the cached "
                f"{cached.verified.iat}: a replay"
            )
        if self._state is not None:
            try:
                before = self._state.raise_marks({status_list_iat_mark(kid, list_id): verified.iat})
            except VitaleCredError as exc:
                # A store that cannot say what was accepted before cannot rule out a
                # replay: the status is undetermined, with the store's error as cause.
                return None, exc
            held = next(iter(before.values()))
            if held is not None and verified.iat < held:
                return None, StatusListInvalid(
                    f"fetched list iat(6) {verified.iat} is older than the last accepted "
                    f"{held} (recorded state): a replay"
                )
        if verified.ttl is not None:
            refresh_at = now + verified.ttl
            if verified.exp is not None:
                refresh_at = min(refresh_at, verified.exp)
        else:
            refresh_at = verified.exp if verified.exp is not None else now
        entry = _Cached(verified, now, min(refresh_at, too_old_at))
        with self._lock:
            self._cache[key] = entry
        return entry, None

    def _usable_when_stale(self, cached: _Cached, now: int) -> bool:
        return (
            now - cached.fetched_at <= self._policy.max_age
            and not cached.verified.expired(now)
            and not self._too_old(cached, now)
        )

    def _too_old(self, cached: _Cached, now: int) -> bool:
        return now >= cached.verified.iat + self._policy.max_list_age

    def _explain(
        self, name: str, now: int, cached: _Cached | None, failure: VitaleCredError | None
    ) -> str:
        why = f"fetching failed: {failure}" if failure is not None else "no list is published"
        if cached is None:
            return f"no usable status list for {name} ({why})"
        if cached.verified.expired(now):
            return f"the cached {name} expired at {cached.verified.exp} ({why})"
        if self._too_old(cached, now):
            return (
                f"the cached {name} (iat {cached.verified.iat}) is older than the policy's "
                f"max_list_age of {self._policy.max_list_age} s ({why})"
            )
        return (
            f"the cached {name} is stale (fetched at {cached.fetched_at}, "
            f"refresh due at {cached.refresh_at}) ({why})"
        )

    def undetermined(self, reason: str) -> StatusResult:
        """What the policy says about a status that cannot be known (e.g. no reference)."""
        return self._undetermined(reason, None)

    def _undetermined(self, reason: str, cause: VitaleCredError | None) -> StatusResult:
        code = cause.code if cause is not None else StatusUndetermined.code
        if self._policy.on_undetermined == "reject":
            raise StatusUndetermined(reason) from cause
        return StatusResult(StatusState.UNDETERMINED, reason, code)

    def __repr__(self) -> str:
        return f"StatusChecker({self._provider!r}, policy={self._policy!r})"
