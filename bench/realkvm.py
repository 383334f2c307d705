#!/usr/bin/python3
"""Real-KVM benchmark: memplug against QEMU (-enable-kvm -cpu host -M pc,
pc-dimm) on a real KVM, one VMM after the other, same guest kernel
(build/guest/vmlinux) and command line. `make bench` runs it through
scripts/kvm-run, so on these machines both run inside the same L1 VM:
"real KVM, nested under TCG". TCG runs L1 and the guest, so absolute times
are not hardware times; ratios of the two VMMs in one run are fair once
L1's free memory has been touched (host.warm_l1, first): otherwise the
VMM that runs first pays L0's first touch of L1's RAM.

Per VMM, one guest (bench/hotplug.py's Bench):
  - exec -> the kernel's first line (earlyprintk=serial), exec -> agent
    ready, VmRSS at ready;
  - 128M (x5) and 1G (x5) hot-adds: device_add request -> reply, -> _OST,
    -> the agent's memory line (memory online);
  - exits per hot-add, counted by KVM's tracepoints in a tracefs instance
    of our own (perf counts nothing inside L1): hist triggers on
    kvm:kvm_pio (key: port), kvm:kvm_exit (key: exit reason),
    kvm:kvm_userspace_exit and kvmmmu:kvm_mmu_spte_requested (key: page
    level), each filtered on the VMM's vCPU threads (memplug's by name,
    vcpuN; QEMU's from query-cpus-fast), from just before object-add to
    the memory line;
    the same counters over 2 s of the idle guest first;
  - 5 removes of a 128M DIMM: device_del -> DEVICE_DELETED.
Then the CI throughput figure: complete guest cycles (boot to ready, one
128M hot-add, power-off through system_powerdown) per minute, with one VM
at a time (5 cycles) and with four at a time (3 cycles each).

Results: FILE (default bench/results/realkvm.json; --json), rewritten after
every phase: the raw records and their summary (medians, ratios) that
bench/report.py renders into bench/realkvm.md. Consoles in OUT (default
build/bench/realkvm). memplug runs from a copy of build/memplug (or
--memplug) taken at the start.
Usage: scripts/kvm-run [--memory 8G] /usr/bin/python3 bench/realkvm.py
[--quick] [--json FILE] [--out DIR] [--phases main,tp1,tp4]
[--vmms memplug,qemu] [--memplug PATH] [--report-only]
"""
import argparse
import os
import pathlib
import re
import sys
import threading
import time

import hotplug
import lib
from hotplug import M, Bench
from lib import KINDS, host, proc
from lib.hotplug_summary import timeline_rows
from lib.stats import median, ratio

CMDLINE = hotplug.CMDLINE + " earlyprintk=serial"
TRACING = pathlib.Path("/sys/kernel/tracing")
PHASES = ("main", "tp1", "tp4")
# Ports of the two machines: the memory hotplug controller (both at
# 0xa00), the GPE0 block (memplug 0x620, QEMU -M pc 0xafe0), COM1.
PORTS = {"pio_mhpc": {"memplug": (0xa00, 0xa1f), "qemu": (0xa00, 0xa1f)},
         "pio_gpe": {"memplug": (0x620, 0x627), "qemu": (0xafe0, 0xafe3)},
         "pio_serial": {"memplug": (0x3f8, 0x3ff), "qemu": (0x3f8, 0x3ff)}}
# SVM exit codes (kvm_amd's kvm_exit exit_reason).
SVM_EXITS = {0x400: "exit_npf", 0x7b: "exit_io", 0x78: "exit_hlt",
             0x60: "exit_intr", 0x64: "exit_vintr", 0x7c: "exit_msr"}


def lane():
    if os.path.exists("/sys/module/kvm_pvm"):
        return "PVM (software KVM)"
    if host.nested_lane():
        return "real KVM, nested under TCG"
    return "real KVM"


def vcpu_tids(kind, vm):
    """Thread ids of a VMM's vCPUs: QEMU's from query-cpus-fast (it names
    its threads only with -name debug-threads=on), memplug's by name
    (vcpuN)."""
    if kind == "qemu":
        return sorted(c["thread-id"] for c in vm.qmp.cmd("query-cpus-fast"))
    tids = []
    for task in os.listdir(f"/proc/{vm.pid}/task"):
        try:
            comm = pathlib.Path(f"/proc/{vm.pid}/task/{task}/comm").read_text()
        except OSError:
            continue
        if re.match(r"vcpu\d+$", comm.strip()):
            tids.append(int(task))
    return sorted(tids)


