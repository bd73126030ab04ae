"""Runs moto's server on a free loopback port until stdin closes.

Prints "ready PORT" once it answers. The test binary (or script) that started it holds
stdin; when that process exits for any reason the pipe closes and the emulator stops too.

The node check's calls moto lacks are answered from moto's own state (nodes_emulator.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodes_emulator  # noqa: E402

nodes_emulator.install()

from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, verbose=False)
server.start()
print(f"ready {server.get_host_and_port()[1]}", flush=True)
sys.stdin.read()
os._exit(0)
