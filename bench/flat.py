#!/usr/bin/python3
"""Flat-guest benchmark: VMM-side figures of memplug against kvmtool.

  first-byte   exec -> first byte of the guest on the VMM's stdout
               (memplug: tests/guests/hello.elf; kvmtool: bench/guests/pio16.S)
  exit         port-I/O exit round trip: ('P' time - 'S' time) / 10,000
               (memplug: tests/guests/pio.elf; kvmtool: pio64.S, the same
               loop after switching to 64-bit mode, and pio16.S in real
               mode for reference), and the same loops without exits as
               controls (bench/guests/noexit.S, pio64.S and pio16.S built
               with NOEXIT) to subtract the guest loop's own (emulated) time
  rss          VmRSS of the VMM while a flat guest idles
               (memplug: bench/guests/spin.S; kvmtool: pio16.S after 'P')

Rounds are interleaved (one run of each VMM/guest per round, 1 warm-up
round not counted). kvmtool rows need LKVM=/path/to/lkvm (or --lkvm);
without it they are recorded as skipped and report.py compares with the
anchor numbers of bench/targets.json.

Timing: the child is started with posix_spawn, its stdout is a pipe, stdin is
/dev/null; every chunk read from the pipe is stamped with time.monotonic_ns().
Spawn cost is included for every VMM alike.

Writes bench/results/flat.json (--json); logs in build/bench/logs/.
"""
import argparse
import os
import shutil
import sys
import time

import lib
from lib import host, proc
from lib.stats import stats

cmd_str = lib.cmd_str

WORK = lib.BUILD / "bench"                  # built guests and logs
LOGS = str(WORK / "logs")
GUESTS = lib.BUILD / "tests" / "guests"
PIO_EXITS = 10000            # outs in tests/guests/pio.S and pio16.S
FLAT_TIMEOUT = 20.0          # s, one flat-guest run
RSS_SETTLE = 0.05            # s, wait after the marker before reading VmRSS
RUN_GAP = 0.2                # s, pause between runs (previous VM's
                             # teardown out of the way)
SECTIONS = ["first-byte", "exit", "rss"]
GROUPS = {"flat": SECTIONS, "kvmtool": SECTIONS}
CONTROLS = {"exit": "exit-control", "kvmtool": "kvmtool-control",
            "kvmtool64": "kvmtool64-control"}


def ms(ns):
    return None if ns is None else ns / 1e6


# --------------------------------------------------------------------------
# Guests

def _stale(target, deps):
    if not os.path.exists(target):
        return True
    t = os.path.getmtime(target)
    return any(os.path.getmtime(d) > t for d in deps)


def _check(argv):
    lib.vlog("$ " + cmd_str(argv))
    r = host.run_quiet(argv)
    if r.returncode != 0:
        sys.exit(f"bench: command failed: {cmd_str(argv)}\n{r.stderr}")


def _elf(name, src, tg):
    """bench/guests/NAME.S -> build/bench/NAME.elf, like the Makefile's
    test guests."""
    out = str(WORK / (name + ".elf"))
    deps = [str(src / (name + ".S")), str(tg / "guest.ld"),
            str(tg / "common.h")]
    if _stale(out, deps):
        _check([os.environ.get("CC", "gcc"), "-nostdlib", "-static",
                "-Wl,-T," + deps[1], "-Wl,--build-id=none", "-I", str(tg),
                "-I", str(lib.ROOT),
                "-o", out, deps[0]])
    return out


def _flat_bin(name, srcname, defs, src):
    """A flat binary for kvmtool (loaded at 0x1000:0000, real mode)."""
    binary = str(WORK / (name + ".bin"))
    s_file = str(src / srcname)
    if _stale(binary, [s_file]):
        obj = str(WORK / (name + ".o"))
        _check(["as", "--32"] + defs + ["-o", obj, s_file])
        _check(["ld", "-m", "elf_i386", "--oformat", "binary",
                "-Ttext", "0", "-o", binary, obj])
    return binary


