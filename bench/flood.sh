#!/usr/bin/env bash
# bench/flood.sh - what flood protection costs (S5): how many packets a
# second Ringfence throws away per core before parsing them, and what the
# guard costs a registration when there is no attack.
#
#   bench/flood.sh                 full run (10 s floods, 4000 registrations)
#   QUICK=1 bench/flood.sh         smoke run (4 s floods, 1000 registrations)
#
# A script you run by hand, not a test. Every run is wrapped in
# `flock /tmp/rf-bench.lock`, so it never overlaps another benchmark.
#
# The daemon is pinned to CPU 0 and the load to CPU 1 (taskset), so "per
# core" means the daemon's signalling thread on a core of its own. For each
# measurement a fresh instance is started, and the CPU time of its
# signalling thread (/proc/PID/task/PID/stat) is read before and after.
#
#   1. banned      a flood (udp-flood: sendmmsg, one REGISTER over and
#                  over) from an address banned with `ringfence ban add`:
#                  dropped by the ban lookup before parsing.
#   2. over budget a flood from an address that is not banned but over its
#                  packet budget ([guard] flood_time = 3600 so it is never
#                  banned): dropped by the token bucket before parsing.
#   3. read floor  the same flood into udp-sink, a program that only reads
#                  datagrams the way the daemon does (recvmmsg, 32 per call,
#                  8 calls per wake-up) and throws them away: what one core
#                  can read at all. The gap between 1/2 and 3 is our work.
#   4. the anchor  the same flood against Kamailio 5.6 with pike and a ban
#                  table (the shared harness's --mode secure), when
#                  kamailio is installed (KAMAILIO=0 skips it).
#   5. registrations REG_N authenticated registrations (REGISTER -> 401 ->
#                  REGISTER with digest -> 200, SIPp, MD5) at REG_RATE/s,
#                  three passes with the guard on and three with [guard]
#                  enabled = false, alternating, each on a fresh daemon over
#                  the same accounts: signalling-thread CPU per registration
#                  and the rate achieved. SIPp is one address sending
#                  thousands of packets a second, a flood by the default
#                  budget, so the budgets are raised (as bench/register.sh
#                  does): what is measured is the cost of the checks, not
#                  the limiter.
#
# Dropped packets are the daemon's own count, from the line it logs when it
# stops ("guard: N packets from banned sources, M over budget ...").
#
# Environment (defaults):
#   RINGFENCE_BIN   the binary (REPO/build/ringfence)
#   RF_IP / PORT    the daemon's address (127.0.4.9 / 5090)
#   FLOOD_SECS      seconds per flood (10; QUICK: 4)
#   REG_N REG_RATE  registrations per pass and their rate (10000, 5000/s; QUICK: 2000)
#   RF_SHARED_BENCH the shared harness, for gen-users.sh and SIPp scenarios
#                   (REPO/../shared/bench)
#   BENCH_VAR       output folder (a new mktemp folder, printed)
#   KAM_IP          the anchor's address (127.0.4.8)
#   KAMAILIO        0: skip the anchor
#   PERF            1: profile the signalling thread during each flood (perf)
#   NO_LOCK         1: do not take /tmp/rf-bench.lock (already held)
set -uo pipefail
export LC_ALL=C

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "${NO_LOCK:-0}" != 1 ]; then
	exec flock /tmp/rf-bench.lock env NO_LOCK=1 "$0" "$@"
fi

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fatal() { say "ERROR: $*"; exit 1; }

QUICK="${QUICK:-0}"
RINGFENCE_BIN="${RINGFENCE_BIN:-$REPO/build/ringfence}"
RF_IP="${RF_IP:-127.0.4.9}"
PORT="${PORT:-5090}"
BANNED_IP=127.0.4.1
OVER_IP=127.0.4.2
SIPP_IP=127.0.4.20
HARNESS="${RF_SHARED_BENCH:-$REPO/../shared/bench}"
if [ "$QUICK" = 1 ]; then
	FLOOD_SECS="${FLOOD_SECS:-4}"; REG_N="${REG_N:-2000}"
else
	FLOOD_SECS="${FLOOD_SECS:-10}"; REG_N="${REG_N:-10000}"
