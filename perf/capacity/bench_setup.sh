# perf/capacity/bench_setup.sh — the capacity campaign's content and salvo.toml, sourced by
# perf/capacity/run.sh and perf/send_rss.sh so both measure the same send.

# make_html FILE BYTES: an HTML newsletter with 10 links and {{first_name}}, padded to about BYTES.
make_html() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
links = "".join(f'<p><a href="https://shop.example.com/item/{i}?utm_source=news">Offer {i}</a></p>\n'
                for i in range(10))
head = ('<!doctype html><html><head><meta charset="utf-8"><title>News</title></head><body>\n'
        '<h1>Hello {{first_name}},</h1>\n' + links)
tail = '<p><a href="https://www.example.com/unsubscribe">Unsubscribe</a></p></body></html>\n'
para = ('<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor '
        'incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud.</p>\n')
# Headers, the text part and MIME framing take about a third of what the body adds again.
budget = max(0, int(size * 0.62) - len(head) - len(tail))
body = para * (budget // len(para) + 1)
open(path, "w").write(head + body[:budget] + tail)
PY
}

# write_bench_campaign FILE ID: campaign ID to the list "bench" with campaign.html (beside FILE),
# tracked clicks.
write_bench_campaign() {
  cat > "$1" <<TOML
id = "$2"
list = "bench"
from = "News <news@bench.test>"
subject = "Hello {{first_name}}"
html_file = "campaign.html"
track_clicks = true
TOML
}

# write_bench_toml FILE SINK_PORT CONNECTIONS WORKERS: one plain-SMTP account "bench" on
# 127.0.0.1:SINK_PORT as the default route, tracking secret in tracking.secret beside FILE.
write_bench_toml() {
  head -c 32 /dev/urandom | base64 > "$(dirname "$1")/tracking.secret"
  cat > "$1" <<TOML
data_dir = "data"
workers = $4

[[account]]
name = "bench"
host = "127.0.0.1"
port = $2
tls = "none"
max_connections = $3
messages_per_connection = 1000000

[[route]]
name = "default"
default = true
accounts = [ { name = "bench", weight = 1 } ]

[tracking]
base_url = "https://t.bench.test"
secret_file = "tracking.secret"
TOML
}
