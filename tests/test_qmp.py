"""The control socket (QMP) against a tiny guest that never answers: what
memplug itself does with each request, every refusal, and that a refused
request changes nothing. The guest side of hot-add is in guest-tests/."""
import os
import stat
import subprocess

import pytest

from memplug_vm import GUESTS, Memplug, idle_guest, require_kvm
from qmp_client import QMP

M = 1 << 20
G = 1 << 30


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    require_kvm()
    sock = tmp_path_factory.mktemp("qmp") / "vm.sock"
    with Memplug(["--kernel", str(GUESTS / "idle.elf"), "--memory",
                  "256M,slots=4,maxmem=1280M", "--numa", "nodes=2",
                  "--control", str(sock)], "qmp") as p:
        assert p.console.wait_for("^idle$", 60) is not None, p.stderr.text()
        q = QMP(sock)
        yield p, q, sock
        q.close()


def devices(q):
    return q.cmd("query-memory-devices")


def refused(q, name, fragment, cls="GenericError", **args):
    """Runs a command that must fail with fragment in its message, of
    QEMU's class cls, and leave the DIMM table as it was."""
    before = devices(q)
    r = q.execute(name, **args)
    assert "error" in r, r
    assert r["error"]["class"] == cls, r
    assert fragment in r["error"]["desc"], r["error"]["desc"]
    assert devices(q) == before
    return r["error"]["desc"]


def test_socket_is_private(vm):
    _, _, sock = vm
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600


def test_greeting_and_negotiation(vm):
    """QEMU's classes and words: CommandNotFound before negotiation, for a
    second qmp_capabilities and for an unknown command; enable is checked
    (the greeting offers no capability) and a refused negotiation leaves
    the client un-negotiated."""
    _, q, sock = vm
    assert q.greeting["QMP"]["version"]["package"].startswith("memplug")
    assert q.greeting["QMP"]["capabilities"] == []
    q2 = QMP(sock, negotiate=False)
    r = q2.execute("query-status")
    assert r["error"] == {"class": "CommandNotFound", "desc": "Expecting "
                          "capabilities negotiation with 'qmp_capabilities'"}
    for enable, desc in ((["oob"], "Capability oob not available"),
                         (["frob"], "Parameter 'enable[0]' does not accept "
                          "value 'frob'"),
                         ("oob", "Invalid parameter type for 'enable', "
                          "expected: array")):
        r = q2.execute("qmp_capabilities", enable=enable)
        assert r["error"] == {"class": "GenericError", "desc": desc}
    assert q2.execute("query-status")["error"]["class"] == "CommandNotFound"
    assert q2.execute("qmp_capabilities", enable=[]) == {"return": {}}
    assert q2.cmd("query-status")["running"] is True
    assert q2.execute("qmp_capabilities")["error"] == {
        "class": "CommandNotFound", "desc": "Capabilities negotiation is "
        "already complete, command ignored"}
    assert q2.execute("frobnicate")["error"] == {
        "class": "CommandNotFound",
        "desc": "The command frobnicate has not been found"}
    q2.close()


def test_query_commands_lists_the_subset(vm):
    _, q, _ = vm
    names = {c["name"] for c in q.cmd("query-commands")}
    for n in ("qmp_capabilities", "query-version", "object-add", "object-del",
              "device_add", "device_del", "query-memory-devices",
              "query-acpi-ospm-status", "query-memory-size-summary",
              "system_powerdown", "system_reset", "quit",
              "x-memplug-timeline", "x-memplug-query-dimms",
              "x-memplug-device-del-cancel"):
        assert n in names


def test_id_is_echoed(vm):
    _, q, _ = vm
    q.send_raw(b'{"execute": "query-status", "id": "abc"}\n')
    assert q.reply()["id"] == "abc"


