"""Splitting a syslog byte stream into messages (RFC 6587 over TCP, RFC 5425 over TLS).

Two framings exist and senders differ: octet counting (``<length> <message>``, what
RFC 5425 requires and rsyslog's omfwd can send) and non-transparent framing (messages end
with LF; `logger -T` and most devices). Each frame is recognised on its own: a frame that
starts with a length and a space is octet-counted, anything else runs to the next LF.
Nothing here raises on bad input: oversized and truncated frames come out as problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 6587 MSG-LEN; a "0 " (an empty message some senders write) is taken as one too.
_LENGTH = re.compile(rb"(0|[1-9][0-9]{0,8}) ")


@dataclass(frozen=True)
class Frame:
    data: bytes
    problem: str | None = None  # set when the frame is not a whole, acceptable message


class FrameDecoder:
    def __init__(self, max_message: int = 64 * 1024) -> None:
        self.max_message = max_message
        self.buffer = bytearray()
        self.skipping = 0  # bytes of an oversized octet-counted frame still to discard
        self.discarding_line = False  # inside an LF-framed message that grew too long

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames: list[Frame] = []
        while self.buffer:
            if self.skipping:
                dropped = min(self.skipping, len(self.buffer))
                del self.buffer[:dropped]
                self.skipping -= dropped
                continue
            if self.discarding_line:
                newline = self.buffer.find(b"\n")
                if newline < 0:
                    self.buffer.clear()
                    break
                del self.buffer[: newline + 1]
                self.discarding_line = False
                continue
            frame = self._next_frame()
            if frame is None:
                break
            if frame.data or frame.problem:
                frames.append(frame)
        return frames

    def _next_frame(self) -> Frame | None:
        head = _LENGTH.match(self.buffer[:11])
        if head:
            return self._octet_counted(int(head.group(1)), head.end())
        if self.buffer[:1].isdigit() and len(self.buffer) < 10 and b" " not in self.buffer:
            return None  # maybe a length still arriving
        return self._line()

    def _octet_counted(self, length: int, header: int) -> Frame | None:
        if length > self.max_message:
            head = bytes(self.buffer[header : header + 512])
            available = len(self.buffer) - header
            del self.buffer[: header + min(length, available)]
            self.skipping = max(0, length - available)
            return Frame(head, f"frame of {length} bytes exceeds the {self.max_message}-byte limit")
        if len(self.buffer) < header + length:
            return None
        data = bytes(self.buffer[header : header + length])
        del self.buffer[: header + length]
        return Frame(data.rstrip(b"\r\n"))

    def _line(self) -> Frame | None:
        newline = self.buffer.find(b"\n")
        if newline < 0:
            if len(self.buffer) > self.max_message:
                head = bytes(self.buffer[:512])
                self.buffer.clear()
                self.discarding_line = True
                return Frame(head, f"message longer than {self.max_message} bytes")
            return None
        if newline > self.max_message:
            # refused whole too, as it is when it arrives in pieces (found by hypothesis)
            head = bytes(self.buffer[:512])
            del self.buffer[: newline + 1]
            return Frame(head, f"message longer than {self.max_message} bytes")
        data = bytes(self.buffer[:newline]).rstrip(b"\r").strip(b"\x00")
        del self.buffer[: newline + 1]
        return Frame(data)

    def close(self) -> list[Frame]:
        """What is left when the connection ends."""
        rest = bytes(self.buffer)
        self.buffer.clear()
        if self.skipping or not rest.strip():
            return []
        head = _LENGTH.match(rest[:11])
        if head:
            return [
                Frame(rest[head.end() :][:512], "connection closed inside an octet-counted frame")
            ]
        return [Frame(rest.rstrip(b"\r\n"))]  # a last message without its LF
