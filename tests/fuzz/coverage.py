#!/usr/bin/python3
"""Coverage of a fuzzer's targets from clang's source-based coverage.

usage: coverage.py BINARY PROFDATA TARGET...
TARGET is FILE (every function in it) or FILE:REGEX (the functions whose
name matches, e.g. the command handlers of a file that also holds the
reboot loop). Prints, per target, regions and branch edges (each branch's
true and false outcome) executed by the corpus, and exits 1 if any target
has less than --min percent of its branch edges covered (default 0)."""
import argparse
import json
import os
import re
import subprocess
import sys


def functions(binary, profdata, path):
    out = subprocess.run(["llvm-cov-14", "export", binary,
                          "-instr-profile=" + profdata, path],
                         check=True, capture_output=True, text=True).stdout
    for f in json.loads(out)["data"][0]["functions"]:
        if os.path.realpath(f["filenames"][0]) == os.path.realpath(path):
            # Static functions are named FILE:NAME.
            yield f["name"].split(":")[-1], f


def tally(funcs):
    regions = hit = edges = edges_hit = 0
    for f in funcs:
        # A region kind 0 is code; the others are expansions and gaps.
        code = [r for r in f["regions"] if r[7] == 0]
        regions += len(code)
        hit += sum(1 for r in code if r[4] > 0)
        edges += 2 * len(f["branches"])
        edges_hit += sum((b[4] > 0) + (b[5] > 0) for b in f["branches"])
    return regions, hit, edges, edges_hit


def pct(a, b):
    return 100.0 * a / b if b else 100.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("binary")
    p.add_argument("profdata")
    p.add_argument("targets", nargs="+")
    p.add_argument("--min", type=float, default=0)
    a = p.parse_args()
    low = False
    print(f"{'target':52} {'regions':>16} {'branch edges':>16}")
    for t in a.targets:
        path, _, pattern = t.partition(":")
        rx = re.compile(pattern or ".")
        sel = [f for name, f in functions(a.binary, a.profdata, path)
               if rx.search(name)]
        r, rh, e, eh = tally(sel)
        label = path + (f" ({len(sel)} functions)" if pattern else "")
        print(f"{label:52} {rh:>5}/{r:<4} {pct(rh, r):5.1f}% "
              f"{eh:>5}/{e:<4} {pct(eh, e):5.1f}%")
        low |= pct(eh, e) < a.min
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
