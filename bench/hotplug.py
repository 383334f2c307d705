#!/usr/bin/python3
"""Hot-add and hot-remove benchmark: memplug against QEMU -M pc, same guest kernel.

One boot of each VMM (sequential, never both at once), then in that guest:
  1. hot-add 128M (3x, --quick 1x) and 1G (3x, --quick 1x): object-add (not
     timed as part of the hot-add), then device_add pc-dimm; times from the
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

Usage: /usr/bin/python3 bench/hotplug.py [--quick] [--json FILE] [--out DIR]
       [--only memplug|qemu] [--big N] [--soak N] [--qemu-cycles N]
       [--many-slots N]
Results: FILE (default bench/results/hotplug.json): the raw records per VMM
and their summary (medians, ratios) that bench/report.py renders; consoles,
perf files and QEMU's trace log in DIR (default build/bench/hotplug).
Every child (VMM, perf) is stopped by its own PID on exit, error, SIGINT,
SIGTERM and the overall --deadline.
"""
import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

import lib
from lib import KINDS, host, proc
from lib.hotplug_summary import summary
from lib.perf import PerfCounter, perf_events, perf_works
from lib.timeline import guest_ms, qemu_guest_times, trace_lines
from lib.vm import VM

M = 1 << 20
BOOT_TIMEOUT = 15 * 60
ADD_TIMEOUT = 10 * 60
# online_movable: every DIMM can be removed again (the soak cycles).
CMDLINE = "console=ttyS0 swiotlb=noforce memhp_default_state=online_movable"
# What memplug adds by itself on a PVM host (see README "software KVM"),
# and only there: on a real KVM both VMMs get the same command line.
PVM = host.is_pvm()
QEMU_EXTRA = "noxsave clearcpuid=141,151,308" if PVM else ""
# PVM's KVM cannot set MSR 0x10a for QEMU, nor run cmpxchg16b.
QEMU_CPU = "host,arch-capabilities=off,-cx16" if PVM else "host"


def cpu_used(cpu0, cpu1):
    """The VMM's CPU between two host.proc_cpu_run readings, ms."""
    return {"utime_ms": (cpu1[0] - cpu0[0]) * 1e3,
            "stime_ms": (cpu1[1] - cpu0[1]) * 1e3,
            "run_ms": (cpu1[2] - cpu0[2]) / 1e6}


