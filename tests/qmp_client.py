"""A small QMP client for tests: connect, negotiate, run commands, collect
events that arrive in between."""
import json
import socket
import time


class QMPError(Exception):
    pass


def connect_unix(path, timeout):
    """A socket connected to path, retried until the VMM has created and
    opened it or timeout seconds have passed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(str(path))
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                sock.close()
                raise
            time.sleep(0.05)


class QMP:
    def __init__(self, path, timeout=30, negotiate=True):
        self.sock = connect_unix(path, timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            self.cmd("qmp_capabilities")

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self, timeout=None):
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("memplug closed the control connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        """Next reply; events seen on the way are kept in self.events."""
        while True:
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    def execute(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.reply()

    def cmd(self, name, **args):
        r = self.execute(name, **args)
        if "error" in r:
            raise QMPError(r["error"]["desc"])
        return r["return"]

    def wait_event(self, name, timeout, match=lambda e: True):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == name and match(e):
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                self.events.append(self.recv(timeout=left))
            except socket.timeout:
                return None