def test_hot_add_plugs_dimm_and_raises_sci(vm):
    _, q, _ = vm
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "m1",
                           "size": 128 * M})
    q.cmd("device_add", driver="pc-dimm", id="d1", memdev="m1", node=1)
    devs = devices(q)
    assert devs == [{"type": "dimm", "data": {
        "id": "d1", "slot": 0, "addr": 4 * G, "size": 128 * M, "node": 1,
        "memdev": "/objects/m1", "hotplugged": True, "hotpluggable": True}}]
    dimm = q.cmd("x-memplug-query-dimms")[0]
    # This guest never runs the scan: the DIMM waits for its _OST.
    assert dimm["state"] == "inserting" and dimm["ost"] is None
    t = q.cmd("x-memplug-timeline")[0]
    assert t["device"] == "d1"
    assert 0 <= t["slot-call-us"] <= t["slot-installed-us"] <= \
        t["sci-raised-us"]
    assert t["ost-us"] is None
    s = q.cmd("query-memory-size-summary")
    assert s == {"base-memory": 256 * M, "plugged-memory": 128 * M}
    # Every slot, as QEMU lists them; "device" only where a DIMM is.
    ospm = q.cmd("query-acpi-ospm-status")
    assert [o["slot"] for o in ospm] == ["0", "1", "2", "3"]
    assert all(o["slot-type"] == "DIMM" for o in ospm)
    assert [o.get("device") for o in ospm] == ["d1", None, None, None]


def test_size_as_string_and_memfd(vm):
    _, q, _ = vm
    q.cmd("object-add", **{"qom-type": "memory-backend-memfd", "id": "mfd",
                           "size": "128M"})
    q.cmd("object-del", id="mfd")


@pytest.mark.parametrize("args,fragment", [
    ({"qom-type": "memory-backend-ram", "id": "z0", "size": 0},
     "is not a positive multiple of the page size"),
    ({"qom-type": "memory-backend-ram", "id": "z1", "size": -1},
     "expected: a non-negative integer"),
    ({"qom-type": "memory-backend-ram", "id": "z2", "size": "lots"},
     "is not a size"),
    ({"qom-type": "memory-backend-epc", "id": "z3", "size": 128 * M},
     "qom-type 'memory-backend-epc' is not supported"),
    ({"qom-type": "memory-backend-ram", "id": "9bad", "size": 128 * M},
     "is not valid"),
    ({"qom-type": "memory-backend-ram", "id": "z4", "size": 128 * M,
      "colour": "red"}, "Parameter 'colour' is unexpected"),
    ({"qom-type": "memory-backend-file", "id": "z5", "size": 128 * M},
     "Parameter 'mem-path' is missing"),
    ({"qom-type": "memory-backend-ram", "id": "z6"}, "'size' is missing"),
], ids=["zero", "negative", "unparsable", "unknown-type", "bad-id",
        "unknown-arg", "file-no-path", "no-size"])
def test_object_add_refusals(vm, args, fragment):
    _, q, _ = vm
    refused(q, "object-add", fragment, **args)


def test_device_add_refusals(vm):
    _, q, _ = vm
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "odd",
                           "size": 100 * M})
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "big",
                           "size": 2 * G})
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "ok1",
                           "size": 128 * M})
    msg = refused(q, "device_add", "DIMM size 100M is not a multiple of "
                  "the 128M block size", driver="pc-dimm", id="x1",
                  memdev="odd")
    assert msg.startswith("DIMM size")
    refused(q, "device_add", "DIMM size 2G is larger than the 896M left "
            "under maxmem=1280M", driver="pc-dimm", id="x2", memdev="big")
    refused(q, "device_add", "node 2 does not exist: the guest has 2 nodes",
            driver="pc-dimm", id="x3", memdev="ok1", node=2)
    refused(q, "device_add", "no backend with id \"nope\"",
            cls="DeviceNotFound", driver="pc-dimm",
            id="x4", memdev="nope")
    refused(q, "device_add", "backend m1 is already used by DIMM d1",
            driver="pc-dimm", id="x5", memdev="m1")
    refused(q, "device_add", "a DIMM with id \"d1\" already exists",
            driver="pc-dimm", id="d1", memdev="ok1")
    refused(q, "device_add", "driver 'virtio-mem-pci' is not supported",
            driver="virtio-mem-pci", id="x6", memdev="ok1")
    refused(q, "device_add", "Invalid parameter type for 'node'",
            driver="pc-dimm", id="x7", memdev="ok1", node="one")
    refused(q, "device_add", "slot 0 is in use by DIMM d1", driver="pc-dimm",
            id="x8", memdev="ok1", slot=0)
    refused(q, "object-del", "backend m1 is in use by DIMM d1", id="m1")
    refused(q, "object-add", "a backend with id \"ok1\" already exists",
            **{"qom-type": "memory-backend-ram", "id": "ok1", "size": 128 * M})
    refused(q, "device_del", "Device 'ghost' not found",
            cls="DeviceNotFound", id="ghost")
    # After all that, a valid request still works.
    q.cmd("device_add", driver="pc-dimm", id="d2", memdev="ok1")
    assert [d["data"].get("id") for d in devices(q)] == ["d1", "d2"]
    assert devices(q)[1]["data"]["addr"] == 4 * G + 128 * M
    q.cmd("object-del", id="odd")
    q.cmd("object-del", id="big")


