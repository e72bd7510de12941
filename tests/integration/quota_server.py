#!/usr/bin/python3
"""Test SMTP server for the account-pause tests: aiosmtpd (Debian python3-aiosmtpd) that accepts
--after messages, then answers every RCPT with the reply in --reply-file (re-read at each RCPT,
so a test can change it between sends; empty = keep accepting). Run with /usr/bin/python3.

  quota_server.py --port N --after 100 --reply-file reply.txt --record accepted.txt

Prints READY when listening; every accepted recipient is appended to --record, one per line.
Stops on SIGTERM."""
import argparse
import signal
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, after, reply_file, record):
        self.after, self.reply_file, self.record = after, reply_file, record
        self.accepted = 0
        self.lock = threading.Lock()

    def refusal(self):
        try:
            with open(self.reply_file) as f:
                return f.read().strip()
        except OSError:
            return ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:  # counted at RCPT, so exactly --after recipients get through
            if self.accepted >= self.after:
                reply = self.refusal()
                if reply:
                    return reply
            self.accepted += 1
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self.lock, open(self.record, "a") as f:
            for r in envelope.rcpt_tos:
                f.write(r + "\n")
        return "250 2.0.0 Ok: queued"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--after", type=int, default=0)
    ap.add_argument("--reply-file", required=True)
    ap.add_argument("--record", required=True)
    a = ap.parse_args()
    controller = Controller(Handler(a.after, a.reply_file, a.record), hostname=a.host,
                            port=a.port, server_hostname="quota.test")
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
