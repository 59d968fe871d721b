#!/usr/bin/env python3
"""A slowloris-style client for the collector's tests (loopback only).

Opens a TLS connection to 127.0.0.1:PORT, starts a request and sends its headers one byte every
--interval seconds, never finishing them (with --body: complete headers announcing a 50 kB body,
then the body one byte every --interval). Prints "closed AFTER" (seconds) as soon as the server
closes the connection, "answered STATUS AFTER" when it answers, or "open AFTER" if it is still
open after --limit seconds.
"""
import argparse, socket, ssl, time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True); p.add_argument("--ca", required=True)
p.add_argument("--interval", type=float, default=0.5); p.add_argument("--limit", type=float, default=20)
p.add_argument("--body", action="store_true")
args = p.parse_args()

context = ssl.create_default_context(cafile=args.ca)
start = time.monotonic()
with socket.create_connection(("127.0.0.1", args.port), timeout=args.limit) as raw:
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
        head = b"POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: " + b"a" * 10000
        if args.body:
            conn.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nIdempotency-Key: slow\r\nContent-Length: 50000\r\n\r\n")
            head = b"{" + b" " * 49999
        conn.settimeout(args.interval)
        for byte in head:
            if time.monotonic() - start > args.limit:
                print(f"open {time.monotonic() - start:.1f}", flush=True)
                break
            try:
                conn.sendall(bytes([byte]))
                answer = conn.recv(64)
                if answer == b"":
                    print(f"closed {time.monotonic() - start:.1f}", flush=True)
                    break
                if answer.startswith(b"HTTP/1.1 "):
                    print(f"answered {answer[9:12].decode()} {time.monotonic() - start:.1f}", flush=True)
                    break
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                print(f"closed {time.monotonic() - start:.1f}", flush=True)
                break
