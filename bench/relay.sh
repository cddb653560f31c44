#!/usr/bin/env bash
# bench/relay.sh - CPU microseconds per forwarded RTP packet through
# Ringfence's media relay, measured with the shared relay harness
# (../shared/bench/relay, see its README) in the same run as its raw
# forwarder (the floor for a userspace relay here) and, when
# rtpengine-daemon is installed, rtpengine in userspace. Two modes: plain
# RTP on both legs (rtp), and SRTP bridging (srtp): the caller's leg is
# SRTP (AES_CM_128_HMAC_SHA1_80, SDES keys), the callee's plain RTP, so the
# relay decrypts one way and encrypts the other. rawfwd has no SRTP mode.
#
#   bench/relay.sh                   full ramp for every relay and mode (~3 min each)
#   STEPS="100 500 1000" REFINE=0 bench/relay.sh     a shorter ramp
#   LOADS="250 500 750 1000" bench/relay.sh
#                                    every relay at exactly these loads (streams),
#                                    pass criteria opened: CPU per packet at equal
#                                    rates, and loss and p99 however high they are
#   RELAYS=ringfence MODES=srtp bench/relay.sh       one relay, one mode
#
# Ringfence's sessions are made by relay-host (bench/lib/relay-host.c): the
# relay code of src/media linked into a small process that opens sessions on
# command, so this measures the media path alone, without SIP. Each session
# is a call: leg A's peer is the caller's SDP address, leg B's the callee's,
# strict source on both legs, RTCP sockets bound as in a real call. In srtp
# mode relay-host gives leg A two fresh keys from media_srtp_generate
# (relay_set_crypto) and writes them into the harness's streams file, so the
# generator sends real SRTP under the caller's key and decrypts what the
# relay sends back under the other. The streams file lives in the harness's
# private work folder and is deleted with it unless KEEP_WORK=1.
#
# The same file is also the harness's plug-in (start, alloc, free, stop).
#
# Environment (defaults):
#   RF_SHARED_BENCH  harness folder (REPO/../shared/bench)
#   RF_BUILD         configured build folder whose librfcore.a is measured (REPO/build)
#   RELAYS           "ringfence raw rtpengine" (rtpengine skipped if absent)
#   MODES            "rtp srtp"
#   LOADS            fixed loads in streams (see above); unset: the harness's ramp
#   GEN_CRYPTO       openssl: the generator's libsrtp2 uses OpenSSL, as the relay
#                    does (bench/lib/gen-srtp-openssl.c); nss: Debian's stock crypto
#   RF_PORT_MIN/MAX  relay port range (30000/50999: 5250 calls)
#   BENCH_VAR        output folder (a new one under /tmp)
#   STEPS REFINE STEP_SECS RELAY_CPUS GEN_CPUS ...  passed to the harness
set -u
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO="$(cd "$(dirname "$SELF")/.." && pwd)"
SHARED="${RF_SHARED_BENCH:-$REPO/../shared/bench}"
RF_PORT_MIN="${RF_PORT_MIN:-30000}" RF_PORT_MAX="${RF_PORT_MAX:-50999}"
RF_BUILD="${RF_BUILD:-$REPO/build}"

# ---- plug-in side: called by measure-relay.sh ----
hook_run() { echo "${RELAY_VAR:?RELAY_VAR not set}/ringfence-${RELAY_IP:-127.0.7.1}"; }

hook_wait() { # FILE: wait up to 120 s for relay-host's answer
	local f="$1" i
	for i in $(seq 1 1200); do
		if [ -s "$f" ]; then
			grep -qx ok "$f" && return 0
			cat "$f" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "relay.sh: no answer from relay-host" >&2
	return 1
}

hook_alive() { [ -n "${1:-}" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = relay-host ]; }

