"""The fund's audit of evidence of presence, at national scale (``spec/evidence.md`` 7).

Every electronic invoice carries an evidence record (:mod:`vitale_cred.evidence`).
The audit reads them from Parquet or JSON Lines files, checks each one as of the
time it records against the trust and status lists in force then, and looks across
records for what no single reader can see: the same token at two professionals, and
one phone at two places too far apart for the time between. It writes a report
(Parquet, a summary table, a chart).

It runs in this process, on a local Dask cluster (``workers=N``) or on a running one
(``scheduler=ADDRESS``), with the same partitioning and so the same report::

    from vitale_cred.audit import AuditMaterial, run_audit
    material = AuditMaterial(pem=open("readers.pem", "rb").read())
    summary = run_audit(["evidence.jsonl"], "report", material=material, workers=4)

Dask and pyarrow (the ``audit`` extra) are imported only when an audit runs.
"""

from vitale_cred.audit._archive import (
    AuditMaterial,
    Directory,
    Professional,
    StatusArchive,
    TrustArchive,
    classify_signed,
    load_directory,
)
from vitale_cred.audit._check import (
    AUTHENTIC_FAMILIES,
    COLUMNS,
    FINDING_ORDER,
    AuditParameters,
    Checker,
    DelegationLimits,
    haversine_km,
    parse_limits,
)
from vitale_cred.audit._inputs import EVIDENCE_COLUMN, Part, plan, read_part
from vitale_cred.audit._report import format_summary, read_report
from vitale_cred.audit._run import DEFAULT_PARTITION_SIZE, AuditJob, run_audit

__all__ = [
    "AUTHENTIC_FAMILIES",
    "COLUMNS",
    "DEFAULT_PARTITION_SIZE",
    "EVIDENCE_COLUMN",
    "FINDING_ORDER",
    "AuditJob",
    "AuditMaterial",
    "AuditParameters",
    "Checker",
    "DelegationLimits",
    "Directory",
    "Part",
    "Professional",
    "StatusArchive",
    "TrustArchive",
    "classify_signed",
    "format_summary",
    "haversine_km",
    "load_directory",
    "parse_limits",
    "plan",
    "read_part",
    "read_report",
    "run_audit",
]
