#!/usr/bin/env bash
# bench/register.sh - authenticated REGISTER throughput, CPU and memory of
# Ringfence side by side with Kamailio 5.6, in one run, on one machine, with
# the same accounts and the same SIPp load (REGISTER -> 401 -> REGISTER with
# digest -> 200 is one registration).
#
#   bench/register.sh              full run (10000 accounts, 10 s ramp steps)
#   QUICK=1 bench/register.sh      smoke test (2000 accounts, 3 s steps)
#
# It drives the shared measurement harness (see bench/README.md): by default
# ../shared/bench next to the repository, or $RF_SHARED_BENCH.
#
# For each server in turn (Kamailio first, then Ringfence), on a freshly
# started process:
#   1. idle memory, then every account registers once at REG_ONCE_RATE/s,
#      then memory again: the difference is the cost of N contacts;
#   2. the harness's rate ramp (measure-register.sh) with the server's PID.
# Then it prints CPU microseconds per registration, the Ringfence/Kamailio
# ratio, the highest rate each sustained with no failures and what limited
# it, and memory per 10,000 registered contacts.
#
# Environment (defaults):
#   RF_SHARED_BENCH  harness folder            (REPO/../shared/bench)
#   RF_BUILD         Ringfence build folder    (REPO/build)
#   RINGFENCE_BIN    the binary                ($RF_BUILD/ringfence)
#   N                accounts                  (10000; QUICK: 2000)
#   SERVERS          which servers to measure  ("kamailio ringfence")
#   KAM_IP / RF_IP / PORT                      (127.0.1.1 / 127.0.1.9 / 5060)
#   RATES STEP_SECS REFINE MAX_TOTAL_SECS      passed to measure-register.sh
#                    (harness defaults; QUICK: "1000 5000 10000 20000 30000", 3, 0, 120)
#   QUIET_WAIT_S     longest wait for a quiet machine before a step (120)
#   REG_ONCE_RATE    rate of the memory phase's single registration pass (2000)
#   RF_NO_BUILD      1: measure RF_BUILD as it is (default: build target
#                    ringfence there first, so binary, library and headers agree)
#   PROVISION        auto | cli | bulk: how Ringfence gets its accounts (auto)
#                    cli = one `ringfence ext add` per account; bulk = one
#                    process (bench/lib/rf-provision.c); auto = time the CLI on
#                    the first PROBE_USERS (20) accounts and switch to bulk for
#                    the rest when the CLI would take over PROVISION_CLI_MAX_S (90)
#   SIPP_MD5_FILTER  1: preload bench/lib/sipp-md5only.c into SIPp (1; see below)
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
[ -d "$HARNESS" ] && [ -x "$HARNESS/measure-register.sh" ] && [ -r "$HARNESS/lib/common.sh" ] ||
	fatal "benchmark harness not found at '$HARNESS' (expected measure-register.sh and lib/common.sh there). Set RF_SHARED_BENCH to the harness folder."
HARNESS="$(cd "$HARNESS" && pwd)"

RF_BUILD="${RF_BUILD:-$REPO/build}"
RINGFENCE_BIN="${RINGFENCE_BIN:-$RF_BUILD/ringfence}"
SERVERS="${SERVERS:-kamailio ringfence}"
KAM_IP="${KAM_IP:-127.0.1.1}"
RF_IP="${RF_IP:-127.0.1.9}"
PORT="${PORT:-5060}"
REG_ONCE_RATE="${REG_ONCE_RATE:-2000}"
PROVISION="${PROVISION:-auto}"
PROBE_USERS="${PROBE_USERS:-20}"
PROVISION_CLI_MAX_S="${PROVISION_CLI_MAX_S:-90}"
SIPP_MD5_FILTER="${SIPP_MD5_FILTER:-1}"
if [ "$QUICK" = 1 ]; then
	N="${N:-2000}"
	export RATES="${RATES:-1000 5000 10000 20000 30000}"
	export STEP_SECS="${STEP_SECS:-3}" REFINE="${REFINE:-0}" MAX_TOTAL_SECS="${MAX_TOTAL_SECS:-120}"
	export QUIET_WAIT_S="${QUIET_WAIT_S:-60}"
