"""The MLLP listener: HL7 v2 messages from the HIS over TCP, each answered with its ACK.

This module owns the wire: MLLP framing (a message is `\\x0b` + text + `\\x1c\\x0d`), one asyncio
server, and the order of things per message: the text is handed to engine.hl7intake.receive on
one writer thread, and its ACK (AA) is written back only after that returned, that is after the
write committed; a refused message gets a NAK (AE or AR) with the reason. What the listener
copes with: a frame split over many reads, several frames in one read, bytes outside a frame
(dropped), a connection that drops mid-message (the partial message is dropped and nothing is
answered: the HIS sends it again), a frame longer than MAX_FRAME (answered AR, then the
connection is closed, since the rest of it cannot be told from the next message).

Only senders in workspace.yaml `hl7_listener: allow_from:` (CIDR; engine.allowlist, loopback
when left out) are heard: a connection from anywhere else is closed before a byte is read,
logged with its address and counted (`Listener.refused`), since MLLP itself names no sender.

Text is read as UTF-8, or GB18030 when it is not UTF-8 (many Chinese HIS send that); the ACK
is UTF-8. `gridbase hl7 listen` runs `serve_forever`; `gridbase serve` starts a Listener on its
own loop when given `--hl7-port` (gridbase.app.create_app(hl7=...)), started and stopped with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from engine import allowlist, hl7intake

if TYPE_CHECKING:
    from engine.workspace import Workspace

START, END = b"\x0b", b"\x1c\x0d"
MAX_FRAME = hl7intake.MAX_MESSAGE * 4  # bytes: the longest text a frame may carry, in 4-byte characters
READ = 65536
log = logging.getLogger("gridbase.hl7")


def frame(text: str) -> bytes:
    """One message as MLLP bytes."""
    return START + text.encode("utf-8") + END


def decode(data: bytes) -> str:
    """The text of a frame: UTF-8, else GB18030 (which reads any bytes)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


class Listener:
    """An MLLP server over one workspace; `start` binds it, `close` stops it."""

    def __init__(self, ws: Workspace, host: str = "127.0.0.1", port: int = 2575, max_frame: int = MAX_FRAME) -> None:
        self.ws = ws
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.allowed = allowlist.hl7_networks(ws.config)
        self.refused = 0  # connections refused by the allow-list since the listener started
        self.server: asyncio.Server | None = None
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridbase-hl7")

    async def start(self) -> int:
        """Bind and start accepting; returns the port (useful when asked for port 0)."""
        self.server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.writer.shutdown(wait=True)

    def handle(self, data: bytes) -> bytes:
        """One frame's text → its ACK's bytes (on the writer thread: the write commits before this returns)."""
        text = decode(data)
        try:
            outcome = hl7intake.receive(self.ws, text)
        except Exception as exc:  # noqa: BLE001 - a fault of the store (a full disk) is a NAK, never a dead listener
            log.exception("HL7 message not applied")
            outcome = hl7intake.Outcome("AE", "", type(exc).__name__)
        return frame(hl7intake.ack(text, outcome))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        if not allowlist.admits(self.allowed, address):
            self.refused += 1
            log.warning("HL7 connection from %s refused: not in workspace.yaml hl7_listener allow_from "
                        "(%d refused since start)", address or "an unknown address", self.refused)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            return
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        try:
            while True:
                data = await reader.read(READ)
                if not data:
                    return  # closed; a partial message in the buffer was never ACKed, so the HIS sends it again
                buffer += data
                while True:
                    start = buffer.find(START)
                    if start < 0:
                        buffer.clear()  # bytes outside any frame
                        break
                    end = buffer.find(END, start)
                    if end < 0:
                        del buffer[:start]
                        if len(buffer) > self.max_frame:
                            text = decode(bytes(buffer[1:2000]))
                            reason = str(hl7intake.Hl7Error("hl7_too_long", limit=self.max_frame))
                            writer.write(frame(hl7intake.ack(text, hl7intake.Outcome("AR", "", reason))))
                            await writer.drain()
                            return
                        break
                    body = bytes(buffer[start + 1:end])
                    del buffer[:end + len(END)]
                    writer.write(await loop.run_in_executor(self.writer, self.handle, body))
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve_forever(ws: Workspace, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Run a listener until cancelled (`gridbase hl7 listen`)."""
    listener = Listener(ws, host, port)
    await listener.start()
    log.info("HL7 MLLP listener on %s:%s", host, listener.port)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await listener.close()
