#!/usr/bin/python3
"""bench/results/*.json -> bench/README.md and bench/realkvm.md, and the SVG
plots under bench/plots/ (gnuplot).

The text is the templates' (bench/README.md.in, bench/realkvm.md.in),
written by hand; this script fills their {{placeholders}}: tables, figures
and verdicts computed from the numbers and bench/targets.json. A figure is
{{FILE.SECTION.KEY}} (its median, e.g. {{flat.exit.loop_ms}}; "|s" shows
milliseconds as seconds), a table or list is {{NAME}} (see PARTS).
Measures nothing: rerun it after any measurement script.
"""
import os
import re
import subprocess
import sys

import lib
from lib.stats import median, ratio
from lib.timeline import TIMELINE

BENCH = lib.ROOT / "bench"
PLOTS = BENCH / "plots"
PLOT_DATA = lib.BUILD / "bench" / "plots"
FILES = ("flat", "boot", "hotplug", "realkvm", "stock")
BOOTS = ("boot-memplug", "boot-qemu-pc", "boot-qemu-q35")
UNITS = (("_ms", "ms"), ("_us", "µs"), ("_kib", "KiB"), ("_kb", "KiB"),
         ("_s", "s"))


# --------------------------------------------------------------------------
# Number formats

def fmt(v, unit="", nd=None):
    """1,234 / 12.3 / 1.23, with the unit."""
    if v is None:
        return "-"
    if nd is None:
        nd = (0 if unit == "KiB" or abs(v) >= 1000 else 1 if abs(v) >= 10
              else 2)
    s = f"{v:,.{nd}f}"
    return f"{s} {unit}".strip()


def fmt_stats(s, unit=""):
    """median (min-max, n)."""
    if not s:
        return "-"
    if s["n"] == 1:
        return f"{fmt(s['median'], unit)} (n=1)"
    nd = 0 if unit == "KiB" else None
    return "%s (%s-%s, n=%d)" % (fmt(s["median"], unit), fmt(s["min"], "", nd),
                                 fmt(s["max"], "", nd), s["n"])


def fmt_hp(v, unit):
    """The hot-add tables' format: ms below 10 with two decimals, seconds
    from 10 s."""
    if v is None:
        return "—"
    if unit == "cpu":
        return f"{v:,.0f} ms"
    if unit == "ms" and v < 10:
        return f"{v:.2f} ms"
    if unit == "ms" and v >= 10000:
        return f"{v / 1000:.1f} s"
    return f"{v:,.0f} {unit}".strip()


def fmt_g(v):
    """Three significant digits (the real-KVM table)."""
    if v is None:
        return "—"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def fmt_ratio(r, nd=2):
    return "—" if r is None else f"{r:.{nd}f}x"


def unit_of(key):
    return next((u for suffix, u in UNITS if key.endswith(suffix)), "")


def md_table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def bullets(items):
    return "\n".join(f"- {x}" for x in items) or "- none"


# --------------------------------------------------------------------------
# Flat guests and boots: memplug / peer with the targets' verdicts

def med(sec, key):
    s = (sec or {}).get(key)
    return s["median"] if isinstance(s, dict) and "median" in s else None


def n_of(sec, key):
    s = (sec or {}).get(key)
    return s["n"] if isinstance(s, dict) and "n" in s else None


def verdict(r, target, band, why_not=None):
    if target is None:
        return why_not or ""
    if r is None:
        return "n/a" + (f" ({why_not})" if why_not else "")
    v = "met" if r <= target else "**NOT met**"
    if abs(r / target - 1) < band:
        v += " (within %d %% of the target)" % round(band * 100)
    return v


def cmp_row(R, key, label, unit, mine, peer_name, peer, why_not=None):
    """mine, peer: (value, n)."""
    t = R["targets"]["max_ratio"].get(key)
    r = ratio(mine[0], peer[0])
    return [label, fmt_n(mine, unit), peer_name, fmt_n(peer, unit),
            fmt_ratio(r), f"≤ {t}x" if t is not None else "—",
            verdict(r, t, R["targets"]["noise_band"], why_not)]


def fmt_n(vn, unit):
    v, n = vn
    return fmt(v, unit) + (f" (n={n})" if n else "")


