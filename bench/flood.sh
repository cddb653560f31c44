#!/usr/bin/env bash
# bench/flood.sh - what flood protection costs (S5): how many packets a
# second Ringfence throws away per core before parsing them, and what the
# guard costs a registration when there is no attack, each set against
# Kamailio 5.6 with pike and a ban table in the same run.
#
#   bench/flood.sh                 full run (10 s floods, 3 x 4 passes of 10,000 registrations)
#   QUICK=1 bench/flood.sh         smoke run (4 s floods, passes of 2,000 registrations)
#   KAMAILIO=0 bench/flood.sh      Ringfence only (no anchor)
#
# A script you run by hand, not a test. Every run is wrapped in
# `flock /tmp/rf-bench.lock`, so it never overlaps another benchmark.
#
# The server is pinned to CPU 0 and the load to CPU 1 (taskset), so "per
# core" means the server on a core of its own. Every measurement starts a
# fresh server and reads its CPU time before and after, from the
# scheduler's nanosecond counts (/proc/PID/task/TID/schedstat).
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
#                  table (the shared harness's run-kamailio.sh --mode
#                  secure), all its processes pinned to CPU 0.
#   5. registrations REG_N authenticated registrations (REGISTER -> 401 ->
#                  REGISTER with digest -> 200, the harness's SIPp scenario,
#                  MD5) at REG_RATE/s from one address, in REG_ROUNDS rounds
#                  of four passes, each pass on a fresh server over the same
#                  accounts:
#                    Ringfence with the guard on, and with [guard] enabled = false;
#                    Kamailio --mode secure (pike + ban table), and --mode plain.
#                  Per pass: CPU per registration (all the server's threads
#                  and processes; for Ringfence also its signalling thread,
#                  where the guard runs) and the rate achieved. SIPp is one
#                  address sending thousands of packets a second, a flood to
#                  either server: Ringfence's budgets are raised and SIPp is
#                  in its [guard] whitelist (every check still runs, only the
#                  ban does not, as in bench/register.sh); Kamailio gets SIPp
#                  as its trusted network (--trusted), as the harness's own
#                  secure-mode figures do: pike is not consulted for it, the
#                  ban-table lookup still is.
#
# Dropped packets are the daemon's own count, from the line it logs when it
# stops ("guard: N packets from banned sources, M over budget ..."). The
# registration passes, the Kamailio setup and the SIPp scenario are the
# shared harness's (../shared/bench), driven through bench/lib/rf-bench.sh
# like bench/register.sh.
#
# The summary (also BENCH_VAR/summary.txt) is one line per figure,
# "TAG key=value ...", after two "#" lines that say what was run:
#   drop        one per flood: sent, dropped (Ringfence) or read (the floor,
#               Kamailio), cpu_s, per_core_per_s = packets per CPU second
#   drop_ratio  Ringfence's per_core_per_s against the read floor's and
#               Kamailio's
#   reg         one per kind of pass (ringfence guard_on, guard_off, kamailio
#               secure, plain), over its passes: ok/n, retrans (SIPp's),
#               rate_per_s (achieved, mean), cpu_us (CPU us per
#               registration, all threads and processes, mean; _min, _max),
#               Ringfence's thread_us (signalling thread only),
#               other_cpu_pct_max (% of a core used meanwhile by processes
#               other than the server and SIPp: ~0 on a quiet machine),
#               clean_passes: passes with every registration done (99 %),
#               at most 1 % retransmitted and other_cpu_pct at most BG_MAX
#               (the harness's 15): figures to quote come from clean passes
#   reg_ratio   ringfence_guard_on_off and kamailio_secure_plain side by
#               side: registrations per CPU second with the security on
#               against off (cpu_us off / on; Ringfence's from thread_us,
#               ringfence_guard_on_off_process from cpu_us);
#               ringfence_vs_kamailio_cpu: Ringfence's cpu_us (guard on) /
#               Kamailio's (secure); the achieved rates on / off
#   target      the issue's targets: MET, NOT_MET or NA
# `grep -E '^(drop|reg|target)'` picks them out; every pass's own line
# (reg_pass) is in BENCH_VAR/reg-SERVER-MODE-PASS.txt.
#
# Environment (defaults):
#   RINGFENCE_BIN   the binary (REPO/build/ringfence)
#   RF_IP / PORT    the daemon's address (127.0.4.9 / 5090)
#   FLOOD_SECS      seconds per flood (10; QUICK: 4)
#   REG_N REG_RATE  registrations per pass and their rate (10000, 5000/s; QUICK: 2000)
#   REG_ROUNDS      rounds of the four registration passes (3)
#   RF_SHARED_BENCH the shared harness (REPO/../shared/bench)
#   BENCH_VAR       output folder (a new mktemp folder, printed)
#   KAM_IP          the anchor's address (127.0.4.8)
#   KAMAILIO        0: skip the anchor (its flood and its registration passes)
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
KAM_IP="${KAM_IP:-127.0.4.8}"
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
REG_ROUNDS="${REG_ROUNDS:-3}"
[[ "$FLOOD_SECS" =~ ^[0-9]+$ ]] && [ "$FLOOD_SECS" -ge 1 ] && [ "$FLOOD_SECS" -le 60 ] || fatal "FLOOD_SECS must be 1..60"
[[ "$REG_N" =~ ^[0-9]+$ ]] && [ "$REG_N" -ge 100 ] && [ "$REG_N" -le 50000 ] || fatal "REG_N must be 100..50000"
[[ "$REG_RATE" =~ ^[0-9]+$ ]] && [ "$REG_RATE" -ge 10 ] && [ "$REG_RATE" -le 100000 ] || fatal "REG_RATE must be 10..100000"
[[ "$REG_ROUNDS" =~ ^[0-9]+$ ]] && [ "$REG_ROUNDS" -ge 1 ] && [ "$REG_ROUNDS" -le 10 ] || fatal "REG_ROUNDS must be 1..10"
for ip in "$RF_IP" "$KAM_IP"; do
	[[ "$ip" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || fatal "RF_IP and KAM_IP must be 127.0.0.0/8 addresses"
done
[ "$RF_IP" != "$KAM_IP" ] || fatal "RF_IP and KAM_IP must differ"
[ -x "$RINGFENCE_BIN" ] || fatal "no Ringfence binary at $RINGFENCE_BIN (make, or set RINGFENCE_BIN)"
for c in cc taskset ss awk; do command -v "$c" >/dev/null || fatal "$c is required"; done
[ "$(nproc)" -ge 2 ] || fatal "two cores are needed: the server on one, the load on the other"

if [ -z "${BENCH_VAR:-}" ]; then
	BENCH_VAR="$(mktemp -d "${TMPDIR:-/tmp}/rf-flood.XXXXXX")" || fatal "cannot create an output folder"
fi
mkdir -p "$BENCH_VAR" && chmod 755 "$BENCH_VAR"
BENCH_VAR="$(cd "$BENCH_VAR" && pwd)"
export BENCH_VAR
say "output in $BENCH_VAR"

# Ours (wait_udp, rf_conf_set, build_provisioner, kam_start/kam_stop,
# reg_pass, tree_cpu_s, other_cpu_pct), shared with register.sh and
# calls.sh; the harness's lib/common.sh (tree_pids, cpu_snapshot,
# sipp_stat) when the harness is there. The floods need neither.
# shellcheck source=lib/rf-bench.sh
. "$REPO/bench/lib/rf-bench.sh"
HAVE_HARNESS=0
if [ -r "$HARNESS/lib/common.sh" ] && [ -x "$HARNESS/gen-users.sh" ]; then
	HARNESS="$(cd "$HARNESS" && pwd)"
	# shellcheck source=/dev/null
	. "$HARNESS/lib/common.sh"
	HAVE_HARNESS=1
fi
WANT_KAM=0
if [ "${KAMAILIO:-1}" = 1 ]; then
	if [ "$HAVE_HARNESS" = 1 ] && [ -x "$HARNESS/kamailio/run-kamailio.sh" ] && command -v kamailio >/dev/null; then
		WANT_KAM=1
	else
		say "no kamailio or no shared harness at $HARNESS: the anchor is not measured"
	fi
fi

RF_PID=""
SINK_PID=""
cleanup() {
	for p in "$RF_PID" "$SINK_PID"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	RF_PID=""; SINK_PID=""
	kam_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------- tools ----------
cc -O2 -o "$BENCH_VAR/udp-flood" "$REPO/bench/lib/udp-flood.c" || fatal "udp-flood did not build"
cc -O2 -o "$BENCH_VAR/udp-sink" "$REPO/bench/lib/udp-sink.c" || fatal "udp-sink did not build"

# CPU seconds of PID's main thread (the signalling thread): the
# scheduler's own nanosecond count, not the 10 ms ticks of utime/stime
thread_cpu() { awk '{ printf "%.4f", $1 / 1e9 }' "/proc/$1/task/$1/schedstat"; }

# new_instance NAME [SECTION KEY VALUE]...: a fresh instance folder; prints its config path
new_instance() {
	local dir="$BENCH_VAR/$1" conf
	shift
	rm -rf "$dir"
	"$RINGFENCE_BIN" init --dir "$dir" --listen "$RF_IP" --port "$PORT" >"$dir.init" 2>&1 ||
		{ cat "$dir.init" >&2; fatal "ringfence init failed"; }
	chmod 600 "$dir.init" # demo passwords
	conf="$dir/ringfence.conf"
	rf_conf_set "$conf" sip realm "$RF_IP"
	rf_conf_set "$conf" sip transports udp
	while [ $# -ge 3 ]; do
		rf_conf_set "$conf" "$1" "$2" "$3"
		shift 3
	done
	echo "$conf"
}

start_daemon() { # CONF LOG
	ss -Hlun "src $RF_IP:$PORT" | grep -q . && fatal "$RF_IP:$PORT/udp is already in use"
	taskset -c 0 "$RINGFENCE_BIN" -c "$1" serve </dev/null >"$2" 2>&1 &
	RF_PID=$!
	wait_udp "$RF_IP" "$PORT" 15 || { cat "$2" >&2; fatal "ringfence did not listen on $RF_IP:$PORT"; }
	sleep 1
}

stop_daemon() {
	kill -TERM "$RF_PID" 2>/dev/null
	wait "$RF_PID" 2>/dev/null
	RF_PID=""
}

# kam_start_pinned MODE USERS_FILE: the anchor (the harness's
# run-kamailio.sh) on KAM_IP:PORT with those accounts and SIPp's address as
# its trusted network, every process pinned to CPU 0 like Ringfence. Sets
# KAM_PID.
kam_start_pinned() {
	local p
	kam_start "$KAM_IP" "$PORT" "$1" --users-file "$2" --trusted "$SIPP_IP/32" 2>>"$BENCH_VAR/kamailio-start.log" ||
		{ say "kamailio ($1) did not start (see $BENCH_VAR/kamailio-start.log)"; return 1; }
	for p in $(tree_pids "$KAM_PID"); do taskset -a -p -c 0 "$p" >/dev/null 2>&1; done
	sleep 1
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
		printf "drop flood=%s sent=%d secs=%d sent_per_s=%.0f dropped=%d dropped_per_s=%.0f cpu_s=%.2f per_core_per_s=%.0f core_saturated=%s\n",
			n, s, t, s / t, d, d / t, c, (c > 0 ? d / c : 0), (c > 0.9 * t ? "yes" : "no")
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
	awk -v o="$out" -v t="$FLOOD_SECS" '/^received=/ {
		split(o, s, "[ =]"); split($1, r, "="); split($2, c, "="); split($3, p, "=")
		printf "drop flood=read_floor sent=%d secs=%d sent_per_s=%.0f read=%d read_per_s=%.0f cpu_s=%.2f per_core_per_s=%d\n",
			s[2], t, s[2] / t, r[2], r[2] / t, c[2], p[2]
	}' "$BENCH_VAR/sink.out" | tee "$BENCH_VAR/sink.txt"
}

# ---------- 4: the anchor, Kamailio 5.6 with pike and its ban table ----------
# The shared harness's Kamailio in --mode secure: pike trips on a source
# sending more than ~20 requests per 2 s and puts it into the ipban
# htable, which request_route checks first, after the message is parsed.
# "Per core" is the packets its workers read (sent minus the kernel's
# receive-buffer drops, /proc/net/snmp, machine-wide) per CPU second of
# the whole process tree.
kamailio_flood() {
	local c0 c1 e0 e1 out sent
	"$HARNESS/gen-users.sh" 100 "$BENCH_VAR/kam-users.csv" >/dev/null 2>&1 || { say "kamailio: gen-users.sh failed"; return 1; }
	kam_start_pinned secure "$BENCH_VAR/kam-users.csv" || return 1
	c0=$(tree_cpu_s "$KAM_PID")
	e0=$(awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp)
	out=$(taskset -c 1 "$BENCH_VAR/udp-flood" "$BANNED_IP" "$KAM_IP" "$PORT" "$FLOOD_SECS")
	sleep 0.5
	c1=$(tree_cpu_s "$KAM_PID")
	e1=$(awk '/^Udp:/ { if (++n == 2) print $6 }' /proc/net/snmp)
	"$HARNESS/kamailio/run-kamailio.sh" rpc "$KAM_IP" "$PORT" htable.dump ipban >"$BENCH_VAR/kamailio-ipban.txt" 2>&1
	kam_stop
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$out")
	awk -v s="$sent" -v d="$((e1 - e0))" -v c0="$c0" -v c1="$c1" -v t="$FLOOD_SECS" \
		-v banned="$(grep -c "$BANNED_IP" "$BENCH_VAR/kamailio-ipban.txt")" 'BEGIN {
		r = s - d; c = c1 - c0
		printf "drop flood=kamailio_pike_ipban sent=%d secs=%d sent_per_s=%.0f read=%d read_per_s=%.0f kernel_dropped=%d cpu_s=%.2f per_core_per_s=%.0f source_in_ipban=%s\n",
			s, t, s / t, r, r / t, d, c, (c > 0 ? r / c : 0), (banned > 0 ? "yes" : "no")
	}' | tee "$BENCH_VAR/kamailio.txt"
}

# ---------- 5: registrations ----------
# The accounts go in once, in one process (bench/lib/rf-provision.c, built
# against the library of the binary measured, as bench/register.sh does);
# Kamailio gets the same accounts file at every start.
REG_CONF=""
provision() {
	local bin line try
	REG_CONF=$(new_instance registrations registrar digest_algorithms md5)
	# SIPp is one address sending thousands of packets a second: a flood
	# by the default budget. Raised, so the checks are measured, not the
	# limiter that would (rightly) ban it.
	rf_conf_set "$REG_CONF" guard flood_rate 1000000
	rf_conf_set "$REG_CONF" guard flood_burst 1000000
	rf_conf_set "$REG_CONF" guard flood_rate_registered 1000000
	rf_conf_set "$REG_CONF" guard flood_burst_registered 1000000
	# At thousands a second, SIPp asks for more than scan_extensions
	# accounts before the first one has authenticated: the ban engine
	# would (rightly) call it a scanner. Whitelisted, every check still
	# runs; only the ban at the end of it does not.
	rf_conf_set "$REG_CONF" guard whitelist "$SIPP_IP/32"
	bin=$(build_provisioner "$(dirname "$RINGFENCE_BIN")") || fatal "no bulk provisioner: build the tree (make) to provision accounts"
	# The generator's random passwords now and then include one the password
	# policy calls too simple: that account is left out and the rest tried
	# again (bounded; nothing is written until the whole file passes).
	"$HARNESS/gen-users.sh" "$REG_N" "$BENCH_VAR/users.csv" >/dev/null 2>&1 || fatal "gen-users.sh failed"
	for try in $(seq 1 50); do
		"$bin" "$REG_CONF" "$BENCH_VAR/users.csv" 0 2>"$BENCH_VAR/rf-provision.err" >&2 && break
		line=$(sed -n 's/^rf-provision: [^:]*:\([0-9]*\): password refused.*/\1/p' "$BENCH_VAR/rf-provision.err")
		[ -n "$line" ] && [ "$try" -lt 50 ] || { cat "$BENCH_VAR/rf-provision.err" >&2; fatal "provisioning failed"; }
		sed -i "${line}d" "$BENCH_VAR/users.csv"
	done
	REG_N=$(grep -vc '^#' "$BENCH_VAR/users.csv")
	"$SIPP_DIR/gen-csv.sh" register "$BENCH_VAR/users.csv" "$BENCH_VAR/register.csv" >/dev/null 2>&1 ||
		fatal "gen-csv.sh failed"
}

# measured_pass SERVER MODE PASS IP PID [THREAD_PID]: one reg_pass (SIPp on
# CPU 1) against the running server PID at IP; its CPU (every thread of
# its process tree, and THREAD_PID's own thread when given) before and
# after. Writes BENCH_VAR/reg-SERVER-MODE-PASS.txt, one reg_pass line.
measured_pass() {
	local server="$1" mode="$2" pass="$3" ip="$4" pid="$5" tpid="${6:-}" c0 c1 t0=0 t1=0 s0 s1 ok secs re
	s0=$(cpu_snapshot "$pid")
	c0=$(tree_cpu_s "$pid")
	[ -n "$tpid" ] && t0=$(thread_cpu "$tpid")
	read -r ok secs re < <(REG_PASS_WRAP="taskset -c 1" reg_pass "$BENCH_VAR/$server-$mode-$pass-sipp" \
		"$ip" "$PORT" "$SIPP_IP" "$BENCH_VAR/register.csv" "$REG_N" "$REG_RATE")
	[ -n "$tpid" ] && t1=$(thread_cpu "$tpid")
	c1=$(tree_cpu_s "$pid")
	s1=$(cpu_snapshot "$pid")
	awk -v sv="$server" -v m="$mode" -v p="$pass" -v ok="$ok" -v n="$REG_N" -v secs="$secs" -v re="$re" \
		-v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" -v th="$tpid" \
		-v tc="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v other="$(other_cpu_pct "$s0" "$s1" "$secs")" -v bgmax="$BG_MAX" 'BEGIN {
		printf "reg_pass server=%s mode=%s pass=%d ok=%d n=%d retrans=%s secs=%.2f rate_per_s=%.0f cpu_s=%.3f cpu_us=%s",
			sv, m, p, ok, n, re, secs, (secs > 0 ? ok / secs : 0), c, (ok ? sprintf("%.1f", c / ok * 1e6) : "NA")
		if (th != "") printf " thread_us=%s", (ok ? sprintf("%.1f", tc / ok * 1e6) : "NA")
		printf " other_cpu_pct=%d clean=%s\n", other, (ok >= 0.99 * n && re != "NA" && re <= 0.01 * n && other <= bgmax) ? "yes" : "no"
	}' | tee "$BENCH_VAR/reg-$server-$mode-$pass.txt"
}

# rf_pass MODE PASS: Ringfence on a fresh daemon, the guard on (guard_on)
# or off (guard_off, [guard] enabled = false)
rf_pass() {
	rf_conf_set "$REG_CONF" guard enabled "$([ "$1" = guard_on ] && echo true || echo false)"
	start_daemon "$REG_CONF" "$BENCH_VAR/ringfence-$1-$2.log"
	measured_pass ringfence "$1" "$2" "$RF_IP" "$RF_PID" "$RF_PID"
	stop_daemon
}

# kam_pass MODE PASS: Kamailio freshly started in MODE (secure, plain)
kam_pass() {
	kam_start_pinned "$1" "$BENCH_VAR/users.csv" || return 1
	measured_pass kamailio "$1" "$2" "$KAM_IP" "$KAM_PID"
	kam_stop
}

# ---------- the summary ----------
# One "reg" line per kind of pass, in the order they run: means over its
# passes, min and max of cpu_us, retransmissions summed, the largest
# other_cpu_pct.
reg_means() {
	cat "$BENCH_VAR"/reg-*-*-*.txt 2>/dev/null | awk '
		BEGIN { nk = split("ringfence guard_on,ringfence guard_off,kamailio secure,kamailio plain", order, ",") }
		{ delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		  k = f["server"] " " f["mode"]
		  n[k]++; ok[k] += f["ok"]; all[k] += f["n"]; rate[k] += f["rate_per_s"]; re[k] += f["retrans"]
		  if (f["cpu_us"] != "NA") { v = f["cpu_us"] + 0; us[k] += v; nu[k]++
			if (!(k in lo) || v < lo[k]) lo[k] = v; if (!(k in hi) || v > hi[k]) hi[k] = v }
		  if ("thread_us" in f && f["thread_us"] != "NA") { tu[k] += f["thread_us"]; nt[k]++ }
		  if (!(k in oth) || f["other_cpu_pct"] + 0 > oth[k]) oth[k] = f["other_cpu_pct"] + 0
		  if (f["clean"] == "yes") cl[k]++ }
		END { for (i = 1; i <= nk; i++) { k = order[i]; if (!(k in n)) continue; split(k, sm, " ")
			printf "reg server=%s mode=%s passes=%d ok=%d n=%d retrans=%d rate_per_s=%.0f cpu_us=%s cpu_us_min=%s cpu_us_max=%s",
				sm[1], sm[2], n[k], ok[k], all[k], re[k], rate[k] / n[k],
				(nu[k] ? sprintf("%.1f", us[k] / nu[k]) : "NA"), (nu[k] ? sprintf("%.1f", lo[k]) : "NA"), (nu[k] ? sprintf("%.1f", hi[k]) : "NA")
			if (nt[k]) printf " thread_us=%.1f", tu[k] / nt[k]
			printf " other_cpu_pct_max=%d clean_passes=%d/%d\n", oth[k], cl[k], n[k] } }'
}

# field TAG SELECTOR KEY: KEY's value on the summary line TAG that holds SELECTOR
field() { awk -v tag="$1" -v sel=" $2 " -v key="$3" '$1 == tag && index($0 " ", sel) {
	for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) v = kv[2] } } END { print (v == "" ? "NA" : v) }' "$SUMMARY"; }
