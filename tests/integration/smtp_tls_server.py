#!/usr/bin/python3
"""Test SMTP server for salvo's integration tests: aiosmtpd (Debian python3-aiosmtpd 1.4) with
STARTTLS or implicit TLS and AUTH PLAIN + LOGIN. Run with /usr/bin/python3.

  smtp_tls_server.py --host 127.0.0.1 --port N --cert c.pem --key k.pem \
      --mode starttls|implicit --user U --password P --record out.jsonl

Prints READY when listening; every accepted message is appended to --record as one JSON line
(peer, mail_from, rcpt_tos, size). Stops on SIGTERM."""
import argparse
import json
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, record, save=""):
        self.record = record
        self.save = save
        self.saved = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock, open(self.record, "a") as f:
            f.write(json.dumps({"peer": session.peer[0], "mail_from": envelope.mail_from,
                                "rcpt_tos": envelope.rcpt_tos,
                                "size": len(envelope.original_content or b"")}) + "\n")
            if self.save:  # the message as received, one file each (--save DIR)
                self.saved += 1
                with open(f"{self.save}/{self.saved}.eml", "wb") as m:
                    m.write(envelope.original_content or b"")
        return "250 2.0.0 Ok: queued"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mode", choices=["starttls", "implicit"], default="starttls")
    ap.add_argument("--user", default="apikey")
    ap.add_argument("--password", default="secret")
    ap.add_argument("--record", default="/dev/null")
    ap.add_argument("--save", default="", help="directory: write each message received there")
    a = ap.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == a.user.encode() and auth_data.password == a.password.encode())
        return AuthResult(success=ok, handled=False)

    kwargs = dict(authenticator=authenticator, auth_require_tls=True, server_hostname="test.local")
    if a.mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
        controller = Controller(Handler(a.record, a.save), hostname=a.host, port=a.port, **kwargs)
    else:
        # aiosmtpd does not count implicit TLS as TLS for auth_require_tls: the whole
        # connection is TLS here, so AUTH is safe to offer.
        kwargs.update(auth_require_tls=False)
        controller = Controller(Handler(a.record, a.save), hostname=a.host, port=a.port, ssl_context=ctx,
                                **kwargs)
    controller.start()
    print("READY", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
