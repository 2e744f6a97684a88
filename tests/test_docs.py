"""Every code block of README.md and docs/*.md runs, from a temporary directory.

The ```python blocks of one document run in order in one namespace, in a fresh working
directory (so a snippet that reads a repository file fails), after the document's
prelude. A prelude gives a document only what a real integrator already has and the
document says it does not show how to obtain: files (``readers.pem``, a signed trust
list...), a scanned QR text, the application's own functions (recording stubs, asserted
on afterwards). Each prelude is documented where it is built, below.

The ``vitale-cred`` commands of the ```sh blocks of docs/*.md run in the same
directory, with the document's placeholders replaced (the HSM module path and token
label). Installation lines (``apt-get``, ``pip``) and ``scripts/start-pcscd.sh`` (run
by the ``pcscd`` fixture) are not ``vitale-cred`` commands.

:data:`PYTHON_BLOCKS` and :data:`COMMANDS` count what each document holds: a block or
command added to a document, or a new document, fails
:func:`test_every_block_and_command_is_counted_and_run` until it is counted here, and
each document's test runs every block and command of its document.

The documents use :class:`~vitale_cred.SystemClock` (a real integrator's clock), so
their worlds are built with :func:`_world.make_world` at the current time, not at
:data:`_world.NOW`.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import vitale_cred
from test_pcsc import pcscd  # noqa: F401 - fixture that starts pcscd (its skip)
from vitale_cred import (
    CredentialBundle,
    Policy,
    ProvenDeviceKey,
    StatusReference,
    SystemClock,
    TrustStore,
    Verifier,
    present_qr,
    verify_status_list,
)
from vitale_cred.adapters.files import write_issuer_directory
from vitale_cred.cli.app import main
from vitale_cred.clock import FixedClock

from _world import World, family5_json, make_world
from conftest import ROOT, check_json_output
from hsm_fixtures import SoftHsmToken, softhsm_token  # noqa: F401 - fixture (its skip)

#: ```python blocks of each document, every one run by the document's test.
PYTHON_BLOCKS = {
    "README.md": 3,
    "docs/audit.md": 0,
    "docs/device-signer.md": 0,
    "docs/hsm-issuing.md": 1,
    "docs/pcsc-reader.md": 1,
    "docs/reader-service.md": 0,
    "docs/verifier-integration.md": 4,
}
#: ``vitale-cred`` commands of the ```sh blocks of each docs/*.md, every one run by the
#: document's test except those of :data:`NOT_RUN`.
COMMANDS = {
    "docs/audit.md": 0,
    "docs/device-signer.md": 0,
    "docs/hsm-issuing.md": 3,
    "docs/pcsc-reader.md": 3,
    "docs/reader-service.md": 2,
    "docs/verifier-integration.md": 0,
}
#: (document, first words of a command) left unrun, and why.
NOT_RUN = {
    ("docs/reader-service.md", "reader serve"): (
        "a server that runs until stopped, on a configuration whose [trust] the operator "
        "edits first, as the document says"
    ),
}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def documents() -> list[str]:
    return ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]


def blocks(doc: str, language: str) -> list[str]:
    text = (ROOT / doc).read_text("utf-8")
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def commands(doc: str) -> list[list[str]]:
    """The ``vitale-cred`` command lines of the ```sh blocks, as argv without the
    program name; a trailing ``&`` (run in the background) is kept as the last word."""
    out = []
    for block in blocks(doc, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "vitale-cred":
                out.append(words[1:])
    return out


def runnable(doc: str) -> list[list[str]]:
    """The commands of ``doc`` that its test runs: all but those of :data:`NOT_RUN`."""
    found = commands(doc)
    assert len(found) == COMMANDS[doc], f"{doc}: update COMMANDS and this test"
    left = [words for (d, words) in NOT_RUN if d == doc]
    return [argv for argv in found if not any(" ".join(argv).startswith(w) for w in left)]


def run_python_blocks(
    doc: str,
    namespace: dict[str, Any],
    after: Mapping[int, Callable[[dict[str, Any]], None]] | None = None,
) -> None:
    """Run every ```python block of ``doc`` in order in ``namespace``; ``after[i]`` is
    called with the namespace once block ``i`` (from 1) has run."""
    found = blocks(doc, "python")
    assert len(found) == PYTHON_BLOCKS[doc], f"{doc}: update PYTHON_BLOCKS and this test"
    for number, source in enumerate(found, 1):
        exec(compile(source, f"{doc} python block {number}", "exec"), namespace)
        if after and number in after:
            after[number](namespace)


def cli(*argv: str) -> tuple[int, str]:
    """The command line in this process (its --json output checked against its schema)."""
    out = io.StringIO()
    code = main(list(argv), out)
    if "--json" in argv:
        check_json_output(argv, out.getvalue())
    return code, out.getvalue()


def world_now() -> World:
    """A fresh issuer and family5 issued now, certificates valid since yesterday."""
    now = SystemClock().now()
    return make_world(now=now, not_before=dt.datetime.fromtimestamp(now, dt.UTC) - dt.timedelta(1))


def write_reader_files(world: World, directory: Path) -> None:
    """``readers.pem`` (root and issuer certificates), ``cred.cbor`` (family5's bundle)
    and ``dev.pem`` (the device key), as ``vitale-cred`` writes them."""
    pem = serialization.Encoding.PEM
    material = world.material
    (directory / "readers.pem").write_bytes(
        material.root_certificate.public_bytes(pem) + material.issuer_certificate.public_bytes(pem)
    )
    (directory / "cred.cbor").write_bytes(world.bundle.encode())
    (directory / "dev.pem").write_bytes(world.device.export_private_pem())


def test_every_block_and_command_is_counted_and_run() -> None:
    assert set(documents()) == set(PYTHON_BLOCKS), "a new document needs a test here"
    for doc in documents():
        assert len(blocks(doc, "python")) == PYTHON_BLOCKS[doc], doc
        if doc.startswith("docs/"):
            assert len(commands(doc)) == COMMANDS[doc], doc
    assert {d for d in documents() if d.startswith("docs/")} == set(COMMANDS)
    for doc, words in NOT_RUN:
        assert any(" ".join(argv).startswith(words) for argv in commands(doc)), (doc, words)


def test_python_blocks_import_only_the_supported_api() -> None:
    """``vitale_cred`` (names of its ``__all__``) or a documented submodule, nothing else."""
    documented = re.compile(
        r"vitale_cred(\.errors|\.registry|\.adapters\.(pcsc|qrimage|hsm|files)|\.hazmat\.\w+)?"
    )
    for doc in documents():
        for number, source in enumerate(blocks(doc, "python"), 1):
            where = f"{doc} python block {number}"
            for node in ast.walk(ast.parse(source, where)):
                if isinstance(node, ast.ImportFrom) and node.module == "vitale_cred.adapters":
                    modules = [f"vitale_cred.adapters.{a.name}" for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                    if node.module == "vitale_cred":
                        names = {a.name for a in node.names}
                        assert names <= set(vitale_cred.__all__), f"{where}: {names}"
                elif isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                else:
                    continue
                for module in modules:
                    if module.split(".")[0] == "vitale_cred":
                        assert documented.fullmatch(module), f"{where}: imports {module}"


# --- README.md -------------------------------------------------------------------------


def test_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No prelude: the quickstart issues, presents and verifies on its own."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    run_python_blocks("README.md", namespace)
    assert (tmp_path / "card.cbor").stat().st_size > 1000
    result = namespace["result"]
    assert result.beneficiary_index == 2
    printed = capsys.readouterr().out
    assert "refused" not in printed
    assert "Léa" in printed and str(result.insured_nir) in printed


# --- docs/verifier-integration.md -------------------------------------------------------


class Recorder:
    """The application's function: records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))


def test_verifier_integration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prelude, files: ``readers.pem`` (root and issuer certificate), ``authority.pem``
    (the root, which signs the trust list), ``trust-list.cbor`` (``vitale-cred trust-list
    sign``: the issuer, seq 1), ``status/list-1.cwt`` (``vitale-cred status-list build``,
    entry 3 revoked); names: ``scanned_text`` (a QR of beneficiary 1), ``show_refusal``
    and ``bill`` (recorders)."""
    monkeypatch.chdir(tmp_path)
    world = world_now()
    write_issuer_directory(world.material, tmp_path / "issuer")
    (tmp_path / "revoked.txt").write_text("3\n")
    (tmp_path / "status").mkdir()
    code, out = cli(
        "status-list", "build", "--issuer", "issuer", "--size", "16", "--revoked",
        "revoked.txt", "--uri", "https://status.example/1", "--out", "status/list-1.cwt",
        "--json",
    )  # fmt: skip
    assert code == 0, out
    list_id = json.loads(out)["list"]
    device = ProvenDeviceKey.unsafe_without_proof(world.device.cose_key())
    references = [StatusReference(list_id, index) for index in range(5)]
    bundle = world.issuer.issue(world.card, device, valid_days=365, status=references)
    code, out = cli("trust-list", "sign", "--issuer", "issuer", "--seq", "1", "--out",
                    "trust-list.cbor")  # fmt: skip
    assert code == 0, out
    (tmp_path / "readers.pem").write_bytes((tmp_path / "issuer/readers.pem").read_bytes())
    (tmp_path / "authority.pem").write_bytes((tmp_path / "issuer/root.pem").read_bytes())

    def qr(index: int) -> str:
        return present_qr(bundle.credentials[index], world.device, clock=SystemClock())

    show_refusal, bill = Recorder(), Recorder()
    namespace: dict[str, Any] = {
        "scanned_text": qr(1),
        "show_refusal": show_refusal,
        "bill": bill,
    }

    def pem_store_verifies(ns: dict[str, Any]) -> None:
        verifier = Verifier(Policy(trust=ns["trust"], clock=SystemClock()))
        assert verifier.verify_qr(qr(4)).beneficiary.given_names == ("Inès",)

    def trust_list_in_force(ns: dict[str, Any]) -> None:
        assert ns["trust"] is ns["reader"].store
        assert ns["reader"].current.seq == 1
        assert ns["trust"].roots == []  # the list alone says who is trusted

    run_python_blocks(
        "docs/verifier-integration.md",
        namespace,
        after={1: pem_store_verifies, 2: trust_list_in_force},
    )
    assert show_refusal.calls == []
    card = world.card
    assert bill.calls == [
        (
            (),
            {
                "nir": card.nir.value,
                "organisme": str(card.organisme),
                "beneficiary": card.beneficiaries[1],
                "rights": card.beneficiaries[1].amo,
            },
        )
    ]

    # The refusal branch of section 3: a revoked beneficiary, then a replayed QR.
    verify_and_bill = blocks("docs/verifier-integration.md", "python")[-1]
    for scanned in (qr(3), namespace["scanned_text"]):
        namespace["scanned_text"] = scanned
        exec(compile(verify_and_bill, "verify and bill", "exec"), namespace)
    assert show_refusal.calls == [(("status.revoked",), {}), (("presentation.replayed",), {})]
    assert len(bill.calls) == 1


# --- docs/hsm-issuing.md ----------------------------------------------------------------

#: Runs a document's blocks in a child process (SoftHSM reads its configuration once per
#: process, and other tests load it in theirs): the prelude runs in a namespace of its
#: own and hands the blocks only the names listed in "provides".
_CHILD = """
import json, sys
plan = json.load(open(sys.argv[1], encoding="utf-8"))
prelude = {}
exec(compile(plan["prelude"], "prelude", "exec"), prelude)
namespace = {name: prelude[name] for name in plan["provides"]}
for name, source in plan["blocks"]:
    exec(compile(source, name, "exec"), namespace)
exec(compile(plan["epilogue"], "epilogue", "exec"), namespace)
"""

#: Prelude of docs/hsm-issuing.md: ``device``, the holder's key proven at enrolment
#: (the device key of ``dev.pem``, the file the test wrote).
_HSM_PRELUDE = """
from vitale_cred import SoftwareDeviceKey, SystemClock, new_nonce, possession_proof
from vitale_cred import verify_possession
phone = SoftwareDeviceKey.from_pem(open("dev.pem", "rb").read())
nonce, now = new_nonce(), SystemClock().now()
device = verify_possession(possession_proof(phone, nonce, now), nonce, now)
"""

#: After the blocks: keep the bundle for the test, then sign once the token is closed.
_HSM_EPILOGUE = """
with open("bundle-from-docs.cbor", "wb") as f:
    f.write(bundle.encode())
try:
    issuer.issue(card, device, valid_days=1)
except Exception as exc:
    print("after close:", getattr(exc, "code", repr(exc)))
else:
    print("after close: signed")
"""


def test_hsm_issuing(
    softhsm_token: SoftHsmToken,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prelude, files: ``card.json`` (family5), ``dev.pub.pem`` and ``dev.pem`` (a device
    key); environment: ``ISSUER_PIN`` (the token's PIN: the ``export`` line); the commands
    name the test token (module path, label) instead of ``fund``. The blocks run in a
    child process with ``device`` (see ``_HSM_PRELUDE``)."""
    doc = "docs/hsm-issuing.md"
    token = softhsm_token
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "SOFTHSM2_CONF": str(token.config_path), "ISSUER_PIN": token.pin}
    (tmp_path / "card.json").write_text(json.dumps(family5_json()), "utf-8")
    world = world_now()
    (tmp_path / "dev.pem").write_bytes(world.device.export_private_pem())
    (tmp_path / "dev.pub.pem").write_bytes(world.device.public_pem())

    def child(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    placeholders = {"--pkcs11-module": token.module_path, "--token-label": token.label}

    def substituted(argv: list[str]) -> list[str]:
        """``argv`` with the value of each option of ``placeholders`` replaced."""
        return [placeholders.get(prev, word) for prev, word in zip(["", *argv], argv, strict=False)]

    documented = [substituted(argv) for argv in runnable(doc)]
    for argv in documented:
        done = child("-m", "vitale_cred.cli.app", *argv)
        assert done.returncode == 0, f"{shlex.join(argv)}: {done.stderr}"
    issuer_dir = tmp_path / "issuer"
    assert (issuer_dir / "hsm.json").exists() and not (issuer_dir / "issuer-key.pem").exists()
    assert token.pin not in (issuer_dir / "hsm.json").read_text("utf-8")

    python = blocks(doc, "python")
    assert len(python) == PYTHON_BLOCKS[doc]
    plan = {
        "prelude": _HSM_PRELUDE,
        "provides": ["device"],
        "blocks": [[f"{doc} python block {n}", source] for n, source in enumerate(python, 1)],
        "epilogue": _HSM_EPILOGUE,
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan), "utf-8")
    done = child("-c", _CHILD, str(tmp_path / "plan.json"))
    assert done.returncode == 0, done.stderr
    assert "after close: hsm.operation_failed" in done.stdout  # what the document says

    # What the commands and the code signed in the token verifies in software.
    trust = TrustStore.from_pem((issuer_dir / "readers.pem").read_bytes())
    verifier = Verifier(Policy(trust=trust, clock=SystemClock()))
    for name in ("cred.cbor", "bundle-from-docs.cbor"):
        bundle = CredentialBundle.decode((tmp_path / name).read_bytes())
        shown = present_qr(bundle.credentials[1], world.device, clock=SystemClock())
        assert verifier.verify_qr(shown).beneficiary.given_names == ("Claire",), name
    now = SystemClock().now()
    status = verify_status_list((tmp_path / "list.cwt").read_bytes(), trust, clock=FixedClock(now))
    assert (status.uri, status.size) == ("https://status.example/1", 1_000_000)

    # "Over a directory that already holds an issuer, init-issuer stops with exit 2."
    done = child("-m", "vitale_cred.cli.app", *documented[0])
    assert done.returncode == 2 and "[io.exists]" in done.stderr


