"""The memory-hotplug workflows people run from user space, on Debian's
stock kernel with the user-space agent (guest-tests/userspace/): onlining
by hand into each zone, auto_online_blocks switched at run time, data kept
while its pages migrate off a DIMM being removed, a refusal injected into
the guest's memory notifier, the guest's own reboot with DIMMs plugged and
movable_node with a DIMM on node 1. Everything is read from what the guest
reports (block, memory, fill and check lines; its _OST answers).

Module W's tests run in file order on one guest and build on each other:
run the module whole. These need a KVM that runs user space (the nested
lane, or hardware KVM); on PVM the parameter list is empty."""
import pytest

from guest import Guest
from memplug_vm import KERNELS, booted_guest, guest_bound, guest_kernels

M = 1 << 20
BLOCK = 128 * M
BOOT_TIMEOUT = guest_bound(20 * 60)
USER = [k for k in guest_kernels() if KERNELS[k].user_agent]
# No memhp_default_state: Debian's kernel leaves new memory offline
# (CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE is not set), user space decides.
CMDLINE = "console=ttyS0 swiotlb=noforce"


def dimm_blocks(g, dimm_id):
    """The memory block ids of a plugged DIMM, from memplug's address."""
    d = g.dimm(dimm_id)
    return list(range(d["addr"] // BLOCK, (d["addr"] + d["size"]) // BLOCK))


def plug_offline(g, dimm_id, size=BLOCK, node=0):
    """Hot-adds a DIMM the guest leaves offline: _OST success, a memory
    line with its blocks added, none of them online. Returns its block
    lines."""
    want = g.blocks + size // BLOCK
    online = g.vm.agent_lines("memory")[-1][1]["online_blocks"] \
        if g.vm.agent_lines("memory") else g.ready["online_blocks"]
    g.plug(dimm_id, size, node)
    assert g.ost(dimm_id, 1)["status"] == 0
    i, mem = g.wait_memory(lambda f: f["blocks"] == want)
    assert mem["online_blocks"] == online, mem
    blocks = g.blocks_at(i + 1, mem["blocks"])
    return {b: blocks[b] for b in dimm_blocks(g, dimm_id)}


def online(g, block, how):
    """Onlines a block from user space; returns the settled block line."""
    g.command(f"online {block} {how}")
    mem = g.vm.agent_lines("memory", g.mark)
    assert mem, f"no memory line after onlining block {block}"
    j, fields = mem[-1]
    g.mark, g.memtotal, g.blocks = j + 1, fields["memtotal_kb"], fields["blocks"]
    return g.blocks_at(j + 1, fields["blocks"])[block], fields


@pytest.fixture(scope="module", params=USER)
def w(request):
    with booted_guest(["--cpus", "1", "--numa", "nodes=2", "--memory",
                       "1G,slots=8,maxmem=4G", "--cmdline", CMDLINE, "-v"],
                      f"userspace-{request.param}", BOOT_TIMEOUT,
                      request.param) as args:
        yield Guest(*args)


def test_w1_online_by_hand_into_each_zone(w):
    """A block left offline can go to ZONE_MOVABLE or the kernel zone;
    online_movable, online_kernel and online land where asked, and
    MemTotal grows by exactly a block each time."""
    zones = {}
    for dimm_id, how in (("m1", "movable"), ("k1", "kernel"), ("o1", "online")):
        blocks = plug_offline(w, dimm_id)
        (b, line), = blocks.items()
        assert line["state"] == "offline", line
        assert set(line["zones"].split(",")) >= {"Normal", "Movable"}, line
        before = w.memtotal
        line, mem = online(w, b, how)
        assert line["state"] == "online" and line["node"] == 0, line
        assert mem["memtotal_kb"] == before + BLOCK // 1024, mem
        zones[how] = line["zones"]
    # online picks the kernel zone: nothing here asks for movable.
    assert zones == {"movable": "Movable", "kernel": "Normal",
                     "online": "Normal"}, zones
    assert w.vm.agent_lines("memory")[-1][1]["movable_kb"] == BLOCK // 1024


def test_w2_auto_online_switched_at_run_time(w):
    """auto_online_blocks written at run time decides the next hot-add:
    online, the kernel onlines it by itself; offline, it waits."""
    w.command("auto-online on")
    want = w.memtotal + BLOCK // 1024
    w.plug("a1", BLOCK)
    assert w.ost("a1", 1)["status"] == 0
    i, mem = w.wait_memory(lambda f: f["memtotal_kb"] == want)
    (b,) = dimm_blocks(w, "a1")
    assert w.blocks_at(i + 1, mem["blocks"])[b]["state"] == "online"
    w.command("auto-online off")
    blocks = plug_offline(w, "a2")
    assert [x["state"] for x in blocks.values()] == ["offline"]


def test_w3_data_survives_migration_off_a_removed_dimm(w):
    """A process's data on a movable DIMM of node 1 is migrated when the
    DIMM is removed: the pattern reads back whole, the pages end up on
    the other node, MemTotal drops by exactly the DIMM."""
    blocks = plug_offline(w, "dd", 2 * BLOCK, node=1)
    for b in blocks:
        line, _ = online(w, b, "movable")
        assert line["zones"] == "Movable" and line["node"] == 1, line
    start = len(w.vm.console.lines)
    w.command("fill 200M node 1")
    _, fill = w.vm.wait_agent("fill", 120, start)
    assert fill["error"] == 0 and fill["pages"] == 200 * 256, fill
    assert fill["on_node"] == fill["pages"], fill
    placed = {f["block"]: f["pages"]
              for _, f in w.vm.agent_lines("fillblock", start)}
    on_dimm = sum(placed.get(b, 0) for b in blocks)
    print(f"\nfill: {on_dimm} of {fill['pages']} pages on the DIMM's blocks "
          f"{sorted(blocks)}; by block: {placed}")
    # ZONE_MOVABLE is node 1's highest zone: user pages come from it first.
    assert on_dimm >= fill["pages"] // 2, placed
    memtotal = w.memtotal
    w.qmp.cmd("device_del", id="dd")
    assert w.ost("dd", 3)["status"] == 0x84
    assert w.qmp.wait_event("DEVICE_DELETED", BOOT_TIMEOUT,
                            lambda e: e["data"].get("device") == "dd")
    w.wait_memory(lambda f: f["memtotal_kb"] == memtotal - 2 * BLOCK // 1024)
    start = len(w.vm.console.lines)
    w.command("check")
    _, chk = w.vm.wait_agent("check", 120, start)
    assert chk["bad"] == 0 and chk["pages"] == fill["pages"], chk
    nodes = {f["node"]: f["pages"]
             for _, f in w.vm.agent_lines("checknode", start)}
    assert set(nodes) == {0}, nodes
    w.qmp.cmd("object-del", id="mem-dd")


def test_w4_injected_offline_failure_is_refused_then_removal_works(w):
    """Debian's memory-notifier-error-inject makes MEM_GOING_OFFLINE fail:
    the guest answers device_del with _OST 0x82 (device busy), the DIMM
    stays online and counted; cleared, the next device_del removes it."""
    (b,) = dimm_blocks(w, "m1")
    w.command("inject MEM_GOING_OFFLINE -16")
    memtotal = w.memtotal
    w.qmp.cmd("device_del", id="m1")
    info = w.ost("m1", 3, lambda st: st != 0x84)
    assert info["status"] == 0x82, info
    d = w.dimm("m1")
    assert d["state"] == "present", d
    assert d["ost"] == {"source": 3, "status": 0x82, "name": "device busy"}
    start = len(w.vm.console.lines)
    w.command("status")
    i, status = w.vm.wait_agent("status", 60, start)
    assert status["memtotal_kb"] == memtotal, status
    blocks = w.blocks_at(i + 1, status["blocks"])
    assert blocks[b]["state"] == "online", blocks[b]
    w.command("inject MEM_GOING_OFFLINE 0")
    w.remove("m1")
    w.qmp.cmd("object-del", id="mem-m1")


def test_w5_guest_reboot_finds_its_dimms(w):
    """The guest reboots itself (reboot(2) from user space) with DIMMs
    plugged; the stock kernel finds every one of them again at boot."""
    plugged = {d["id"] for d in w.qmp.cmd("x-memplug-query-dimms")}
    want = set()
    for dimm_id in plugged:
        want |= set(dimm_blocks(w, dimm_id))
    start = len(w.vm.console.lines)
    w.vm.send("reboot")
    ev = w.qmp.wait_event("RESET", BOOT_TIMEOUT)
    assert ev and ev["data"] == {"guest": True, "reason": "guest-reset"}, ev
    i, ready = w.vm.wait_agent("ready", BOOT_TIMEOUT, start)
    blocks = w.blocks_at(i + 1, ready["blocks"])
    assert want <= set(blocks), (sorted(want), sorted(blocks))
    assert ready["blocks"] == 8 + len(want), ready
    assert {d["id"] for d in w.qmp.cmd("x-memplug-query-dimms")} == plugged


@pytest.fixture(scope="module", params=USER)
def movable_node(request):
    with booted_guest(["--numa", "nodes=2", "--memory",
                       "512M,slots=4,maxmem=2G", "--dimm",
                       "id=c1,size=128M,node=1", "--cmdline",
                       CMDLINE + " movable_node memhp_default_state=online"],
                      f"userspace-movable-node-{request.param}", BOOT_TIMEOUT,
                      request.param) as args:
        yield Guest(*args)


def test_movable_node_puts_a_coldplugged_dimm_of_node_1_in_movable(
        movable_node):
    g = movable_node
    (b,) = dimm_blocks(g, "c1")
    blocks = g.blocks_at(g.mark, g.ready["blocks"])
    assert blocks[b] == {"id": b, "node": 1, "state": "online",
                         "zones": "Movable"}, blocks[b]
    # Boot RAM is not hot-pluggable by the SRAT: it stays in kernel zones.
    assert all("Movable" not in x["zones"] for k, x in blocks.items()
               if k != b), blocks
    g.remove("c1")
