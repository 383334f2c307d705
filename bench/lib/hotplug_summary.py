"""The summary of bench/hotplug.py's raw records (medians, ratios) that
bench/report.py renders; realkvm.py takes its timeline rows."""
from lib import KINDS
from lib.stats import median, percentile90, ratio
from lib.timeline import TIMELINE


ADD_FIGURES = (("reply_ms", None, "ms"), ("ost_ms", None, "ms"),
               ("memory_ms", None, "ms"), ("exits", "pio_mhpc", ""),
               ("exits", "pio_gpe", ""), ("exits", "pio_all", ""),
               ("exits", "userspace_exits", ""),
               ("mhp_trace_lines", None, ""), ("utime_ms", None, "cpu"),
               ("stime_ms", None, "ms"), ("run_ms", None, "ms"))
BURST_FIGURES = (("reply_sum_ms", "reply_ms", sum, "ms"),
                 ("reply_median_ms", "reply_ms", median, "ms"),
                 ("reply_max_ms", "reply_ms", max, "ms"),
                 ("last_ost_ms", "last_ost_ms", None, "ms"),
                 ("memory_ms", "memory_ms", None, "ms"),
                 ("utime_ms", "utime_ms", None, "cpu"),
                 ("stime_ms", "stime_ms", None, "ms"))
REMOVE_FIGURES = (("reply_ms", None, "ms"), ("ost84_ms", None, "ms"),
                  ("deleted_ms", None, "ms"), ("memory_ms", None, "ms"),
                  ("object_del_ms", None, "ms"), ("freed_ms", None, "ms"),
                  ("returned_kb", None, "KiB"), ("exits", "pio_mhpc", ""),
                  ("exits", "userspace_exits", ""), ("stime_ms", None, "ms"))


def field(rec, key, sub):
    v = (rec.get(key) or {}).get(sub) if sub else rec.get(key)
    return v if isinstance(v, (int, float)) else None


def row(key, unit, a, na, b, nb, r="auto"):
    """One figure of both VMMs; a CPU time of a tick or two gets no ratio
    (below the resolution)."""
    if r == "auto":
        r = ratio(a, b)
        if unit == "cpu" and max(a or 0, b or 0) < 100:
            r = None
    return {"key": key, "unit": unit, "memplug": a, "memplug_n": na,
            "qemu": b, "qemu_n": nb, "ratio": r}


def add_rows(mp, qe):
    rows = []
    for label in ("128M", "1G"):
        for key, sub, unit in ADD_FIGURES:
            vals = []
            for res in (mp, qe):
                xs = [field(h, key, sub) for h in res.get("hotadds", [])
                      if h["label"] == label]
                xs = [x for x in xs if x is not None]
                vals += [median(xs), len(xs)]
            if vals[0] is not None or vals[2] is not None:
                rows.append(row(".".join(filter(None, (label, key, sub))),
                                unit, *vals))
    return rows


def burst_rows(mp, qe):
    rows = []
    bursts = [res.get("burst") or {} for res in (mp, qe)]
    count = next((b["count"] for b in bursts if b.get("count")), None)
    for name, key, f, unit in BURST_FIGURES:
        vals = [None if b.get(key) is None else f(b[key]) if f else b[key]
                for b in bursts]
        if vals[0] is None and vals[1] is None:
            continue
        r = row("burst." + name, unit, vals[0], int(vals[0] is not None),
                vals[1], int(vals[1] is not None))
        r["count"] = count
        rows.append(r)
    return rows


def remove_rows(mp, qe):
    rows = []
    cycles = [res.get("cycles") or [] for res in (mp, qe)]
    for key, sub, unit in REMOVE_FIGURES:
        vals = []
        for cs in cycles:
            xs = [x for x in (field(c, key, sub) for c in cs) if x is not None]
            vals += [median(xs), len(xs)]
        a, b = vals[0], vals[2]
        if a is None and b is None:
            continue
        r = ratio(a, b) if a is not None and a >= 0 else None
        rows.append(row(".".join(filter(None, ("remove", key, sub))), unit,
                        *vals, r=r))
    for name, f in (("drift_last_kb", lambda v: v[-1]), ("drift_max_kb", max)):
        drifts = [[c["drift_kb"] for c in cs if "drift_kb" in c]
                  for cs in cycles]
        if any(drifts):
            # A difference near zero: ratios mean nothing.
            rows.append(row("soak." + name, "KiB",
                            f(drifts[0]) if drifts[0] else None,
                            len(drifts[0]), f(drifts[1]) if drifts[1]
                            else None, len(drifts[1]), r=None))
    return rows


