#!/usr/bin/python3
"""Load client for the SMTP submission listener (perf/submission_bench.sh).

  submission_load.py --port P --user NAME --key-file F [--connections 20] [--messages 4000]
                     [--size 20480] [--starttls]

Each connection says EHLO, (STARTTLS, EHLO,) AUTH PLAIN, then sends its share of messages:
MAIL, RCPT and DATA pipelined (the listener offers PIPELINING), the body, and waits for the 250
that the listener sends once the message is durable in the queue. Prints one JSON line:
messages, seconds, msgs_per_s, p50_ms / p99_ms (end of data to 250), client_cpu_s.
"""
import argparse
import asyncio
import base64
import json
import ssl
import time


async def reply(reader):
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


async def expect(reader, code):
    c, text = await reply(reader)
    if c != code:
        raise RuntimeError(f"expected {code}, got {text!r}")


async def session(args, key, count, body, latencies):
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    await expect(reader, 220)
    writer.write(b"EHLO load.test\r\n")
    await expect(reader, 250)
    if args.starttls:
        writer.write(b"STARTTLS\r\n")
        await expect(reader, 220)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        await writer.start_tls(ctx)
        writer.write(b"EHLO load.test\r\n")
        await expect(reader, 250)
    token = base64.b64encode(b"\0" + args.user.encode() + b"\0" + key.encode())
    writer.write(b"AUTH PLAIN " + token + b"\r\n")
    await expect(reader, 235)
    for i in range(count):
        writer.write(b"MAIL FROM:<load@shop.test>\r\nRCPT TO:<r%d@example.com>\r\nDATA\r\n" % i)
        await expect(reader, 250)
        await expect(reader, 250)
        await expect(reader, 354)
        writer.write(body)
        t = time.perf_counter()
        await expect(reader, 250)
        latencies.append(time.perf_counter() - t)
    writer.write(b"QUIT\r\n")
    await reply(reader)
    writer.close()


def make_body(size):
    head = b"From: load@shop.test\r\nTo: r@example.com\r\nSubject: load\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    body = head
    while len(body) < size:
        body += line
    return body + b".\r\n"


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--key-file", required=True)
    p.add_argument("--connections", type=int, default=20)
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--size", type=int, default=20480)
    p.add_argument("--starttls", action="store_true")
    args = p.parse_args()
    key = open(args.key_file).read().strip()
    body = make_body(args.size)
    latencies = []
    per = [args.messages // args.connections] * args.connections
    per[0] += args.messages - sum(per)
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(session(args, key, n, body, latencies) for n in per))
    seconds = time.perf_counter() - t0
    latencies.sort()
    print(json.dumps({
        "messages": len(latencies), "connections": args.connections, "size": len(body) - 3,
        "starttls": args.starttls, "seconds": round(seconds, 3),
        "msgs_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        "client_cpu_s": round(time.process_time() - cpu0, 2)}))


if __name__ == "__main__":
    asyncio.run(main())
