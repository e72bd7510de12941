#!/usr/bin/python3
"""Scripted faulty SMTP server for salvo's integration tests (run with /usr/bin/python3).

  smtp_fault_server.py --host 127.0.0.1 --record peers.jsonl PORT:MODE [PORT:MODE ...]

One listener per PORT:MODE. Modes:
  ok        a well-behaved server (PIPELINING, 8BITMIME); RCPT to an address containing "bad"
            gets "550 5.1.1 user unknown"
  greet421  "421 4.3.2 service not available" as greeting, then close
  mail5xx   like ok, but MAIL FROM gets "550 5.7.1 sender refused"
  dropdata  like ok, but closes the connection in the middle of the message data
  silent    sends the greeting, then never answers
  garbage   sends garbage instead of a greeting
  hugeline  sends a 10 MB line (no line end) as greeting
Every finished message (and every connection) is appended to --record as one JSON line with the
peer address. Prints READY when listening; stops on SIGTERM."""
import argparse
import asyncio
import json
import signal
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--record", default="/dev/null")
    ap.add_argument("listeners", nargs="+")
    a = ap.parse_args()

    def record(obj):
        with open(a.record, "a") as f:
            f.write(json.dumps(obj) + "\n")

    async def serve(mode, reader, writer):
        peer = writer.get_extra_info("peername")[0]
        record({"event": "connect", "mode": mode, "peer": peer})
        try:
            if mode == "greet421":
                writer.write(b"421 4.3.2 service not available\r\n")
                await writer.drain()
                return
            if mode == "garbage":
                writer.write(b"HELLO THIS IS NOT SMTP\r\n\x00\x01\x02\r\n")
                await writer.drain()
                await asyncio.sleep(30)
                return
            if mode == "hugeline":
                chunk = b"220 " + b"x" * (1 << 20)
                for _ in range(10):
                    writer.write(chunk)
                    await writer.drain()
                await asyncio.sleep(30)
                return
            writer.write(b"220 fault.test ESMTP\r\n")
            await writer.drain()
            if mode == "silent":
                await asyncio.sleep(60)
                return
            mail, rcpts = None, []
            while True:
                line = await reader.readline()
                if not line:
                    return
                cmd = line.decode("latin-1").strip()
                verb = cmd.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    writer.write(b"250-fault.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == "MAIL":
                    if mode == "mail5xx":
                        writer.write(b"550 5.7.1 sender refused\r\n")
                    else:
                        mail, rcpts = cmd, []
                        writer.write(b"250 2.1.0 ok\r\n")
                elif verb == "RCPT":
                    if mail is None:
                        writer.write(b"503 5.5.1 need MAIL\r\n")
                    elif "bad" in cmd:
                        writer.write(b"550 5.1.1 user unknown\r\n")
                    else:
                        rcpts.append(cmd)
                        writer.write(b"250 2.1.5 ok\r\n")
                elif verb == "DATA":
                    if not rcpts:
                        writer.write(b"554 5.5.1 no valid recipients\r\n")
                        await writer.drain()
                        continue
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    size = 0
                    while True:
                        l = await reader.readline()
                        if not l:
                            return
                        size += len(l)
                        if mode == "dropdata" and size > 100:
                            return  # close mid-DATA
                        if l == b".\r\n":
                            break
                    record({"event": "message", "mode": mode, "peer": peer, "mail": mail,
                            "rcpts": rcpts, "size": size})
                    writer.write(b"250 2.0.0 queued\r\n")
                    mail, rcpts = None, []
                elif verb == "RSET":
                    mail, rcpts = None, []
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == "NOOP":
                    writer.write(b"250 2.0.0 ok\r\n")
                elif verb == "QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 5.5.2 unknown command\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def run():
        servers = []
        for spec in a.listeners:
            port, mode = spec.split(":", 1)
            servers.append(await asyncio.start_server(
                lambda r, w, m=mode: serve(m, r, w), a.host, int(port), limit=1 << 16))
        print("READY", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()
        for s in servers:
            s.close()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
