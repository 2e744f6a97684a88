"""Local files: typed errors for the operating system's refusals, and private keys.

The command line and the issuer directory are the only places that touch files;
they share these helpers so that a missing directory, a directory where a file is
expected or a refused permission always carries the same ``io.*`` code.

A private key file may be encrypted with a passphrase (PKCS#8,
:func:`encrypt_private_pem`). Readers detect it and ask a :data:`PassphraseSource`
for the passphrase only then; a wrong one is :class:`~vitale_cred.errors.KeyPassphraseError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from vitale_cred.errors import (
    FileAccessError,
    FileExists,
    FileIsDirectory,
    FileMissing,
    FileNotDirectory,
    FilePermissionDenied,
    InvalidArgument,
    KeyPassphraseError,
    VitaleCredError,
)
from vitale_cred.hazmat.cose import PrivateKey
from vitale_cred.pki import IssuerMaterial, load_certificates, load_private_key, private_key_pem
from vitale_cred.status import MAX_STATUS_TOKEN_BYTES, peek_status_list

__all__ = [
    "HSM_CONFIG",
    "ISSUER_FILES",
    "READER_BUNDLE",
    "FileStatusProvider",
    "PassphraseSource",
    "check_output",
    "decrypt_private_pem",
    "encrypt_private_pem",
    "file_error",
    "is_encrypted_pem",
    "load_issuer_directory",
    "read_private_pem",
    "write_issuer_directory",
    "write_private",
]

#: The reader bundle of an issuer directory: the root and the issuer certificate, what
#: a reader needs to verify QR codes (which name their issuer by kid only).
READER_BUNDLE = "readers.pem"
#: The file of an issuer directory that points at an HSM key instead of issuer-key.pem.
HSM_CONFIG = "hsm.json"
#: The PEM files of an issuer directory written by ``vitale-cred init-issuer``.
ISSUER_FILES = ("root.pem", "root-key.pem", "issuer.pem", "issuer-key.pem", READER_BUNDLE)

#: Asked for the passphrase of an encrypted private key file, with the file's path,
#: only when the file is encrypted; returns the passphrase (never empty) or raises.
PassphraseSource = Callable[[Path], bytes]

_BY_ERRNO: dict[int, type[FileAccessError]] = {
    errno.ENOENT: FileMissing,
    errno.EISDIR: FileIsDirectory,
    errno.ENOTDIR: FileNotDirectory,
    errno.EACCES: FilePermissionDenied,
    errno.EPERM: FilePermissionDenied,
    errno.EEXIST: FileExists,
}


def file_error(
    exc: OSError, doing: str, path: str | os.PathLike[str] | None = None
) -> FileAccessError:
    """The typed error for ``exc``, raised while ``doing`` (a verb: "read", "write")."""
    name = path if path is not None else exc.filename
    cls = _BY_ERRNO.get(exc.errno or 0, FileAccessError)
    reason = exc.strerror or type(exc).__name__
    where = f" {os.fspath(name)}" if name is not None else ""
    return cls(f"cannot {doing}{where}: {reason}")


def check_output(path: Path, *, create_parents: bool = False) -> None:
    """Raise the error writing a file at ``path`` would meet, before any work is done.

    Commands that compute for a while (a benchmark, a signature in an HSM) check
    their output first, so that a mistyped path costs nothing. With
    ``create_parents`` the missing directories will be created by the writer: the
    nearest existing one must then be a writable directory.
    """
    if path.is_dir():
        raise FileIsDirectory(f"cannot write {path}: it is a directory")
    if path.exists():
        target = path
    else:
        # Path(".") ends the parents of a relative path and always exists.
        target = next(p for p in path.parents if p.exists())
        if target != path.parent and not create_parents:
            raise FileMissing(f"cannot write {path}: directory {path.parent} does not exist")
        if not target.is_dir():
            raise FileNotDirectory(f"cannot write {path}: {target} is not a directory")
    if not os.access(target, os.W_OK):
        raise FilePermissionDenied(f"cannot write {path}: permission denied")


def write_private(path: Path, data: bytes) -> None:
    """Write a private key: mode 0600 from creation, and atomically.

    The temporary file is created by ``mkstemp`` (mode 0600, never wider) in the
    target's directory, so that ``os.replace`` is a rename within one file system:
    a reader sees the old key or the new one, and a failed write leaves no partial
    key behind.
    """
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise file_error(exc, "write", path) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise file_error(exc, "write", path) from exc
    except BaseException:
        # Ctrl-C in the middle of a write must not leave key material lying around.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def is_encrypted_pem(data: bytes) -> bool:
    """Whether ``data`` is a PEM private key encrypted with a passphrase: PKCS#8
    (``ENCRYPTED PRIVATE KEY``) or the traditional OpenSSL form (``Proc-Type``)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data


