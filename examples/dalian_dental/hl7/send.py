"""Send the sample HL7 v2 messages of this folder to a Gridbase MLLP listener, as the HIS would.

    gridbase hl7 listen examples/dalian_dental --port 2575      # in one terminal
    python examples/dalian_dental/hl7/send.py --port 2575       # in another: every *.hl7 here, in name order
    python examples/dalian_dental/hl7/send.py 06_siu_s12_li.hl7 # or only the files named

Each message is framed with MLLP (0x0B ... 0x1C 0x0D), sent, and its ACK printed (MSA-1 AA: taken
and committed; AE/AR: refused, MSA-3 says why). Standard library only.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = b"\x0b", b"\x1c\x0d"


def send(sock: socket.socket, text: str) -> str:
    """Send one message; return its ACK's text."""
    body = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    sock.sendall(START + body.encode("utf-8") + END)
    reply = b""
    while END not in reply:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the listener closed the connection before answering")
        reply += chunk
    return reply[reply.index(START) + 1:reply.index(END)].decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send sample HL7 v2 messages over MLLP.")
    parser.add_argument("files", nargs="*", help="message files (default: every *.hl7 in this folder)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2575)
    args = parser.parse_args(argv)
    files = [Path(f) if Path(f).exists() else HERE / f for f in args.files] or sorted(HERE.glob("*.hl7"))
    with socket.create_connection((args.host, args.port), timeout=30) as sock:
        for path in files:
            ack = send(sock, path.read_text(encoding="utf-8"))
            msa = next((line for line in ack.split("\r") if line.startswith("MSA|")), "MSA|?")
            sys.stdout.write(f"{path.name}: {msa}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
