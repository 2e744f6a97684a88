#!/usr/bin/env bash
# CI for the JavaScript reader: Node from Debian when none is installed, `npm ci` from
# the committed lockfile (no install scripts), then every conformance vector through
# adapter.mjs. Fails when a case fails, or when a case of a file the reader claims is
# skipped; the files it does not claim (status, trust lists, statements, NFC) are
# reported as skipped, with their reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== apt-get install nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "== js-reader: node $(node --version), npm $(npm --version)"

cd "$here"
npm ci --omit=optional --ignore-scripts --no-audit --no-fund

cd "$root"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
python3 spec/vectors/run.py --json --adapter "node examples/js-reader/adapter.mjs" spec/vectors \
  > "$report" || status=$?
python3 - "$report" "$status" <<'PY'
import json
import sys

CLAIMED = {"qr", "cbor", "cose", "credential", "presentation", "trust"}
report = json.load(open(sys.argv[1], encoding="utf-8"))
print(f"{'area':<14}{'cases':>7}{'pass':>7}{'fail':>7}{'skip':>7}")
for area, row in report["areas"].items():
    mark = "" if area in CLAIMED else "  (not claimed)"
    print(f"{area:<14}{row['cases']:>7}{row['pass']:>7}{row['fail']:>7}{row['skip']:>7}{mark}")
for failure in report["failures"]:
    print(f"FAIL {failure['id']}: {failure['reason']}")
unexpected = {a: r["skip"] for a, r in report["areas"].items() if a in CLAIMED and r["skip"]}
for area, count in unexpected.items():
    print(f"FAIL {area}: {count} cases of a claimed file were skipped")
print(f"{report['cases']} cases: {report['passed']} passed, {report['failed']} failed, "
      f"{report['skipped']} skipped")
sys.exit(1 if report["failed"] or unexpected or sys.argv[2] != "0" else 0)
PY
