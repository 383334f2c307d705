#!/usr/bin/python3
"""Hot-add and hot-remove benchmark: memplug against QEMU -M pc, same guest kernel.

One boot of each VMM (sequential, never both at once), then in that guest:
  1. hot-add 128M (3x, --quick 1x) and 1G (3x, --quick 1x): object-add (not timed as
     part of the hot-add), then device_add pc-dimm; times from the
     device_add request to its reply, to the ACPI_DEVICE_OST event, and to
     the agent's 'MEMPLUG-AGENT memory' line showing MemTotal grown;
  2. a burst of 16 (--quick 8) 128M DIMMs: all device_adds back to back,
     then all _OSTs; total time and per-add reply times;
  3. exits per hot-add: `perf stat -e kvm:kvm_pio` (filtered on the memory
     hotplug controller's ports, the GPE block, and unfiltered) and
     kvm:kvm_userspace_exit, attached to the VMM for the hot-add window;
     for QEMU also its mhp_acpi_* trace events (log backend) as a check;
  4. VMM CPU time per hot-add (/proc/PID/stat utime/stime, and the sum of
     /proc/PID/task/*/schedstat run time in ns);
  5. memplug only: x-memplug-timeline per DIMM;
  6. add/remove cycles of a preallocated 128M DIMM (memplug 50, the soak;
     QEMU 5; --quick 3 and 2): device_del to its reply, to _OST 0x84, to
     DEVICE_DELETED and to the agent's memory line; the resident memory
     object-del gives back; VMM RSS after every cycle against the RSS
     before the first (drift);
  7. one more boot of each VMM with 256 slots (--many-slots) and two 128M
     hot-adds: exits per hot-add against the slot count.

Usage: /usr/bin/python3 bench/hotplug.py [--quick] [--out DIR] [--only memplug|qemu]
       [--big N] [--soak N] [--qemu-cycles N] [--many-slots N]
Results: DIR/results.json and DIR/results.md (default build/bench/hotplug).
Every child (VMM, perf) is stopped by its own PID on exit, error, SIGINT,
SIGTERM and the overall --deadline.
"""
import argparse
import atexit
import hashlib
import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from memplug_vm import Stream, parse_agent  # noqa: E402
from qmp_client import connect_unix  # noqa: E402

M = 1 << 20
BOOT_TIMEOUT = 15 * 60
ADD_TIMEOUT = 10 * 60
CLK_TCK = os.sysconf("SC_CLK_TCK")
# online_movable: every DIMM can be removed again (the soak cycles).
CMDLINE = "console=ttyS0 swiotlb=noforce memhp_default_state=online_movable"
# What memplug adds by itself on a PVM host (see README "software KVM"),
# and only there: on a real KVM both VMMs get the same command line.
PVM = os.path.exists("/sys/module/kvm_pvm")
QEMU_EXTRA = "noxsave clearcpuid=141,151,308" if PVM else ""
# PVM's KVM cannot set MSR 0x10a for QEMU, nor run cmpxchg16b.
QEMU_CPU = "host,arch-capabilities=off,-cx16" if PVM else "host"

CHILDREN = []  # Popen objects we started; stopped by PID at exit
# The memplug binary the benches run (bench/realkvm.py runs a copy, so a
# rebuild during a run does not change it).
MEMPLUG = ROOT / "build" / "memplug"


def stop_child(p, grace=10):
    if p.poll() is not None:
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    except ProcessLookupError:
        pass


def stop_all():
    for p in reversed(CHILDREN):
        stop_child(p)


def on_signal(signum, frame):
    stop_all()
    sys.exit(128 + signum)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class QMPThreaded:
    """QMP over a Unix socket with a reader thread, so that every message
    (reply or event) gets its arrival time even while the caller waits on
    the console."""

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
        if not self._wait(lambda: len(self._replies()) > ticket, timeout):
            raise RuntimeError("no QMP reply")
        with self.cond:
            return self._replies()[ticket]

    def cmd(self, name, **args):
        _, ticket = self.send(name, **args)
        t, r = self.reply(ticket)
        if "error" in r:
            raise RuntimeError(f"{name}: {r['error']['desc']}")
        return r["return"]

    def wait_event(self, name, pred, timeout):
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


