#!/usr/bin/env bash
# bench/calls.sh - authenticated calls per second and CPU per call of
# Ringfence (a B2BUA that anchors media in its relay) side by side with
# Kamailio 5.6 as a stateful proxy with digest auth, in one run, on one
# machine, with the same accounts and the same SIPp load.
#
# One call is INVITE -> 407 -> ACK -> INVITE with digest -> 100/180/200 ->
# ACK -> hold HOLD_MS (0 by default) -> BYE -> 200, from the harness's UAC at
# 127.0.1.2:5064 to its UAS at 127.0.1.3:5070, where the last NCALLEES
# accounts registered. Ringfence rewrites both SDPs to its relay, so every
# call takes relay ports from [media] rtp_port_min..rtp_port_max; Kamailio
# only forwards the SDP. No RTP flows (the harness's scenario sends none).
#
#   bench/calls.sh              full run (10000 accounts, 10 s ramp steps)
#   QUICK=1 bench/calls.sh      smoke test (2000 accounts, 3 s steps)
#
# It drives the shared measurement harness (measure-calls.sh does the ramp;
# see bench/README.md): ../shared/bench next to the repository, or
# $RF_SHARED_BENCH. It reuses bench/register.sh's helpers in bench/lib:
# the SIPp stand-in (lib/sipp-shim), the MD5-only challenge filter
# (lib/sipp-md5only.c) and the bulk provisioner (lib/rf-provision.c).
#
# Environment (defaults):
#   RF_SHARED_BENCH  harness folder            (REPO/../shared/bench)
#   RF_BUILD         Ringfence build folder    (REPO/build)
#   RINGFENCE_BIN    the binary                ($RF_BUILD/ringfence)
#   N                accounts                  (10000; QUICK: 2000)
#   NCALLEES         callee accounts           (1; see bench/README.md)
#   HOLD_MS          hold time of a call, ms   (0)
#   SERVERS          which servers to measure  ("kamailio ringfence")
#   KAM_IP / RF_IP / PORT                      (127.0.1.1 / 127.0.1.9 / 5060)
#   KAM_MODE         run-kamailio.sh --mode    (secure)
#   RTP_PORT_MIN / RTP_PORT_MAX                Ringfence relay ports (20000 / 59999)
#   MAX_CALLS / MAX_CPS / MAX_CALLS_PER_EXT    Ringfence [calls] limits, set
#                    above the test load so the limiter is not measured
#                    (100000 / 100000 / 100)
#   RATES STEP_SECS REFINE MAX_TOTAL_SECS      passed to measure-calls.sh
#                    (harness defaults; QUICK: "500 1000 2000 3000 4000 6000", 3, 0, 150)
#   QUIET_WAIT_S     longest wait for a quiet machine before a step (120; QUICK: 60)
#   RF_NO_BUILD      1: measure RF_BUILD as it is (default: build target
#                    ringfence there first)
#   PROVISION        auto | cli | bulk (as in bench/register.sh)
#   SIPP_MD5_FILTER  1: preload bench/lib/sipp-md5only.c into SIPp (1)
#   BENCH_VAR        folder for every output (a new mktemp folder, printed)
#   REPORT_ONLY      1: only print the summary of the run kept in BENCH_VAR
#
# Every loop is bounded, every process started here is stopped on exit, and
# the harness refuses any address outside 127.0.0.0/8.
set -uo pipefail
export LC_ALL=C

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF_LIB="$REPO/bench/lib"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fatal() { say "ERROR: $*"; exit 1; }

# ---------- settings ----------
QUICK="${QUICK:-0}"
HARNESS="${RF_SHARED_BENCH:-$REPO/../shared/bench}"
[ -d "$HARNESS" ] && [ -x "$HARNESS/measure-calls.sh" ] && [ -r "$HARNESS/lib/common.sh" ] ||
	fatal "benchmark harness not found at '$HARNESS' (expected measure-calls.sh and lib/common.sh there). Set RF_SHARED_BENCH to the harness folder."
HARNESS="$(cd "$HARNESS" && pwd)"

RF_BUILD="${RF_BUILD:-$REPO/build}"
RINGFENCE_BIN="${RINGFENCE_BIN:-$RF_BUILD/ringfence}"
SERVERS="${SERVERS:-kamailio ringfence}"
KAM_IP="${KAM_IP:-127.0.1.1}"
RF_IP="${RF_IP:-127.0.1.9}"
PORT="${PORT:-5060}"
KAM_MODE="${KAM_MODE:-secure}"
RTP_PORT_MIN="${RTP_PORT_MIN:-20000}"
RTP_PORT_MAX="${RTP_PORT_MAX:-59999}"
MAX_CALLS="${MAX_CALLS:-100000}"
MAX_CPS="${MAX_CPS:-100000}"
MAX_CALLS_PER_EXT="${MAX_CALLS_PER_EXT:-100}"
PROVISION="${PROVISION:-auto}"
PROBE_USERS="${PROBE_USERS:-20}"
PROVISION_CLI_MAX_S="${PROVISION_CLI_MAX_S:-90}"
SIPP_MD5_FILTER="${SIPP_MD5_FILTER:-1}"
if [ "$QUICK" = 1 ]; then
	N="${N:-2000}"
	export RATES="${RATES:-500 1000 2000 3000 4000 6000}"
	export STEP_SECS="${STEP_SECS:-3}" REFINE="${REFINE:-0}" MAX_TOTAL_SECS="${MAX_TOTAL_SECS:-150}"
	export QUIET_WAIT_S="${QUIET_WAIT_S:-60}"
