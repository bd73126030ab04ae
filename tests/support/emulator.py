"""Runs moto's server on a free loopback port until stdin closes.

Prints "ready PORT" once it answers. The test binary (or script) that started it holds
stdin; when that process exits for any reason the pipe closes and the emulator stops too.
"""
import os
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]) if len(sys.argv) > 1 else 0, verbose=False)
server.start()
print(f"ready {server.get_host_and_port()[1]}", flush=True)
sys.stdin.read()
os._exit(0)
