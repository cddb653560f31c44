#!/usr/bin/env bash
# Run every libFuzzer harness built in $FUZZ_BUILD for $FUZZ_SECS seconds
# each, on a scratch copy of the seeds (so the checked-in corpus never
# changes under a test run), with the SIP dictionaries. Any crash, leak or
# timeout fails the run; artifacts are kept in $FUZZ_BUILD/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."

FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECS=${FUZZ_SECS:-60}

shopt -s nullglob
fuzzers=()
for f in "$FUZZ_BUILD"/fuzz_* "$FUZZ_BUILD"/tests/fuzz/fuzz_*; do
	[[ -f $f && -x $f ]] && fuzzers+=("$f")
done
if ((${#fuzzers[@]} == 0)); then
	echo "fuzz: no fuzzers built in $FUZZ_BUILD" >&2
	exit 1
fi

dict=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work" "$dict"' EXIT
cat tests/fuzz/dict/*.dict >"$dict"
artifacts=$FUZZ_BUILD/artifacts
mkdir -p "$artifacts"

failed=0
for fz in "${fuzzers[@]}"; do
	name=$(basename "$fz")
	corpus=$work/$name
	mkdir -p "$corpus"
	find tests/fuzz/seeds -type f ! -name SHA256SUMS -exec cp -t "$corpus" {} +
	cp tests/data/rfc4475/*.dat "$corpus"/
	[[ -d tests/data/regress ]] && find tests/data/regress -type f -exec cp -t "$corpus" {} +
	log=$artifacts/$name.log
	start=$SECONDS
	if "$fz" "$corpus" -dict="$dict" -max_len=65535 -max_total_time="$FUZZ_SECS" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$name-" >"$log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
		echo "fuzz $name: ok, $runs runs in $((SECONDS - start)) s"
	else
		failed=1
		echo "fuzz $name: FAILED after $((SECONDS - start)) s (log: $log)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 || true
	fi
done
exit $failed
