#!/usr/bin/env bash
# Distributed mode vs embedded, in the same run. Prints figures, asserts nothing.
#   1. queue latency: hook call → build running with an idle builder (20 builds, one after the
#      other; from the client's call to the recorded start, and the server's queued → started);
#   2. push → searchable: N small `docker push`es, from the push's end until search finds it.
# Embedded: `serve`. Distributed: `web` + `builder` on Redis and — unless
# BIOSHADOCK_TEST_MONGODB_URL / BIOSHADOCK_TEST_ELASTICSEARCH_URL name real engines — the
# MongoDB and Elasticsearch stand-ins of docs/testing.md (Python servers: their figures
# say little about real engines).
# Needs what scripts/test installs (dockerd running, docker-registry, busybox-static, redis-server,
# the stand-ins in /opt/bioshadock-testsrv) and jq.
# Usage: bench/distributed.sh [PUSHES] [BUILDS]     PROFILE=debug skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
pushes="${1:-10}"
starts="${2:-20}"
profile="${PROFILE:-release}"

docker info >/dev/null 2>&1 || { echo "dockerd is not running (scripts/test starts it)" >&2; exit 1; }
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
bin="${CARGO_TARGET_DIR:-target}/$profile/bioshadock"
testsrv=/opt/bioshadock-testsrv/bin

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_for() { for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 did not come up" >&2; exit 1; }
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if(i<1)i=1; print a[i]}'; }
ms_of() { jq -r --arg f "$1" '.[$f] | (sub("\\.[0-9]+"; "") | fromdateiso8601) * 1000 + ((capture("\\.(?<ms>[0-9]{3})").ms // "0") | tonumber)'; }

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
start_bg() { setsid "$@" >>"$work/services.log" 2>&1 & pids+=($!); }

base="bioshadock-test/busybox:latest"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  mkdir "$work/base" && cp /bin/busybox "$work/base/"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' > "$work/base/Dockerfile"
  docker build -q -t "$base" "$work/base" >/dev/null
fi

# Runs both measurements against the portal at $url (registry at $registry); appends
# "MODE NAME VALUE" lines to $work/figures.
measure() {
  local mode="$1" url="$2" registry="$3" key="$4"
  curl -sf -H "Authorization: Bearer $key" -H 'content-type: application/json' \
    -d '{"name": "bench/quick", "dockerfile": "FROM '"$base"'\nRUN true\n"}' "$url/container/new" >/dev/null
  for i in $(seq 1 "$starts"); do
    sleep 1.2
    local started id build
    started="$(now_ms)"
    id="$(curl -sf -X POST "$url/container/tag/bench/quick/q$i?apikey=$key" | jq -r .id)"
    while :; do
      build="$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id")"
      [ "$(jq -r .status <<<"$build")" != queued ] && break
      sleep 0.005
    done
    echo "$mode start $(( $(ms_of started_at <<<"$build") - started ))" >> "$work/figures"
    while [ "$(curl -sf -H "Authorization: Bearer $key" "$url/build/$id" | jq -r .status)" = running ]; do sleep 0.05; done
  done
  echo "$key" | docker --config "$work/docker-$mode" login "$registry" -u bench --password-stdin >/dev/null 2>&1
  for i in $(seq 1 "$pushes"); do
    mkdir -p "$work/img-$mode-$i"
    printf 'FROM %s\nRUN echo %s-%s > /id\n' "$base" "$mode$i" "$RANDOM" > "$work/img-$mode-$i/Dockerfile"
    local image="$registry/bench/$mode-tool-$i:1" pushed
    DOCKER_BUILDKIT=0 docker build -q -t "$image" "$work/img-$mode-$i" >/dev/null 2>&1
    docker --config "$work/docker-$mode" push -q "$image" >/dev/null
    pushed="$(now_ms)"
    until curl -s "$url/container/search?q=name:bench/$mode-tool-$i" | grep -q "\"id\":\"bench/$mode-tool-$i\""; do sleep 0.01; done
    echo "$mode push $(( $(now_ms) - pushed ))" >> "$work/figures"
    docker rmi -f "$image" >/dev/null
  done
}

# A portal of the given mode with its own registry; runs `measure`.
run_mode() {
  local mode="$1" port registry_port url
  port="$(free_port)"; registry_port="$(free_port)"; url="http://127.0.0.1:$port"
  local dir="$work/$mode"
  mkdir -p "$dir"
  export BIOSHADOCK__DATA_DIR="$dir/data" BIOSHADOCK__WEB__LISTEN="127.0.0.1:$port" \
    BIOSHADOCK__WEB__PUBLIC_URL="$url" BIOSHADOCK__REGISTRY__URL="http://127.0.0.1:$registry_port" RUST_LOG=warn
  local config=()
  if [ "$mode" = distributed ]; then
    local redis_port mongo es
    redis_port="$(free_port)"
    start_bg redis-server --port "$redis_port" --save "" --appendonly no
    if [ -n "${BIOSHADOCK_TEST_MONGODB_URL:-}" ]; then mongo="${BIOSHADOCK_TEST_MONGODB_URL%/}/bench$$"; indexes=true
    else
      local mongo_port; mongo_port="$(free_port)"
      start_bg "$testsrv/nx-27017" --db memory -p "$mongo_port" --log-file "$dir/mongo.log" --pid-file "$dir/mongo.pid"
      mongo="mongodb://127.0.0.1:$mongo_port/bench"; indexes=false  # the stand-in breaks with _id indexes
    fi
    if [ -n "${BIOSHADOCK_TEST_ELASTICSEARCH_URL:-}" ]; then es="$BIOSHADOCK_TEST_ELASTICSEARCH_URL"
    else
      local es_port; es_port="$(free_port)"
      start_bg "$testsrv/noida-db" start --only elasticsearch --elasticsearch-port "$es_port" --data-dir "$dir/es"
      es="http://127.0.0.1:$es_port"
    fi
    sleep 3
    cat > "$dir/config.toml" <<TOML
[storage]
backend = "mongodb"
mongodb_url = "$mongo"
mongodb_create_indexes = $indexes
[search]
backend = "elasticsearch"
elasticsearch_url = "$es"
[queue]
backend = "redis"
redis_url = "redis://127.0.0.1:$redis_port/0"
TOML
    config=(--config "$dir/config.toml")
  fi
  echo "bench password" | "$bin" "${config[@]}" user add bench --password-stdin >/dev/null
  local key; key="$("$bin" "${config[@]}" user apikey bench --label benchmark --scopes read,push,build)"
  if [ "$mode" = distributed ]; then
    start_bg "$bin" "${config[@]}" web
    start_bg "$bin" "${config[@]}" builder
  else
    start_bg "$bin" serve
  fi
  wait_for "$url/healthz"
  "$bin" "${config[@]}" registry-config --root "$dir/registry" > "$dir/registry.yml"
  start_bg docker-registry serve "$dir/registry.yml"
  wait_for "http://127.0.0.1:$registry_port/v2/"
  measure "$mode" "$url" "127.0.0.1:$registry_port" "$key"
}

run_mode embedded
run_mode distributed

report() {
  local what="$1" label="$2"
  for mode in embedded distributed; do
    local values; values="$(awk -v m="$mode" -v w="$what" '$1 == m && $2 == w {print $3}' "$work/figures")"
    echo "$label, $mode: p50 $(percentile 50 <<<"$values") ms, p95 $(percentile 95 <<<"$values") ms"
  done
}
echo "== hook call → build running ($starts builds, idle builder)"
report start "hook → running"
echo "== push → searchable ($pushes pushes)"
report push "push → search"
