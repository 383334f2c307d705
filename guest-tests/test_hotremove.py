"""Hot-remove from a running Linux guest, checked from what the guest
reports: its _OST answers (0x84 in progress, then the eject; or a refusal),
its agent's memory/pin/offlinefail/pincheck lines, and memplug's own
resident memory once the backend is deleted.

Module A: one guest onlining new memory as ZONE_MOVABLE (removable):
remove, object-del gives the memory back, add/remove cycles reuse the slot,
a reboot keeps the DIMMs, system_powerdown ends the guest.
Module B: one guest onlining to the kernel zone with memplug_agent.pin=1:
every hot-added DIMM has an unmovable page, so the guest refuses the eject
with _OST 0x82 and the DIMM stays. Each 128M add or remove costs ~10-20 s
of emulated guest work here.

The tests of a module run in file order on its one guest and build on each
other (a2 removes what a1 added, b2 and b3 use b1's DIMMs): run a module
whole, not one test of it."""
import os
import subprocess
import time

import pytest

from guest import Guest
from memplug_vm import BUILD, booted_guest, guest_bound, guest_kernels

M = 1 << 20
BOOT_TIMEOUT = guest_bound(20 * 60)
HOTPLUG_TIMEOUT = guest_bound(10 * 60)
CYCLES = 50 if os.environ.get("MEMPLUG_SOAK") else 3
BASE = "console=ttyS0 swiotlb=noforce memplug_agent.pattern=64 "


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def booted(name, cmdline, kernel="tiny"):
    """booted_guest() with room for 8 DIMMs; yields Guest()'s arguments."""
    return booted_guest(["--cpus", "1", "--memory", "256M,slots=8,maxmem=2G",
                         "--cmdline", cmdline, "-v"], f"{name}-{kernel}",
                        BOOT_TIMEOUT, kernel)


# ---------------------------------------------------------------- module A

@pytest.fixture(scope="module", params=guest_kernels())
def movable(request):
    with booted("hotremove-movable", BASE +
                "memhp_default_state=online_movable", request.param) as args:
        yield Guest(*args)


def test_a1_hot_add_movable_touches_host_memory(movable):
    g = movable
    before = rss_kb(g.vm.proc.pid)
    mem = g.add("d1")
    assert mem["movable_kb"] == 131072
    g.check_sizes(mem["blocks"])
    g.check_pattern(g.added_at, 32768)
    if g.vm.kernel.user_agent:
        # No pattern check touches the DIMM here: a process does. User
        # pages come from ZONE_MOVABLE first, i.e. from the DIMM.
        start = len(g.vm.console.lines)
        g.command("fill 96M")
        _, fill = g.vm.wait_agent("fill", 120, start)
        assert fill["error"] == 0, fill
    g.rss_added = rss_kb(g.vm.proc.pid)
    g.touched = g.rss_added - before
    print(f"\nRSS before add {before} kB, after add {g.rss_added} kB "
          f"(+{g.touched} kB touched by the guest: the pattern check, or a "
          "96M fill)")


def test_a2_device_del_ejects_and_object_del_returns_memory(movable):
    g = movable
    assert g.dimm("d1")["state"] == "present"
    t0 = time.monotonic()
    ev, mem = g.remove("d1")
    assert ev["data"]["path"] == "/machine/peripheral/d1"
    assert mem["blocks"] == g.ready["blocks"]
    assert mem["online_blocks"] == mem["blocks"] and mem["movable_kb"] == 0
    g.check_sizes(mem["blocks"])
    print(f"\nremove of 128M: {time.monotonic() - t0:.1f} s")
    assert g.qmp.cmd("query-memory-devices") == []
    assert g.dimm("d1") is None
    rss_ejected = rss_kb(g.vm.proc.pid)
    g.qmp.cmd("object-del", id="mem-d1")
    rss_deleted = rss_kb(g.vm.proc.pid)
    dropped = rss_ejected - rss_deleted
    print(f"RSS after eject {rss_ejected} kB, after object-del "
          f"{rss_deleted} kB (dropped {dropped} kB; pattern touched "
          f"{g.touched} kB)")
    assert dropped >= g.touched // 2, (dropped, g.touched)
    if g.vm.kernel.user_agent:
        # The fill was migrated off the DIMM before its eject, intact.
        start = len(g.vm.console.lines)
        g.command("check")
        _, chk = g.vm.wait_agent("check", 120, start)
        assert chk["bad"] == 0 and chk["pages"] == 96 * 256, chk


