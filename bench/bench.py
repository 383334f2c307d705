#!/usr/bin/python3
"""memplug benchmarks: VMM-side figures against kvmtool and QEMU.

Run by `make bench` (which builds build/memplug, the flat test guests and the
guest kernel first). Python 3 standard library only.

Figures (one run of this script measures all that --only selects):

  first-byte   exec -> first byte of the guest on the VMM's stdout
               (memplug: tests/guests/hello.elf; kvmtool: bench/guests/pio16.S)
  exit         port-I/O exit round trip: ('P' time - 'S' time) / 10,000
               (memplug: tests/guests/pio.elf; kvmtool: pio64.S, the same
               loop after switching to 64-bit mode, and pio16.S in real
               mode for reference), and the same loops without exits as
               controls (bench/guests/noexit.S, pio64.S and pio16.S built
               with NOEXIT) to subtract the guest loop's own (emulated) time
  rss          VmRSS of the VMM while a flat guest idles
               (memplug: bench/guests/spin.S; kvmtool: pio16.S after 'P')
  boot-memplug, boot-qemu-pc, boot-qemu-q35
               Linux boot of build/guest/vmlinux: exec -> first "Linux version"
               line, exec -> "MEMPLUG-AGENT ready", VmRSS at the ready line,
               CPU time of the VMM process

kvmtool rows need LKVM=/path/to/lkvm (or --lkvm); without it they are skipped
and the comparison uses the anchor numbers of /work/shared/anchors/kvmtool.md,
labelled as such.

Timing: the child is started with posix_spawn, its stdout is a pipe, stdin is
/dev/null; every chunk read from the pipe is stamped with time.monotonic_ns().
Spawn cost is included for every VMM alike.
"""

import argparse
import atexit
import datetime
import hashlib
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
WORK = os.path.join(BUILD, "bench")          # built guests and logs
LOGS = os.path.join(WORK, "logs")

MEMPLUG = os.path.join(BUILD, "memplug")
GUESTS = os.path.join(BUILD, "tests", "guests")
VMLINUX = os.path.join(BUILD, "guest", "vmlinux")
# The guest kernel may be rebuilt while the benchmark runs; every boot of one
# run uses this copy, taken once at the start.
KERNEL_COPY = os.path.join(WORK, "vmlinux")
KERNEL_MANIFEST = os.path.join(BUILD, "guest", "manifest")

PIO_EXITS = 10000            # outs in tests/guests/pio.S and pio16.S
FLAT_TIMEOUT = 20.0          # s, one flat-guest run
BOOT_TIMEOUT = 900.0         # s, exec -> agent ready
POWEROFF_TIMEOUT = 120.0     # s, agent ready -> process exit
RSS_SETTLE = 0.05            # s, wait after the marker before reading VmRSS
RUN_GAP = 0.2                # s, pause between flat runs (previous VM's
                             # teardown out of the way)

MEMPLUG_CMDLINE = ("console=ttyS0 earlyprintk=serial swiotlb=noforce "
                   "memplug_agent.poweroff=1")
# What memplug appends by itself on this KVM (it says so on stderr); QEMU
# needs the same by hand, plus idle=halt.
QEMU_APPEND = ("console=ttyS0 earlyprintk=serial swiotlb=noforce "
               "memplug_agent.poweroff=1 "
               "noxsave clearcpuid=141,151,308 idle=halt")

LINUX_MARK = b"Linux version"
READY_MARK = b"MEMPLUG-AGENT ready"

# /work/shared/anchors/kvmtool.md, medians of 5 runs on this kind of machine.
KVMTOOL_ANCHOR = {
    "first_byte_ms": 10.7,
    "exit_us": 10.6,
    "rss_kib": 2192,
}
ANCHOR_LABEL = "anchor (kvmtool.md), not measured in this run"

SECTIONS = ["first-byte", "exit", "rss",
            "boot-memplug", "boot-qemu-pc", "boot-qemu-q35"]
GROUPS = {
    "flat": ["first-byte", "exit", "rss"],
    "kvmtool": ["first-byte", "exit", "rss"],
    "boot": ["boot-memplug", "boot-qemu-pc", "boot-qemu-q35"],
    "linux": ["boot-memplug", "boot-qemu-pc", "boot-qemu-q35"],
    "qemu": ["boot-qemu-pc", "boot-qemu-q35"],
}

VERBOSE = False
WAIT_IDLE = 0.0     # --wait-idle


def log(msg):
    print(msg, flush=True)


def vlog(msg):
    if VERBOSE:
        print("  " + msg, flush=True)


# --------------------------------------------------------------------------
# Child processes. Every child we start is in _LIVE until it is reaped, and
# is killed when this script ends for any reason (exception, Ctrl-C, SIGTERM).

_LIVE = {}          # pid -> Child


def _kill_all():
    for pid in list(_LIVE):
        try:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        _LIVE.pop(pid, None)


def _on_signal(signum, _frame):
    _kill_all()
    print(f"\nbench: stopped by signal {signum}; child processes killed",
          file=sys.stderr, flush=True)
    os._exit(128 + signum)


def install_cleanup():
    atexit.register(_kill_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)


class Child:
    """A VMM process with its stdout on a pipe, chunks stamped on arrival."""

    def __init__(self, argv, name, env=None):
        os.makedirs(LOGS, exist_ok=True)
        self.name = name
        self.argv = argv
        self.stderr_path = os.path.join(LOGS, name + ".stderr")
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
        _LIVE[self.pid] = self
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
            self.eof = True
            os.close(self.fd)
            return False
        self.out += data
        self.chunks.append((len(self.out), t))
        if VERBOSE:
            while True:
                nl = self.out.find(b"\n", self._line_start)
                if nl < 0:
                    break
                line = self.out[self._line_start:nl].decode(errors="replace")
                vlog(f"[{self.name} {t / 1e9:9.3f}s] {line.rstrip()}")
                self._line_start = nl + 1
        return True

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

    def _reap(self, flags):
        pid, status, ru = os.wait4(self.pid, flags)
        if pid == 0:
            return False
        self.status, self.rusage, self.t_exit = status, ru, self.now()
        _LIVE.pop(self.pid, None)
        return True

    def wait_exit(self, timeout):
        """Drain stdout and reap. Kills the child if it is not gone in time.
        Returns True if it ended by itself."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read_once(min(deadline - time.monotonic(), 1.0))
        while time.monotonic() < deadline:
            if self._reap(os.WNOHANG):
                self._close()
                return True
            time.sleep(0.005)
        self.kill()
        return False

    def stop(self, sig=signal.SIGTERM, grace=3.0):
        """Ask the child to stop; SIGKILL after grace seconds."""
        if self.status is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._reap(os.WNOHANG):
                self._close()
                return
            if not self.eof:
                self._read_once(0.01)
            else:
                time.sleep(0.005)
        self.kill()

    def kill(self):
        if self.status is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap(0)
        self._close()

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
                return [l.rstrip() for l in f.readlines()[-n:]]
        except OSError:
            return []

    def console_tail(self, n=20):
        lines = self.out.decode(errors="replace").replace("\r", "").split("\n")
        return [l for l in lines if l.strip()][-n:]

    def save_console(self):
        path = os.path.join(LOGS, self.name + ".console")
        with open(path, "wb") as f:
            f.write(self.out)
        return path


# --------------------------------------------------------------------------
# /proc readers

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads")
    res = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in keys:
                    res[k] = int(v.split()[0])
    except OSError:
        return None
    return res


def proc_cpu(pid):
    """utime/stime/guest_time of a live process, in ms."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is field 3 (state): utime=14, stime=15, guest_time=43.
    tick = 1000.0 / CLK_TCK
    return {"utime_ms": int(fields[11]) * tick,
            "stime_ms": int(fields[12]) * tick,
            "guest_ms": int(fields[40]) * tick}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def _cpu_ticks():
    """(busy, total) ticks of the whole host from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


VMM_COMMS = ("memplug", "lkvm", "qemu-system-x86", "qemu-system-x86_64",
             "firecracker", "cloud-hypervisor")


def other_vmms():
    """VMM processes on the host that this script did not start."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in _LIVE:
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
            if comm.startswith(VMM_COMMS):
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(
                        errors="replace").strip()
                found.append(f"pid {d}: {cmd[:120]}")
        except OSError:
            continue
    return found


def host_busy(sample=2.0):
    """Host CPU busy share (% of all cores) over `sample` seconds."""
    b0, t0 = _cpu_ticks()
    time.sleep(sample)
    b1, t1 = _cpu_ticks()
    return 100.0 * (b1 - b0) / max(t1 - t0, 1)


def wait_idle(limit, busy_max=25.0):
    """Wait up to limit seconds until no VMM started by others runs and the
    host is below busy_max % CPU (2 s samples)."""
    if limit <= 0:
        return
    deadline = time.monotonic() + limit
    said = False
    while True:
        others = other_vmms()
        busy = host_busy() if not others else None
        if not others and busy < busy_max:
            if said:
                log(f"  machine quiet (other VMMs: none, CPU {busy:.0f} %), "
                    "going on")
            return
        if time.monotonic() >= deadline:
            log("  machine still busy after %.0f s, going on: %s" % (
                limit, "; ".join(o[:60] for o in others) if others
                else f"host CPU {busy:.0f} %"))
            return
        if not said:
            log("  waiting up to %.0f s for a quiet machine: %s" % (
                limit, "; ".join(o[:60] for o in others) if others
                else f"host CPU {busy:.0f} % (want < {busy_max:.0f} %)"))
            said = True
        if others:
            time.sleep(2.0)


