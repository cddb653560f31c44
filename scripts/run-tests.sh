#!/usr/bin/env bash
# The whole suite: build with -Werror, unit tests (cmocka via ctest),
# integration tests (pytest against the real binary), then the parser
# fuzzers for a bounded time. Every stage runs even when an earlier one
# failed, so one report shows everything; the exit status is non-zero if
# anything failed.
#
#   scripts/run-tests.sh BUILD_DIR FUZZ_BUILD_DIR FUZZ_SECS
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
fuzz_build=${2:-build-fuzz}
fuzz_secs=${3:-60}
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
failed_stages=()

stage() { printf '\n==== %s ====\n' "$*"; }

stage "build ($build, -Werror)"
if ! { cmake -S . -B "$build" -DRF_WERROR=ON >/dev/null && cmake --build "$build" -j"$(nproc)" && scripts/check-banned.sh; }; then
	echo "build failed: nothing else can run" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

stage "unit tests (ctest)"
(cd "$build" && ctest --output-on-failure --output-junit "$reports/unit.xml") || failed_stages+=(unit)

stage "integration tests (pytest, real binary)"
RINGFENCE_BIN="$(pwd)/$build/ringfence" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	--junitxml="$reports/integration.xml" tests/integration
rc=$?
# Exit 5 means pytest collected nothing, which is a failure of the suite.
[ $rc -eq 0 ] || failed_stages+=(integration)

if [ "${RF_SKIP_FUZZ:-0}" != 1 ] && [ "$fuzz_secs" -gt 0 ]; then
	stage "fuzzing (${fuzz_secs}s per harness)"
	if make --no-print-directory fuzz FUZZ_BUILD="$fuzz_build" FUZZ_SECS="$fuzz_secs" >"$reports/fuzz.log" 2>&1; then
		grep -E '^(fuzz|OK|PASS|FAIL)' "$reports/fuzz.log" || tail -5 "$reports/fuzz.log"
		echo '<testsuite tests="1" failures="0"/>' >"$reports/fuzz.xml"
	else
		tail -40 "$reports/fuzz.log"
		echo '<testsuite tests="1" failures="1"/>' >"$reports/fuzz.xml"
		failed_stages+=(fuzz)
	fi
fi

stage "summary"
[ ${#failed_stages[@]} -eq 0 ] || echo "FAILED stages: ${failed_stages[*]}"
/usr/bin/python3 - "$reports" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
tot = {"passed": 0, "failed": 0, "skipped": 0}
for f in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    try:
        root = ET.parse(f).getroot()
    except ET.ParseError:
        print(f"{f}: unreadable report"); tot["failed"] += 1; continue
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    t = sum(int(s.get("tests", 0)) for s in suites)
    fl = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    sk = sum(int(s.get("skipped", 0) or s.get("disabled", 0) or 0) for s in suites)
    name = f.rsplit("/", 1)[1][:-4]
    print(f"{name:12s} {t - fl - sk:5d} passed {fl:3d} failed {sk:3d} skipped")
    tot["passed"] += t - fl - sk; tot["failed"] += fl; tot["skipped"] += sk
print(f"{tot['passed']} passed, {tot['failed']} failed, {tot['skipped']} skipped")
PY
[ ${#failed_stages[@]} -eq 0 ]