else
	N="${N:-10000}"
	[ -n "${RATES:-}" ] && export RATES
	[ -n "${STEP_SECS:-}" ] && export STEP_SECS
	[ -n "${REFINE:-}" ] && export REFINE
	[ -n "${MAX_TOTAL_SECS:-}" ] && export MAX_TOTAL_SECS
	export QUIET_WAIT_S="${QUIET_WAIT_S:-120}"
fi
[[ "$N" =~ ^[0-9]+$ ]] && [ "$N" -ge 100 ] && [ "$N" -le 100000 ] || fatal "N must be 100..100000, not '$N'"
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65534 ] || fatal "PORT must be 1024..65534, not '$PORT'"
[[ "$REG_ONCE_RATE" =~ ^[0-9]+$ ]] && [ "$REG_ONCE_RATE" -ge 100 ] || fatal "REG_ONCE_RATE must be a number >= 100"
case "$PROVISION" in auto | cli | bulk) ;; *) fatal "PROVISION must be auto, cli or bulk, not '$PROVISION'" ;; esac
for s in $SERVERS; do
	case "$s" in kamailio | ringfence) ;; *) fatal "SERVERS: unknown server '$s' (kamailio, ringfence)" ;; esac
done

if [ -z "${BENCH_VAR:-}" ]; then
	BENCH_VAR="$(mktemp -d "${TMPDIR:-/tmp}/rf-bench.XXXXXX")" || fatal "cannot create an output folder"
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
# Ours, shared with calls.sh and flood.sh: wait_udp, rf_conf_set,
# build_provisioner, kam_start and kam_stop, reg_pass.
# shellcheck source=lib/rf-bench.sh
. "$SELF_LIB/rf-bench.sh"
require_loopback "$KAM_IP"; require_loopback "$RF_IP"
require_cmd sipp timeout awk ss
[ "$KAM_IP" != "$RF_IP" ] || fatal "KAM_IP and RF_IP must differ"

