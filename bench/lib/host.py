"""The machine the benchmarks run on: what it is (CPU, KVM, QEMU, the
binaries and kernels by hash) and what else it is doing (load, CPU share
of other processes, VMMs started by others)."""
import datetime
import hashlib
import mmap
import os
import platform
import shutil
import subprocess
import sys
import time

import lib
from lib import proc

CLK_TCK = os.sysconf("SC_CLK_TCK")
VMM_COMMS = ("memplug", "lkvm", "qemu-system-x86", "qemu-system-x86_64",
             "firecracker", "cloud-hypervisor")


def run_quiet(argv, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, **kw)
    except OSError as e:
        return subprocess.CompletedProcess(argv, 127, "", str(e))


def first_line(text):
    lines = text.strip().splitlines()
    return lines[0] if lines else None


def is_pvm():
    return os.path.exists("/sys/module/kvm_pvm")


def kvm_kind():
    try:
        with open("/sys/module/kvm_pvm/parameters/pvm_native") as f:
            return "kvm_pvm (software KVM, pvm_native=%s)" % f.read().strip()
    except OSError:
        pass
    for mod in ("kvm_intel", "kvm_amd"):
        if os.path.exists(f"/sys/module/{mod}"):
            return mod
    return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def qemu_version(qemu="qemu-system-x86_64"):
    return first_line(run_quiet([qemu, "--version"]).stdout)


def ensure_qemu():
    """(path of qemu-system-x86_64, None), installing Debian's
    qemu-system-x86 with apt-get if it is missing; (None, why) if that
    fails."""
    q = shutil.which("qemu-system-x86_64")
    if q:
        return q, None
    lib.log("qemu-system-x86_64 not found: installing qemu-system-x86")
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


def machine():
    """The host as the results record it."""
    return {"host": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "cpu_model": cpu_model(),
            "kvm": kvm_kind(), "python": platform.python_version()}


