#!/usr/bin/python3
"""Open-loop load for perf/lead_latency_bench.sh: POSTs one new lead per request to
`salvo serve`'s /api/v1/lists/{list}/leads at a constant rate, and joins the send times with
salvo-sink's --arrivals file. Run with /usr/bin/python3 (standard library only).

  lead_latency_load.py load --port P --key-file F --list L --rate 1000 --seconds 10 \
      --sends sends.tsv [--connections 16] [--max-connections 256]
      Request i is sent at start + i/rate whatever the replies do (open loop): on a free
      keep-alive HTTP/1.1 connection, or on a new one when all are busy (never waiting for a
      reply). Writes "address<TAB>send_unix_us" (CLOCK_REALTIME just before the request's first
      byte is written) per lead; prints one JSON line: leads sent, 202s, achieved rate, the
      POST reply latency p50/p99 and how late the sends were against the schedule.
  lead_latency_load.py join sends.tsv arrivals.tsv
      Prints one JSON line: per lead, end of data at the sink minus send time, p50/p90/p99/max
      in ms, and how many leads arrived (the first arrival of each address)."""
import argparse
import asyncio
import json
import sys
import time


def pct(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


class Conn:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer


async def open_conn(port):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    return Conn(r, w)


async def one(conn, port, key, lst, i, sends, posts, statuses, idle):
    body = json.dumps({"email": f"lead{i}@bench.test", "first_name": f"L{i}"}).encode()
    head = (f"POST /api/v1/lists/{lst}/leads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    t_mono = time.monotonic()
    sends.append((f"lead{i}@bench.test", time.time_ns() // 1000))
    conn.writer.write(head + body)
    try:
        status_head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = status_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        for l in lines[1:]:
            if l.lower().startswith("content-length:"):
                length = int(l.split(":", 1)[1])
        if length:
            await conn.reader.readexactly(length)
        posts.append(time.monotonic() - t_mono)
        statuses[status] = statuses.get(status, 0) + 1
        idle.append(conn)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
        statuses["error"] = statuses.get("error", 0) + 1
        conn.writer.close()


async def load(a):
    key = open(a.key_file).read().strip()
    idle = [await open_conn(a.port) for _ in range(a.connections)]
    opened = len(idle)
    n = int(a.rate * a.seconds)
    sends, posts, statuses, tasks = [], [], {}, []
    late = []
    start = time.monotonic() + 0.1
    for i in range(n):
        target = start + i / a.rate
        now = time.monotonic()
        if target > now:
            await asyncio.sleep(target - now)
        late.append(time.monotonic() - target)
        if idle:
            conn = idle.pop()
        elif opened < a.max_connections:
            conn = await open_conn(a.port)
            opened += 1
        else:  # every connection busy: the schedule slips (reported as lateness)
            while not idle:
                await asyncio.sleep(0.0005)
            conn = idle.pop()
        tasks.append(asyncio.ensure_future(one(conn, a.port, key, a.list, i, sends, posts,
                                               statuses, idle)))
    sent_span = time.monotonic() - start
    await asyncio.gather(*tasks)
    with open(a.sends, "w") as f:
        for addr, us in sends:
            f.write(f"{addr}\t{us}\n")
    posts.sort()
    late.sort()
    print(json.dumps({
        "leads": n, "replies": {str(k): v for k, v in statuses.items()},
        "rate_target": a.rate, "rate_achieved": round(n / sent_span, 1) if sent_span > 0 else None,
        "connections_opened": opened,
        "post_ms": {"p50": round(pct(posts, 0.5) * 1e3, 2), "p99": round(pct(posts, 0.99) * 1e3, 2),
                    "max": round(posts[-1] * 1e3, 2)} if posts else None,
        "send_late_ms": {"p99": round(pct(late, 0.99) * 1e3, 2), "max": round(late[-1] * 1e3, 2)},
    }))


def join(sends_path, arrivals_path):
    sent = {}
    for line in open(sends_path):
        addr, us = line.rstrip("\n").split("\t")
        sent[addr] = int(us)
    arrived = {}
    for line in open(arrivals_path):
        addr, us = line.rstrip("\n").split("\t")
        if addr in sent and addr not in arrived:
            arrived[addr] = int(us)
    lat = sorted((arrived[a] - sent[a]) / 1000.0 for a in arrived)
    out = {"leads": len(sent), "arrived": len(arrived)}
    if lat:
        out["latency_ms"] = {"p50": round(pct(lat, 0.5), 2), "p90": round(pct(lat, 0.9), 2),
                             "p99": round(pct(lat, 0.99), 2), "max": round(lat[-1], 2)}
    print(json.dumps(out))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "join":
        if len(sys.argv) != 4:
            sys.exit("usage: lead_latency_load.py join sends.tsv arrivals.tsv")
        join(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["load"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("--list", default="leads")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--max-connections", type=int, default=256)
    ap.add_argument("--sends", required=True)
    a = ap.parse_args()
    asyncio.run(load(a))


if __name__ == "__main__":
    main()