def test_device_add_takes_what_qemu_takes(vm):
    """No id (QEMU invents none: the DIMM is known by its QOM path), memdev
    as a QOM path, slot -1 for any; device_del takes the path too."""
    _, q, _ = vm
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "an",
                           "size": 128 * M})
    assert q.cmd("device_add", driver="pc-dimm", memdev="/objects/an",
                 slot=-1) == {}
    anon = [d["data"] for d in devices(q) if d["data"]["memdev"] ==
            "/objects/an"]
    assert len(anon) == 1 and "id" not in anon[0]
    listed = [d for d in q.cmd("x-memplug-query-dimms")
              if d["memdev"] == "an"][0]
    path = listed["path"]
    assert path.startswith("/machine/peripheral-anon/device[")
    assert listed["id"] == path
    assert [o for o in q.cmd("query-acpi-ospm-status")
            if o["slot"] == str(anon[0]["slot"])][0].get("device") is None
    assert q.cmd("device_del", id=path) == {}
    # Repeated while pending: asked again, as QEMU answers it.
    assert q.cmd("device_del", id=path) == {}
    assert q.cmd("x-memplug-device-del-cancel", id=path) == {}
    refused(q, "device_add", "Invalid parameter type for 'slot'",
            driver="pc-dimm", memdev="an",
            slot=-2)


def test_device_del_pending_and_cancel(vm):
    """The guest never answers, so a device_del stays pending until it is
    cancelled."""
    _, q, _ = vm
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "mrm",
                           "size": 128 * M})
    q.cmd("device_add", driver="pc-dimm", id="drm", memdev="mrm")

    def state():
        return {d["id"]: d["state"] for d in
                q.cmd("x-memplug-query-dimms")}["drm"]

    refused(q, "x-memplug-device-del-cancel", "DIMM drm is not being "
            "removed (state inserting)", id="drm")
    assert q.cmd("device_del", id="drm") == {}
    assert state() == "removing"
    # Still listed: only the guest's eject takes it away.
    assert "drm" in [d["data"].get("id") for d in devices(q)]
    # A repeat asks the guest again and succeeds, as in QEMU.
    assert q.cmd("device_del", id="drm") == {}
    assert state() == "removing"
    refused(q, "object-del", "backend mrm is in use by DIMM drm", id="mrm")
    assert q.cmd("x-memplug-device-del-cancel", id="drm") == {}
    assert state() == "present"
    refused(q, "x-memplug-device-del-cancel", "DIMM drm is not being "
            "removed (state present)", id="drm")
    assert state() == "present"
    refused(q, "x-memplug-device-del-cancel", "Device 'ghost' not found",
            cls="DeviceNotFound", id="ghost")
    refused(q, "x-memplug-device-del-cancel", "'id' is missing")
    refused(q, "x-memplug-device-del-cancel", "Parameter 'x' is unexpected",
            id="drm", x=1)
    refused(q, "device_del", "Device 'ghost' not found",
            cls="DeviceNotFound", id="ghost")
    refused(q, "object-del", "backend mrm is in use by DIMM drm", id="mrm")
    # A cancelled removal can be requested again.
    assert q.cmd("device_del", id="drm") == {}
    assert state() == "removing"
    assert q.cmd("x-memplug-device-del-cancel", id="drm") == {}
    assert state() == "present"


