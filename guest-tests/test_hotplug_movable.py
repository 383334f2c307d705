"""Hot-add into a guest that onlines new memory as ZONE_MOVABLE
(memhp_default_state=online_movable): the agent counts it in movable_kb."""
import pytest

from memplug_vm import booted_guest, guest_kernels

M = 1 << 20


@pytest.fixture(scope="module", params=guest_kernels())
def guest(request):
    with booted_guest(["--memory", "256M,slots=4,maxmem=1G", "--cmdline",
                       "console=ttyS0 swiotlb=noforce "
                       "memhp_default_state=online_movable"],
                      f"hotplug-movable-{request.param}", kernel=request.param
                      ) as (vm, q, _, i, ready):
        yield vm, q, i, ready


def test_hot_added_memory_is_movable(guest):
    vm, q, i, ready = guest
    assert ready["acpi"] == 1
    q.cmd("object-add", **{"qom-type": "memory-backend-memfd", "id": "m1",
                           "size": 128 * M})
    q.cmd("device_add", driver="pc-dimm", id="d1", memdev="m1")
    ost = q.wait_event("ACPI_DEVICE_OST", 600)
    assert ost and ost["data"]["info"]["status"] == 0
    _, mem = vm.wait_agent_where(
        "memory", lambda f: f["movable_kb"] > 0, 600, i + 1)
    assert mem["movable_kb"] == 128 * 1024
    assert mem["memtotal_kb"] == ready["memtotal_kb"] + 128 * 1024
    assert mem["online_blocks"] == ready["online_blocks"] + 1
