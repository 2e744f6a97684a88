#!/usr/bin/env bash
# Run every atheris harness for a bounded time; fail on any unexpected exception.
#
#   bash fuzz/run.sh [SECONDS]     SECONDS per harness (default 30; CI: 10)
#
# Environment:
#   FUZZ_RUNS=N        run N inputs per harness instead of a time budget
#   FUZZ_SEED=N        libFuzzer seed: with FUZZ_RUNS, the same inputs on every run (CI)
#   FUZZ_JOBS=N        harnesses run at once (default: the number of cores, at most 2)
#   FUZZ_HARNESSES="cbor qr"   a subset (default: all)
#   FUZZ_WORK=DIR      keep the corpora, logs and crash files there (default: a temp dir)
#   VITALE_FUZZ_STRICT=1       also fail on the reported bugs listed in _world.KNOWN_BUGS
#
# A harness fails when it raises anything but the errors its docstring expects, breaks
# one of its round-trip properties, spends more than 10 s on one input, or exceeds
# 2 GiB of memory. Each harness starts from the seed corpus of make_corpus.py.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-30}
PY=${PYTHON:-python3}
ALL="cbor cose qr presentation apdu status_list trust_list nfc_holder nfc_reader inspect"
HARNESSES=${FUZZ_HARNESSES:-$ALL}
CORES=$(nproc 2>/dev/null || echo 1)
JOBS=${FUZZ_JOBS:-$((CORES < 2 ? CORES : 2))}
WORK=${FUZZ_WORK:-$(mktemp -d -t vitale-fuzz.XXXXXX)}
mkdir -p "$WORK/logs" "$WORK/artifacts"

if ! $PY -c 'import atheris' 2>/dev/null; then
  echo "== pip install atheris"
  $PY -m pip install -q --disable-pip-version-check 'atheris>=2.3' 2>&1 \
    | grep -v -e '^WARNING: Running pip as' || true
fi

echo "== seed corpus"
$PY fuzz/make_corpus.py "$WORK/seeds"

if [ -n "${FUZZ_RUNS:-}" ]; then
  BUDGET=(-runs="$FUZZ_RUNS")
  echo "== fuzzing: $FUZZ_RUNS inputs per harness, $JOBS at a time; work dir $WORK"
else
  BUDGET=(-max_total_time="$SECONDS_EACH")
  echo "== fuzzing: ${SECONDS_EACH}s per harness, $JOBS at a time; work dir $WORK"
fi

run_one() {
  local name=$1
  mkdir -p "$WORK/corpus/$name"
  $PY "fuzz/fuzz_$name.py" "${BUDGET[@]}" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
    -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$WORK/artifacts/$name-" -print_final_stats=1 \
    "$WORK/corpus/$name" "$WORK/seeds/$name" >"$WORK/logs/$name.log" 2>&1
}

declare -A PIDS=()
for name in $HARNESSES; do
  while (($(jobs -rp | wc -l) >= JOBS)); do
    wait -n || true
  done
  run_one "$name" &
  PIDS[$name]=$!
done

failed=0
printf '%-14s %12s %9s %10s  %s\n' harness inputs seconds inputs/s result
for name in $HARNESSES; do
  rc=0
  wait "${PIDS[$name]}" || rc=$?
  log="$WORK/logs/$name.log"
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  inputs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/' <<<"$done_line")
  secs=$(sed -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/' <<<"$done_line")
  result=ok
  if ((rc != 0)) || [ -z "$done_line" ] \
    || grep -q -e 'Uncaught Python exception' -e 'ERROR: libFuzzer' "$log"; then
    result="FAILED (exit $rc)"
    failed=$((failed + 1))
  elif grep -q '^KNOWN BUG reached' "$log"; then
    result="ok (known bug reached, see log)"
  fi
  rate=-
  if [ -n "$inputs" ] && [ -n "$secs" ] && ((secs > 0)); then
    rate=$((inputs / secs))
  fi
  printf '%-14s %12s %9s %10s  %s\n' "$name" "${inputs:--}" "${secs:--}" "$rate" "$result"
done

if ((failed)); then
  for name in $HARNESSES; do
    log="$WORK/logs/$name.log"
    if grep -q -e 'Uncaught Python exception' -e 'ERROR: libFuzzer' "$log" \
      || ! grep -q -E '^Done [0-9]+ runs' "$log"; then
      echo "== $name: last lines of $log"
      tail -40 "$log"
    fi
  done
  echo "fuzz: $failed harness(es) found an unexpected exception; inputs in $WORK/artifacts"
  exit 1
fi
echo "fuzz: no unexpected exception (logs in $WORK/logs)"
