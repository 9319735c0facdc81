"""Helpers for the job tests: a tiny SMTP server and job functions."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def explode() -> None:
    """Fail on purpose, as a job with a bug would."""
    raise RuntimeError("the job exploded on purpose")


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: str


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


class _Handler(socketserver.StreamRequestHandler):
    """Speak just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, RSET, QUIT."""

    server: Any

    def _reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self._reply("220 test SMTP ready")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 test")
            elif verb == "MAIL":
                sender, recipients = command[10:].strip("<> "), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command[8:].strip("<> "))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line.decode("utf-8", "replace"))
                self.server.store.messages.append(Received(sender, recipients, "".join(lines)))
                self._reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """Run a local SMTP server in a thread for the duration of the block."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    store = SmtpServer("127.0.0.1", server.server_address[1])
    server.store = store  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield store
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
