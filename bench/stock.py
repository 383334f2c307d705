#!/usr/bin/python3
"""Stock-kernel boot benchmark on a real KVM: Debian's kernel (an xz
bzImage, build/guest-stock/vmlinuz) with the user-space guest's initramfs,
booted to the agent's ready line and powered off, one guest at a time:

  memplug-cold      memplug unpacking the bzImage on the host, empty cache
  memplug-cached    memplug unpacking it, the ELF already in the cache
  memplug-in-guest  --kernel-unpack off: the kernel's own decompressor
  qemu              qemu-system-x86_64 -enable-kvm -cpu host -M pc

exec -> the kernel's first line (earlyprintk=serial) and exec -> ready
(user space up), per bench/boot.py's boot_once. `make bench` runs it
through scripts/kvm-run, so on these machines both VMMs run inside the
same L1: ratios are fair, absolute times are not hardware times.

Writes bench/results/stock.json (--json); logs in build/bench/logs/.
"""
import argparse
import os
import pathlib
import shutil
import sys
import tempfile

import boot
import lib
from lib import host, proc

STOCK = lib.BUILD / "guest-stock"
WORK = lib.BUILD / "bench" / "stock"
CMDLINE = "console=ttyS0 earlyprintk=serial memplug_agent.poweroff=1"
SECTIONS = ["memplug-cold", "memplug-cached", "memplug-in-guest", "qemu"]
TIMEOUT = 600.0


def argv_of(section, qemu, kernel, initrd):
    if section == "qemu":
        return [qemu, "-enable-kvm", "-cpu", "host", "-M", "pc", "-m", "512M",
                "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
                "-serial", "stdio", "-kernel", str(kernel), "-initrd",
                str(initrd), "-append", CMDLINE]
    argv = [str(WORK / "memplug"), "--kernel", str(kernel), "--initrd",
            str(initrd), "--memory", "512M", "--cmdline", CMDLINE]
    return argv + (["--kernel-unpack", "off"]
                   if section == "memplug-in-guest" else [])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3, help="boots per section")
    p.add_argument("--json", default=str(lib.RESULTS / "stock.json"))
    a = p.parse_args()
    proc.install_cleanup()
    for f in ("vmlinuz", "initramfs.cpio"):
        if not (STOCK / f).exists():
            sys.exit(f"bench: {lib.rel(STOCK / f)} is missing: run `make guest`")
    WORK.mkdir(parents=True, exist_ok=True)
    kernel, initrd = WORK / "vmlinuz", WORK / "initramfs.cpio"
    shutil.copy2(STOCK / "vmlinuz", kernel)
    shutil.copy2(STOCK / "initramfs.cpio", initrd)
    shutil.copy2(lib.MEMPLUG, WORK / "memplug")
    qemu, qemu_err = host.ensure_qemu()
    # Caches in /tmp, a tmpfs in the nested lane: the checkout there is
    # 9p, whose writes would be counted against the cold boot.
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="memplug-bench-stock-"))
    warm = scratch / "warm"

    def env_for(section):
        def env(name):
            e = dict(os.environ)
            if section == "memplug-cold":
                e["MEMPLUG_CACHE"] = tempfile.mkdtemp(dir=scratch, prefix="cold-")
            else:
                e["MEMPLUG_CACHE"] = str(warm)
            return e
        return env

    res = {"schema": 1, "date": lib.now_iso(), "cmdline": CMDLINE,
           "kernel": host.file_info(kernel),
           "machine": dict(host.machine(), **host.memplug_info(),
                           qemu=host.qemu_version(qemu or "qemu-system-x86_64")),
           "sections": {}}
    host.warm_l1(res)
    for section in SECTIONS:
        if section == "qemu" and not qemu:
            res["sections"][section] = {"skipped": qemu_err}
            continue
        if section == "memplug-cached":
            # One boot fills the cache; it is not counted.
            boot.boot_once(argv_of(section, qemu, kernel, initrd),
                           "stock-fill-cache", TIMEOUT, 0, kernel, env_for(section))
        lib.log(f"{section}: {a.runs} boot(s)")
        res["sections"][section] = boot.boot_section(
            argv_of(section, qemu, kernel, initrd), f"stock-{section}", a.runs,
            TIMEOUT, 0, kernel_path=kernel, env_for=env_for(section))
        lib.write_json(a.json, res)
    shutil.rmtree(scratch, ignore_errors=True)
    lib.log(f"wrote {lib.rel(a.json)}")
    failed = any(s.get("failures") for s in res["sections"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
