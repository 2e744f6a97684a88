"""The passphrase of the private key files the command line writes and reads.

Taken from the environment variable :data:`PASSPHRASE_ENV` if it is set, else typed at
a prompt when standard input is a terminal (twice for a new key), else the command
stops with a usage error saying how to give one. Never from the command line itself,
which every user of the machine sees in ``ps``.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from vitale_cred.adapters.files import read_private_pem
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.errors import CommandLineError

__all__ = ["PASSPHRASE_ENV", "Passphrase", "read_device_key"]

#: The environment variable holding the passphrase of encrypted private key files.
PASSPHRASE_ENV = "VITALE_CRED_PASSPHRASE"  # noqa: S105 - a variable's name, not a secret


def _terminal() -> bool:
    stdin = sys.stdin
    return stdin is not None and stdin.isatty()


def _typed(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError as exc:
        raise CommandLineError("no passphrase typed") from exc


class Passphrase:
    """The passphrase of one command: asked at most once, then reused for every key
    file the command writes or reads (an issuer directory holds two)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: bytes | None = None

    def _from_environment(self) -> bytes | None:
        value = os.environ.get(PASSPHRASE_ENV)
        if value is None:
            return None
        if not value:
            raise CommandLineError(
                f"{PASSPHRASE_ENV} is empty: an empty passphrase protects nothing"
            )
        return value.encode("utf-8", "surrogateescape")

    def _obtain(self, prompt: str, no_terminal: str, *, confirm: bool = False) -> bytes:
        """The environment's passphrase, else one typed at ``prompt`` (twice with
        ``confirm``); asked once per command, then remembered."""
        if self._known is None:
            value = self._from_environment()
            if value is None:
                if not _terminal():
                    raise CommandLineError(f"{no_terminal} (no terminal to prompt for it)")
                typed = _typed(prompt)
                if not typed:
                    raise CommandLineError("an empty passphrase protects nothing")
                if confirm and _typed("the same passphrase again: ") != typed:
                    raise CommandLineError("the two passphrases typed differ")
                value = typed.encode("utf-8", "surrogateescape")
            self._known = value
        return self._known

    def new(self) -> bytes:
        """The passphrase to encrypt new key files with (typed twice at a prompt)."""
        return self._obtain(
            "passphrase for the new private key: ",
            f"--encrypt needs a passphrase: set {PASSPHRASE_ENV}",
            confirm=True,
        )

    def __call__(self, path: Path) -> bytes:
        """The passphrase of the encrypted key file ``path`` (a ``PassphraseSource``)."""
        return self._obtain(
            f"passphrase for {path}: ",
            f"{path} is encrypted: set {PASSPHRASE_ENV} to its passphrase",
        )


def read_device_key(path: str, passphrase: Passphrase | None = None) -> SoftwareDeviceKey:
    """The device key file ``path``, decrypted first if it is encrypted."""
    return SoftwareDeviceKey.from_pem(read_private_pem(Path(path), passphrase or Passphrase()))
