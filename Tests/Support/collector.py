#!/usr/bin/env python3
"""A small HTTPS collector for posture's transport and delivery tests (loopback only).

Stores each POSTed body once per Idempotency-Key (a repeat gets 200, a first 201) and appends a
JSON line per stored report to --log; GET /v1/enroll/challenge answers a fixed nonce and
GET /v1/receipt-key a fixed key (its receipts are unsigned: tests that enroll here do not deliver). Misbehaviour for tests: --fail-first N (503), --close-first
N (drop the connection mid-request), --stall-first N (hold the request past the client's
timeout), --throttle-first N (429 with Retry-After), --status S (answer every request with S),
--client-ca FILE (require a client certificate), --big (a 5 MiB answer). Prints "PORT n" once
listening. Stops after --lifetime seconds.
"""
import argparse, hashlib, http.server, json, ssl, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("--cert", required=True); p.add_argument("--key", required=True)
p.add_argument("--client-ca"); p.add_argument("--log", required=True)
p.add_argument("--fail-first", type=int, default=0); p.add_argument("--close-first", type=int, default=0)
p.add_argument("--stall-first", type=int, default=0); p.add_argument("--throttle-first", type=int, default=0)
p.add_argument("--fail-every", type=int, default=0)
p.add_argument("--status", type=int); p.add_argument("--big", action="store_true")
p.add_argument("--lifetime", type=float, default=120)
args = p.parse_args()

lock = threading.Lock()
state = {"requests": 0, "stored": {}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/enroll/challenge":
            return self.reply(200, json.dumps({"nonce": "test-nonce"}).encode(), [("Content-Type", "application/json")])
        if self.path == "/v1/receipt-key":
            return self.reply(200, __import__("base64").b64encode(bytes(range(1, 33))) + b"\n", [("Content-Type", "text/plain")])
        return self.reply(404, b'{"error":"not found"}')

    def do_POST(self):
        if self.path == "/v1/enroll":
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            if request.get("token") != "good-token" or state.get("enrolled"):
                return self.reply(401, b'{"error":"token used, expired or unknown"}')
            state["enrolled"] = True
            raw = __import__("base64").b64decode(request["public_key"])
            with open(args.log, "a") as log:
                log.write(json.dumps({"enroll": request}) + "\n")
            body = json.dumps({"key_id": hashlib.sha256(raw).hexdigest(), "contract": "C-1001"}).encode()
            return self.reply(201, body, [("Content-Type", "application/json")])
        with lock:
            state["requests"] += 1
            n = state["requests"]
        length = int(self.headers.get("Content-Length", "0"))
        if n <= args.close_first:
            self.rfile.read(min(length, 10))
            self.connection.close()
            return
        body = self.rfile.read(length)
        if n <= args.stall_first:
            time.sleep(30)
            return
        if n <= args.fail_first or (args.fail_every and n % args.fail_every == 0):
            return self.reply(503, b"unavailable")
        if n <= args.throttle_first:
            return self.reply(429, b"slow down", [("Retry-After", "1")])
        if args.status:
            return self.reply(args.status, b'{"error":"rejected by test"}')
        if args.big:
            return self.reply(201, b"x" * (5 << 20))
        key = self.headers.get("Idempotency-Key", "")
        with lock:
            first = key not in state["stored"]
            if first:
                state["stored"][key] = hashlib.sha256(body).hexdigest()
                with open(args.log, "a") as log:
                    log.write(json.dumps({"key": key, "sha256": state["stored"][key],
                                          "content_type": self.headers.get("Content-Type"),
                                          "client_cert": bool(self.connection.getpeercert())}) + "\n")
        receipt = json.dumps({"report_id": key, "received": "ok"}).encode()
        self.reply(201 if first else 200, receipt, [("Content-Type", "application/json")])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
if args.client_ca:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(args.client_ca)
server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Timer(args.lifetime, server.shutdown).start()
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
