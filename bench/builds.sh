#!/usr/bin/env bash
# Builder benchmarks. Prints figures, asserts nothing.
#   1. a small git build end to end through Bioshadock (hook call → build `success`, i.e.
#      cloned, built with labels, pushed and cleaned up) vs. the raw
#      `git clone --depth 1 && docker build && docker push && docker rmi` of the same repository,
#      alternated N times in the same run: medians and their ratio;
#   2. hook call → build running with an idle worker: M builds one after the other, from the
#      client's call to the build's recorded start, and the server's queued → started, p50/p95.
# Needs what scripts/test installs (dockerd running, docker-registry, busybox-static, git), jq.
# Usage: bench/builds.sh [N] [M]     PROFILE=debug bench/builds.sh to skip the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
starts="${2:-20}"
profile="${PROFILE:-release}"

docker info >/dev/null 2>&1 || { echo "dockerd is not running (scripts/test starts it)" >&2; exit 1; }
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
bin="${CARGO_TARGET_DIR:-target}/$profile/bioshadock"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
port="$(free_port)"; registry_port="$(free_port)"; git_port="$(free_port)"
url="http://127.0.0.1:$port"; registry="127.0.0.1:$registry_port"
export BIOSHADOCK__DATA_DIR="$work/data" BIOSHADOCK__WEB__LISTEN="127.0.0.1:$port" \
  BIOSHADOCK__WEB__PUBLIC_URL="$url" BIOSHADOCK__REGISTRY__URL="http://$registry" RUST_LOG=warn
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; exit 1; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if(i<1)i=1; print a[i]}'; }

# The local base image (nothing can be pulled here), as the tests make it.
base="bioshadock-test/busybox:latest"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mkdir "$work/base" && cp /bin/busybox "$work/base/"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' > "$work/base/Dockerfile"
  docker build -q -t "$base" "$work/base" >/dev/null
fi

# A small repository: a Dockerfile, 1 MiB of data and one RUN step.
mkdir -p "$work/git/tool"
(
  cd "$work/git/tool"
  git init -q -b main
  head -c 1048576 /dev/urandom > payload
  printf 'FROM %s\nCOPY payload /payload\nRUN sha256sum /payload > /payload.sha256\n' "$base" > Dockerfile
  git add -A && git -c user.name=bench -c user.email=bench@example.org commit -q -m bench
)
git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$git_port" \
  --base-path="$work/git" "$work/git" >/dev/null 2>&1 & pids+=($!)
repo="git://127.0.0.1:$git_port/tool"

echo "bench password" | "$bin" user add bench --password-stdin >/dev/null
key="$("$bin" user apikey bench --label benchmark --scopes read,push,build)"
"$bin" serve 2>"$work/serve.log" & pids+=($!)
wait_for "$url/healthz"
"$bin" registry-config --root "$work/registry" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 & pids+=($!)
wait_for "http://$registry/v2/"
curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d "{\"name\": \"bench/tool\", \"git\": \"$repo#main\"}" "$url/container/new" >/dev/null
curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"name": "bench/quick", "dockerfile": "FROM '"$base"'\nRUN true\n"}' "$url/container/new" >/dev/null
echo "$key" | docker --config "$work/docker" login "$registry" -u bench --password-stdin >/dev/null 2>&1

# A timestamp of a build record (RFC 3339 with milliseconds) in unix milliseconds.
ms_of() { jq -r --arg f "$1" '.[$f] | (sub("\\.[0-9]+"; "") | fromdateiso8601) * 1000 + ((capture("\\.(?<ms>[0-9]{3})").ms // "0") | tonumber)'; }

# One build through Bioshadock: from the hook call to the build's recorded end (polling only
# waits for it; its 50 ms steps are not counted); prints milliseconds.
bioshadock_build() {
  local started id status
  # A tag build of a git source builds the git ref of the tag's name: make it point at main.
  [ "$1" = tool ] && (cd "$work/git/tool" && git tag -f "$2" >/dev/null)
  started="$(now_ms)"
  id="$(curl -sf -X POST "$url/container/tag/bench/$1/$2?apikey=$key" | jq -r .id)"
  while :; do
    status="$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | jq -r .status)"
    case "$status" in queued|running) sleep 0.05 ;; success) break ;;
      *) echo "build $id ended $status" >&2; exit 1 ;; esac
  done
  echo $(( $(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | ms_of finished_at) - started ))
}

# The same by hand; prints milliseconds.
raw_build() {
  local started image="$registry/bench/raw:$1"
  started="$(now_ms)"
  rm -rf "$work/raw"
  git clone -q --depth 1 "$repo" "$work/raw"
  docker build -q -t "$image" "$work/raw" >/dev/null
  docker --config "$work/docker" push -q "$image" >/dev/null
  docker rmi -f "$image" >/dev/null
  echo $(( $(now_ms) - started ))
}

echo "== 1. a small git build end to end, $runs runs each (alternating), after one warm-up each"
# Warm-ups: the first push of a repository uploads the base layer.
bioshadock_build tool warmup >/dev/null; raw_build warmup >/dev/null
: > "$work/ours"; : > "$work/raw.ms"
for i in $(seq 1 "$runs"); do
  bioshadock_build tool "main-$i" >> "$work/ours"
  raw_build "$i" >> "$work/raw.ms"
done
ours="$(median < "$work/ours")"; raw="$(median < "$work/raw.ms")"
echo "Bioshadock hook → success: median $ours ms  (runs: $(tr '\n' ' ' < "$work/ours"))"
echo "raw clone+build+push+rmi:  median $raw ms  (runs: $(tr '\n' ' ' < "$work/raw.ms"))"
awk -v a="$ours" -v b="$raw" 'BEGIN { printf "ratio Bioshadock / raw: %.3f\n", a / b }'

echo "== 2. hook call → running, $starts builds with an idle worker"
: > "$work/server"; : > "$work/client"
for i in $(seq 1 "$starts"); do
  sleep 1.2   # an idle worker: waiting on the queue, not in its poll interval's first tick
  started="$(now_ms)"
  id="$(curl -sf -X POST "$url/container/tag/bench/quick/q$i?apikey=$key" | jq -r .id)"
  while :; do
    build="$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id")"
    [ "$(jq -r .status <<<"$build")" != queued ] && break
    sleep 0.005
  done
  echo $(( $(ms_of started_at <<<"$build") - started )) >> "$work/client"
  echo $(( $(ms_of started_at <<<"$build") - $(ms_of queued_at <<<"$build") )) >> "$work/server"
  while [ "$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | jq -r .status)" = running ]; do sleep 0.05; done
done
echo "queued → started (server clock): p50 $(percentile 50 < "$work/server") ms, p95 $(percentile 95 < "$work/server") ms"
echo "hook call → running (client's call to the recorded start): p50 $(percentile 50 < "$work/client") ms, p95 $(percentile 95 < "$work/client") ms"
