"""A deterministic world for the fuzz harnesses and the corpus builder.

Every key is derived from a fixed label, every nonce and ephemeral key from a
counter-mode SHA-256 stream, and every ECDSA signature is deterministic (RFC 6979),
so ``make_corpus.py`` writes the same tokens on every run (only the X.509
certificates, whose signatures cryptography randomises, differ between runs).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from vitale_cred.clock import FixedClock
from vitale_cred.credential import CredentialBundle, Issuer
from vitale_cred.device import ProvenDeviceKey, SoftwareDeviceKey
from vitale_cred.errors import VitaleCredError
from vitale_cred.hazmat import cose
from vitale_cred.nfc import EncryptionPolicy, HolderSession, ReaderSession, SeenNonces
from vitale_cred.pki import kid_for_certificate, make_issuer_certificate, make_root_certificate
from vitale_cred.registry import CoseAlg
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusValue,
    issue_status_list,
)
from vitale_cred.trust import TrustStore, Usage, raw_key
from vitale_cred.trustlist import TrustList, TrustListEntry, sign_trust_list
from vitale_cred.verify import Policy, Verifier

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # The harnesses run as scripts from fuzz/: the shared world lives in tests/.
    sys.path.insert(0, str(ROOT))

from tests._world import NOW, T0, drbg, family5, fixed_key  # noqa: E402

STATUS_URI = "https://status.example.test/lists/1"
#: The number the issuer gives its status list (credentials carry [STATUS_LIST, idx]).
STATUS_LIST = 1
#: A key trusted for status lists only: it signs the credentials of no issuer.
STATUS_KID = b"status-1"
#: Label of the issuer's fixed key, which signs the credentials and their status list.
ISSUER_KEY_LABEL = "fuzz issuer"
AUTHORITY_KID = b"trust-authority"
RAW_ISSUER_KID = b"raw-issuer"
T = TypeVar("T")


@dataclass
class FuzzWorld:
    """Issuer PKI, a family5 bundle bound to a device key, lists and the verifier's trust."""

    clock: FixedClock
    device: SoftwareDeviceKey
    issuer: Issuer
    bundle: CredentialBundle
    raw_bundle: CredentialBundle
    trust: TrustStore
    authority: TrustStore
    status_token: bytes
    trust_list: bytes
    status_provider: InMemoryStatusProvider
    issuer_kid: bytes

    def verifier(self, **policy: object) -> Verifier:
        """A verifier at NOW with a status checker over the published list."""
        checker = StatusChecker(self.status_provider, self.trust, policy=StatusPolicy())
        options: dict[str, object] = {"status": checker}
        options.update(policy)
        return Verifier(Policy(trust=self.trust, clock=self.clock, **options))  # type: ignore[arg-type]


_sign = x509.CertificateBuilder.sign


def _deterministic_sign(
    self: x509.CertificateBuilder, key: Any, algorithm: Any, *args: Any, **kwargs: Any
) -> x509.Certificate:
    """CertificateBuilder.sign with RFC 6979 ECDSA, so certificates (and kids) repeat."""
    kwargs.setdefault("ecdsa_deterministic", True)
    return _sign(self, key, algorithm, *args, **kwargs)


def build() -> FuzzWorld:
    clock = FixedClock(NOW)
    issue_clock = FixedClock(T0 + dt.timedelta(days=1))
    root_key = fixed_key("fuzz root")
    issuer_key = fixed_key(ISSUER_KEY_LABEL)
    with mock.patch.object(x509.CertificateBuilder, "sign", _deterministic_sign):
        root = make_root_certificate(root_key, "Fuzz root", T0, T0 + dt.timedelta(days=3650))
        cert = make_issuer_certificate(
            issuer_key.public_key(), "Fuzz issuer", root_key, root, T0, T0 + dt.timedelta(days=730)
        )
    device = SoftwareDeviceKey(fixed_key("fuzz device"))
    card = family5()
    refs = [StatusReference(STATUS_LIST, i) for i in range(len(card.beneficiaries))]
    issuer_kid = kid_for_certificate(cert)
    issuer = Issuer(
        cose.SoftwareSigner(issuer_key),
        kid=issuer_kid,
        clock=issue_clock,
        x5chain=[cert],
    )
    proven = ProvenDeviceKey.unsafe_without_proof(device.cose_key())
    bundle = issuer.issue(card, proven, valid_days=365, status=refs)
    raw_signer = cose.SoftwareSigner(fixed_key("fuzz raw issuer"))
    raw_issuer = Issuer(raw_signer, kid=RAW_ISSUER_KID, clock=issue_clock)
    raw_bundle = raw_issuer.issue(card, proven, valid_days=365)

    status_signer = cose.SoftwareSigner(fixed_key("fuzz status"))
    status_list = StatusList(2, 64)
    status_list.set(3, StatusValue.INVALID)
    status_list.set(4, StatusValue.SUSPENDED)
    # The list speaks for the credentials only when their issuer key signs it.
    status_token = issue_status_list(
        cose.SoftwareSigner(issuer_key),
        kid=issuer_kid,
        uri=STATUS_URI,
        list_id=STATUS_LIST,
        status_list=status_list,
        iat=NOW - 3600,
        exp=NOW + 86_400,
        ttl=43_200,
    )
    trust = TrustStore(
        roots=[root],
        certificates=[cert],
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(status_signer.public_key()),
                STATUS_KID,
                usages=[Usage.STATUS_LIST],
            ),
            raw_key(cose.CoseKey.from_public_key(raw_signer.public_key()), RAW_ISSUER_KID),
        ],
    )
    provider = InMemoryStatusProvider([status_token])

    authority_signer = cose.SoftwareSigner(fixed_key("fuzz trust authority"))
    authority = TrustStore(
        keys=[
            raw_key(
                cose.CoseKey.from_public_key(authority_signer.public_key()),
                AUTHORITY_KID,
                usages=[Usage.TRUST_LIST],
            )
        ]
    )
    entries = (
        TrustListEntry(
            kid=RAW_ISSUER_KID,
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL}),
            key=cose.CoseKey.from_public_key(raw_signer.public_key()),
            not_before=NOW - 86_400,
            not_after=NOW + 365 * 86_400,
            name="raw issuer",
        ),
        TrustListEntry(
            kid=kid_for_certificate(cert),
            algs=frozenset({CoseAlg.ES256}),
            usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
            certificate=cert.public_bytes(Encoding.DER),
        ),
    )
    trust_list = sign_trust_list(
        TrustList(seq=7, issued_at=NOW - 60, next_update=NOW + 86_400, entries=entries),
        authority_signer,
        kid=AUTHORITY_KID,
    )
    return FuzzWorld(
        clock,
        device,
        issuer,
        bundle,
        raw_bundle,
        trust,
        authority,
        status_token,
        trust_list,
        provider,
        issuer_kid,
    )


