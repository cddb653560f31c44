#!/usr/bin/env bash
# bench/lib/register-ab.sh - two (or more) Ringfence binaries on one
# instance, one after the other, at one REGISTER rate: CPU per registration
# of each, measured minutes apart on the same accounts, database and SIPp.
# On a shared machine the background load drifts between ramps of separate
# runs; alternating the binaries step by step makes their difference the
# figure, not the drift.
#
#   bench/lib/register-ab.sh BENCH_VAR RATE ROUNDS BINARY...
#
# BENCH_VAR is the output folder of an earlier bench/register.sh run
# (its ringfence/ instance with 10,000 accounts, users.csv and the SIPp
# filter). A copy of the instance is used, with the load generator in
# [guard] whitelist: each binary starts cold, and a cold daemon has not yet
# seen the generator authenticate, so thousands of challenged extensions a
# second would ban it as a scanner. Each step: start the binary, run SIPp
# for STEP_SECS (10) at RATE, read the daemon's CPU ticks from /proc, stop it.
set -uo pipefail
export LC_ALL=C
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HARNESS="${RF_SHARED_BENCH:-$REPO/../shared/bench}"
[ $# -ge 4 ] || { echo "usage: $0 BENCH_VAR RATE ROUNDS BINARY..." >&2; exit 2; }
SRC="$1" RATE="$2" ROUNDS="$3"
shift 3
STEP_SECS="${STEP_SECS:-10}"
[[ "$RATE" =~ ^[0-9]+$ && "$ROUNDS" =~ ^[0-9]+$ ]] || { echo "RATE and ROUNDS are numbers" >&2; exit 2; }
[ -d "$SRC/ringfence" ] && [ -s "$SRC/users.csv" ] || { echo "$SRC holds no bench/register.sh run" >&2; exit 2; }
# shellcheck source=/dev/null
. "$HARNESS/lib/common.sh"
IP="${RF_IP:-127.0.1.9}" PORT="${PORT:-5060}" CLIENT=127.0.1.2
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rf-ab.XXXXXX")"
chmod 755 "$WORK"
cp -a "$SRC/ringfence" "$WORK/inst"
awk -v c="$CLIENT/32" '{ print } /^\[guard\]$/ { print "whitelist = " c }' "$WORK/inst/ringfence.conf" >"$WORK/conf" &&
	cat "$WORK/conf" >"$WORK/inst/ringfence.conf"
"$HARNESS/sipp/gen-csv.sh" register "$SRC/users.csv" "$WORK/reg.csv"
export RF_SIPP_REAL
RF_SIPP_REAL=$(command -v sipp)
[ -r "$SRC/sipp-filter/sipp-md5only.so" ] && export RF_SIPP_PRELOAD="$SRC/sipp-filter/sipp-md5only.so"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rcvbuf_errors() { awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp; }

echo "# rate=$RATE/s steps=${STEP_SECS}s $(nproc) cores; us/reg = daemon CPU during the step / successful registrations"
for _ in $(seq 1 "$ROUNDS"); do
	for bin in "$@"; do
		"$bin" -c "$WORK/inst/ringfence.conf" serve </dev/null >"$WORK/serve.log" 2>&1 &
		PID=$!
		for _ in $(seq 1 100); do ss -Hlun "src $IP:$PORT" | grep -q . && break; sleep 0.1; done
		sleep 1
		t0=$(ticks "$PID") e0=$(rcvbuf_errors) psi0=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu)
		PATH="$REPO/bench/lib/sipp-shim:$PATH" timeout -k 5 $((STEP_SECS * 4 + 20)) sipp "$IP:$PORT" \
			-sf "$SIPP_DIR/register-auth.xml" -inf "$WORK/reg.csv" -i "$CLIENT" -p 5062 \
			-key domain "$IP" -key contact_hp "$CLIENT:5062" -key expires 3600 -buff_size 1048576 \
			-r "$RATE" -m $((RATE * STEP_SECS)) -l "$RATE" -timeout $((STEP_SECS * 4))s \
			-trace_stat -stf "$WORK/step.stat" -fd 1 -nostdin </dev/null >"$WORK/sipp.out" 2>&1
		t1=$(ticks "$PID") e1=$(rcvbuf_errors) psi1=$(awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/cpu)
		kill "$PID"; wait "$PID" 2>/dev/null; PID=""
		ok=$(sipp_stat "$WORK/step.stat" "SuccessfulCall(C)")
		awk -v b="$bin" -v t=$((t1 - t0)) -v ok="$ok" -v f="$(sipp_stat "$WORK/step.stat" "FailedCall(C)")" \
			-v r="$(sipp_stat "$WORK/step.stat" "Retransmissions(C)")" -v e=$((e1 - e0)) \
			-v psi=$(((psi1 - psi0) / 10000 / STEP_SECS)) -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%s ok=%s failed=%s retrans=%s udp_rcvbuf_errors=%s cpu_psi~%d%% us/reg=%.1f\n",
				b, ok, f, r, e, psi, (ok > 0 ? t / hz * 1e6 / ok : 0) }'
	done
done
