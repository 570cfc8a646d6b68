"""SMTP servers that misbehave on cue: a real aiosmtpd server whose replies follow a script,
one that asks for a password and refuses every login, and one that hangs up at once."""

import asyncio
import socket
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.mail import Mailbox, free_port


class ScriptedMailbox(Mailbox):
    """A Mailbox (see tests/mail.py) that also keeps each message's raw bytes as received, and
    answers the next DATA or RCPT commands with the scripted replies before accepting again:
    `mailbox.data_replies = ["451 4.3.0 try later"]` makes the next message fail, then 250.
    A slow relay: `data_delay` seconds before each answer to a message; or `hold` (a
    threading.Event) set, each message waits for it (`arrived` is set when one does)."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []
        self.data_replies: list[str] = []
        self.rcpt_replies: list[str] = []
        self.data_commands = 0
        self.data_delay = 0.0
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_commands += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)  # other connections are served meanwhile
        if self.hold is not None:
            self.arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 30)
        if self.data_replies:
            return self.data_replies.pop(0)
        self.raw.append(envelope.content)
        return await super().handle_DATA(server, session, envelope)


def refuse_every_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    return AuthResult(success=False, handled=False)


class ScriptedSMTPServer:
    def __init__(self, **controller_options) -> None:
        self.mailbox = ScriptedMailbox()
        self.port = free_port()
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **controller_options
        )

    def __enter__(self) -> "ScriptedSMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


class HangUpServer:
    """Accepts each connection and closes it before the SMTP greeting."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.1)  # so the loop notices the stop flag
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            conn.close()

    def __enter__(self) -> "HangUpServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
