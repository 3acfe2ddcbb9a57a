#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server on loopback for the mail end-to-end tests.

Built on aiosmtpd (Debian: python3-aiosmtpd; run with /usr/bin/python3, which
sees Debian's packages). Every message it accepts is stored in --store DIR as
two files, written in this order so that a reader polling for the .json file
always finds the .eml complete:

    NNNN.eml   the message as received in DATA, CRLF line ends, dot-stuffing
               undone and the final "." line removed (RFC 5321 4.5.2)
    NNNN.json  {"mail_from": ..., "rcpt_tos": [...], "mail_options": [...],
                "auth_login": ... or null, "tls": true when it came over TLS}

Options:
    --port N          port to listen on (required)
    --host ADDR       address to listen on (default 127.0.0.1; ::1 for IPv6)
    --store DIR       where to write messages (default: do not store)
    --auth USER:PASS  require AUTH (PLAIN or LOGIN; no TLS needed) before MAIL
    --reject ADDR     answer 550 to RCPT TO:<ADDR> (repeatable)
    --size N          advertise and enforce SIZE N (default 33554432)
    --hang            accept TCP connections but never send the greeting
    --tls-cert FILE   with --tls-key: speak TLS from the first byte (implicit
    --tls-key FILE    TLS, as on port 465), with this certificate chain (PEM)
    --starttls        with --tls-cert/--tls-key: plain SMTP that offers
                      STARTTLS (as on port 587) and refuses AUTH, MAIL and
                      everything else but EHLO, HELO, NOOP and QUIT before it

"ready" goes to stdout once the port listens. SIGTERM or SIGINT stops it.

--hang does not use aiosmtpd: its SMTP protocol object sends the 220
greeting as soon as a connection is made (SMTP._handle_client), with no
public hook to hold it back, so a bare asyncio server that accepts and then
stays silent stands in for a wedged SMTP host.
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    """aiosmtpd handler: stores messages, rejects the --reject recipients."""

    def __init__(self, store, reject):
        self.store = store
        self.reject = {a.lower() for a in reject}
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        if self.store:
            base = os.path.join(self.store, "%04d" % n)
            with open(base + ".eml", "wb") as f:
                f.write(envelope.original_content)
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options,
                "auth_login": _login_name(session),
                "tls": server.transport.get_extra_info("ssl_object") is not None,
            }
            with open(base + ".json.tmp", "w") as f:
                json.dump(meta, f)
            os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %04d" % n


def _login_name(session):
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    return None


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        # handled=False: let aiosmtpd answer 535 itself on failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticate


async def hang(host, port):
    """Accepts connections and never says a word; keeps them open."""
    held = []

    async def on_connect(reader, writer):
        held.append(writer)
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(on_connect, host, port)
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--store")
    ap.add_argument("--auth", metavar="USER:PASS")
    ap.add_argument("--reject", action="append", default=[], metavar="ADDR")
    ap.add_argument("--size", type=int, default=33554432)
    ap.add_argument("--hang", action="store_true")
    ap.add_argument("--tls-cert", metavar="FILE")
    ap.add_argument("--tls-key", metavar="FILE")
    ap.add_argument("--starttls", action="store_true")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key) or (args.starttls and not args.tls_cert):
        ap.error("--tls-cert and --tls-key go together, and --starttls needs them")

    if args.hang:
        asyncio.run(hang(args.host, args.port))
        return

    if args.store:
        os.makedirs(args.store, exist_ok=True)
    kwargs = {"data_size_limit": args.size, "auth_require_tls": False}
    if args.auth:
        user, _, password = args.auth.partition(":")
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True)
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.starttls:
            # AUTH is neither offered nor accepted before STARTTLS.
            kwargs.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
        else:
            # aiosmtpd only counts STARTTLS as TLS: with implicit TLS,
            # auth_require_tls would refuse AUTH on a connection that has it.
            kwargs.update(ssl_context=ctx)
    controller = Controller(Sink(args.store, args.reject), hostname=args.host,
                            port=args.port, server_hostname="sink.test", **kwargs)
    controller.start()
    print("ready", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