def test_protocol_garbage(vm):
    _, q, _ = vm
    before = devices(q)
    q.send_raw(b'{"execute": x}')
    assert "JSON parse error" in q.reply()["error"]["desc"]
    q.send_raw(b'[1, 2, 3]\n')
    assert q.reply()["error"]["desc"] == "QMP input must be a JSON object"
    q.send_raw(b'42 ')
    assert q.reply()["error"]["desc"] == "QMP input must be a JSON object"
    q.send_raw(b'{"arguments": {}}')
    assert q.reply()["error"]["desc"] == "QMP input lacks member 'execute'"
    q.send_raw(b'{"execute": 1}')
    assert q.reply()["error"]["desc"] == \
        "QMP input member 'execute' must be a string"
    q.send_raw(b'{"execute": "query-status", "frob": 1, "id": 5}')
    r = q.reply()
    assert r["error"]["desc"] == "QMP input member 'frob' is unexpected"
    assert r["id"] == 5
    q.send_raw(b'{"execute": "device_add", "arguments": [1]}\n')
    assert q.reply()["error"]["desc"] == \
        "QMP input member 'arguments' must be an object"
    q.send_raw(b'{"execute": "frobnicate"}\n')
    assert "The command frobnicate has not been found" in \
        q.reply()["error"]["desc"]
    q.send_raw(b'{"execute": "query-status", "arguments": {"x": "' +
               b"y" * 70000 + b'"}}\n')
    assert "longer than the limit" in q.reply()["error"]["desc"]
    # After the over-long value the stream is in step again.
    q.send_raw(b'{"execute": "query-status", "id": "after"}')
    assert q.reply() == {"return": {"running": True, "singlestep": False,
                                    "status": "running"}, "id": "after"}
    assert devices(q) == before


def test_values_are_framed_as_qemu_frames_them(vm):
    """No newline needed (QEMU's own clients send none), two values on one
    line, one value over several lines, braces inside strings; an
    unfinished value waits for the rest."""
    _, q, _ = vm
    q.send_raw(b'{"execute": "query-status", "id": 1}')
    assert q.reply()["id"] == 1
    q.send_raw(b'{"execute": "query-status", "id": 2}{"execute": '
               b'"query-status", "id": 3}\n')
    assert [q.reply()["id"], q.reply()["id"]] == [2, 3]
    q.send_raw(b'{\n  "execute": "query-status",\n  "id": "a }{ \\" ] ["\n}')
    assert q.reply()["id"] == 'a }{ " ] ['
    q.send_raw(b'{"execute": "query-status", "arguments": ')
    q.send_raw(b'{}, "id": 4}')
    assert q.reply()["id"] == 4


def test_client_disconnect_mid_command(vm):
    _, q, sock = vm
    before = devices(q)
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "half",
                           "size": 128 * M})
    q2 = QMP(sock)
    q2.send_raw(b'{"execute": "device_add", "arguments": {"driver": '
                b'"pc-dimm", "id": "dh", "memdev": "ha')
    q2.close()
    assert devices(q) == before
    q.cmd("object-del", id="half")


def test_slots_run_out(vm):
    _, q, _ = vm
    n = len(devices(q))
    for i in range(4 - n):
        q.cmd("object-add", **{"qom-type": "memory-backend-ram",
                               "id": f"f{i}", "size": 128 * M})
        q.cmd("device_add", driver="pc-dimm", id=f"fd{i}", memdev=f"f{i}")
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "last",
                           "size": 128 * M})
    refused(q, "device_add", "no free DIMM slot (all 4 in use)",
            driver="pc-dimm", id="dl", memdev="last")


def test_events_say_who_did_it_as_qemu_does(tmp_path):
    """system_powerdown: POWERDOWN; system_reset: RESET from the host;
    SIGTERM: SHUTDOWN for host-signal (the flat guest ignores the power
    button)."""
    sock = tmp_path / "ev.sock"
    with idle_guest(sock, "qmp-events") as p:
        q = QMP(sock)
        assert q.cmd("system_powerdown") == {}
        ev = q.wait_event("POWERDOWN", 30)
        assert ev and ev["data"] == {}
        assert q.cmd("system_reset") == {}
        ev = q.wait_event("RESET", 30)
        assert ev and ev["data"] == {"guest": False,
                                     "reason": "host-qmp-system-reset"}
        assert p.console.wait_for("^idle$", 60, start=1) is not None
        p.proc.terminate()
        ev = q.wait_event("SHUTDOWN", 30)
        assert ev and ev["data"] == {"guest": False, "reason": "host-signal"}
        assert p.wait_exit(30) == 0
        q.close()


def test_quit_sends_shutdown_and_exits_0(vm):
    p, q, _ = vm
    assert q.cmd("quit") == {}
    ev = q.wait_event("SHUTDOWN", 30)
    assert ev and ev["data"] == {"guest": False, "reason": "host-qmp-quit"}
    assert p.wait_exit(30) == 0


