#!/usr/bin/env python3
"""Waits until PostgreSQL accepts TCP connections at POSTGRES_SERVICE_HOST:POSTGRES_SERVICE_PORT
(the pods set both); exits 1 after about five minutes. The pulp-* entry scripts call it first."""
import os
import socket
import sys
import time

host = os.environ.get("POSTGRES_SERVICE_HOST", "localhost")
try:
    port = int(os.environ.get("POSTGRES_SERVICE_PORT", "5432"))
except ValueError:
    port = 5432
print(f"Waiting on postgresql at {host}:{port}...", flush=True)
for _ in range(100):
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        time.sleep(3)
    else:
        print("Postgres started!", flush=True)
        sys.exit(0)
print(f"Unable to reach postgres at {host}:{port}", flush=True)
sys.exit(1)