else
	N="${N:-10000}"
	[ -n "${RATES:-}" ] && export RATES
	[ -n "${STEP_SECS:-}" ] && export STEP_SECS
	[ -n "${REFINE:-}" ] && export REFINE
	[ -n "${MAX_TOTAL_SECS:-}" ] && export MAX_TOTAL_SECS
	export QUIET_WAIT_S="${QUIET_WAIT_S:-120}"
fi
# One callee, and a short hold: see "The digest uri of a call" in
# bench/README.md. SIPp 3.6.1 signs every call with the one -auth_uri it was
# given, so only calls to a single callee carry a digest uri equal to their
# Request-URI (RFC 3261 22.4, checked by Ringfence); and one callee may hold
# at most MAX_CALLS_PER_EXT (<= 100) calls at once, which the hold bounds.
# The one callee's limit still bites when calls slow down: at R calls/s it
# has more than MAX_CALLS_PER_EXT calls in progress as soon as a call spends
# more than MAX_CALLS_PER_EXT / R seconds inside Ringfence (50 ms at
# 2,000/s), which some queueing on a shared machine is enough for. The
# summary prints the call_limit refusals by reason: "callee=..." means the
# one callee limited that run, not the server.
export NCALLEES="${NCALLEES:-1}"
export HOLD_MS="${HOLD_MS:-0}"
NCALLEES_EFF="$NCALLEES"
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 200 ] && [ "$N" -le 100000 ] || fatal "N must be 200..100000, not '$N'"
[[ "$NCALLEES_EFF" =~ ^[0-9]+$ ]] && [ "$NCALLEES_EFF" -ge 1 ] && [ "$NCALLEES_EFF" -lt "$N" ] || fatal "NCALLEES must be 1..N-1"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65534 ] || fatal "PORT must be 1024..65534, not '$PORT'"
[[ "$RTP_PORT_MIN" =~ ^[0-9]+$ ]] && [[ "$RTP_PORT_MAX" =~ ^[0-9]+$ ]] && [ $((RTP_PORT_MIN % 2)) = 0 ] &&
	[ "$RTP_PORT_MIN" -ge 1024 ] && [ "$RTP_PORT_MAX" -le 65535 ] && [ "$RTP_PORT_MIN" -lt "$RTP_PORT_MAX" ] ||
	fatal "RTP_PORT_MIN (even, >= 1024) must be below RTP_PORT_MAX (<= 65535)"
case "$PROVISION" in auto | cli | bulk) ;; *) fatal "PROVISION must be auto, cli or bulk, not '$PROVISION'" ;; esac
case "$KAM_MODE" in secure | plain) ;; *) fatal "KAM_MODE must be secure or plain" ;; esac
for s in $SERVERS; do
	case "$s" in kamailio | ringfence) ;; *) fatal "SERVERS: unknown server '$s' (kamailio, ringfence)" ;; esac
done

if [ -z "${BENCH_VAR:-}" ]; then
	BENCH_VAR="$(mktemp -d "${TMPDIR:-/tmp}/rf-calls.XXXXXX")" || fatal "cannot create an output folder"
fi
mkdir -p "$BENCH_VAR" || fatal "cannot create BENCH_VAR '$BENCH_VAR'"
BENCH_VAR="$(cd "$BENCH_VAR" && pwd)"
# The daemon drops to its service user when started as root: it must be
# able to reach its instance folder inside this one.
chmod 755 "$BENCH_VAR"
export BENCH_VAR
export USERS_FILE="$BENCH_VAR/users.csv"

# The harness's helpers: tree_mem, stop_pid, wait_quiet, sipp_stat, require_*.
# shellcheck source=/dev/null
. "$HARNESS/lib/common.sh"
# Ours, shared with register.sh and flood.sh: wait_udp, rf_conf_set,
# build_provisioner, kam_start and kam_stop.
# shellcheck source=lib/rf-bench.sh
. "$SELF_LIB/rf-bench.sh"
require_loopback "$KAM_IP"; require_loopback "$RF_IP"
require_cmd sipp timeout awk ss
[ "$KAM_IP" != "$RF_IP" ] || fatal "KAM_IP and RF_IP must differ"