def test_block_size_is_settable(tmp_path):
    require_kvm()
    sock = tmp_path / "b.sock"
    with Memplug(["--kernel", str(GUESTS / "idle.elf"), "--memory",
                  "256M,slots=2,maxmem=1280M", "--block-size", "256M",
                  "--control", str(sock)], "qmp-block") as p:
        assert p.console.wait_for("^idle$", 60) is not None, p.stderr.text()
        q = QMP(sock)
        q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "a",
                               "size": 128 * M})
        refused(q, "device_add", "DIMM size 128M is not a multiple of the "
                "256M block size", driver="pc-dimm", id="da", memdev="a")
        q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "b",
                               "size": 256 * M})
        q.cmd("device_add", driver="pc-dimm", id="db", memdev="b")
        q.close()


def test_prealloc_failure_is_the_requests_error(tmp_path):
    """A backend that cannot be populated (here: a file on a 1M tmpfs) is
    refused at object-add, with nothing left behind, and never becomes a
    SIGBUS later."""
    require_kvm()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs",
                    str(mnt)], check=True)
    try:
        sock = tmp_path / "p.sock"
        with Memplug(["--kernel", str(GUESTS / "idle.elf"), "--memory",
                      "256M,slots=2,maxmem=512M", "--control", str(sock)],
                     "qmp-prealloc") as p:
            assert p.console.wait_for("^idle$", 60) is not None
            q = QMP(sock)
            msg = refused(q, "object-add", "cannot preallocate 128M for "
                          "backend f", **{"qom-type": "memory-backend-file",
                                          "id": "f", "size": 128 * M,
                                          "mem-path": str(mnt / "f"),
                                          "share": True, "prealloc": True})
            print(msg)
            # Nothing left: no file, the id is free again and memplug
            # still runs.
            assert not (mnt / "f").exists()
            q.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                   "id": "f", "size": 128 * M})
            assert p.proc.poll() is None
            q.close()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_hot_add_with_busy_and_waiting_vcpus(tmp_path):
    """device_add takes every vCPU out of KVM_RUN while it changes the KVM
    memory slots. Here vCPU 0 loops and prints, and vCPUs 1 and 2 wait
    inside KVM_RUN for a SIPI that never comes: every add is answered, and
    vCPU 0 prints on afterwards."""
    require_kvm()
    sock = tmp_path / "t.sock"
    with Memplug(["--kernel", str(GUESTS / "ticker.elf"), "--cpus", "3",
                  "--memory", "256M,slots=8,maxmem=2G", "--control",
                  str(sock)], "qmp-ticker") as p:
        assert p.console.wait_for("^go$", 60) is not None, p.stderr.text()
        q = QMP(sock)
        for i in range(8):
            q.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                   "id": f"m{i}", "size": 128 * M})
            q.cmd("device_add", driver="pc-dimm", id=f"d{i}", memdev=f"m{i}")
        assert [d["data"].get("id") for d in devices(q)] == \
            [f"d{i}" for i in range(8)]
        after = len(p.console.lines)
        assert p.console.wait_for("^t$", 60, start=after + 5) is not None, \
            "vCPU 0 stopped printing after the hot-adds"
        assert q.cmd("query-status")["running"] is True
        q.close()