hook() {
	local run pid n mode file
	run="$(hook_run)"
	case "$1" in
	start)
		mkdir -p "$run"
		if [ -s "$run/pid" ] && hook_alive "$(cat "$run/pid")"; then cat "$run/pid"; return 0; fi
		# The relay as the daemon ships it: the core library of RF_BUILD.
		cmake --build "$RF_BUILD" --target rfcore >&2 || return 1
		gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -I"$REPO/src" \
			-o "$run/relay-host" "$REPO/bench/lib/relay-host.c" "$RF_BUILD/librfcore.a" \
			$(pkg-config --cflags --libs libevent openssl) \
			$(pkg-config --exists libsrtp2 && pkg-config --libs libsrtp2) -lpthread -lm >&2 || return 1
		rm -f "$run/ctl"
		mkfifo "$run/ctl" || return 1
		# Four sockets per session: 5000 streams need 20,000 descriptors.
		ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
		local pin=()
		[ -n "${RELAY_CPUS:-}" ] && pin=(taskset -c "$RELAY_CPUS")
		setsid "${pin[@]}" "$run/relay-host" "${RELAY_IP:-127.0.7.1}" "$RF_PORT_MIN" \
			"$RF_PORT_MAX" "$run/ctl" </dev/null >"$run/log" 2>&1 &
		pid=$!
		for _ in $(seq 1 50); do
			grep -q ready "$run/log" 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || { cat "$run/log" >&2; return 1; }
			sleep 0.1
		done
		echo "$pid" >"$run/pid"
		echo "$pid"
		;;
	stop)
		[ -s "$run/pid" ] || return 0
		pid="$(cat "$run/pid")"
		if hook_alive "$pid"; then
			kill -TERM "$pid"
			for _ in $(seq 1 50); do hook_alive "$pid" || break; sleep 0.1; done
			hook_alive "$pid" && kill -KILL "$pid"
		fi
		rm -f "$run/pid" "$run/ctl"
		;;
	alloc)
		n="$2" mode="$3" file="$4"
		case "$mode" in rtp|srtp) ;; *) return 3 ;; esac
		# The harness does not free between steps: each step replaces the last.
		rm -f "$file.freed" "$file.done"
		echo "free $file.freed" >"$run/ctl"
		hook_wait "$file.freed" || return 1
		rm -f "$file.freed"
		echo "alloc $n $mode ${A_IP:-127.0.7.2} ${A_BASE:-10000} ${B_IP:-127.0.7.3} ${B_BASE:-10000} $file $file.done" >"$run/ctl"
		hook_wait "$file.done"
		;;
	free)
		file="$4"
		rm -f "$file.freed"
		echo "free $file.freed" >"$run/ctl"
		hook_wait "$file.freed"
		;;
	*)
		echo "usage: $0 start|alloc N MODE FILE|free N MODE FILE|stop" >&2
		return 2
		;;
	esac
}

if [ $# -gt 0 ]; then
	hook "$@"
	exit $?
fi

# ---- driver side ----
[ -x "$SHARED/relay/measure-relay.sh" ] || {
	echo "relay.sh: the relay harness is not at $SHARED/relay (set RF_SHARED_BENCH)" >&2; exit 2; }
[ -f "$RF_BUILD/CMakeCache.txt" ] || {
	echo "relay.sh: $RF_BUILD is not a configured build folder (run make, or set RF_BUILD)" >&2; exit 2; }
OUT="${BENCH_VAR:-$(mktemp -d /tmp/rf-relay-bench.XXXXXX)}"
mkdir -p "$OUT"

# The generator, rtpblast from the harness, unchanged. With the stock NSS
# crypto one generator core cannot offer the SRTP load of 1,000 streams,
# so by default it is linked with gen-srtp-openssl.c, which switches its
# libsrtp2 to the OpenSSL crypto of src/media/srtp.c before main(). The
# harness's build.sh keeps a binary that is newer than its source.
build_generator() {
	local dir="$OUT/build"
	mkdir -p "$dir"
	cmake --build "$RF_BUILD" --target rfcore >&2 || return 1
	gcc -O2 -Wall -Wextra $(pkg-config --cflags nss) -I"$REPO/src" -o "$dir/rtpblast" \
		"$SHARED/relay/rtpblast.c" "$REPO/bench/lib/gen-srtp-openssl.c" "$RF_BUILD/librfcore.a" \
		-Wl,--wrap=srtp_init -lsrtp2 $(pkg-config --libs nss openssl) -lpthread >&2 || return 1
	export RELAY_BUILD="$dir"
}
GEN_CRYPTO="${GEN_CRYPTO:-openssl}"
case "$GEN_CRYPTO" in
openssl) build_generator || { echo "relay.sh: cannot build the generator" >&2; exit 1; } ;;
nss) ;;
*) echo "relay.sh: GEN_CRYPTO must be openssl or nss" >&2; exit 2 ;;
esac
export RELAY_VAR="$OUT/var" MODES="${MODES:-rtp srtp}"
if [ -n "${LOADS:-}" ]; then
	# Equal rates for every relay: each load is measured whatever the one
	# before it gave, so the pass criteria are opened (as in the harness's
	# RESULTS.md, run 3). Loss and p99 are still reported per step. A step
	# where the generator could not send its load still ends the list.
	export STEPS="$LOADS" REFINE=0 P99_MAX_US=1000000000 LOSS_MAX=100 \
		GEN_MAX_PCT=101 CPU_SAT_PCT=101
