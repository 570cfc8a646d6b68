"""A local SMTP sink for benchmarks: aiosmtpd (as in tests/mail.py) in a process of its own.

In its own process, the sink's work (the SMTP dialogue, receiving the bytes) never takes the
GIL of the process being measured, and it costs the same in every phase of a bench: it only
counts and keeps each message (peer, envelope recipients, raw bytes); all parsing and checking
happens after a phase, in the bench. The count is shared memory, so polling it costs nothing.

    with SinkProcess() as sink:           # listening on sink.port
        ...                               # send mail to 127.0.0.1:sink.port
        sink.count                        # messages received so far
        messages = sink.take()            # [Received(peer, rcpt_tos, content, at)], forgotten
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from typing import NamedTuple

from bench.common import SetupError, free_port


class Received(NamedTuple):
    peer: tuple[str, int]  # the client's address and port: one per SMTP connection
    rcpt_tos: tuple[str, ...]
    content: bytes
    at: float  # time.monotonic() on arrival: the same clock in every process of the machine


class Collector:
    """aiosmtpd handler: keep each message, count it, accept it."""

    def __init__(self, counter) -> None:
        self.counter = counter
        self.messages: list[Received] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            Received(
                tuple(session.peer), tuple(envelope.rcpt_tos), envelope.content, time.monotonic()
            )
        )
        self.counter.value += 1
        return "250 Message accepted"


def serve(port: int, counter, commands: Connection) -> None:
    """The sink process: an aiosmtpd Controller (its own thread and event loop) and, on the main
    thread, the bench's commands: 'take' (send the messages kept so far and forget them),
    'stop'. It stops too when the bench goes away (the pipe closes)."""
    from aiosmtpd.controller import Controller

    collector = Collector(counter)
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    commands.send(("ready", os.getpid()))
    try:
        while True:
            try:
                command = commands.recv()
            except EOFError:
                break
            if command == "take":
                messages, collector.messages = collector.messages, []
                commands.send(messages)
            elif command == "stop":
                break
    finally:
        controller.stop()


class SinkProcess:
    def __init__(self) -> None:
        self.port = free_port()
        context = multiprocessing.get_context("spawn")  # a clean interpreter: no Django, no fork
        self._counter = context.RawValue("q", 0)  # one writer (the sink's event loop)
        self._commands, child_end = context.Pipe()
        self.process = context.Process(
            target=serve, args=(self.port, self._counter, child_end), name="smtp-sink", daemon=True
        )
        self.pid = 0

    def start(self, timeout: float = 30.0) -> SinkProcess:
        self.process.start()
        if not self._commands.poll(timeout):
            self.stop()
            raise SetupError(f"the SMTP sink did not start within {timeout:.0f} s")
        status, self.pid = self._commands.recv()
        assert status == "ready"
        return self

    @property
    def count(self) -> int:
        return self._counter.value

    def take(self) -> list[Received]:
        self._commands.send("take")
        return self._commands.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self._commands.send("stop")
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)

    def __enter__(self) -> SinkProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
