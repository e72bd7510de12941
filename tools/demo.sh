#!/usr/bin/env bash
# The README's first command (tools/dev demo) ends here: a real broadcast on embedded defaults.
#  1. a temporary config + data dir, 100 k generated opt-in recipients (every 50th without consent)
#  2. import (twice: the second run changes nothing), lists, a few global suppressions
#  3. salvo-sink (our io_uring SMTP sink) on a free loopback port, recording every RCPT
#  4. salvo send: a personalized campaign with tracked links, one-click unsubscribe and DKIM
#  5. the summary, the sink's view, and a check that everyone eligible got exactly one message
set -euo pipefail
BUILD=${1:?usage: tools/demo.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SALVO=$BUILD/tools/salvo
GEN=$BUILD/perf/gen_recipients
SINK=$BUILD/perf/sink/salvo-sink
COUNT=${DEMO_RECIPIENTS:-100000}

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/salvo-demo.XXXXXX")
SINK_PID=""
cleanup() { [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true; }
trap cleanup EXIT
echo "salvo demo in $DEMO"
cd "$DEMO"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HTTP_PORT=$(free_port)

# 1. Config with embedded defaults: one account pointing at the sink, a default route, tracking
#    and DKIM keys made for the demo.
head -c 32 /dev/urandom | base64 > tracking.key
"$SALVO" dkim keygen --type ed25519 --selector demo --domain demo.test --out dkim.pem > dkim-dns.txt
cat > salvo.toml <<TOML
data_dir = "data"

[[account]]
name = "demo-sink"
host = "127.0.0.1"
port = $PORT
tls = "none"                      # the sink is plain SMTP on loopback
max_connections = 20
messages_per_connection = 1000

[[route]]
name = "default"
default = true
accounts = [ { name = "demo-sink", weight = 1 } ]

[http]                      # salvo serve: tracking, webhooks and /metrics (see the end)
listen = "127.0.0.1:$HTTP_PORT"

[tracking]
base_url = "https://click.demo.test"
secret_file = "tracking.key"
unsubscribe_mailto = "unsubscribe@demo.test"

[[dkim]]
domain = "demo.test"
selector = "demo"
key_file = "dkim.pem"
TOML
cat > news.html <<'HTML'
<!doctype html><html><body>
<h1>Hi {{first_name|there}}!</h1>
<p>Your <a href="https://shop.demo.test/picks?c={{country}}">November picks</a> are ready,
and so is our <a href="https://blog.demo.test/post/42">latest post</a>.</p>
<p><a href="mailto:support@demo.test">Questions?</a> ·
<a href="{{unsubscribe_url}}">Unsubscribe</a></p>
</body></html>
HTML
cat > demo.toml <<'TOML'
id = "demo-broadcast"
list = "newsletter"
from = "Demo News <news@demo.test>"
reply_to = "support@demo.test"
subject = "Hi {{first_name|there}}, your November picks"
html_file = "news.html"
headers = { "X-Campaign" = "demo-broadcast" }
track_clicks = true
track_opens = true
TOML
sed 's/^id = "demo-broadcast"/id = "demo-daemon"/' demo.toml > demo-daemon.toml  # for salvo serve
echo "== wrote salvo.toml, demo.toml, news.html; DKIM DNS record in dkim-dns.txt"

# 2. Recipients.
"$GEN" --count "$COUNT" --no-consent-every 50 --domains example.test,example.org > recipients.csv
echo "== generated $COUNT recipients (every 50th without consent): recipients.csv"
echo "== salvo import --list newsletter recipients.csv"
"$SALVO" import -c salvo.toml --list newsletter recipients.csv --rejects rejects.csv
echo "== again (idempotent, nothing changes):"
"$SALVO" import -c salvo.toml --list newsletter recipients.csv --json
echo "== salvo lists"
"$SALVO" lists -c salvo.toml
SUPP=$(sed -n '2p;3p;4p' recipients.csv | cut -d, -f1)
echo "== salvo suppress add" $SUPP "--reason unsubscribe"
# shellcheck disable=SC2086
"$SALVO" suppress add -c salvo.toml $SUPP --reason unsubscribe

# 3. The sink.
"$SINK" --listen "127.0.0.1:$PORT" --record record.tsv --stats-json sink-stats.json \
  > sink.log 2>&1 &
SINK_PID=$!
for _ in $(seq 100); do grep -q "listening on" sink.log && break; sleep 0.05; done
echo "== salvo-sink listening on 127.0.0.1:$PORT"

# 4. The broadcast.
echo "== salvo render one message (first lines):"
FIRST=$(sed -n 5p recipients.csv | cut -d, -f1)
"$SALVO" render -c salvo.toml --campaign demo.toml --to "$FIRST" --out one.eml
head -12 one.eml | cut -c1-110 | sed 's/^/   /'
echo "== salvo send -c salvo.toml --campaign demo.toml --skip-preflight"
echo "   (preflight skipped: the demo's example.test domains have no DNS; see \`salvo preflight\` in README)"
START=$(date +%s.%N)
"$SALVO" send --skip-preflight -c salvo.toml --campaign demo.toml --json > summary.json
END=$(date +%s.%N)
"$SALVO" campaign status -c salvo.toml --id demo-broadcast
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""

# 5. What the sink saw.
/usr/bin/python3 - "$START" "$END" <<'PY'
import csv, json, sys
start, end = float(sys.argv[1]), float(sys.argv[2])
s = json.load(open("summary.json"))
rec = {}
for line in open("record.tsv"):
    parts = line.rstrip("\n").split("\t")
    if len(parts) >= 2:
        rec[parts[0].lower()] = int(parts[1])
dups = sum(1 for c in rec.values() if c > 1)
secs = end - start
print(f"== sink received {sum(rec.values())} messages for {len(rec)} addresses "
      f"({dups} received more than once)")
print(f"== delivered {s.get('delivered')} of list {s.get('list_size')} in {secs:.1f} s: "
      f"{s.get('delivered', 0) / secs:,.0f} msgs/s (including start-up and template compile)")
ok = s.get("delivered") == len(rec) and dups == 0
print("== exactly once:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
PY
echo "== done: config, data and files are in $DEMO (remove it when finished)"
echo "== metrics and the Grafana dashboard (README, Metrics and dashboards): run the daemon on it,"
echo "   send through it, scrape http://127.0.0.1:$HTTP_PORT/metrics:"
echo "   cd $DEMO && salvo serve -c salvo.toml & salvo send --skip-preflight -c salvo.toml --campaign demo-daemon.toml"
echo "   (start the sink again first: $SINK --listen 127.0.0.1:$PORT &)"
