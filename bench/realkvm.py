#!/usr/bin/python3
"""Real-KVM benchmark: memplug against QEMU (-enable-kvm -cpu host -M pc,
pc-dimm) on a real KVM, one VMM after the other, same guest kernel
(build/guest/vmlinux) and command line. `make bench` runs it through
scripts/kvm-run, so on these machines both run inside the same L1 VM:
"real KVM, nested under TCG". TCG runs L1 and the guest, so absolute times
are not hardware times; ratios of the two VMMs in one run are fair.

Per VMM, one guest (bench/hotplug.py's Bench):
  - exec -> the kernel's first line (earlyprintk=serial), exec -> agent
    ready,
    VmRSS at ready;
  - 128M (x3) and 1G (x2) hot-adds: device_add request -> reply, -> _OST,
    -> the agent's memory line (memory online); exits per hot-add (perf
    kvm:kvm_pio on the hotplug controller and GPE ports, all port I/O);
  - 3 removes of a 128M DIMM: device_del -> DEVICE_DELETED.
Then the CI throughput figure: complete guest cycles (boot to ready, one
128M hot-add, power-off through system_powerdown) per minute, with one VM
at a time and with four at a time.

Results: OUT/results.json and bench/realkvm.md (default OUT
build/bench/realkvm). Usage: scripts/kvm-run /usr/bin/python3
bench/realkvm.py [--quick] [--out DIR] [--no-md]
"""
import argparse
import atexit
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time

import hotplug
from hotplug import M, Bench, loadavg, perf_works, sha

ROOT = pathlib.Path(__file__).resolve().parent.parent
CMDLINE = hotplug.CMDLINE + " earlyprintk=serial"
KINDS = ("memplug", "qemu")


def lane():
    if os.path.exists("/sys/module/kvm_pvm"):
        return "PVM (software KVM)"
    if os.environ.get("MEMPLUG_KVM_LANE") == "nested":
        return "real KVM, nested under TCG"
    return "real KVM"


def one_vmm(kind, kernel, out, use_perf, reps128, reps1g, removes):
    b = Bench(kind, kernel, out, use_perf, slots=8, tag=f"real-{kind}",
              cmdline=CMDLINE)
    try:
        b.boot()
        first = b.vm.console.wait_for(r"Linux version", 1)
        b.res["first_line_s"] = (b.vm.console.times[first] - b.vm.started
                                 if first is not None else None)
        for _ in range(reps128):
            b.hot_add(128 * M, "128M")
        for _ in range(reps1g):
            b.hot_add(1024 * M, "1G")
        b.soak(removes)
    except Exception as e:  # keep what was measured
        b.res["error"] = str(e)
        hotplug.log(f"{kind}: ERROR {e}")
    finally:
        b.finish()
    return b.res


def guest_cycle(kind, kernel, out, tag):
    """Boot to ready, one 128M hot-add to its memory line, power-off."""
    b = Bench(kind, kernel, out, False, slots=8, tag=tag, cmdline=CMDLINE)
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
    hotplug.log(f"{kind} x{parallel}: {done} cycles in {minutes * 60:.0f} s")
    return {"parallel": parallel, "cycles": done, "minutes": minutes,
            "per_minute": done / minutes, "errors": errors}


def med(res, label, key):
    xs = [h[key] for h in res.get("hotadds", []) if h["label"] == label
          and h.get(key) is not None]
    return statistics.median(xs) if xs else None


def exits(res, label, key):
    xs = [h["exits"].get(key) for h in res.get("hotadds", [])
          if h["label"] == label and h.get("exits")]
    xs = [x for x in xs if isinstance(x, int)]
    return statistics.median(xs) if xs else None


