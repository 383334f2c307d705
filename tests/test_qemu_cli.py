"""QEMU's command line for memory, taken by memplug: a QEMU
memory-hotplug command line of the subset memplug implements runs with
qemu-system-x86_64 replaced by memplug (QEMU's docs/memory-hotplug.txt
shape, on anonymous memory and a flat guest), and anything else of QEMU's
is refused naming the option."""
import pytest

from memplug_vm import GUESTS, Memplug, require_kvm, run
from qmp_client import QMP

M = 1 << 20
G = 1 << 30
IDLE = str(GUESTS / "idle.elf")


def started(args, name):
    p = Memplug(args, name)
    assert p.console.wait_for("^idle$", 60) is not None, p.stderr.text()
    return p


def test_qemu_memory_hotplug_command_line(tmp_path):
    require_kvm()
    sock = tmp_path / "q.sock"
    with started(["-enable-kvm", "-M", "pc", "-nographic", "-nodefaults",
                  "-serial", "stdio", "-cpu", "host",
                  "-m", "256,slots=4,maxmem=1G", "-smp", "2",
                  "-numa", "node,nodeid=0,cpus=0",
                  "-numa", "node,nodeid=1,cpus=1",
                  "-object", "memory-backend-ram,id=mem1,size=128M",
                  "-object", "memory-backend-memfd,id=mem2,size=128M",
                  "-device", "pc-dimm,id=dimm1,memdev=mem1,node=1",
                  "-kernel", IDLE, "-append", "console=ttyS0",
                  "-qmp", f"unix:{sock},server=on,wait=off"],
                 "qemu-cli") as p:
        q = QMP(sock)
        # -m 256: MiB, as in QEMU.
        assert q.cmd("query-memory-size-summary") == {
            "base-memory": 256 * M, "plugged-memory": 128 * M}
        dimms = [d["data"] for d in q.cmd("query-memory-devices")]
        assert [(d["id"], d["node"], d["hotplugged"]) for d in dimms] == \
            [("dimm1", 1, False)]
        # The other -object waits for a device_add, as in QEMU's docs.
        assert q.cmd("device_add", driver="pc-dimm", id="dimm2",
                     memdev="mem2") == {}
        assert {b["id"] for b in q.cmd("query-memdev")} == {"mem1", "mem2"}
        q.cmd("object-add", **{"qom-type": "memory-backend-ram",
                               "id": "mem3", "size": 128 * M})
        r = q.execute("device_add", driver="pc-dimm", id="d3",
                      memdev="mem3", node=2)
        assert "node 2 does not exist: the guest has 2 nodes" in \
            r["error"]["desc"]
        q.close()
        assert p.stop() == 0


@pytest.mark.parametrize("qmp", ["-qmp unix:{},server,nowait",
                                 "-chardev socket,id=mon0,path={},server=on,"
                                 "wait=off -mon chardev=mon0,mode=control"])
def test_qmp_socket_spellings(tmp_path, qmp):
    require_kvm()
    sock = tmp_path / "s.sock"
    with started(["-kernel", IDLE, "-m", "1.5G"] +
                 qmp.format(sock).split(), "qemu-cli-qmp"):
        q = QMP(sock)
        assert q.cmd("query-memory-size-summary")["base-memory"] == \
            3 * G // 2
        q.close()


def test_no_reboot_ends_at_the_first_reset(tmp_path):
    require_kvm()
    sock = tmp_path / "r.sock"
    p = Memplug(["-kernel", str(GUESTS / "reset.elf"), "-no-reboot",
                 "-qmp", f"unix:{sock},server=on,wait=off"], "qemu-cli-reset")
    with p:
        assert p.wait_exit(60) == 0
        assert p.console.text().count("boot") == 1


@pytest.mark.parametrize("args,message", [
    (["-vnc", ":0"], "not supported by memplug: -vnc"),
    (["-M", "q35"], "not supported by memplug: -M q35"),
    (["-smp", "2,sockets=2"], "not supported by memplug: -smp topology"),
    (["-qmp", "tcp:localhost:4444,server,nowait"],
     "-qmp: memplug serves QMP on a Unix socket without waiting"),
    (["-qmp", "unix:/tmp/x.sock,server=on,wait=on"],
     "-qmp: memplug serves QMP on a Unix socket without waiting"),
    (["-object", "memory-backend-ram,id=m,size=1G,host-nodes=0"],
     "host-nodes must be empty for policy default"),
    (["-object", "memory-backend-ram,id=m,size=1G,frob=1"],
     "Parameter 'frob' is unexpected (-object memory-backend-ram,id=m,"),
    (["-object", "memory-backend-epc,id=m,size=1G"],
     "qom-type 'memory-backend-epc' is not supported"),
    (["-device", "virtio-mem-pci,id=v"],
     "not supported by memplug: virtio-mem-pci,id=v"),
    (["-device", "pc-dimm,id=d"], "-device pc-dimm,id=d: memdev= is required"),
    (["-numa", "node,memdev=m"], "-numa node,memdev="),
    (["-m", "lots"], "-m lots: expected [size=]SIZE"),
    (["-mon", "chardev=x,mode=readline"], "-mon other than mode=control"),
    (["-mon", "chardev=x,mode=control"], "-mon chardev=x: no -chardev"),
    (["-m"], "-m needs a value"),
], ids=["vnc", "q35", "topology", "tcp", "wait", "host-nodes", "frob",
        "epc",
        "virtio-mem", "no-memdev", "numa-memdev", "bad-m", "hmp-mon",
        "mon-without-chardev", "no-value"])
def test_the_rest_of_qemu_is_refused_by_name(args, message):
    status, out, err = run(["-kernel", IDLE] + args)
    assert status == 1 and out == ""
    assert message in err, err
    assert err.startswith("memplug: ")


def test_memplug_options_still_mix_in(tmp_path):
    """Native options and QEMU's together; -vv is memplug's verbosity."""
    require_kvm()
    status, out, err = run(["-kernel", str(GUESTS / "hello.elf"), "-vv",
                            "--cpus", "1", "-m", "128"])
    assert (status, out) == (0, "hello\n"), err
