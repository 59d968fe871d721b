#!/usr/bin/env python3
"""A minimal HTTP CONNECT proxy on loopback for transport tests: tunnels bytes, logs each CONNECT
target to --log, prints "PORT n" once listening, stops after --lifetime seconds."""
import argparse, select, socket, threading

p = argparse.ArgumentParser()
p.add_argument("--log", required=True); p.add_argument("--lifetime", type=float, default=120)
args = p.parse_args()


def pipe(a, b):
    try:
        while True:
            ready, _, _ = select.select([a, b], [], [], 30)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        pass
    finally:
        a.close(); b.close()


def handle(client):
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = client.recv(4096)
        if not chunk:
            return client.close()
        request += chunk
    line = request.split(b"\r\n")[0].decode()
    method, target, _ = line.split(" ", 2)
    if method != "CONNECT":
        client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        return client.close()
    with open(args.log, "a") as log:
        log.write(target + "\n")
    host, port = target.rsplit(":", 1)
    upstream = socket.create_connection((host, int(port)))
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    pipe(client, upstream)


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
threading.Timer(args.lifetime, listener.close).start()
print(f"PORT {listener.getsockname()[1]}", flush=True)
while True:
    try:
        conn, _ = listener.accept()
    except OSError:
        break
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
