#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== forbidden leftovers"
if grep -rnE '\b(dbg!|todo!|unimplemented!)' src tests dev/mock/src; then
  echo "remove the leftovers above" >&2
  exit 1
fi

echo "== cargo test"
cargo test --workspace --locked

echo "== property tests of every parser, a longer run (bounded by case count)"
ROUTE_FUZZ_CASES=8000 cargo test --locked --lib fuzz

echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
