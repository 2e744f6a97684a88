"""vitale_cred: the open core of the dematerialised French health-insurance card.

The names below are the supported API, for three audiences:

* **issuers** (the fund): :class:`Issuer` signs per-beneficiary credentials from a
  :class:`Card`; :func:`issue_status_list`, :func:`sign_trust_list` and
  :func:`sign_statement` publish status lists, trust lists and statements;
* **holders** (the phone app): :func:`present_qr` and :func:`present` sign a
  presentation with the device key; :class:`HolderSession` answers an NFC reader;
* **readers** (practice software): :class:`Verifier` under a :class:`Policy` with a
  :class:`TrustStore`; :class:`ReaderSession` runs an NFC tap.

Every error is a :class:`VitaleCredError` with a stable ``code`` (``spec/errors.md``).
Everything else lives in documented submodules: :mod:`vitale_cred.errors` (every
error class), :mod:`vitale_cred.registry` (wire labels), :mod:`vitale_cred.hazmat`
(low-level layers: know what you do), :mod:`vitale_cred.adapters` (PC/SC, QR images,
PKCS#11, files; optional extras).
"""

from __future__ import annotations

from vitale_cred.clock import Clock, FixedClock, SystemClock
from vitale_cred.credential import CredentialBundle, Issuer
from vitale_cred.device import (
    DeviceSigner,
    ProvenDeviceKey,
    SoftwareDeviceKey,
    new_nonce,
    possession_proof,
    verify_possession,
)
from vitale_cred.errors import IssuanceError, UsageError, VerificationError, VitaleCredError
from vitale_cred.hazmat.cose import SoftwareSigner
from vitale_cred.ins import Ins
from vitale_cred.model import (
    Amc,
    Beneficiary,
    BirthDate,
    Card,
    CardView,
    Exoneration,
    ExonerationCode,
    Organisme,
    Period,
    Qualite,
)
from vitale_cred.nfc import EncryptionPolicy, HolderSession, ReaderSession
from vitale_cred.nir import Nir
from vitale_cred.pki import IssuerMaterial
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseAlg
from vitale_cred.replay import InMemoryReplayCache, ReplayCache, SqliteReplayCache
from vitale_cred.state import GuardedClock, InMemoryTrustState, SqliteTrustState, TrustState
from vitale_cred.statement import (
    Invoice,
    Statement,
    VerifiedStatement,
    sign_statement,
    verify_statement,
)
from vitale_cred.status import (
    InMemoryStatusProvider,
    StatusChecker,
    StatusList,
    StatusPolicy,
    StatusReference,
    StatusResult,
    StatusValue,
    issue_status_list,
    verify_status_list,
)
from vitale_cred.trust import TrustedKey, TrustStore, Usage
from vitale_cred.trustlist import (
    StalePolicy,
    TrustList,
    TrustListEntry,
    TrustListReader,
    sign_trust_list,
    verify_trust_list,
)
from vitale_cred.verify import Policy, VerifiedCredential, VerifiedPresentation, Verifier

__version__ = "0.1.0"

__all__ = [
    "Amc",
    "Beneficiary",
    "BirthDate",
    "Card",
    "CardView",
    "Clock",
    "CoseAlg",
    "CredentialBundle",
    "DeviceSigner",
    "EncryptionPolicy",
    "Exoneration",
    "ExonerationCode",
    "FixedClock",
    "GuardedClock",
    "HolderSession",
    "InMemoryReplayCache",
    "InMemoryStatusProvider",
    "InMemoryTrustState",
    "Ins",
    "Invoice",
    "IssuanceError",
    "Issuer",
    "IssuerMaterial",
    "Nir",
    "Organisme",
    "Period",
    "Policy",
    "ProvenDeviceKey",
    "Qualite",
    "ReaderSession",
    "ReplayCache",
    "SoftwareDeviceKey",
    "SoftwareSigner",
    "SqliteReplayCache",
    "SqliteTrustState",
    "StalePolicy",
    "Statement",
    "StatusChecker",
    "StatusList",
    "StatusPolicy",
    "StatusReference",
    "StatusResult",
    "StatusValue",
    "SystemClock",
    "TrustList",
    "TrustListEntry",
    "TrustListReader",
    "TrustState",
    "TrustStore",
    "TrustedKey",
    "Usage",
    "UsageError",
    "VerificationError",
    "VerifiedCredential",
    "VerifiedPresentation",
    "VerifiedStatement",
    "Verifier",
    "VitaleCredError",
    "__version__",
    "issue_status_list",
    "new_nonce",
    "possession_proof",
    "present",
    "present_qr",
    "sign_statement",
    "sign_trust_list",
    "verify_possession",
    "verify_statement",
    "verify_status_list",
    "verify_trust_list",
]
