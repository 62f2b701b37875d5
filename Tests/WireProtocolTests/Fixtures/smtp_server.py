"""An SMTP server for the tests: aiosmtpd (Debian's python3-aiosmtpd) with STARTTLS required,
AUTH PLAIN/LOGIN for user/secret, and every delivered message written byte for byte to a folder.

usage: smtp_server.py PORT CERT KEY FOLDER
Each message becomes FOLDER/NNNN.eml: "MAIL FROM:<…>\n", a "RCPT TO:<…>\n" per recipient, a
blank line, then the content exactly as received (after the server undid the dot-stuffing).
Recipients starting with "reject" are refused with 550.
"""
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, certificate, key, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("reject"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        count = len([name for name in os.listdir(folder) if name.endswith(".eml")])
        head = "MAIL FROM:<%s>\n" % envelope.mail_from
        head += "".join("RCPT TO:<%s>\n" % address for address in envelope.rcpt_tos) + "\n"
        path = os.path.join(folder, "%04d.eml" % count)
        with open(path + ".part", "wb") as file:
            file.write(head.encode() + envelope.original_content)
        os.rename(path + ".part", path)
        return "250 OK queued as %04d" % count


def authenticator(server, session, envelope, mechanism, auth_data):
    valid = isinstance(auth_data, LoginPassword) and auth_data.login == b"user" and auth_data.password == b"secret"
    return AuthResult(success=valid, handled=False)  # handled=False: aiosmtpd answers 535 itself


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(certificate, key)
controller = Controller(
    Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
    authenticator=authenticator, auth_require_tls=True, decode_data=False)
controller.start()
threading.Event().wait()
