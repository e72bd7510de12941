#!/bin/bash
# Click latency while one IP holds idle connections open (issue 15: per-IP connection limit).
# Starts `salvo serve` ([http] max_connections_per_ip = 64, the default), measures N clicks
# (GET /c/{token} -> 302, a new connection each, as a browser's first click) from 127.0.0.1 with
# nothing else going on, then again while 127.0.0.2 holds IDLE (500) connections open; prints
# p50 / p99 / max of both and how many of the idle connections the daemon kept.
# Usage: perf/http_idle_bench.sh [BUILD_DIR]   (default: build; CLICKS=2000 IDLE=500)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
# shellcheck source=perf/lib.sh
source "$root/perf/lib.sh"
bench_setup idle-bench "$build" tools/salvo perf/feedback_bench
clicks="${CLICKS:-2000}"
idle="${IDLE:-500}"

port=$(free_port)
head -c 32 /dev/urandom | base64 | tr -d '\n' > "$work/tracking.key"
cat > "$work/salvo.toml" <<CONF
data_dir = "$work/data"
[http]
listen = "127.0.0.1:$port"
threads = 2
[tracking]
base_url = "http://127.0.0.1:$port"
secret_file = "tracking.key"
CONF
token=$("$bench" click-token "$work/data" "$work/tracking.key")
"$salvo" serve -c "$work/salvo.toml" > "$work/serve.log" 2>&1 &
serve_pid=$!
wait_listen "$port" || { cat "$work/serve.log"; exit 1; }
/usr/bin/python3 - "$port" "$token" "$clicks" "$idle" <<'PY'
import socket, sys, time
port, token, clicks, idle = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
req = f"GET /c/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
def click():
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    data = b""
    while True:
        b = s.recv(4096)
        if not b: break
        data += b
    s.close()
    if not data.startswith(b"HTTP/1.1 302"): raise SystemExit(f"unexpected reply {data[:40]!r}")
    return time.perf_counter() - t
def figures(label):
    lat = sorted(click() for _ in range(clicks))
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
    print(f"{label}: {clicks} clicks  p50 {q(0.5):.2f} ms  p99 {q(0.99):.2f} ms  max {lat[-1]*1000:.2f} ms")
figures("clicks from 127.0.0.1, nothing else")
held = []
for _ in range(idle):
    s = socket.socket(); s.bind(("127.0.0.2", 0)); s.connect(("127.0.0.1", port)); held.append(s)
time.sleep(0.5)
kept = 0
for s in held:
    s.setblocking(False)
    try:
        kept += 1 if s.recv(1) else 0
    except BlockingIOError:
        kept += 1
    except OSError:
        pass
print(f"{idle} idle connections from 127.0.0.2: {kept} kept open by the daemon, {idle - kept} closed")
figures(f"clicks from 127.0.0.1 while 127.0.0.2 holds them")
PY