class TraceExits:
    """KVM exits of one VMM's vCPU threads over a window: hist triggers
    in a tracefs instance of our own (root only), so nothing is buffered
    and nothing can be lost."""

    HISTS = (("kvm", "kvm_pio", "port"), ("kvm", "kvm_exit", "exit_reason"),
             ("kvm", "kvm_userspace_exit", "reason"),
             ("kvmmmu", "kvm_mmu_spte_requested", "level"))
    seq = 0

    def __init__(self, kind, vm):
        TraceExits.seq += 1
        self.kind, self.tids = kind, vcpu_tids(kind, vm)
        self.inst = TRACING / "instances" / f"realkvm-{os.getpid()}-{self.seq}"
        self.triggers = []
        if not self.tids:
            raise RuntimeError(f"{kind} pid {vm.pid}: no vCPU threads found")
        flt = " || ".join(f"common_pid == {t}" for t in self.tids)
        self.inst.mkdir()
        for system, event, key in self.HISTS:
            path = self.inst / "events" / system / event / "trigger"
            spec = f"hist:keys={key}:vals=hitcount:size=4096 if {flt}"
            path.write_text(spec)
            self.triggers.append((path, spec))

    def read(self):
        """{event: {key value: count}}, plus dropped entries."""
        out = {}
        for path, _ in self.triggers:
            text = (path.parent / "hist").read_text()
            counts = {int(k): int(n) for k, n in re.findall(
                r"\{\s*\w+:\s*(\d+)\s*\}\s*hitcount:\s*(\d+)", text)}
            dropped = re.search(r"Dropped:\s*(\d+)", text)
            out[path.parent.name] = counts
            if dropped and int(dropped.group(1)):
                out[path.parent.name + "_dropped"] = int(dropped.group(1))
        return out

    def stop(self):
        """The window's counts by name (see summarize)."""
        try:
            raw = self.read()
        finally:
            for path, spec in self.triggers:
                path.write_text("!" + spec)
            self.inst.rmdir()
        return summarize(self.kind, raw)


def summarize(kind, raw):
    pio = raw.get("kvm_pio", {})
    ex = raw.get("kvm_exit", {})
    spte = raw.get("kvm_mmu_spte_requested", {})
    out = {name: sum(n for port, n in pio.items()
                     if by_kind[kind][0] <= port <= by_kind[kind][1])
           for name, by_kind in PORTS.items()}
    out["pio_all"] = sum(pio.values())
    out["exits_all"] = sum(ex.values())
    for code, name in SVM_EXITS.items():
        out[name] = ex.get(code, 0)
    out["userspace_exits"] = sum(raw.get("kvm_userspace_exit", {}).values())
    out["spte_4k"], out["spte_2m"] = spte.get(1, 0), spte.get(2, 0)
    out["raw"] = {k: {hex(a): n for a, n in v.items()} if isinstance(v, dict)
                  else v for k, v in raw.items()}
    return out


def tracing_works():
    """None when hist triggers on kvm:kvm_exit can be set, else why not."""
    if not (TRACING / "events" / "kvm" / "kvm_exit").exists():
        return f"no kvm:kvm_exit tracepoint under {TRACING}"
    inst = TRACING / "instances" / f"realkvm-probe-{os.getpid()}"
    try:
        inst.mkdir()
        trig = inst / "events" / "kvm" / "kvm_exit" / "trigger"
        trig.write_text("hist:keys=exit_reason")
        trig.write_text("!hist:keys=exit_reason")
    except OSError as e:
        return f"tracefs hist trigger: {e}"
    finally:
        if inst.exists():
            inst.rmdir()
    return None


def counted(b, use_trace, fn, *args):
    """Runs fn(*args) with the VMM's exits counted; returns the counts."""
    tr = TraceExits(b.kind, b.vm) if use_trace else None
    try:
        fn(*args)
    finally:
        counts = tr.stop() if tr else None
    return counts


