"""QMP for the benchmarks. tests/qmp_client.py reads the socket only when
the caller waits for a reply or an event; a benchmark also waits on the
guest's console meanwhile and needs every message's arrival time, so this
client reads from a thread and stamps each message (time.monotonic). The
connection itself is the tests' connect_unix."""
import json
import sys
import threading
import time

import lib

sys.path.insert(0, str(lib.ROOT / "tests"))
from qmp_client import QMPError, connect_unix  # noqa: E402


class QMPThreaded:
    def __init__(self, path, timeout=60):
        self.sock = connect_unix(path, timeout)
        self.msgs = []  # (t, msg)
        self.replies_taken = 0
        self.cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._run, daemon=True).start()
        self._wait(lambda: any("QMP" in m for _, m in self.msgs), timeout)
        self.cmd("qmp_capabilities")

    def _run(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            t = time.monotonic()
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    with self.cond:
                        self.msgs.append((t, json.loads(line)))
                        self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return False
                self.cond.wait(left)
            return True

    def _replies(self):
        return [(t, m) for t, m in self.msgs if "return" in m or "error" in m]

    def send(self, name, **args):
        """Sends a command; returns the send time and a ticket for reply()."""
        req = {"execute": name}
        if args:
            req["arguments"] = args
        with self.cond:
            ticket = self.replies_taken
            self.replies_taken += 1
        t = time.monotonic()
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        return t, ticket

    def reply(self, ticket, timeout=60):
        """(arrival time, message) of the ticket's reply."""
        if not self._wait(lambda: len(self._replies()) > ticket, timeout):
            raise QMPError("no QMP reply")
        with self.cond:
            return self._replies()[ticket]

    def checked(self, what, ticket):
        """reply(ticket), raising QMPError on an error reply."""
        t, r = self.reply(ticket)
        if "error" in r:
            raise QMPError(f"{what}: {r['error']['desc']}")
        return t, r

    def cmd(self, name, **args):
        _, ticket = self.send(name, **args)
        return self.checked(name, ticket)[1]["return"]

    def wait_event(self, name, pred, timeout):
        """(arrival time, event) of the first such event, or (None, None)."""
        found = []

        def look():
            for t, m in self.msgs:
                if m.get("event") == name and pred(m):
                    found.append((t, m))
                    return True
            return False
        if not self._wait(look, timeout):
            return None, None
        return found[0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