# ---------- cleanup: stop everything we started, whatever happens ----------
RF_PID=""
WATCH_PID=""
FWD_PID=""
cleanup() {
	if [ -n "$FWD_PID" ]; then
		stop_pid "$FWD_PID" 2
		FWD_PID=""
	fi
	if [ -n "$WATCH_PID" ]; then
		stop_pid "$WATCH_PID" 2
		WATCH_PID=""
	fi
	if [ -n "$RF_PID" ]; then
		stop_pid "$RF_PID" 10
		RF_PID=""
	fi
	kam_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------- helpers ----------
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# ramp NAME IP PID: the harness's call ramp; output kept in NAME-calls.txt
ramp() {
	local out="$BENCH_VAR/$1-calls.txt" callee
	# The callee, when there is one: the last account (gen-csv.sh calls).
	callee=$(awk -F';' 'NF >= 2 && $1 !~ /^#/ { u = $1 } END { print u }' "$USERS_FILE")
	if [ "$NCALLEES" = 1 ]; then export RF_CALL_AUTH_URI="$callee@$2"; else unset RF_CALL_AUTH_URI; fi
	say "$1: measure-calls.sh $2 $PORT $3 (output: $out)"
	"$HARNESS/measure-calls.sh" "$2" "$PORT" "$3" 2>&1 | tee "$out" >&2
	grep -q '^cps=[1-9]' "$out"
}

# ---------- Kamailio ----------
run_kamailio() {
	local pid
	require_cmd kamailio sqlite3
	say "kamailio: starting ($KAM_MODE mode, stateful proxy with auth) on $KAM_IP:$PORT"
	kam_start "$KAM_IP" "$PORT" "$KAM_MODE" || fatal "kamailio did not start"
	pid=$KAM_PID
	ramp kamailio "$KAM_IP" "$pid" || say "kamailio: no ramp step passed"
	kam_stop
}

# ---------- Ringfence ----------
RF_DIR="$BENCH_VAR/ringfence"
RF_CONF="$RF_DIR/ringfence.conf"

rf() { "$RINGFENCE_BIN" -c "$RF_CONF" "$@"; }

# conf_set SECTION KEY VALUE: set (or uncomment, or add) KEY in [SECTION].
conf_set() { rf_conf_set "$RF_CONF" "$@"; }

# cli_add FIRST_LINE LAST_LINE: `ringfence ext add` for those lines of the
# accounts file; an existing extension (a demo one) gets `ext passwd`.
cli_add() {
	local u p err
	while IFS=';' read -r u p _; do
		# the password goes through stdin, never on a command line
		err=$(printf '%s\n' "$p" | rf ext add "$u" --password - 2>&1 >/dev/null) && continue
		if rf ext show "$u" </dev/null >/dev/null 2>&1; then
			err=$(printf '%s\n' "$p" | rf ext passwd "$u" --password - 2>&1 >/dev/null) && continue
		fi
		say "ringfence ext add $u failed: $err"
		return 1
	done < <(sed -n "$1,$2p" "$USERS_FILE")
}

provision_ringfence() {
	local t0 probe secs projected bin how="$PROVISION"
	probe=$PROBE_USERS; [ "$probe" -le "$N" ] || probe=$N
	[ "$how" = bulk ] && probe=0
	if [ "$probe" -gt 0 ]; then
		t0=$(now_s)
		cli_add 1 "$probe" || return 1
		secs=$(elapsed "$t0")
		projected=$(awk -v s="$secs" -v p="$probe" -v n="$N" 'BEGIN { printf "%.0f", s / p * n }')
		say "ringfence: CLI provisioning: $probe accounts in ${secs}s ($N would take ~${projected}s)"
		echo "cli_ms_per_account=$(awk -v s="$secs" -v p="$probe" 'BEGIN { printf "%.1f", s / p * 1000 }')" >"$BENCH_VAR/ringfence-provision.txt"
		[ "$how" = auto ] && { [ "$projected" -gt "$PROVISION_CLI_MAX_S" ] && how=bulk || how=cli; }
	fi
	[ "$probe" -lt "$N" ] || return 0
	t0=$(now_s)
	if [ "$how" = bulk ] && bin=$(build_provisioner "$RF_BUILD"); then
		say "ringfence: provisioning accounts $((probe + 1))..$N in one process ($bin)"
		"$bin" "$RF_CONF" "$USERS_FILE" "$probe" >&2 || return 1
	else
		how=cli
		say "ringfence: provisioning accounts $((probe + 1))..$N with one 'ringfence ext add' each"
		cli_add $((probe + 1)) "$N" || return 1
	fi
	say "ringfence: provisioned $((N - probe)) more accounts in $(elapsed "$t0")s ($how)"
	echo "rest=$how secs=$(elapsed "$t0")" >>"$BENCH_VAR/ringfence-provision.txt"
}

# relay_ports: UDP sockets Ringfence holds in its relay range right now.
relay_ports() {
	[ -n "$RF_PID" ] || { echo 0; return; }
	ss -Huanp 2>/dev/null | grep "pid=$RF_PID," | awk -v lo="$RTP_PORT_MIN" -v hi="$RTP_PORT_MAX" \
		'{ n = split($4, a, ":"); p = a[n] + 0; if (p >= lo && p <= hi) c++ } END { print c + 0 }'
}

# watch_relay SECONDS: the highest relay_ports seen, sampled every second
# (bounded), to show that calls did take media ports.
watch_relay() {
	local max=0 c
	for _ in $(seq 1 "$1"); do
		[ -n "$RF_PID" ] && kill -0 "$RF_PID" 2>/dev/null || break
		c=$(relay_ports); [ "$c" -gt "$max" ] && max=$c
		echo "$max" >"$BENCH_VAR/ringfence-relay-ports.txt"
		sleep 1
	done
}

# Ringfence sends a call to the address and port its callee registered
# from (the registration's flow), not to the port in the Contact. The
# harness registers the callee from UAS_PORT+1 (5071) and answers on
# UAS_PORT (5070), two SIPp processes. Once the registering SIPp has left
# 5071, this small forwarder takes that port: what Ringfence sends there goes
# to the UAS, and the UAS's answers go back to Ringfence from 5071, the flow
# it knows. Its CPU shows in the harness's all_cpu, not in Ringfence's.
build_flow_forwarder() {
	local bin="$BENCH_VAR/flow-forwarder"
	[ -x "$bin" ] && { echo "$bin"; return 0; }
	cat >"$bin.c" <<-'FWD'
		#include <arpa/inet.h>
		#include <netinet/in.h>
		#include <stdio.h>
		#include <stdlib.h>
		#include <string.h>
		#include <sys/socket.h>
		#include <unistd.h>
		/* flow-forwarder BIND_IP BIND_PORT UAS_PORT SERVER_IP SERVER_PORT SECS */
		int main(int argc, char **argv)
		{
			struct sockaddr_in me = {0}, uas = {0}, srv = {0}, from;
			socklen_t fl;
			char buf[65536];
			ssize_t n;
			int fd, i;
			if (argc != 7)
				return 2;
			me.sin_family = uas.sin_family = srv.sin_family = AF_INET;
			inet_pton(AF_INET, argv[1], &me.sin_addr);
			me.sin_port = htons((unsigned short)atoi(argv[2]));
			uas.sin_addr = me.sin_addr;
			uas.sin_port = htons((unsigned short)atoi(argv[3]));
			inet_pton(AF_INET, argv[4], &srv.sin_addr);
			srv.sin_port = htons((unsigned short)atoi(argv[5]));
			fd = socket(AF_INET, SOCK_DGRAM, 0);
			/* as large as SIPp's -buff_size, so bursts are not dropped here */
			i = 1 << 20;
			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &i, sizeof(i)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &i, sizeof(i));
			if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &i, sizeof(i)) != 0)
				setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &i, sizeof(i));
			/* the port frees when the registering SIPp exits: retry (bounded) */
			for (i = 0; bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0; i++) {
				if (i > 600) { perror("bind"); return 1; }
				usleep(100000);
			}
			alarm((unsigned)atoi(argv[6]));
			for (;;) {
				fl = sizeof(from);
				n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
				if (n <= 0)
					continue;
				if (from.sin_addr.s_addr == uas.sin_addr.s_addr && from.sin_port == uas.sin_port)
					sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&srv, sizeof(srv));
				else
					sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&uas, sizeof(uas));
			}
		}
	FWD
	cc -std=c11 -O2 -D_DEFAULT_SOURCE -o "$bin" "$bin.c" >"$bin.build.log" 2>&1 ||
		{ say "the flow forwarder did not build (see $bin.build.log)"; return 1; }
	echo "$bin"
}

