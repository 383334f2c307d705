#!/usr/bin/python3
"""Linux boot benchmark: memplug against QEMU -M pc and -M q35.

Boots build/guest/vmlinux (a copy taken at the start, so that every boot of
a run uses the same kernel even if it is rebuilt meanwhile), one guest at
a time: exec -> first "Linux version" line, exec -> "MEMPLUG-AGENT ready",
VmRSS at the ready line, CPU time of the VMM process (rusage over the whole
run, user and system). Hard timeout per boot, then the VMM is killed and
the failure and the last console lines are recorded.

Writes bench/results/boot.json (--json); logs in build/bench/logs/.
"""
import argparse
import os
import re
import sys
import time

import lib
from lib import host, proc
from lib.stats import stats

WORK = lib.BUILD / "bench"
LOGS = str(WORK / "logs")
KERNEL_COPY = WORK / "vmlinux"
KERNEL_MANIFEST = lib.BUILD / "guest" / "manifest"
BOOT_TIMEOUT = 900.0         # s, exec -> agent ready
POWEROFF_TIMEOUT = 120.0     # s, agent ready -> process exit

MEMPLUG_CMDLINE = ("console=ttyS0 earlyprintk=serial swiotlb=noforce "
                   "memplug_agent.poweroff=1")
# What memplug appends by itself on this KVM (it says so on stderr); QEMU
# needs the same by hand, plus idle=halt.
QEMU_APPEND = ("console=ttyS0 earlyprintk=serial swiotlb=noforce "
               "memplug_agent.poweroff=1 "
               "noxsave clearcpuid=141,151,308 idle=halt")
LINUX_MARK = b"Linux version"
READY_MARK = b"MEMPLUG-AGENT ready"
CONSOLE_ON = re.compile(rb"\[\s*([0-9.]+)\] printk: console \[ttyS0\] enabled")

SECTIONS = ["boot-memplug", "boot-qemu-pc", "boot-qemu-q35"]
GROUPS = {"boot": SECTIONS, "linux": SECTIONS, "qemu": SECTIONS[1:]}


def memplug_argv():
    return [str(lib.MEMPLUG), "--kernel", str(KERNEL_COPY), "--cpus", "1",
            "--memory", "256M", "--cmdline", MEMPLUG_CMDLINE]


def qemu_argv(qemu, machine):
    return [qemu, "-enable-kvm", "-cpu", "host,arch-capabilities=off,-cx16",
            "-M", machine, "-m", "256M", "-smp", "1", "-nographic",
            "-no-reboot", "-nodefaults", "-serial", "stdio",
            "-kernel", str(KERNEL_COPY), "-append", QEMU_APPEND]


def console_enabled_at(out):
    """Guest printk time of 'console [ttyS0] enabled': before it, nothing
    the kernel prints reaches the serial port (no earlyprintk)."""
    m = CONSOLE_ON.search(out)
    return float(m.group(1)) if m else None


def parse_ready(line):
    if not line:
        return None
    return {k: (int(v) if v.isdigit() else v)
            for k, v in re.findall(r"(\w+)=(\S+)", line)}


def seconds(ns):
    return None if ns is None else ns / 1e9


def outcome(rec, c, t_ready, exited, timed_out, timeout):
    """The error or note of one boot, and what to keep for a failure."""
    if t_ready is None:
        rec["error"] = ("no ready line within %.0f s; killed" % timeout
                        if timed_out else
                        "VMM exited (rc %s) before the ready line"
                        % c.returncode())
        rec["console_tail"] = c.console_tail(20)
        rec["stderr_tail"] = c.stderr_tail(10)
    elif exited and rec["rc"] != 0:
        rec["note"] = "exit status %s after the ready line" % rec["rc"]
    elif not exited:
        rec["note"] = ("no power-off within %.0f s after the ready line; "
                       "killed" % POWEROFF_TIMEOUT)