def rows(results):
    """(figure, memplug, QEMU) in the units named in the figure."""
    m, q = results["memplug"], results["qemu"]
    out = [("exec → kernel's first line (s)", m.get("first_line_s"), q.get("first_line_s")),
           ("exec → agent ready (s)", m.get("boot_s"), q.get("boot_s")),
           ("VmRSS at ready (MiB)", (m.get("rss_ready_kb") or 0) / 1024,
            (q.get("rss_ready_kb") or 0) / 1024)]
    for label in ("128M", "1G"):
        out += [(f"{label} device_add → reply (ms)", med(m, label, "reply_ms"), med(q, label, "reply_ms")),
                (f"{label} device_add → _OST (ms)", med(m, label, "ost_ms"), med(q, label, "ost_ms")),
                (f"{label} device_add → memory online (ms)", med(m, label, "memory_ms"), med(q, label, "memory_ms"))]
    for key in ("pio_mhpc", "pio_gpe", "pio_all"):
        out.append((f"128M exits per hot-add: {key}", exits(m, "128M", key), exits(q, "128M", key)))
    rm = [statistics.median([c["deleted_ms"] for c in r.get("cycles", [])] or [float("nan")])
          for r in (m, q)]
    out.append(("128M device_del → DEVICE_DELETED (ms)", rm[0], rm[1]))
    for n in sorted({t["parallel"] for t in results["throughput"]}):
        per = {t["vmm"]: t["per_minute"] for t in results["throughput"]
               if t["parallel"] == n}
        out.append((f"guest cycles per minute, {n} at a time (higher is better)",
                    per.get("memplug"), per.get("qemu")))
    return out


def fmt(v):
    if v is None or v != v:
        return "—"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def markdown(results):
    lines = [f"# Real KVM: memplug against QEMU ({results['lane']})", "",
             f"bench/realkvm.py, {results['date']}"
             f"{' (--quick)' if results['quick'] else ''}; {results['qemu_version']}; "
             f"kernel {results['uname']}, {results['nproc']} vCPUs; guest kernel "
             f"sha256 {results['kernel_sha256'][:16]}; perf: {results['perf']}. "
             "Medians; ratio = memplug / QEMU (lower is better, except cycles "
             "per minute). The method is in the script's docstring.", "",
             "| figure | memplug | QEMU | ratio |", "| --- | --- | --- | --- |"]
    for name, a, b in rows(results):
        ratio = a / b if a is not None and b not in (None, 0) and a == a and b == b else None
        lines.append(f"| {name} | {fmt(a)} | {fmt(b)} | {fmt(ratio)}{'x' if ratio else ''} |")
    errs = [f"{k}: {results[k]['error']}" for k in KINDS if results[k].get("error")]
    errs += [f"{t['vmm']} x{t['parallel']}: {e}" for t in results["throughput"]
             for e in t["errors"]]
    if errs:
        lines += ["", "Errors in this run:", ""] + [f"- {e}" for e in errs]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 hot-add of each size, 1 remove, fewer cycles")
    ap.add_argument("--out", default=str(ROOT / "build" / "bench" / "realkvm"))
    ap.add_argument("--no-md", action="store_true",
                    help="do not rewrite bench/realkvm.md")
    args = ap.parse_args()
    atexit.register(hotplug.stop_all)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kernel = out / "vmlinux"
    kernel.write_bytes((ROOT / "build" / "guest" / "vmlinux").read_bytes())
    perr = perf_works()
    results = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "lane": lane(), "quick": args.quick,
               "kernel_sha256": sha(kernel), "perf": perr or "kvm:kvm_pio ok",
               "nproc": os.cpu_count(), "uname": os.uname().release,
               "qemu_version": subprocess.run(
                   ["qemu-system-x86_64", "--version"], capture_output=True,
                   text=True).stdout.splitlines()[0],
               "loadavg_start": loadavg(), "throughput": []}
    reps = (1, 1, 1) if args.quick else (3, 2, 3)
    for kind in KINDS:
        hotplug.log(f"{kind}: one guest, hot-adds and removes")
        results[kind] = one_vmm(kind, kernel, out, perr is None, *reps)
    for parallel, per_worker in ((1, 2 if args.quick else 5),
                                 (4, 1 if args.quick else 3)):
        for kind in KINDS:
            t = throughput(kind, kernel, out, parallel, per_worker)
            t["vmm"] = kind
            results["throughput"].append(t)
    results["loadavg_end"] = loadavg()
    (out / "results.json").write_text(json.dumps(results, indent=1))
    md = markdown(results)
    if not args.no_md:
        (ROOT / "bench" / "realkvm.md").write_text(md)
    print(md)
    return 0 if not any(results[k].get("error") for k in KINDS) else 1


if __name__ == "__main__":
    sys.exit(main())
