"""QEMU's own Python QMP library against memplug's control socket: the
asyncio QMPClient, the legacy QEMUMonitorProtocol that older scripts use
and qmp-shell, taken from the source of Debian's QEMU package
(scripts/qemu-python). They frame commands without a newline, match
replies by id and negotiate as QEMU expects; each runs the DIMM workflow
on a flat guest (the guest never answers, so removal stays pending)."""
import asyncio
import subprocess
import sys

import pytest

from memplug_vm import ROOT, idle_guest

M = 1 << 20


@pytest.fixture(scope="module")
def qemu_qmp():
    p = subprocess.run([str(ROOT / "scripts" / "qemu-python")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, "QEMU's Python QMP library could not be " \
        "had: " + p.stderr
    sys.path.insert(0, p.stdout.strip())
    import qemu.qmp
    return p.stdout.strip()


@pytest.fixture
def vm(tmp_path):
    sock = tmp_path / "vm.sock"
    with idle_guest(sock, "qemu-clients",
                    ["--memory", "256M,slots=4,maxmem=1280M"]) as p:
        yield p, str(sock)


def test_legacy_qemu_monitor_protocol(qemu_qmp, vm):
    from qemu.qmp.legacy import QEMUMonitorProtocol

    _, sock = vm
    q = QEMUMonitorProtocol(sock)
    greeting = q.connect(negotiate=True)
    assert greeting["QMP"]["version"]["package"].startswith("memplug")
    assert q.cmd("query-status")["return"]["running"] is True
    assert q.cmd("object-add", {"qom-type": "memory-backend-ram",
                                "id": "m1", "size": 128 * M}) == {"return": {}}
    assert q.cmd("device_add", {"driver": "pc-dimm", "id": "d1",
                                "memdev": "m1"}) == {"return": {}}
    devs = q.cmd("query-memory-devices")["return"]
    assert [(d["type"], d["data"]["id"], d["data"]["size"]) for d in devs] \
        == [("dimm", "d1", 128 * M)]
    assert q.cmd("device_del", {"id": "d1"}) == {"return": {}}
    err = q.cmd("frobnicate")["error"]
    assert "frobnicate" in err["desc"]
    q.close()


def test_asyncio_qmp_client(qemu_qmp, vm):
    from qemu.qmp import ExecuteError, QMPClient

    _, sock = vm

    async def workflow():
        qmp = QMPClient("memplug-test")
        await qmp.connect(sock)
        status = await qmp.execute("query-status")
        await qmp.execute("object-add", {"qom-type": "memory-backend-ram",
                                         "id": "m2", "size": 256 * M})
        await qmp.execute("device_add", {"driver": "pc-dimm", "id": "d2",
                                         "memdev": "m2"})
        size = await qmp.execute("query-memory-size-summary")
        with pytest.raises(ExecuteError) as refused:
            await qmp.execute("object-del", {"id": "m2"})
        await qmp.disconnect()
        return status, size, str(refused.value)

    status, size, refused = asyncio.run(workflow())
    assert status["status"] == "running"
    assert size == {"base-memory": 256 * M, "plugged-memory": 256 * M}
    assert "backend m2 is in use by DIMM d2" in refused


def test_qmp_shell(qemu_qmp, vm):
    _, sock = vm
    script = ("query-status\n"
              "object-add qom-type=memory-backend-ram id=m3 size=134217728\n"
              "device_add driver=pc-dimm id=d3 memdev=m3\n"
              "query-memory-devices\n")
    p = subprocess.run([sys.executable, "-m", "qemu.qmp.qmp_shell", sock],
                       input=script, capture_output=True, text=True,
                       timeout=60, cwd=qemu_qmp)
    assert p.returncode == 0, p.stdout + p.stderr
    assert '"status": "running"' in p.stdout, p.stdout + p.stderr
    assert '"id": "d3"' in p.stdout and '"size": 134217728' in p.stdout, \
        p.stdout


def test_qmp_shell_in_hmp_mode(qemu_qmp, vm):
    """qmp-shell -H asks for help and info at start (its completion) and
    then passes each line to human-monitor-command."""
    _, sock = vm
    script = ("object_add memory-backend-ram,id=m4,size=128M\n"
              "device_add pc-dimm,id=d4,memdev=m4\n"
              "info memory-devices\n")
    p = subprocess.run([sys.executable, "-m", "qemu.qmp.qmp_shell", "-H",
                        sock], input=script, capture_output=True, text=True,
                       timeout=60, cwd=qemu_qmp)
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'Memory device [dimm]: "d4"' in p.stdout, p.stdout + p.stderr
    assert "memdev: /objects/m4" in p.stdout
