# shellcheck shell=bash
# bench/lib/rf-bench.sh - helpers shared by bench/register.sh, bench/calls.sh
# and bench/flood.sh. Source it; do not execute it.
#
# wait_udp, rf_conf_set and build_provisioner stand alone (the last needs
# BENCH_VAR and a `say` function). The others use the shared harness: source
# its lib/common.sh first (tree_pids, cpu_snapshot, sipp_stat, SIPP_DIR) and
# set HARNESS to its folder.

RF_BENCH_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# wait_udp IP PORT SECONDS: until something listens there (bounded).
wait_udp() {
	for _ in $(seq 1 $(($3 * 10))); do
		ss -Hlun "src $1:$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# rf_conf_set FILE SECTION KEY VALUE: set (or uncomment, or add) KEY in
# [SECTION] of a Ringfence configuration; later copies of KEY there go.
rf_conf_set() {
	local tmp="$1.tmp"
	awk -v sec="$2" -v key="$3" -v val="$4" '
		function put() { print key " = " val; done = 1 }
		/^[ \t]*\[/ { if (cur == sec && !done) put(); cur = $0; gsub(/[ \t\[\]]/, "", cur) }
		cur == sec && !done && $0 ~ "^[ \t]*;?[ \t]*" key "[ \t]*=" { put(); next }
		cur == sec && done && $0 ~ "^[ \t]*" key "[ \t]*=" { next }
		{ print }
		END { if (!done) { if (cur != sec) print "[" sec "]"; put() } }' "$1" >"$tmp" &&
		cat "$tmp" >"$1" && rm -f "$tmp"
}

# build_provisioner BUILD_DIR: compiles the bulk provisioner
# (lib/rf-provision.c) against BUILD_DIR/librfcore.a, the library of the
# binary measured, into BENCH_VAR once; prints its path.
build_provisioner() {
	local bin="$BENCH_VAR/rf-provision" lib="$1/librfcore.a" src="$RF_BENCH_LIB/../../src" libs h
	[ -x "$bin" ] && { echo "$bin"; return 0; }
	[ -r "$lib" ] || { say "no $lib: cannot build the bulk provisioner"; return 1; }
	# The helper is compiled against today's headers: a library built from
	# older ones would disagree about struct layouts.
	for h in $(cc -MM -D_GNU_SOURCE -I"$src" "$RF_BENCH_LIB/rf-provision.c" 2>/dev/null | tr -d '\\' | cut -d: -f2-); do
		if [ "${h%.h}" != "$h" ] && [ "$h" -nt "$lib" ]; then
			say "$h is newer than $lib (rebuild it): not using the bulk provisioner"
			return 1
		fi
	done
	libs=$(pkg-config --libs libevent libevent_openssl libevent_pthreads openssl sqlite3 inih pwquality) || return 1
	# shellcheck disable=SC2086
	cc -std=c11 -O2 -D_GNU_SOURCE -I"$src" -o "$bin" "$RF_BENCH_LIB/rf-provision.c" "$lib" $libs -lpthread -lm \
		>"$BENCH_VAR/rf-provision.build.log" 2>&1 ||
		{ say "bulk provisioner did not build (see $BENCH_VAR/rf-provision.build.log)"; return 1; }
	echo "$bin"
}

# ---------- Kamailio, through the harness's run-kamailio.sh ----------
# kam_start IP PORT MODE [run-kamailio.sh start options]: starts the anchor
# (MODE secure: pike and the ban table; plain: neither) and sets KAM_PID.
# kam_stop stops the one started last, and does nothing when none runs, so
# an EXIT trap can always call it. Runtime files go to $BENCH_VAR.
# shellcheck disable=SC2034 # KAM_PID is for the caller
KAM_PID=""
KAM_AT=""
kam_start() {
	local ip="$1" port="$2" mode="$3"
	shift 3
	KAM_PID=$("$HARNESS/kamailio/run-kamailio.sh" start "$ip" "$port" --mode "$mode" "$@") || { KAM_PID=""; return 1; }
	KAM_AT="$ip $port"
}
kam_stop() {
	[ -n "$KAM_AT" ] || return 0
	# shellcheck disable=SC2086
	"$HARNESS/kamailio/run-kamailio.sh" stop $KAM_AT >/dev/null 2>&1
	KAM_AT=""
	KAM_PID=""
}

# ---------- one pass of authenticated registrations ----------
# reg_pass PREFIX IP PORT CLIENT_IP CSV N RATE: N registrations (the
# harness's register-auth.xml: REGISTER -> 401 -> REGISTER with digest ->
# 200) at RATE/s from CLIENT_IP:5062 to IP:PORT, with sip:USER@IP and the
# digest uri sip:IP, bounded in time. CSV comes from the harness's
# `sipp/gen-csv.sh register`. $REG_PASS_WRAP, when set, goes in front of
# sipp (for example "taskset -c 1"). Writes PREFIX.stat and PREFIX.out and
# prints "OK SECS RETRANS": the successful registrations, SIPp's wall time
# and its retransmissions.
reg_pass() {
	local pre="$1" ip="$2" port="$3" client="$4" csv="$5" n="$6" rate="$7" t0 t1 ok re
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	timeout -k 5 $((n / rate + 60)) ${REG_PASS_WRAP:-} sipp "$ip:$port" -sf "$SIPP_DIR/register-auth.xml" \
		-inf "$csv" -i "$client" -p 5062 -key domain "$ip" -key contact_hp "$client:5062" -auth_uri "$ip" \
		-key expires 3600 -buff_size 1048576 -r "$rate" -m "$n" -l "$n" \
		-timeout $((n / rate + 50))s -trace_stat -stf "$pre.stat" -fd 1 -nostdin \
		</dev/null >"$pre.out" 2>&1
	t1=$(date +%s.%N)
	ok=$(sipp_stat "$pre.stat" "SuccessfulCall(C)" 2>/dev/null)
	re=$(sipp_stat "$pre.stat" "Retransmissions(C)" 2>/dev/null)
	[[ "$ok" =~ ^[0-9]+$ ]] || ok=0
	[[ "$re" =~ ^[0-9]+$ ]] || re=NA
	awk -v ok="$ok" -v a="$t0" -v b="$t1" -v re="$re" 'BEGIN { printf "%d %.3f %s\n", ok, b - a, re }'
}

# tree_cpu_s PID: CPU seconds of every thread of the process tree rooted at
# PID, from the scheduler's nanosecond counts (/proc/P/task/T/schedstat),
# not the 10 ms ticks of /proc/P/stat. Threads that have exited are not
# counted (neither server starts short-lived ones).
tree_cpu_s() {
	local p
	for p in $(tree_pids "$1"); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ s += $1 } END { printf "%.4f", s / 1e9 }'
}

# other_cpu_pct SNAPSHOT0 SNAPSHOT1 SECONDS: % of one core used between two
# of the harness's cpu_snapshot lines (taken with the server's PID) by
# processes outside the server's tree: per process, so one that exited in
# between (the load generator) is left out. Not ~0: the machine was shared.
other_cpu_pct() {
	awk -v hz="$(getconf CLK_TCK)" -v a="$1" -v b="$2" -v s="$3" 'BEGIN {
		split(a, A, " "); split(b, B, " ")
		n = split(A[3], x, ","); for (k = 1; k <= n; k++) { split(x[k], y, ":"); t0[y[1]] = y[2] }
		n = split(B[3], x, ","); tot = 0
		for (k = 1; k <= n; k++) { split(x[k], y, ":"); tot += y[2] - ((y[1] in t0) ? t0[y[1]] : 0) }
		tot -= B[1] - A[1]
		printf "%.0f", (s > 0 ? tot / hz / s * 100 : 0) }'
}