class VM:
    """One VMM process with its console (stdout) and QMP socket."""

    def __init__(self, kind, argv, sock, logdir):
        self.kind, self.sock = kind, sock
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        CHILDREN.append(self.proc)
        self.pid = self.proc.pid
        self.console = Stream(self.proc.stdout, logdir / f"{kind}.console")
        self.stderr = Stream(self.proc.stderr, logdir / f"{kind}.stderr")
        self.qmp = None

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

    def cpu(self):
        """(utime s, stime s, schedstat run ns summed over threads)."""
        with open(f"/proc/{self.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        ut, st = int(parts[11]) / CLK_TCK, int(parts[12]) / CLK_TCK
        run_ns = 0
        for task in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{task}/schedstat") as f:
                    run_ns += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return ut, st, run_ns

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

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
        stop_child(self.proc)


class PerfCounter:
    """perf stat attached to the VMM for one window."""

    def __init__(self, pid, events, outfile):
        self.outfile = outfile
        argv = ["perf", "stat", "-x", ",", "-o", str(outfile), "-p", str(pid)]
        for name, ev, flt in events:
            argv += ["-e", ev]
            if flt:
                argv += ["--filter", flt]
        self.names = [n for n, _, _ in events]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        CHILDREN.append(self.proc)
        # perf needs a moment to open its counters; counts from before the
        # request are measured by the idle baseline.
        time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            stop_child(self.proc)
        err = self.proc.stderr.read().decode(errors="replace")
        counts = {}
        try:
            rows = [ln.split(",") for ln in open(self.outfile)
                    if ln.strip() and not ln.startswith("#")]
        except OSError:
            rows = []
        for name, row in zip(self.names, rows):
            try:
                counts[name] = int(row[0])
            except (ValueError, IndexError):
                counts[name] = None
        if not rows:
            counts["error"] = err.strip()[-300:]
        return counts


def perf_events(kind):
    gpe = ("port >= 0x620 && port <= 0x627" if kind == "memplug"
           else "port >= 0xafe0 && port <= 0xafe3")
    return [
        ("pio_mhpc", "kvm:kvm_pio", "port >= 0xa00 && port <= 0xa1f"),
        ("pio_gpe", "kvm:kvm_pio", gpe),
        ("pio_serial", "kvm:kvm_pio", "port >= 0x3f8 && port <= 0x3ff"),
        ("pio_all", "kvm:kvm_pio", None),
        ("userspace_exits", "kvm:kvm_userspace_exit", None),
        ("mmio", "kvm:kvm_mmio", None),
    ]


def perf_works():
    if not shutil.which("perf"):
        return "perf not installed"
    p = subprocess.run(["perf", "stat", "-x", ",", "-e", "kvm:kvm_pio",
                        "--", "true"], capture_output=True, text=True)
    if p.returncode != 0:
        return p.stderr.strip()[-300:]
    return None


def trace_lines(path):
    try:
        with open(path) as f:
            return sum(1 for ln in f if "mhp_acpi_" in ln)
    except OSError:
        return None


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def other_vmms(ours):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in ours:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        exe = os.path.basename(args[0].decode(errors="replace")) if args else ""
        if exe in ("memplug", "qemu-system-x86_64", "lkvm"):
            out.append(f"{d} {exe}")
    return out


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class Bench:
    def __init__(self, kind, kernel, out, use_perf, slots=32, tag=None,
                 cmdline=CMDLINE):
        self.kind, self.out, self.use_perf = kind, out, use_perf
        # Logs and perf files of the extra slot-count boots get their own
        # names.
        self.tag = tag or (kind if slots == 32 else f"{kind}-{slots}slots")
        self.tmp = tempfile.mkdtemp(prefix=f"hp-{kind}-")
        sock = os.path.join(self.tmp, "qmp.sock")
        self.trace = out / f"{self.tag}.trace.log"
        if kind == "memplug":
            argv = [str(MEMPLUG), "--kernel", str(kernel),
                    "--memory", f"256M,slots={slots},maxmem=8G", "--control", sock,
                    "--cmdline", cmdline]
        else:
            argv = ["qemu-system-x86_64", "-enable-kvm", "-cpu",
                    QEMU_CPU, "-M", "pc", "-m",
                    f"256M,slots={slots},maxmem=8G", "-smp", "1", "-nographic",
                    "-no-reboot", "-nodefaults", "-serial", "stdio",
                    "-kernel", str(kernel), "-append",
                    f"{cmdline} {QEMU_EXTRA}".strip(),
                    "-qmp", f"unix:{sock},server=on,wait=off",
                    "-trace", "mhp_acpi_*", "-D", str(self.trace)]
        self.argv = argv
        self.res = {"vmm": kind, "slots": slots, "argv": argv, "hotadds": [],
                    "burst": None, "cycles": []}
        self.vm = VM(self.tag, argv, sock, out)
        self.n = 0

    def boot(self):
        t0 = time.monotonic()
        i, ready = self.vm.wait_agent("ready", lambda f: True, BOOT_TIMEOUT)
        self.res["boot_s"] = self.vm.console.times[i] - self.vm.started
        self.res["ready"] = ready
        self.res["ready_line"] = self.vm.console.lines[i].strip()
        self.mark = i + 1
        self.memtotal = ready["memtotal_kb"]
        self.vm.qmp = QMPThreaded(self.vm.sock)
        self.res["rss_ready_kb"] = self.vm.rss_kb()
        log(f"{self.tag}: ready after {time.monotonic() - t0:.1f} s "
            f"(memtotal {self.memtotal} kB)")

    def idle_baseline(self, seconds=3.0):
        """Exit counts of the idle guest, per second, same perf set-up."""
        if not self.use_perf:
            return
        pc = PerfCounter(self.vm.pid, perf_events(self.kind),
                         self.out / f"{self.tag}.perf.idle.csv")
        t0 = time.monotonic()
        time.sleep(seconds)
        counts = pc.stop()
        dt = time.monotonic() - t0 + 0.5
        self.res["idle_per_s"] = {k: (v / dt if isinstance(v, int) else v)
                                  for k, v in counts.items()}

    def backend(self, size, prealloc=False):
        self.n += 1
        name = f"d{self.n}"
        args = {"qom-type": "memory-backend-ram", "id": f"m-{name}",
                "size": size}
        if prealloc:
            args["prealloc"] = True
        self.vm.qmp.cmd("object-add", **args)
        return name

    def hot_add(self, size, label):
        name = self.backend(size)
        tr0 = trace_lines(self.trace) if self.kind == "qemu" else None
        pc = (PerfCounter(self.vm.pid, perf_events(self.kind),
                          self.out / f"{self.tag}.perf.{name}.csv")
              if self.use_perf else None)
        cpu0 = self.vm.cpu()
        la0 = loadavg()
        t0, ticket = self.vm.qmp.send("device_add", driver="pc-dimm",
                                      id=name, memdev=f"m-{name}")
        t_rep, rep = self.vm.qmp.reply(ticket)
        if "error" in rep:
            raise RuntimeError(f"device_add {name}: {rep['error']['desc']}")
        t_ost, ost = self.vm.qmp.wait_event(
            "ACPI_DEVICE_OST",
            lambda e: e["data"]["info"].get("device") == name, ADD_TIMEOUT)
        want = self.memtotal + size // 1024
        i, mem = self.vm.wait_agent("memory",
                                    lambda f: f["memtotal_kb"] >= want,
                                    ADD_TIMEOUT, self.mark)
        t_mem = self.vm.console.times[i]
        cpu1 = self.vm.cpu()
        counts = pc.stop() if pc else None
        tr1 = trace_lines(self.trace) if self.kind == "qemu" else None
        self.mark, self.memtotal = i + 1, mem["memtotal_kb"]
        r = {"label": label, "id": name, "size_mib": size // M,
             "reply_ms": (t_rep - t0) * 1e3,
             "ost_ms": (t_ost - t0) * 1e3 if t_ost else None,
             "ost_status": ost["data"]["info"]["status"] if ost else None,
             "memory_ms": (t_mem - t0) * 1e3,
             "memtotal_kb": mem["memtotal_kb"],
             "utime_ms": (cpu1[0] - cpu0[0]) * 1e3,
             "stime_ms": (cpu1[1] - cpu0[1]) * 1e3,
             "run_ms": (cpu1[2] - cpu0[2]) / 1e6,
             "window_s": time.monotonic() - t0,
             "exits": counts, "loadavg": [la0, loadavg()],
             "rss_kb": self.vm.rss_kb()}
        if tr0 is not None and tr1 is not None:
            r["mhp_trace_lines"] = tr1 - tr0
        if self.kind == "memplug":
            r["timeline"] = next((t for t in self.vm.qmp.cmd(
                "x-memplug-timeline") if t["device"] == name), None)
        log(f"{self.tag} {label}: reply {r['reply_ms']:.2f} ms, _OST "
            f"{r['ost_ms'] or float('nan'):.0f} ms, memory "
            f"{r['memory_ms']:.0f} ms, exits {counts}, "
            f"timeline {r.get('timeline')}")
        self.res["hotadds"].append(r)

    def burst(self, count):
        names = [self.backend(128 * M) for _ in range(count)]
        cpu0 = self.vm.cpu()
        la0 = loadavg()
        t0 = time.monotonic()
        replies = []
        for name in names:
            ts, ticket = self.vm.qmp.send("device_add", driver="pc-dimm",
                                          id=name, memdev=f"m-{name}")
            tr, rep = self.vm.qmp.reply(ticket)
            if "error" in rep:
                raise RuntimeError(f"device_add {name}: "
                                   f"{rep['error']['desc']}")
            replies.append((tr - ts) * 1e3)
        t_sent = time.monotonic()
        osts = {}
        for name in names:
            t, e = self.vm.qmp.wait_event(
                "ACPI_DEVICE_OST",
                lambda e, n=name: e["data"]["info"].get("device") == n,
                ADD_TIMEOUT)
            osts[name] = ((t - t0) * 1e3 if t else None,
                          e["data"]["info"]["status"] if e else None)
        want = self.memtotal + count * 128 * 1024
        i, mem = self.vm.wait_agent("memory",
                                    lambda f: f["memtotal_kb"] >= want,
                                    ADD_TIMEOUT, self.mark)
        t_mem = self.vm.console.times[i]
        cpu1 = self.vm.cpu()
        self.mark, self.memtotal = i + 1, mem["memtotal_kb"]
        r = {"count": count, "reply_ms": replies,
             "all_sent_ms": (t_sent - t0) * 1e3,
             "ost_ms": {n: v[0] for n, v in osts.items()},
             "ost_status": {n: v[1] for n, v in osts.items()},
             "last_ost_ms": max((v[0] for v in osts.values() if v[0]),
                                default=None),
             "memory_ms": (t_mem - t0) * 1e3,
             "utime_ms": (cpu1[0] - cpu0[0]) * 1e3,
             "stime_ms": (cpu1[1] - cpu0[1]) * 1e3,
             "run_ms": (cpu1[2] - cpu0[2]) / 1e6,
             "loadavg": [la0, loadavg()]}
        if self.kind == "memplug":
            tl = {t["device"]: t for t in self.vm.qmp.cmd("x-memplug-timeline")}
            r["timeline"] = [tl.get(n) for n in names]
        log(f"{self.kind} burst x{count}: replies sum "
            f"{sum(replies):.1f} ms, last _OST {r['last_ost_ms']} ms, "
            f"memory {r['memory_ms']:.0f} ms")
        self.res["burst"] = r

    def cycle(self, baseline_kb):
        """One soak cycle: a preallocated 128M DIMM (all of it resident on
        the host) is added, then removed: device_del → _OST 0x84 →
        DEVICE_DELETED → the agent's memory line → object-del. Records the
        remove's times, exits and CPU, and how much resident memory the
        object-del gave back."""
        size = 128 * M
        name = self.backend(size, prealloc=True)
        _, ticket = self.vm.qmp.send("device_add", driver="pc-dimm", id=name,
                                     memdev=f"m-{name}")
        _, rep = self.vm.qmp.reply(ticket)
        if "error" in rep:
            raise RuntimeError(f"device_add {name}: {rep['error']['desc']}")
        _, ost = self.vm.qmp.wait_event(
            "ACPI_DEVICE_OST", lambda e: e["data"]["info"].get("device") == name,
            ADD_TIMEOUT)
        if not ost or ost["data"]["info"]["status"] != 0:
            raise RuntimeError(f"hot-add {name}: _OST {ost}")
        add_tl = (next((t for t in self.vm.qmp.cmd("x-memplug-timeline")
                        if t["device"] == name), None)
                  if self.kind == "memplug" else None)
        want = self.memtotal + size // 1024
        i, mem = self.vm.wait_agent("memory",
                                    lambda f: f["memtotal_kb"] >= want,
                                    ADD_TIMEOUT, self.mark)
        self.mark, self.memtotal = i + 1, mem["memtotal_kb"]

        pc = (PerfCounter(self.vm.pid, perf_events(self.kind),
                          self.out / f"{self.tag}.perf.del-{name}.csv")
              if self.use_perf and len(self.res["cycles"]) < 3 else None)
        rss_plugged = self.vm.rss_kb()
        cpu0 = self.vm.cpu()
        t0, ticket = self.vm.qmp.send("device_del", id=name)
        t_rep, rep = self.vm.qmp.reply(ticket)
        if "error" in rep:
            raise RuntimeError(f"device_del {name}: {rep['error']['desc']}")

        def ejecting(e):
            info = e["data"]["info"]
            # QEMU leaves "device" out of an _OST for an emptied slot.
            return info.get("device") == name and info["source"] == 3
        t84, e84 = self.vm.qmp.wait_event("ACPI_DEVICE_OST", ejecting,
                                          ADD_TIMEOUT)
        t_del, ev = self.vm.qmp.wait_event(
            "DEVICE_DELETED", lambda e: e["data"].get("device") == name,
            ADD_TIMEOUT)
        if not ev:
            raise RuntimeError(f"no DEVICE_DELETED for {name}")
        want = self.memtotal - size // 1024
        i, mem = self.vm.wait_agent("memory",
                                    lambda f: f["memtotal_kb"] <= want,
                                    ADD_TIMEOUT, self.mark)
        t_mem = self.vm.console.times[i]
        cpu1 = self.vm.cpu()
        counts = pc.stop() if pc else None
        self.mark, self.memtotal = i + 1, mem["memtotal_kb"]
        rss_ejected = self.vm.rss_kb()
        t_o = time.monotonic()
        self.vm.qmp.cmd("object-del", id=f"m-{name}")
        t_o1 = time.monotonic()
        rss_reply = self.vm.rss_kb()
        # QEMU unmaps a deleted backend from its RCU thread, a little after
        # the reply: wait (up to 5 s) for most of the DIMM to leave.
        floor = rss_ejected - (size // 1024) * 9 // 10
        while True:
            rss_deleted = self.vm.rss_kb()
            if rss_deleted <= floor or time.monotonic() - t_o1 > 5:
                break
            time.sleep(0.01)
        t_freed = time.monotonic()
        r = {"id": name, "reply_ms": (t_rep - t0) * 1e3,
             "ost84_ms": (t84 - t0) * 1e3 if t84 else None,
             "ost84_status": e84["data"]["info"]["status"] if e84 else None,
             "deleted_ms": (t_del - t0) * 1e3,
             "memory_ms": (t_mem - t0) * 1e3,
             "object_del_ms": (t_o1 - t_o) * 1e3,
             "freed_ms": (t_freed - t_o) * 1e3,
             "rss_at_reply_kb": rss_reply,
             "utime_ms": (cpu1[0] - cpu0[0]) * 1e3,
             "stime_ms": (cpu1[1] - cpu0[1]) * 1e3,
             "exits": counts,
             "rss_plugged_kb": rss_plugged, "rss_ejected_kb": rss_ejected,
             "rss_deleted_kb": rss_deleted,
             "returned_kb": rss_ejected - rss_deleted,
             "drift_kb": rss_deleted - baseline_kb,
             "add_timeline": add_tl}
        log(f"{self.tag} cycle {len(self.res['cycles']) + 1}: DEVICE_DELETED "
            f"{r['deleted_ms']:.0f} ms, memory line {r['memory_ms']:.0f} ms, "
            f"object-del returned {r['returned_kb']} kB, RSS "
            f"{rss_deleted} kB ({r['drift_kb']:+d} kB from the baseline)")
        self.res["cycles"].append(r)

    def soak(self, cycles):
        self.res["soak_baseline_kb"] = baseline = self.vm.rss_kb()
        for _ in range(cycles):
            self.cycle(baseline)

    def finish(self):
        self.res["rss_end_kb"] = self.vm.rss_kb() if self.vm.proc.poll() \
            is None else None
        self.vm.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "cpu":
        return f"{v:,.0f} ms"
    if unit == "ms" and v < 10:
        return f"{v:.2f} ms"
    if unit == "ms" and v >= 10000:
        return f"{v / 1000:.1f} s"
    if unit == "us":
        return f"{v:,.0f} µs"
    if unit == "":
        return f"{v:,.0f}"
    return f"{v:,.0f} {unit}"


def summarise(results):
    """(figure, memplug, qemu, ratio, n) rows from both runs."""
    rows = []
    mp, qe = results.get("memplug"), results.get("qemu")

    def adds(res, label):
        return [h for h in (res or {}).get("hotadds", []) if h["label"] == label]

    def get(res, label, key, sub=None):
        hs = adds(res, label)
        vals = [(h.get(key) or {}).get(sub) if sub else h.get(key) for h in hs]
        vals = [v for v in vals if isinstance(v, (int, float))]
        return med(vals), len(vals)

    for label in ("128M", "1G"):
        for key, sub, unit, what in (
                ("reply_ms", None, "ms", "device_add → reply"),
                ("ost_ms", None, "ms", "device_add → ACPI_DEVICE_OST"),
                ("memory_ms", None, "ms", "device_add → agent memory line"),
                ("exits", "pio_mhpc", "", "port exits 0xa00-0xa1f (MHPC)"),
                ("exits", "pio_gpe", "", "port exits, GPE0 block"),
                ("exits", "pio_all", "", "all port-I/O exits (kvm_pio)"),
                ("exits", "userspace_exits", "", "exits to the VMM (kvm_userspace_exit)"),
                ("mhp_trace_lines", None, "", "QEMU mhp_acpi_* trace lines"),
                ("utime_ms", None, "cpu", "VMM user CPU (10 ms ticks)"),
                ("stime_ms", None, "ms", "VMM system CPU (incl. guest emulation)"),
                ("run_ms", None, "ms", "VMM run time, schedstat")):
            a, na = get(mp, label, key, sub)
            b, nb = get(qe, label, key, sub)
            if a is None and b is None:
                continue
            ratio = a / b if a is not None and b else None
            if unit == "cpu" and max(a or 0, b or 0) < 100:
                ratio = None  # a tick or two: below the resolution
            rows.append((f"{label}: {what}", fmt(a, unit), na, fmt(b, unit),
                         nb, f"{ratio:.2f}x" if ratio is not None else "—"))
    for key, unit, what, f in (
            ("reply_ms", "ms", "burst: sum of device_add replies", sum),
            ("reply_ms", "ms", "burst: median device_add reply", med),
            ("reply_ms", "ms", "burst: max device_add reply", max),
            ("last_ost_ms", "ms", "burst: first request → last _OST", None),
            ("memory_ms", "ms", "burst: first request → all MemTotal", None),
            ("utime_ms", "cpu", "burst: VMM user CPU (10 ms ticks)", None),
            ("stime_ms", "ms", "burst: VMM system CPU", None)):
        vals = []
        for res in (mp, qe):
            b = (res or {}).get("burst")
            if not b or b.get(key) is None:
                vals.append(None)
                continue
            vals.append(f(b[key]) if f else b[key])
        a, bq = vals
        if a is None and bq is None:
            continue
        n = ((mp or {}).get("burst") or (qe or {}).get("burst") or {}).get("count")
        ratio = a / bq if a is not None and bq else None
        if unit == "cpu" and max(a or 0, bq or 0) < 100:
            ratio = None
        rows.append((f"{what} (x{n})", fmt(a, unit), 1 if a is not None else 0,
                     fmt(bq, unit), 1 if bq is not None else 0,
                     f"{ratio:.2f}x" if ratio is not None else "—"))
    def cyc(res, key, sub=None, f=med):
        vals = [(c.get(key) or {}).get(sub) if sub else c.get(key)
                for c in (res or {}).get("cycles", [])]
        vals = [v for v in vals if isinstance(v, (int, float))]
        return (f(vals) if vals else None), len(vals)

    for key, sub, unit, what, f in (
            ("reply_ms", None, "ms", "remove 128M: device_del → reply", med),
            ("ost84_ms", None, "ms", "remove 128M: device_del → _OST 0x84", med),
            ("deleted_ms", None, "ms", "remove 128M: device_del → DEVICE_DELETED", med),
            ("memory_ms", None, "ms", "remove 128M: device_del → agent memory line", med),
            ("object_del_ms", None, "ms", "remove 128M: object-del → reply", med),
            ("freed_ms", None, "ms", "remove 128M: object-del → host memory freed (VmRSS down by ≥ 90 % of the DIMM; 5 s cap)", med),
            ("returned_kb", None, "KiB", "remove 128M (preallocated): VmRSS returned after object-del", med),
            ("exits", "pio_mhpc", "", "remove 128M: port exits 0xa00-0xa1f (MHPC)", med),
            ("exits", "userspace_exits", "", "remove 128M: exits to the VMM", med),
            ("stime_ms", None, "ms", "remove 128M: VMM system CPU", med),
            ("drift_kb", None, "KiB", "soak: RSS after the last cycle − before the first", lambda v: v[-1]),
            ("drift_kb", None, "KiB", "soak: largest RSS rise over the baseline", max)):
        a, na = cyc(mp, key, sub, f)
        b, nb = cyc(qe, key, sub, f)
        if a is None and b is None:
            continue
        ratio = a / b if a is not None and b and b > 0 and a >= 0 else None
        if key == "drift_kb":
            ratio = None   # a difference near zero: ratios mean nothing
        rows.append((what, fmt(a, unit), na, fmt(b, unit), nb,
                     f"{ratio:.2f}x" if ratio is not None else "—"))
    return rows


def timeline_rows(res):
    rows = []
    for h in (res or {}).get("hotadds", []):
        t = h.get("timeline") or {}
        rows.append((f"{h['label']} ({h['id']})", t.get("slot-installed-us"),
                     t.get("sci-raised-us"), t.get("guest-first-read-us"),
                     t.get("ost-us")))
    b = (res or {}).get("burst") or {}
    tl = [t for t in b.get("timeline") or [] if t]
    if tl:
        rows.append((f"burst x{len(tl)}: median",
                     med([t.get("slot-installed-us") for t in tl]),
                     med([t.get("sci-raised-us") for t in tl]),
                     med([t.get("guest-first-read-us") for t in tl]),
                     med([t.get("ost-us") for t in tl])))
        rows.append((f"burst x{len(tl)}: max",
                     max((t.get("slot-installed-us") or 0) for t in tl),
                     max((t.get("sci-raised-us") or 0) for t in tl),
                     max((t.get("guest-first-read-us") or 0) for t in tl),
                     max((t.get("ost-us") or 0) for t in tl)))
    return rows


def markdown(results):
    out = ["| figure | memplug | n | QEMU -M pc | n | memplug/QEMU |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in summarise(results):
        out.append("| " + " | ".join(str(x) for x in r) + " |")
    slot_rows = []
    for kind in ("memplug", "qemu"):
        for res in [results.get(kind)] + [
                v for k, v in sorted(results.items())
                if k.startswith(kind + "-") and isinstance(v, dict)]:
            adds = [h for h in (res or {}).get("hotadds", [])
                    if h["label"] == "128M"]
            if not adds:
                continue
            ex = [h.get("exits") or {} for h in adds]
            slot_rows.append(
                f"| {kind} | {res.get('slots', 32)} | "
                f"{fmt(med([e.get('pio_mhpc') for e in ex]), '')} | "
                f"{fmt(med([e.get('userspace_exits') for e in ex]), '')} | "
                f"{len(adds)} |")
    if slot_rows:
        out += ["", "Exits per 128M hot-add against the number of DIMM slots "
                "(medians; the extra boots with more slots do two 128M "
                "hot-adds and nothing else):", "",
                "| VMM | slots | port exits 0xa00-0xa1f | exits to the VMM | n |",
                "| --- | --- | --- | --- | --- |"] + slot_rows
    out += ["", "memplug `x-memplug-timeline` (µs from device_add):", "",
            "| DIMM | slot installed | SCI raised | guest first read | _OST |",
            "| --- | --- | --- | --- | --- |"]
    for r in timeline_rows(results.get("memplug")):
        out.append("| " + " | ".join(
            [r[0]] + [fmt(v, "us") if v is not None else "—"
                      for v in r[1:]]) + " |")
    mp = results.get("memplug") or {}
    tls = [h.get("timeline") for h in mp.get("hotadds", [])]
    tls += (mp.get("burst") or {}).get("timeline") or []
    tls += [c.get("add_timeline") for c in mp.get("cycles") or []]
    sci = sorted(v for v in (t.get("sci-raised-us") for t in tls if t)
                 if v is not None)
    if sci:
        slow = [v for v in sci if v >= 1000]
        out += ["", f"memplug request → SCI raised, over {len(sci)} DIMMs "
                f"(the hot-adds above, the burst and the add of every "
                f"add/remove cycle): median {med(sci):,.0f} µs, 90th "
                f"percentile {sci[(len(sci) * 9) // 10]:,.0f} µs, max "
                f"{sci[-1]:,.0f} µs; {len(slow)} of {len(sci)} at 1 ms or "
                f"more (target < 1 ms: "
                f"{'met by every DIMM' if not slow else 'met by the median, not by every DIMM'})."]
        split = [(t["slot-installed-us"] - t["slot-call-us"],
                  t["sci-raised-us"] - t["slot-installed-us"]
                  + t["slot-call-us"]) for t in tls
                 if t and all(t.get(k) is not None for k in (
                     "slot-call-us", "slot-installed-us", "sci-raised-us"))]
        if split:
            kvm = sorted(k for k, _ in split)
            own = sorted(o for _, o in split)
            out[-1] += (f" Split over the {len(split)} DIMMs whose timeline "
                        f"has the KVM call: KVM_SET_USER_MEMORY_REGION "
                        f"median {med(kvm):,.0f} µs, max {kvm[-1]:,.0f} µs; "
                        f"the rest (memplug's checks before it, the "
                        f"controller and the GPE after it) median "
                        f"{med(own):,.0f} µs, max {own[-1]:,.0f} µs.")
    out.append("")
    for kind, res in results.items():
        if not isinstance(res, dict) or "vmm" not in res:
            continue
        if res.get("error"):
            out.append(f"- {kind}: **stopped by an error**: {res['error']}")
        out.append(f"- {kind}: boot → ready {res.get('boot_s', 0):.1f} s; "
                   f"VmRSS at ready {res.get('rss_ready_kb')} KiB, at end "
                   f"{res.get('rss_end_kb')} KiB; "
                   f"{len(res.get('cycles') or [])} add/remove cycles, RSS "
                   f"before the first {res.get('soak_baseline_kb')} KiB, "
                   f"after each: "
                   f"{[c['rss_deleted_kb'] for c in res.get('cycles') or []]}; "
                   f"idle exits/s "
                   f"{ {k: round(v, 1) if isinstance(v, float) else v for k, v in (res.get('idle_per_s') or {}).items()} }; "
                   f"load averages {res.get('loadavg')}; other VMMs seen: "
                   f"{res.get('other_vmms') or 'none'}")
    return "\n".join(out) + "\n"


SECTION = "## Hot-add and hot-remove (bench/hotplug.py)"
OLD_SECTIONS = ("## Hot-add (bench/hotplug.py)",)

METHOD = """\
Generated by `bench/hotplug.py` (rerun it; it replaces this section, from
its heading to the end of the file). Raw data and console logs:
`build/bench/hotplug/` (`results.json`, `*.console`, `*.perf.*.csv`,
`qemu.trace.log`).

One boot of each VMM, sequentially, with the same copy of
`build/guest/vmlinux`; memplug as in the top-level README (`--memory
256M,slots=32,maxmem=8G --control SOCK --cmdline "console=ttyS0
swiotlb=noforce memhp_default_state=online_movable"`: every DIMM can be
removed again), QEMU as
`qemu-system-x86_64 -enable-kvm -cpu host,arch-capabilities=off,-cx16 -M pc
-m 256M,slots=32,maxmem=8G -smp 1 -nographic -no-reboot -nodefaults -serial
stdio -kernel vmlinux -append "... noxsave clearcpuid=141,151,308" -qmp
unix:SOCK,server=on,wait=off -trace 'mhp_acpi_*' -D qemu.trace.log`. After
the agent's `MEMPLUG-AGENT ready` line, in that guest: `object-add
memory-backend-ram` (not timed), then `device_add pc-dimm`, and

- **reply / _OST / memory line**: host monotonic time from sending
  `device_add` to its QMP reply, to the `ACPI_DEVICE_OST` event for that
  DIMM (a reader thread stamps every QMP message on arrival), and to the
  agent's `MEMPLUG-AGENT memory` line with MemTotal grown by the DIMM
  (auto-online, so the memory is online in the guest).
- **exits**: `perf stat -e kvm:kvm_pio --filter ... -p VMM_PID` started
  0.5 s before the request and stopped after the memory line: port exits to
  the memory hotplug controller (0xa00-0xa1f), to the GPE0 block (memplug
  0x620-0x627, QEMU -M pc 0xafe0-0xafe3), to COM1 (the agent's lines),
  all port exits, `kvm:kvm_userspace_exit` (every return from KVM_RUN to
  the VMM) and `kvm:kvm_mmio` (in-kernel LAPIC/IOAPIC included). The idle
  guest's rate over 3 s with the same counters is given below (it is ~0, so
  the counts are the hot-add's). On this kernel `kvm:kvm_exit` never fires
  (PVM), `kvm:kvm_pio` does. For QEMU, the number of `mhp_acpi_*` trace
  lines in the window is a cross-check of the controller count.
- **CPU**: deltas of utime/stime from `/proc/PID/stat` (10 ms ticks: a user
  time of 0-20 ms means "below the resolution") and of the summed
  `/proc/PID/task/*/schedstat` run time, across the same window. System
  time is almost all the guest's emulation inside `KVM_RUN`.
- **burst**: N backends created first, then N `device_add`s each sent as the
  previous reply arrived, then all N `_OST`s and the memory line.
- **timeline** (memplug only): `x-memplug-timeline`, µs from the
  `device_add` request to the KVM memory slot, the SCI, the guest's first
  read of the DIMM's base/size and its `_OST`; the request → SCI summary
  also counts the add of every add/remove cycle.
- **remove / soak**: after the burst, cycles of: `object-add` of a 128M
  backend with `prealloc: true` (all 128 MiB resident on the host before
  the guest sees it), `device_add`, its `_OST` and memory line; then
  `device_del` and the times to its reply, to the guest's `_OST` 0x84
  (ejection in progress), to `DEVICE_DELETED` and to the agent's memory
  line with MemTotal back down; then `object-del`, and VmRSS before it and
  once it has dropped by 90 % of the DIMM or 5 s have passed ("returned",
  "freed": QEMU unmaps a deleted backend from its RCU thread, after the
  reply; memplug before it). Exits are counted for the first 3 removes. The
  VMM's VmRSS after each cycle minus its VmRSS before the first cycle is
  the drift; memplug runs 50 cycles (the soak of issue 4), QEMU 5.
- **slot count**: one more boot of each VMM with `slots=256` and two 128M
  hot-adds, with the same exit counters, against the 32-slot boot's.

Options: `--quick` (one 128M, one 1G, an 8-DIMM burst, 3 + 2 cycles;
default three 128M, three 1G, a 16-DIMM burst, 50 + 5 cycles, and the
256-slot boots: about 45 min in all here), `--big N` (1G hot-adds),
`--soak N`, `--qemu-cycles N`, `--many-slots N` (0: no
extra boots), `--out DIR`, `--only memplug|qemu`, `--no-perf`,
`--deadline S` (every child is stopped after it; default 7200),
`--report-only` (rewrite this section from `DIR/results.json`),
`--no-readme`.

> **Machine caveat.** `/dev/kvm` is kvm_pvm, a software KVM: every guest
> ring-0 instruction goes through KVM's emulator, so the `_OST` and memory
> line times (seconds) measure that emulator and the guest kernel, not the
> VMM; they also move with host load (2 cores, shared: other sessions' VMMs
> ran during this run, see the load averages). The VMM-side figures are the
> device_add reply, the exit counts, user CPU and the memplug timeline up
> to the SCI.
"""


def section(results):
    head = [SECTION, "", METHOD,
            f"**Measured** {results.get('date')} "
            f"({'--quick' if results.get('quick') else 'full'} run), "
            f"guest kernel sha256 {results.get('kernel_sha256')}, "
            f"{results.get('qemu_version')}, host {results.get('uname')}, "
            f"{results.get('nproc')} CPUs, perf: {results.get('perf')}"
            + (f" ({results['merged']}; the other VMM's figures are from "
               "the run before, same kernel)" if results.get("merged")
               else "") + ". "
            "Medians where n > 1; ratio = memplug / QEMU (lower is better).",
            ""]
    return "\n".join(head) + "\n" + markdown(results)


def write_readme(path, results):
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else ""
    for heading in (SECTION,) + OLD_SECTIONS:
        i = text.find("\n" + heading + "\n")
        if i >= 0:
            text = text[:i]
            break
    # One blank line before the section, however often it is rewritten.
    text = text.rstrip("\n") + "\n\n" if text.strip() else ""
    path.write_text(text + section(results))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one 128M, one 1G, an 8-DIMM burst, 3 + 2 "
                    "add/remove cycles")
    ap.add_argument("--big", type=int, default=None,
                    help="1G hot-adds per VMM (default 3, --quick 1)")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "hotplug"))
    ap.add_argument("--only", choices=("memplug", "qemu"))
    ap.add_argument("--kernel", default=str(ROOT / "build" / "guest" / "vmlinux"))
    ap.add_argument("--deadline", type=float, default=2 * 60 * 60,
                    help="seconds; every child is stopped after it")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--soak", type=int, default=None,
                    help="memplug add/remove cycles (default 50, --quick 3)")
    ap.add_argument("--qemu-cycles", type=int, default=None,
                    help="QEMU add/remove cycles (default 5, --quick 2)")
    ap.add_argument("--many-slots", type=int, default=256,
                    help="slots of the extra boot per VMM that counts exits "
                    "against the slot count (0: skip)")
    ap.add_argument("--readme", default=str(ROOT / "bench" / "README.md"),
                    help="file whose '%s' section is replaced "
                    "(default bench/README.md)" % SECTION)
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: rewrite the section from "
                    "OUT/results.json")
    args = ap.parse_args()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        results = json.load(open(out / "results.json"))
        if not args.no_readme:
            write_readme(args.readme, results)
        print(section(results))
        return 0
    atexit.register(stop_all)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(args.deadline))

    # One copy of the guest kernel for both VMMs: the build may be redone
    # by others while this runs.
    kernel = out / "vmlinux"
    shutil.copyfile(args.kernel, kernel)
    reps128 = 1 if args.quick else 3
    reps1g = args.big if args.big is not None else reps128
    burst = 8 if args.quick else 16
    cycles = {"memplug": args.soak if args.soak is not None
              else (3 if args.quick else 50),
              "qemu": args.qemu_cycles if args.qemu_cycles is not None
              else (2 if args.quick else 5)}
    perr = None if args.no_perf else perf_works()
    use_perf = not args.no_perf and perr is None
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "quick": args.quick, "kernel_sha256": sha(kernel),
               "perf": "off" if args.no_perf else (perr or "kvm:kvm_pio ok"),
               "nproc": os.cpu_count(), "uname": os.uname().release,
               "qemu": None, "memplug": None}
    try:
        results["qemu_version"] = subprocess.run(
            ["qemu-system-x86_64", "--version"], capture_output=True,
            text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    kinds = [args.only] if args.only else ["memplug", "qemu"]
    if args.only and (out / "results.json").exists():
        # Rerunning one VMM keeps the other's figures of the same kernel.
        old = json.load(open(out / "results.json"))
        if old.get("kernel_sha256") == results["kernel_sha256"]:
            redone = {args.only, f"{args.only}-{args.many_slots}slots"}
            for k, v in old.items():
                if isinstance(v, dict) and "vmm" in v and k not in redone:
                    results[k] = v
            results["merged"] = f"{args.only} rerun on {results['date']}"
    for kind in kinds:
        log(f"{kind}: booting (load average {loadavg()})")
        b = Bench(kind, kernel, out, use_perf)
        la0 = loadavg()
        try:
            b.boot()
            b.idle_baseline()
            for _ in range(reps128):
                b.hot_add(128 * M, "128M")
            for _ in range(reps1g):
                b.hot_add(1024 * M, "1G")
            b.burst(burst)
            b.soak(cycles[kind])
        except Exception as e:  # keep what was measured
            b.res["error"] = str(e)
            log(f"{kind}: ERROR {e}")
        finally:
            b.res["loadavg"] = [la0, loadavg()]
            b.res["other_vmms"] = other_vmms({b.vm.pid})
            b.finish()
        results[kind] = b.res
        with open(out / "results.json", "w") as f:
            json.dump(results, f, indent=1)
    for kind in kinds if args.many_slots else []:
        b = Bench(kind, kernel, out, use_perf, slots=args.many_slots)
        log(f"{b.tag}: booting (load average {loadavg()})")
        la0 = loadavg()
        try:
            b.boot()
            for _ in range(2):
                b.hot_add(128 * M, "128M")
        except Exception as e:
            b.res["error"] = str(e)
            log(f"{b.tag}: ERROR {e}")
        finally:
            b.res["loadavg"] = [la0, loadavg()]
            b.res["other_vmms"] = other_vmms({b.vm.pid})
            b.finish()
        results[b.tag] = b.res
        with open(out / "results.json", "w") as f:
            json.dump(results, f, indent=1)
    md = markdown(results)
    (out / "results.md").write_text(md)
    if not args.no_readme:
        write_readme(args.readme, results)
    print(md)
    return 0 if all(isinstance(v, dict) and "error" not in v
                    for k, v in results.items()
                    if k.split("-")[0] in kinds) else 1


if __name__ == "__main__":
    sys.exit(main())