def one_vmm(kind, kernel, out, use_trace, reps128, reps1g, removes):
    b = Bench(kind, kernel, out, False, slots=16, tag=f"real-{kind}",
              cmdline=CMDLINE, memplug=out / "memplug")
    try:
        b.boot()
        first = b.vm.console.wait_for(r"Linux version", 1)
        b.res["first_line_s"] = (b.vm.console.times[first] - b.vm.started
                                 if first is not None else None)
        if use_trace:
            b.res["vcpu_tids"] = vcpu_tids(kind, b.vm)
            b.res["idle_2s"] = counted(b, True, time.sleep, 2.0)
        for size, label, n in ((128 * M, "128M", reps128),
                               (1024 * M, "1G", reps1g)):
            for _ in range(n):
                exits = counted(b, use_trace, b.hot_add, size, label)
                b.res["hotadds"][-1]["exits"] = exits
                lib.log(f"{kind} {label}: exits {exits and {k: v for k, v in exits.items() if k != 'raw'}}")
        b.soak(removes)
    except Exception as e:  # keep what was measured
        b.res["error"] = str(e)
        lib.log(f"{kind}: ERROR {e}")
    finally:
        b.finish()
    return b.res


def guest_cycle(kind, kernel, out, tag):
    """Boot to ready, one 128M hot-add to its memory line, power-off."""
    b = Bench(kind, kernel, out, False, slots=8, tag=tag, cmdline=CMDLINE,
              memplug=out / "memplug")
    try:
        b.boot()
        b.hot_add(128 * M, "128M")
        b.vm.qmp.cmd("system_powerdown")
        b.vm.proc.wait(hotplug.ADD_TIMEOUT)
        if b.vm.proc.returncode != 0:
            raise RuntimeError(f"{tag}: exit status {b.vm.proc.returncode}")
    finally:
        b.finish()


def throughput(kind, kernel, out, parallel, per_worker):
    """Guest cycles per minute with `parallel` VMs at a time."""
    errors = []

    def worker(w):
        for n in range(per_worker):
            try:
                guest_cycle(kind, kernel, out, f"tp-{kind}-{parallel}-{w}-{n}")
            except Exception as e:
                errors.append(str(e))
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(w,))
               for w in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    minutes = (time.monotonic() - t0) / 60
    done = parallel * per_worker - len(errors)
    lib.log(f"{kind} x{parallel}: {done} cycles in {minutes * 60:.0f} s")
    return {"vmm": kind, "parallel": parallel, "cycles": done,
            "minutes": minutes, "per_minute": done / minutes,
            "errors": errors, "meminfo_end": host.meminfo()}


def med(res, label, key):
    return median([h.get(key) for h in res.get("hotadds", [])
                   if h["label"] == label])


def exits(res, label, key):
    return median([h["exits"].get(key) for h in res.get("hotadds", [])
                   if h["label"] == label and h.get("exits")])


EXIT_KEYS = ("pio_mhpc", "pio_gpe", "pio_all", "userspace_exits",
             "exits_all", "exit_npf", "spte_4k", "spte_2m")


def kib_mib(v):
    return v / 1024 if v is not None else None


def figures(m, q):
    """(key, memplug, QEMU)."""
    out = [("first_line_s", m.get("first_line_s"), q.get("first_line_s")),
           ("boot_s", m.get("boot_s"), q.get("boot_s")),
           ("rss_ready_mib", kib_mib(m.get("rss_ready_kb")),
            kib_mib(q.get("rss_ready_kb")))]
    for label in ("128M", "1G"):
        out += [(f"{label}.{k}", med(m, label, k), med(q, label, k))
                for k in ("reply_ms", "ost_ms", "memory_ms", "guest_ms")]
    for label in ("128M", "1G"):
        out += [(f"{label}.exits.{k}", exits(m, label, k),
                 exits(q, label, k)) for k in EXIT_KEYS]
    out.append(("remove.deleted_ms", *[median(
        [c["deleted_ms"] for c in r.get("cycles", [])]) for r in (m, q)]))
    return out


def throughput_rows(results):
    out = []
    for n in sorted({t["parallel"] for t in results["throughput"]}):
        per = {t["vmm"]: t["per_minute"] for t in results["throughput"]
               if t["parallel"] == n}
        out.append((f"throughput.{n}", per.get("memplug"), per.get("qemu")))
    return out


def errors(results):
    errs = [f"{k}: {results[k]['error']}" for k in KINDS
            if (results.get(k) or {}).get("error")]
    errs += [f"{t['vmm']} x{t['parallel']}: {e}" for t in results["throughput"]
             for e in t["errors"]]
    errs += [f"phase {p}: {e}"
             for p, e in results.get("phase_errors", {}).items()]
    return errs


def repetitions(results):
    """The runs behind each median, as the run made them."""
    per = {}
    for k in KINDS:
        r = results.get(k) or {}
        hs = r.get("hotadds", [])
        per[k] = {"128M": sum(h["label"] == "128M" for h in hs),
                  "1G": sum(h["label"] == "1G" for h in hs),
                  "removes": len(r.get("cycles", []))}
    return per


