"""The command line with the issuer key in a PKCS#11 token (SoftHSM): init, issue, lists."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from vitale_cred.clock import FixedClock
from vitale_cred.credential import CredentialBundle
from vitale_cred.device import SoftwareDeviceKey
from vitale_cred.presentation import present
from vitale_cred.trust import TrustStore
from vitale_cred.verify import Policy, Verifier

from conftest import ROOT
from hsm_fixtures import SoftHsmToken, softhsm_token  # noqa: F401 - fixture

AT = "2026-11-02T00:00:00+00:00"
NOW = 1_793_577_600 + 3600  # 2026-11-02T01:00Z


def cli(
    token: SoftHsmToken, *argv: str, pin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line with the token's config; VC_TEST_PIN holds ``pin``, if any."""
    env = {**os.environ, "SOFTHSM2_CONF": str(token.config_path)}
    env.pop("VC_TEST_PIN", None)
    if pin is not None:
        env["VC_TEST_PIN"] = pin
    return subprocess.run(
        [sys.executable, "-m", "vitale_cred.cli.app", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def init_issuer(
    token: SoftHsmToken, out: Path, *extra: str, pin: str | None
) -> subprocess.CompletedProcess[str]:
    """``init-issuer`` with the key in the test token, the PIN read from VC_TEST_PIN."""
    return cli(
        token,
        "init-issuer",
        "--out",
        str(out),
        "--pkcs11-module",
        token.module_path,
        "--token-label",
        token.label,
        "--pin-env",
        "VC_TEST_PIN",
        *extra,
        pin=pin,
    )


def test_hsm_backed_issuer_issues_credentials_the_software_verifier_accepts(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    token = softhsm_token
    issuer_dir = tmp_path / "issuer"
    key_label = f"cli-{secrets.token_hex(4)}"
    done = init_issuer(
        token, issuer_dir, "--at", "2026-11-01T00:00:00Z", "--key-label", key_label, pin=token.pin
    )
    assert done.returncode == 0, done.stderr
    assert not (issuer_dir / "issuer-key.pem").exists()
    config = json.loads((issuer_dir / "hsm.json").read_text())
    assert config["key_label"] == key_label
    assert token.pin not in (issuer_dir / "hsm.json").read_text()

    device = SoftwareDeviceKey.generate()
    (tmp_path / "dev.pub").write_bytes(device.public_pem())
    done = cli(
        token,
        "issue",
        "--issuer",
        str(issuer_dir),
        "--card",
        str(ROOT / "spec/examples/family5.json"),
        "--device-public-key",
        str(tmp_path / "dev.pub"),
        "--out",
        str(tmp_path / "cred.cbor"),
        "--at",
        AT,
        "--status-uri",
        "https://status.vitale.example/hsm",
        "--status-index",
        "0",
        pin=token.pin,
    )
    assert done.returncode == 0, done.stderr
    done = cli(
        token,
        "status-list",
        "build",
        "--issuer",
        str(issuer_dir),
        "--size",
        "64",
        "--uri",
        "https://status.vitale.example/hsm",
        "--out",
        str(tmp_path / "list.cwt"),
        "--at",
        AT,
        pin=token.pin,
    )
    assert done.returncode == 0, done.stderr

    from vitale_cred.pki import load_certificates
    from vitale_cred.status import (
        InMemoryStatusProvider,
        StatusChecker,
        StatusPolicy,
        StatusReference,
    )

    root = load_certificates((issuer_dir / "root.pem").read_bytes())[0]
    issuer_cert = load_certificates((issuer_dir / "issuer.pem").read_bytes())[0]
    trust = TrustStore(roots=[root], certificates=[issuer_cert])
    checker = StatusChecker(
        InMemoryStatusProvider([(tmp_path / "list.cwt").read_bytes()]),
        trust,
        policy=StatusPolicy(),
    )
    clock = FixedClock(NOW)
    verifier = Verifier(Policy(trust=trust, clock=clock, status=checker))
    bundle = CredentialBundle.decode((tmp_path / "cred.cbor").read_bytes())
    for index, credential in enumerate(bundle.credentials):
        result = verifier.verify_presentation(present(credential, device, clock=clock))
        assert result.beneficiary_index == index
        assert result.credential.status == StatusReference(1, index)
        assert "CN=Caisse primaire (HSM)" in result.credential.issuer.name


def test_missing_pin_variable_is_a_usage_error(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = init_issuer(softhsm_token, tmp_path, pin=None)
    assert done.returncode == 2
    assert "VC_TEST_PIN" in done.stderr


def test_wrong_pin_exits_1_with_the_pin_code(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = init_issuer(softhsm_token, tmp_path, pin="0000")
    assert done.returncode == 1
    assert "[hsm.pin_incorrect]" in done.stderr
