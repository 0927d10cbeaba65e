#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ in turn, FUZZ_SECONDS (default 60) seconds each, on top
# of the committed seed corpus (fuzz/corpus/<target>/seed*). Installs the nightly toolchain and
# cargo-fuzz first when they are missing. Fails when any target finds a crash (a panic, a failed
# assertion, an out-of-memory or a timeout), printing the reproducer's path and the command that
# replays it; the other targets still run.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_TARGETS   space-separated subset (default: every target `cargo fuzz list` names)
#   FUZZ_FLAGS     cargo-fuzz build flags (default: no sanitizer, debug assertions on; every
#                  crate under test is #![forbid(unsafe_code)], so overflow checks find more than
#                  AddressSanitizer would, and the targets run several times faster without it)
#   FUZZ_ARGS      extra libFuzzer flags (default: -timeout=20, an input that runs longer fails)
#
# fuzz/dict/<target>.dict, when present, is passed with -dict= (the keywords a parser compares
# against; written with the seeds by fuzz/seeds.py).
#
# Logs: fuzz/target/fuzz-logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
read -r -a flags <<<"${FUZZ_FLAGS:---sanitizer none --debug-assertions}"
read -r -a args <<<"${FUZZ_ARGS:--timeout=20}"

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || {
    echo "fuzz: cannot install the nightly toolchain" >&2
    exit 1
  }
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked --quiet || {
    echo "fuzz: cannot install cargo-fuzz" >&2
    exit 1
  }
fi

read -r -a targets <<<"${FUZZ_TARGETS:-$(cargo +nightly fuzz list | tr '\n' ' ')}"
build_start=$SECONDS
cargo +nightly fuzz build "${flags[@]}" || exit 1
echo "fuzz: targets built in $((SECONDS - build_start)) s"

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
# CPU time of this shell's finished children (user + sys, in seconds), from bash's `times`,
# which must run in this shell (not in a $(...) subshell, whose children are its own).
times_file=$logs/.times
children_cpu() {
  tail -n 1 "$times_file" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%.0f", t
  }'
}
times >"$times_file"
cpu_start=$(children_cpu)
failed=()
for t in "${targets[@]}"; do
  log=$logs/$t.log
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  start=$SECONDS
  if cargo +nightly fuzz run "${flags[@]}" "$t" -- -max_total_time="$seconds" "${dict[@]}" \
    "${args[@]}" >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | grep -o '[0-9]*')
    echo "fuzz: $t: ${runs:-?} inputs in $((SECONDS - start)) s, no crash"
  else
    failed+=("$t")
    echo "fuzz: $t: FAILED after $((SECONDS - start)) s; last lines of $log:"
    tail -n 40 "$log" | sed 's/^/    /'
    reproducer=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -n 1 | sed 's/Test unit written to //')
    if [ -n "$reproducer" ]; then
      echo "fuzz: $t: reproducer: $reproducer"
      echo "fuzz: $t: replay with: cargo +nightly fuzz run ${flags[*]} $t $reproducer"
    else
      echo "fuzz: $t: no reproducer written (a build or setup failure?)"
    fi
  fi
done
times >"$times_file"
cpu=$(($(children_cpu) - cpu_start))
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, ${cpu} CPU-seconds of fuzzing," \
  "${#failed[@]} failed${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
