"""Flat guests and boots (bench/flat.py, bench/boot.py): memplug against its
peer with the targets' verdicts, the runs and the machine they ran on."""
from lib.stats import ratio
from render.fmt import bullets, fmt, fmt_ratio, fmt_stats, md_table, unit_of

BOOTS = ("boot-memplug", "boot-qemu-pc", "boot-qemu-q35")


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
