"""The VMM process of a benchmark guest (hotplug.py's Bench starts one per
boot)."""
import subprocess
import time

from lib import proc
from lib.qmp import QMPThreaded
from memplug_vm import Stream, parse_agent  # tests/, on the path by lib.qmp


class VM:
    """One VMM process with its console (stdout) and QMP socket."""

    def __init__(self, kind, argv, sock, logdir):
        self.kind, self.sock = kind, sock
        self.started = time.monotonic()
        self.proc = proc.popen(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self.console = Stream(self.proc.stdout, logdir / f"{kind}.console")
        self.stderr = Stream(self.proc.stderr, logdir / f"{kind}.stderr")
        self.qmp = None

    def connect(self):
        self.qmp = QMPThreaded(self.sock)

    def wait_agent(self, kind, pred, timeout, start=0):
        deadline = time.monotonic() + timeout
        i = start
        while True:
            left = deadline - time.monotonic()
            j = self.console.wait_for(r"MEMPLUG-AGENT %s\b" % kind,
                                      max(left, 0), i)
            if j is None:
                raise RuntimeError(
                    f"{self.kind}: no matching 'MEMPLUG-AGENT {kind}' line "
                    f"in {timeout}s (exit {self.proc.poll()}); last lines:\n"
                    + "\n".join(self.console.lines[-15:]) + "\nstderr:\n"
                    + self.stderr.text()[-2000:])
            fields = parse_agent(self.console.lines[j])[1]
            if pred(fields):
                return j, fields
            i = j + 1

    def stop(self):
        if self.qmp:
            try:
                self.qmp.send("quit")
            except OSError:
                pass
            self.qmp.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        proc.stop_popen(self.proc)
