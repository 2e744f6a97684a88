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


def cli(token: SoftHsmToken, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOFTHSM2_CONF": str(token.config_path), "VC_TEST_PIN": token.pin}
    return subprocess.run(
        [sys.executable, "-m", "vitale_cred.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_hsm_backed_issuer_issues_credentials_the_software_verifier_accepts(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    token = softhsm_token
    issuer_dir = tmp_path / "issuer"
    key_label = f"cli-{secrets.token_hex(4)}"
    done = cli(
        token,
        "init-issuer",
        "--out",
        str(issuer_dir),
        "--at",
        "2026-11-01T00:00:00Z",
        "--pkcs11-module",
        token.module_path,
        "--token-label",
        token.label,
        "--key-label",
        key_label,
        "--pin-env",
        "VC_TEST_PIN",
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
    )
    assert done.returncode == 0, done.stderr

    from vitale_cred.pki import load_certificates
    from vitale_cred.status import InMemoryStatusProvider, StatusChecker, StatusPolicy

    root = load_certificates((issuer_dir / "root.pem").read_bytes())[0]
    issuer_cert = load_certificates((issuer_dir / "issuer.pem").read_bytes())[0]
    trust = TrustStore(roots=[root], certificates=[issuer_cert])
    checker = StatusChecker(
        InMemoryStatusProvider(
            {"https://status.vitale.example/hsm": (tmp_path / "list.cwt").read_bytes()}
        ),
        trust,
        policy=StatusPolicy(),
    )
    clock = FixedClock(NOW)
    verifier = Verifier(Policy(trust=trust, clock=clock, status=checker))
    bundle = CredentialBundle.decode((tmp_path / "cred.cbor").read_bytes())
    for index, credential in enumerate(bundle.credentials):
        result = verifier.verify_presentation(present(credential, device, clock=clock))
        assert result.beneficiary_index == index
        assert "CN=Caisse primaire (HSM)" in result.credential.issuer.name


def test_missing_pin_variable_is_a_usage_error(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitale_cred.cli",
            "init-issuer",
            "--out",
            str(tmp_path),
            "--pkcs11-module",
            softhsm_token.module_path,
            "--token-label",
            softhsm_token.label,
            "--pin-env",
            "VC_NO_SUCH_VARIABLE",
        ],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "VC_NO_SUCH_VARIABLE"},
    )
    assert done.returncode == 2
    assert "VC_NO_SUCH_VARIABLE" in done.stderr


def test_wrong_pin_exits_1_with_the_pin_code(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {**os.environ, "SOFTHSM2_CONF": str(softhsm_token.config_path), "VC_PIN": "0000"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vitale_cred.cli",
            "init-issuer",
            "--out",
            str(tmp_path),
            "--pkcs11-module",
            softhsm_token.module_path,
            "--token-label",
            softhsm_token.label,
            "--pin-env",
            "VC_PIN",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 1
    assert "[hsm.pin_incorrect]" in done.stderr
