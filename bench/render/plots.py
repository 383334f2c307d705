"""The SVG plots under bench/plots/: each NAME.gp of gnuplot there, fed data
files written under build/bench/plots/."""
import subprocess

import lib
from lib.timeline import TIMELINE
from render.hotplug import dimm_name

PLOTS = lib.BENCH / "plots"
PLOT_DATA = lib.BUILD / "bench" / "plots"


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
