"""A listener on the grader's loopback: what a sandbox must never reach."""

from __future__ import annotations

import socket
import threading


class LoopbackProbe:
    """A TCP listener on the grader's loopback that records whoever connects."""

    def __init__(self, port: int):
        self.connections: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", port))
        self.server.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.connections.append(connection.recv(64))
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()
