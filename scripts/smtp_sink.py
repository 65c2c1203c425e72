"""A test SMTP server for the end-to-end suites: aiosmtpd storing what it
receives in a Maildir, requiring STARTTLS with the given certificate and
AUTH (PLAIN or LOGIN) with the given user and password, as a production
relay does. The plain server the suites use otherwise is aiosmtpd's own
command line.

    smtp_sink.py PORT MAILDIR CERT KEY USER PASSWORD
"""

import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult


def main() -> None:
    port, maildir, cert, key, user, password = sys.argv[1:7]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, data):
        accepted = data.login.decode() == user and data.password.decode() == password
        # Not "handled": aiosmtpd then answers 535 itself.
        return AuthResult(success=accepted, handled=False)

    controller = Controller(
        Mailbox(maildir),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