# flow_forwarder SECS: wait (bounded) for the callee registration from
# 127.0.1.3:5071, then forward on that port for at most SECS.
flow_forwarder() {
	local bin ip="${UAS_IP:-127.0.1.3}" port="${UAS_PORT:-5070}"
	bin=$(build_flow_forwarder) || return 1
	# the callee's registration, as the security log records it
	for _ in $(seq 1 1200); do
		grep -q "event=register_ok src=$ip:$((port + 1)) " "$RF_DIR/security.log" 2>/dev/null && break
		sleep 0.05
	done
	# the forwarder retries its bind until the registering SIPp has gone
	exec "$bin" "$ip" $((port + 1)) "$port" "$RF_IP" "$PORT" "$1"
}

run_ringfence() {
	local ramp_max
	[ -x "$RINGFENCE_BIN" ] || fatal "no Ringfence binary at $RINGFENCE_BIN (build it, or set RF_BUILD / RINGFENCE_BIN)"
	ss -Hlun "src $RF_IP:$PORT" | grep -q . && fatal "$RF_IP:$PORT/udp is already in use"
	say "ringfence: new instance in $RF_DIR"
	"$RINGFENCE_BIN" init --dir "$RF_DIR" --listen "$RF_IP" --port "$PORT" >"$BENCH_VAR/ringfence-init.txt" 2>&1 ||
		{ cat "$BENCH_VAR/ringfence-init.txt" >&2; fatal "ringfence init failed"; }
	chmod 600 "$BENCH_VAR/ringfence-init.txt"   # it holds the demo extensions' passwords
	# realm = the domain the harness dials (sip:USER@IP), as for Kamailio.
	conf_set sip realm "$RF_IP"
	# The load generator is one address sending thousands of requests a
	# second: a flood by the guard's default budgets ([guard] flood_*). Raised
	# so the server is measured, not its limiter (bench/flood.sh measures
	# the guard's own cost).
	conf_set guard flood_rate 1000000
	conf_set guard flood_burst 1000000
	conf_set guard flood_rate_registered 1000000
	conf_set guard flood_burst_registered 1000000
	# Relay ports for every concurrent call (four per call), and call
	# limits above the test load: this measures calls, not the limiter.
	conf_set media rtp_port_min "$RTP_PORT_MIN"
	conf_set media rtp_port_max "$RTP_PORT_MAX"
	conf_set calls max_calls "$MAX_CALLS"
	conf_set calls max_cps "$MAX_CPS"
	conf_set calls max_calls_per_ext "$MAX_CALLS_PER_EXT"
	rf check-config >"$BENCH_VAR/ringfence-config.txt" 2>&1 ||
		{ cat "$BENCH_VAR/ringfence-config.txt" >&2; fatal "ringfence check-config refused the benchmark configuration"; }
	provision_ringfence || fatal "ringfence provisioning failed"

	say "ringfence: serving on $RF_IP:$PORT (relay ports $RTP_PORT_MIN-$RTP_PORT_MAX)"
	# Every concurrent call holds relay sockets: give the daemon room.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	"$RINGFENCE_BIN" -c "$RF_CONF" serve </dev/null >"$BENCH_VAR/ringfence-serve.log" 2>&1 &
	RF_PID=$!
	wait_udp "$RF_IP" "$PORT" 15 || { cat "$BENCH_VAR/ringfence-serve.log" >&2; fatal "ringfence did not listen on $RF_IP:$PORT within 15 s"; }
	kill -0 "$RF_PID" 2>/dev/null || { cat "$BENCH_VAR/ringfence-serve.log" >&2; fatal "ringfence exited"; }
	# The harness's time budget leaves out its waits for a quiet machine
	# and its repeats of disturbed steps (up to three per step), so on a
	# shared machine a ramp lasts several times MAX_TOTAL_SECS. A forwarder
	# that gave up first would fail every call after it. These bounds only
	# catch a script that died: cleanup stops both.
	ramp_max=$(( ${MAX_TOTAL_SECS:-480} * 4 + 600 ))
	watch_relay "$ramp_max" &
	WATCH_PID=$!
	flow_forwarder "$ramp_max" &
	FWD_PID=$!
	ramp ringfence "$RF_IP" "$RF_PID" || say "ringfence: no ramp step passed"
	stop_pid "$WATCH_PID" 2
	WATCH_PID=""
	# datagrams the forwarder's socket dropped (last column of /proc/net/udp)
	awk -v p="$(printf ':%04X' $((${UAS_PORT:-5070} + 1)))" '$2 ~ p"$" { print $NF }' /proc/net/udp \
		>"$BENCH_VAR/ringfence-forwarder-drops.txt" 2>/dev/null
	stop_pid "$FWD_PID" 2
	FWD_PID=""
	# Calls still in their final transactions need a moment; then every
	# relay port must be back in the pool.
	sleep 5
	echo "$(cat "$BENCH_VAR/ringfence-relay-ports.txt" 2>/dev/null || echo 0) $(relay_ports)" >"$BENCH_VAR/ringfence-relay-ports.txt"
	stop_pid "$RF_PID" 10
	RF_PID=""
	# The daemon's own account of refusals (a full transaction table, an
	# exhausted port pool ...): the most frequent warnings, counted.
	grep -E '^[^ ]+ (warn|error): ' "$BENCH_VAR/ringfence-serve.log" 2>/dev/null | cut -d' ' -f2- |
		sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 3 >"$BENCH_VAR/ringfence-warnings.txt"
	# Calls the limiter refused, by reason. With one callee, "callee" means
	# more than MAX_CALLS_PER_EXT calls were in progress at once: at R
	# calls/s that happens as soon as a call takes longer than
	# MAX_CALLS_PER_EXT / R seconds inside Ringfence (50 ms at 2,000/s).
	grep -o 'event=call_limit .*reason=[a-z_]*' "$RF_DIR/security.log" 2>/dev/null |
		sed 's/.*reason=//' | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }' \
		>"$BENCH_VAR/ringfence-call-limits.txt"
}

