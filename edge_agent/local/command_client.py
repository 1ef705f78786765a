"""`edge-agent command NAME`: send one command to the agent running on this cabinet, through its
local socket (edge_agent/local/command_socket.py), and print the reply. Exit 0 when the command
succeeded, 1 when it was refused or failed, 2 when the agent could not be asked."""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

MAX_REPLY_BYTES = 1 << 20


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("command", help="send a command to the agent running here; print its reply")
    parser.add_argument("name", help="command name, as on MQTT (e.g. camera_firmware_batch)")
    parser.add_argument("--args", default="{}", help="the command's arguments, a JSON object")
    parser.add_argument("--operator", help="who asks (required by commands that act on hardware)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", "-c", type=Path, help="configuration naming the state directory")
    where.add_argument("--data-dir", type=Path, help="the agent's state directory")
    parser.add_argument("--wait-s", type=float, default=3600, help="longest wait for the reply")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from edge_agent.errors import LivenessError
    from edge_agent.local.command_socket import SOCKET_NAME
    from edge_agent.local.health_gate import data_dir_of

    try:
        data_dir = args.data_dir or data_dir_of(args.config)
        arguments = json.loads(args.args)
    except (LivenessError, ValueError) as exc:
        print(f"edge-agent command: {exc}", file=sys.stderr)
        return 2
    request = {"command": args.name, "transaction": f"cli-{secrets.token_hex(6)}", "args": arguments}
    if args.operator:
        request["operator"] = args.operator
    try:
        reply = ask(data_dir / SOCKET_NAME, request, args.wait_s)
    except (OSError, ValueError) as exc:
        print(f"edge-agent command: cannot ask the agent at {data_dir / SOCKET_NAME}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(reply))
    return 0 if reply.get("status") == "ok" else 1


def ask(path: Path, request: dict[str, Any], wait_s: float) -> dict[str, Any]:
    """One request, one reply (blocking: the command line has no event loop)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(wait_s)
        client.connect(str(path))
        client.sendall(json.dumps(request).encode() + b"\n")
        answer = bytearray()
        while not answer.endswith(b"\n") and len(answer) <= MAX_REPLY_BYTES:
            chunk = client.recv(65536)
            if not chunk:
                break
            answer += chunk
    reply = json.loads(answer)
    if not isinstance(reply, dict):
        raise ValueError("the agent's reply is not a JSON object")
    return reply
