# perf/lib.sh — shell helpers shared by the perf scripts (sourced, never run).
# shellcheck shell=bash

# parse_opts NAME=VAR... -- "$@": for every "--NAME VALUE" pair of the arguments sets VAR=VALUE;
# any other argument (or a missing value) is an error naming the calling script (exit 2).
parse_opts() {
  local -A var=()
  while [ "$1" != -- ]; do var[--${1%%=*}]=${1#*=}; shift; done
  shift
  while [ $# -gt 0 ]; do
    if [ -z "${var[$1]:-}" ] || [ $# -lt 2 ]; then
      echo "$(basename "$0"): unknown option $1" >&2; exit 2
    fi
    printf -v "${var[$1]}" '%s' "$2"
    shift 2
  done
}

# free_port: a TCP port that was free on 127.0.0.1 a moment ago.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_listen PORT: waits (10 s at most) until something listens on 127.0.0.1:PORT, without
# connecting to it; fails when nothing does.
wait_listen() {
  for _ in $(seq 200); do
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0; sleep 0.05
  done
  return 1
}

# bench_setup NAME BUILD_DIR [TARGET...]: what the benchmark scripts start with. Sets build
# (absolute), salvo, sink (salvo-sink), gen (gen_recipients) and bench (feedback_bench); exits 2
# naming the ninja targets when one of TARGET (paths under BUILD_DIR, e.g. tools/salvo) is not
# built; makes a fresh work=/tmp/salvo-NAME.XXXXXX (tmp: the same directory). At exit the
# processes in $serve_pid and $sink_pid (when set) are stopped and the directory is removed.
bench_setup() {
  local name=$1 t missing=()
  build=$(cd "$2" && pwd)
  shift 2
  salvo=$build/tools/salvo
  sink=$build/perf/sink/salvo-sink
  gen=$build/perf/gen_recipients
  bench=$build/perf/feedback_bench
  for t in "$@"; do [ -x "$build/$t" ] || missing+=("$t"); done
  if ((${#missing[@]})); then echo "build first: ninja -C $build ${missing[*]}" >&2; exit 2; fi
  work=$(mktemp -d "/tmp/salvo-$name.XXXXXX")
  tmp=$work
  serve_pid="" sink_pid=""
  trap _bench_cleanup EXIT
}
_bench_cleanup() {
  local p
  for p in ${serve_pid:-} ${sink_pid:-}; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