# ---------- report ----------
# field FILE KEY: value of KEY=... on the final cps= line (unit stripped)
field() { awk -v k="$2" '/^cps=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { v = a[2]; gsub(/[^0-9.]/, "", v); print v } } }' "$1" | tail -n 1; }
# limit_field FILE KEY: from the "# highest step tried" line
limit_field() { awk -v k="$2" '/^# highest step tried/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { v = a[2]; gsub(/[^0-9.]/, "", v); print v } } }' "$1" | tail -n 1; }
# passed_rows FILE: "rate srv_cpu sipp_cpu uas_cpu" of every passing ramp row
passed_rows() { awk '$1 ~ /^[0-9]+$/ && NF >= 15 && $NF == "PASS" { c = $9; s = $10; u = $11; gsub(/%/, "", c); gsub(/%/, "", s); gsub(/%/, "", u); print $1, c, s, u }' "$1"; }
us_per_call() { awk -v c="$1" -v r="$2" 'BEGIN { if (c == "" || r == "" || r == 0) print "NA"; else printf "%.1f", c / 100 / r * 1e6 }'; }

report_server() {
	local name="$1" out="$BENCH_VAR/$1-calls.txt" rate cpu sipp uas allc scpu other ff limit
	[ -s "$out" ] || { echo "$name: not measured"; return; }
	rate=$(field "$out" cps); cpu=$(field "$out" cpu)
	sipp=$(limit_field "$out" sipp_uac_cpu); uas=$(limit_field "$out" sipp_uas_cpu)
	allc=$(limit_field "$out" all_cpu); scpu=$(limit_field "$out" server_cpu)
	# CPU of unrelated processes during the first failing step
	other=$(awk -v a="${allc:-0}" -v c="${scpu:-0}" -v s="${sipp:-0}" -v u="${uas:-0}" 'BEGIN { printf "%.0f", a - c - s - u }')
	ff=$(grep -o 'first failing step: [^)]*' "$out" | tail -n 1 | sed 's/first failing step: //')
	if [ -z "$rate" ] || [ "$rate" = 0 ]; then
		limit="no step passed"
	elif [ "${ff#none}" != "$ff" ]; then
		limit="not reached: every rate in RATES passed (raise RATES)"
	elif [ "$other" -ge 30 ]; then
		limit="other processes on the machine (they used ${other}% of a core during the first failing step; the server ${scpu}%, SIPp ${sipp}%+${uas}%) - not a clean figure"
	elif awk -v s="${sipp:-0}" -v u="${uas:-0}" 'BEGIN { exit !(s >= 90 || u >= 90) }'; then
		limit="SIPp (UAC ${sipp}%, UAS ${uas}% of one core at the first failing rate)"
	elif awk -v a="${allc:-0}" -v n="$(nproc)" 'BEGIN { exit !(a >= 90 * n) }'; then
		limit="the machine's cores, shared by the server and both SIPps (all_cpu=${allc}% of $(($(nproc) * 100))%: server ${scpu}%, UAC ${sipp}%, UAS ${uas}%)"
	else
		limit="the server (server ${scpu}%, UAC ${sipp}%, UAS ${uas}%, all_cpu=${allc}% of $(($(nproc) * 100))% at the first failing rate)"
	fi
	printf '%s\n' "$name:"
	printf '  highest call rate with no failures: %s/s   first failing step: %s   limited by: %s\n' "${rate:-0}" "${ff:-none}" "$limit"
	printf '  CPU at that rate: %s%% of one core = %s us per call\n' "${cpu:-NA}" "$(us_per_call "$cpu" "$rate")"
	printf '  final line: %s\n' "$(grep '^cps=' "$out" | tail -n 1)"
	eval "R_RATE_$name=\${rate:-0} R_CPU_$name=\${cpu:-}"
}

