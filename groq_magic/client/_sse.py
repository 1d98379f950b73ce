"""Server-sent events, decoded as the HTML standard's event-stream parser defines them.

The decoder is fed network chunks as they arrive, whatever their boundaries, and
returns the events completed so far:

- lines end in LF, CRLF or CR, and a CRLF split across two reads is one line end;
- a blank line dispatches the event; a ``data`` field may span several lines,
  joined with LF; a line starting with ``:`` is a comment;
- ``field: value`` loses one leading space of the value; a line without a colon
  is a field with an empty value; unknown fields are ignored;
- an event with no data is not dispatched, and at the end of the stream an event
  without its blank line is discarded (so a truncated stream loses nothing that
  was complete, and never yields half a frame).

It works on bytes and decodes only field values, because this loop runs once per
token at Groq's speed.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental event-stream decoder: ``feed(bytes) -> [events]``, then ``flush()``."""

    __slots__ = ("_buffer", "_data", "_event", "_has_data", "_last_id", "_retry", "_started")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._has_data = False
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._started = False

    @property
    def pending(self) -> bool:
        """True if bytes or fields of an undispatched event are waiting."""
        return bool(self._buffer or self._has_data or self._event)

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one network chunk; return the events it completed."""
        buffer = self._buffer + chunk if self._buffer else chunk
        if not self._started:
            # The BOM is only stripped at the very start of the stream.
            if len(buffer) < len(_BOM) and _BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            if buffer.startswith(_BOM):
                buffer = buffer[len(_BOM) :]
        if b"\r" in buffer:
            # A CR at the very end may be the first half of a CRLF: keep it for later.
            hold = buffer.endswith(b"\r")
            if hold:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if hold:
                buffer += b"\r"
                lines = buffer.split(b"\n")
                # The held CR goes back into the buffer untouched.
                self._buffer = lines.pop()
                return self._process(lines)
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        return self._process(lines)

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: a final held CR ends its line; an undispatched event is dropped."""
        events: list[ServerSentEvent] = []
        if self._buffer.endswith(b"\r"):
            # The held CR completes its line; if that line is blank it dispatches.
            events = self._process([self._buffer[:-1]])
        self._buffer = b""
        self._data = []
        self._has_data = False
        self._event = ""
        return events

    def _process(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if line[:6] == b"data: ":
                # The common case, first: one "data: {json}" line per event.
                data.append(line[6:])
                self._has_data = True
                continue
            if not line:
                if self._has_data:
                    joined = data[0] if len(data) == 1 else b"\n".join(data)
                    events.append(
                        ServerSentEvent(
                            joined.decode("utf-8", "replace"),
                            self._event or "message",
                            self._last_id,
                            self._retry,
                        )
                    )
                    data = self._data = []
                    self._has_data = False
                self._event = ""
                continue
            if line[0] == 0x3A:  # ":" starts a comment
                continue
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
                self._has_data = True
            elif name == b"event":
                self._event = value.decode("utf-8", "replace")
            elif name == b"id" and b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():
                self._retry = int(value)
        return events
