"""Keystroke round trip of the Terminal tab: a key sent, its echo back.

The terminal runs `cat` (a typed command) on a tty: each key is echoed by the container's
terminal (the kernel's echo, at once). A key goes over the portal's websocket (real
Daphne, as the Terminal tab sends it: one binary frame per key) to the consumer, its writer
thread, the engine's exec socket and back; the raw figure is the
same keys on a docker exec socket this process opens itself, in the same run. Both ask the
same engine, so the ratio is what the portal adds. Goal: p95 ≤ 50 ms (a terminal feels
instant under about 50 ms).
"""

import json
import socket
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from websockets.sync.client import connect  # noqa: E402 - after the sys.path fix-up

from bench.portal import (  # noqa: E402 - after the sys.path fix-up
    Result,
    build_image,
    cleanup,
    create_container,
    engine_api,
    exit_cleanly_on_sigterm,
    median,
    percentile,
    running_portal,
)

KEYS = 300
WARM_UP = 20
# No Enter: the keys stay in the tty's line buffer (4 KB), so nothing but echoes comes back.
GOAL_MS = 50.0


def _portal_key(ws, key: bytes) -> float:
    started = time.perf_counter()
    ws.send(key)
    seen = b""
    while key not in seen:
        message = ws.recv(timeout=10)
        if isinstance(message, bytes):
            seen += message
    return time.perf_counter() - started


def portal_round_trips(portal, container_id: str) -> list[float]:
    http = portal.session()
    url = (
        portal.url.replace("http://", "ws://")
        + f"/engines/local/ws/containers/{container_id}/terminal/"
    )
    headers = {"Cookie": f"sessionid={http.cookies['sessionid']}", "Origin": portal.url}
    with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
        ws.send(json.dumps({"open": {"command": "cat"}, "size": [120, 40]}))
        while True:
            message = ws.recv(timeout=20)
            if isinstance(message, str):
                state = json.loads(message)
                if state["state"] != "connected":
                    raise RuntimeError(f"no terminal: {state}")
                break
        return _keys(lambda key: _portal_key(ws, key))


def _raw_key(sock: socket.socket, key: bytes) -> float:
    started = time.perf_counter()
    sock.sendall(key)
    seen = b""
    while key not in seen:
        seen += sock.recv(4096)
    return time.perf_counter() - started


def raw_round_trips(api, container_id: str) -> list[float]:
    exec_id = api.exec_create(container_id, ["cat"], stdin=True, tty=True)["Id"]
    hijacked = api.exec_start(exec_id, tty=True, socket=True)
    sock = hijacked._sock if isinstance(hijacked, socket.SocketIO) else hijacked
    sock.settimeout(10)
    try:
        return _keys(lambda key: _raw_key(sock, key))
    finally:
        sock.sendall(b"\x04")  # EOF: cat, and the exec, end by themselves
        sock.close()


def _keys(send_key) -> list[float]:
    times = []
    for i in range(WARM_UP + KEYS):
        elapsed = send_key(b"abcdefghijklmnopqrstuvwxyz"[i % 26 : i % 26 + 1])
        if i >= WARM_UP:
            times.append(elapsed * 1000)
    return times


def run() -> Result:
    name = "terminal_roundtrip"
    print(f"{name}: {KEYS} keystrokes, each until its echo is back (portal websocket vs raw exec)")
    api = engine_api()
    build_image(api)
    try:
        container_id = create_container(api, ["sleep", "3600"], "terminal")
        api.start(container_id)
        with running_portal() as portal:
            # Interleaved runs would share the engine's attention alike; one after the other
            # is simpler and the engine is idle in both.
            portal_ms = portal_round_trips(portal, container_id)
        raw_ms = raw_round_trips(api, container_id)
    finally:
        cleanup(api)
    p50, p95, worst = median(portal_ms), percentile(portal_ms, 95), max(portal_ms)
    r50, r95, rworst = median(raw_ms), percentile(raw_ms, 95), max(raw_ms)
    print(f"  raw exec socket:  p50 {r50:.2f} ms, p95 {r95:.2f} ms, max {rworst:.1f} ms")
    print(f"  portal websocket: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {worst:.1f} ms")
    ratio = p95 / r95 if r95 > 0 else None
    print(f"  ratio p95 portal/raw: {ratio:.1f}; goal p95 ≤ {GOAL_MS:.0f} ms")
    return Result(
        name=name,
        figure=f"p50 {p50:.1f} / p95 {p95:.1f} ms",
        raw=f"exec p50 {r50:.2f} / p95 {r95:.2f} ms",
        ratio=ratio,
        goal=f"p95 ≤ {GOAL_MS:.0f} ms",
        met=p95 <= GOAL_MS,
    )


if __name__ == "__main__":
    exit_cleanly_on_sigterm()
    result = run()
    print(f"terminal_roundtrip: {result.verdict()}")
