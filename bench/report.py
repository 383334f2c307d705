#!/usr/bin/python3
"""bench/results/*.json -> bench/README.md and bench/realkvm.md, and the SVG
plots under bench/plots/ (gnuplot).

The text is the templates' (bench/README.md.in, bench/realkvm.md.in),
written by hand; this script fills their {{placeholders}}: tables, figures
and verdicts computed from the numbers and bench/targets.json. A figure is
{{FILE.SECTION.KEY}} (its median, e.g. {{flat.exit.loop_ms}}; "|s" shows
milliseconds as seconds), a table or list is {{NAME}} (see PARTS; the
modules of bench/render/ build them).
Measures nothing: rerun it after any measurement script.
"""
import os
import re
import sys

import lib
from lib.stats import median
from render.flat_boot import (boot_failures, boot_lines, boot_runs,
                              boot_table, commands, comparison, flat_detail,
                              flat_measured, kernels_used, kvmtool_line,
                              machine_line)
from render.fmt import fmt, unit_of
from render.hotplug import (hotplug_measured, hotplug_sci, hotplug_slots,
                            hotplug_soak, hotplug_table, hotplug_vmms,
                            timeline_table)
from render.plots import plots
from render.realkvm import (realkvm_errors, realkvm_header, realkvm_idle,
                            realkvm_reps, realkvm_table, stock_header,
                            stock_table)

FILES = ("flat", "boot", "hotplug", "realkvm", "stock")


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
    with open(lib.BENCH / template) as f:
        text = f.read()
    return re.sub(r"\{\{([^}]+)\}\}", fill, text)


def write(name, text):
    path = lib.BENCH / name
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
    R["targets"] = lib.read_json(lib.BENCH / "targets.json")
    extra = plots(R)
    write("README.md", render("README.md.in", R, extra))
    write("realkvm.md", render("realkvm.md.in", R, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
