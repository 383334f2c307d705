"""The smoke set: boot to the agent's ready line, one hot-add, one remove,
each read from what the guest reports. `make check` runs it in the guest
lane like every module, and once more directly on PVM when that KVM is
loaded (PVM is a KVM some hosts really have), where the rest of the guest
tests would take most of an hour (`make check-pvm` runs them all there)."""
import pytest

from guest import Guest
from memplug_vm import guest_kernels
from test_hotremove import BASE, booted

M = 1 << 20


@pytest.fixture(scope="module", params=guest_kernels())
def guest(request):
    with booted("smoke", BASE + "memhp_default_state=online_movable",
                request.param) as args:
        yield Guest(*args)


def test_boots_to_ready_with_acpi(guest):
    r = guest.ready
    assert r["acpi"] == 1 and r["sci_irq"] == 9, r
    # 256M of boot RAM: two 128M blocks, both online.
    assert r["blocks"] == r["online_blocks"] == 2, r


def test_hot_add_128m_is_online_and_usable(guest):
    mem = guest.add("s1")
    assert mem["movable_kb"] == 128 * 1024, mem
    guest.check_pattern(guest.added_at)
    assert guest.dimm("s1")["state"] == "present"


def test_remove_gives_the_block_back(guest):
    ev, mem = guest.remove("s1")
    assert ev["data"]["path"] == "/machine/peripheral/s1"
    assert mem["blocks"] == guest.ready["blocks"], mem
    assert mem["movable_kb"] == 0, mem
    assert guest.qmp.cmd("query-memory-devices") == []
    guest.qmp.cmd("object-del", id="mem-s1")
