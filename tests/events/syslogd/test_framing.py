"""RFC 6587 framing: octet counting and newline framing, however the bytes arrive."""

from __future__ import annotations

from events.syslogd.framing import FrameDecoder


def frames(decoder: FrameDecoder, *chunks: bytes) -> list:
    out = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out


def test_newline_framing():
    got = frames(FrameDecoder(), b"<13>one\n<13>two\r\n<13>thr", b"ee\n")
    assert [f.data for f in got] == [b"<13>one", b"<13>two", b"<13>three"]


def test_octet_counting_even_when_split_inside_the_length():
    message = b"<13>1 - host app - - - hello\nwith a newline inside"
    stream = b"%d " % len(message) + message + b"5 <13>x"
    got = frames(FrameDecoder(), stream[:1], stream[1:7], stream[7:])
    assert [f.data for f in got] == [message, b"<13>x"]


def test_mixed_framing_on_one_connection():
    got = frames(FrameDecoder(), b"7 <13>abc<13>lf framed\n2026-11-28T10:00:00Z h app: x\n")
    assert [f.data for f in got] == [b"<13>abc", b"<13>lf framed", b"2026-11-28T10:00:00Z h app: x"]


def test_an_oversized_octet_frame_is_reported_and_skipped():
    decoder = FrameDecoder(max_message=100)
    got = frames(decoder, b"5000 " + b"x" * 3000, b"x" * 2000 + b"4 <1>y")
    assert got[0].problem and "5000 bytes" in got[0].problem
    assert [f.data for f in got[1:]] == [b"<1>y"]


def test_an_endless_line_is_reported_and_the_stream_recovers():
    decoder = FrameDecoder(max_message=100)
    got = frames(decoder, b"a" * 500, b"still the same line\n<13>next\n")
    assert got[0].problem and "longer than 100" in got[0].problem
    assert [f.data for f in got[1:]] == [b"<13>next"]


def test_what_is_left_when_the_connection_closes():
    decoder = FrameDecoder()
    assert frames(decoder, b"<13>last line without newline") == []
    assert [f.data for f in decoder.close()] == [b"<13>last line without newline"]
    truncated = FrameDecoder()
    truncated.feed(b"100 <13>only part")
    [frame] = truncated.close()
    assert frame.problem == "connection closed inside an octet-counted frame"


def test_garbage_never_raises():
    decoder = FrameDecoder(max_message=64)
    for chunk in (b"\x00\x01\xff" * 100, b"999999999 ", b"0 ", b"\n\n\n", b"12", b" x\n"):
        decoder.feed(chunk)
    decoder.close()
