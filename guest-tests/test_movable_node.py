"""movable_node: a DIMM coldplugged inside the SRAT's hot-pluggable window
lands in ZONE_MOVABLE when the guest boots with movable_node, and can then
be removed. (memhp_default_state=online lets the kernel online it; with
movable_node its default zone for such memory is ZONE_MOVABLE.)"""
import pytest

from memplug_vm import booted_guest, guest_bound, guest_kernels

WAIT = guest_bound(10 * 60)


@pytest.fixture(scope="module", params=guest_kernels())
def guest(request):
    with booted_guest(["--memory", "256M,slots=4,maxmem=1G", "--dimm",
                       "id=c0,size=128M", "--cmdline",
                       "console=ttyS0 swiotlb=noforce movable_node "
                       "memhp_default_state=online"],
                      f"movable-node-{request.param}", kernel=request.param
                      ) as (vm, q, _, i, ready):
        yield vm, q, i, ready


def test_coldplugged_dimm_is_movable_at_boot(guest):
    vm, _, i, ready = guest
    assert ready["blocks"] == 3 and ready["online_blocks"] == 3
    _, node = vm.wait_agent("node", 60, i + 1)
    assert node["movable_kb"] == 128 * 1024


def test_coldplugged_dimm_can_be_removed(guest):
    vm, q, i, ready = guest
    q.cmd("device_del", id="c0")
    ev = q.wait_event("DEVICE_DELETED", WAIT)
    assert ev and ev["data"]["device"] == "c0"
    _, mem = vm.wait_agent_where("memory", lambda f: f["blocks"] == 2, WAIT,
                                 i + 1)
    assert mem["memtotal_kb"] == ready["memtotal_kb"] - 128 * 1024
    assert mem["movable_kb"] == 0
    assert q.cmd("query-memory-devices") == []
    q.cmd("object-del", id="mem-c0")
