"""A loopback TCP relay that reads HTTP/2 framing to see which gRPC messages were compressed.

Only plaintext h2c: the relay forwards bytes untouched and, on the side, splits each
direction into HTTP/2 frames, reassembles DATA payloads per stream into gRPC
length-prefixed messages and records each message's compressed flag. No HPACK is needed.
"""

import socket
import struct
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA_FRAME = 0x0
PADDED = 0x8


class _Direction:
    """Parses one direction of one connection; appends (stream, compressed, size) to sink."""

    def __init__(self, name, has_preface, sink):
        self.name = name
        self.buffer = bytearray()
        self.preface_left = len(PREFACE) if has_preface else 0
        self.streams = {}
        self.sink = sink

    def feed(self, data):
        self.buffer += data
        if self.preface_left:
            skipped = min(self.preface_left, len(self.buffer))
            del self.buffer[:skipped]
            self.preface_left -= skipped
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < 9 + length:
                return
            frame_type, flags = self.buffer[3], self.buffer[4]
            stream = struct.unpack(">I", bytes(self.buffer[5:9]))[0] & 0x7FFFFFFF
            payload = bytes(self.buffer[9:9 + length])
            del self.buffer[:9 + length]
            if frame_type == DATA_FRAME and payload:
                if flags & PADDED:
                    payload = payload[1:len(payload) - payload[0]]
                self._messages(stream, payload)

    def _messages(self, stream, payload):
        pending = self.streams.setdefault(stream, bytearray())
        pending += payload
        while len(pending) >= 5:
            size = int.from_bytes(pending[1:5], "big")
            if len(pending) < 5 + size:
                return
            self.sink.append((self.name, stream, pending[0] == 1, size))
            del pending[:5 + size]


class WireTap:
    """Listens on 127.0.0.1:0 and relays every connection to `upstream` (host:port)."""

    def __init__(self, upstream):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.messages = []  # (direction, stream id, compressed, size); list.append is atomic
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.addr = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, daemon=True, args=(
                client, server, _Direction("client->server", True, self.messages))).start()
            threading.Thread(target=self._pump, daemon=True, args=(
                server, client, _Direction("server->client", False, self.messages))).start()

    @staticmethod
    def _pump(source, destination, parser):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                parser.feed(data)
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for end in (destination, source):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def count(self, direction, compressed):
        """Returns how many gRPC messages went `direction` with that compressed flag."""
        return sum(1 for d, _, c, _ in self.messages if d == direction and c == compressed)

    def close(self):
        self.listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
