#!/usr/bin/env bash
# perf/submission_bench.sh [BUILD_DIR] [--connections 20] [--messages 4000] [--size 20480] [--starttls yes]
# Messages/s accepted by the SMTP submission listener of `salvo serve`: a fresh data_dir, one API
# key with the submission scope, the daemon, and perf/submission_load.py (asyncio, AUTH PLAIN,
# pipelined envelope) over N connections. Every 250 comes after the queue's fsync (group commit),
# so the figure is bound by the disk as much as by the listener. Prints the client's JSON line and
# the daemon's CPU seconds per message (from /proc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=perf/lib.sh
. "$here/lib.sh"
build=build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then build=$1; shift; fi
connections=20 messages=4000 size=20480 starttls=no
parse_opts connections=connections messages=messages size=size starttls=starttls -- "$@"
salvo=$(cd "$build" && pwd)/tools/salvo
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
http=$(free_port) smtp=$(free_port)
tls_keys=""
if [ "$starttls" = yes ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
    -subj /CN=localhost >/dev/null 2>&1
  tls_keys=$'tls_cert_file = "cert.pem"\ntls_key_file = "key.pem"'
fi
cat > "$dir/salvo.toml" <<TOML
data_dir = "data"
[http]
listen = "127.0.0.1:$http"
[[account]]
name = "tx"
host = "127.0.0.1"
[[route]]
name = "transactional"
accounts = [ { name = "tx" } ]
[submission]
listen = "127.0.0.1:$smtp"
max_message_bytes = 1048576
$tls_keys
TOML
"$salvo" api-key create -c "$dir/salvo.toml" --name load --scopes submission \
  --route transactional > "$dir/key" 2>/dev/null
"$salvo" serve -c "$dir/salvo.toml" 2> "$dir/serve.log" &
pid=$!
wait_listen "$smtp" || { cat "$dir/serve.log" >&2; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tick=$(getconf CLK_TCK)
c0=$(cpu)
flag=""; [ "$starttls" = yes ] && flag=--starttls
out=$(/usr/bin/python3 "$here/submission_load.py" --port "$smtp" --user load --key-file "$dir/key" \
  --connections "$connections" --messages "$messages" --size "$size" $flag)
c1=$(cpu)
echo "$out"
/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); \
print('salvo serve CPU: %.1f us/msg' % ((int(sys.argv[2])-int(sys.argv[3]))/int(sys.argv[4])*1e6/r['messages']))" \
  "$out" "$c1" "$c0" "$tick"
