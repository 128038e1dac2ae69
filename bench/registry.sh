#!/usr/bin/env bash
# Registry benchmarks on the release binary. Prints figures, asserts nothing.
#   1. token issuance per second (API key and password Basic, one scope) under load from wrk,
#      against the raw ES256 signing rate measured in the same run;
#   2. N small `docker push`es through Bioshadock's token auth vs. the same registry with
#      htpasswd auth (the ratio is what matters);
#   3. push → visible in search latency (p50/p95).
# Needs what scripts/test installs (dockerd running, docker-registry, busybox-static) and wrk.
# Usage: bench/registry.sh [PUSHES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
pushes="${1:-20}"
seconds="${2:-10}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
docker info >/dev/null 2>&1 || { echo "dockerd is not running (scripts/test starts it)" >&2; exit 1; }
cargo build --release --quiet
cargo build --release --quiet -p bioshadock-core --example sign_rate
target="${CARGO_TARGET_DIR:-target}/release"
bin="$target/bioshadock"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
port="$(free_port)"; token_port="$(free_port)"; htpasswd_port="$(free_port)"
url="http://127.0.0.1:$port"
export BIOSHADOCK__DATA_DIR="$work/data" BIOSHADOCK__WEB__LISTEN="127.0.0.1:$port" \
  BIOSHADOCK__WEB__PUBLIC_URL="$url" BIOSHADOCK__REGISTRY__URL="http://127.0.0.1:$token_port" RUST_LOG=warn
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; exit 1; }

echo "bench password" | "$bin" user add bench --password-stdin >/dev/null
key="$("$bin" user apikey bench --label benchmark --scopes read,push)"
"$bin" serve & pids+=($!)
wait_for "$url/healthz"

echo "== 1. token issuance, $seconds s, 1 wrk thread, 16 connections"
"$target/examples/sign_rate" 5
echo -n "baseline GET /healthz: "
wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua "$url/healthz" | tail -1
scope="service=bioshadock-registry&scope=repository:bench/tool:pull,push"
echo -n "API key (Basic bench:KEY): "
wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua -H "Authorization: Basic $(printf 'bench:%s' "$key" | base64 -w0)" "$url/v2/token?$scope" | tail -1
echo -n "password (Basic bench:password, verified once then cached): "
wrk -t1 -c16 -d"${seconds}s" -s bench/rate.lua -H "Authorization: Basic $(printf 'bench:bench password' | base64 -w0)" "$url/v2/token?$scope" | tail -1

echo "== 2. $pushes small pushes: Bioshadock token auth vs htpasswd"
"$bin" registry-config --listen "127.0.0.1:$token_port" --root "$work/token-registry" > "$work/token.yml"
docker-registry serve "$work/token.yml" >"$work/token-registry.log" 2>&1 & pids+=($!)
# bcrypt cost 5, the default of `htpasswd -B` that Distribution's documentation uses.
python3 -c 'import crypt; print("bench:" + crypt.crypt("bench password", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))' > "$work/htpasswd" 2>/dev/null
cat > "$work/htpasswd.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/htpasswd-registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$htpasswd_port}
auth: {htpasswd: {realm: bench, path: $work/htpasswd}}
YAML
docker-registry serve "$work/htpasswd.yml" >"$work/htpasswd-registry.log" 2>&1 & pids+=($!)
sleep 1

# Small distinct images from a local busybox base (nothing can be pulled here).
mkdir -p "$work/base" && cp /bin/busybox "$work/base/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' > "$work/base/Dockerfile"
docker build -q -t bioshadock-bench/busybox:latest "$work/base" >/dev/null 2>&1
for i in $(seq 1 "$pushes"); do
  mkdir -p "$work/img$i"
  printf 'FROM bioshadock-bench/busybox:latest\nRUN echo %s-%s > /id\n' "$i" "$RANDOM" > "$work/img$i/Dockerfile"
  image="$(docker build -q "$work/img$i" 2>/dev/null)"
  docker tag "$image" "127.0.0.1:$token_port/bench/tool-$i:1"
  docker tag "$image" "127.0.0.1:$htpasswd_port/bench/tool-$i:1"
done
docker --config "$work/dc-token" login "127.0.0.1:$token_port" -u bench --password-stdin <<< "bench password" >/dev/null 2>&1
docker --config "$work/dc-htpasswd" login "127.0.0.1:$htpasswd_port" -u bench --password-stdin <<< "bench password" >/dev/null 2>&1

latencies=()
start="$(now_ms)"
for i in $(seq 1 "$pushes"); do
  docker --config "$work/dc-token" push -q "127.0.0.1:$token_port/bench/tool-$i:1" >/dev/null
  pushed="$(now_ms)"
  # 3. push → visible in search.
  until curl -s "$url/container/search?q=name:bench/tool-$i" | grep -q "\"id\":\"bench/tool-$i\""; do sleep 0.01; done
  latencies+=($(( $(now_ms) - pushed )))
done
token_ms=$(( $(now_ms) - start ))
search_ms=0; for l in "${latencies[@]}"; do search_ms=$(( search_ms + l )); done
token_push_ms=$(( token_ms - search_ms ))

start="$(now_ms)"
for i in $(seq 1 "$pushes"); do
  docker --config "$work/dc-htpasswd" push -q "127.0.0.1:$htpasswd_port/bench/tool-$i:1" >/dev/null
done
htpasswd_ms=$(( $(now_ms) - start ))
echo "token auth: $pushes pushes in $token_push_ms ms (search waits excluded); htpasswd: $htpasswd_ms ms; ratio $(python3 -c "print(round($token_push_ms/$htpasswd_ms, 2))")"

echo "== 3. push → visible in search"
printf '%s\n' "${latencies[@]}" | sort -n | python3 -c '
import sys
values = [int(v) for v in sys.stdin.read().split()]
p = lambda q: values[min(len(values) - 1, int(round(q * (len(values) - 1))))]
print(f"{len(values)} pushes: p50 {p(0.5)} ms, p95 {p(0.95)} ms, max {values[-1]} ms")'