# ratio A B [DIGITS]: A / B, or NA
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || a == "" || b == "" || b + 0 == 0) print "NA"; else printf "%.2f", a / b }'; }

# summary: the figures, then the ratios and targets computed from them
summary() {
	local b o f k rf_on rf_off rf_on_t rf_off_t ks kp g
	{
		echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, server on CPU 0, load on CPU 1; floods of $FLOOD_SECS s"
		echo "# registrations: $REG_N a pass at $REG_RATE/s from $SIPP_IP; $REG_ROUNDS round(s) of: ringfence guard_on, guard_off$([ "$WANT_KAM" = 1 ] && echo ", kamailio secure, plain"); each pass on a fresh server"
		cat "$BENCH_VAR"/banned.txt "$BENCH_VAR"/over_budget.txt "$BENCH_VAR"/sink.txt "$BENCH_VAR"/kamailio.txt 2>/dev/null
		reg_means
	} >"$SUMMARY"
	b=$(field drop flood=banned per_core_per_s); o=$(field drop flood=over_budget per_core_per_s)
	f=$(field drop flood=read_floor per_core_per_s); k=$(field drop flood=kamailio_pike_ipban per_core_per_s)
	rf_on=$(field reg mode=guard_on cpu_us); rf_off=$(field reg mode=guard_off cpu_us)
	rf_on_t=$(field reg mode=guard_on thread_us); rf_off_t=$(field reg mode=guard_off thread_us)
	ks=$(field reg mode=secure cpu_us); kp=$(field reg mode=plain cpu_us)
	g=$(ratio "$rf_off_t" "$rf_on_t")
	{
		echo "drop_ratio banned_vs_read_floor=$(ratio "$b" "$f") over_budget_vs_read_floor=$(ratio "$o" "$f") banned_vs_kamailio=$(ratio "$b" "$k") over_budget_vs_kamailio=$(ratio "$o" "$k")"
		echo "reg_ratio ringfence_guard_on_off=$g kamailio_secure_plain=$(ratio "$kp" "$ks") ringfence_vs_kamailio_cpu=$(ratio "$rf_on" "$ks") ringfence_guard_on_off_process=$(ratio "$rf_off" "$rf_on") ringfence_guard_rate_on_off=$(ratio "$(field reg mode=guard_on rate_per_s)" "$(field reg mode=guard_off rate_per_s)") kamailio_rate_secure_plain=$(ratio "$(field reg mode=secure rate_per_s)" "$(field reg mode=plain rate_per_s)")"
		awk -v b="$b" -v o="$o" 'BEGIN { if (b == "NA" || o == "NA") print "target drop_per_core_ge_400000=NA"
			else { m = (b < o) ? b : o; printf "target drop_per_core_ge_400000=%s value=%.0f\n", (m >= 400000 ? "MET" : "NOT_MET"), m } }'
		awk -v g="$g" 'BEGIN { if (g == "NA") print "target guard_on_off_ge_0.9=NA"
			else printf "target guard_on_off_ge_0.9=%s value=%s\n", (g >= 0.9 ? "MET" : "NOT_MET"), g }'
	} >>"$SUMMARY"
}

