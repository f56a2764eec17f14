"""Exit 0 once the Kafka broker at HOST:PORT answers a Metadata request listing a broker.

Used by deploy/kafka/start.sh, so it needs nothing but the standard library
(no virtualenv yet when `make up` first runs). It speaks just enough of the
Kafka protocol: a Metadata v4 request (the oldest version Kafka 4 still
serves, KIP-896), and reads the broker count from the answer. A broker only
lists itself once it has registered with the controller and been unfenced,
which is the moment producers and the admin client can use it.

Usage: python3 broker_ready.py HOST:PORT TIMEOUT_SECONDS [PID]

With PID, it gives up as soon as that process has exited (exit status 2), so a
broker that dies at start-up fails fast instead of after the whole timeout.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

METADATA_API_KEY = 3
METADATA_VERSION = 4
CLIENT_ID = b"mlc-ready-check"
# Between connection attempts while the broker is still starting.
RETRY_INTERVAL_S = 0.1


def metadata_request(correlation_id: int) -> bytes:
    """A size-prefixed Metadata v4 request for no topics (request header v1)."""
    header = struct.pack(
        ">hhih", METADATA_API_KEY, METADATA_VERSION, correlation_id, len(CLIENT_ID)
    )
    # topics: an empty array (not null: null would list every topic), no auto-creation
    body = struct.pack(">ib", 0, 0)
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def broker_count(host: str, port: int, timeout: float) -> int:
    """How many brokers the broker at host:port lists in its metadata."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(metadata_request(correlation_id=1))
        (size,) = struct.unpack(">i", read_exactly(sock, 4))
        response = read_exactly(sock, size)
    # correlation id, throttle time, then the brokers array's length
    correlation_id, _throttle_ms, brokers = struct.unpack(">iii", response[:12])
    if correlation_id != 1:
        raise ConnectionError(f"unexpected correlation id {correlation_id}")
    return int(brokers)


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs; a zombie (state Z) has exited already."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return state != "Z"


def main() -> int:
    host, _, port = sys.argv[1].rpartition(":")
    deadline = time.monotonic() + float(sys.argv[2])
    pid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    while True:
        if pid is not None and not is_alive(pid):
            return 2
        remaining = deadline - time.monotonic()
        try:
            if broker_count(host, int(port), timeout=max(0.5, min(remaining, 5.0))) >= 1:
                return 0
        except (OSError, struct.error):
            pass
        if remaining <= 0:
            return 1
        time.sleep(RETRY_INTERVAL_S)  # poll: the broker gives no signal but its answer


if __name__ == "__main__":
    sys.exit(main())