def slot_rows(results):
    """Exits per 128M hot-add of every boot, with its slot count."""
    rows = []
    for kind in KINDS:
        for res in [results.get(kind)] + [
                v for k, v in sorted(results.items())
                if k.startswith(kind + "-") and isinstance(v, dict)]:
            adds = [h for h in (res or {}).get("hotadds", [])
                    if h["label"] == "128M"]
            if adds:
                rows.append({"vmm": kind, "slots": res.get("slots", 32),
                             "n": len(adds), **{k: median(
                                 [field(h, "exits", k) for h in adds])
                                 for k in ("pio_mhpc", "userspace_exits")}})
    return rows


def timeline_rows(res):
    """memplug's x-memplug-timeline per DIMM of the single hot-adds, and the
    median and max over the burst."""
    rows = [dict({"label": h["label"], "id": h["id"]},
                 **{k: (h.get("timeline") or {}).get(k) for k in TIMELINE})
            for h in res.get("hotadds", [])]
    tl = [t for t in (res.get("burst") or {}).get("timeline") or [] if t]
    for stat, f in (("median", median), ("max", max)):
        if tl:
            rows.append(dict({"burst": len(tl), "stat": stat},
                             **{k: f([t.get(k) or 0 for t in tl])
                                if stat == "max" else
                                f([t.get(k) for t in tl]) for k in TIMELINE}))
    return rows


def all_timelines(res):
    tls = [h.get("timeline") for h in res.get("hotadds", [])]
    tls += (res.get("burst") or {}).get("timeline") or []
    tls += [c.get("add_timeline") for c in res.get("cycles") or []]
    return [t for t in tls if t]


def sci_summary(res):
    """Request -> SCI raised over every DIMM memplug added, and its split
    into the KVM memory-slot call and memplug's own work."""
    tls = all_timelines(res)
    sci = [t.get("sci-raised-us") for t in tls]
    sci = [v for v in sci if v is not None]
    if not sci:
        return None
    split = [(t["slot-installed-us"] - t["slot-call-us"],
              t["sci-raised-us"] - t["slot-installed-us"] + t["slot-call-us"])
             for t in tls if all(t.get(k) is not None for k in (
                 "slot-call-us", "slot-installed-us", "sci-raised-us"))]
    kvm, own = [k for k, _ in split], [o for _, o in split]
    return {"n": len(sci), "median": median(sci), "p90": percentile90(sci),
            "max": max(sci), "at_least_1ms": sum(1 for v in sci if v >= 1000),
            "split_n": len(split), "kvm_median": median(kvm),
            "kvm_max": max(kvm, default=None), "own_median": median(own),
            "own_max": max(own, default=None)}


def vmm_facts(results):
    """Per boot: boot time, RSS, the soak's RSS after every cycle, idle exit
    rates, load."""
    out = []
    for tag, res in results.items():
        if not isinstance(res, dict) or "vmm" not in res:
            continue
        cycles = res.get("cycles") or []
        out.append({"tag": tag, "error": res.get("error"),
                    "boot_s": res.get("boot_s"),
                    "rss_ready_kb": res.get("rss_ready_kb"),
                    "rss_end_kb": res.get("rss_end_kb"),
                    "cycles": len(cycles),
                    "soak_baseline_kb": res.get("soak_baseline_kb"),
                    "rss_after_cycles_kb": [c["rss_deleted_kb"]
                                            for c in cycles],
                    "idle_per_s": res.get("idle_per_s") or {},
                    "loadavg": res.get("loadavg"),
                    "other_vmms": res.get("other_vmms") or []})
    return out


def summary(results):
    mp, qe = results.get("memplug") or {}, results.get("qemu") or {}
    return {"figures": add_rows(mp, qe) + burst_rows(mp, qe)
            + remove_rows(mp, qe),
            "slots": slot_rows(results), "timeline": timeline_rows(mp),
            "sci": sci_summary(mp), "vmms": vmm_facts(results)}
