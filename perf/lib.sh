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

# feedback_setup NAME BUILD_DIR: the binaries of the feedback benchmarks ($salvo, $bench = perf/
# feedback_bench; exit 2 when not built) and a new temporary directory $work; at exit $serve_pid
# (when set: a `salvo serve` started by the script) is stopped and $work removed.
feedback_setup() {
  salvo="$2/tools/salvo"
  bench="$2/perf/feedback_bench"
  [ -x "$salvo" ] && [ -x "$bench" ] || { echo "build first: ninja -C $2 tools/salvo perf/feedback_bench" >&2; exit 2; }
  work="$(mktemp -d "/tmp/salvo-$1.XXXXXX")"
  serve_pid=""
  trap _feedback_cleanup EXIT
}
_feedback_cleanup() {
  if [ -n "$serve_pid" ]; then kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
# serve_bench_setup BUILD_DIR NAME: for the benchmarks of `salvo serve` with a salvo-sink: sets
# build (absolute), salvo, sink and tmp (a fresh /tmp/salvo-NAME.XXXX), and an EXIT trap that
# kills $serve_pid and $sink_pid (when set) and removes tmp.
serve_bench_setup() {
  build=$(cd "$1" && pwd)
  salvo=$build/tools/salvo
  sink=$build/perf/sink/salvo-sink
  tmp=$(mktemp -d "/tmp/salvo-$2.XXXX")
  trap serve_bench_cleanup EXIT
}
serve_bench_cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "${sink_pid:-}" ] && kill "$sink_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
