#!/usr/bin/env bash
# bench/relay.sh - CPU microseconds per forwarded RTP packet through
# Ringfence's media relay, measured with the shared relay harness
# (../shared/bench/relay, see its README) in the same run as its raw
# forwarder (the floor for a userspace relay here) and, when
# rtpengine-daemon is installed, rtpengine in userspace.
#
#   bench/relay.sh                   full ramp for every relay (~3 min each)
#   STEPS="100 500 1000" REFINE=0 bench/relay.sh     a shorter ramp
#   RELAYS=ringfence bench/relay.sh  Ringfence only
#
# Ringfence's sessions are made by relay-host (bench/lib/relay-host.c): the
# relay code of src/media linked into a small process that opens sessions on
# command, so this measures the media path alone, without SIP. Each session
# is a call: leg A's peer is the caller's SDP address, leg B's the callee's,
# strict source on both legs, RTCP sockets bound as in a real call.
#
# The same file is also the harness's plug-in (start, alloc, free, stop).
#
# Environment (defaults):
#   RF_SHARED_BENCH  harness folder (REPO/../shared/bench)
#   RF_BUILD         configured build folder whose librfcore.a is measured (REPO/build)
#   RELAYS           "ringfence raw rtpengine" (rtpengine skipped if absent)
#   MODES            rtp (the relay does not do SRTP yet)
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
		[ "$mode" = rtp ] || return 3
		# The harness does not free between steps: each step replaces the last.
		rm -f "$file.freed" "$file.done"
		echo "free $file.freed" >"$run/ctl"
		hook_wait "$file.freed" || return 1
		rm -f "$file.freed"
		echo "alloc $n ${A_IP:-127.0.7.2} ${A_BASE:-10000} ${B_IP:-127.0.7.3} ${B_BASE:-10000} $file $file.done" >"$run/ctl"
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
export RELAY_VAR="$OUT/var" MODES="${MODES:-rtp}"
RELAYS="${RELAYS:-ringfence raw rtpengine}"
echo "relay.sh: output in $OUT" >&2
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
