"""KVM exit counts of a VMM over a window, by perf stat."""
import shutil
import signal
import subprocess
import time

from lib import proc


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
        self.proc = proc.popen(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        # perf needs a moment to open its counters; counts from before the
        # request are measured by the idle baseline.
        time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.stop_popen(self.proc)
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