class HostProbe:
    """What the rest of the machine did while a section ran: host CPU busy
    share, the share of it that was this script and its children, and other
    VMMs running (a second guest halves a guest's speed here)."""

    def __init__(self):
        self.t = time.monotonic()
        self.ticks = _cpu_ticks()
        self.times = os.times()
        self.load = loadavg()
        self.others = set(other_vmms())

    def done(self):
        dt = time.monotonic() - self.t
        busy, total = _cpu_ticks()
        t = os.times()
        ours = (t.user + t.system + t.children_user + t.children_system
                - self.times.user - self.times.system
                - self.times.children_user - self.times.children_system)
        ncpu = os.cpu_count() or 1
        host = 100.0 * (busy - self.ticks[0]) / max(total - self.ticks[1], 1)
        mine = 100.0 * ours / max(dt * ncpu, 1e-9)
        self.others |= set(other_vmms())
        return {"seconds": round(dt, 1), "cpus": ncpu,
                "host_busy_pct": round(host, 1),
                "bench_pct": round(mine, 1),
                "background_pct": round(max(host - mine, 0.0), 1),
                "loadavg": f"{self.load} -> {loadavg()}",
                "other_vmms": sorted(self.others)}


# --------------------------------------------------------------------------
# Helpers

def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"n": len(v), "median": statistics.median(v), "min": min(v),
            "max": max(v)}