report() {
	local k="$BENCH_VAR/kamailio-calls.txt" r="$BENCH_VAR/ringfence-calls.txt" uk ur common ck cr cr_rate rp
	echo
	echo "== Authenticated calls: $N accounts ($NCALLEES_EFF callee(s), hold ${HOLD_MS} ms), SIPp UAC 127.0.1.2 / UAS 127.0.1.3, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ) =="
	echo "   (CPU is % of one core; us per call = cpu / 100 / cps * 1e6)"
	[ -s "$BENCH_VAR/build-version.txt" ] && echo "   ringfence build: $(cat "$BENCH_VAR/build-version.txt")"
	[ -s "$BENCH_VAR/ringfence-provision.txt" ] && echo "   ringfence provisioning: $(paste -sd' ' "$BENCH_VAR/ringfence-provision.txt")"
	if [ -s "$BENCH_VAR/ringfence-relay-ports.txt" ]; then
		read -r rp_max rp_end <"$BENCH_VAR/ringfence-relay-ports.txt"
		echo "   ringfence relay: at most ${rp_max:-NA} relay ports open during the ramp, ${rp_end:-NA} open 5 s after it"
	fi
	if [ -f "$BENCH_VAR/ringfence-warnings.txt" ]; then
		if [ -s "$BENCH_VAR/ringfence-warnings.txt" ]; then
			echo "   ringfence log warnings (count, numbers as N):"
			sed 's/^/     /' "$BENCH_VAR/ringfence-warnings.txt"
		else
			echo "   ringfence log: no warnings or errors"
		fi
	fi
	if [ -f "$BENCH_VAR/ringfence-call-limits.txt" ]; then
		echo "   ringfence call_limit refusals (security log): $(grep . "$BENCH_VAR/ringfence-call-limits.txt" || echo none)"
	fi
	[ -s "$BENCH_VAR/ringfence-forwarder-drops.txt" ] &&
		echo "   ringfence callee flow forwarder: $(head -n 1 "$BENCH_VAR/ringfence-forwarder-drops.txt") datagrams dropped by its socket"
	for s in $SERVERS; do report_server "$s"; done
	[ -s "$k" ] && [ -s "$r" ] || { echo "outputs in $BENCH_VAR"; return; }
	uk=$(us_per_call "${R_CPU_kamailio:-}" "${R_RATE_kamailio:-0}")
	ur=$(us_per_call "${R_CPU_ringfence:-}" "${R_RATE_ringfence:-0}")
	echo "comparison:"
	echo "  at each server's highest rate: Ringfence ${ur} us / Kamailio ${uk} us = $(awk -v a="$ur" -v b="$uk" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }')x"
	# the same load for both: the highest rate both passed
	common=$(join <(passed_rows "$k" | sort -k1,1) <(passed_rows "$r" | sort -k1,1) | sort -n -k1,1 | tail -n 1)
	if [ -n "$common" ]; then
		read -r cr_rate ck _ _ cr _ _ <<<"$common"
		echo "  at the same rate ($cr_rate/s): Ringfence $(us_per_call "$cr" "$cr_rate") us (cpu ${cr}%) / Kamailio $(us_per_call "$ck" "$cr_rate") us (cpu ${ck}%) = $(awk -v a="$cr" -v b="$ck" 'BEGIN { if (b == 0) print "NA"; else printf "%.2f", a / b }')x"
	fi
	echo "target (issue 3, section 8): CPU per call at most 1.0x Kamailio's"
	awk -v a="$ur" -v b="$uk" 'BEGIN { if (a == "NA" || b == "NA") print "  each at its highest rate: not measured"; else printf "  each at its highest rate: %s (%.2fx)\n", (a <= b) ? "MET" : "NOT MET", a / b }'
	[ -n "$common" ] && awk -v a="$cr" -v b="$ck" -v r="$cr_rate" 'BEGIN { if (b > 0) printf "  same load (%d/s): %s (%.2fx)\n", r, (a <= b) ? "MET" : "NOT MET", a / b }'
	awk -v a="$ur" 'BEGIN { if (a != "NA") printf "  against the harness reference (Kamailio about 240 us at 4,000/s): %.2fx\n", a / 240 }'
	echo "outputs in $BENCH_VAR"
}