def test_hmp_through_human_monitor_command(tmp_path):
    """QEMU's docs/memory-hotplug.txt workflow in HMP, answered in QEMU's
    words and layout (lines end \\r\\n, errors are output, not QMP
    errors)."""
    sock = tmp_path / "hmp.sock"
    with idle_guest(sock, "qmp-hmp", ["--memory", "256M,slots=2,maxmem=1G"]) \
            as p:
        q = QMP(sock)

        def hmp(line):
            return q.cmd("human-monitor-command", **{"command-line": line})

        assert hmp("object_add memory-backend-ram,id=mem1,size=128M") == ""
        assert hmp("device_add pc-dimm,id=dimm1,memdev=mem1") == ""
        assert hmp("info memory-devices") == (
            'Memory device [dimm]: "dimm1"\r\n  addr: 0x100000000\r\n'
            "  slot: 0\r\n  node: 0\r\n  size: 134217728\r\n"
            "  memdev: /objects/mem1\r\n  hotplugged: true\r\n"
            "  hotpluggable: true\r\n")
        assert hmp("info status") == "VM status: running\r\n"
        assert hmp("object_del mem1") == "Error: backend mem1 is in use by " \
            "DIMM dimm1; remove the DIMM first\r\n"
        assert hmp("device_add pc-dimm,memdev=nope").startswith(
            'Error: no backend with id "nope"')
        assert hmp("frobnicate now") == "unknown command: 'frobnicate'\r\n"
        assert hmp("device_del dimm1") == ""
        names = [line.split()[0] for line in hmp("help").split("\r\n")
                 if line]
        for cmd in ("object_add", "object_del", "device_add", "device_del",
                    "info", "system_reset", "system_powerdown", "quit|q"):
            assert cmd in names
        assert [line.split()[1] for line in hmp("info").split("\r\n")
                if line] == ["version", "status", "memory-devices", "memdev"]
        assert hmp("info memdev") == (
            "memory backend: mem1\r\n  size:  134217728\r\n"
            "  merge: true\r\n  dump: true\r\n  prealloc: false\r\n"
            "  share: false\r\n  reserve: true\r\n  policy: default\r\n"
            "  host nodes: \r\n")
        r = q.execute("human-monitor-command")
        assert "'command-line' is missing" in r["error"]["desc"]
        assert hmp("quit") == ""
        assert p.wait_exit(30) == 0
        q.close()


def test_memdev_and_qom_view(tmp_path):
    """What QEMU scripts read back: query-memdev, qom-list and qom-get of
    /objects and /machine/peripheral(-anon), with QEMU's classes for what
    is not there."""
    sock = tmp_path / "qom.sock"
    with idle_guest(sock, "qmp-qom", ["--memory", "256M,slots=2,maxmem=1G"]):
        q = QMP(sock)
        q.cmd("object-add", **{"qom-type": "memory-backend-memfd", "id": "m1",
                               "size": 128 * M, "reserve": False})
        q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "m2",
                               "size": 128 * M})
        q.cmd("device_add", driver="pc-dimm", id="d1", memdev="m1")
        q.cmd("device_add", driver="pc-dimm", memdev="m2")
        memdevs = {b["id"]: b for b in q.cmd("query-memdev")}
        assert memdevs["m1"] == {"id": "m1", "size": 128 * M, "merge": True,
                                 "dump": True, "prealloc": False,
                                 "share": True, "reserve": False,
                                 "host-nodes": [], "policy": "default"}
        assert memdevs["m2"]["share"] is False
        typ = {"name": "type", "type": "string"}
        assert q.cmd("qom-list", path="/objects") == [
            typ, {"name": "m1", "type": "child<memory-backend-memfd>"},
            {"name": "m2", "type": "child<memory-backend-ram>"}]
        assert q.cmd("qom-list", path="/machine/peripheral") == [
            typ, {"name": "d1", "type": "child<pc-dimm>"}]
        assert q.cmd("qom-list", path="/machine/peripheral-anon") == [
            typ, {"name": "device[0]", "type": "child<pc-dimm>"}]
        props = {p["name"] for p in q.cmd("qom-list", path="/objects/m1")}
        assert {"type", "size", "prealloc", "host-nodes", "policy"} <= props
        assert q.cmd("qom-get", path="/objects/m1", property="size") == \
            128 * M
        assert q.cmd("qom-get", path="/objects/m1", property="type") == \
            "memory-backend-memfd"
        assert q.cmd("qom-get", path="/machine/peripheral/d1",
                     property="addr") == 4 * G
        assert q.cmd("qom-get", path="/machine/peripheral-anon/device[0]",
                     property="memdev") == "/objects/m2"
        r = q.execute("qom-get", path="/objects/nope", property="size")
        assert r["error"] == {"class": "DeviceNotFound",
                              "desc": "Device '/objects/nope' not found"}
        r = q.execute("qom-get", path="/objects/m1", property="frob")
        assert r["error"]["desc"] == \
            "Property 'memory-backend-memfd.frob' not found"
        assert q.execute("qom-list", path="/x")["error"]["class"] == \
            "DeviceNotFound"
        q.close()


HUGE_2M = "/sys/kernel/mm/hugepages/hugepages-2048kB"


def huge_pages(what):
    with open(f"{HUGE_2M}/{what}") as f:
        return int(f.read())


