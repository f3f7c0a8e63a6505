"""A loopback SMTP server for tests/notify.rs (aiosmtpd): every message it accepts is written
to MAILDIR as one file, its raw bytes after three lines the test reads back:
X-Test-Rcpt (the envelope recipients), X-Test-TLS (yes/no), X-Test-Auth (the login, or -).

    python smtp_server.py PORT MAILDIR [CERT KEY LOGIN PASSWORD]

With CERT and KEY it offers STARTTLS, and AUTH (LOGIN/PLAIN, only under TLS) accepting LOGIN
with PASSWORD. Prints "ready" once it listens; runs until killed.
"""
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keep:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = f"{time.time_ns()}-{self.count}.eml"
        tmp = os.path.join(self.maildir, "." + name)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else "-"
        head = (
            f"X-Test-Rcpt: {','.join(envelope.rcpt_tos)}\r\n"
            f"X-Test-TLS: {'yes' if session.ssl else 'no'}\r\n"
            f"X-Test-Auth: {login}\r\n"
        ).encode()
        with open(tmp, "wb") as f:
            f.write(head + envelope.original_content)
        os.rename(tmp, os.path.join(self.maildir, name))
        return "250 OK"


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    kwargs = {}
    if len(sys.argv) > 3:
        cert, key, login, password = sys.argv[3:7]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == login
                and auth_data.password.decode() == password
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs = dict(
            tls_context=context,
            authenticator=authenticator,
            auth_require_tls=True,
        )
    controller = Controller(Keep(maildir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