fi
REG_RATE="${REG_RATE:-5000}"
[[ "$FLOOD_SECS" =~ ^[0-9]+$ ]] && [ "$FLOOD_SECS" -ge 1 ] && [ "$FLOOD_SECS" -le 60 ] || fatal "FLOOD_SECS must be 1..60"
[[ "$REG_N" =~ ^[0-9]+$ ]] && [ "$REG_N" -ge 100 ] && [ "$REG_N" -le 50000 ] || fatal "REG_N must be 100..50000"
[[ "$REG_RATE" =~ ^[0-9]+$ ]] && [ "$REG_RATE" -ge 10 ] && [ "$REG_RATE" -le 100000 ] || fatal "REG_RATE must be 10..100000"
case "$RF_IP" in 127.*) ;; *) fatal "RF_IP must be a 127.0.0.0/8 address" ;; esac
[ -x "$RINGFENCE_BIN" ] || fatal "no Ringfence binary at $RINGFENCE_BIN (make, or set RINGFENCE_BIN)"
for c in cc taskset ss awk; do command -v "$c" >/dev/null || fatal "$c is required"; done
[ "$(nproc)" -ge 2 ] || fatal "two cores are needed: the daemon on one, the load on the other"

if [ -z "${BENCH_VAR:-}" ]; then
	BENCH_VAR="$(mktemp -d "${TMPDIR:-/tmp}/rf-flood.XXXXXX")" || fatal "cannot create an output folder"
fi
mkdir -p "$BENCH_VAR" && chmod 755 "$BENCH_VAR"
say "output in $BENCH_VAR"

