"""Hot-add into a running Linux guest, checked from what the guest itself
reports: the _OST event it sends through the controller, and its agent's
lines (MemTotal, memory blocks, per-node totals, a pattern written and read
back in every new block).

One guest serves the module: 2 NUMA nodes, a DIMM coldplugged on node 1,
then hot-adds of 128M and 256M, one through memplugctl, and a burst of
DIMMs back to back. Each 128M costs ~20 s of emulated guest work here."""
import os
import subprocess

import pytest

from guest import Guest
from memplug_vm import BUILD, booted_guest, guest_bound, guest_kernels

M = 1 << 20
BOOT_TIMEOUT = guest_bound(20 * 60)
HOTPLUG_TIMEOUT = guest_bound(10 * 60)
SOAK = bool(os.environ.get("MEMPLUG_SOAK"))
BURST = 32 if SOAK else 8
# The agent checks a sample of pages per new block; every page in a soak.
CMDLINE = ("console=ttyS0 swiotlb=noforce memhp_default_state=online "
           f"memplug_agent.pattern={1 if SOAK else 64}")


def hot_add(g, dimm_id, size, node=0):
    """Plugs a DIMM; returns the guest's _OST info, the first memory line
    that counts it (a later one may count more) and its index."""
    want = g.memtotal + size // 1024
    g.plug(dimm_id, size, node)
    info = g.ost(dimm_id, 1)
    i, mem = g.wait_memory(lambda f: f["memtotal_kb"] >= want)
    return info, mem, i


@pytest.fixture(scope="module", params=guest_kernels())
def guest(request):
    with booted_guest(["--cpus", "1", "--memory", "256M,slots=40,maxmem=8G",
                       "--numa", "nodes=2", "--dimm",
                       "id=cold0,size=128M,node=1", "--cmdline", CMDLINE],
                      f"hotplug-{request.param}", BOOT_TIMEOUT,
                      request.param) as (vm, q, sock, i, ready):
        yield Guest(vm, q, sock, i, ready)


def test_coldplugged_dimm_is_online_at_ready(guest):
    # Two 128M blocks of boot RAM and the coldplugged DIMM's one.
    assert guest.ready["blocks"] == 3
    assert guest.ready["online_blocks"] == 3
    nodes = guest.node_lines(guest.mark)
    assert set(nodes) == {0, 1}
    # Node 1 has its half of boot RAM (128M) and the 128M DIMM.
    assert nodes[1]["blocks"] == 2 and nodes[1]["online_blocks"] == 2
    dimms = guest.qmp.cmd("query-memory-devices")
    assert [(d["data"]["id"], d["data"]["hotplugged"]) for d in dimms] == \
        [("cold0", False)]


def test_hot_add_128m_is_accepted_online_and_usable(guest):
    before_blocks = guest.blocks
    ost, mem, i = hot_add(guest, "d128", 128 * M)
    assert ost == {"device": "d128", "slot": "1", "slot-type": "DIMM",
                   "source": 1, "status": 0}
    assert mem["blocks"] == before_blocks + 1
    assert mem["online_blocks"] == mem["blocks"]
    guest.blocks = mem["blocks"]
    # The agent wrote and read back a pattern in the new block.
    guest.check_pattern(guest.added_at, 32768,
                        32768 if SOAK else 32768 // 64 + 1)
    dimm = [d for d in guest.qmp.cmd("x-memplug-query-dimms")
            if d["id"] == "d128"][0]
    assert dimm["state"] == "present"
    assert dimm["ost"] == {"source": 1, "status": 0, "name": "success"}


def test_hot_add_256m_on_node_1_lands_on_node_1(guest):
    nodes_before = guest.node_lines(guest.mark)
    ost, mem, i = hot_add(guest, "d256", 256 * M, node=1)
    assert ost["status"] == 0
    nodes = guest.node_lines(i + 1)
    assert nodes[1]["memtotal_kb"] - nodes_before[1]["memtotal_kb"] == \
        256 * 1024
    assert nodes[0]["memtotal_kb"] == nodes_before[0]["memtotal_kb"]
    guest.blocks = mem["blocks"]
    listed = {d["data"]["id"]: d["data"]
              for d in guest.qmp.cmd("query-memory-devices")}
    assert listed["d256"]["node"] == 1 and listed["d256"]["size"] == 256 * M


def test_memplugctl_add_waits_for_the_guest(guest):
    guest.add_with_memplugctl("dctl", 128 * M)
    out = subprocess.run([str(BUILD / "memplugctl"), "-s", guest.sock, "list"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    row = [line for line in out.stdout.splitlines() if line.startswith("dctl")]
    assert row and "present" in row[0] and "success" in row[0]


@pytest.mark.skipif(not SOAK, reason="a 1G hot-add takes 75-100 s of "
                    "emulated guest work here; make soak runs it")
def test_hot_add_1g(guest):
    before_blocks = guest.vm.agent_lines("memory")[-1][1]["blocks"]
    ost, mem, _ = hot_add(guest, "d1g", 1 << 30)
    assert ost["status"] == 0
    assert mem["blocks"] == before_blocks + 8
    assert mem["online_blocks"] == mem["blocks"]
    guest.blocks = mem["blocks"]


def test_dimms_back_to_back_all_acknowledged(guest):
    ids = [f"b{i}" for i in range(BURST)]
    for i in ids:
        guest.qmp.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                       "id": f"mem-{i}", "size": 128 * M})
    for i in ids:
        guest.qmp.cmd("device_add", driver="pc-dimm", id=i, memdev=f"mem-{i}")
    for i in ids:
        ev = guest.qmp.wait_event(
            "ACPI_DEVICE_OST", HOTPLUG_TIMEOUT,
            lambda e, i=i: e["data"]["info"]["device"] == i)
        assert ev and ev["data"]["info"]["status"] == 0, i
    want = guest.memtotal + BURST * 128 * 1024
    _, mem = guest.vm.wait_agent_where(
        "memory", lambda f: f["memtotal_kb"] == want, HOTPLUG_TIMEOUT,
        guest.mark)
    # memplug's totals agree with the memory blocks the guest counts.
    sizes = guest.qmp.cmd("query-memory-size-summary")
    devices = guest.qmp.cmd("query-memory-devices")
    assert sizes["base-memory"] == 256 * M
    assert sizes["plugged-memory"] == sum(d["data"]["size"] for d in devices)
    assert sizes["base-memory"] + sizes["plugged-memory"] == \
        mem["blocks"] * 128 * M
    listed = {d["id"]: d for d in guest.qmp.cmd("x-memplug-query-dimms")}
    for i in ids:
        assert listed[i]["state"] == "present"
    # Each DIMM's timeline reaches the guest's answer.
    timeline = {t["device"]: t for t in guest.qmp.cmd("x-memplug-timeline")}
    for i in ids:
        assert timeline[i]["ost-us"] is not None
