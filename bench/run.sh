#!/usr/bin/env bash
# Benchmarks the release binary on a seeded catalogue; load comes from wrk in a second process
# on loopback. Prints figures, asserts nothing. Usage: bench/run.sh [CONTAINERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
containers="${1:-100000}"
seconds="${2:-10}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/bioshadock"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export BIOSHADOCK__DATA_DIR="$work/data" BIOSHADOCK__WEB__LISTEN="127.0.0.1:$port" RUST_LOG=warn
url="http://127.0.0.1:$port"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

echo "== seeding $containers synthetic containers"
"$bin" seed --containers "$containers"

echo "== start-up"
start_ns=$(date +%s%N)
"$bin" serve & server=$!
until curl -fs "$url/healthz" >/dev/null 2>&1; do sleep 0.005; done
ready_ns=$(date +%s%N)
echo "start-up to ready: $(( (ready_ns - start_ns) / 1000000 )) ms"
sleep 2
idle=$(rss_kb "$server")
echo "idle RSS: $((idle / 1024)) MB"

echo "== /container/all (streamed)"
before=$(rss_kb "$server")
curl -s -o "$work/all.json" -w "last byte after %{time_total} s, %{size_download} bytes\n" "$url/container/all"
peak=$(hwm_kb "$server")
echo "containers in the response: $(python3 -c "import json,sys; print(len(json.load(open('$work/all.json'))))")"
echo "RSS before: $((before / 1024)) MB; peak while serving: $((peak / 1024)) MB; growth: $(( (peak - before) / 1024 )) MB"

echo "== throughput, $seconds s each, 1 wrk thread, 16 connections (anonymous: micro-cached)"
echo -n "baseline GET /healthz: "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua "$url/healthz" | tail -1
echo -n "catalogue GET /: "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua "$url/" | tail -1
echo -n "catalogue GET /container/latest: "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua "$url/container/latest" | tail -1

# One container is read afresh for every caller, so the pair measures authentication, not the
# anonymous micro-cache.
one="$(python3 -c "import json; print(json.load(open('$work/all.json'))[0]['id'])")"
echo "== API-key authentication overhead, $seconds s each, same uncached endpoint (GET /container/$one), same run"
echo "bench password" | "$bin" user add bench --password-stdin >/dev/null
key="$("$bin" user apikey bench --label benchmark --scopes read)"
for _ in 1 2; do
  echo -n "anonymous GET /container/$one: "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua "$url/container/$one" | tail -1
  echo -n "API key GET /container/$one:   "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua -H "Authorization: Bearer $key" "$url/container/$one" | tail -1
done
echo -n "uncached GET /container/latest (API key): "; wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua -H "Authorization: Bearer $key" "$url/container/latest" | tail -1

echo "== search latency, $seconds s, 1 wrk thread, 4 connections"
wrk -t1 -c4 -d"${seconds}s" -s bench/search.lua "$url" | tail -1
echo "== search latency, one client at a time"
wrk -t1 -c1 -d"${seconds}s" -s bench/search.lua "$url" | tail -1
echo "== the same searches with all six facets counted (target: p95 <= 20 ms at 100,000 containers)"
wrk -t1 -c1 -d"${seconds}s" -s bench/search.lua "$url" -- facets | tail -1
echo "== EDAM (with the terms below), licence, sorted and empty searches with facets"
wrk -t1 -c1 -d"${seconds}s" -s bench/search.lua "$url" -- bio | tail -1
echo "RSS after the run: $(( $(rss_kb "$server") / 1024 )) MB"
