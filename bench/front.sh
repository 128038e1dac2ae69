#!/usr/bin/env bash
# The registry front against the same Distribution registry reached directly, in one run (the
# ratios are what matter). Prints figures, asserts nothing.
#   1. `docker push` and `docker pull` of a 200 MB image (one random layer), front vs direct,
#      two rounds in alternating order, each with a fresh image;
#   2. N small pushes, front vs direct;
#   3. the portal's memory while a 1 GB layer is pushed through the front (sampled VmRSS, and
#      VmHWM before and after).
# Needs what scripts/test installs (dockerd running, docker-registry, busybox-static).
# Usage: bench/front.sh [PUSHES] [BIG_MB] [HUGE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
pushes="${1:-20}"
big_mb="${2:-200}"
huge_mb="${3:-1024}"

docker info >/dev/null 2>&1 || { echo "dockerd is not running (scripts/test starts it)" >&2; exit 1; }
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/bioshadock"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
port="$(free_port)"; registry_port="$(free_port)"; front_port="$(free_port)"
url="http://127.0.0.1:$port"
direct="127.0.0.1:$registry_port"; front="127.0.0.1:$front_port"
export BIOSHADOCK__DATA_DIR="$work/data" BIOSHADOCK__WEB__LISTEN="127.0.0.1:$port" \
  BIOSHADOCK__WEB__PUBLIC_URL="$url" BIOSHADOCK__REGISTRY__URL="http://$direct" \
  BIOSHADOCK__REGISTRY__FRONT_LISTEN="$front" BIOSHADOCK__REGISTRY__SPAWN=false RUST_LOG=warn
pids=()
images=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null
  for i in "${images[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
ratio() { python3 -c "print(f'{$1 / $2:.3f}')"; }

echo "bench password" | "$bin" user add bench --password-stdin >/dev/null
"$bin" serve & server=$!; pids+=("$server")
wait_for "$url/healthz"
"$bin" registry-config --listen "$direct" --root "$work/registry" > "$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 & pids+=($!)
wait_for "http://$direct/v2/"
wait_for "http://$front/v2/"
for host in "$direct" "$front"; do
  docker --config "$work/dc" login "$host" -u bench --password-stdin <<< "bench password" >/dev/null 2>&1
done
dc() { docker --config "$work/dc" "$@"; }

mkdir -p "$work/base" && cp /bin/busybox "$work/base/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' > "$work/base/Dockerfile"
docker build -q -t bioshadock-bench/busybox:latest "$work/base" >/dev/null 2>&1
# An image with one random layer of $2 MiB, tagged $1.
build_random() {
  mkdir -p "$work/ctx-$3"
  # A unique first step: the builder's cache must not hand two builds the same layers (the
  # push would find the blobs there already, the pull would find them still on the engine).
  printf 'FROM bioshadock-bench/busybox:latest\nRUN echo %s-%s > /id\nRUN dd if=/dev/urandom of=/payload bs=1048576 count=%s 2>/dev/null\n' \
    "$3" "$(date +%s%N)" "$2" > "$work/ctx-$3/Dockerfile"
  docker build -q -t "$1" "$work/ctx-$3" >/dev/null 2>&1
  images+=("$1")
}
# Milliseconds of one docker command.
timed() { local start; start="$(now_ms)"; dc "$@" >/dev/null; echo $(( $(now_ms) - start )); }

echo "== 1. a $big_mb MB image: push and pull, front vs direct (2 rounds, alternating)"
push_front=0; push_direct=0; pull_front=0; pull_direct=0
for round in 1 2; do
  build_random "$front/bench/big-$round:1" "$big_mb" "f$round"
  build_random "$direct/bench/big-direct-$round:1" "$big_mb" "d$round"
  if [ "$round" = 1 ]; then order="front direct"; else order="direct front"; fi
  for side in $order; do
    if [ "$side" = front ]; then image="$front/bench/big-$round:1"; else image="$direct/bench/big-direct-$round:1"; fi
    ms="$(timed push "$image")"
    dc rmi -f "$image" >/dev/null
    pull_ms="$(timed pull "$image")"
    echo "round $round $side: push $ms ms, pull $pull_ms ms"
    if [ "$side" = front ]; then
      push_front=$((push_front + ms)); pull_front=$((pull_front + pull_ms))
    else
      push_direct=$((push_direct + ms)); pull_direct=$((pull_direct + pull_ms))
    fi
  done
done
echo "push: front $push_front ms, direct $push_direct ms, ratio $(ratio "$push_front" "$push_direct")"
echo "pull: front $pull_front ms, direct $pull_direct ms, ratio $(ratio "$pull_front" "$pull_direct")"

echo "== 2. $pushes small pushes, front vs direct"
for i in $(seq 1 "$pushes"); do
  mkdir -p "$work/small$i"
  printf 'FROM bioshadock-bench/busybox:latest\nRUN echo %s-%s > /id\n' "$i" "$RANDOM" > "$work/small$i/Dockerfile"
  image="$(docker build -q "$work/small$i" 2>/dev/null)"
  docker tag "$image" "$front/bench/small-$i:1"; images+=("$front/bench/small-$i:1")
  docker tag "$image" "$direct/bench/small-direct-$i:1"; images+=("$direct/bench/small-direct-$i:1")
done
start="$(now_ms)"
for i in $(seq 1 "$pushes"); do dc push "$direct/bench/small-direct-$i:1" >/dev/null; done
small_direct=$(( $(now_ms) - start ))
start="$(now_ms)"
for i in $(seq 1 "$pushes"); do dc push "$front/bench/small-$i:1" >/dev/null; done
small_front=$(( $(now_ms) - start ))
echo "front $small_front ms, direct $small_direct ms, ratio $(ratio "$small_front" "$small_direct")"

echo "== 3. the portal's memory while a $huge_mb MB layer streams through the front"
build_random "$front/bench/huge:1" "$huge_mb" huge
before_rss="$(rss_kb "$server")"; before_hwm="$(hwm_kb "$server")"
dc push "$front/bench/huge:1" >/dev/null & push=$!
max_rss="$before_rss"
while kill -0 "$push" 2>/dev/null; do
  now="$(rss_kb "$server")"; [ "$now" -gt "$max_rss" ] && max_rss="$now"
  sleep 0.2
done
wait "$push"
after_hwm="$(hwm_kb "$server")"
echo "RSS before: $((before_rss / 1024)) MB; highest sampled while pushing: $((max_rss / 1024)) MB; \
peak (VmHWM) before $((before_hwm / 1024)) MB, after $((after_hwm / 1024)) MB"
