#!/bin/bash
# `salvo preflight` on a 100 k segment (a figure, not a test): dnsmasq serves a good zone on
# loopback, salvo-sink answers the account's EHLO, 100 000 generated recipients are imported;
# prints the wall time of one preflight run (list scan, consent, suppression, MX sample, DNS,
# content, SMTP probe). Target on the reference machine: under 2 s.
# Usage: perf/preflight_bench.sh [BUILD_DIR]   (default: build); COUNT=N changes the size;
# WRAP="perf record -o /tmp/pf.data" profiles the run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
salvo="$build/tools/salvo"
sink="$build/perf/sink/salvo-sink"
gen="$build/perf/gen_recipients"
for b in "$salvo" "$sink" "$gen"; do
  [ -x "$b" ] || { echo "build first: ninja -C $build tools/salvo perf/sink/salvo-sink perf/gen_recipients" >&2; exit 2; }
done
# shellcheck source=perf/lib.sh
source "$root/perf/lib.sh"
count="${COUNT:-100000}"
work="$(mktemp -d /tmp/salvo-preflight-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

p=$("$salvo" dkim keygen --type ed25519 --selector s1 --domain shop.test --out dkim.pem | grep -o 'p=[^"]*' | cut -c3-)
dns_port=$(free_port)
/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --pid-file= \
  --user=root --port="$dns_port" --listen-address=127.0.0.1 --bind-interfaces --local=/test/ \
  --local=/in-addr.arpa/ \
  "--txt-record=shop.test,v=spf1 ip4:127.0.0.1 -all" \
  "--txt-record=s1._domainkey.shop.test,v=DKIM1; k=ed25519; p=$p" \
  "--txt-record=_dmarc.shop.test,v=DMARC1; p=quarantine" \
  --address=/click.shop.test/127.0.0.1 --address=/mx.shop.test/127.0.0.1 \
  --address=/mta.shop.test/127.0.0.1 --mx-host=shop.test,mx.shop.test,10 \
  --mx-host=a.test,mx.shop.test,10 --mx-host=b.test,mx.shop.test,10 \
  --ptr-record=1.0.0.127.in-addr.arpa,mta.shop.test > dnsmasq.log 2>&1 &
pids+=($!)
smtp_port=$(free_port)
"$sink" --listen "127.0.0.1:$smtp_port" --threads 1 --quiet > sink.log 2>&1 &
pids+=($!)
wait_listen "$smtp_port"
wait_listen "$dns_port"

head -c 32 /dev/urandom | base64 | tr -d '\n' > tracking.key
cat > salvo.toml <<CONF
data_dir = "$work/data"
[tracking]
base_url = "http://click.shop.test"
secret_file = "tracking.key"
[dns]
servers = ["127.0.0.1:$dns_port"]
[[dkim]]
domain = "shop.test"
selector = "s1"
key_file = "dkim.pem"
[[account]]
name = "own"
host = "127.0.0.1"
port = $smtp_port
tls = "none"
source_ips = ["127.0.0.1"]
ehlo_name = "mta.shop.test"
[[route]]
name = "r"
default = true
accounts = [ { name = "own", weight = 1 } ]
CONF
printf '<html><body><h1>News</h1><p>Our news of the month, with {{first_name|you}} in mind.</p></body></html>' > news.html
cat > news.toml <<CONF
id = "bench"
list = "news"
from = "Shop <news@shop.test>"
subject = "Our news"
html_file = "news.html"
CONF
"$gen" --count "$count" --domains a.test,b.test --no-consent-every 10 > recipients.csv
"$salvo" import -c salvo.toml --list news recipients.csv > /dev/null
# One open replays the import's write-ahead log into tables, as any later command would.
"$salvo" lists -c salvo.toml > /dev/null
s=$(date +%s.%N)
rc=0
/usr/bin/time -f "cpu: %U s user, %S s sys" ${WRAP:-} "$salvo" preflight -c salvo.toml --campaign news.toml > preflight.out 2> time.out || rc=$?
e=$(date +%s.%N)
cat preflight.out; tail -n 1 time.out
awk -v s="$s" -v e="$e" -v n="$count" -v rc="$rc" 'BEGIN { printf "preflight of a %d-member segment: %.2f s (exit %d)\n", n, e - s, rc }'