def test_a3_add_remove_cycles_reuse_slot_and_address(movable):
    g = movable
    # From here: the stock guest's fill (a1) now lives in boot RAM the
    # host had not backed before.
    g.baseline_rss = rss_kb(g.vm.proc.pid)
    place = None
    for n in range(CYCLES):
        dimm_id = f"c{n}"
        g.add(dimm_id)
        g.check_pattern(g.added_at)
        d = g.dimm(dimm_id)
        assert d["state"] == "present"
        if place is None:
            place = (d["slot"], d["addr"])
        assert (d["slot"], d["addr"]) == place, (n, d)
        g.remove(dimm_id)
        g.qmp.cmd("object-del", id=f"mem-{dimm_id}")
    assert g.blocks == g.ready["blocks"]
    assert g.memtotal == g.ready["memtotal_kb"]
    end = rss_kb(g.vm.proc.pid)
    print(f"\n{CYCLES} cycles at slot {place[0]} addr {place[1]:#x}: RSS "
          f"baseline {g.baseline_rss} kB, now {end} kB "
          f"({end - g.baseline_rss:+d} kB)")
    assert abs(end - g.baseline_rss) <= 8 * 1024, (end, g.baseline_rss)


def test_a4_reboot_keeps_dimms(movable):
    g = movable
    g.add("r1")
    g.add("r2")
    start = len(g.vm.console.lines)
    g.qmp.cmd("system_reset")
    assert g.qmp.wait_event("RESET", 60), "no RESET event"
    i, ready = g.vm.wait_agent("ready", BOOT_TIMEOUT, start)
    assert ready["blocks"] == 2 + 2, ready
    assert ready["online_blocks"] == 4
    assert ready["memtotal_kb"] >= g.ready["memtotal_kb"] + 2 * 131072 - 4096
    listed = {d["id"]: d for d in g.qmp.cmd("x-memplug-query-dimms")}
    assert set(listed) == {"r1", "r2"}
    assert all(d["state"] == "present" for d in listed.values())
    g.check_sizes(ready["blocks"])
    g.mark = i + 1


def test_a5_system_powerdown_powers_off(movable):
    g = movable
    start = len(g.vm.console.lines)
    g.qmp.cmd("system_powerdown")
    g.vm.wait_agent("powerbutton", 5 * 60, start)
    ev = g.qmp.wait_event("SHUTDOWN", 5 * 60)
    assert ev, "no SHUTDOWN event"
    assert ev["data"] == {"guest": True, "reason": "guest-shutdown"}
    assert g.vm.wait_exit(60) == 0


# ---------------------------------------------------------------- module B

@pytest.fixture(scope="module")
def pinned():
    with booted("hotremove-pinned", BASE + "memhp_default_state=online "
                "memplug_agent.pin=1 memplug_agent.reboot=1") as args:
        yield Guest(*args)


