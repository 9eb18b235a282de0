#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ in turn for N seconds each (default 600, the campaign of
# issue 18), one at a time (each takes a core), on its corpus fuzz/corpus/TARGET/ (new finds are
# added there), and prints each run's last libFuzzer status line (executions, cov:, ft:).
# A crash stops the script with libFuzzer's report; keep the input in fuzz/regressions/TARGET/,
# fix the parser, and the stable replay test (tests/fuzz_corpus.rs) keeps it fixed.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-600}"
shift || true
targets=("$@")
if [ "${#targets[@]}" = 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: $seconds s"
  cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 \
    2>&1 | tee "logs/$target.log" | grep -E '^#[0-9]+ +(DONE|pulse)|stat::|SUMMARY|panicked' || true
  # tee hides libFuzzer's exit status: a crash leaves its artifact and the log says so.
  if grep -qE '^==[0-9]+== ?ERROR|panicked at|deadly signal' "logs/$target.log"; then
    echo "!! $target crashed: see fuzz/logs/$target.log and fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