def peer_kvmtool(R, key):
    """(name, (value, n)) of kvmtool for a flat figure: measured, the 64-bit
    guest for the exit, or the anchor."""
    S = R["flat"]["sections"]
    kv, kv64 = S.get("kvmtool") or {}, S.get("kvmtool64") or {}
    if "skipped" in kv or not kv:
        a = R["targets"]["kvmtool_anchor"]
        return ("kvmtool (anchor: " + a["source"] + ")", (a[key], a["n"]))
    if key == "exit_us" and kv64.get("exit_us"):
        return "kvmtool (64-bit guest)", (med(kv64, key), n_of(kv64, key))
    return "kvmtool", (med(kv, key), n_of(kv, key))


def flat_rows(R):
    S = R["flat"]["sections"]
    rows = []
    for key, label, unit, name, skey in (
            ("first_byte", "exec → first guest byte (flat guest)", "ms",
             "first-byte", "first_byte_ms"),
            ("exit", "port-I/O exit round trip", "µs", "exit", "exit_us"),
            ("rss_flat", "VMM VmRSS, flat guest running", "KiB", "rss",
             "rss_kib")):
        sec = S.get(name)
        if sec:
            peer, pv = peer_kvmtool(R, skey)
            rows.append(cmp_row(R, key, label, unit,
                                (med(sec, skey), n_of(sec, skey)), peer, pv))
    ex, kv, kv64 = S.get("exit"), S.get("kvmtool") or {}, S.get("kvmtool64")
    if ex and kv64 and kv.get("exit_us"):
        rows.append(cmp_row(
            R, None, "port-I/O exit round trip, kvmtool's guest in real mode",
            "µs", (med(ex, "exit_us"), n_of(ex, "exit_us")),
            "kvmtool (16-bit guest)", (med(kv, "exit_us"),
                                       n_of(kv, "exit_us"))))
    peer = kv64 or kv
    if ex and ex.get("net_exit_us") and peer.get("net_exit_us"):
        rows.append(cmp_row(
            R, None, "exit round trip minus the guest loop's own time "
            "(estimate)", "µs", (ex["net_exit_us"], n_of(ex, "exit_us")),
            "kvmtool (64-bit guest)" if kv64 else "kvmtool",
            (peer["net_exit_us"], n_of(peer, "exit_us"))))
    return rows


def qemu_failure(qb):
    if qb.get("skipped"):
        return "QEMU not run: " + qb["skipped"]
    if qb.get("failures"):
        return "QEMU failed in %d of %d runs" % (qb["failures"],
                                                 len(qb["runs"]))
    return None


def boot_rows(R):
    S = R["boot"]["sections"]
    mb = S.get("boot-memplug")
    rows = []
    for mt in ("pc", "q35"):
        qb = S.get(f"boot-qemu-{mt}")
        if not (mb and qb):
            continue
        for key, label, unit, skey in (
                ("linux_version", "exec → first kernel line", "s",
                 "linux_version_s"),
                (None, "exec → MEMPLUG-AGENT ready", "s", "ready_s"),
                (None, "VMM VmRSS at the ready line", "KiB", "rss_kib"),
                (None, "VMM CPU time, whole boot (user+sys)", "ms",
                 "cpu_total_ms"),
                (None, "VMM user CPU time, whole boot", "ms",
                 "cpu_user_ms")):
            rows.append(cmp_row(R, key, label, unit,
                                (med(mb, skey), n_of(mb, skey)),
                                f"QEMU -M {mt}",
                                (med(qb, skey), n_of(qb, skey)),
                                qemu_failure(qb)))
    return rows


def comparison(R):
    return md_table(["figure", "memplug", "peer", "peer value", "ratio",
                     "target", "verdict"], flat_rows(R) + boot_rows(R))


PIO_DETAIL = (("first_byte_ms", "{g}: exec → 'S'"),
              ("pio_ms", "{g}: 10,000 exits ('P' − 'S')"),
              ("exit_us", "{g}: one exit round trip"),
              ("loop_ms", "{c} (control): same loop, no exits ('P' − 'S')"),
              ("net_exit_us", "{who}: exit round trip minus the loop "
               "(difference of medians)"))
