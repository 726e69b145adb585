#!/usr/bin/env bash
# Runs every fuzz target of a libFuzzer build (make fuzz) for a set time each, one after the other,
# and says which found a crash and how to reproduce it (docs/testing.md).
#
#   scripts/run-fuzzers.sh <build-dir> <seconds-each> [target...]
#
# Each target starts from its checked-in corpus (tests/fuzz/corpus/<name>, read only) and keeps
# what it learns in <build-dir>/fuzz-corpus/<name>; a crash, leak or timeout is written to
# <build-dir>/fuzz-artifacts/<name>/. Exit 1 if any target failed.
set -uo pipefail

build_dir=${1:?usage: run-fuzzers.sh <build-dir> <seconds-each> [target...]}
seconds=${2:?usage: run-fuzzers.sh <build-dir> <seconds-each> [target...]}
shift 2
source_dir=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for corpus in "$source_dir"/tests/fuzz/corpus/*/; do targets+=("$(basename "$corpus")"); done
fi

failed=()
for name in "${targets[@]}"; do
  binary=$build_dir/tests/fuzz/fuzz_$name
  if [ ! -x "$binary" ]; then
    echo "no fuzz target $name ($binary is not built)" >&2
    exit 2
  fi
  work=$build_dir/fuzz-corpus/$name
  artifacts=$build_dir/fuzz-artifacts/$name
  mkdir -p "$work" "$artifacts"
  log=$build_dir/fuzz-artifacts/$name.log
  echo "fuzzing $name for ${seconds}s (log: $log)"
  # -max_len: the largest input worth mutating; every target reads a few short lines.
  if "$binary" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" \
      "$source_dir/tests/fuzz/corpus/$name" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "  $name: clean, ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) inputs"
  else
    failed+=("$name")
    crash=$(ls -t "$artifacts" 2>/dev/null | head -1)
    echo "  $name: FAILED; the report is in $log"
    if [ -n "$crash" ]; then
      echo "  reproduce: $binary $artifacts/$crash"
      echo "  keep it as a regression input: cp $artifacts/$crash tests/fuzz/corpus/$name/regression-<what>"
    fi
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]}" >&2
  exit 1
fi
echo "all ${#targets[@]} fuzz targets ran clean for ${seconds}s each"