def ms(ns):
    return None if ns is None else ns / 1e6


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def sha256_short(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()[:16]


def file_info(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"path": os.path.relpath(path, ROOT), "sha256": sha256_short(path),
            "mtime": datetime.datetime.fromtimestamp(
                st.st_mtime, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")}


def cmd_str(argv):
    return " ".join(shlex.quote(os.path.relpath(a, ROOT)
                                if a.startswith(ROOT + "/") else a)
                    for a in argv)


def run_quiet(argv, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, **kw)
    except OSError as e:
        return subprocess.CompletedProcess(argv, 127, "", str(e))


# --------------------------------------------------------------------------
# Preparation: guests, QEMU

def build_guests():
    """bench/guests/spin.S, noexit.S -> *.elf (like the Makefile's test
    guests); bench/guests/pio16.S and pio64.S -> pio16.bin, noexit16.bin,
    pio64.bin, noexit64.bin (flat binaries for kvmtool, real mode and
    switched to 64-bit mode)."""
    os.makedirs(WORK, exist_ok=True)
    src = os.path.join(ROOT, "bench", "guests")
    tg = os.path.join(ROOT, "tests", "guests")
    out = {}
    spin = os.path.join(WORK, "spin.elf")
    deps = [os.path.join(src, "spin.S"), os.path.join(tg, "guest.ld"),
            os.path.join(tg, "common.h")]
    if _stale(spin, deps):
        _check([os.environ.get("CC", "gcc"), "-nostdlib", "-static",
                "-Wl,-T," + os.path.join(tg, "guest.ld"),
                "-Wl,--build-id=none", "-I", tg, "-o", spin, deps[0]])
    out["spin"] = spin
    noexit = os.path.join(WORK, "noexit.elf")
    src_n = os.path.join(src, "noexit.S")
    if _stale(noexit, [src_n] + deps[1:]):
        _check([os.environ.get("CC", "gcc"), "-nostdlib", "-static",
                "-Wl,-T," + os.path.join(tg, "guest.ld"),
                "-Wl,--build-id=none", "-I", tg, "-o", noexit, src_n])
    out["noexit"] = noexit
    for name, srcname, defs in (
            ("pio16", "pio16.S", []),
            ("noexit16", "pio16.S", ["--defsym", "NOEXIT=1"]),
            ("pio64", "pio64.S", []),
            ("noexit64", "pio64.S", ["--defsym", "NOEXIT=1"])):
        binary = os.path.join(WORK, name + ".bin")
        s_file = os.path.join(src, srcname)
        if _stale(binary, [s_file]):
            obj = os.path.join(WORK, name + ".o")
            _check(["as", "--32"] + defs + ["-o", obj, s_file])
            _check(["ld", "-m", "elf_i386", "--oformat", "binary",
                    "-Ttext", "0", "-o", binary, obj])
        out[name] = binary
    return out


def _stale(target, deps):
    if not os.path.exists(target):
        return True
    t = os.path.getmtime(target)
    return any(os.path.getmtime(d) > t for d in deps)


def _check(argv):
    vlog("$ " + cmd_str(argv))
    r = run_quiet(argv)
    if r.returncode != 0:
        sys.exit(f"bench: command failed: {cmd_str(argv)}\n{r.stderr}")


def ensure_qemu():
    """Path of qemu-system-x86_64, installing Debian's qemu-system-x86 with
    apt-get if it is missing. None (and a note) if that fails."""
    q = shutil.which("qemu-system-x86_64")
    if q:
        return q, None
    log("qemu-system-x86_64 not found: installing qemu-system-x86 with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = sudo + ["apt-get", "install", "-y", "--no-install-recommends",
                      "qemu-system-x86"]
    r = run_quiet(install, env=env)
    if r.returncode != 0:
        run_quiet(sudo + ["apt-get", "update"], env=env)
        r = run_quiet(install, env=env)
    q = shutil.which("qemu-system-x86_64")
    if q:
        return q, None
    return None, ("apt-get install qemu-system-x86 failed: "
                  + (r.stderr.strip().splitlines() or ["?"])[-1])


def machine_info(qemu):
    info = {
        "host": platform.node(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": None,
        "kvm": None,
        "memplug": None,
        "memplug_binary": file_info(MEMPLUG),
        "guest_kernel": file_info(VMLINUX),
        "guest_kernel_manifest": None,
        "qemu": None,
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/sys/module/kvm_pvm/parameters/pvm_native") as f:
            info["kvm"] = "kvm_pvm (software KVM, pvm_native=%s)" % \
                f.read().strip()
    except OSError:
        info["kvm"] = ("kvm_intel" if os.path.exists("/sys/module/kvm_intel")
                       else "kvm_amd" if os.path.exists("/sys/module/kvm_amd")
                       else "unknown")
    r = run_quiet([MEMPLUG, "--version"])
    info["memplug"] = (r.stdout + r.stderr).strip().splitlines()[0] \
        if (r.stdout + r.stderr).strip() else None
    try:
        with open(KERNEL_MANIFEST) as f:
            m = dict(l.strip().split("=", 1) for l in f if "=" in l
                     and not l.startswith(" "))
        info["guest_kernel_manifest"] = {k: m.get(k) for k in
                                         ("kernel", "built", "key")}
    except OSError:
        pass
    if qemu:
        r = run_quiet([qemu, "--version"])
        info["qemu"] = r.stdout.strip().splitlines()[0] if r.stdout else None
    return info


# --------------------------------------------------------------------------
# Flat guests

def memplug_flat_argv(elf):
    return [MEMPLUG, "--kernel", elf, "--memory", "64M"]


def lkvm_argv(lkvm, binary, name):
    return [lkvm, "run", "-k", binary, "-m", "64", "-c", "1",
            "--network", "mode=none", "--name", name]


def lkvm_env():
    # The anchor build of kvmtool skips its VMX/SVM CPUID check on PVM hosts
    # when this is set (a local edit; upstream ignores the variable).
    env = dict(os.environ)
    env.setdefault("LKVM_SKIP_CPUID_CHECK", "1")
    return env


def lkvm_cleanup(name):
    # kvmtool leaves its control socket behind when it is killed.
    try:
        os.unlink(os.path.expanduser(f"~/.lkvm/{name}.sock"))
    except OSError:
        pass


def flat_memplug_hello(i):
    elf = os.path.join(GUESTS, "hello.elf")
    c = Child(memplug_flat_argv(elf), f"first-byte-memplug-{i}")
    t = c.wait_for(b"h", FLAT_TIMEOUT)
    c.wait_for(b"hello\n", FLAT_TIMEOUT)
    ok = c.wait_exit(FLAT_TIMEOUT)
    rec = {"first_byte_ms": ms(t), "exit_ms": ms(c.t_exit) if ok else None,
           "rc": c.returncode(), "cpu_ms": c.cpu_ms(),
           "output_ok": bytes(c.out) == b"hello\n"}
    if t is None or not rec["output_ok"]:
        rec["error"] = "no 'hello' output"
        rec["stderr"] = c.stderr_tail()
    return rec


def flat_memplug_pio(i, elf=None, tag="exit"):
    elf = elf or os.path.join(GUESTS, "pio.elf")
    c = Child(memplug_flat_argv(elf), f"{tag}-memplug-{i}")
    ts = c.wait_for(b"S", FLAT_TIMEOUT)
    tp = c.wait_for(b"P", FLAT_TIMEOUT) if ts is not None else None
    c.wait_exit(FLAT_TIMEOUT)
    ok = ts is not None and tp is not None
    rec = {"first_byte_ms": ms(ts),
           "pio_ms": ms(tp - ts) if ok else None,
           "exit_us": (tp - ts) / PIO_EXITS / 1e3 if ok else None,
           "rc": c.returncode(), "cpu_ms": c.cpu_ms()}
    if not ok:
        rec["error"] = "markers S/P not seen"
        rec["stderr"] = c.stderr_tail()
    return rec


def flat_memplug_spin(i, spin):
    c = Child(memplug_flat_argv(spin), f"rss-memplug-{i}")
    t = c.wait_for(b"R", FLAT_TIMEOUT)
    st = None
    if t is not None:
        time.sleep(RSS_SETTLE)
        st = proc_status(c.pid)
    c.stop(signal.SIGTERM)
    rec = {"first_byte_ms": ms(t), "status": st,
           "rss_kib": st and st.get("VmRSS"),
           "rc_after_sigterm": c.returncode()}
    if st is None:
        rec["error"] = "spin guest printed nothing"
        rec["stderr"] = c.stderr_tail()
    return rec


def flat_kvmtool(i, lkvm, binary, tag="kvmtool"):
    """One lkvm run of pio16.bin (or pio64.bin) gives all three flat
    figures: first byte ('S'), exit round trip ('P' - 'S'), VmRSS while it
    idles after 'P'."""
    name = f"memplug-bench-{os.getpid()}-{tag}-{i}"
    c = Child(lkvm_argv(lkvm, binary, name), f"{tag}-{i}", env=lkvm_env())
    ts = c.wait_for(b"S", FLAT_TIMEOUT)
    tp = c.wait_for(b"P", FLAT_TIMEOUT) if ts is not None else None
    st = None
    if tp is not None:
        time.sleep(RSS_SETTLE)
        st = proc_status(c.pid)
    c.stop(signal.SIGTERM)
    lkvm_cleanup(name)
    ok = ts is not None and tp is not None
    rec = {"first_byte_ms": ms(ts),
           "pio_ms": ms(tp - ts) if ok else None,
           "exit_us": (tp - ts) / PIO_EXITS / 1e3 if ok else None,
           "rss_kib": st and st.get("VmRSS"), "status": st,
           "cpu_ms": c.cpu_ms()}
    if not ok:
        rec["error"] = "markers S/P not seen"
        rec["stderr"] = c.stderr_tail()
        rec["rc"] = c.returncode()
    return rec


def _st(recs, key, sub=None):
    if sub:
        return stats([r["status"] and r["status"].get(sub) for r in recs])
    return stats([r.get(key) for r in recs])


def run_flat(selected, runs, warmup, guests, lkvm):
    """Interleaved rounds (memplug hello, pio, spin, then kvmtool), so that
    a change in background load hits every VMM and figure alike. Returns
    {section name: data}."""
    spin, pio16 = guests["spin"], guests["pio16"]
    jobs = []
    if "first-byte" in selected:
        jobs.append(("first-byte", flat_memplug_hello))
    if "exit" in selected:
        jobs.append(("exit", flat_memplug_pio))
        jobs.append(("exit-control", lambda i: flat_memplug_pio(
            i, guests["noexit"], "noexit")))
    if "rss" in selected:
        jobs.append(("rss", lambda i: flat_memplug_spin(i, spin)))
    if lkvm:
        jobs.append(("kvmtool", lambda i: flat_kvmtool(i, lkvm, pio16)))
        if "exit" in selected:
            jobs.append(("kvmtool-control", lambda i: flat_kvmtool(
                i, lkvm, guests["noexit16"], "kvmtool-noexit")))
            # The same loop in memplug's CPU mode (64-bit, paging).
            jobs.append(("kvmtool64", lambda i: flat_kvmtool(
                i, lkvm, guests["pio64"], "kvmtool64")))
            jobs.append(("kvmtool64-control", lambda i: flat_kvmtool(
                i, lkvm, guests["noexit64"], "kvmtool64-noexit")))
    recs = {name: [] for name, _ in jobs}
    for i in range(warmup + runs):
        for name, fn in jobs:
            time.sleep(RUN_GAP)
            rec = fn(i)
            vlog(f"{name} run {i}{' (warm-up, not counted)' if i < warmup else ''}: "
                 + ", ".join(f"{k}={v:.3f}" if isinstance(v, float)
                             else f"{k}={v}" for k, v in rec.items()
                             if k != "status"))
            if i >= warmup:
                recs[name].append(rec)
    out = {}
    controls = {n: recs.pop(n) for n in ("exit-control", "kvmtool-control",
                                         "kvmtool64-control") if n in recs}
    kvm_bins = {"kvmtool": (pio16, guests["noexit16"]),
                "kvmtool64": (guests["pio64"], guests["noexit64"])}
    for name, rs in recs.items():
        d = {"runs": rs, "failures": sum(1 for r in rs if "error" in r),
             "warmup_runs": warmup}
        ctl = controls.get({"exit": "exit-control",
                            "kvmtool": "kvmtool-control",
                            "kvmtool64": "kvmtool64-control"}.get(name))
        if ctl is not None:
            # Same loop without exits: its time is the guest's own
            # (emulated) loop; the difference of the medians per iteration
            # estimates the exit alone.
            d["control_runs"] = ctl
            d["control_command"] = (
                cmd_str(memplug_flat_argv(guests["noexit"])) if name == "exit"
                else cmd_str(lkvm_argv(lkvm, kvm_bins[name][1],
                                       "memplug-bench-PID-N"))
                + "  (SIGTERM after 'P')")
            d["loop_ms"] = _st(ctl, "pio_ms")
            pio = _st(rs, "pio_ms")
            d["net_exit_us"] = ((pio["median"] - d["loop_ms"]["median"])
                                / PIO_EXITS * 1e3
                                if pio and d["loop_ms"] else None)
        if name == "first-byte":
            d.update(command=cmd_str(memplug_flat_argv(
                         os.path.join(GUESTS, "hello.elf"))),
                     first_byte_ms=_st(rs, "first_byte_ms"),
                     exit_ms=_st(rs, "exit_ms"), cpu_ms=_st(rs, "cpu_ms"))
        elif name == "exit":
            d.update(command=cmd_str(memplug_flat_argv(
                         os.path.join(GUESTS, "pio.elf"))),
                     exit_us=_st(rs, "exit_us"), pio_ms=_st(rs, "pio_ms"),
                     first_byte_ms=_st(rs, "first_byte_ms"),
                     cpu_ms=_st(rs, "cpu_ms"))
        elif name == "rss":
            d.update(command=cmd_str(memplug_flat_argv(spin))
                     + "  (VmRSS read %d ms after the byte, then SIGTERM)"
                     % (RSS_SETTLE * 1000),
                     rss_kib=_st(rs, "rss_kib"),
                     rss_anon_kib=_st(rs, None, "RssAnon"),
                     rss_file_kib=_st(rs, None, "RssFile"))
        else:
            v = run_quiet([lkvm, "version"])
            d.update(command=cmd_str(lkvm_argv(lkvm, kvm_bins[name][0],
                                               "memplug-bench-PID-N"))
                     + "  (VmRSS read %d ms after 'P', then SIGTERM)"
                     % (RSS_SETTLE * 1000),
                     lkvm=lkvm, version=(v.stdout or v.stderr).strip(),
                     first_byte_ms=_st(rs, "first_byte_ms"),
                     exit_us=_st(rs, "exit_us"), pio_ms=_st(rs, "pio_ms"),
                     rss_kib=_st(rs, "rss_kib"),
                     rss_anon_kib=_st(rs, None, "RssAnon"),
                     cpu_ms=_st(rs, "cpu_ms"))
        out[name] = d
    return out


# --------------------------------------------------------------------------
# Linux boots

def memplug_boot_argv():
    return [MEMPLUG, "--kernel", KERNEL_COPY, "--cpus", "1", "--memory", "256M",
            "--cmdline", MEMPLUG_CMDLINE]


def qemu_boot_argv(qemu, machine):
    return [qemu, "-enable-kvm", "-cpu", "host,arch-capabilities=off,-cx16",
            "-M", machine, "-m", "256M", "-smp", "1", "-nographic",
            "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", KERNEL_COPY, "-append", QEMU_APPEND]


CONSOLE_ON = re.compile(rb"\[\s*([0-9.]+)\] printk: console \[ttyS0\] enabled")


def console_enabled_at(out):
    """Guest printk time of 'console [ttyS0] enabled': before it, nothing
    the kernel prints reaches the serial port (no earlyprintk)."""
    m = CONSOLE_ON.search(out)
    return float(m.group(1)) if m else None


def parse_ready(line):
    if not line:
        return None
    return {k: (int(v) if v.isdigit() else v)
            for k, v in re.findall(r"(\w+)=(\S+)", line)}


def boot_once(argv, name, timeout):
    wait_idle(WAIT_IDLE)
    kernel = file_info(KERNEL_COPY)
    log(f"  {name}: booting (timeout {timeout:.0f} s) ...")
    probe = HostProbe()
    c = Child(argv, name)
    deadline = time.monotonic() + timeout
    t_linux = c.wait_for(LINUX_MARK, timeout)
    t_ready = c.wait_for(READY_MARK, max(deadline - time.monotonic(), 0))
    st = cpu = None
    if t_ready is not None:
        st = proc_status(c.pid)         # first: the guest powers off next
        cpu = proc_cpu(c.pid)
    ready_line = c.line_with(READY_MARK) if t_ready is not None else None
    timed_out = t_ready is None and not c.eof
    if t_ready is not None:
        exited = c.wait_exit(POWEROFF_TIMEOUT)
    else:
        exited = False
        c.kill()
    rec = {
        "linux_version_s": None if t_linux is None else t_linux / 1e9,
        "ready_s": None if t_ready is None else t_ready / 1e9,
        "exit_s": c.t_exit / 1e9 if exited else None,
        "rc": c.returncode() if exited else None,
        "powered_off": exited,
        "rss_kib": st and st.get("VmRSS"),
        "status_at_ready": st,
        "cpu_at_ready": cpu,
        "cpu_total_ms": c.cpu_ms(),
        "cpu_user_ms": round(c.rusage.ru_utime * 1e3, 1) if c.rusage else None,
        "cpu_sys_ms": round(c.rusage.ru_stime * 1e3, 1) if c.rusage else None,
        "ready_line": ready_line,
        "ready": parse_ready(ready_line),
        "linux_version_line": c.line_with(LINUX_MARK),
        "console_enabled_guest_s": console_enabled_at(bytes(c.out)),
        "console_log": os.path.relpath(c.save_console(), ROOT),
        "stderr_head": _head(c.stderr_path, 3),
        "kernel": kernel,
    }
    rec["host"] = probe.done()
    if rec["host"]["other_vmms"]:
        log("  warning: other VMMs ran during this boot: "
            + "; ".join(rec["host"]["other_vmms"]))
    if t_ready is None:
        rec["error"] = ("no ready line within %.0f s; killed" % timeout
                        if timed_out else
                        "VMM exited (rc %s) before the ready line"
                        % c.returncode())
        rec["console_tail"] = c.console_tail(20)
        rec["stderr_tail"] = c.stderr_tail(10)
    elif exited and rec["rc"] != 0:
        rec["note"] = (rec.get("note", "") + " exit status %s after the "
                       "ready line" % rec["rc"]).strip()
    elif not exited:
        rec["note"] = (rec.get("note", "") + " no power-off within "
                       "%.0f s after the ready line; killed" %
                       POWEROFF_TIMEOUT).strip()
    log("  %s: first kernel line %s, ready %s, RSS %s KiB, CPU %s ms%s" % (
        name, _fmt(rec["linux_version_s"], "s", 2), _fmt(rec["ready_s"], "s", 1),
        rec["rss_kib"], rec["cpu_total_ms"],
        "  ERROR: " + rec["error"] if "error" in rec else ""))
    return rec


def snapshot_kernel():
    """Copy build/guest/vmlinux to build/bench/vmlinux; retried while the
    file changes under us (a rebuild in progress)."""
    for _ in range(30):
        before = file_info(VMLINUX)
        tmp = KERNEL_COPY + ".tmp"
        shutil.copyfile(VMLINUX, tmp)
        after = file_info(VMLINUX)
        with open(tmp, "rb") as f:
            data = f.read()
        if (before == after and data[:4] == b"\x7fELF"
                and READY_MARK in data):
            os.replace(tmp, KERNEL_COPY)
            info = file_info(KERNEL_COPY)
            info["copied_from"] = after
            return info
        os.unlink(tmp)
        time.sleep(10)
    sys.exit("bench: build/guest/vmlinux keeps changing (or has no memplug "
             "agent); try again later")


def _head(path, n):
    try:
        with open(path, errors="replace") as f:
            return [l.rstrip() for l in f.readlines()[:n]]
    except OSError:
        return []


def boot_section(argv, label, runs, timeout):
    recs = [boot_once(argv, f"{label}-{i}", timeout) for i in range(runs)]
    ok = [r for r in recs if "error" not in r]
    return {
        "command": cmd_str(argv),
        "runs": recs,
        "failures": len(recs) - len(ok),
        "linux_version_s": stats([r["linux_version_s"] for r in recs]),
        "ready_s": stats([r["ready_s"] for r in ok]),
        "exit_s": stats([r["exit_s"] for r in ok]),
        "rss_kib": stats([r["rss_kib"] for r in ok]),
        "cpu_total_ms": stats([r["cpu_total_ms"] for r in ok]),
        "cpu_user_ms": stats([r["cpu_user_ms"] for r in ok]),
        "cpu_sys_ms": stats([r["cpu_sys_ms"] for r in ok]),
    }


# --------------------------------------------------------------------------
# Comparison and report

TARGETS = {  # figure key -> max ratio memplug/peer (from the issue)
    "first_byte": 0.5,
    "exit": 1.0,
    "rss_flat": 1.0,
    "linux_version": 0.5,
}


def _med(sec, key):
    s = sec and sec.get(key)
    return s["median"] if s else None


def comparison(sections):
    rows = []
    kvm = sections.get("kvmtool")
    kvm_ok = kvm and "skipped" not in kvm and kvm.get("first_byte_ms")
    # The exit round trip is compared with kvmtool running the same loop in
    # the same CPU mode (pio64.bin) when that was measured.
    kvm64 = sections.get("kvmtool64")
    kvm_ex = kvm64 if kvm_ok and kvm64 and kvm64.get("exit_us") else kvm

    def add(key, figure, unit, mine, mine_n, peer_name, peer, peer_n,
            peer_src, target=None, note=None):
        ratio = mine / peer if mine is not None and peer else None
        verdict = None
        if target is not None:
            verdict = ("n/a" if ratio is None else
                       "met" if ratio <= target else "NOT met")
            if ratio is not None and abs(ratio / target - 1) < 0.1:
                note = ((note + "; ") if note else "") + (
                    "within 10 % of the target: run-to-run noise decides")
        rows.append({"key": key, "figure": figure, "unit": unit,
                     "memplug": mine, "memplug_n": mine_n, "peer": peer_name,
                     "peer_value": peer, "peer_n": peer_n,
                     "peer_source": peer_src, "ratio": ratio,
                     "target": target, "verdict": verdict, "note": note})

    def n_of(sec, key):
        s = sec and sec.get(key)
        return s["n"] if s else None

    fb, ex, rs = (sections.get(k) for k in ("first-byte", "exit", "rss"))
    for key, figure, unit, sec, skey, kkey in (
            ("first_byte", "exec -> first guest byte (flat guest)", "ms",
             fb, "first_byte_ms", "first_byte_ms"),
            ("exit", "port-I/O exit round trip", "us", ex, "exit_us",
             "exit_us"),
            ("rss_flat", "VMM VmRSS, flat guest running", "KiB", rs,
             "rss_kib", "rss_kib")):
        if sec is None:
            continue
        if kvm_ok:
            peer = kvm_ex if key == "exit" else kvm
            add(key, figure, unit, _med(sec, skey), n_of(sec, skey),
                "kvmtool" + (" (64-bit guest)" if peer is kvm64 else ""),
                _med(peer, kkey), n_of(peer, kkey),
                "measured in this run", TARGETS.get(key))
        else:
            add(key, figure, unit, _med(sec, skey), n_of(sec, skey),
                "kvmtool", KVMTOOL_ANCHOR[kkey], 5, ANCHOR_LABEL,
                TARGETS.get(key))

    if ex and kvm_ok and kvm_ex is kvm64:
        add("exit_real_mode", "port-I/O exit round trip, kvmtool's guest in "
            "real mode", "us", _med(ex, "exit_us"), n_of(ex, "exit_us"),
            "kvmtool (16-bit guest)", _med(kvm, "exit_us"),
            n_of(kvm, "exit_us"), "measured in this run", None,
            "reference: PVM emulates real-mode code faster")
    if ex and kvm_ok and ex.get("net_exit_us") and kvm_ex.get("net_exit_us"):
        add("net_exit", "exit round trip minus the guest loop's own time "
            "(estimate)", "us", ex["net_exit_us"], n_of(ex, "exit_us"),
            "kvmtool" + (" (64-bit guest)" if kvm_ex is kvm64 else ""),
            kvm_ex["net_exit_us"], n_of(kvm_ex, "exit_us"),
            "measured in this run", None,
            "medians of pio minus no-exit control, / 10,000")

    mb = sections.get("boot-memplug")
    for mt in ("pc", "q35"):
        qb = sections.get(f"boot-qemu-{mt}")
        if mb is None or qb is None:
            continue
        peer = f"QEMU -M {mt}"
        qfail = None
        if qb.get("skipped"):
            qfail = "QEMU not run: " + qb["skipped"]
        elif qb.get("failures"):
            qfail = "QEMU failed in %d of %d runs" % (qb["failures"],
                                                      len(qb["runs"]))
        for key, figure, unit, skey, target in (
                ("linux_version", "exec -> first kernel line", "s",
                 "linux_version_s", TARGETS["linux_version"]),
                ("ready", "exec -> MEMPLUG-AGENT ready", "s", "ready_s",
                 None),
                ("rss_linux", "VMM VmRSS at the ready line", "KiB",
                 "rss_kib", None),
                ("cpu_linux", "VMM CPU time, whole boot (user+sys)", "ms",
                 "cpu_total_ms", None),
                ("cpu_user_linux", "VMM user CPU time, whole boot", "ms",
                 "cpu_user_ms", None)):
            add(key, figure, unit, _med(mb, skey), n_of(mb, skey), peer,
                _med(qb, skey), n_of(qb, skey), "measured in this run",
                target, qfail)
    return rows


def _fmt(v, unit="", nd=None):
    if v is None:
        return "-"
    if nd is None and unit == "KiB":
        nd = 0
    if nd is None:
        nd = 0 if abs(v) >= 1000 else 1 if abs(v) >= 10 else 2
    s = f"{v:,.{nd}f}"
    return f"{s} {unit}".strip() if unit else s


def _fmt_stats(s, unit="", nd=None):
    if not s:
        return "-"
    if nd is None and unit == "KiB":
        nd = 0
    if s["n"] == 1:
        return f"{_fmt(s['median'], unit, nd)} (n=1)"
    return "%s (%s-%s, n=%d)" % (_fmt(s["median"], unit, nd),
                                 _fmt(s["min"], "", nd),
                                 _fmt(s["max"], "", nd), s["n"])


def text_table(rows):
    head = ["figure", "memplug", "peer", "peer value", "ratio", "target",
            "verdict"]
    body = []
    for r in rows:
        peer = r["peer"] + (" (anchor)" if r["peer_source"] == ANCHOR_LABEL
                            else "")
        body.append([
            r["figure"], _fmt(r["memplug"], r["unit"]), peer,
            _fmt(r["peer_value"], r["unit"]),
            _fmt(r["ratio"], "", 2) + "x" if r["ratio"] is not None else "-",
            f"<= {r['target']}x" if r["target"] is not None else "",
            r["verdict"] or ""])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    out = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*b) for b in body]
    return "\n".join(out)


def observations(S):
    """Plain-language notes that follow from the data."""
    out = []
    ex, kv, fb = S.get("exit"), S.get("kvmtool"), S.get("first-byte")
    kv64 = S.get("kvmtool64")
    if (ex and kv and kv64 and kv64.get("loop_ms") and kv.get("loop_ms")
            and ex.get("loop_ms")):
        out.append(
            "Exit round trip: PVM emulates guest code, and not at the same "
            "speed in every CPU mode: the no-exit control loop (`nop`, "
            "`dec`, `jnz`) takes %s in kvmtool's real-mode guest, %s in its "
            "64-bit guest and %s in memplug's (64-bit). So the target row "
            "compares memplug with kvmtool running the same loop in 64-bit "
            "mode with page tables of the same shape (`pio64.bin`): %s vs "
            "%s; against kvmtool's real-mode guest the gross figures are %s "
            "and %s." % (
                _fmt(_med(kv, "loop_ms"), "ms"),
                _fmt(_med(kv64, "loop_ms"), "ms"),
                _fmt(_med(ex, "loop_ms"), "ms"),
                _fmt(_med(ex, "exit_us"), "µs"),
                _fmt(_med(kv64, "exit_us"), "µs"),
                _fmt(_med(ex, "exit_us"), "µs"),
                _fmt(_med(kv, "exit_us"), "µs")))
    elif (ex and kv and ex.get("net_exit_us") and kv.get("net_exit_us")
            and ex.get("loop_ms") and kv.get("loop_ms")):
        out.append(
            "Exit round trip: with the guest loop's own time taken out (the "
            "no-exit control guests), memplug's exit costs %s against "
            "kvmtool's %s (%.2fx), while the gross figures are %s and %s "
            "(%.2fx). The control loop itself takes %s under memplug "
            "(64-bit mode with paging) and %s under kvmtool (real mode): PVM "
            "emulates the same three instructions at different speeds in the "
            "two modes, which the gross figure charges to the VMM." % (
                _fmt(ex["net_exit_us"], "µs"), _fmt(kv["net_exit_us"], "µs"),
                ex["net_exit_us"] / kv["net_exit_us"],
                _fmt(_med(ex, "exit_us"), "µs"),
                _fmt(_med(kv, "exit_us"), "µs"),
                _med(ex, "exit_us") / _med(kv, "exit_us"),
                _fmt(_med(ex, "loop_ms"), "ms"),
                _fmt(_med(kv, "loop_ms"), "ms")))
    if fb and ex and _med(fb, "first_byte_ms") and _med(ex, "first_byte_ms"):
        out.append(
            "memplug's first byte: %s with `hello.elf`, %s with `pio.elf` "
            "(its 'S'); the VMM's own CPU time for a whole `hello.elf` run "
            "(exec to power-off) is %s." % (
                _fmt(_med(fb, "first_byte_ms"), "ms"),
                _fmt(_med(ex, "first_byte_ms"), "ms"),
                _fmt(_med(fb, "cpu_ms"), "ms")))
    mb = S.get("boot-memplug")
    for mt in ("pc", "q35"):
        qb = S.get(f"boot-qemu-{mt}")
        if not (mb and qb and _med(mb, "cpu_user_ms")
                and _med(qb, "cpu_user_ms")):
            continue
        out.append(
            "Linux boot, memplug vs QEMU -M %s: user-space CPU of the VMM "
            "process %s vs %s; system CPU %s vs %s — the system part is the "
            "guest's emulation inside `KVM_RUN` and follows the guest's "
            "boot time (%s vs %s to the ready line)." % (
                mt, _fmt(_med(mb, "cpu_user_ms"), "ms"),
                _fmt(_med(qb, "cpu_user_ms"), "ms"),
                _fmt(_med(mb, "cpu_sys_ms") / 1e3, "s"),
                _fmt(_med(qb, "cpu_sys_ms") / 1e3, "s"),
                _fmt(_med(mb, "ready_s"), "s"), _fmt(_med(qb, "ready_s"),
                                                     "s")))
    cons = {}
    for k in ("boot-memplug", "boot-qemu-pc", "boot-qemu-q35"):
        vals = []
        for r in (S.get(k) or {}).get("runs", []):
            v = r.get("console_enabled_guest_s")
            if v is None and r.get("console_log"):
                try:
                    with open(os.path.join(ROOT, r["console_log"]), "rb") as f:
                        v = console_enabled_at(f.read())
                except OSError:
                    pass
            vals.append(v)
        st = stats(vals)
        if st:
            cons[k] = st["median"]
    if "boot-memplug" in cons and len(cons) > 1:
        out.append(
            "Both VMMs boot with `earlyprintk=serial`, so the first kernel "
            "line reaches the serial port from the early console, a few "
            "hundred thousand emulated instructions after the kernel "
            "starts: exec → first kernel line is what the VMM and its "
            "firmware put before the kernel (for QEMU: its start-up, SeaBIOS "
            "and the PVH entry). Without earlyprintk the line waits for the "
            "guest to enable its console (`printk: console [ttyS0] "
            "enabled`), at guest time %s, and is mostly emulated guest "
            "work." % ", ".join(
                "%s (%s)" % (_fmt(v, "s"), k.replace("boot-", "").replace(
                    "qemu-", "QEMU -M ")) for k, v in cons.items()))
    kernels = {(r.get("kernel") or {}).get("sha256")
               for k in ("boot-memplug", "boot-qemu-pc", "boot-qemu-q35")
               for r in (S.get(k) or {}).get("runs", [])}
    kernels.discard(None)
    if len(kernels) > 1:
        out.append("**The boots in these results did not all use the same "
                   "guest kernel** (%s): the kernel was rebuilt between "
                   "sections; compare with care." % ", ".join(
                       sorted(kernels)))
    def noisy(h):
        return h and (h["background_pct"] > 25 or h.get("other_vmms"))
    busy = []
    for k, s in S.items():
        if not isinstance(s, dict):
            continue
        per_run = [r.get("host") for r in s.get("runs", [])
                   if isinstance(r, dict) and r.get("host")]
        if k.startswith("boot-") and per_run:
            busy += [(f"{k} run {i}", h) for i, h in enumerate(per_run)
                     if noisy(h)]
        elif noisy(s.get("host")):
            busy.append((k, s["host"]))
    if busy:
        out.append("Noisy sections (other processes above 25 % of the host "
                   "CPU, or other VMMs running): " + ", ".join(
                       sorted({k for k, _ in busy})) + ".")
    return out


def bin_note(sec):
    b = sec.get("memplug") if sec else None
    if not b:
        return ""
    return f" with build/memplug sha256 {b['sha256']} (mtime {b['mtime']})"


def host_line(h):
    if not h:
        return ""
    s = ("Host CPU busy %.0f %% of %d cores over %.0f s (this script and its "
         "VMMs %.0f %%, other processes %.0f %%); load average %s." % (
             h["host_busy_pct"], h["cpus"], h["seconds"], h["bench_pct"],
             h["background_pct"], h["loadavg"]))
    if h.get("other_vmms"):
        s += " **VMMs started by others ran at the same time:** " + "; ".join(
            f"`{x}`" for x in h["other_vmms"]) + "."
    if h.get("note"):
        s += f" **{h['note']}.**"
    return s


def md_table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def render_readme(res):
    S = res["sections"]
    m = res.get("machine", {})
    L = []
    a = L.append
    dates = sorted({s.get("date", "")[:10] for s in S.values()
                    if s.get("date")})
    a("# memplug benchmarks")
    a("")
    a("Generated by `bench/bench.py` (do not edit by hand: rerun it; "
      "sections that other scripts under `bench/` append at the end, such "
      "as `hotplug.py`'s, are kept). Raw data: `bench/results.json`; "
      "console logs of every run: `build/bench/logs/`.")
    a("")
    a("On a real KVM (nested under TCG on these machines, through "
      "`scripts/kvm-run`): `bench/realkvm.md`, from `bench/realkvm.py`.")
    a("")
    a(f"**Measured:** {', '.join(dates) or '-'} (UTC; each section below "
      "carries its own time stamp). Host: %s, %s CPUs (%s), Linux %s, KVM: "
      "%s. %s. Guest kernel of the boots: `%s` sha256 %s (mtime %s). Newest "
      "memplug binary: sha256 %s (mtime %s); the one each section used is "
      "given with it." % (
          m.get("host"), m.get("cpus"), m.get("cpu_model"), m.get("kernel"),
          m.get("kvm"), m.get("qemu") or "QEMU not found",
          (m.get("guest_kernel") or {}).get("path"),
          (m.get("guest_kernel") or {}).get("sha256"),
          (m.get("guest_kernel") or {}).get("mtime"),
          (m.get("memplug_binary") or {}).get("sha256"),
          (m.get("memplug_binary") or {}).get("mtime")))
    a("")
    a("> **Machine caveat.** `/dev/kvm` on these machines is `kvm_pvm`, a "
      "software KVM without VMX/SVM: guest ring-0 code runs through KVM's "
      "instruction emulator at about 1-2 million instructions per second, so "
      "a Linux boot takes minutes and every guest-side time (first kernel "
      "line, agent ready) mostly measures that emulator, and QEMU's SeaBIOS "
      "is emulated too. The VMM-side figures (exec to first guest "
      "instruction, exit round trip, resident memory, VMM user CPU time) are "
      "the meaningful ones. VMM *system* CPU time includes the guest's "
      "emulation, which runs in the host kernel inside `KVM_RUN`. The hosts "
      "have 2 cores and are shared: this script runs one guest at a time "
      "(and with `--wait-idle` waits for a quiet machine first), but other "
      "work on the machine shows in the numbers; the host CPU share of "
      "other processes is recorded for every section and boot below.")
    a("")
    a("## Results: memplug / peer")
    a("")
    a("Medians; ratio = memplug / peer (lower is better for every figure). "
      "Targets are those of the issue.")
    a("")
    body = []
    for r in res["comparison"]:
        peer = r["peer"]
        if r["peer_source"] == ANCHOR_LABEL:
            peer += " — *" + ANCHOR_LABEL + "*"
        unit = "µs" if r["unit"] == "us" else r["unit"]
        body.append([
            r["figure"].replace("->", "→"),
            "%s%s" % (_fmt(r["memplug"], unit),
                      f" (n={r['memplug_n']})" if r["memplug_n"] else ""),
            peer, "%s%s" % (_fmt(r["peer_value"], unit),
                            f" (n={r['peer_n']})" if r["peer_n"] else ""),
            _fmt(r["ratio"], "", 2) + "x" if r["ratio"] is not None else "-",
            f"≤ {r['target']}x" if r["target"] is not None else "—",
            (f"**{r['verdict']}**" if r["verdict"] == "NOT met"
             else r["verdict"] or "") + (f" ({r['note']})" if r["note"]
                                         else "")])
    a(md_table(["figure", "memplug", "peer", "peer value", "ratio", "target",
                "verdict"], body))
    a("")

    # Flat guests in detail.
    a("## Flat guests (median (min-max, n))")
    a("")
    fb, ex, rs, kv = (S.get(k) for k in ("first-byte", "exit", "rss",
                                         "kvmtool"))
    body = []
    if fb:
        body += [["memplug `hello.elf`: exec → first byte",
                  _fmt_stats(fb.get("first_byte_ms"), "ms")],
                 ["memplug `hello.elf`: exec → process exit (power-off)",
                  _fmt_stats(fb.get("exit_ms"), "ms")],
                 ["memplug `hello.elf`: VMM CPU time (user+sys), whole run",
                  _fmt_stats(fb.get("cpu_ms"), "ms")]]
    if ex:
        body += [["memplug `pio.elf`: exec → 'S'",
                  _fmt_stats(ex.get("first_byte_ms"), "ms")],
                 ["memplug `pio.elf`: 10,000 exits ('P' − 'S')",
                  _fmt_stats(ex.get("pio_ms"), "ms")],
                 ["memplug `pio.elf`: one exit round trip",
                  _fmt_stats(ex.get("exit_us"), "µs")]]
        if ex.get("loop_ms"):
            body += [["memplug `noexit.elf` (control): same loop, no exits "
                      "('P' − 'S')", _fmt_stats(ex.get("loop_ms"), "ms")],
                     ["memplug: exit round trip minus the loop (difference "
                      "of medians)", _fmt(ex.get("net_exit_us"), "µs")]]
    if rs:
        body += [["memplug `spin.elf`: VmRSS",
                  _fmt_stats(rs.get("rss_kib"), "KiB")],
                 ["memplug `spin.elf`: RssAnon / RssFile",
                  "%s / %s" % (_fmt_stats(rs.get("rss_anon_kib"), "KiB"),
                               _fmt_stats(rs.get("rss_file_kib"), "KiB"))]]
    if kv and "skipped" not in kv:
        body += [["kvmtool `pio16.bin`: exec → 'S'",
                  _fmt_stats(kv.get("first_byte_ms"), "ms")],
                 ["kvmtool `pio16.bin`: 10,000 exits ('P' − 'S')",
                  _fmt_stats(kv.get("pio_ms"), "ms")],
                 ["kvmtool `pio16.bin`: one exit round trip",
                  _fmt_stats(kv.get("exit_us"), "µs")]]
        if kv.get("loop_ms"):
            body += [["kvmtool `noexit16.bin` (control): same loop, no exits "
                      "('P' − 'S')", _fmt_stats(kv.get("loop_ms"), "ms")],
                     ["kvmtool: exit round trip minus the loop (difference "
                      "of medians)", _fmt(kv.get("net_exit_us"), "µs")]]
        body += [["kvmtool `pio16.bin`: VmRSS after 'P'",
                  _fmt_stats(kv.get("rss_kib"), "KiB")],
                 ["kvmtool `pio16.bin`: RssAnon after 'P'",
                  _fmt_stats(kv.get("rss_anon_kib"), "KiB")]]
    kv64 = S.get("kvmtool64")
    if kv64 and kv64.get("exit_us"):
        body += [["kvmtool `pio64.bin` (64-bit mode): 10,000 exits "
                  "('P' − 'S')", _fmt_stats(kv64.get("pio_ms"), "ms")],
                 ["kvmtool `pio64.bin`: one exit round trip",
                  _fmt_stats(kv64.get("exit_us"), "µs")]]
        if kv64.get("loop_ms"):
            body += [["kvmtool `noexit64.bin` (control): same loop, no exits "
                      "('P' − 'S')", _fmt_stats(kv64.get("loop_ms"), "ms")],
                     ["kvmtool 64-bit: exit round trip minus the loop "
                      "(difference of medians)",
                      _fmt(kv64.get("net_exit_us"), "µs")]]
    if body:
        a(md_table(["figure", "value"], body))
        a("")
        first = fb or ex or rs
        a("Measured %s in interleaved rounds (one run of each VMM/guest per "
          "round, 1 warm-up round not counted)%s. %s" % (
              first["date"], bin_note(first), host_line(first.get("host"))))
        a("")
    if kv and "skipped" in kv:
        a(f"kvmtool: **not run** ({kv['skipped']}); the comparison uses the "
          "anchor numbers from `/work/shared/anchors/kvmtool.md` (medians of "
          "5 runs on this kind of machine: first byte 10.7 ms, exit round "
          "trip 10.6 µs, VmRSS 2,192 KiB), labelled as such above.")
        a("")
    if kv and kv.get("version"):
        a(f"kvmtool: `{kv['lkvm']}` ({kv['version']}). For reference, the "
          "anchor numbers of `/work/shared/anchors/kvmtool.md` (an earlier "
          "measurement on this kind of machine, not this run) are: first "
          "byte 10.7 ms, exit round trip 10.6 µs, VmRSS 2,192 KiB.")
        a("")

    # Linux boots.
    boots = [(k, S[k]) for k in ("boot-memplug", "boot-qemu-pc",
                                 "boot-qemu-q35") if k in S]
    if boots:
        a("## Linux boot (median (min-max, n))")
        a("")
        body = []
        for k, s in boots:
            if s.get("skipped"):
                body.append([k, "not run: " + s["skipped"]] + [""] * 6
                            + [s.get("date", "")])
                continue
            ok = len(s["runs"]) - s["failures"]
            body.append([
                k, _fmt_stats(s.get("linux_version_s"), "s"),
                _fmt_stats(s.get("ready_s"), "s"),
                _fmt_stats(s.get("rss_kib"), "KiB"),
                "%s / %s" % (_fmt_stats(s.get("cpu_user_ms"), "ms"),
                             _fmt_stats(s.get("cpu_sys_ms"), "ms")),
                f"{ok} of {len(s['runs'])}",
                ", ".join(sorted({"acpi=%s" % (r["ready"] or {}).get("acpi")
                                  for r in s["runs"] if r.get("ready")}))
                or "-", s["date"]])
        a(md_table(["VMM", "exec → first kernel line", "exec → agent ready",
                    "VmRSS at ready", "CPU user / sys (whole run)",
                    "reached ready", "ready line", "date"], body))
        a("")
        for k, s in boots:
            if s.get("memplug") and k == "boot-memplug":
                a(f"- {k}:{bin_note(s)}.")
            runs_host = [r.get("host") for r in s.get("runs", [])]
            if any(runs_host):
                for i, h in enumerate(runs_host):
                    a(f"- {k} run {i}: {host_line(h)}")
            elif s.get("host"):
                a(f"- {k}: {host_line(s['host'])}")
        a("")
        a("Guest kernel and agent line of each run:")
        a("")
        for k, s in boots:
            for i, r in enumerate(s.get("runs", [])):
                kern = r.get("kernel") or {}
                a(f"- {k} run {i}: vmlinux sha256 {kern.get('sha256')} "
                  f"(mtime {kern.get('mtime')}); "
                  + (f"`{r['linux_version_line']}`; "
                     if r.get("linux_version_line") else "")
                  + (f"`{r['ready_line']}`" if r.get("ready_line")
                     else "no ready line")
                  + (f" — {r['note']}" if r.get("note") else ""))
        a("")
        for k, s in boots:
            for i, r in enumerate(s.get("runs", [])):
                if "error" not in r:
                    continue
                a(f"**{k} run {i} failed: {r['error']}** (exec → first "
                  f"kernel line: {_fmt(r['linux_version_s'], 's')}). "
                  "Last console lines:")
                a("")
                a("```")
                L.extend(r.get("console_tail") or ["(no console output)"])
                a("```")
                if r.get("stderr_tail"):
                    a("stderr:")
                    a("")
                    a("```")
                    L.extend(r["stderr_tail"])
                    a("```")
                a("")
        if any(((r.get("ready") or {}).get("acpi") == 0)
               for k, s in boots for r in s.get("runs", [])):
            a("`acpi=0` in a ready line: the guest ran without ACPI (with "
              "the guest kernel of this run, ACPI did not come up).")
            a("")

    obs = observations(S)
    if obs:
        a("## Observations (derived from the numbers above)")
        a("")
        L.extend(f"- {o}" for o in obs)
        a("")

    a("## Commands")
    a("")
    a("```")
    for k in ("first-byte", "exit", "rss", "kvmtool", "boot-memplug",
              "boot-qemu-pc", "boot-qemu-q35"):
        if k in S and S[k].get("command"):
            a(f"# {k}")
            a(S[k]["command"])
        if k in S and S[k].get("control_command"):
            a(f"# {k}, control guest without exits")
            a(S[k]["control_command"])
    a("```")
    a("")
    a("`build/bench/vmlinux` is a copy of `build/guest/vmlinux` taken when "
      "the run starts, so that every boot of a run uses the same kernel even "
      "if it is rebuilt meanwhile.")
    a("")
    a("memplug adds `noxsave clearcpuid=141,151,308` to the guest command "
      "line by itself on this KVM (it prints that on stderr); the QEMU "
      "command line carries the same by hand, plus `idle=halt`. QEMU "
      "boots the ELF `vmlinux` through its PVH note, after SeaBIOS.")
    a("")
    a("## How it measures")
    a("")
    a("- Each VMM is started with `posix_spawn` (stdin `/dev/null`, stdout a "
      "pipe, stderr a file); `time.monotonic_ns()` is taken just before the "
      "spawn and when each chunk is read from the pipe. Spawn cost is "
      "included for every VMM alike.")
    a("- Flat guests: %d counted runs each after 1 discarded warm-up run, "
      "in interleaved rounds, with a %d ms pause before each run. "
      "memplug runs `build/tests/guests/hello.elf`, `pio.elf` and "
      "`build/bench/spin.elf` (from `bench/guests/spin.S`) with "
      "`--memory 64M`; kvmtool runs `build/bench/pio16.bin` (from "
      "`bench/guests/pio16.S`, 16-bit real mode at 0x1000:0000: 'S', 10,000 "
      "`outb` to port 0x510, \"P\\n\", `hlt` loop) and "
      "`build/bench/pio64.bin` (from `bench/guests/pio64.S`: the same after "
      "switching to 64-bit mode with 2 MiB-page identity tables shaped like "
      "memplug's; the exit target is judged on it, since PVM's speed "
      "differs between CPU modes) with `-m 64 -c 1`. One "
      "kvmtool run gives its first byte ('S'), its exit round trip and its "
      "VmRSS (read %d ms after 'P'); memplug's VmRSS is read %d ms after "
      "spin.elf's byte. The VMM is then stopped with SIGTERM."
      % (res.get("flat_runs", 0), RUN_GAP * 1000, RSS_SETTLE * 1000,
         RSS_SETTLE * 1000))
    a("- Exit round trip = ('P' arrival − 'S' arrival) / 10,000: one "
      "`outb` to an unclaimed port, the exit to user space, the VMM's "
      "lookup and the re-entry, plus the guest's `dec`/`jnz`, which PVM "
      "emulates too. A control guest with `nop` in place of the `outb` "
      "(`bench/guests/noexit.S` for memplug, `pio16.S` assembled with "
      "`--defsym NOEXIT=1` for kvmtool) runs in the same rounds; "
      "(median with exits − median without) / 10,000 estimates the exit "
      "alone. It also removes the difference between the two guests' CPU "
      "modes (64-bit with paging for memplug, real mode for kvmtool), "
      "which changes the emulator's speed.")
    a("- Linux: guest command line with `earlyprintk=serial` for both VMMs; "
      "exec → first console line containing `Linux version`, exec "
      "→ `MEMPLUG-AGENT ready`; VmRSS (`/proc/PID/status`) is read as soon "
      "as the ready line arrives (the agent powers off right after it); CPU "
      "time is the child's rusage (`wait4`) over the whole run, user and "
      "system. Hard timeout %d s per boot, then the VMM is killed and the "
      "failure and the last console lines are recorded." % BOOT_TIMEOUT)
    a("- Children are killed when the script ends, on Ctrl-C and on "
      "SIGTERM.")
    a("")
    a("## Rerun")
    a("")
    a("```sh")
    a("make bench                                   # everything: 20 flat "
      "rounds, 3 Linux boots per VMM/machine (~11 min here when quiet)")
    a("/usr/bin/python3 bench/bench.py --quick      # 1 Linux boot per "
      "VMM/machine (~4 min here when quiet)")
    a("/usr/bin/python3 bench/bench.py --wait-idle 900   # how the numbers "
      "above were taken on a shared machine")
    a("/usr/bin/python3 bench/bench.py --only flat  # flat guests only "
      "(seconds)")
    a("LKVM=/path/to/lkvm make bench                # adds the kvmtool rows")
    a("/usr/bin/python3 bench/bench.py --only boot-qemu-q35 --qemu-runs 1 -v")
    a("```")
    a("")
    a("Options: `--quick` (one Linux boot per VMM and machine type; the "
      "flat-guest figures keep their run count, they take seconds), "
      "`--runs N` (flat-guest rounds, default 20), `--linux-runs N` (memplug "
      "boots, default 3), `--qemu-runs N` (default 3), `--only "
      "NAME,...` (%s, or the groups flat, boot, qemu, kvmtool), `--lkvm "
      "PATH` (same as `LKVM=`), `--out DIR` (where README.md and "
      "results.json go, default `bench/`), `--wait-idle SECONDS` (wait that "
      "long at most for a quiet machine — no VMM started by others, host "
      "CPU below 25 %% — before the flat rounds and before each Linux boot; "
      "the load is recorded either way), `--report-only` (rewrite README.md from results.json), `-v` (every run, "
      "console lines "
      "as they arrive). With `--only`, sections not run are kept from the "
      "existing results.json in the output directory (each has its own "
      "date), so the report can be refreshed piecewise. kvmtool needs a "
      "local edit on PVM hosts (its VMX/SVM CPUID check refuses to start; "
      "see kvmtool.md); `bench.py` sets `LKVM_SKIP_CPUID_CHECK=1` for it, "
      "the variable the anchor's edited build reads." % ", ".join(SECTIONS))
    a("")
    return "\n".join(L)


# --------------------------------------------------------------------------

# Sections other benchmark scripts keep in the same README, e.g.
# "## Hot-add (bench/hotplug.py)": kept as they are, at the end.
FOREIGN_HEADING = re.compile(r"^## .*\(bench/(?!bench\.py)[\w.-]+\.py\)\s*$",
                             re.M)


def foreign_sections(readme):
    try:
        with open(readme) as f:
            old = f.read()
    except OSError:
        return ""
    m = FOREIGN_HEADING.search(old)
    return old[m.start():] if m else ""


def write_results(res, out):
    res_path = os.path.join(out, "results.json")
    with open(res_path + ".tmp", "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(res_path + ".tmp", res_path)
    readme = os.path.join(out, "README.md")
    text = render_readme(res)
    tail = foreign_sections(readme)
    if tail:
        text = text.rstrip("\n") + "\n\n" + tail
    with open(readme + ".tmp", "w") as f:
        f.write(text)
    os.replace(readme + ".tmp", readme)
    log("")
    log(text_table(res["comparison"]))
    log("")
    log(f"wrote {os.path.relpath(res_path, ROOT)} and "
        f"{os.path.relpath(readme, ROOT)}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="one Linux boot per VMM and QEMU machine type")
    p.add_argument("--only", default="",
                   help="comma-separated: " + ", ".join(SECTIONS) +
                   "; groups: " + ", ".join(GROUPS))
    p.add_argument("--out", default=os.path.join(ROOT, "bench"),
                   help="directory for README.md and results.json "
                   "(default bench/)")
    p.add_argument("--runs", type=int, default=20,
                   help="flat-guest rounds (default 20)")
    p.add_argument("--linux-runs", type=int, default=None,
                   help="memplug Linux boots (default 3, --quick 1)")
    p.add_argument("--qemu-runs", type=int, default=None,
                   help="QEMU boots per machine type (default 3, --quick 1)")
    p.add_argument("--boot-timeout", type=float, default=BOOT_TIMEOUT,
                   help="seconds from exec to the agent line (default 900)")
    p.add_argument("--lkvm", default=os.environ.get("LKVM") or None,
                   help="kvmtool's lkvm binary (default: $LKVM)")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before the flat rounds and each Linux boot, wait up "
                   "to SECONDS for a quiet machine: no VMM started by others "
                   "and host CPU below 25 %% (default 0: only record the "
                   "load)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rewrite README.md from the "
                   "results.json in --out")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    sel = []
    for name in filter(None, (x.strip() for x in a.only.split(","))):
        if name in GROUPS:
            sel += GROUPS[name]
        elif name in SECTIONS:
            sel.append(name)
        else:
            p.error(f"--only: unknown name {name!r}")
    a.selected = [s for s in SECTIONS if s in sel] if sel else list(SECTIONS)
    if a.linux_runs is None:
        a.linux_runs = 1 if a.quick else 3
    if a.qemu_runs is None:
        a.qemu_runs = 1 if a.quick else 3
    if a.runs < 5:
        print("bench: warning: --runs below 5; medians of fewer than 5 runs",
              file=sys.stderr)
    return a


def main():
    global VERBOSE, WAIT_IDLE
    install_cleanup()
    args = parse_args()
    VERBOSE = args.verbose
    WAIT_IDLE = args.wait_idle
    if args.report_only:
        res_path = os.path.join(args.out, "results.json")
        with open(res_path) as f:
            res = json.load(f)
        res["comparison"] = comparison(res["sections"])
        write_results(res, args.out)
        return 0
    for path in [MEMPLUG] + [os.path.join(GUESTS, g) for g in
                             ("hello.elf", "pio.elf")]:
        if not os.path.exists(path):
            sys.exit(f"bench: {os.path.relpath(path, ROOT)} is missing: "
                     "run `make bench` (it builds everything first)")
    boots = [s for s in args.selected if s.startswith("boot-")]
    if boots and not os.path.exists(VMLINUX):
        sys.exit("bench: build/guest/vmlinux is missing: run `make guest`")
    kernel = None
    if boots:
        os.makedirs(WORK, exist_ok=True)
        kernel = snapshot_kernel()
        log(f"guest kernel: build/guest/vmlinux sha256 {kernel['sha256']} "
            f"(mtime {kernel['copied_from']['mtime']}) copied to "
            f"{os.path.relpath(KERNEL_COPY, ROOT)} for all boots of this run")

    qemu, qemu_err = (None, None)
    if any(s.startswith("boot-qemu") for s in args.selected):
        qemu, qemu_err = ensure_qemu()
        if qemu_err:
            log("bench: " + qemu_err + "; QEMU rows are recorded as not run")
    else:
        qemu = shutil.which("qemu-system-x86_64")

    guests = build_guests()
    os.makedirs(args.out, exist_ok=True)
    res_path = os.path.join(args.out, "results.json")
    res = {"sections": {}}
    if args.only and os.path.exists(res_path):
        try:
            with open(res_path) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"sections": {}}
    res["schema"] = 1
    old_kernel = (res.get("machine") or {}).get("guest_kernel")
    res["machine"] = machine_info(qemu)
    # The kernel the boots in these results used.
    res["machine"]["guest_kernel"] = (
        kernel["copied_from"] if kernel else old_kernel)
    S = res["sections"]

    def section(names, fn):
        """Run fn() (returning {name: data}) and stamp every section with
        the date and what else the machine was doing meanwhile."""
        if not names[0].startswith("boot-"):   # boot_once waits per boot
            wait_idle(WAIT_IDLE)
        probe = HostProbe()
        binary = file_info(MEMPLUG)
        out = fn()
        host = probe.done()
        if file_info(MEMPLUG) != binary:
            host["note"] = "build/memplug was rebuilt during this section"
        if host["other_vmms"]:
            log("  warning: other VMMs ran meanwhile: "
                + "; ".join(host["other_vmms"]))
        for name in names:
            out[name].update(date=now_iso(), host=host, memplug=binary)
            S[name] = out[name]
        return out

    log(f"memplug bench: {', '.join(args.selected)}; load average "
        f"{loadavg()}; logs in {os.path.relpath(LOGS, ROOT)}/")
    flat = [s for s in args.selected if s in GROUPS["flat"]]
    lkvm = None
    if flat and args.lkvm:
        lkvm = shutil.which(args.lkvm) or args.lkvm
        if not os.access(lkvm, os.X_OK):
            log(f"kvmtool: {args.lkvm} is not executable; kvmtool rows "
                "skipped")
            S["kvmtool"] = {"skipped": f"LKVM={args.lkvm} is not executable",
                            "date": now_iso()}
            lkvm = None
        else:
            lkvm = os.path.abspath(lkvm)
    elif flat:
        log("kvmtool: LKVM is not set; kvmtool rows skipped, comparing "
            "against the anchor numbers of kvmtool.md")
        S["kvmtool"] = {"skipped": "LKVM not set", "date": now_iso()}
    if flat:
        res["flat_runs"] = args.runs
        log("flat guests: %d rounds (+1 warm-up) of %s" % (
            args.runs, ", ".join(flat + (["kvmtool"] if lkvm else []))))
        names = flat + (["kvmtool"] if lkvm else []) + (
            ["kvmtool64"] if lkvm and "exit" in flat else [])
        d = section(names, lambda: run_flat(flat, args.runs, 1, guests,
                                            lkvm))
        if "first-byte" in d:
            log("  memplug exec -> first byte  %s" %
                _fmt_stats(d["first-byte"]["first_byte_ms"], "ms"))
        if "exit" in d:
            log("  memplug exit round trip     %s; minus the loop: %s" % (
                _fmt_stats(d["exit"]["exit_us"], "us"),
                _fmt(d["exit"].get("net_exit_us"), "us")))
        if "rss" in d:
            log("  memplug VmRSS (spin)        %s" %
                _fmt_stats(d["rss"]["rss_kib"], "KiB"))
        if "kvmtool" in d:
            k = d["kvmtool"]
            log("  kvmtool first byte %s, exit %s (minus the loop: %s), "
                "VmRSS %s" % (
                _fmt_stats(k["first_byte_ms"], "ms"),
                _fmt_stats(k["exit_us"], "us"), _fmt(k.get("net_exit_us"),
                                                     "us"),
                _fmt_stats(k["rss_kib"], "KiB")))
            if k["failures"]:
                log(f"  kvmtool failed in {k['failures']} runs: "
                    f"{k['runs'][0].get('stderr')}")
        if "kvmtool64" in d:
            k = d["kvmtool64"]
            log("  kvmtool 64-bit guest: exit %s (minus the loop: %s)" % (
                _fmt_stats(k["exit_us"], "us"),
                _fmt(k.get("net_exit_us"), "us")))
        for name, sec in d.items():
            if sec["failures"] and name not in ("kvmtool", "kvmtool64"):
                log(f"  {name}: {sec['failures']} failed runs, e.g. "
                    f"{next(r for r in sec['runs'] if 'error' in r)}")

    if "boot-memplug" in args.selected:
        log(f"boot-memplug: {args.linux_runs} boot(s)")
        section(["boot-memplug"], lambda: {"boot-memplug": boot_section(
            memplug_boot_argv(), "boot-memplug", args.linux_runs,
            args.boot_timeout)})
    for mt in ("pc", "q35"):
        name = f"boot-qemu-{mt}"
        if name not in args.selected:
            continue
        if not qemu:
            S[name] = {"skipped": qemu_err or "qemu-system-x86_64 not found",
                       "date": now_iso(), "runs": [], "failures": 0}
            continue
        log(f"{name}: {args.qemu_runs} boot(s), up to "
            f"{args.boot_timeout:.0f} s each")
        section([name], lambda: {name: boot_section(
            qemu_boot_argv(qemu, mt), name, args.qemu_runs,
            args.boot_timeout)})

    res["comparison"] = comparison(S)
    write_results(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
