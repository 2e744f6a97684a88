"""The fund's audit of evidence (spec/evidence.md section 7) on synthetic data.

Every finding is proven on data with injected frauds of every kind
(``benchmarks/evidence_gen.py``), record by record against the generator's ground
truth: exact counts, and nothing on the honest part. The report does not depend on
the input format, the partitioning or the number of Dask workers (a local cluster of
one and of two workers). Bad records are reported with their code, never crash.

pyarrow and Dask come with the ``audit`` extra; CI installs it, so there these tests
fail rather than skip when it is missing.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if os.environ.get("CI"):
    import dask.distributed  # noqa: F401 - under CI a missing extra is a failure
    import pyarrow  # noqa: F401
else:
    pytest.importorskip("pyarrow")
    pytest.importorskip("dask.distributed")

from benchmarks.evidence_gen import FRAUD_KINDS, Synthetic, generate
from vitale_cred import errors
from vitale_cred.audit import (
    FINDING_ORDER,
    AuditMaterial,
    AuditParameters,
    Checker,
    Directory,
    Professional,
    TrustArchive,
    haversine_km,
    load_directory,
    parse_limits,
    read_report,
    run_audit,
)
from vitale_cred.audit._check import _within_limits, bucket_of, check_partition
from vitale_cred.audit._route import claimed_device
from vitale_cred.audit._run import default_buckets
from vitale_cred.cli import audit as audit_cli
from vitale_cred.cli._help import Help
from vitale_cred.clock import FixedClock
from vitale_cred.credential import Delegation
from vitale_cred.evidence import Evidence, EvidenceVerifier, decode_evidence, invoice_digest
from vitale_cred.hazmat.cose import SoftwareSigner
from vitale_cred.pki import kid_for_certificate
from vitale_cred.presentation import present, present_qr
from vitale_cred.registry import CoseAlg, EvidenceChannel, ProfessionalKind
from vitale_cred.trust import Usage, spki_sha256
from vitale_cred.trustlist import TrustList, TrustListEntry, sign_trust_list

from _world import NOW, make_world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data() -> Synthetic:
    return generate(150, seed=7, frauds=2)


@pytest.fixture(scope="module")
def jsonl(data: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "evidence.jsonl"
    data.write_jsonl(path)
    return path


def _audit(data: Synthetic, inputs: list[Path], out: Path, **options: Any) -> dict[str, Any]:
    return run_audit(
        inputs, out, material=data.material(), professionals=data.professionals, **options
    )


def _codes(out: Path) -> list[list[str]]:
    return [row["codes"] for row in read_report(out).to_pylist()]


@pytest.fixture(scope="module")
def in_process(data: Synthetic, jsonl: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    _audit(data, [jsonl], out, partition_size=40)
    return out


# --- every finding, exactly -----------------------------------------------------------------


def test_every_injected_fraud_is_found_and_nothing_else(data: Synthetic, in_process: Path) -> None:
    rows = read_report(in_process).to_pylist()
    assert len(rows) == len(data.records)
    assert {kind for kind in data.kinds if kind != "honest"} == set(FRAUD_KINDS)
    for row, labels, kind in zip(rows, data.labels, data.kinds, strict=True):
        assert set(row["codes"]) == labels, (kind, row)
        assert row["code"] == (row["codes"][0] if row["codes"] else None)
    # No false positive on the honest part, every finding counted exactly.
    honest = [row for row, labels in zip(rows, data.labels, strict=True) if not labels]
    assert len(honest) == data.honest() > 150
    assert not any(row["codes"] for row in honest)
    summary = json.loads((in_process / "summary.json").read_text())
    assert summary["findings"] == dict(sorted(data.expected_counts().items()))
    assert summary["clean"] == data.honest()
    assert summary["records"] == len(data.records)


def test_the_counts_of_each_kind(data: Synthetic, in_process: Path) -> None:
    counts = Counter(code for codes in _codes(in_process) for code in codes)
    frauds = 2
    for kind, codes in FRAUD_KINDS.items():
        (code,) = codes
        # A replay and a journey flag their honest victim as well.
        expected = 2 * frauds if kind in ("replay", "travel") else frauds
        assert counts[code] == expected, kind


def test_findings_come_in_the_report_order(in_process: Path) -> None:
    order = {code: i for i, code in enumerate(FINDING_ORDER)}
    for codes in _codes(in_process):
        audit_findings = [c for c in codes if c in order]
        assert audit_findings == sorted(audit_findings, key=order.__getitem__)
        assert all(c in order for c in codes[1:]), codes


def test_report_columns_say_what_each_record_is(data: Synthetic, in_process: Path) -> None:
    rows = read_report(in_process).to_pylist()
    by_kind = {kind: row for row, kind in zip(rows, data.kinds, strict=True)}
    assert by_kind["not_a_record"]["channel"] is None and not by_kind["not_a_record"]["authentic"]
    assert by_kind["revoked"]["authentic"] and by_kind["expired"]["authentic"]
    assert not by_kind["device_signature"]["authentic"]
    assert not by_kind["unknown_issuer"]["authentic"]
    assert by_kind["delegation"]["delegated"]
    honest = [row for row, kind in zip(rows, data.kinds, strict=True) if kind == "honest"]
    assert {row["channel"] for row in honest} == {"qr", "nfc"}
    assert any(row["bound"] for row in honest) and any(row["signed"] for row in honest)
    assert all(len(row["device"]) == 16 and len(row["nonce"]) == 24 for row in honest)
    assert (in_process / "summary.md").read_text().startswith("audit of ")
    assert (in_process / "findings.png").read_bytes()[:4] == b"\x89PNG"


# --- the same report whatever the format, the partitions, the workers --------------------


def test_parquet_and_json_lines_give_the_same_report(
    data: Synthetic, in_process: Path, tmp_path: Path
) -> None:
    parquet = tmp_path / "evidence.parquet"
    data.write_parquet(parquet, row_group_size=23)
    _audit(data, [parquet], tmp_path / "out", partition_size=50)
    assert _codes(tmp_path / "out") == _codes(in_process)


def test_partitions_and_buckets_do_not_change_the_report(
    data: Synthetic, jsonl: Path, in_process: Path, tmp_path: Path
) -> None:
    for number, (size, buckets) in enumerate(((7, 1), (1000, 13), (33, 2))):
        out = tmp_path / f"out{number}"
        _audit(data, [jsonl], out, partition_size=size, buckets=buckets)
        assert read_report(out).equals(read_report(in_process)), (size, buckets)


def test_dask_two_workers_give_the_report_of_one(
    data: Synthetic, jsonl: Path, in_process: Path, tmp_path: Path
) -> None:
    tables = []
    for workers in (1, 2):
        out = tmp_path / f"dask{workers}"
        summary = _audit(data, [jsonl], out, partition_size=60, workers=workers)
        assert summary["run"]["workers"] == workers
        tables.append(read_report(out))
    assert tables[0].equals(tables[1])
    assert tables[0].equals(read_report(in_process))


def test_records_are_checked_where_their_device_is_routed(data: Synthetic) -> None:
    """The route read from the bytes is the device key the verifier returns, for every
    record that verifies: each phone is checked in one partition (its credentials
    cold once, whatever the workers), and its time line stays in that partition."""
    checker = Checker(data.material(), Directory(data.professionals), AuditParameters())
    buckets = 7
    routed: dict[bytes, int] = {}
    for position, record in enumerate(data.records):
        claimed = None if record is None else claimed_device(record)
        outcome = checker.check(record)
        if outcome.presentation is None:
            continue
        device = outcome.presentation.credential.device_key.x
        assert claimed == device, data.kinds[position]
        bucket = bucket_of(device, buckets)
        columns, nonces, timelines = check_partition(
            checker, 0, "x", [(position, position, record)], buckets
        )
        assert len(columns) == 1 and columns.positions == [position]
        if outcome.authentic:
            assert [len(line) for line in timelines] == [
                1 if b == bucket else 0 for b in range(buckets)
            ]
            assert sum(len(group) for group in nonces) == 1
        routed[device] = bucket
    assert len(routed) > 100


def test_the_route_of_any_bytes_is_a_key_or_none(data: Synthetic) -> None:
    rng = random.Random(11)
    good = [r for r in data.records if r is not None][:20]
    samples: list[bytes] = [b"", b"\xd2", b"\xa1", b"\xbf", b"\x9f\xff"]
    for record in good:
        samples += [record[:cut] for cut in range(0, len(record), 37)]
        flipped = bytearray(record)
        for _ in range(8):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        samples.append(bytes(flipped))
    samples += [rng.randbytes(rng.randrange(1, 400)) for _ in range(300)]
    samples.append(b"\xa2\x01" + b"\x81" * 5000 + b"\x00")  # nested deeper than any record
    samples.append(b"\xbb" + b"\xff" * 8)  # a map of 2^64 - 1 pairs, announced
    for sample in samples:
        device = claimed_device(sample)
        assert device is None or (isinstance(device, bytes) and len(device) == 32)
    assert all(claimed_device(record) is not None for record in good)


def test_check_partitions_are_rounds_of_the_workers() -> None:
    assert default_buckets(40_390, 2_500, 0) == 17
    assert default_buckets(40_390, 2_500, 1) == 17
    assert default_buckets(40_390, 2_500, 2) == 18
    assert default_buckets(40_390, 2_500, 16) == 32
    assert default_buckets(10, 50_000, 4) == 4
    assert default_buckets(0, 50_000, 0) == 1


def test_an_existing_report_is_replaced_only_when_asked(
    data: Synthetic, jsonl: Path, in_process: Path
) -> None:
    with pytest.raises(errors.FileExists):
        _audit(data, [jsonl], in_process)


# --- bad records ---------------------------------------------------------------------------


def test_bad_records_are_reported_with_their_code_and_never_stop_the_audit(
    data: Synthetic, tmp_path: Path
) -> None:
    rng = random.Random(5)
    good = next(r for r, kind in zip(data.records, data.kinds, strict=True) if kind == "honest")
    assert good is not None
    lines = [
        "not json at all",
        "[1, 2]",
        '{"evidence": 42}',
        '{"evidence": "===="}',
        "\u00e9t\u00e9",
        json.dumps({"evidence": base64.b64encode(good[:7]).decode()}),
        json.dumps({"evidence": base64.b64encode(good + b"\x00").decode()}),
        json.dumps({"evidence": base64.b64encode(b"\xd2" + good[1:]).decode()}),
        json.dumps({"evidence": ""}),
        *(
            json.dumps(
                {"evidence": base64.b64encode(rng.randbytes(rng.randrange(1, 300))).decode()}
            )
            for _ in range(40)
        ),
        "",
        json.dumps({"evidence": base64.b64encode(good).decode(), "invoice_id": "kept"}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    _audit(data, [path], tmp_path / "out", partition_size=9)
    rows = read_report(tmp_path / "out").to_pylist()
    assert len(rows) == len(lines) - 1  # the empty line is no record
    assert [row["row"] for row in rows] == [i for i, line in enumerate(lines) if line]
    for row in rows[:-1]:
        assert row["codes"], row
        assert row["code"] != "internal", row
    assert [row["code"] for row in rows[:9]] == [
        "audit.record_invalid",
        "audit.record_invalid",
        "audit.record_invalid",
        "audit.record_invalid",
        "audit.record_invalid",
        "cbor.length_exceeds_input",
        "cbor.trailing_bytes",
        "cbor.trailing_bytes",
        "cbor.length_exceeds_input",  # an empty record is a truncated one
    ]
    assert rows[-1]["codes"] == []


# --- what is in force at a time (spec/evidence.md section 7.2) -----------------------------------


def test_trust_lists_in_force_at_each_read(tmp_path: Path) -> None:
    world = make_world()
    material = world.material
    assert material.root_key is not None
    entry = TrustListEntry(
        kid=material.kid,
        algs=frozenset({CoseAlg.ES256}),
        usages=frozenset({Usage.CREDENTIAL, Usage.STATUS_LIST}),
        certificate=material.issuer_certificate.public_bytes(serialization.Encoding.DER),
    )
    authority = SoftwareSigner(material.root_key)
    first = sign_trust_list(
        TrustList(1, NOW - 86_400, NOW + 30 * 86_400, (entry,)),
        authority,
        kid=kid_for_certificate(material.root_certificate),
    )
    withdrawn = spki_sha256(material.issuer_certificate.public_key())
    second = sign_trust_list(
        TrustList(2, NOW + 6 * 3_600, NOW + 30 * 86_400, (), (withdrawn,)),
        authority,
        kid=kid_for_certificate(material.root_certificate),
    )
    # A third list names the key again: a withdrawal is for good.
    third = sign_trust_list(
        TrustList(3, NOW + 12 * 3_600, NOW + 30 * 86_400, (entry,)),
        authority,
        kid=kid_for_certificate(material.root_certificate),
    )
    pem = material.root_certificate.public_bytes(serialization.Encoding.PEM)
    archive = TrustArchive(AuditMaterial(pem=pem, trust_lists=(third, second, first)))
    assert archive.uses_trust_lists
    verifier = EvidenceVerifier(archive)

    def record(at: int) -> bytes:
        token = present(world.bundle.credentials[0], world.device, clock=FixedClock(at))
        return Evidence(EvidenceChannel.QR, token, at + 5, "ok", "101", b"i").encode()

    verifier.verify(record(NOW))  # list 1 in force
    with pytest.raises(errors.UnknownIssuer):
        verifier.verify(record(NOW + 7 * 3_600))  # list 2: the key is gone
    with pytest.raises(errors.KeyWithdrawn):
        verifier.verify(record(NOW + 13 * 3_600))  # list 3 names it, withdrawn for good
    later_only = EvidenceVerifier(TrustArchive(AuditMaterial(pem=pem, trust_lists=(second,))))
    with pytest.raises(errors.UnknownIssuer):
        later_only.verify(record(NOW))  # no list issued yet


def test_status_in_force_is_the_latest_list_issued_before_the_read(data: Synthetic) -> None:
    rows_by_kind: dict[str, list[Any]] = {}
    for kind, labels in zip(data.kinds, data.labels, strict=True):
        rows_by_kind.setdefault(kind, []).append(labels)
    # The revoked phones read in the morning are clean (the noon list revokes them).
    assert all(labels == {"status.revoked"} for labels in rows_by_kind["revoked"])
    assert len(data.status_lists) == 2


# --- the rules ---------------------------------------------------------------------------------


def test_the_travel_rule_flags_300_km_within_the_hour() -> None:
    parameters = AuditParameters()
    paris, lyon = (48.857, 2.352), (45.764, 4.836)
    assert 390 < haversine_km(paris, lyon) < 395
    assert parameters.travel_limit_km(3_600) < 300  # 284 km
    assert parameters.travel_limit_km(3 * 3_600) > 400
    with pytest.raises(ValueError, match="positive speed"):
        AuditParameters(max_speed_kmh=0)


def test_delegation_limits_syntax() -> None:
    limits = parse_limits("kinds=pharmacie, medecin ; until = 2027-03-31")
    assert limits is not None
    assert limits.kinds == {ProfessionalKind.PHARMACIE, ProfessionalKind.MEDECIN}
    assert limits.last_day == dt.date(2027, 3, 31) and limits.first_day is None
    for text in (
        "pharmacie uniquement",
        "kinds=plombier",
        "until=31/03/2027",
        "kinds=a;kinds=b",
        "",
    ):
        assert parse_limits(text) is None, text
    delegation = Delegation("A", "B", "kinds=pharmacie;from=2026-12-01;until=2026-12-31")
    december = int(dt.datetime(2026, 12, 10, tzinfo=dt.UTC).timestamp())
    january = int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp())
    assert _within_limits(delegation, december, ProfessionalKind.PHARMACIE)
    assert not _within_limits(delegation, december, ProfessionalKind.MEDECIN)
    assert not _within_limits(delegation, january, ProfessionalKind.PHARMACIE)
    assert _within_limits(delegation, december, None)  # kind unknown: not checked
    assert _within_limits(Delegation("A", "B", "free text"), january, ProfessionalKind.AUTRE)


def test_directory_lines(tmp_path: Path) -> None:
    path = tmp_path / "professionals.jsonl"
    path.write_text(
        '{"id": "101", "kind": "pharmacie", "lat": 48.8, "lon": 2.3}\n\n{"id": "102"}\n'
    )
    directory = Directory(load_directory(path))
    assert len(directory) == 2 and directory.position("102") is None
    assert directory.get("101") == Professional("101", ProfessionalKind.PHARMACIE, 48.8, 2.3)
    path.write_text('{"id": "101", "kind": "plombier"}\n')
    with pytest.raises(errors.InvalidArgument):
        load_directory(path)


# --- the command line ------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitale-cred", formatter_class=Help)
    audit_cli.register(parser.add_subparsers(dest="command"))
    return parser


def test_the_audit_command_documents_itself() -> None:
    sub = _parser()._subparsers
    assert sub is not None
    (choices,) = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
    audit = choices.choices["audit"]
    assert audit.description and (audit.epilog or "").startswith("example: vitale-cred audit")
    for action in audit._actions:
        assert isinstance(action, argparse._HelpAction) or action.help, action.dest
    text = audit.format_help()
    assert "(default: None)" not in text and "(default: False)" not in text


def test_the_audit_command_prints_the_summary(data: Synthetic, jsonl: Path, tmp_path: Path) -> None:
    (tmp_path / "readers.pem").write_bytes(data.pem)
    archive = tmp_path / "archive"
    archive.mkdir()
    for number, token in enumerate(data.status_lists):
        (archive / f"status-{number}.cwt").write_bytes(token)
    data.write_professionals(tmp_path / "professionals.jsonl")
    out = io.StringIO()
    args = _parser().parse_args(
        [
            "audit",
            str(jsonl),
            "--trust",
            str(tmp_path / "readers.pem"),
            "--archive",
            str(archive),
            "--professionals",
            str(tmp_path / "professionals.jsonl"),
            "--out",
            str(tmp_path / "report"),
            "--workers",
            "0",
            "--json",
        ]
    )
    assert args.func(args, out) == 0
    summary = json.loads(out.getvalue())
    assert summary["ok"] and summary["findings"] == dict(sorted(data.expected_counts().items()))
    out = io.StringIO()
    args = _parser().parse_args(
        ["audit", str(jsonl), "--trust", str(tmp_path / "readers.pem"), "--out",
         str(tmp_path / "report"), "--workers", "0", "--force"]
    )  # fmt: skip
    assert args.func(args, out) == 0
    table = out.getvalue()
    # Without the status lists and the directory, fewer findings, still a table.
    assert "| `audit.nonce_reused` | 4 |" in table and "status.revoked" not in table


def test_verify_evidence_out_writes_the_evidence_of_the_verdict(tmp_path: Path) -> None:
    world = make_world()
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock)
    parser = argparse.ArgumentParser()
    audit_cli.add_evidence_options(parser)
    key = tmp_path / "professional.pem"
    private = ec.generate_private_key(ec.SECP256R1())
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    log = tmp_path / "evidence.jsonl"
    args = parser.parse_args(
        ["--evidence-out", str(log), "--professional", "10101010101", "--invoice", "00ff",
         "--professional-key", str(key)]
    )  # fmt: skip
    verifier = world.verifier()
    result = audit_cli.verify_and_record(args, verifier, text)
    assert result.beneficiary_index == 0
    with pytest.raises(errors.PresentationReplayed):
        audit_cli.verify_and_record(args, verifier, text)
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    second = decode_evidence(base64.b64decode(json.loads(lines[1])["evidence"])).evidence
    assert second.verdict == "presentation.replayed" and second.invoice == b"\x00\xff"
    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes(b"<fse/>")
    single = tmp_path / "evidence.cbor"
    args = parser.parse_args(
        ["--evidence-out", str(single), "--professional", "10101010101", "--invoice-file",
         str(invoice)]
    )  # fmt: skip
    text = present_qr(world.bundle.credentials[0], world.device, clock=world.clock)
    audit_cli.verify_and_record(args, world.verifier(), text)
    assert EvidenceVerifier(world.trust).verify(single.read_bytes()).evidence.invoice == (
        invoice_digest(b"<fse/>")
    )
    with pytest.raises(errors.CommandLineError):
        audit_cli.verify_and_record(
            parser.parse_args(["--evidence-out", str(single), "--invoice", "00"]),
            world.verifier(),
            text,
        )


# --- without the extra, and the benchmark -----------------------------------------------


def test_the_library_imports_without_dask_or_pyarrow() -> None:
    code = (
        "import sys\n"
        "for name in ('dask', 'distributed', 'pyarrow', 'matplotlib'):\n"
        "    sys.modules[name] = None\n"
        "import vitale_cred, vitale_cred.audit, vitale_cred.evidence, vitale_cred.cli.audit\n"
        "from vitale_cred.errors import UsageError\n"
        "try:\n"
        "    vitale_cred.audit.run_audit(['x'], 'y', material=None)\n"
        "except UsageError as exc:\n"
        "    print(exc.code, 'vitale-cred[audit]' in exc.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["usage", "True"]


def test_the_scale_benchmark_runs_in_quick_mode(tmp_path: Path) -> None:
    from benchmarks import audit_scale

    out = tmp_path / "scale"
    assert audit_scale.main(["--quick", "--out", str(out)]) == 0
    results = json.loads((out / "audit_scale.json").read_text())
    assert results["quick"] and results["correct"]
    assert (out / "audit_scale.md").read_text().startswith("# ")
