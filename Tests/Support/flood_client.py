#!/usr/bin/env python3
"""Floods the collector with bad envelopes (loopback only), for the collector's tests.

--clients threads, each from its own loopback source address (127.0.0.2, 127.0.0.3, ...), POST a
1 MiB-ish envelope of --signatures random signatures to /v1/reports for --seconds seconds over
keep-alive TLS, or until its standard input closes (whichever comes first). Prints one line: the
count of each status seen, e.g. "400=12 429=3021".
"""
import argparse, collections, http.client, json, os, base64, ssl, threading, time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True); p.add_argument("--ca", required=True)
p.add_argument("--clients", type=int, default=8); p.add_argument("--seconds", type=float, default=3)
p.add_argument("--signatures", type=int, default=3000)
p.add_argument("--min-requests", type=int, default=0, help="each client sends at least this many before stopping")
args = p.parse_args()

context = ssl.create_default_context(cafile=args.ca)
body = json.dumps({"payloadType": "application/vnd.posture.report+json", "payload": base64.b64encode(b"{}").decode(),
                   "signatures": [{"keyid": os.urandom(32).hex(), "sig": base64.b64encode(os.urandom(64)).decode()}
                                  for _ in range(args.signatures)]}).encode()
seen = collections.Counter()
lock = threading.Lock()
deadline = time.monotonic() + args.seconds
stop = threading.Event()

def watch_stdin():
    import sys
    sys.stdin.buffer.read()
    stop.set()

def flood(index):
    connection = None
    sent = 0
    while time.monotonic() < deadline and (sent < args.min_requests or not stop.is_set()):
        sent += 1
        try:
            if connection is None:
                connection = http.client.HTTPSConnection("127.0.0.1", args.port, context=context, timeout=10,
                                                         source_address=(f"127.0.0.{index + 2}", 0))
            connection.request("POST", "/v1/reports", body=body, headers={"Content-Type": "application/json", "Idempotency-Key": "x"})
            response = connection.getresponse()
            response.read()
            with lock: seen[response.status] += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close(); connection = None
        except Exception as error:
            with lock: seen[type(error).__name__] += 1
            connection = None

threading.Thread(target=watch_stdin, daemon=True).start()
threads = [threading.Thread(target=flood, args=(i,)) for i in range(args.clients)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join(f"{k}={v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0]))), flush=True)