def build_guests():
    os.makedirs(WORK, exist_ok=True)
    src = lib.BENCH / "guests"
    tg = lib.ROOT / "tests" / "guests"
    out = {name: _elf(name, src, tg) for name in ("spin", "noexit")}
    for name, srcname, defs in (
            ("pio16", "pio16.S", []),
            ("noexit16", "pio16.S", ["--defsym", "NOEXIT=1"]),
            ("pio64", "pio64.S", []),
            ("noexit64", "pio64.S", ["--defsym", "NOEXIT=1"])):
        out[name] = _flat_bin(name, srcname, defs, src)
    return out


# --------------------------------------------------------------------------
# One run each

def memplug_argv(elf):
    return [str(lib.MEMPLUG), "--kernel", str(elf), "--memory", "64M"]


def lkvm_argv(lkvm, binary, name):
    return [lkvm, "run", "-k", binary, "-m", "64", "-c", "1",
            "--network", "mode=none", "--name", name]


def lkvm_env():
    # The anchor build of kvmtool skips its VMX/SVM CPUID check on PVM hosts
    # when this is set (a local edit; upstream ignores the variable).
    env = dict(os.environ)
    env.setdefault("LKVM_SKIP_CPUID_CHECK", "1")
    return env


def lkvm_cleanup(name):
    # kvmtool leaves its control socket behind when it is killed.
    try:
        os.unlink(os.path.expanduser(f"~/.lkvm/{name}.sock"))
    except OSError:
        pass


def failed(rec, c, error):
    rec["error"] = error
    rec["stderr"] = c.stderr_tail()
    return rec


def run_hello(i):
    c = proc.Child(memplug_argv(GUESTS / "hello.elf"),
                   f"first-byte-memplug-{i}", LOGS)
    t = c.wait_for(b"h", FLAT_TIMEOUT)
    c.wait_for(b"hello\n", FLAT_TIMEOUT)
    ok = c.wait_exit(FLAT_TIMEOUT)
    rec = {"first_byte_ms": ms(t), "exit_ms": ms(c.t_exit) if ok else None,
           "rc": c.returncode(), "cpu_ms": c.cpu_ms(),
           "output_ok": bytes(c.out) == b"hello\n"}
    if t is None or not rec["output_ok"]:
        return failed(rec, c, "no 'hello' output")
    return rec


def pio_times(c):
    """(ns of 'S', ns of 'P') on c's output; None where not seen."""
    ts = c.wait_for(b"S", FLAT_TIMEOUT)
    tp = c.wait_for(b"P", FLAT_TIMEOUT) if ts is not None else None
    return ts, tp


def pio_figures(ts, tp):
    ok = ts is not None and tp is not None
    return {"first_byte_ms": ms(ts),
            "pio_ms": ms(tp - ts) if ok else None,
            "exit_us": (tp - ts) / PIO_EXITS / 1e3 if ok else None}


def run_pio(i, elf, tag):
    c = proc.Child(memplug_argv(elf), f"{tag}-memplug-{i}", LOGS)
    ts, tp = pio_times(c)
    c.wait_exit(FLAT_TIMEOUT)
    rec = dict(pio_figures(ts, tp), rc=c.returncode(), cpu_ms=c.cpu_ms())
    if tp is None:
        return failed(rec, c, "markers S/P not seen")
    return rec


def run_spin(i, spin):
    c = proc.Child(memplug_argv(spin), f"rss-memplug-{i}", LOGS)
    t = c.wait_for(b"R", FLAT_TIMEOUT)
    st = None
    if t is not None:
        time.sleep(RSS_SETTLE)
        st = host.proc_status(c.pid)
    c.stop()
    rec = {"first_byte_ms": ms(t), "status": st,
           "rss_kib": st and st.get("VmRSS"),
           "rc_after_sigterm": c.returncode()}
    if st is None:
        return failed(rec, c, "spin guest printed nothing")
    return rec


def run_kvmtool(i, lkvm, binary, tag):
    """One lkvm run of a flat binary gives all three flat figures: first
    byte ('S'), exit round trip ('P' - 'S'), VmRSS while it idles after
    'P'."""
    name = f"memplug-bench-{os.getpid()}-{tag}-{i}"
    c = proc.Child(lkvm_argv(lkvm, binary, name), f"{tag}-{i}", LOGS,
                   env=lkvm_env())
    ts, tp = pio_times(c)
    st = None
    if tp is not None:
        time.sleep(RSS_SETTLE)
        st = host.proc_status(c.pid)
    c.stop()
    lkvm_cleanup(name)
    rec = dict(pio_figures(ts, tp), rss_kib=st and st.get("VmRSS"),
               status=st, cpu_ms=c.cpu_ms())
    if tp is None:
        rec["rc"] = c.returncode()
        return failed(rec, c, "markers S/P not seen")
    return rec


