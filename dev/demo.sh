#!/usr/bin/env bash
# Shows route streaming an answer, and falling back from a failing provider,
# with no key and no network: the answers come from route-mock, a local MOCK
# provider (dev/mock) on 127.0.0.1, not from a real model.
set -euo pipefail
cd "$(dirname "$0")/.."

# One cargo run for both binaries, with cargo's own progress bar on a terminal (and
# its "Compiling ..." lines elsewhere): the first build takes a few minutes.
echo "building route and route-mock (first time: a few minutes)..." >&2
cargo build -p route --bin route -p route-mock --bin route-mock
bin=target/debug
echo >&2

work=$(mktemp -d)
mock_pid=
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The mock prints its address on its first line, then serves until killed.
"$bin/route-mock" --delay-ms 40 --text "TCP slow start begins with a small congestion window and doubles it every round trip until a loss or the slow-start threshold is reached. (This answer comes from route-mock, a local mock provider.)" > "$work/mock.out" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/mock.out" ] && break; sleep 0.05; done
url=$(head -n1 "$work/mock.out")

# A profile with a healthy mock provider and one whose every answer is HTTP 503.
cat > "$work/profile.toml" <<TOML
default = "demo"

[providers.mock]
kind = "openai"
base_url = "$url/v1"

[providers.broken]
kind = "openai"
base_url = "$url/fail/503/v1"

[models.good]
provider = "mock"
model = "gpt-5.4-mini-2026-03-17"

[models.flaky]
provider = "broken"
model = "gpt-5.5-2026-04-23"

[chains.demo]
models = ["flaky", "good"]
retries = 0
TOML

export ROUTE_PROFILE="$work/profile.toml" ROUTE_DATA_DIR="$work/data"

echo "\$ route ask -m good \"Explain TCP slow start in two sentences\"" >&2
"$bin/route" ask -m good "Explain TCP slow start in two sentences"
echo >&2
echo "\$ route ask -v \"Explain TCP slow start\"   # chain: flaky (HTTP 503) then good" >&2
"$bin/route" ask -v "Explain TCP slow start in two sentences"
echo >&2
echo "\$ route cost" >&2
"$bin/route" cost