def summary(results):
    m, q = results.get("memplug") or {}, results.get("qemu") or {}
    rows = figures(m, q) + throughput_rows(results)
    return {"figures": [{"key": k, "memplug": a, "qemu": b,
                         "ratio": ratio(a, b)} for k, a, b in rows],
            "repetitions": repetitions(results),
            "throughput": [{k: t[k] for k in ("vmm", "parallel", "cycles",
                                              "minutes")}
                           for t in results["throughput"]],
            "idle_2s": {k: (results.get(k) or {}).get("idle_2s")
                        for k in KINDS},
            "timeline": timeline_rows(m),
            "errors": errors(results)}


def save(path, results):
    """After every phase: a later failure loses nothing."""
    lib.write_json(path, {"raw": results, "summary": summary(results)})


def l1_size():
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1])
    return f"{os.cpu_count()} vCPUs, {total / 1024 / 1024:.1f} GiB"


def run_phases(args, out, kernel, results, use_trace):
    reps = (1, 1, 1) if args.quick else (5, 5, 5)
    tps = {"tp1": (1, 2 if args.quick else 5),
           "tp4": (4, 1 if args.quick else 3)}
    for phase in args.phases:
        try:
            if phase == "main":
                for kind in args.vmms:
                    lib.log(f"{kind}: one guest, hot-adds and removes")
                    results[kind] = one_vmm(kind, kernel, out, use_trace,
                                            *reps)
                    save(args.json, results)
            else:
                for kind in args.vmms:
                    results["throughput"].append(
                        throughput(kind, kernel, out, *tps[phase]))
                    save(args.json, results)
        except Exception as e:  # record it, go on with the next phase
            results.setdefault("phase_errors", {})[phase] = repr(e)
            lib.log(f"phase {phase}: ERROR {e!r}")
            save(args.json, results)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 hot-add of each size, 1 remove, fewer cycles")
    ap.add_argument("--json", default=str(lib.RESULTS / "realkvm.json"),
                    help="results file (default bench/results/realkvm.json)")
    ap.add_argument("--out", default=str(lib.BUILD / "bench" / "realkvm"),
                    help="consoles and the copies of memplug and the kernel")
    ap.add_argument("--phases", default=",".join(PHASES),
                    help="comma-separated subset of main,tp1,tp4")
    ap.add_argument("--vmms", default=",".join(KINDS),
                    help="comma-separated subset of memplug,qemu")
    ap.add_argument("--memplug", default=str(lib.MEMPLUG),
                    help="memplug binary (copied to OUT first)")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: recompute the summary in the "
                    "JSON file from its raw records")
    args = ap.parse_args()
    args.phases = [p for p in args.phases.split(",") if p]
    args.vmms = [k for k in args.vmms.split(",") if k]
    if set(args.phases) - set(PHASES) or set(args.vmms) - set(KINDS):
        ap.error("--phases or --vmms: a name not listed in --help")
    return args


def measure(args, out):
    t_start = time.monotonic()
    proc.install_cleanup()
    kernel = out / "vmlinux"
    sha = host.snapshot(lib.VMLINUX, kernel)["sha256"]
    memplug = host.snapshot(args.memplug, out / "memplug")["sha256"]
    terr = tracing_works()
    results = {"date": lib.now_iso(), "lane": lane(), "quick": args.quick,
               "phases": args.phases, "kernel_sha256": sha,
               "memplug_sha256": memplug,
               "exits_by": terr or "tracefs hist triggers on the vCPU threads",
               "nproc": os.cpu_count(), "uname": os.uname().release,
               "l1": l1_size(), "qemu_version": host.qemu_version(),
               "loadavg_start": host.loadavg(), "throughput": []}
    host.warm_l1(results)
    save(args.json, results)
    run_phases(args, out, kernel, results, terr is None)
    results["loadavg_end"] = host.loadavg()
    results["wall_s"] = time.monotonic() - t_start
    save(args.json, results)
    return results


def main():
    args = parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        results = lib.read_json(args.json)["raw"]
        save(args.json, results)
    else:
        results = measure(args, out)
    lib.log(f"wrote {lib.rel(args.json)}")
    failed = any((results.get(k) or {}).get("error") for k in KINDS)
    return 1 if failed or results.get("phase_errors") else 0


if __name__ == "__main__":
    sys.exit(main())