# --------------------------------------------------------------------------
# Rounds and their summary

def jobs(selected, guests, lkvm):
    """(name, fn(i)) in the order of a round."""
    out = []
    if "first-byte" in selected:
        out.append(("first-byte", run_hello))
    if "exit" in selected:
        out.append(("exit", lambda i: run_pio(i, GUESTS / "pio.elf", "exit")))
        out.append(("exit-control",
                    lambda i: run_pio(i, guests["noexit"], "noexit")))
    if "rss" in selected:
        out.append(("rss", lambda i: run_spin(i, guests["spin"])))
    if not lkvm:
        return out
    out.append(("kvmtool", lambda i: run_kvmtool(i, lkvm, guests["pio16"],
                                                 "kvmtool")))
    if "exit" in selected:
        out.append(("kvmtool-control", lambda i: run_kvmtool(
            i, lkvm, guests["noexit16"], "kvmtool-noexit")))
        # The same loop in memplug's CPU mode (64-bit, paging).
        out.append(("kvmtool64", lambda i: run_kvmtool(
            i, lkvm, guests["pio64"], "kvmtool64")))
        out.append(("kvmtool64-control", lambda i: run_kvmtool(
            i, lkvm, guests["noexit64"], "kvmtool64-noexit")))
    return out


def rounds(job_list, runs, warmup):
    """Interleaved rounds, so that a change in background load hits every
    VMM and figure alike: {name: [counted run records]}."""
    recs = {name: [] for name, _ in job_list}
    for i in range(warmup + runs):
        for name, fn in job_list:
            time.sleep(RUN_GAP)
            rec = fn(i)
            lib.vlog(f"{name} run {i}{' (warm-up)' if i < warmup else ''}: "
                     + ", ".join(f"{k}={v}" for k, v in rec.items()
                                 if k != "status"))
            if i >= warmup:
                recs[name].append(rec)
    return recs


def _st(recs, key, sub=None):
    if sub:
        return stats([r["status"] and r["status"].get(sub) for r in recs])
    return stats([r.get(key) for r in recs])


def add_control(d, rs, ctl, control_command):
    """The same loop without exits: its time is the guest's own (emulated)
    loop; the difference of the medians per iteration estimates the exit
    alone."""
    d["control_runs"] = ctl
    d["control_command"] = control_command
    d["loop_ms"] = _st(ctl, "pio_ms")
    pio = _st(rs, "pio_ms")
    d["net_exit_us"] = ((pio["median"] - d["loop_ms"]["median"])
                        / PIO_EXITS * 1e3 if pio and d["loop_ms"] else None)


def figures(name, rs, guests, lkvm, kvm_bins):
    """The summary figures of one section."""
    if name == "first-byte":
        return dict(command=cmd_str(memplug_argv(GUESTS / "hello.elf")),
                    first_byte_ms=_st(rs, "first_byte_ms"),
                    exit_ms=_st(rs, "exit_ms"), cpu_ms=_st(rs, "cpu_ms"))
    if name == "exit":
        return dict(command=cmd_str(memplug_argv(GUESTS / "pio.elf")),
                    exit_us=_st(rs, "exit_us"), pio_ms=_st(rs, "pio_ms"),
                    first_byte_ms=_st(rs, "first_byte_ms"),
                    cpu_ms=_st(rs, "cpu_ms"))
    if name == "rss":
        return dict(command=cmd_str(memplug_argv(guests["spin"]))
                    + "  (VmRSS read %d ms after the byte, then SIGTERM)"
                    % (RSS_SETTLE * 1000),
                    rss_kib=_st(rs, "rss_kib"),
                    rss_anon_kib=_st(rs, None, "RssAnon"),
                    rss_file_kib=_st(rs, None, "RssFile"))
    v = host.run_quiet([lkvm, "version"])
    return dict(command=cmd_str(lkvm_argv(lkvm, kvm_bins[name][0],
                                          "memplug-bench-PID-N"))
                + "  (VmRSS read %d ms after 'P', then SIGTERM)"
                % (RSS_SETTLE * 1000),
                lkvm=lkvm, version=(v.stdout or v.stderr).strip(),
                first_byte_ms=_st(rs, "first_byte_ms"),
                exit_us=_st(rs, "exit_us"), pio_ms=_st(rs, "pio_ms"),
                rss_kib=_st(rs, "rss_kib"),
                rss_anon_kib=_st(rs, None, "RssAnon"),
                cpu_ms=_st(rs, "cpu_ms"))


