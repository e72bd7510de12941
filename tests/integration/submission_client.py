#!/usr/bin/python3
"""SMTP submission client for tests/integration/submission_test.cc (Python smtplib).

  submission_client.py --port P [--mode starttls|implicit|plain] [--auth plain|login|none]
      [--user U --password-file F] --from A --to B [--to C] --file message.eml

Prints one line: "OK <reply to DATA>" when the message was accepted, else
"ERR <stage> <code> <reply>" (stage: connect, starttls, auth, mail, rcpt, data). Exit 0 either
way (the test checks the line), 2 on a local error.
"""
import argparse
import smtplib
import ssl
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", default="starttls")
    p.add_argument("--auth", default="plain")
    p.add_argument("--user", default="")
    p.add_argument("--password-file", default="")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--file", required=True)
    a = p.parse_args()
    password = open(a.password_file).read().strip() if a.password_file else ""
    body = open(a.file, "rb").read()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    stage = "connect"
    try:
        if a.mode == "implicit":
            s = smtplib.SMTP_SSL("127.0.0.1", a.port, context=ctx, timeout=20)
        else:
            s = smtplib.SMTP("127.0.0.1", a.port, timeout=20)
        s.ehlo("client.test")
        if a.mode == "starttls":
            stage = "starttls"
            s.starttls(context=ctx)
            s.ehlo("client.test")
        if a.auth != "none":
            stage = "auth"
            s.user, s.password = a.user, password
            if a.auth == "plain":
                s.auth("PLAIN", s.auth_plain)
            else:
                s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        stage = "mail"
        code, reply = s.mail(a.sender)
        if code != 250:
            print("ERR mail", code, reply.decode())
            return 0
        stage = "rcpt"
        accepted = 0
        for r in a.to:
            code, reply = s.rcpt(r)
            if code == 250:
                accepted += 1
            else:
                print("ERR rcpt", code, reply.decode())
        if accepted == 0:
            return 0
        stage = "data"
        code, reply = s.data(body)
        if code == 250:
            print("OK", reply.decode())
        else:
            print("ERR data", code, reply.decode())
        s.quit()
    except smtplib.SMTPResponseException as e:
        print("ERR", stage, e.smtp_code, e.smtp_error.decode(errors="replace"))
    except (OSError, smtplib.SMTPException) as e:
        print("ERR", stage, 0, repr(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
