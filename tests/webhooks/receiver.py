"""A real webhook receiver for the tests: an http.server in a thread of the test process that
keeps every request, answers as the test says (a status, a delay, a huge or dripping body),
and can be stopped and started again on the same port (a receiver down, then up)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        self.delay = 0.0  # seconds before answering at all
        self.body = b""
        self.drip = False  # headers at once, then the body a byte every half second, forever
        self.huge = 0  # answer with this many bytes of body
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?source=test"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    if receiver.huge:
                        self.send_header("Content-Length", str(receiver.huge))
                        self.end_headers()
                        chunk = b"x" * 65536
                        for _ in range(receiver.huge // len(chunk)):
                            self.wfile.write(chunk)
                    elif receiver.drip:
                        self.send_header("Content-Length", "100000")
                        self.end_headers()
                        for _ in range(100000):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.5)
                    else:
                        self.send_header("Content-Length", str(len(receiver.body)))
                        self.end_headers()
                        self.wfile.write(receiver.body)
                except OSError:
                    pass  # the sender hung up: what these tests want of it

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def verified(self, secret: str) -> list[dict]:
        """Every request's payload, each verified as Standard Webhooks says (a bad signature
        or a stale timestamp raises)."""
        verifier = Webhook(secret)
        with self.lock:
            requests = list(self.requests)
        return [verifier.verify(body, headers) for headers, body in requests]

    def ids(self) -> list[str]:
        with self.lock:
            return [headers["webhook-id"] for headers, _body in self.requests]

    def types(self) -> set[str]:
        with self.lock:
            return {json.loads(body)["type"] for _headers, body in self.requests}
