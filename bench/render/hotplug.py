"""Hot-add and hot-remove (bench/hotplug.py's summary)."""
from lib.timeline import TIMELINE
from render.fmt import bullets, fmt, fmt_hp, fmt_ratio, md_table


HP_WHAT = {
    "reply_ms": "device_add → reply",
    "ost_ms": "device_add → ACPI_DEVICE_OST",
    "memory_ms": "device_add → agent memory line",
    "exits.pio_mhpc": "port exits 0xa00-0xa1f (MHPC)",
    "exits.pio_gpe": "port exits, GPE0 block",
    "exits.pio_all": "all port-I/O exits (kvm_pio)",
    "exits.userspace_exits": "exits to the VMM (kvm_userspace_exit)",
    "mhp_trace_lines": "QEMU mhp_acpi_* trace lines",
    "utime_ms": "VMM user CPU (10 ms ticks)",
    "stime_ms": "VMM system CPU (incl. guest emulation)",
    "run_ms": "VMM run time, schedstat",
    "burst.reply_sum_ms": "burst: sum of device_add replies",
    "burst.reply_median_ms": "burst: median device_add reply",
    "burst.reply_max_ms": "burst: max device_add reply",
    "burst.last_ost_ms": "burst: first request → last _OST",
    "burst.memory_ms": "burst: first request → all MemTotal",
    "burst.utime_ms": "burst: VMM user CPU (10 ms ticks)",
    "burst.stime_ms": "burst: VMM system CPU",
    "remove.reply_ms": "remove 128M: device_del → reply",
    "remove.ost84_ms": "remove 128M: device_del → _OST 0x84",
    "remove.deleted_ms": "remove 128M: device_del → DEVICE_DELETED",
    "remove.memory_ms": "remove 128M: device_del → agent memory line",
    "remove.object_del_ms": "remove 128M: object-del → reply",
    "remove.freed_ms": "remove 128M: object-del → host memory freed (VmRSS "
    "down by ≥ 90 % of the DIMM; 5 s cap)",
    "remove.returned_kb": "remove 128M (preallocated): VmRSS returned after "
    "object-del",
    "remove.exits.pio_mhpc": "remove 128M: port exits 0xa00-0xa1f (MHPC)",
    "remove.exits.userspace_exits": "remove 128M: exits to the VMM",
    "remove.stime_ms": "remove 128M: VMM system CPU",
    "soak.drift_last_kb": "soak: RSS after the last cycle − before the first",
    "soak.drift_max_kb": "soak: largest RSS rise over the baseline",
}


def hp_label(f):
    key = f["key"]
    if key.split(".")[0] in ("128M", "1G"):
        size, rest = key.split(".", 1)
        return f"{size}: {HP_WHAT[rest]}"
    return HP_WHAT[key] + (f" (x{f['count']})" if f.get("count") else "")


def hotplug_table(R):
    return md_table(
        ["figure", "memplug", "n", "QEMU -M pc", "n", "memplug/QEMU"],
        [[hp_label(f), fmt_hp(f["memplug"], f["unit"]), f["memplug_n"],
          fmt_hp(f["qemu"], f["unit"]), f["qemu_n"], fmt_ratio(f["ratio"])]
         for f in R["hotplug"]["summary"]["figures"]])


def hotplug_slots(R):
    return md_table(
        ["VMM", "slots", "port exits 0xa00-0xa1f", "exits to the VMM", "n"],
        [[s["vmm"], s["slots"], fmt_hp(s["pio_mhpc"], ""),
          fmt_hp(s["userspace_exits"], ""), s["n"]]
         for s in R["hotplug"]["summary"]["slots"]])


def dimm_name(t):
    if "burst" in t:
        return f"burst x{t['burst']}: {t['stat']}"
    return f"{t['label']} ({t['id']})"


def timeline_table(rows):
    return md_table(["DIMM", "slot installed", "SCI raised",
                     "guest first read", "_OST"],
                    [[dimm_name(t)] + [fmt_hp(t.get(k), "µs")
                                       for k in TIMELINE] for t in rows])


def sci_verdict(R):
    s = R["hotplug"]["summary"].get("sci") or {}
    limit = R["targets"]["sci_raised_us_max"]
    if not s:
        return "n/a"
    if s["max"] < limit:
        return "met by every DIMM"
    if s["median"] < limit:
        return "met by the median, not by every DIMM"
    return "**NOT met**"


def hotplug_sci(R):
    s = R["hotplug"]["summary"].get("sci")
    if not s:
        return "No memplug timelines in the data."
    return md_table(
        ["DIMMs", "median", "90th percentile", "max", "at 1 ms or more",
         "target", "verdict"],
        [[s["n"], fmt_hp(s["median"], "µs"), fmt_hp(s["p90"], "µs"),
          fmt_hp(s["max"], "µs"), f"{s['at_least_1ms']} of {s['n']}",
          "< %s" % fmt_hp(R["targets"]["sci_raised_us_max"], "µs"),
          sci_verdict(R)]]) + "\n\n" + md_table(
        ["DIMMs with the KVM call in their timeline",
         "KVM_SET_USER_MEMORY_REGION median", "max",
         "the rest (memplug's checks, controller, GPE) median", "max"],
        [[s["split_n"], fmt_hp(s["kvm_median"], "µs"),
          fmt_hp(s["kvm_max"], "µs"), fmt_hp(s["own_median"], "µs"),
          fmt_hp(s["own_max"], "µs")]])


def idle_cell(idle):
    return ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in idle.items()) or "-"


def hotplug_vmms(R):
    body = []
    for v in R["hotplug"]["summary"]["vmms"]:
        body.append([v["tag"], fmt(v["boot_s"], "s", 1),
                     fmt(v["rss_ready_kb"], "KiB"),
                     fmt(v["rss_end_kb"], "KiB"), v["cycles"],
                     fmt(v["soak_baseline_kb"], "KiB"),
                     idle_cell(v["idle_per_s"]),
                     " → ".join(v["loadavg"] or []),
                     "; ".join(v["other_vmms"]) or "none",
                     v.get("error") or ""])
    return md_table(["boot", "boot → ready", "VmRSS at ready", "at end",
                     "add/remove cycles", "RSS before the first",
                     "idle exits/s", "load averages", "other VMMs",
                     "error"], body)


def hotplug_soak(R):
    return bullets(
        f"{v['tag']}: " + ", ".join(str(x) for x in v["rss_after_cycles_kb"])
        for v in R["hotplug"]["summary"]["vmms"] if v["rss_after_cycles_kb"])


def hotplug_measured(R):
    r = R["hotplug"]["raw"]
    return (f"{r.get('date')} ({'--quick' if r.get('quick') else 'full'} "
            f"run), guest kernel sha256 {r.get('kernel_sha256')}, "
            f"{r.get('qemu_version')}, host {r.get('uname')}, "
            f"{r.get('nproc')} CPUs, perf: {r.get('perf')}"
            + (f"; {r['merged']}" if r.get("merged") else ""))