FLAT_DETAIL = (
    ("first-byte", "memplug `hello.elf`: exec → first byte", "first_byte_ms"),
    ("first-byte", "memplug `hello.elf`: exec → process exit (power-off)",
     "exit_ms"),
    ("first-byte", "memplug `hello.elf`: VMM CPU time (user+sys), whole run",
     "cpu_ms"),
    *(("exit", t.format(g="memplug `pio.elf`", c="memplug `noexit.elf`",
                        who="memplug"), k) for k, t in PIO_DETAIL),
    ("rss", "memplug `spin.elf`: VmRSS", "rss_kib"),
    ("rss", "memplug `spin.elf`: RssAnon", "rss_anon_kib"),
    ("rss", "memplug `spin.elf`: RssFile", "rss_file_kib"),
    *(("kvmtool", t.format(g="kvmtool `pio16.bin`", c="kvmtool `noexit16.bin`",
                           who="kvmtool"), k) for k, t in PIO_DETAIL),
    ("kvmtool", "kvmtool `pio16.bin`: VmRSS after 'P'", "rss_kib"),
    ("kvmtool", "kvmtool `pio16.bin`: RssAnon after 'P'", "rss_anon_kib"),
    *(("kvmtool64", t.format(g="kvmtool `pio64.bin` (64-bit mode)",
                             c="kvmtool `noexit64.bin`", who="kvmtool 64-bit"),
       k) for k, t in PIO_DETAIL[1:]))


def flat_detail(R):
    S = R["flat"]["sections"]
    body = []
    for name, label, key in FLAT_DETAIL:
        v = (S.get(name) or {}).get(key)
        if v is not None:
            body.append([label, fmt_stats(v, unit_of(key))
                         if isinstance(v, dict) else fmt(v, unit_of(key))])
    return md_table(["figure", "value"], body)


def host_cells(h):
    h = h or {}
    return ["%.0f %% of %d cores over %.0f s" % (
                h["host_busy_pct"], h["cpus"], h["seconds"]) if h else "-",
            "%.0f %%" % h["bench_pct"] if h else "-",
            "%.0f %%" % h["background_pct"] if h else "-",
            h.get("loadavg", "-"),
            "; ".join(f"`{x}`" for x in h.get("other_vmms", [])) or "none"]


HOST_HEAD = ["host CPU busy", "this script and its VMMs", "other processes",
             "load average", "VMMs started by others"]


def binary_cell(sec):
    b = (sec or {}).get("memplug") or {}
    return f"{b.get('sha256')} ({b.get('mtime')})" if b else "-"


def flat_measured(R):
    S = R["flat"]["sections"]
    rows = []
    for name in ("first-byte", "exit", "rss", "kvmtool", "kvmtool64"):
        sec = S.get(name) or {}
        if sec.get("runs"):
            rows.append([name, sec.get("date"), binary_cell(sec)]
                        + host_cells(sec.get("host")))
    return md_table(["section", "date", "build/memplug sha256 (mtime)"]
                    + HOST_HEAD, rows)


def kvmtool_line(R):
    kv = R["flat"]["sections"].get("kvmtool") or {}
    if "skipped" in kv:
        return f"not run ({kv['skipped']})"
    return f"`{kv.get('lkvm')}` ({kv.get('version')})"


def boot_table(R):
    S = R["boot"]["sections"]
    body = []
    for k in BOOTS:
        s = S.get(k)
        if not s:
            continue
        if s.get("skipped"):
            body.append([k, "not run: " + s["skipped"]] + [""] * 5
                        + [s.get("date", "")])
            continue
        acpi = sorted({"acpi=%s" % (r["ready"] or {}).get("acpi")
                       for r in s["runs"] if r.get("ready")})
        body.append([k, fmt_stats(s.get("linux_version_s"), "s"),
                     fmt_stats(s.get("ready_s"), "s"),
                     fmt_stats(s.get("rss_kib"), "KiB"),
                     "%s / %s" % (fmt_stats(s.get("cpu_user_ms"), "ms"),
                                  fmt_stats(s.get("cpu_sys_ms"), "ms")),
                     f"{len(s['runs']) - s['failures']} of {len(s['runs'])}",
                     ", ".join(acpi) or "-", s["date"]])
    return md_table(["VMM", "exec → first kernel line", "exec → agent ready",
                     "VmRSS at ready", "CPU user / sys (whole run)",
                     "reached ready", "ready line", "date"], body)


def boot_runs(R):
    S = R["boot"]["sections"]
    rows = []
    for k in BOOTS:
        s = S.get(k) or {}
        for i, r in enumerate(s.get("runs", [])):
            kern = r.get("kernel") or {}
            rows.append([f"{k} run {i}", binary_cell(s) if k == BOOTS[0]
                         else "", f"{kern.get('sha256')} ({kern.get('mtime')})"]
                        + host_cells(r.get("host")))
    return md_table(["boot", "build/memplug sha256 (mtime)",
                     "vmlinux sha256 (mtime)"] + HOST_HEAD, rows)