def boot_once(argv, name, timeout, idle_wait, kernel_path=KERNEL_COPY,
              env_for=None):
    """One boot; env_for(name), when given, is the VMM's environment."""
    host.wait_idle(idle_wait)
    kernel = host.file_info(kernel_path)
    lib.log(f"  {name}: booting (timeout {timeout:.0f} s) ...")
    probe = host.HostProbe()
    c = proc.Child(argv, name, LOGS, env=env_for(name) if env_for else None)
    deadline = time.monotonic() + timeout
    t_linux = c.wait_for(LINUX_MARK, timeout)
    t_ready = c.wait_for(READY_MARK, max(deadline - time.monotonic(), 0))
    st = cpu = ready_line = None
    if t_ready is not None:
        st = host.proc_status(c.pid)         # first: the guest powers off next
        cpu = host.proc_cpu(c.pid)
        ready_line = c.line_with(READY_MARK)
    timed_out = t_ready is None and not c.eof
    exited = t_ready is not None and c.wait_exit(POWEROFF_TIMEOUT)
    if not exited:
        c.kill()
    ru = c.rusage
    rec = {
        "linux_version_s": seconds(t_linux), "ready_s": seconds(t_ready),
        "exit_s": seconds(c.t_exit) if exited else None,
        "rc": c.returncode() if exited else None, "powered_off": exited,
        "rss_kib": st and st.get("VmRSS"), "status_at_ready": st,
        "cpu_at_ready": cpu, "cpu_total_ms": c.cpu_ms(),
        "cpu_user_ms": round(ru.ru_utime * 1e3, 1) if ru else None,
        "cpu_sys_ms": round(ru.ru_stime * 1e3, 1) if ru else None,
        "ready_line": ready_line, "ready": parse_ready(ready_line),
        "linux_version_line": c.line_with(LINUX_MARK),
        "console_enabled_guest_s": console_enabled_at(bytes(c.out)),
        "console_log": lib.rel(c.save_console()),
        "stderr_head": c.stderr_head(3), "kernel": kernel,
        "host": probe.done()}
    outcome(rec, c, t_ready, exited, timed_out, timeout)
    if rec["host"]["other_vmms"]:
        lib.log("  warning: other VMMs ran during this boot: "
                + "; ".join(rec["host"]["other_vmms"]))
    lib.log("  %s: first kernel line %s s, ready %s s, RSS %s KiB, CPU %s ms"
            "%s" % (name, rec["linux_version_s"], rec["ready_s"],
                    rec["rss_kib"], rec["cpu_total_ms"],
                    "  ERROR: " + rec["error"] if "error" in rec else ""))
    return rec


def boot_section(argv, label, runs, timeout, idle_wait, **kw):
    recs = [boot_once(argv, f"{label}-{i}", timeout, idle_wait, **kw)
            for i in range(runs)]
    ok = [r for r in recs if "error" not in r]
    out = {"command": lib.cmd_str(argv), "runs": recs,
           "failures": len(recs) - len(ok),
           "linux_version_s": stats([r["linux_version_s"] for r in recs])}
    for key in ("ready_s", "exit_s", "rss_kib", "cpu_total_ms",
                "cpu_user_ms", "cpu_sys_ms"):
        out[key] = stats([r[key] for r in ok])
    return out


def manifest():
    try:
        with open(KERNEL_MANIFEST) as f:
            m = dict(ln.strip().split("=", 1) for ln in f if "=" in ln
                     and not ln.startswith(" "))
    except OSError:
        return None
    return {k: m.get(k) for k in ("kernel", "built", "key")}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="one boot per VMM and QEMU machine type")
    lib.common_args(p, "boot", SECTIONS, GROUPS, "before each boot")
    p.add_argument("--linux-runs", type=int, default=None,
                   help="memplug boots (default 3, --quick 1)")
    p.add_argument("--qemu-runs", type=int, default=None,
                   help="QEMU boots per machine type (default 3, --quick 1)")
    p.add_argument("--boot-timeout", type=float, default=BOOT_TIMEOUT,
                   help="seconds from exec to the agent line (default 900)")
    a = p.parse_args()
    a.selected = host.selection(a.only, SECTIONS, GROUPS, p.error)
    if a.linux_runs is None:
        a.linux_runs = 1 if a.quick else 3
    if a.qemu_runs is None:
        a.qemu_runs = 1 if a.quick else 3
    return a


def main():
    proc.install_cleanup()
    args = parse_args()
    lib.VERBOSE = args.verbose
    for path in (lib.MEMPLUG, lib.VMLINUX):
        if not path.exists():
            sys.exit(f"bench: {lib.rel(path)} is missing: run `make all "
                     "guest` (make bench builds everything first)")
    os.makedirs(WORK, exist_ok=True)
    kernel = host.snapshot(lib.VMLINUX, KERNEL_COPY, READY_MARK)
    lib.log(f"guest kernel: sha256 {kernel['sha256']} copied to "
            f"{lib.rel(KERNEL_COPY)} for all boots of this run")
    qemu, qemu_err = None, None
    if any(s.startswith("boot-qemu") for s in args.selected):
        qemu, qemu_err = host.ensure_qemu()
    res = lib.read_json(args.json, {}) if args.only else {}
    res.update(schema=2, machine=dict(
        host.machine(), **host.memplug_info(),
        qemu=host.qemu_version(qemu or "qemu-system-x86_64"),
        guest_kernel=kernel["copied_from"], guest_kernel_manifest=manifest()))
    sections = res.setdefault("sections", {})
    runs = {"boot-memplug": args.linux_runs}
    for name in args.selected:
        if name != "boot-memplug" and not qemu:
            sections[name] = {"skipped": qemu_err, "date": lib.now_iso(),
                              "runs": [], "failures": 0}
            continue
        argv = (memplug_argv() if name == "boot-memplug"
                else qemu_argv(qemu, name.rsplit("-", 1)[1]))
        n = runs.get(name, args.qemu_runs)
        lib.log(f"{name}: {n} boot(s)")
        sections.update(host.measured(lambda: {name: boot_section(
            argv, name, n, args.boot_timeout, args.wait_idle)}))
        lib.write_json(args.json, res)
    lib.log(f"wrote {lib.rel(args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