fi
RELAYS="${RELAYS:-ringfence raw rtpengine}"
echo "relay.sh: output in $OUT, generator crypto $GEN_CRYPTO" >&2

# The harness's other_cpu sums the processes alive at both ends of a step,
# so a compiler job that starts and ends inside it is not seen. machine.txt
# has, once a second, the whole machine's busy time (% of one core, of 200
# on this 2-core machine) and the CPU pressure, to check steps against.
sample_machine() {
	local a b i busy tot
	a=($(head -1 /proc/stat))
	while sleep 1 && kill -0 $$ 2>/dev/null; do # ends with the script
		b=($(head -1 /proc/stat))
		busy=0 tot=0
		for i in 1 2 3 4 5 6 7 8; do
			tot=$((tot + b[i] - a[i]))
			[ "$i" != 4 ] && [ "$i" != 5 ] && busy=$((busy + b[i] - a[i]))
		done
		echo "$(date -u +%H:%M:%S) busy=$((tot ? 100 * $(nproc) * busy / tot : 0))% $(head -1 /proc/pressure/cpu 2>/dev/null | cut -d' ' -f2)"
		a=("${b[@]}")
	done
}
sample_machine >"$OUT/machine.txt" &
SAMPLER=$!
trap 'kill "$SAMPLER" 2>/dev/null' EXIT
for relay in $RELAYS; do
	case "$relay" in
	ringfence) kind="$SELF" ;;
	rtpengine) command -v rtpengine >/dev/null || [ -x /usr/bin/rtpengine ] || {
			echo "relay.sh: rtpengine-daemon not installed - skipped" >&2; continue; }
		kind=rtpengine ;;
	*) kind="$relay" ;;
	esac
	"$SHARED/relay/measure-relay.sh" "$kind" >"$OUT/$relay.txt" 2>"$OUT/$relay.log"
	grep -h '^relay=' "$OUT/$relay.txt" | sed "s|^relay=[^ ]*|relay=$relay|"
done | tee "$OUT/summary.txt"
# Every step, one table: the figures to compare at equal rates.
for relay in $RELAYS; do
	[ -f "$OUT/$relay.txt" ] || continue
	grep -h '^step ' "$OUT/$relay.txt" | sed "s|relay=[^ ]*|relay=$relay|"
done | awk '
	function v(k,   i, p) { for (i = 1; i <= NF; i++) { split($i, p, "="); if (p[1] == k) return p[2] } return "-" }
	BEGIN { printf "%-10s %-5s %7s %8s %8s %9s %9s %9s %s\n", "relay", "mode", "streams", "fwd_pps", "us/pkt", "loss_pct", "p50_us", "p99_us", "other_cpu" }
	{ printf "%-10s %-5s %7s %8s %8s %9s %9s %9s %s\n", v("relay"), v("mode"), v("streams"), v("fwd_pps"), v("us_per_packet"), v("loss_pct"), v("p50_us"), v("p99_us"), v("other_cpu") }' \
	| tee "$OUT/steps.txt"