def boot_lines(R):
    S = R["boot"]["sections"]
    out = []
    for k in BOOTS:
        for i, r in enumerate((S.get(k) or {}).get("runs", [])):
            lines = [f"`{r[x]}`" for x in ("linux_version_line", "ready_line")
                     if r.get(x)]
            out.append(f"{k} run {i}: " + ("; ".join(lines) or "no ready line")
                       + (f" — {r['note']}" if r.get("note") else ""))
    return bullets(out)


def boot_failures(R):
    out = []
    for k in BOOTS:
        for i, r in enumerate((R["boot"]["sections"].get(k) or {})
                              .get("runs", [])):
            if "error" in r:
                out += [f"**{k} run {i}: {r['error']}**", "", "```"]
                out += (r.get("console_tail") or ["(no console output)"])
                out += (r.get("stderr_tail") or []) + ["```", ""]
    return "\n".join(out) or "None."


def commands(R):
    out = ["```"]
    for f, k in [("flat", k) for k in ("first-byte", "exit", "rss",
                                        "kvmtool", "kvmtool64")] + \
            [("boot", k) for k in BOOTS]:
        s = R[f]["sections"].get(k) or {}
        if s.get("command"):
            out += [f"# {k}", s["command"]]
        if s.get("control_command"):
            out += [f"# {k}, control guest without exits",
                    s["control_command"]]
    return "\n".join(out + ["```"])


def machine_line(R):
    m, b = R["flat"]["machine"], R["boot"]["machine"]
    k = b.get("guest_kernel") or {}
    mb = m.get("memplug_binary") or {}
    return (f"{m.get('host')}, {m.get('cpus')} CPUs ({m.get('cpu_model')}), "
            f"Linux {m.get('kernel')}, KVM: {m.get('kvm')}; "
            f"{b.get('qemu') or 'QEMU not found'}; guest kernel of the boots "
            f"`{k.get('path')}` sha256 {k.get('sha256')} (mtime "
            f"{k.get('mtime')}); memplug binary of the flat rounds sha256 "
            f"{mb.get('sha256')} (mtime {mb.get('mtime')})")


def kernels_used(R):
    shas = sorted({(r.get("kernel") or {}).get("sha256") or "?"
                   for k in BOOTS
                   for r in (R["boot"]["sections"].get(k) or {})
                   .get("runs", [])})
    return ", ".join(shas) or "-"


# --------------------------------------------------------------------------
# Hot-add (bench/hotplug.py)

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


# --------------------------------------------------------------------------
# Real KVM (bench/realkvm.py)

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


# --------------------------------------------------------------------------
# Plots

def write_dat(name, rows):
    PLOT_DATA.mkdir(parents=True, exist_ok=True)
    path = PLOT_DATA / f"{name}.dat"
    with open(path, "w") as f:
        for r in rows:
            f.write(" ".join('"%s"' % c if isinstance(c, str) else
                             "NaN" if c is None else repr(c) for c in r)
                    + "\n")
    return path


def plot(name, **data):
    """bench/plots/NAME.gp with its data files -> bench/plots/NAME.svg."""
    sets = [f"out='{PLOTS / (name + '.svg')}'"]
    sets += [f"{k}='{write_dat(f'{name}-{k}', rows)}'"
             for k, rows in data.items()]
    subprocess.run(["gnuplot", "-e", "; ".join(sets),
                    str(PLOTS / (name + ".gp"))], check=True)
    return f"plots/{name}.svg"


def fig(summary, key):
    return next((f for f in summary["figures"] if f["key"] == key), {})


def ost_rows(summary, scale):
    """Per DIMM size: request -> _OST of memplug and QEMU, in ms / scale."""
    out = []
    for size in ("128M", "1G"):
        f = fig(summary, f"{size}.ost_ms")
        out.append([size] + [None if f.get(k) is None else f[k] / scale
                             for k in ("memplug", "qemu")])
    return out


def timeline_bars(rows):
    """Per DIMM: request → slot, → SCI, → first read, → _OST, in ms."""
    out = []
    for t in rows:
        if "burst" in t or any(t.get(k) is None for k in TIMELINE):
            continue
        v = [t[k] / 1000 for k in TIMELINE]
        out.append([dimm_name(t), v[0], v[1] - v[0], v[2] - v[1],
                    v[3] - v[2]])
    return out