RF_PID=""
SINK_PID=""
cleanup() {
	for p in "$RF_PID" "$SINK_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	RF_PID=""; SINK_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------- tools ----------
cc -O2 -o "$BENCH_VAR/udp-flood" "$REPO/bench/lib/udp-flood.c" || fatal "udp-flood did not build"
cc -O2 -o "$BENCH_VAR/udp-sink" "$REPO/bench/lib/udp-sink.c" || fatal "udp-sink did not build"

# CPU seconds of PID's main thread (the signalling thread): the
# scheduler's own nanosecond count, not the 10 ms ticks of utime/stime
thread_cpu() { awk '{ printf "%.4f", $1 / 1e9 }' "/proc/$1/task/$1/schedstat"; }

wait_udp() {
	for _ in $(seq 1 150); do
		ss -Hlun "src $1:$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

conf_set() { # FILE SECTION KEY VALUE: replace or add KEY in [SECTION]
	awk -v sec="$2" -v key="$3" -v val="$4" '
		function put() { print key " = " val; done = 1 }
		/^[ \t]*\[/ { if (cur == sec && !done) put(); cur = $0; gsub(/[ \t\[\]]/, "", cur) }
		cur == sec && !done && $0 ~ "^[ \t]*;?[ \t]*" key "[ \t]*=" { put(); next }
		{ print }
		END { if (!done) { if (cur != sec) print "[" sec "]"; put() } }' "$1" >"$1.tmp" && cat "$1.tmp" >"$1" && rm -f "$1.tmp"
}

# new_instance NAME [SECTION KEY VALUE]...: a fresh instance folder; prints its config path
new_instance() {
	local dir="$BENCH_VAR/$1" conf
	shift
	rm -rf "$dir"
	"$RINGFENCE_BIN" init --dir "$dir" --listen "$RF_IP" --port "$PORT" >"$dir.init" 2>&1 ||
		{ cat "$dir.init" >&2; fatal "ringfence init failed"; }
	chmod 600 "$dir.init" # demo passwords
	conf="$dir/ringfence.conf"
	conf_set "$conf" sip realm "$RF_IP"
	conf_set "$conf" sip transports udp
	while [ $# -ge 3 ]; do
		conf_set "$conf" "$1" "$2" "$3"
		shift 3
	done
	echo "$conf"
}

start_daemon() { # CONF LOG
	ss -Hlun "src $RF_IP:$PORT" | grep -q . && fatal "$RF_IP:$PORT/udp is already in use"
	taskset -c 0 "$RINGFENCE_BIN" -c "$1" serve </dev/null >"$2" 2>&1 &
	RF_PID=$!
	wait_udp "$RF_IP" "$PORT" || { cat "$2" >&2; fatal "ringfence did not listen on $RF_IP:$PORT"; }
	sleep 1
}

stop_daemon() {
	kill -TERM "$RF_PID" 2>/dev/null
	wait "$RF_PID" 2>/dev/null
	RF_PID=""
}

# ---------- 1 and 2: floods dropped before parsing ----------
# drop_run NAME SRC: flood from SRC; writes NAME.txt with the figures
drop_run() {
	local name="$1" src="$2" conf log c0 c1 sent out dropped field
	conf=$(new_instance "$name" guard flood_time 3600)
	[ "$name" = banned ] && "$RINGFENCE_BIN" -c "$conf" ban add "$src" --for 1h >/dev/null
	log="$BENCH_VAR/$name.log"
	start_daemon "$conf" "$log"
	c0=$(thread_cpu "$RF_PID")
	local perf_pid=""
	if [ "${PERF:-0}" = 1 ] && command -v perf >/dev/null; then
		# where the signalling thread's time goes, sampled mid-flood
		(sleep 1; perf record -q -t "$RF_PID" -o "$BENCH_VAR/$name.perf" -- sleep $((FLOOD_SECS - 2)) >/dev/null 2>&1) &
		perf_pid=$!
	fi
	out=$(taskset -c 1 "$BENCH_VAR/udp-flood" "$src" "$RF_IP" "$PORT" "$FLOOD_SECS")
	[ -n "$perf_pid" ] && wait "$perf_pid"
	sleep 0.5 # let the queue drain
	c1=$(thread_cpu "$RF_PID")
	stop_daemon
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$out")
	if [ "$name" = banned ]; then field='s/.*guard: \([0-9]*\) packets from banned sources.*/\1/p'
	else field='s/.* \([0-9]*\) over budget.*/\1/p'; fi
	dropped=$(sed -n "$field" "$log" | tail -n 1)
	[ -n "$dropped" ] || { cat "$log" >&2; fatal "$name: the daemon did not log its drop counts"; }
	awk -v n="$name" -v s="$sent" -v d="$dropped" -v c0="$c0" -v c1="$c1" -v t="$FLOOD_SECS" 'BEGIN {
		c = c1 - c0
		printf "%s: sent %d in %d s (%.0f/s); the daemon dropped %d (%.0f/s) using %.2f CPU s -> %.0f packets/s per core%s\n",
			n, s, t, s / t, d, d / t, c, (c > 0 ? d / c : 0), (c > 0.9 * t ? " (its core was saturated; the kernel dropped the rest)" : "")
	}' | tee "$BENCH_VAR/$name.txt"
	if [ -s "$BENCH_VAR/$name.perf" ]; then
		perf report -i "$BENCH_VAR/$name.perf" --stdio --sort dso,symbol 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 25 >"$BENCH_VAR/$name.perf.txt"
		say "$name: top of the profile in $BENCH_VAR/$name.perf.txt"
	fi
}

# ---------- 3: the read floor ----------
sink_run() {
	local out
	taskset -c 0 "$BENCH_VAR/udp-sink" "$RF_IP" $((PORT + 2)) $((FLOOD_SECS + 2)) >"$BENCH_VAR/sink.out" &
	SINK_PID=$!
	sleep 0.5
	out=$(taskset -c 1 "$BENCH_VAR/udp-flood" "$BANNED_IP" "$RF_IP" $((PORT + 2)) "$FLOOD_SECS")
	wait "$SINK_PID"
	SINK_PID=""
	awk -v o="$out" '/^received=/ {
		split($1, r, "="); split($2, c, "="); split($3, p, "=")
		printf "read floor: %s; udp-sink read %d using %.2f CPU s -> %d packets/s per core\n", o, r[2], c[2], p[2]
	}' "$BENCH_VAR/sink.out" | tee "$BENCH_VAR/sink.txt"
}

# ---------- 4: registrations, guard on and off ----------
REG_CONF=""

# The accounts go in once, in one process (bench/lib/rf-provision.c, built
# against the library of the binary measured, as bench/register.sh does).
provision() {
	local lib="$(dirname "$RINGFENCE_BIN")/librfcore.a" libs
	REG_CONF=$(new_instance registrations registrar digest_algorithms md5)
	[ -r "$lib" ] || fatal "no $lib next to the binary: build it (make) to provision accounts"
	libs=$(pkg-config --libs libevent libevent_openssl libevent_pthreads openssl sqlite3 inih pwquality) ||
		fatal "pkg-config cannot find the libraries"
	# shellcheck disable=SC2086
	cc -std=c11 -O2 -D_GNU_SOURCE -I"$REPO/src" -o "$BENCH_VAR/rf-provision" "$REPO/bench/lib/rf-provision.c" \
		"$lib" $libs -lpthread -lm >"$BENCH_VAR/rf-provision.build.log" 2>&1 ||
		fatal "rf-provision did not build (see $BENCH_VAR/rf-provision.build.log)"
	# The generator's random passwords now and then include one the password
	# policy calls too simple: that account is left out and the rest tried
	# again (bounded; nothing is written until the whole file passes).
	local line try
	"$HARNESS/gen-users.sh" "$REG_N" "$BENCH_VAR/users.csv" >/dev/null 2>&1 || fatal "gen-users.sh failed"
	for try in $(seq 1 50); do
		"$BENCH_VAR/rf-provision" "$REG_CONF" "$BENCH_VAR/users.csv" 0 2>"$BENCH_VAR/rf-provision.err" >&2 && break
		line=$(sed -n 's/^rf-provision: [^:]*:\([0-9]*\): password refused.*/\1/p' "$BENCH_VAR/rf-provision.err")
		[ -n "$line" ] && [ "$try" -lt 50 ] || { cat "$BENCH_VAR/rf-provision.err" >&2; fatal "provisioning failed"; }
		sed -i "${line}d" "$BENCH_VAR/users.csv"
	done
	REG_N=$(grep -vc '^#' "$BENCH_VAR/users.csv")
	"$HARNESS/sipp/gen-csv.sh" register "$BENCH_VAR/users.csv" "$BENCH_VAR/register.csv" >/dev/null 2>&1 ||
		fatal "gen-csv.sh failed"
}

# reg_run NAME ENABLED: one SIPp pass of REG_N registrations on a fresh
# daemon over the same accounts.
reg_run() {
	local name="$1" log c0 c1 t0 t1 ok pre="$BENCH_VAR/$1-sipp"
	conf_set "$REG_CONF" guard enabled "$2"
	# SIPp is one address sending thousands of packets a second: a flood
	# by the default budget. Raised, so the checks are measured, not the
	# limiter that would (rightly) ban it.
	conf_set "$REG_CONF" guard flood_rate 1000000
	conf_set "$REG_CONF" guard flood_burst 1000000
	conf_set "$REG_CONF" guard flood_rate_registered 1000000
	conf_set "$REG_CONF" guard flood_burst_registered 1000000
	# At thousands a second, SIPp asks for more than scan_extensions
	# accounts before the first one has authenticated: the ban engine
	# would (rightly) call it a scanner. Whitelisted, every check still
	# runs; only the ban at the end of it does not.
	conf_set "$REG_CONF" guard whitelist "$SIPP_IP/32"
	log="$BENCH_VAR/$name.log"
	start_daemon "$REG_CONF" "$log"
	c0=$(thread_cpu "$RF_PID")
	t0=$(date +%s.%N)
	timeout -k 5 $((REG_N / REG_RATE + 60)) taskset -c 1 sipp "$RF_IP:$PORT" -sf "$HARNESS/sipp/register-auth.xml" \
		-inf "$BENCH_VAR/register.csv" -i "$SIPP_IP" -p 5062 -key domain "$RF_IP" -key contact_hp "$SIPP_IP:5062" \
		-auth_uri "$RF_IP" \
		-key expires 3600 -buff_size 1048576 -r "$REG_RATE" -m "$REG_N" -l "$REG_N" \
		-timeout $((REG_N / REG_RATE + 50))s -trace_stat -stf "$pre.stat" -fd 1 -nostdin \
		</dev/null >"$pre.out" 2>&1
	t1=$(date +%s.%N)
	c1=$(thread_cpu "$RF_PID")
	stop_daemon
	ok=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") k = i } END { print $k + 0 }' "$pre.stat")
	awk -v n="$name" -v ok="$ok" -v N="$REG_N" -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
		-v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 'BEGIN {
		printf "%s: %d of %d registrations in %.1f s (%.0f/s), signalling thread %.2f CPU s -> %.1f us per registration\n",
			n, ok, N, t, ok / t, c, (ok ? c / ok * 1e6 : 0)
	}' | tee "$BENCH_VAR/$name.txt"
}

# ---------- the anchor: Kamailio 5.6 with pike and its ban table ----------
# The shared harness's Kamailio in --mode secure: pike trips on a source
# sending more than ~20 requests per 2 s and puts it into the ipban
# htable, which request_route checks first, after the message is parsed.
# Its workers are pinned to CPU 0 like Ringfence; "per core" is the
# packets its workers read (sent minus the kernel's receive-buffer drops,
# /proc/net/snmp, machine-wide) per CPU second of the whole process tree.
KAM_IP="${KAM_IP:-127.0.4.8}"
kamailio_run() {
	local kpid t0 t1 e0 e1 out sent
	. "$HARNESS/lib/common.sh"
	"$HARNESS/gen-users.sh" 100 "$BENCH_VAR/kam-users.csv" >/dev/null 2>&1 || { say "kamailio: gen-users.sh failed"; return 1; }
	kpid=$(BENCH_VAR="$BENCH_VAR" "$HARNESS/kamailio/run-kamailio.sh" start "$KAM_IP" "$PORT" --mode secure \
		--users-file "$BENCH_VAR/kam-users.csv" 2>"$BENCH_VAR/kamailio-start.log") ||
		{ say "kamailio did not start (see $BENCH_VAR/kamailio-start.log)"; return 1; }
	for p in $(tree_pids "$kpid"); do taskset -a -p -c 0 "$p" >/dev/null 2>&1; done
	sleep 1
	t0=$(tree_ticks "$kpid")
	e0=$(awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp)
	out=$(taskset -c 1 "$BENCH_VAR/udp-flood" "$BANNED_IP" "$KAM_IP" "$PORT" "$FLOOD_SECS")
	sleep 0.5
	t1=$(tree_ticks "$kpid")
	e1=$(awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp)
	BENCH_VAR="$BENCH_VAR" "$HARNESS/kamailio/run-kamailio.sh" rpc "$KAM_IP" "$PORT" htable.dump ipban >"$BENCH_VAR/kamailio-ipban.txt" 2>&1
	BENCH_VAR="$BENCH_VAR" "$HARNESS/kamailio/run-kamailio.sh" stop "$KAM_IP" "$PORT" >/dev/null 2>&1
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$out")
	awk -v s="$sent" -v d="$((e1 - e0))" -v c="$(((t1 - t0)))" -v hz="$(getconf CLK_TCK)" -v t="$FLOOD_SECS" \
		-v banned="$(grep -c "$BANNED_IP" "$BENCH_VAR/kamailio-ipban.txt")" 'BEGIN {
		r = s - d; cs = c / hz
		printf "kamailio (pike + ipban): sent %d in %d s (%.0f/s); its workers read %d (%.0f/s), the kernel dropped %d, using %.2f CPU s -> %.0f packets/s per core; source in ipban: %s\n",
			s, t, s / t, r, r / t, d, cs, (cs > 0 ? r / cs : 0), (banned > 0 ? "yes" : "no")
	}' | tee "$BENCH_VAR/kamailio.txt"
}