@pytest.fixture
def huge_pool():
    """64 more 2M huge pages in the host's pool for the test (root), the
    pool as it was afterwards."""
    nr = huge_pages("nr_hugepages")
    try:
        with open(f"{HUGE_2M}/nr_hugepages", "w") as f:
            f.write(str(nr + 64))
    except OSError as e:
        pytest.fail(f"cannot grow the host's 2M huge page pool (root is "
                    f"needed): {e}")
    try:
        assert huge_pages("free_hugepages") >= 64, "the host gave no pages"
        yield
    finally:
        with open(f"{HUGE_2M}/nr_hugepages", "w") as f:
            f.write(str(nr))


def test_memfd_on_huge_pages(tmp_path, huge_pool):
    """memory-backend-memfd with hugetlb=on and hugetlbsize=2M takes its
    memory from the host's 2M pool (prealloc: 64 pages for 128M) and gives
    it back at object-del; a backend larger than the pool is refused with
    the pages it needs and those free, and takes none."""
    sock = tmp_path / "mem.sock"
    with idle_guest(sock, "qmp-hugetlb", ["--memory",
                                          "256M,slots=2,maxmem=2G"]):
        q = QMP(sock)
        free = huge_pages("free_hugepages")
        q.cmd("object-add", **{"qom-type": "memory-backend-memfd", "id": "h1",
                               "size": 128 * M, "hugetlb": True,
                               "hugetlbsize": 2 * M, "prealloc": True})
        assert free - huge_pages("free_hugepages") == 64
        left = huge_pages("free_hugepages")
        want = (left // 64 + 1) * 64
        r = q.execute("object-add", **{"qom-type": "memory-backend-memfd",
                                       "id": "h2", "size": want * 2 * M,
                                       "hugetlb": True, "hugetlbsize": 2 * M})
        assert f"needs {want} huge pages of 2M and {left} are free" in \
            r["error"]["desc"], r
        assert huge_pages("free_hugepages") == left
        assert huge_pages("resv_hugepages") == 0
        q.cmd("object-del", id="h1")
        assert huge_pages("free_hugepages") == free
        assert [b["id"] for b in q.cmd("query-memdev")] == []
        q.close()


def test_object_add_takes_qemus_members(tmp_path):
    """merge, dump, host-nodes + policy (mbind), prealloc-threads, seal and
    hugetlb for memfd, align and discard-data for files: honoured and read
    back; readonly and members a type lacks refused by name."""
    sock = tmp_path / "mem.sock"
    with idle_guest(sock, "qmp-members", ["--memory",
                                          "256M,slots=2,maxmem=1G"]):
        q = QMP(sock)
        q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "r",
                               "size": 128 * M, "merge": False,
                               "dump": False, "host-nodes": [0],
                               "policy": "bind", "prealloc": True,
                               "prealloc-threads": 4})
        q.cmd("object-add", **{"qom-type": "memory-backend-memfd", "id": "f",
                               "size": 128 * M, "seal": True})
        q.cmd("object-add", **{"qom-type": "memory-backend-file", "id": "p",
                               "size": 128 * M, "mem-path": str(tmp_path),
                               "share": True, "align": 4 * M,
                               "discard-data": True})
        got = {b["id"]: b for b in q.cmd("query-memdev")}
        assert (got["r"]["merge"], got["r"]["dump"], got["r"]["policy"],
                got["r"]["host-nodes"], got["r"]["prealloc"]) == \
            (False, False, "bind", [0], True)
        assert got["f"]["merge"] is True and got["f"]["share"] is True
        for args, desc in (
                ({"qom-type": "memory-backend-ram", "id": "x1",
                  "size": 128 * M, "host-nodes": [63], "policy": "bind"},
                 "backend x1: mbind refused"),
                ({"qom-type": "memory-backend-ram", "id": "x2",
                  "size": 128 * M, "policy": "bind"},
                 "host-nodes must be set for a policy other than default"),
                ({"qom-type": "memory-backend-ram", "id": "x3",
                  "size": 128 * M, "policy": "random"},
                 "Parameter 'policy' does not accept value 'random'"),
                ({"qom-type": "memory-backend-file", "id": "x4",
                  "size": 128 * M, "mem-path": str(tmp_path),
                  "readonly": True},
                 "readonly=on is not supported by memplug"),
                ({"qom-type": "memory-backend-ram", "id": "x5",
                  "size": 128 * M, "seal": True},
                 "Parameter 'seal' is unexpected"),
                ({"qom-type": "memory-backend-ram", "id": "x6",
                  "size": 128 * M, "prealloc-threads": 0},
                 "prealloc-threads 0: 1 to 16"),
                ({"qom-type": "memory-backend-file", "id": "x7",
                  "size": 128 * M, "mem-path": str(tmp_path),
                  "align": 3 * M}, "align 3145728 is not a power of two")):
            r = q.execute("object-add", **args)
            assert desc in r["error"]["desc"], (args, r)
        assert {b["id"] for b in q.cmd("query-memdev")} == {"r", "f", "p"}
        q.close()