# --------------------------------------------------------------------------
# Files by hash

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
    return {"path": lib.rel(path), "sha256": sha256_short(path),
            "mtime": datetime.datetime.fromtimestamp(
                st.st_mtime, datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")}


def snapshot(src, dst, marker=None, tries=30):
    """Copy the ELF file src to dst for a whole run (the build may be
    redone meanwhile), retried while src changes under us; with marker, the
    copy must contain it. Returns dst's file_info with the source's as copied_from."""
    tmp = str(dst) + ".tmp"
    for _ in range(tries):
        before = file_info(src)
        shutil.copyfile(src, tmp)
        after = file_info(src)
        with open(tmp, "rb") as f:
            data = f.read()
        if (before == after and data[:4] == b"\x7fELF"
                and (marker is None or marker in data)):
            os.replace(tmp, dst)
            shutil.copymode(src, dst)
            info = file_info(dst)
            info["copied_from"] = after
            return info
        os.unlink(tmp)
        time.sleep(10)
    sys.exit(f"bench: {lib.rel(src)} keeps changing (or lacks {marker!r}); "
             "try again later")


# --------------------------------------------------------------------------
# /proc readers

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


def rss_kib(pid):
    st = proc_status(pid)
    return st and st.get("VmRSS")


def _stat_fields(pid):
    # Split after the command name, which may hold spaces; fields[0] is
    # field 3 (state): utime=14, stime=15, guest_time=43.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def proc_cpu(pid):
    """utime/stime/guest_time of a live process, in ms."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    tick = 1000.0 / CLK_TCK
    return {"utime_ms": int(fields[11]) * tick,
            "stime_ms": int(fields[12]) * tick,
            "guest_ms": int(fields[40]) * tick}


def proc_cpu_run(pid):
    """(utime s, stime s, schedstat run ns summed over the threads)."""
    fields = _stat_fields(pid)
    ut, st = int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    run_ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                run_ns += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return ut, st, run_ns


def meminfo(keys=("MemTotal", "MemAvailable")):
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in keys:
                out[k] = int(v.split()[0])
    return out


def nested_lane():
    """Whether this runs in scripts/kvm-run's L1 (real KVM under TCG)."""
    return os.environ.get("MEMPLUG_KVM_LANE") == "nested"


def warm_l1(results):
    """warm_memory() in the nested lane, logged and recorded in results."""
    if not nested_lane():
        return
    t = time.monotonic()
    lib.log("touching L1's free memory once, so no VMM pays L0's first "
            "touch of it")
    results["l1_warmed_mib"] = warm_memory()
    lib.log(f"touched {results['l1_warmed_mib']} MiB in "
            f"{time.monotonic() - t:.0f} s")


def warm_memory(keep_mib=512):
    """Touches all of this machine's available memory but keep_mib once,
    then gives it back; returns the MiB touched. In a VM whose RAM its
    host backs on first touch (L1 under QEMU-TCG), whatever runs first
    pays that: a VMM measured first in a fresh L1 paid ~5 ms per 2 MiB its
    guest touched first, which made its 1G hot-add look 1.46x slower when
    first and 0.64x when second (bench/realkvm.md)."""
    mib = meminfo()["MemAvailable"] // 1024 - keep_mib
    if mib <= 0:
        return 0
    with mmap.mmap(-1, mib << 20) as m:
        # One byte per 4 KiB page (256 a MiB), strided in C.
        m[::4096] = b"\1" * (mib << 8)
    return mib


# --------------------------------------------------------------------------
# Load

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return None


def cpu_ticks():
    """(busy, total) ticks of the whole host from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def other_vmms():
    """VMM processes on the host that this script did not start."""
    found = []
    ours = proc.tracked()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in ours:
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
    b0, t0 = cpu_ticks()
    time.sleep(sample)
    b1, t1 = cpu_ticks()
    return 100.0 * (b1 - b0) / max(t1 - t0, 1)


def _busy_reason(others, busy, busy_max):
    if others:
        return "; ".join(o[:60] for o in others)
    return f"host CPU {busy:.0f} % (want < {busy_max:.0f} %)"


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
                lib.log(f"  machine quiet (CPU {busy:.0f} %), going on")
            return
        if time.monotonic() >= deadline:
            lib.log("  machine still busy after %.0f s, going on: %s" % (
                limit, _busy_reason(others, busy, busy_max)))
            return
        if not said:
            lib.log("  waiting up to %.0f s for a quiet machine: %s" % (
                limit, _busy_reason(others, busy, busy_max)))
            said = True
        if others:
            time.sleep(2.0)


def _cpu_seconds(t):
    return t.user + t.system + t.children_user + t.children_system


class HostProbe:
    """What the rest of the machine did while a section ran: host CPU busy
    share, the share of it that was this script and its children, and other
    VMMs running (a second guest halves a guest's speed here)."""

    def __init__(self):
        self.t = time.monotonic()
        self.ticks = cpu_ticks()
        self.times = os.times()
        self.load = loadavg()
        self.others = set(other_vmms())

    def done(self):
        dt = time.monotonic() - self.t
        busy, total = cpu_ticks()
        ours = _cpu_seconds(os.times()) - _cpu_seconds(self.times)
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


def memplug_info(binary=lib.MEMPLUG):
    r = run_quiet([str(binary), "--version"])
    return {"memplug": first_line(r.stdout + r.stderr),
            "memplug_binary": file_info(binary)}


def measured(fn, idle_wait=0.0):
    """Run fn() -> {name: section} and stamp every section with the date,
    what else the machine did meanwhile and the memplug binary it ran."""
    wait_idle(idle_wait)
    probe = HostProbe()
    binary = file_info(lib.MEMPLUG)
    out = fn()
    host = probe.done()
    if file_info(lib.MEMPLUG) != binary:
        host["note"] = "build/memplug was rebuilt during this section"
    if host["other_vmms"]:
        lib.log("  warning: other VMMs ran meanwhile: "
                + "; ".join(host["other_vmms"]))
    for sec in out.values():
        sec.update(date=lib.now_iso(), host=host, memplug=binary)
    return out


def selection(only, sections, groups, error):
    """--only NAME,... (names or groups) -> the selected sections in order."""
    sel = []
    for name in filter(None, (x.strip() for x in only.split(","))):
        if name in groups:
            sel += groups[name]
        elif name in sections:
            sel.append(name)
        else:
            error(f"--only: unknown name {name!r}")
    return [s for s in sections if s in sel] if sel else list(sections)