def slot_points(summary):
    by = {}
    for s in summary["slots"]:
        by.setdefault(s["slots"], {})[s["vmm"]] = s
    return [[n, *(by[n].get(v, {}).get(k) for k in ("pio_mhpc",
                                                    "userspace_exits")
                  for v in ("memplug", "qemu"))] for n in sorted(by)]


def soak_points(summary):
    drift = {}
    for v in summary["vmms"]:
        if v["rss_after_cycles_kb"] and v["soak_baseline_kb"]:
            drift[v["tag"]] = [x - v["soak_baseline_kb"]
                               for x in v["rss_after_cycles_kb"]]
    n = max((len(d) for d in drift.values()), default=0)
    return [[i + 1] + [d[i] if i < len(d) else None
                       for d in (drift.get("memplug", []),
                                 drift.get("qemu", []))] for i in range(n)]


def plots(R):
    hp, rk = R["hotplug"]["summary"], R["realkvm"]["summary"]
    return {
        "plot_ost": plot("hotadd-ost", pvm=ost_rows(hp, 1000),
                         real=ost_rows(rk, 1)),
        "plot_timeline": plot("timeline",
                              pvm=timeline_bars(hp["timeline"]),
                              real=timeline_bars(rk["timeline"])),
        "plot_slots": plot("exits-slots", data=slot_points(hp)),
        "plot_soak": plot("soak-rss", data=soak_points(hp)),
    }


# --------------------------------------------------------------------------
# Templates

PARTS = {"comparison": comparison, "flat_detail": flat_detail,
         "flat_measured": flat_measured, "kvmtool": kvmtool_line,
         "boot_table": boot_table, "boot_runs": boot_runs,
         "boot_lines": boot_lines, "boot_failures": boot_failures,
         "boot_kernels": kernels_used, "commands": commands,
         "machine": machine_line, "hotplug_measured": hotplug_measured,
         "hotplug_table": hotplug_table, "hotplug_slots": hotplug_slots,
         "hotplug_timeline": lambda R: timeline_table(
             R["hotplug"]["summary"]["timeline"]),
         "hotplug_sci": hotplug_sci, "hotplug_vmms": hotplug_vmms,
         "hotplug_soak": hotplug_soak, "realkvm_header": realkvm_header,
         "realkvm_table": realkvm_table, "realkvm_reps": realkvm_reps,
         "realkvm_idle": realkvm_idle, "realkvm_errors": realkvm_errors,
         "stock_table": stock_table, "stock_header": stock_header,
         "realkvm_timeline": lambda R: timeline_table(
             R["realkvm"]["summary"]["timeline"])}


def figure(R, path):
    """{{file.section.key}}: the median of a section's figure (or of its
    runs' values), formatted with the key's unit."""
    spec, _, conv = path.partition("|")
    f, sec, key = spec.split(".", 2)
    s = R[f]["sections"].get(sec) or {}
    v = s.get(key)
    if isinstance(v, dict):
        v = v["median"]
    elif v is None:
        v = median([r.get(key) for r in s.get("runs", [])])
    if conv == "s":
        return fmt(None if v is None else v / 1000, "s")
    return fmt(v, unit_of(key))


def render(template, R, extra):
    def fill(m):
        name = m.group(1).strip()
        if name in extra:
            return extra[name]
        if name in PARTS:
            return PARTS[name](R)
        return figure(R, name)
    with open(BENCH / template) as f:
        text = f.read()
    return re.sub(r"\{\{([^}]+)\}\}", fill, text)


def write(name, text):
    path = BENCH / name
    with open(str(path) + ".tmp", "w") as f:
        f.write(text)
    os.replace(str(path) + ".tmp", path)
    lib.log(f"wrote {lib.rel(path)}")


def main():
    R = {f: lib.read_json(lib.RESULTS / f"{f}.json") for f in FILES}
    missing = [f for f, v in R.items() if v is None]
    if missing:
        sys.exit("report: missing or unreadable: " + ", ".join(
            f"bench/results/{f}.json" for f in missing))
    R["targets"] = lib.read_json(BENCH / "targets.json")
    extra = plots(R)
    write("README.md", render("README.md.in", R, extra))
    write("realkvm.md", render("realkvm.md.in", R, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
