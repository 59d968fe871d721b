#!/usr/bin/env python3
"""Runs a real freshclam inside a Debian root against a database mirror on loopback.

Usage: unshare -n python3 clamav_mirror.py ROOT DIRECTORY CONFIG -- FRESHCLAM ARGUMENTS...

Run it in a fresh network namespace (`unshare -n`): only loopback exists there, so freshclam can
reach nothing but this mirror. It brings loopback up, serves DIRECTORY on 127.0.0.1 as ClamAV's
own tests do (unit_tests/freshclam_test.py, WebServerHandler_WWW: a ranged request for NAME.cvd
gets the first bytes of NAME.cvd.advertised, so freshclam sees a newer version and fetches the
.cdiff files), replaces `@PORT@` in the freshclam.conf at ROOT/CONFIG with its port, then runs
`chroot ROOT freshclam ARGUMENTS`, prints freshclam's output, and exits with its status.
"""
import functools
import http.server
import pathlib
import subprocess
import sys
import threading


class Mirror(http.server.BaseHTTPRequestHandler):
    def __init__(self, directory, *args, **kwargs):
        self.directory = directory
        super().__init__(*args, **kwargs)

    def do_GET(self):
        name = pathlib.PurePosixPath(self.path).name
        ranged = "Range" in self.headers
        if name.endswith(".cvd"):
            name += ".advertised" if ranged else ".served"
        path = self.directory / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if ranged:
            start, end = self.headers["Range"].split("=")[-1].split("-")
            data = data[int(start):int(end) + 1]
        self.send_response(206 if ranged else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        sys.stderr.write("mirror: " + format % args + "\n")


def main():
    root, directory, config, separator, *arguments = sys.argv[1:]
    assert separator == "--", __doc__
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(Mirror, pathlib.Path(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = pathlib.Path(root) / config.lstrip("/")
    config.write_text(config.read_text().replace("@PORT@", str(server.server_address[1])))
    command = ["chroot", root, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "freshclam"]
    result = subprocess.run(command + arguments,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(result.stdout)
    server.shutdown()
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