# ---------- main ----------
say "flood from a banned address ($BANNED_IP), $FLOOD_SECS s"
drop_run banned "$BANNED_IP"
say "flood from an address over its budget ($OVER_IP), $FLOOD_SECS s"
drop_run over_budget "$OVER_IP"
say "the read floor: udp-sink"
sink_run
if [ "$WANT_KAM" = 1 ]; then
	say "the anchor: a flood from one address against Kamailio with pike ($KAM_IP)"
	kamailio_flood || say "kamailio: flood not measured"
fi
if command -v sipp >/dev/null && [ "$HAVE_HARNESS" = 1 ] && [ -r "$SIPP_DIR/register-auth.xml" ]; then
	say "registrations: provisioning $REG_N accounts"
	provision
	# Alternating passes, so a change in the machine's load shows up as a
	# spread between the passes of one kind instead of skewing a ratio.
	for pass in $(seq 1 "$REG_ROUNDS"); do
		for mode in guard_on guard_off; do
			say "registrations: ringfence $mode (pass $pass)"
			rf_pass "$mode" "$pass"
		done
		[ "$WANT_KAM" = 1 ] || continue
		for mode in secure plain; do
			say "registrations: kamailio $mode (pass $pass)"
			kam_pass "$mode" "$pass" || say "kamailio $mode: pass $pass not measured"
		done
	done
else
	say "no sipp or no shared harness at $HARNESS: registration figures skipped"
fi
SUMMARY="$BENCH_VAR/summary.txt"
summary
echo "--- summary ($SUMMARY) ---"
cat "$SUMMARY"