say "flood from a banned address ($BANNED_IP), $FLOOD_SECS s"
drop_run banned "$BANNED_IP"
say "flood from an address over its budget ($OVER_IP), $FLOOD_SECS s"
drop_run over_budget "$OVER_IP"
say "the read floor: udp-sink"
sink_run
if [ "${KAMAILIO:-1}" = 1 ] && command -v kamailio >/dev/null && [ -x "$HARNESS/kamailio/run-kamailio.sh" ]; then
	say "the anchor: a flood from one address against Kamailio with pike ($KAM_IP)"
	kamailio_run || say "kamailio: not measured"
else
	say "no kamailio or no shared harness: the anchor is not measured"
fi
if command -v sipp >/dev/null && [ -x "$HARNESS/gen-users.sh" ] && [ -r "$HARNESS/sipp/register-auth.xml" ]; then
	say "registrations: provisioning $REG_N accounts"
	provision
	# Alternating passes, so a change in the machine's load shows up as a
	# spread between the passes of one kind instead of skewing the ratio.
	for pass in 1 2 3; do
		say "registrations with the guard on (pass $pass)"
		reg_run "guard_on_$pass" true
		say "registrations with the guard off (pass $pass)"
		reg_run "guard_off_$pass" false
	done
	cat "$BENCH_VAR"/guard_o*_?.txt | awk '
		{ for (i = 1; i <= NF; i++) if ($(i + 1) == "us") us = $i
		  kind = ($1 ~ /^guard_on/) ? "on" : "off"; sum[kind] += us; n[kind]++ }
		END { if (n["on"] && n["off"]) { on = sum["on"] / n["on"]; off = sum["off"] / n["off"]
			printf "guard on / off: %.1f / %.1f us of signalling-thread CPU per registration (mean of %d passes each) -> throughput per core %.2fx\n",
				on, off, n["on"], off / on } }' | tee "$BENCH_VAR/ratio.txt"
else
	say "no sipp or no shared harness at $HARNESS: registration figures skipped"
fi
echo "--- summary ($BENCH_VAR) ---"
cat "$BENCH_VAR"/banned.txt "$BENCH_VAR"/over_budget.txt "$BENCH_VAR"/sink.txt "$BENCH_VAR"/kamailio.txt \
	"$BENCH_VAR"/guard_o*_?.txt "$BENCH_VAR"/ratio.txt 2>/dev/null