# Every SIPp the harness starts goes through bench/lib/sipp-shim/sipp (first
# in PATH), for both servers alike: digest uri = the Request-URI's domain,
# and bench/lib/sipp-md5only.c preloaded (SIPp 3.6.1 answers only the first
# challenge and only MD5; Ringfence offers SHA-256 first).
setup_sipp_shim() {
	local dir="$BENCH_VAR/sipp-filter"
	RF_SIPP_REAL=$(command -v sipp) || fatal "sipp not found"
	export RF_SIPP_REAL
	if [ "$SIPP_MD5_FILTER" = 1 ]; then
		mkdir -p "$dir"
		cc -std=c11 -O2 -D_GNU_SOURCE -shared -fPIC -o "$dir/sipp-md5only.so" "$SELF_LIB/sipp-md5only.c" -ldl \
			>"$dir/build.log" 2>&1 || fatal "cannot build the SIPp challenge filter (see $dir/build.log)"
		export RF_SIPP_PRELOAD="$dir/sipp-md5only.so"
	fi
	# The call UAC alone signs the uri of the one callee (RF_CALL_AUTH_URI,
	# set per server by ramp); every other SIPp keeps the shim's -auth_uri.
	# The callee UAS is never challenged, so it runs without the challenge
	# filter: with the filter loaded it did not answer Ringfence's INVITEs.
	mkdir -p "$BENCH_VAR/sipp-call-uri"
	cat >"$BENCH_VAR/sipp-call-uri/sipp" <<-'WRAP'
		#!/usr/bin/env bash
		add=()
		for a in "$@"; do
			case "$a" in
			*/uac-call-auth.xml) [ -n "${RF_CALL_AUTH_URI:-}" ] && add=(-auth_uri "$RF_CALL_AUTH_URI") ;;
			*/uas.xml) unset RF_SIPP_PRELOAD ;;
			esac
		done
		exec "$RF_SIPP_SHIM" "$@" "${add[@]}"
	WRAP
	chmod 755 "$BENCH_VAR/sipp-call-uri/sipp"
	export RF_SIPP_SHIM="$SELF_LIB/sipp-shim/sipp"
	PATH="$BENCH_VAR/sipp-call-uri:$SELF_LIB/sipp-shim:$PATH"
	export PATH
}

