"""Child processes of the benchmarks. Every child is tracked until it is
reaped and stopped, by its own PID (or process group), when the script ends:
normally, on an exception, on SIGINT/SIGTERM/SIGHUP or at the deadline."""
import atexit
import os
import select
import signal
import subprocess
import sys
import time

import lib

_LIVE = {}          # pid -> function that stops and reaps that child


def track(pid, stop):
    _LIVE[pid] = stop


def untrack(pid):
    _LIVE.pop(pid, None)


def tracked():
    return set(_LIVE)


def stop_all():
    for pid in reversed(list(_LIVE)):
        stop = _LIVE.pop(pid, None)
        if stop:
            stop()


def _on_signal(signum, _frame):
    stop_all()
    print(f"\nbench: stopped by signal {signum}; child processes stopped",
          file=sys.stderr, flush=True)
    os._exit(128 + signum)


def install_cleanup(deadline=None):
    """Stop every tracked child at exit, on a signal and, with deadline
    (seconds), when it has passed."""
    atexit.register(stop_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, _on_signal)
    if deadline:
        signal.alarm(int(deadline))


def terminate(kill, reaped, grace):
    """kill(SIGTERM), then kill(SIGKILL) if reaped() is still false after
    grace seconds; reaped(True) then waits for the child."""
    kill(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if reaped(False):
            return True
        time.sleep(0.005)
    kill(signal.SIGKILL)
    reaped(True)
    return False


def _ignore_gone(fn):
    def call(*a):
        try:
            fn(*a)
        except ProcessLookupError:
            pass
    return call


def stop_popen(p, grace=10):
    if p.poll() is None:
        def reaped(block):
            if block:
                p.wait()
                return True
            return p.poll() is not None
        terminate(_ignore_gone(p.send_signal), reaped, grace)
    untrack(p.pid)


def popen(argv, **kw):
    """subprocess.Popen, tracked for the cleanup."""
    p = subprocess.Popen(argv, **kw)
    track(p.pid, lambda: stop_popen(p))
    return p


class Child:
    """A VMM started with posix_spawn in its own process group, stdin
    /dev/null, stdout a pipe whose chunks are stamped on arrival
    (time.monotonic_ns), stderr a file in logdir."""

    def __init__(self, argv, name, logdir, env=None):
        os.makedirs(logdir, exist_ok=True)
        self.name = name
        self.logdir = logdir
        self.argv = argv
        self.stderr_path = os.path.join(logdir, name + ".stderr")
        self.out = bytearray()
        self.chunks = []            # (end offset in self.out, ns since exec)
        self.eof = False
        self.status = None          # wait status once reaped
        self.rusage = None
        self.t_exit = None          # ns since exec, when reaped
        self._line_start = 0
        r, w = os.pipe()            # both ends close-on-exec
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, w, 1),
            (os.POSIX_SPAWN_OPEN, 2, self.stderr_path,
             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]
        env = dict(os.environ if env is None else env)
        self.t0 = time.monotonic_ns()
        try:
            # Own process group, so that a kill reaches anything it forks.
            self.pid = os.posix_spawn(argv[0], argv, env, file_actions=actions,
                                      setpgroup=0)
        finally:
            os.close(w)
        track(self.pid, self.kill)
        self.fd = r

    def now(self):
        return time.monotonic_ns() - self.t0

    def _read_once(self, timeout):
        """Read one chunk if one comes within timeout (s). False on EOF."""
        if self.eof:
            return False
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return True
        data = os.read(self.fd, 65536)
        t = self.now()
        if not data:
            self._close()
            return False
        self.out += data
        self.chunks.append((len(self.out), t))
        if lib.VERBOSE:
            self._echo(t)
        return True

    def _echo(self, t):
        while True:
            nl = self.out.find(b"\n", self._line_start)
            if nl < 0:
                return
            line = self.out[self._line_start:nl].decode(errors="replace")
            lib.vlog(f"[{self.name} {t / 1e9:9.3f}s] {line.rstrip()}")
            self._line_start = nl + 1

    def time_at(self, offset):
        """ns since exec at which byte `offset` of the output arrived."""
        for end, t in self.chunks:
            if end > offset:
                return t
        return None

    def wait_for(self, marker, timeout, start=0):
        """ns since exec when `marker` had fully arrived, or None."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.out.find(marker, start)
            if i >= 0:
                return self.time_at(i + len(marker) - 1)
            left = deadline - time.monotonic()
            if left <= 0 or not self._read_once(min(left, 1.0)):
                i = self.out.find(marker, start)
                return self.time_at(i + len(marker) - 1) if i >= 0 else None

    def line_with(self, marker, timeout=5.0):
        """The whole output line containing marker (read to its end)."""
        i = self.out.find(marker)
        if i < 0:
            return None
        deadline = time.monotonic() + timeout
        while self.out.find(b"\n", i) < 0 and time.monotonic() < deadline:
            if not self._read_once(deadline - time.monotonic()):
                break
        s = self.out.rfind(b"\n", 0, i) + 1
        e = self.out.find(b"\n", i)
        return self.out[s:e if e >= 0 else len(self.out)].decode(
            errors="replace").strip()

    def _reap(self, block):
        pid, status, ru = os.wait4(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.status, self.rusage, self.t_exit = status, ru, self.now()
        untrack(self.pid)
        self._close()
        return True

    def wait_exit(self, timeout):
        """Drain stdout and reap. Kills the child if it is not gone in time.
        Returns True if it ended by itself."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read_once(min(deadline - time.monotonic(), 1.0))
        while time.monotonic() < deadline:
            if self._reap(False):
                return True
            time.sleep(0.005)
        self.kill()
        return False

    def _signal_group(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def _drain_or_reap(self, block):
        if not block and not self.eof:
            self._read_once(0.01)
        return self._reap(block)

    def stop(self, grace=3.0):
        """SIGTERM, SIGKILL after grace seconds."""
        if self.status is None:
            terminate(self._signal_group, self._drain_or_reap, grace)

    def kill(self):
        if self.status is None:
            self._signal_group(signal.SIGKILL)
            self._reap(True)

    def _close(self):
        if not self.eof:
            self.eof = True
            os.close(self.fd)

    def returncode(self):
        return None if self.status is None else os.waitstatus_to_exitcode(
            self.status)

    def cpu_ms(self):
        if self.rusage is None:
            return None
        return round((self.rusage.ru_utime + self.rusage.ru_stime) * 1e3, 1)

    def stderr_tail(self, n=5):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return [ln.rstrip() for ln in f.readlines()[-n:]]
        except OSError:
            return []

    def stderr_head(self, n=3):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return [ln.rstrip() for ln in f.readlines()[:n]]
        except OSError:
            return []

    def console_tail(self, n=20):
        lines = self.out.decode(errors="replace").replace("\r", "").split("\n")
        return [ln for ln in lines if ln.strip()][-n:]

    def save_console(self):
        path = os.path.join(self.logdir, self.name + ".console")
        with open(path, "wb") as f:
            f.write(self.out)
        return path