def run_flat(selected, runs, warmup, guests, lkvm):
    """{section name: data} of one set of interleaved rounds."""
    recs = rounds(jobs(selected, guests, lkvm), runs, warmup)
    controls = {n: recs.pop(n) for n in CONTROLS.values() if n in recs}
    kvm_bins = {"kvmtool": (guests["pio16"], guests["noexit16"]),
                "kvmtool64": (guests["pio64"], guests["noexit64"])}
    out = {}
    for name, rs in recs.items():
        d = {"runs": rs, "failures": sum(1 for r in rs if "error" in r),
             "warmup_runs": warmup}
        ctl = controls.get(CONTROLS.get(name))
        if ctl is not None:
            add_control(d, rs, ctl, cmd_str(memplug_argv(guests["noexit"]))
                        if name == "exit" else
                        cmd_str(lkvm_argv(lkvm, kvm_bins[name][1],
                                          "memplug-bench-PID-N"))
                        + "  (SIGTERM after 'P')")
        d.update(figures(name, rs, guests, lkvm, kvm_bins))
        out[name] = d
    return out


# --------------------------------------------------------------------------

def find_lkvm(path, sections):
    """The absolute path of lkvm, or None (and the reason in sections)."""
    if not path:
        lib.log("kvmtool: LKVM is not set; kvmtool rows skipped")
        sections["kvmtool"] = {"skipped": "LKVM not set",
                               "date": lib.now_iso()}
        return None
    lkvm = shutil.which(path) or path
    if not os.access(lkvm, os.X_OK):
        lib.log(f"kvmtool: {path} is not executable; kvmtool rows skipped")
        sections["kvmtool"] = {"skipped": f"LKVM={path} is not executable",
                               "date": lib.now_iso()}
        return None
    return os.path.abspath(lkvm)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    lib.common_args(p, "flat", SECTIONS, GROUPS, "first")
    p.add_argument("--runs", type=int, default=20,
                   help="counted rounds (default 20)")
    p.add_argument("--lkvm", default=os.environ.get("LKVM") or None,
                   help="kvmtool's lkvm binary (default: $LKVM)")
    a = p.parse_args()
    a.selected = host.selection(a.only, SECTIONS, GROUPS, p.error)
    if a.runs < 5:
        print("bench: warning: --runs below 5; medians of fewer than 5 runs",
              file=sys.stderr)
    return a


def main():
    proc.install_cleanup()
    args = parse_args()
    lib.VERBOSE = args.verbose
    for path in (lib.MEMPLUG, GUESTS / "hello.elf", GUESTS / "pio.elf"):
        if not path.exists():
            sys.exit(f"bench: {lib.rel(path)} is missing: run `make all "
                     "guests` (make bench builds everything first)")
    guests = build_guests()
    res = lib.read_json(args.json, {}) if args.only else {}
    res.update(schema=2, flat_runs=args.runs, machine=dict(
        host.machine(), **host.memplug_info()))
    sections = res.setdefault("sections", {})
    lkvm = find_lkvm(args.lkvm, sections)
    lib.log("flat guests: %d rounds (+1 warm-up) of %s" % (
        args.runs, ", ".join(args.selected + (["kvmtool"] if lkvm else []))))
    sections.update(host.measured(
        lambda: run_flat(args.selected, args.runs, 1, guests, lkvm),
        args.wait_idle))
    for name, sec in sections.items():
        if sec.get("failures"):
            lib.log(f"  {name}: {sec['failures']} failed runs, e.g. "
                    f"{next(r for r in sec['runs'] if 'error' in r)}")
    lib.write_json(args.json, res)
    lib.log(f"wrote {lib.rel(args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