class Bench:
    def __init__(self, kind, kernel, out, use_perf, slots=32, tag=None,
                 cmdline=CMDLINE, memplug=lib.MEMPLUG):
        self.kind, self.out, self.use_perf = kind, out, use_perf
        # Logs and perf files of the extra slot-count boots get their own
        # names.
        self.tag = tag or (kind if slots == 32 else f"{kind}-{slots}slots")
        self.tmp = tempfile.mkdtemp(prefix=f"hp-{kind}-")
        sock = os.path.join(self.tmp, "qmp.sock")
        self.trace = out / f"{self.tag}.trace.log"
        if kind == "memplug":
            argv = [str(memplug), "--kernel", str(kernel),
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
                    "-trace", "mhp_acpi_*", "-D", str(self.trace),
                    "-msg", "timestamp=on"]
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
        self.vm.connect()
        self.res["rss_ready_kb"] = host.rss_kib(self.vm.pid)
        lib.log(f"{self.tag}: ready after {time.monotonic() - t0:.1f} s "
            f"(memtotal {self.memtotal} kB)")

    def idle_baseline(self, seconds=3.0):
        """Exit counts of the idle guest, per second, same perf set-up."""
        if not self.use_perf:
            return
        pc = self.perf("idle")
        t0 = time.monotonic()
        time.sleep(seconds)
        counts = pc.stop()
        dt = time.monotonic() - t0 + 0.5
        self.res["idle_per_s"] = {k: (v / dt if isinstance(v, int) else v)
                                  for k, v in counts.items()}

    def perf(self, what):
        """perf stat on the VMM from now on, into a file named after what."""
        return PerfCounter(self.vm.pid, perf_events(self.kind),
                           self.out / f"{self.tag}.perf.{what}.csv")

    def backend(self, size, prealloc=False):
        self.n += 1
        name = f"d{self.n}"
        args = {"qom-type": "memory-backend-ram", "id": f"m-{name}",
                "size": size}
        if prealloc:
            args["prealloc"] = True
        self.vm.qmp.cmd("object-add", **args)
        return name

    def device_add(self, name):
        """DIMM name on its backend: the times of the request and of its
        reply."""
        t0, ticket = self.vm.qmp.send("device_add", driver="pc-dimm",
                                      id=name, memdev=f"m-{name}")
        return t0, self.vm.qmp.checked(f"device_add {name}", ticket)[0]

    def ost(self, name, source=None):
        """(time, event) of DIMM name's ACPI_DEVICE_OST, of that _OST
        source if given; (None, None) after ADD_TIMEOUT."""
        def match(e):
            info = e["data"]["info"]
            # QEMU leaves "device" out of an _OST for an emptied slot.
            return info.get("device") == name and \
                (source is None or info["source"] == source)
        return self.vm.qmp.wait_event("ACPI_DEVICE_OST", match, ADD_TIMEOUT)

    def memory_line(self, delta_kb):
        """Waits for the agent's memory line showing MemTotal grown by
        delta_kb (shrunk, for a negative one); returns its arrival time."""
        want = self.memtotal + delta_kb
        i, mem = self.vm.wait_agent(
            "memory", lambda f: f["memtotal_kb"] >= want if delta_kb > 0
            else f["memtotal_kb"] <= want, ADD_TIMEOUT, self.mark)
        self.mark, self.memtotal = i + 1, mem["memtotal_kb"]
        return self.vm.console.times[i]

    def timelines(self, names):
        """memplug's x-memplug-timeline of each DIMM of names."""
        tl = {t["device"]: t for t in self.vm.qmp.cmd("x-memplug-timeline")}
        return [tl.get(n) for n in names]

    def hot_add(self, size, label):
        name = self.backend(size)
        before = trace_lines(self.trace) if self.kind == "qemu" else None
        pc = self.perf(name) if self.use_perf else None
        cpu0 = host.proc_cpu_run(self.vm.pid)
        la0 = host.loadavg()
        wall0 = time.time()
        t0, t_rep = self.device_add(name)
        t_ost, ost = self.ost(name)
        t_mem = self.memory_line(size // 1024)
        cpu1 = host.proc_cpu_run(self.vm.pid)
        counts = pc.stop() if pc else None
        after = trace_lines(self.trace) if self.kind == "qemu" else None
        r = {"label": label, "id": name, "size_mib": size // M,
             "reply_ms": (t_rep - t0) * 1e3,
             "ost_ms": (t_ost - t0) * 1e3 if t_ost else None,
             "ost_status": ost["data"]["info"]["status"] if ost else None,
             "memory_ms": (t_mem - t0) * 1e3,
             "memtotal_kb": self.memtotal, **cpu_used(cpu0, cpu1),
             "window_s": time.monotonic() - t0,
             "exits": counts, "loadavg": [la0, host.loadavg()],
             "rss_kb": host.rss_kib(self.vm.pid)}
        new = after[len(before):] if before is not None and \
            after is not None else None
        if new is not None:
            r["mhp_trace_lines"] = len(new)
        if self.kind == "memplug":
            r["timeline"] = self.timelines([name])[0]
        elif new is not None:
            r["timeline"] = qemu_guest_times(new, wall0)
        r["guest_ms"] = guest_ms(r.get("timeline"))
        lib.log(f"{self.tag} {label}: reply {r['reply_ms']:.2f} ms, _OST "
            f"{r['ost_ms'] or float('nan'):.0f} ms, memory "
            f"{r['memory_ms']:.0f} ms, exits {counts}, "
            f"timeline {r.get('timeline')}")
        self.res["hotadds"].append(r)

    def burst(self, count):
        names = [self.backend(128 * M) for _ in range(count)]
        cpu0 = host.proc_cpu_run(self.vm.pid)
        la0 = host.loadavg()
        t0 = time.monotonic()
        replies = []
        for name in names:
            ts, tr = self.device_add(name)
            replies.append((tr - ts) * 1e3)
        t_sent = time.monotonic()
        osts = {}
        for name in names:
            t, e = self.ost(name)
            osts[name] = ((t - t0) * 1e3 if t else None,
                          e["data"]["info"]["status"] if e else None)
        t_mem = self.memory_line(count * 128 * 1024)
        cpu1 = host.proc_cpu_run(self.vm.pid)
        r = {"count": count, "reply_ms": replies,
             "all_sent_ms": (t_sent - t0) * 1e3,
             "ost_ms": {n: v[0] for n, v in osts.items()},
             "ost_status": {n: v[1] for n, v in osts.items()},
             "last_ost_ms": max((v[0] for v in osts.values() if v[0]),
                                default=None),
             "memory_ms": (t_mem - t0) * 1e3, **cpu_used(cpu0, cpu1),
             "loadavg": [la0, host.loadavg()]}
        if self.kind == "memplug":
            r["timeline"] = self.timelines(names)
        lib.log(f"{self.kind} burst x{count}: replies sum "
            f"{sum(replies):.1f} ms, last _OST {r['last_ost_ms']} ms, "
            f"memory {r['memory_ms']:.0f} ms")
        self.res["burst"] = r

    def plug(self, size):
        """A preallocated DIMM (all of it resident on the host) added up to
        the agent's memory line: its name and memplug's add timeline."""
        name = self.backend(size, prealloc=True)
        self.device_add(name)
        _, ost = self.ost(name)
        if not ost or ost["data"]["info"]["status"] != 0:
            raise RuntimeError(f"hot-add {name}: _OST {ost}")
        add_tl = self.timelines([name])[0] if self.kind == "memplug" else None
        self.memory_line(size // 1024)
        return name, add_tl

    def unplug(self, name, size):
        """device_del of DIMM name → _OST 0x84 → DEVICE_DELETED → the
        agent's memory line: their times, the exits (first 3 cycles) and
        the VMM's CPU."""
        pc = (self.perf(f"del-{name}")
              if self.use_perf and len(self.res["cycles"]) < 3 else None)
        rss_plugged = host.rss_kib(self.vm.pid)
        cpu0 = host.proc_cpu_run(self.vm.pid)
        t0, ticket = self.vm.qmp.send("device_del", id=name)
        t_rep = self.vm.qmp.checked(f"device_del {name}", ticket)[0]
        t84, e84 = self.ost(name, source=3)  # 3: the eject request's _OST
        t_del, ev = self.vm.qmp.wait_event(
            "DEVICE_DELETED", lambda e: e["data"].get("device") == name,
            ADD_TIMEOUT)
        if not ev:
            raise RuntimeError(f"no DEVICE_DELETED for {name}")
        t_mem = self.memory_line(-(size // 1024))
        cpu = cpu_used(cpu0, host.proc_cpu_run(self.vm.pid))
        counts = pc.stop() if pc else None
        return {"id": name, "reply_ms": (t_rep - t0) * 1e3,
                "ost84_ms": (t84 - t0) * 1e3 if t84 else None,
                "ost84_status": e84["data"]["info"]["status"] if e84
                else None,
                "deleted_ms": (t_del - t0) * 1e3,
                "memory_ms": (t_mem - t0) * 1e3,
                "utime_ms": cpu["utime_ms"], "stime_ms": cpu["stime_ms"],
                "exits": counts, "rss_plugged_kb": rss_plugged}

    def free_backend(self, name, size):
        """object-del of an unplugged DIMM's backend: its time, and the
        resident memory it gave back."""
        rss_ejected = host.rss_kib(self.vm.pid)
        t_o = time.monotonic()
        self.vm.qmp.cmd("object-del", id=f"m-{name}")
        t_o1 = time.monotonic()
        rss_reply = host.rss_kib(self.vm.pid)
        # QEMU unmaps a deleted backend from its RCU thread, a little after
        # the reply: wait (up to 5 s) for most of the DIMM to leave.
        floor = rss_ejected - (size // 1024) * 9 // 10
        while True:
            rss_deleted = host.rss_kib(self.vm.pid)
            if rss_deleted <= floor or time.monotonic() - t_o1 > 5:
                break
            time.sleep(0.01)
        t_freed = time.monotonic()
        return {"object_del_ms": (t_o1 - t_o) * 1e3,
                "freed_ms": (t_freed - t_o) * 1e3,
                "rss_at_reply_kb": rss_reply, "rss_ejected_kb": rss_ejected,
                "rss_deleted_kb": rss_deleted,
                "returned_kb": rss_ejected - rss_deleted}

    def cycle(self, baseline_kb):
        """One soak cycle: a preallocated 128M DIMM is added, then removed
        (unplug) and its backend deleted. Records the remove's times, exits
        and CPU, how much resident memory the object-del gave back, and the
        VMM's RSS against baseline_kb (drift)."""
        size = 128 * M
        name, add_tl = self.plug(size)
        r = self.unplug(name, size)
        r.update(self.free_backend(name, size))
        r["drift_kb"] = r["rss_deleted_kb"] - baseline_kb
        r["add_timeline"] = add_tl
        lib.log(f"{self.tag} cycle {len(self.res['cycles']) + 1}: DEVICE_DELETED "
            f"{r['deleted_ms']:.0f} ms, memory line {r['memory_ms']:.0f} ms, "
            f"object-del returned {r['returned_kb']} kB, RSS "
            f"{r['rss_deleted_kb']} kB ({r['drift_kb']:+d} kB from the "
            "baseline)")
        self.res["cycles"].append(r)

    def soak(self, cycles):
        self.res["soak_baseline_kb"] = baseline = host.rss_kib(self.vm.pid)
        for _ in range(cycles):
            self.cycle(baseline)

    def finish(self):
        self.res["rss_end_kb"] = host.rss_kib(self.vm.pid) if self.vm.proc.poll() \
            is None else None
        self.vm.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one 128M, one 1G, an 8-DIMM burst, 3 + 2 "
                    "add/remove cycles")
    ap.add_argument("--big", type=int, default=None,
                    help="1G hot-adds per VMM (default 3, --quick 1)")
    ap.add_argument("--json", default=str(lib.RESULTS / "hotplug.json"),
                    help="results file (default bench/results/hotplug.json)")
    ap.add_argument("--out", default=str(lib.BUILD / "bench" / "hotplug"),
                    help="consoles, perf files, trace log")
    ap.add_argument("--only", choices=KINDS)
    ap.add_argument("--kernel", default=str(lib.VMLINUX))
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
    return ap.parse_args()


def header(args, kernel_sha, perr):
    return {"date": lib.now_iso(),
            "quick": args.quick, "kernel_sha256": kernel_sha,
            "perf": "off" if args.no_perf else (perr or "kvm:kvm_pio ok"),
            "nproc": os.cpu_count(), "uname": os.uname().release,
            "qemu_version": host.qemu_version(),
            "memplug_sha256": host.sha256_short(lib.MEMPLUG)}


def keep_other(results, path, only, many_slots):
    """Rerunning one VMM keeps the other's figures of the same kernel."""
    old = lib.read_json(path, {}).get("raw", {})
    if old.get("kernel_sha256") != results["kernel_sha256"]:
        return
    redone = {only, f"{only}-{many_slots}slots"}
    for k, v in old.items():
        if isinstance(v, dict) and "vmm" in v and k not in redone:
            results[k] = v
    results["merged"] = f"{only} rerun on {results['date']}"


def measure(b, steps):
    """Boot b and run steps(b), keeping what was measured on an error."""
    lib.log(f"{b.tag}: booting (load average {host.loadavg()})")
    la0 = host.loadavg()
    try:
        b.boot()
        steps(b)
    except Exception as e:  # keep what was measured
        b.res["error"] = str(e)
        lib.log(f"{b.tag}: ERROR {e}")
    finally:
        b.res["loadavg"] = [la0, host.loadavg()]
        b.res["other_vmms"] = host.other_vmms()
        b.finish()
    return b.res


def save(path, results):
    lib.write_json(path, {"raw": results, "summary": summary(results)})


def main():
    args = parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proc.install_cleanup(args.deadline)
    # One copy of the guest kernel for both VMMs: the build may be redone
    # by others while this runs.
    kernel = out / "vmlinux"
    sha = host.snapshot(args.kernel, kernel)["sha256"]
    reps128 = 1 if args.quick else 3
    reps1g = args.big if args.big is not None else reps128
    burst = 8 if args.quick else 16
    cycles = {"memplug": args.soak if args.soak is not None
              else (3 if args.quick else 50),
              "qemu": args.qemu_cycles if args.qemu_cycles is not None
              else (2 if args.quick else 5)}
    perr = None if args.no_perf else perf_works()
    use_perf = not args.no_perf and perr is None
    results = header(args, sha, perr)
    kinds = [args.only] if args.only else list(KINDS)
    if args.only:
        keep_other(results, args.json, args.only, args.many_slots)

    def main_steps(b):
        b.idle_baseline()
        for _ in range(reps128):
            b.hot_add(128 * M, "128M")
        for _ in range(reps1g):
            b.hot_add(1024 * M, "1G")
        b.burst(burst)
        b.soak(cycles[b.kind])

    def slot_steps(b):
        for _ in range(2):
            b.hot_add(128 * M, "128M")

    for kind in kinds:
        results[kind] = measure(Bench(kind, kernel, out, use_perf),
                                main_steps)
        save(args.json, results)
    for kind in kinds if args.many_slots else []:
        b = Bench(kind, kernel, out, use_perf, slots=args.many_slots)
        results[b.tag] = measure(b, slot_steps)
        save(args.json, results)
    lib.log(f"wrote {lib.rel(args.json)}")
    return 0 if all(isinstance(v, dict) and "error" not in v
                    for k, v in results.items()
                    if k.split("-")[0] in kinds) else 1


if __name__ == "__main__":
    sys.exit(main())