# --- docs/pcsc-reader.md ----------------------------------------------------------------


def test_pcsc_reader(
    pcscd: None,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Prelude, files: ``readers.pem`` (root and issuer certificates), ``cred.cbor``
    (family5 issued by that issuer) and ``dev.pem`` (its device key). The background
    command (``nfc-card ... &``, the phone on vpcd) starts first and serves every read
    of the document: the ``nfc-read`` commands and the code block."""
    doc = "docs/pcsc-reader.md"
    monkeypatch.chdir(tmp_path)
    world = world_now()
    write_reader_files(world, tmp_path)
    documented = runnable(doc)
    background = [argv[:-1] for argv in documented if argv[-1] == "&"]
    foreground = [argv for argv in documented if argv[-1] != "&"]
    assert [argv[0] for argv in background] == ["nfc-card"]
    phone = subprocess.Popen(
        [sys.executable, "-m", "vitale_cred.cli.app", *background[0]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        namespace: dict[str, Any] = {}
        run_python_blocks(doc, namespace)
        result = namespace["result"]
        assert result.beneficiary_index == 0  # no hint: the phone shows the insured
        printed = capsys.readouterr().out
        assert world.card.nir.value in printed and "Pierre" in printed
        for argv in foreground:
            code, out = cli(*argv)
            assert code == 0, f"{shlex.join(argv)}: {out}"
            if "--json" in argv:
                verdict = json.loads(out)
                assert verdict["ok"] is True
                assert verdict["presentation"]["beneficiary_index"] == 0
            else:
                assert "Pierre" in out
    finally:
        # Ctrl-C, as for a command left in the background; vpcd then sees the card go.
        phone.send_signal(signal.SIGINT)
        try:
            out, err = phone.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            phone.kill()
            phone.communicate()
            pytest.fail("nfc-card did not stop on SIGINT")
    # Ctrl-C ends the virtual card as it ends every command: exit 130, the count kept.
    assert phone.returncode == 130, err
    assert "card removed after" in out, out


# --- docs/reader-service.md -------------------------------------------------------------


def test_reader_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No prelude: ``reader init-config`` writes the configuration (``reader serve``:
    see :data:`NOT_RUN`)."""
    doc = "docs/reader-service.md"
    monkeypatch.chdir(tmp_path)
    documented = runnable(doc)
    assert [argv[:2] for argv in documented] == [["reader", "init-config"]]
    for argv in documented:
        code, out = cli(*argv)
        assert code == 0, f"{shlex.join(argv)}: {out}"
    assert "[trust]" in (tmp_path / "reader.toml").read_text("utf-8")
