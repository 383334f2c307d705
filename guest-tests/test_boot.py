"""Boot the project's guest kernel on memplug and check what the guest
itself reports through the memplug guest agent (in-kernel, on ttyS0).

A boot takes minutes on a software KVM, so one guest serves all checks of
a module. Timeouts are generous on purpose; the time each wait took is in
build/test-logs/ and in the README's table."""
import os
import re
import subprocess

import pytest

from memplug_vm import (GUEST_BZIMAGE, GUESTS, KERNELS, Memplug, guest_bound,
                        guest_kernels, nested_lane, nested_triple_fault,
                        require_kvm, start_until_ready, triple_faults)

BOOT_TIMEOUT = guest_bound(20 * 60)
POWEROFF_TIMEOUT = guest_bound(5 * 60)
CMDLINE = "console=ttyS0 swiotlb=noforce memplug_agent.poweroff=1"
RAM_KB = 256 * 1024


def boot(kernel_args, name, cpus=1, extra=()):
    require_kvm()
    vm, index, ready = start_until_ready(
        lambda log_name: Memplug(kernel_args + [
            "--cpus", str(cpus), "--memory", "256M", "--cmdline", CMDLINE] +
            list(extra), log_name), name, BOOT_TIMEOUT)
    try:
        status = vm.wait_exit(POWEROFF_TIMEOUT)
    finally:
        vm.stop()
    return vm, index, ready, status


# The fast path (ELF vmlinux, 64-bit entry), a bzImage unpacked on the
# host (its vmlinux booted like the fast path), a bzImage through the boot
# protocol's 64-bit entry (its decompressor runs in the guest) and a second
# vCPU started by the guest through INIT/SIPI; Debian's stock kernel
# (xz bzImage) with the user-space agent where the lane runs user space,
# unpacked on the host and through its own decompressor.
# name: (kernel, image instead of its own or None, cpus, extra arguments)
CONFIGS = {"vmlinux": ("tiny", None, 1, []),
           "bzimage": ("tiny", GUEST_BZIMAGE, 1, []),
           "bzimage-in-guest": ("tiny", GUEST_BZIMAGE, 1,
                                ["--kernel-unpack", "off"]),
           "vmlinux-2cpus": ("tiny", None, 2, []),
           "stock": ("stock", None, 1, []),
           "stock-in-guest": ("stock", None, 1, ["--kernel-unpack", "off"]),
           "stock-2cpus": ("stock", None, 2, []),
           # Two vCPUs on two nodes: the CPUID topology must agree with the
           # SRAT (one LLC per node) or the kernel warns in topology_sane.
           "stock-2cpus-2nodes": ("stock", None, 2, ["--numa", "nodes=2"])}
UNPACKED_ON_HOST = {"bzimage": "lz4", "stock": "xz", "stock-2cpus": "xz",
                    "stock-2cpus-2nodes": "xz"}


@pytest.fixture(scope="module",
                params=[c for c in CONFIGS if CONFIGS[c][0] in guest_kernels()])
def guest(request):
    kernel, image, cpus, extra = CONFIGS[request.param]
    args = KERNELS[kernel].args(image)
    vm, index, ready, status = boot(args, f"boot-{request.param}", cpus,
                                    extra)
    return vm, index, ready, status, cpus, extra


def test_who_unpacks_a_bzimage(guest, request):
    """memplug says when it booted a bzImage's vmlinux unpacked on the
    host; with --kernel-unpack off the same guest boots (above: ready)
    through its own decompressor."""
    vm = guest[0]
    fmt = UNPACKED_ON_HOST.get(request.node.callspec.params["guest"])
    said = "booting the vmlinux inside it, unpacked on the host (" in \
        vm.stderr.text()
    assert said == (fmt is not None), vm.stderr.text()
    if fmt:
        assert f"unpacked on the host ({fmt} payload" in vm.stderr.text()


def test_guest_sees_its_cpus(guest):
    vm, _, ready, _, cpus, extra = guest
    assert ready["cpus"] == cpus
    if cpus > 1:
        nodes = "2 nodes" if "nodes=2" in extra else "1 node"
        assert f"smp: Brought up {nodes}, {cpus} CPUs" in vm.console.text()


def test_guest_acpi_is_on_with_sci_on_irq9(guest):
    vm, _, ready, _, _, _ = guest
    assert ready["acpi"] == 1
    assert ready["sci_irq"] == 9
    console = vm.console.text()
    assert "ACPI: Interpreter enabled" in console
    assert "ACPI BIOS Error" not in console and "ACPI Error" not in console


def test_guest_memtotal_matches_boot_ram(guest):
    _, _, ready, _, _, _ = guest
    # The kernel image, page tables and struct pages come out of the 256M;
    # a working guest keeps most of it.
    assert 0.75 * RAM_KB < ready["memtotal_kb"] < RAM_KB
    # 256M of boot RAM is two 128M memory blocks, both online.
    assert ready["blocks"] == 2
    assert ready["online_blocks"] == 2


def test_guest_poweroff_ends_memplug_with_0(guest):
    vm, _, _, status, _, _ = guest
    assert status == 0, vm.stderr.text()
    assert "reboot: Power down" in vm.console.text()


def test_nested_lane_traces_the_rip_of_a_triple_fault():
    """The nested lane retries a test file whose failures came with an
    unasked guest triple fault (scripts/nested-retry) and names the guest
    RIP, which only L1's kvm:kvm_exit trace still knows: a flat guest that
    executes int3 with no IDT triple-faults at that instruction."""
    require_kvm()
    if not nested_lane():
        pytest.skip("the triple-fault trace is the nested lane's "
                    f"(MEMPLUG_KVM_LANE={os.environ.get('MEMPLUG_KVM_LANE')})")
    int3 = subprocess.run(["objdump", "-d", str(GUESTS / "int3.elf")],
                          capture_output=True, text=True, check=True).stdout
    rip = "0x" + re.search(r"^\s*([0-9a-f]+):\s+cc\s+int3", int3, re.M)[1]
    with Memplug(["--kernel", str(GUESTS / "int3.elf")], "triple") as vm:
        assert vm.stderr.wait_for("triple fault at", 60) is not None, \
            vm.diagnostics()
        faults = triple_faults()
        assert any(r == rip for _, _, r in faults), (rip, faults)
        why = nested_triple_fault(vm)
        assert why and rip in why, why