# ---------- cleanup: stop everything we started, whatever happens ----------
RF_PID=""
cleanup() {
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

# register_once NAME IP PID: every account registers once; prints "RSS PSS"
# (kB) before and after, as "idle_rss idle_pss full_rss full_pss".
register_once() {
	local name="$1" ip="$2" pid="$3" pre="$BENCH_VAR/$1-once" ok before after
	sleep 1
	before=$(tree_mem "$pid")
	"$SIPP_DIR/gen-csv.sh" register "$USERS_FILE" "$pre.csv"
	read -r ok _ < <(reg_pass "$pre" "$ip" "$PORT" 127.0.1.2 "$pre.csv" "$N" "$REG_ONCE_RATE")
	[ "$ok" = "$N" ] || { say "$name: only ${ok} of $N accounts registered (SIPp screen: $pre.out)"; return 1; }
	sleep 2
	after=$(tree_mem "$pid")
	read -r b_rss b_pss _ <<<"$before"
	read -r a_rss a_pss _ <<<"$after"
	echo "$b_rss $b_pss $a_rss $a_pss"
}

# ramp NAME IP PID: the harness's REGISTER ramp; output kept in NAME-register.txt
ramp() {
	local out="$BENCH_VAR/$1-register.txt"
	say "$1: measure-register.sh $2 $PORT $3 (output: $out)"
	"$HARNESS/measure-register.sh" "$2" "$PORT" "$3" 2>&1 | tee "$out" >&2
	grep -q '^register_rate=[1-9]' "$out"
}

# ---------- Kamailio ----------
run_kamailio() {
	local pid mem
	require_cmd kamailio sqlite3
	say "kamailio: starting (secure mode) on $KAM_IP:$PORT"
	kam_start "$KAM_IP" "$PORT" secure || fatal "kamailio did not start"
	pid=$KAM_PID
	mem=$(register_once kamailio "$KAM_IP" "$pid") || fatal "kamailio: the registration pass failed"
	echo "$mem" >"$BENCH_VAR/kamailio-mem.txt"
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
		say "ringfence: CLI provisioning: $probe accounts in ${secs}s ($(awk -v s="$secs" -v p="$probe" 'BEGIN { printf "%.1f", s / p * 1000 }') ms each; $N would take ~${projected}s)"
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

run_ringfence() {
	local mem
	[ -x "$RINGFENCE_BIN" ] || fatal "no Ringfence binary at $RINGFENCE_BIN (build it, or set RF_BUILD / RINGFENCE_BIN)"
	ss -Hlun "src $RF_IP:$PORT" | grep -q . && fatal "$RF_IP:$PORT/udp is already in use"
	say "ringfence: new instance in $RF_DIR"
	"$RINGFENCE_BIN" init --dir "$RF_DIR" --listen "$RF_IP" --port "$PORT" >"$BENCH_VAR/ringfence-init.txt" 2>&1 ||
		{ cat "$BENCH_VAR/ringfence-init.txt" >&2; fatal "ringfence init failed"; }
	chmod 600 "$BENCH_VAR/ringfence-init.txt"   # it holds the demo extensions' passwords
	# The harness sends sip:USER@IP and SIPp answers with realm = the
	# challenge's realm; the digest realm must be the domain it uses.
	conf_set sip realm "$RF_IP"
	# The load generator is one address sending thousands of requests a
	# second: a flood by the guard's default budgets ([guard] flood_*). Raised
	# so the server is measured, not its limiter (bench/flood.sh measures
	# the guard's own cost).
	conf_set guard flood_rate 1000000
	conf_set guard flood_burst 1000000
	conf_set guard flood_rate_registered 1000000
	conf_set guard flood_burst_registered 1000000
	rf check-config >"$BENCH_VAR/ringfence-config.txt" 2>&1 ||
		{ cat "$BENCH_VAR/ringfence-config.txt" >&2; fatal "ringfence check-config refused the benchmark configuration"; }
	provision_ringfence || fatal "ringfence provisioning failed"

	say "ringfence: serving on $RF_IP:$PORT"
	"$RINGFENCE_BIN" -c "$RF_CONF" serve </dev/null >"$BENCH_VAR/ringfence-serve.log" 2>&1 &
	RF_PID=$!
	wait_udp "$RF_IP" "$PORT" 15 || { cat "$BENCH_VAR/ringfence-serve.log" >&2; fatal "ringfence did not listen on $RF_IP:$PORT within 15 s"; }
	kill -0 "$RF_PID" 2>/dev/null || { cat "$BENCH_VAR/ringfence-serve.log" >&2; fatal "ringfence exited"; }
	mem=$(register_once ringfence "$RF_IP" "$RF_PID") || fatal "ringfence: the registration pass failed"
	echo "$mem" >"$BENCH_VAR/ringfence-mem.txt"
	ramp ringfence "$RF_IP" "$RF_PID" || say "ringfence: no ramp step passed"
	stop_pid "$RF_PID" 10
	RF_PID=""
}

# ---------- report ----------
# field FILE KEY: value of KEY=... on the final register_rate= line (unit stripped)
field() { awk -v k="$2" '/^register_rate=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { v = a[2]; gsub(/[^0-9.]/, "", v); print v } } }' "$1" | tail -n 1; }
# limit_field FILE KEY: from the "# highest step tried" line
limit_field() { awk -v k="$2" '/^# highest step tried/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { v = a[2]; gsub(/[^0-9.]/, "", v); print v } } }' "$1" | tail -n 1; }
# passed_rows FILE: "rate cpu sipp_cpu" of every passing ramp row
passed_rows() { awk '$1 ~ /^[0-9]+$/ && NF >= 13 && $NF == "PASS" { c = $7; s = $8; gsub(/%/, "", c); gsub(/%/, "", s); print $1, c, s }' "$1"; }
us_per_reg() { awk -v c="$1" -v r="$2" 'BEGIN { if (c == "" || r == "" || r == 0) print "NA"; else printf "%.1f", c / 100 / r * 1e6 }'; }

report_server() {
	local name="$1" out="$BENCH_VAR/$1-register.txt" rate cpu sipp allc scpu other ff limit mem per10k unit
	[ -s "$out" ] || { echo "$name: not measured"; return; }
	rate=$(field "$out" register_rate); cpu=$(field "$out" cpu)
	sipp=$(limit_field "$out" sipp_cpu); allc=$(limit_field "$out" all_cpu); scpu=$(limit_field "$out" server_cpu)
	# CPU of unrelated processes during the first failing step
	other=$(awk -v a="${allc:-0}" -v c="${scpu:-0}" -v s="${sipp:-0}" 'BEGIN { printf "%.0f", a - c - s }')
	ff=$(grep -o 'first failing step: [^)]*' "$out" | tail -n 1 | sed 's/first failing step: //')
	if [ -z "$rate" ] || [ "$rate" = 0 ]; then
		limit="no step passed"
	elif [ "${ff#none}" != "$ff" ]; then
		limit="not reached: every rate in RATES passed (raise RATES)"
	elif [ "$other" -ge 30 ]; then
		limit="other processes on the machine (they used ${other}% of a core during the first failing step; the server ${scpu}%, SIPp ${sipp}%) - not a clean figure"
	elif awk -v s="${sipp:-0}" 'BEGIN { exit !(s >= 90) }'; then
		limit="SIPp (sipp_cpu=${sipp}% of one core at the first failing rate)"
	elif awk -v a="${allc:-0}" -v n="$(nproc)" 'BEGIN { exit !(a >= 90 * n) }'; then
		limit="the machine's cores, shared by server and SIPp (all_cpu=${allc}% of $(($(nproc) * 100))%, sipp_cpu=${sipp}%)"
	else
		limit="the server (sipp_cpu=${sipp}%, all_cpu=${allc}% of $(($(nproc) * 100))% at the first failing rate)"
	fi
	# memory: Kamailio is 9 processes sharing a pool, so PSS is its fair
	# figure; Ringfence is one process, where RSS is the figure.
	read -r b_rss b_pss a_rss a_pss <"$BENCH_VAR/$name-mem.txt" 2>/dev/null || true
	if [ "$name" = kamailio ]; then unit=PSS; per10k=$(awk -v b="${b_pss:-0}" -v a="${a_pss:-0}" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 10000 / n }')
	else unit=RSS; per10k=$(awk -v b="${b_rss:-0}" -v a="${a_rss:-0}" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 10000 / n }'); fi
	mem="idle ${b_rss:-NA}/${b_pss:-NA} kB rss/pss, with $N contacts ${a_rss:-NA}/${a_pss:-NA} kB -> $unit +${per10k} KiB per 10,000 contacts ($(awk -v k="$per10k" 'BEGIN { printf "%.0f", k * 1024 / 10000 }') bytes per contact)"
	printf '%s\n' "$name:"
	printf '  highest rate with no failures: %s/s   limited by: %s\n' "${rate:-0}" "$limit"
	printf '  CPU at that rate: %s%% of one core = %s us per registration\n' "${cpu:-NA}" "$(us_per_reg "$cpu" "$rate")"
	printf '  memory: %s\n' "$mem"
	printf '  final line: %s\n' "$(grep '^register_rate=' "$out" | tail -n 1)"
	eval "R_RATE_$name=\${rate:-0} R_CPU_$name=\${cpu:-} R_MEM_$name=\$per10k R_SIPP_$name=\${sipp:-}"
}

report() {
	local k="$BENCH_VAR/kamailio-register.txt" r="$BENCH_VAR/ringfence-register.txt" uk ur common ck cr
	echo
	echo "== Authenticated REGISTER: $N accounts, SIPp at 127.0.1.2, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ) =="
	echo "   (CPU is % of one core; us per registration = cpu / 100 / rate * 1e6)"
	[ -s "$BENCH_VAR/build-version.txt" ] && echo "   ringfence build: $(cat "$BENCH_VAR/build-version.txt")"
	[ -s "$BENCH_VAR/ringfence-provision.txt" ] && echo "   ringfence provisioning: $(paste -sd' ' "$BENCH_VAR/ringfence-provision.txt")"
	for s in $SERVERS; do report_server "$s"; done
	[ -s "$k" ] && [ -s "$r" ] || { echo "outputs in $BENCH_VAR"; return; }
	uk=$(us_per_reg "${R_CPU_kamailio:-}" "${R_RATE_kamailio:-0}")
	ur=$(us_per_reg "${R_CPU_ringfence:-}" "${R_RATE_ringfence:-0}")
	echo "comparison:"
	echo "  at each server's highest rate: Ringfence ${ur} us / Kamailio ${uk} us = $(awk -v a="$ur" -v b="$uk" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }')x"
	# the same load for both: the highest rate both passed
	common=$(join <(passed_rows "$k" | sort -k1,1) <(passed_rows "$r" | sort -k1,1) | sort -n -k1,1 | tail -n 1)
	if [ -n "$common" ]; then
		read -r cr_rate ck cks cr crs <<<"$common"
		echo "  at the same rate ($cr_rate/s): Ringfence $(us_per_reg "$cr" "$cr_rate") us (cpu ${cr}%, sipp ${crs}%) / Kamailio $(us_per_reg "$ck" "$cr_rate") us (cpu ${ck}%, sipp ${cks}%) = $(awk -v a="$cr" -v b="$ck" 'BEGIN { if (b == 0) print "NA"; else printf "%.2f", a / b }')x"
	fi
	echo "targets (issue 2, section 8):"
	awk -v a="$ur" -v b="$uk" 'BEGIN { if (a == "NA" || b == "NA") print "  CPU per registration <= 0.5x Kamailio, each at its highest rate: not measured"; else printf "  CPU per registration <= 0.5x Kamailio, each at its highest rate: %s (%.2fx)\n", (a <= 0.5 * b) ? "MET" : "NOT MET", a / b }'
	[ -n "$common" ] && awk -v a="$cr" -v b="$ck" -v r="$cr_rate" 'BEGIN { if (b > 0) printf "  CPU per registration <= 0.5x Kamailio, same load (%d/s): %s (%.2fx)\n", r, (a <= 0.5 * b) ? "MET" : "NOT MET", a / b }'
	local rr="${R_RATE_ringfence:-0}"
	if [ "$rr" -ge 20000 ]; then echo "  >= 20000 registrations/s with no failure: MET ($rr/s)"
	elif awk -v s="${R_SIPP_ringfence:-0}" 'BEGIN { exit !(s >= 90) }'; then echo "  >= 20000 registrations/s or SIPp's limit: MET at SIPp's limit ($rr/s, sipp_cpu=${R_SIPP_ringfence}%)"
	else echo "  >= 20000 registrations/s with no failure: NOT MET ($rr/s)"; fi
	awk -v m="${R_MEM_ringfence:-NA}" 'BEGIN { if (m == "NA") print "  <= 1 KiB per contact: not measured"; else printf "  <= 1 KiB per registered contact: %s (%.0f bytes per contact)\n", (m * 1024 / 10000 <= 1024) ? "MET" : "NOT MET", m * 1024 / 10000 }'
	echo "outputs in $BENCH_VAR"
}

# Every SIPp the harness starts goes through bench/lib/sipp-shim/sipp (first
# in PATH), for both servers alike: it sets the digest uri to the
# Request-URI's domain (-auth_uri) and preloads bench/lib/sipp-md5only.c,
# because SIPp 3.6.1 answers only the first challenge and only MD5 while
# Ringfence offers SHA-256 first. See both files for the details.
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
	PATH="$SELF_LIB/sipp-shim:$PATH"
	export PATH
}

# Ringfence's password policy runs cracklib, which refuses about one random
# 24-character password in 2000 (more than four neighbouring characters
# that are consecutive letters or digits anywhere in it count as
# "too simplistic/systematic"). Both servers must get the same accounts, so
# such passwords are replaced, before either server sees the file, by new
# ones of the harness's form until cracklib accepts all of them (bounded).
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
		# "old new" pairs; the new passwords come from /dev/urandom like the harness's
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

# Bring the build under test up to date with the tree, so that the binary,
# librfcore.a and the headers the bulk provisioner is compiled against all
# agree. RF_NO_BUILD=1 measures the build folder as it is.
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
	# re-print the summary of an earlier run kept in BENCH_VAR
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
