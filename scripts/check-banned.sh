#!/usr/bin/env bash
# Unsafe libc string functions are banned from the source tree: they are the
# classic way a parser turns a long header into a stack overflow.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok)\s*\(' -r src tests/unit tests/fuzz --include='*.c' --include='*.h'; then
  echo "error: banned function used (see above); use snprintf/memcpy with explicit lengths" >&2
  exit 1
fi