# Ringfence's password policy runs cracklib, which refuses about one random
# 24-character password in 2000. Both servers must get the same accounts, so
# such passwords are replaced before either server sees the file (bounded).
fix_passwords() {
	local round bad tmp="$USERS_FILE.fix"
	command -v cracklib-check >/dev/null 2>&1 || { say "cracklib-check not installed: passwords not pre-checked"; return 0; }
	for round in 1 2 3 4 5; do
		bad=$(cut -d';' -f2 "$USERS_FILE" | cracklib-check | awk '!/: OK$/ { sub(/: [^:]*$/, ""); print }' | sort -u)
		bad="$bad
$(awk -F';' 'index($2, $1) > 0 { print $2 }' "$USERS_FILE")"
		bad=$(printf '%s\n' "$bad" | grep -v '^$' | sort -u)
		[ -n "$bad" ] || return 0
		say "replacing $(printf '%s\n' "$bad" | wc -l) password(s) the policy would refuse (round $round)"
		printf '%s\n' "$bad" | while read -r old; do
			printf '%s %s%s!7aZ\n' "$old" "$(tr -dc 'A-Za-z' </dev/urandom | head -c 1)" \
				"$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 19)"
		done >"$tmp.map"
		awk -F';' -v OFS=';' 'NR == FNR { split($0, f, " "); new[f[1]] = f[2]; next }
			($2 in new) { $2 = new[$2] } { print }' "$tmp.map" "$USERS_FILE" >"$tmp" &&
			cat "$tmp" >"$USERS_FILE" && rm -f "$tmp" "$tmp.map"
	done
	fatal "could not find policy-compliant passwords in 5 rounds"
}

# Bring the build under test up to date with the tree. RF_NO_BUILD=1
# measures the build folder as it is.
build_ringfence() {
	[[ " $SERVERS " == *" ringfence "* ]] || return 0
	[ "${RF_NO_BUILD:-0}" = 1 ] && return 0
	[ -f "$RF_BUILD/CMakeCache.txt" ] || { say "$RF_BUILD is not a CMake build folder: measuring $RINGFENCE_BIN as it is"; return 0; }
	say "building $RF_BUILD (target ringfence)"
	cmake --build "$RF_BUILD" -j"$(nproc)" --target ringfence >"$BENCH_VAR/build.log" 2>&1 ||
		{ tail -n 20 "$BENCH_VAR/build.log" >&2; fatal "the build failed (log: $BENCH_VAR/build.log)"; }
	( cd "$REPO" && git rev-parse --short HEAD 2>/dev/null && git status --porcelain -- src 2>/dev/null | wc -l ) |
		paste -sd' ' | awk '{ print "commit=" $1 " uncommitted_src_files=" $2 }' >"$BENCH_VAR/build-version.txt"
}

# ---------- main ----------
if [ "${REPORT_ONLY:-0}" = 1 ]; then
	[ -s "$USERS_FILE" ] || fatal "no earlier run in $BENCH_VAR"
	N=$(grep -c ';' "$USERS_FILE")
	report
	exit 0
fi
T0=$(date +%s)
say "outputs in $BENCH_VAR; harness $HARNESS; $N accounts; servers: $SERVERS"
setup_sipp_shim
"$HARNESS/gen-users.sh" "$N" "$USERS_FILE" || fatal "gen-users.sh failed"
fix_passwords
build_ringfence
# Each server runs in a subshell with its own clean-up, so a server that
# fails does not stop the other one or the report.
for s in $SERVERS; do
	wait_quiet 0 "$QUIET_WAIT_S"
	( trap cleanup EXIT; trap 'exit 130' INT TERM HUP; "run_$s" ) || { rc=$?; [ "$rc" = 130 ] && exit 130; say "$s: measurement failed"; }
done
report | tee "$BENCH_VAR/summary.txt"
say "done in $(($(date +%s) - T0)) s"
