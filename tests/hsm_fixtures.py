"""A throw-away SoftHSM2 token for the PKCS#11 tests.

``softhsm_token`` writes a ``softhsm2.conf`` whose token directory is a fresh
temporary directory, points ``SOFTHSM2_CONF`` at it for the rest of the test
session, and initialises one token with a random label, SO PIN and user PIN. Keys
persist in the token directory, so every test session starts from an empty token.

SoftHSM reads ``SOFTHSM2_CONF`` when the module is first initialised in the
process: build the token before anything loads the module, and only once.

When ``softhsm2-util``, the module or python-pkcs11 is missing, the tests are
skipped on a workstation and fail when the ``CI`` environment variable is set:
CI must not skip the HSM tests silently.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import string
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Where Debian/Ubuntu, other Linux distributions and Homebrew install the module.
SOFTHSM_MODULE_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class SoftHsmToken:
    """An initialised token: what ``Pkcs11Token.open`` needs, and the SO PIN."""

    module_path: str
    label: str
    pin: str = field(repr=False)
    so_pin: str = field(repr=False)
    config_path: Path


def _missing_requirement() -> str | None:
    if importlib.util.find_spec("pkcs11") is None:
        return "python-pkcs11 is not installed (pip install python-pkcs11)"
    if shutil.which("softhsm2-util") is None:
        return "softhsm2-util is not installed (apt-get install -y softhsm2)"
    if _module_path() is None:
        return "the SoftHSM2 PKCS#11 module (libsofthsm2.so) is not found"
    return None


def _module_path() -> str | None:
    override = os.environ.get("SOFTHSM2_MODULE")
    candidates = (override,) if override else SOFTHSM_MODULE_PATHS
    return next((p for p in candidates if p and Path(p).is_file()), None)


def require_softhsm() -> str:
    """The module path, or skip (workstation) / fail (``CI`` set) the calling test."""
    missing = _missing_requirement()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"HSM tests cannot run in CI: {missing}", pytrace=False)
        pytest.skip(missing)
    module_path = _module_path()
    assert module_path is not None
    return module_path


def _random_pin(length: int = 10) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    """A fresh SoftHSM2 token for the whole test session."""
    module_path = require_softhsm()
    base = tmp_path_factory.mktemp("softhsm")
    token_dir = base / "tokens"
    token_dir.mkdir()
    config_path = base / "softhsm2.conf"
    config_path.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    token = SoftHsmToken(
        module_path=module_path,
        label=f"vc-test-{secrets.token_hex(4)}",
        pin=_random_pin(),
        so_pin=_random_pin(),
        config_path=config_path,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(config_path))
        result = subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                token.label,
                "--so-pin",
                token.so_pin,
                "--pin",
                token.pin,
            ],
            capture_output=True,
            text=True,
            check=False,
            env=os.environ.copy(),
        )
        if result.returncode != 0:
            pytest.fail(f"softhsm2-util --init-token failed: {result.stderr.strip()}")
        yield token
