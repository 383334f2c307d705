"""bench/realkvm.md's tables: the real-KVM run (bench/realkvm.py) and the
stock kernel's boots (bench/stock.py)."""
from lib.stats import ratio
from render.fmt import bullets, fmt_g, fmt_stats, md_table


RK_WHAT = {
    "first_line_s": "exec → kernel's first line (s)",
    "boot_s": "exec → agent ready (s)",
    "rss_ready_mib": "VmRSS at ready (MiB)",
    "reply_ms": "device_add → reply (ms)",
    "ost_ms": "device_add → _OST (ms)",
    "memory_ms": "device_add → memory online (ms)",
    "guest_ms": "the guest's part: its first read of the DIMM → _OST (ms)",
    "exits.pio_mhpc": "per hot-add: port exits, hotplug controller "
    "0xa00-0xa1f",
    "exits.pio_gpe": "per hot-add: port exits, GPE0 block",
    "exits.pio_all": "per hot-add: all port exits (kvm_pio)",
    "exits.userspace_exits": "per hot-add: exits to the VMM "
    "(kvm_userspace_exit)",
    "exits.exits_all": "per hot-add: all KVM exits (kvm_exit)",
    "exits.exit_npf": "per hot-add: nested page faults (kvm_exit npf)",
    "exits.spte_4k": "per hot-add: 4K pages mapped (kvm_mmu_spte_requested "
    "level 1)",
    "exits.spte_2m": "per hot-add: 2M pages mapped (level 2)",
    "remove.deleted_ms": "128M device_del → DEVICE_DELETED (ms)",
}


def rk_label(key):
    if key.startswith("throughput."):
        return (f"guest cycles per minute, {key.split('.')[1]} at a time "
                "(higher is better)")
    size, _, rest = key.partition(".")
    if size in ("128M", "1G"):
        return f"{size} {RK_WHAT[rest]}"
    return RK_WHAT[key]


def realkvm_table(R):
    return md_table(["figure", "memplug", "QEMU", "ratio"], [
        [rk_label(f["key"]), fmt_g(f["memplug"]), fmt_g(f["qemu"]),
         fmt_g(f["ratio"]) + ("x" if f["ratio"] else "")]
        for f in R["realkvm"]["summary"]["figures"]])


def realkvm_header(R):
    r = R["realkvm"]["raw"]
    return (f"{r['date']}{' (--quick)' if r['quick'] else ''}; "
            f"{r['lane']}; L1: {r.get('l1', '?')}; {r['qemu_version']}; "
            f"kernel {r['uname']}, {r['nproc']} vCPUs; guest kernel sha256 "
            f"{r['kernel_sha256'][:16]}; memplug sha256 "
            f"{r.get('memplug_sha256', '?')}; exits: {r.get('exits_by')}; "
            f"wall time {r.get('wall_s', 0) / 60:.1f} min")


def realkvm_reps(R):
    s = R["realkvm"]["summary"]
    body = [[k, v["128M"], v["1G"], v["removes"]]
            for k, v in s["repetitions"].items()]
    tp = md_table(["VMM", "at a time", "cycles", "seconds"],
                  [[t["vmm"], t["parallel"], t["cycles"],
                    f"{t['minutes'] * 60:.0f}"] for t in s["throughput"]])
    return md_table(["VMM", "128M hot-adds", "1G hot-adds", "removes"],
                    body) + "\n\n" + tp


def realkvm_idle(R):
    idle = R["realkvm"]["summary"]["idle_2s"]
    return md_table(["VMM", "KVM exits", "port exits", "on the controller"],
                    [[k, v["exits_all"], v["pio_all"], v["pio_mhpc"]]
                     for k, v in idle.items() if v])


STOCK_ROWS = (("memplug-cold", "memplug, unpacked on the host, empty cache"),
              ("memplug-cached", "memplug, unpacked on the host, cached"),
              ("memplug-in-guest", "memplug, the kernel's own decompressor"),
              ("qemu", "QEMU -enable-kvm -cpu host -M pc"))


def stock_table(R):
    """exec -> first kernel line and -> user space per way of booting the
    stock kernel, with ratios to QEMU and the issue's target."""
    secs = R["stock"]["sections"]
    target = R["targets"]["max_ratio"]["stock_ready"]
    q = (secs.get("qemu") or {}).get("ready_s") or {}
    rows = []
    for key, label in STOCK_ROWS:
        s = secs.get(key) or {}
        r = ratio((s.get("ready_s") or {}).get("median"), q.get("median"))
        verdict = "" if r is None or key == "qemu" else \
            (" (target met)" if r <= target else f" (target {target}x not met)")
        rows.append([label, fmt_stats(s.get("linux_version_s"), "s"),
                     fmt_stats(s.get("ready_s"), "s"),
                     "-" if r is None or key == "qemu"
                     else f"{fmt_g(r)}x{verdict}",
                     s.get("failures", s.get("skipped", "-"))])
    return md_table(["boot", "exec → first kernel line", "exec → user space "
                     "(agent ready)", "ready / QEMU", "failed boots"], rows)


def stock_header(R):
    r = R["stock"]
    return (f"{r['date']}; kernel {r['kernel'].get('path', '?')} sha256 "
            f"{r['kernel'].get('sha256', '?')[:16]}; {r['machine'].get('qemu')}; "
            f"command line `{r['cmdline']}`")


def realkvm_errors(R):
    return bullets(R["realkvm"]["summary"]["errors"])