def test_b1_pinned_dimm_eject_refused_and_kept(pinned):
    g = pinned
    g.add("p1")
    d = g.dimm("p1")
    first, last = d["addr"] // 4096, (d["addr"] + d["size"]) // 4096
    pins = [f for _, f in g.vm.agent_lines("pin", g.added_at)]
    assert any(first <= f["pfn"] < last for f in pins), pins
    mem_lines = len(g.vm.agent_lines("memory", g.mark))
    start = len(g.vm.console.lines)
    g.qmp.cmd("device_del", id="p1")
    info = g.ost("p1", 3, lambda st: st != 0x84)
    assert info["status"] == 0x82, info          # device busy
    _, fail = g.vm.wait_agent("offlinefail", 60, start)
    assert fail["start_pfn"] == first and fail["error"] == -16, fail
    _, chk = g.vm.wait_agent("pincheck", 60, start)
    assert chk["ok"] == 1 and first <= chk["pfn"] < last, chk
    assert all(f["ok"] == 1 for _, f in g.vm.agent_lines("pincheck", start))
    # memplug keeps the DIMM, present again; the guest kept its memory.
    d = g.dimm("p1")
    assert d["state"] == "present", d
    assert d["ost"] == {"source": 3, "status": 0x82, "name": "device busy"}
    assert [x["data"]["id"] for x in g.qmp.cmd("query-memory-devices")] == \
        ["p1"]
    assert len(g.vm.agent_lines("memory", g.mark)) == mem_lines
    # Nothing left to cancel; a new device_del is taken (and refused again).
    r = g.qmp.execute("x-memplug-device-del-cancel", id="p1")
    assert "is not being removed" in r["error"]["desc"], r
    g.qmp.cmd("device_del", id="p1")
    info = g.ost("p1", 3, lambda st: st != 0x84)
    assert info["status"] == 0x82, info
    assert g.dimm("p1")["state"] == "present"


def test_b2_memplugctl_remove_reports_the_refusal(pinned):
    g = pinned
    g.add("p2")
    t0 = time.monotonic()
    r = subprocess.run([str(BUILD / "memplugctl"), "-s", g.sock, "remove",
                        "p2", "--wait", "--timeout", str(HOTPLUG_TIMEOUT)],
                       capture_output=True, text=True,
                       timeout=HOTPLUG_TIMEOUT + 60)
    print(f"\nmemplugctl remove p2: exit {r.returncode} after "
          f"{time.monotonic() - t0:.1f} s: {r.stderr.strip()}")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "guest refused eject: 0x82 device busy" in r.stderr
    assert g.dimm("p2")["state"] == "present"
    assert g.memtotal == g.ready["memtotal_kb"] + 2 * 131072
    # No memory line lowered MemTotal after the adds.
    assert all(f["memtotal_kb"] >= g.memtotal
               for _, f in g.vm.agent_lines("memory", g.mark))
    g.check_sizes(g.blocks)


def test_b3_guest_reboot_keeps_dimms(pinned):
    """The guest reboots itself (the agent, asked by the power button,
    calls kernel_restart(): Linux writes the ACPI reset register) with p1
    and p2 plugged; after the reboot the guest finds both at boot."""
    g = pinned
    start = len(g.vm.console.lines)
    g.qmp.cmd("system_powerdown")
    _, pb = g.vm.wait_agent("powerbutton", 5 * 60, start)
    assert pb["reboot"] == 1
    ev = g.qmp.wait_event("RESET", 5 * 60)
    assert ev, "no RESET event after the guest's reboot"
    assert ev["data"] == {"guest": True, "reason": "guest-reset"}
    assert "guest reset through the ACPI reset register" in \
        g.vm.stderr.text()
    i, ready = g.vm.wait_agent("ready", BOOT_TIMEOUT, start)
    assert ready["blocks"] == g.ready["blocks"] + 2, ready
    assert ready["online_blocks"] == ready["blocks"]
    assert ready["memtotal_kb"] >= g.ready["memtotal_kb"] + 2 * 131072 - 4096
    listed = {d["id"]: d for d in g.qmp.cmd("x-memplug-query-dimms")}
    assert set(listed) == {"p1", "p2"}
    assert all(d["state"] == "present" for d in listed.values())
    g.check_sizes(ready["blocks"])
    assert g.vm.proc.poll() is None, "memplug exited on the guest's reboot"