def schema_index(schema):
    """{name: entry} of a query-qmp-schema answer, every reference in it
    checked to resolve."""
    by = {e["name"]: e for e in schema}
    assert len(by) == len(schema), "a name is listed twice"
    for e in schema:
        refs = [e.get("arg-type"), e.get("ret-type"), e.get("element-type")]
        refs += [m["type"] for m in e.get("members", []) if "type" in m]
        refs += [v["type"] for v in e.get("variants", [])]
        for r in refs:
            assert r is None or r in by, (e, r)
    return by


def wrong_value(json_type):
    """A value of another JSON type than json_type ("1G" would be a size
    on memplug's socket, so sizes get a boolean)."""
    return {"string": 12, "int": True, "boolean": "yes",
            "array": True}.get(json_type)


def test_query_qmp_schema_is_what_the_server_checks(tmp_path):
    """query-qmp-schema lists every command with the arguments the server
    takes: each member listed is accepted (a value of the wrong JSON type
    is refused naming it), an unlisted one is unexpected, a required one
    left out is missing; object-add's members are its qom-type's."""
    sock = tmp_path / "mem.sock"
    with idle_guest(sock, "qmp-schema", ["--memory", "256M,slots=2,maxmem=1G"]):
        q = QMP(sock)
        by = schema_index(q.cmd("query-qmp-schema"))
        names = {c["name"] for c in q.cmd("query-commands")}
        assert {n for n, e in by.items() if e["meta-type"] == "command"} == \
            names
        jtype = {n: e.get("json-type") for n, e in by.items()
                 if e["meta-type"] == "builtin"}
        jtype.update({n: "array" for n, e in by.items()
                      if e["meta-type"] == "array"})
        jtype.update({n: "string" for n, e in by.items()
                      if e["meta-type"] == "enum"})

        def check(name, members, fixed=None):
            """members: the schema's; fixed: values the handler needs to
            get as far as its type checks."""
            fixed = fixed or {}
            need = {m["name"]: fixed.get(m["name"], "x") for m in members
                    if "default" not in m}
            if name not in ("qmp_capabilities", "quit", "system_reset",
                            "system_powerdown"):
                r = q.execute(name, **need, frob=1)
                assert r["error"]["desc"] == "Parameter 'frob' is unexpected", \
                    (name, r)
            for m in members:
                if "default" not in m and name != "qmp_capabilities":
                    args = {k: v for k, v in need.items() if k != m["name"]}
                    r = q.execute(name, **args)
                    assert "error" in r and m["name"] in r["error"]["desc"], \
                        (name, m, r)
                bad = wrong_value(jtype[m["type"]])
                if bad is None or name == "qmp_capabilities":
                    continue
                r = q.execute(name, **{**need, m["name"]: bad})
                assert "error" in r and \
                    f"'{m['name']}'" in r["error"]["desc"], (name, m, r)

        fixed = {"driver": "pc-dimm", "command-line": "info status",
                 "path": "/objects"}
        for name in sorted(names - {"object-add"}):
            check(name, by[by[name]["arg-type"]]["members"], fixed)
        union = by[by["object-add"]["arg-type"]]
        assert union["tag"] == "qom-type"
        cases = {v["case"]: by[v["type"]]["members"]
                 for v in union["variants"]}
        assert set(cases) == set(by[union["members"][0]["type"]]["values"]) \
            == {"memory-backend-ram", "memory-backend-memfd",
                "memory-backend-file"}
        for case, members in cases.items():
            check("object-add", union["members"] + members,
                  {"qom-type": case, "id": "s1", "size": 128 * M,
                   "mem-path": str(tmp_path)})
        assert q.cmd("query-memdev") == []
        q.close()