def encrypt_private_pem(pem: bytes, passphrase: bytes) -> bytes:
    """The unencrypted PEM private key ``pem``, encrypted with ``passphrase`` as PKCS#8
    (cryptography's ``BestAvailableEncryption``)."""
    if not passphrase:
        raise InvalidArgument("an empty passphrase protects nothing")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidArgument("not a readable unencrypted PEM private key") from exc
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def decrypt_private_pem(
    data: bytes, path: str | os.PathLike[str], passphrase: PassphraseSource | None
) -> bytes:
    """``data``, the content of the private key file ``path``: as it is when it is not
    encrypted, else decrypted in memory into an unencrypted PKCS#8 PEM.

    ``passphrase`` is asked only for an encrypted file. Whatever else the file holds is
    left to the key loader, which names it with its own code.
    """
    if not is_encrypted_pem(data):
        return data
    if passphrase is None:
        raise KeyPassphraseError(f"{os.fspath(path)} is encrypted and no passphrase was given")
    secret = passphrase(Path(path))
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except UnsupportedAlgorithm as exc:
        raise KeyPassphraseError(
            f"{os.fspath(path)} is encrypted with an unsupported cipher"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise KeyPassphraseError(
            f"cannot decrypt {os.fspath(path)}: wrong passphrase, or a damaged file"
        ) from exc
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def read_private_pem(path: Path, passphrase: PassphraseSource | None = None) -> bytes:
    """The private key file ``path``, decrypted if it is encrypted (see
    :func:`decrypt_private_pem`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise file_error(exc, "read", path) from exc
    return decrypt_private_pem(data, path, passphrase)


def write_issuer_directory(
    material: IssuerMaterial, directory: Path, *, passphrase: bytes | None = None
) -> None:
    """Write an issuer directory: the certificates, the reader bundle and the keys
    (readable by the owner only; encrypted with ``passphrase`` if one is given)."""
    if passphrase is not None and not passphrase:
        raise InvalidArgument("an empty passphrase protects nothing")
    pem = serialization.Encoding.PEM
    root = material.root_certificate.public_bytes(pem)
    issuer = material.issuer_certificate.public_bytes(pem)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "root.pem").write_bytes(root)
        (directory / "issuer.pem").write_bytes(issuer)
        (directory / READER_BUNDLE).write_bytes(root + issuer)
    except FileExistsError as exc:
        # mkdir(exist_ok=True) says "exists" only when the path is not a directory.
        raise FileNotDirectory(
            f"cannot write issuer directory {directory}: not a directory"
        ) from exc
    except OSError as exc:
        raise file_error(exc, "write") from exc
    for filename, key in (
        ("root-key.pem", material.root_key),
        ("issuer-key.pem", material.issuer_key),
    ):
        if key is None:
            continue
        data = private_key_pem(key)
        if passphrase is not None:
            data = encrypt_private_pem(data, passphrase)
        write_private(directory / filename, data)


def load_issuer_directory(
    directory: Path,
    passphrase: PassphraseSource | None = None,
    *,
    root_key: bool = True,
) -> IssuerMaterial:
    """Read a directory written by :func:`write_issuer_directory` (root key optional).

    An encrypted key file is decrypted with what ``passphrase`` answers. With
    ``root_key=False`` root-key.pem is left unread (and unasked for): the material
    then carries no root key, what every signature but a trust list's needs.
    """
    try:
        root = load_certificates((directory / "root.pem").read_bytes())[0]
        issuer = load_certificates((directory / "issuer.pem").read_bytes())[0]
        issuer_key = _optional_key(directory / "issuer-key.pem", passphrase)
        root_secret = _optional_key(directory / "root-key.pem", passphrase) if root_key else None
    except OSError as exc:
        raise file_error(exc, "read issuer file") from exc
    except IndexError as exc:
        # A PEM file without any certificate in it: load_certificates returned [].
        raise InvalidArgument(f"{directory} holds a certificate file with no certificate") from exc
    return IssuerMaterial(root, issuer, issuer_key, root_secret)


def _optional_key(path: Path, passphrase: PassphraseSource | None) -> PrivateKey | None:
    if not path.exists():
        return None
    return load_private_key(decrypt_private_pem(path.read_bytes(), path, passphrase))


class FileStatusProvider:
    """Tokens read from files (an offline reader's synced directory).

    Each file is read again at every fetch (a sync job may replace it), at most
    ``max_bytes + 1`` bytes, so an oversized file reaches the verifier as too large
    instead of being loaded whole. A file is indexed by what its token claims
    (``kid``, ``list``) when the provider is built; a missing, unreadable or
    unparsable file serves nothing.
    """

    __slots__ = ("_max_bytes", "_paths")

    def __init__(
        self,
        paths: Iterable[str | PathLike[str]],
        *,
        max_bytes: int = MAX_STATUS_TOKEN_BYTES,
    ) -> None:
        self._max_bytes = max_bytes
        self._paths: dict[tuple[bytes, int], Path] = {}
        for path in map(Path, paths):
            token = self._read(path)
            if token is None:
                continue
            try:
                locator = peek_status_list(token)
            except VitaleCredError:
                continue
            self._paths[(locator.kid, locator.list_id)] = path

    def _read(self, path: Path) -> bytes | None:
        try:
            with path.open("rb") as handle:
                return handle.read(self._max_bytes + 1)
        except OSError:
            return None

    def fetch(self, kid: bytes, list_id: int) -> bytes | None:
        path = self._paths.get((kid, list_id))
        return None if path is None else self._read(path)

    def __repr__(self) -> str:
        return f"FileStatusProvider({len(self._paths)} lists)"