# --- framing of multi-message inputs (APDU sequences) --------------------------------

MAX_MESSAGES = 64


def frame(messages: list[bytes]) -> bytes:
    """Concatenate messages, each behind a 2-byte big-endian length."""
    return b"".join(len(m).to_bytes(2, "big") + m for m in messages)


def unframe(data: bytes) -> list[bytes]:
    """Inverse of :func:`frame`; a short last message is kept as it is."""
    out: list[bytes] = []
    pos = 0
    while pos + 2 <= len(data) and len(out) < MAX_MESSAGES:
        size = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        out.append(data[pos : pos + size])
        pos += size
    return out


# --- NFC sessions with reproducible randomness ----------------------------------------


def _choose(hint: int | None, available: tuple[int, ...]) -> int | None:
    return hint if hint in available else available[0]


def holder(world: FuzzWorld, config: int, credentials: dict[int, bytes]) -> HolderSession:
    """A holder session; ``config`` bit 0: short APDUs only, bit 1: plaintext allowed."""
    encryption = (
        EncryptionPolicy.UNSAFE_PLAINTEXT_ALLOWED if config & 2 else EncryptionPolicy.REQUIRED
    )
    return HolderSession(
        credentials,
        world.device,
        clock=world.clock,
        gate=lambda: True,
        chooser=_choose,
        encryption=encryption,
        extended_length=not config & 1,
        rng=drbg("fuzz holder"),
        seen_nonces=SeenNonces(),
    )


def reader(verifier: Verifier, config: int) -> ReaderSession:
    """A reader session; ``config`` bit 0: short APDUs only, bit 1: plaintext only,
    bits 2-4: beneficiary hint."""
    encryption = EncryptionPolicy.UNSAFE_PLAINTEXT_ONLY if config & 2 else EncryptionPolicy.REQUIRED
    return ReaderSession(
        verifier,
        beneficiary_hint=(config >> 2) & 7,
        encryption=encryption,
        extended_length=not config & 1,
        rng=drbg("fuzz reader"),
    )


def holder_config_for(reader_config: int) -> int:
    """The holder configuration that a reader configuration talks to successfully."""
    return reader_config & 3


# --- what counts as an unexpected exception ------------------------------------------

#: Reported library bugs the harnesses step over until they are fixed, so that the
#: fuzzer keeps looking for new ones. ``VITALE_FUZZ_STRICT=1`` turns them into crashes.
#: Each entry: (exception type name, function in the traceback, its file, description).
KNOWN_BUGS: tuple[tuple[str, str, str, str], ...] = (
    # Found by these harnesses and fixed since; kept as models of an entry:
    # ("ValueError", "check_issuer_profile", "trust.py", "cryptography errors escape"),
    # ("ValueError", "_validated", "trust.py", "the path verifier's ValueError escapes"),
    # ("KeyError", "_validate_path", "trust.py", "KeyError(27) escapes Certificate.issuer"),
    # ("InvalidVersion", "_validate_path", "trust.py", "version 4 certificate in x5chain"),
    # ("InvalidVersion", "trusted_key", "trustlist.py", "version 4 certificate in a list"),
)
_reported: set[str] = set()


def known_bug(exc: BaseException) -> str | None:
    """The description of the known bug ``exc`` comes from, or None."""
    if os.environ.get("VITALE_FUZZ_STRICT") or isinstance(exc, VitaleCredError):
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    for type_name, function, filename, description in KNOWN_BUGS:
        if type(exc).__name__ != type_name:
            continue
        if any(f.name == function and f.filename.endswith(filename) for f in frames):
            if description not in _reported:
                _reported.add(description)
                print(f"KNOWN BUG reached ({type(exc).__name__}): {description}", file=sys.stderr)
            return description
    return None


def call(
    expected: type[BaseException] | tuple[type[BaseException], ...],
    function: Callable[..., T],
    *args: object,
    **kwargs: object,
) -> T | None:
    """``function(*args, **kwargs)``, or None if it raised an ``expected`` error.

    Anything else propagates (the fuzzer reports it), except a known bug.
    """
    try:
        return function(*args, **kwargs)
    except expected:
        return None
    except Exception as exc:
        if known_bug(exc) is None:
            raise
        return None
