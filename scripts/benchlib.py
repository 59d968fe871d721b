"""Measuring helpers shared by the scripts/bench-* programs."""
import os
import subprocess
import sys
import tempfile
import time


def require_gnu_time(program):
    """Exits with a hint when GNU time (for peak memory) is missing."""
    if not os.path.exists("/usr/bin/time"):
        sys.exit(f"{program}: GNU time (/usr/bin/time) is needed for peak memory: apt-get install time")


def timed(cmd):
    """Wall seconds and peak RSS (KiB, GNU time's %M) of one run of `cmd`, its output discarded."""
    with tempfile.NamedTemporaryFile(mode="r") as report:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, LANG="C"))
        elapsed = time.perf_counter() - start
        return elapsed, int(report.read().strip().splitlines()[-1])
