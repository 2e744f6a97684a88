#!/bin/sh
# Start pcscd in the background without systemd (CI containers, developer shells).
#
# Idempotent: if a pcscd answers on its socket, nothing is done. Otherwise stale
# socket/pid files left by a killed daemon are removed (pcscd refuses to start
# over them), pcscd is started detached, and the script waits until the socket
# accepts connections. The vsmartcard vpcd driver (package vsmartcard-vpcd) is
# loaded by pcscd from /etc/reader.conf.d/vpcd and listens on TCP 35963.
#
# Environment: PCSCD (binary, default: pcscd on PATH or /usr/sbin/pcscd),
# PCSCD_TIMEOUT (seconds to wait, default 10), PCSCD_LOG (default /tmp/pcscd.log).
set -eu

RUN_DIR=/run/pcscd
SOCKET="$RUN_DIR/pcscd.comm"
PID_FILE="$RUN_DIR/pcscd.pid"
TIMEOUT="${PCSCD_TIMEOUT:-10}"
LOG="${PCSCD_LOG:-/tmp/pcscd.log}"
PCSCD="${PCSCD:-$(command -v pcscd || echo /usr/sbin/pcscd)}"

if [ ! -x "$PCSCD" ]; then
    echo "start-pcscd: pcscd not found (apt-get install -y pcscd vsmartcard-vpcd)" >&2
    exit 127
fi

socket_ready() {
    # A listening Unix socket accepts a connection; a stale file refuses it.
    python3 - "$SOCKET" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(0.2)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

if [ -S "$SOCKET" ] && socket_ready; then
    echo "start-pcscd: pcscd already running"
    exit 0
fi

# pcscd exits at once when its pid file or socket is left over from a crash.
pcscd_alive() {
    # A live pcscd, not a zombie left unreaped (containers often lack an init that
    # reaps) nor another process that reused the pid.
    [ -r "/proc/$1/stat" ] || return 1
    [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "pcscd" ] || return 1
    [ "$(cut -d' ' -f3 "/proc/$1/stat")" != "Z" ]
}

if [ -f "$PID_FILE" ]; then
    pid="$(tr -cd '0-9' <"$PID_FILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && pcscd_alive "$pid"; then
        echo "start-pcscd: pcscd (pid $pid) is running but its socket does not answer" >&2
        exit 1
    fi
fi
rm -f "$SOCKET" "$PID_FILE"
mkdir -p "$RUN_DIR"

# --foreground keeps pcscd a plain child we detach ourselves; --info logs to $LOG.
nohup "$PCSCD" --foreground --info >"$LOG" 2>&1 </dev/null &

deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
    if [ -S "$SOCKET" ] && socket_ready; then
        echo "start-pcscd: pcscd ready (log: $LOG)"
        exit 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "start-pcscd: pcscd did not become ready within ${TIMEOUT}s; log follows" >&2
        cat "$LOG" >&2 || true
        exit 1
    fi
    sleep 0.01
done
