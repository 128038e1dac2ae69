#!/usr/bin/env bash
# Builder benchmarks. Prints figures, asserts nothing.
#   1. a small git build end to end through Bioshadock (hook call → build `success`, i.e.
#      cloned, built with labels, pushed and cleaned up) vs. the raw
#      `git clone --depth 1 && docker build && docker push && docker rmi` of the same repository,
#      alternated N times in the same run: medians and their ratio;
#   2. hook call → build running with an idle worker: M builds one after the other, from the
#      client's call to the build's recorded start, and the server's queued → started, p50/p95;
#   3. the layer cache, on a repository whose Dockerfile has a slow step (`RUN sleep 5`): a
#      rebuild of the unchanged repository through Bioshadock (its cache) vs. the raw
#      `git clone && docker build && docker push` with a warm cache, and a cold build
#      (`?no_cache=true`) vs. the raw one with `--no-cache`, alternated N times: medians and
#      ratios (targets: at most 1.2 warm, 1.05 cold), and the raw `docker build` alone.
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

# A repository whose Dockerfile has a slow step, for the cache (3).
mkdir -p "$work/git/slow"
(
  cd "$work/git/slow"
  git init -q -b main
  head -c 1048576 /dev/urandom > payload
  printf 'FROM %s\nRUN sleep 5 && echo slow > /slow\nCOPY payload /payload\n' "$base" > Dockerfile
  git add -A && git -c user.name=bench -c user.email=bench@example.org commit -q -m bench
)

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
  -d "{\"name\": \"bench/slow\", \"git\": \"git://127.0.0.1:$git_port/slow#main\"}" "$url/container/new" >/dev/null
curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"name": "bench/quick", "dockerfile": "FROM '"$base"'\nRUN true\n"}' "$url/container/new" >/dev/null
echo "$key" | docker --config "$work/docker" login "$registry" -u bench --password-stdin >/dev/null 2>&1

# A timestamp of a build record (RFC 3339 with milliseconds) in unix milliseconds.
ms_of() { jq -r --arg f "$1" '.[$f] | (sub("\\.[0-9]+"; "") | fromdateiso8601) * 1000 + ((capture("\\.(?<ms>[0-9]{3})").ms // "0") | tonumber)'; }

# One build of bench/NAME producing TAG through Bioshadock, QUERY added to the hook URL: from
# the hook call to the build's recorded end (polling only waits for it; its 50 ms steps are
# not counted); prints milliseconds.
bioshadock_build() {
  local started id status
  # A tag build of a git source builds the git ref of the tag's name: make it point at main.
  [ -d "$work/git/$1" ] && (cd "$work/git/$1" && git tag -f "$2" >/dev/null)
  started="$(now_ms)"
  id="$(curl -sf -X POST "$url/container/tag/bench/$1/$2?apikey=$key${3:-}" | jq -r .id)"
  while :; do
    status="$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | jq -r .status)"
    case "$status" in queued|running) sleep 0.05 ;; success) break ;;
      *) echo "build $id ended $status" >&2; exit 1 ;; esac
  done
  echo $(( $(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | ms_of finished_at) - started ))
}

# The same by hand, of REPO (default tool) with docker build FLAGS; prints milliseconds.
raw_build() {
  local started image="$registry/bench/raw:$1"
  started="$(now_ms)"
  rm -rf "$work/raw"
  git clone -q --depth 1 "git://127.0.0.1:$git_port/${2:-tool}" "$work/raw"
  # shellcheck disable=SC2086 # FLAGS are words
  docker build -q ${3:-} -t "$image" "$work/raw" >/dev/null
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

echo "== 3. the layer cache: a Dockerfile with a slow step, $runs runs each way (alternating)"
# Warm-ups: Bioshadock's first build keeps the container's cache; the raw one fills the engine's.
bioshadock_build slow warm0 >/dev/null; raw_build slow0 slow >/dev/null
for f in ours.warm raw.warm ours.cold raw.cold docker.warm; do : > "$work/$f"; done
for i in $(seq 1 "$runs"); do
  bioshadock_build slow "warm-$i" >> "$work/ours.warm"
  raw_build "slow-w$i" slow >> "$work/raw.warm"
  started="$(now_ms)"; docker build -q -t "$registry/bench/raw:docker-$i" "$work/raw" >/dev/null
  echo $(( $(now_ms) - started )) >> "$work/docker.warm"
  docker rmi -f "$registry/bench/raw:docker-$i" >/dev/null
  bioshadock_build slow "cold-$i" "&no_cache=true" >> "$work/ours.cold"
  raw_build "slow-c$i" slow --no-cache >> "$work/raw.cold"
done
for way in warm cold; do
  ours="$(median < "$work/ours.$way")"; raw="$(median < "$work/raw.$way")"
  echo "$way: Bioshadock hook → success median $ours ms (runs: $(tr '\n' ' ' < "$work/ours.$way")); raw clone+build+push median $raw ms (runs: $(tr '\n' ' ' < "$work/raw.$way"))"
  awk -v a="$ours" -v b="$raw" -v w="$way" 'BEGIN { printf "%s ratio Bioshadock / raw: %.3f\n", w, a / b }'
done
echo "raw docker build alone, warm: median $(median < "$work/docker.warm") ms"
