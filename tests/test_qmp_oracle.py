"""QEMU as the oracle for QMP: the same bytes to QEMU (started paused, no
guest needed: qemu-system-x86_64 -S -M pc -m 256M,slots=4,maxmem=1G) and to
memplug (a flat guest, the same memory), and their answers compared by
shape: a return's JSON types and member names, an error's class. Where
memplug answers otherwise on purpose, DIFFERENCES says why."""
import json
import shutil
import subprocess

import pytest

from memplug_vm import idle_guest
from qmp_client import QMP

M = 1 << 20

# Requests in order, on one negotiated connection of each. Raw bytes where
# the framing is the point.
REQUESTS = [
    ("frobnicate", {}),
    ("qmp_capabilities", {}),
    (b'[1, 2]', None),
    (b'{"execute": "query-status", "x": 1}', None),
    (b'{"arguments": {}}', None),
    (b'{"execute": "query-status", "id": "a"}{"execute": "query-status"}',
     None),
    ("query-status", {}),
    ("object-add", {"qom-type": "memory-backend-ram", "id": "m1",
                    "size": 128 * M}),
    ("object-add", {"qom-type": "memory-backend-ram", "id": "m1",
                    "size": 128 * M}),
    ("object-add", {"qom-type": "memory-backend-ram", "id": "m9",
                    "size": "128M"}),
    ("object-add", {"qom-type": "memory-backend-ram", "id": "m2",
                    "size": 128 * M}),
    ("device_add", {"driver": "pc-dimm", "id": "d1", "memdev": "m1"}),
    ("device_add", {"driver": "pc-dimm", "id": "d2", "memdev": "nope"}),
    ("device_add", {"driver": "pc-dimm", "memdev": "/objects/m2",
                    "slot": -1}),
    ("device_del", {"id": "nope"}),
    ("device_del", {"id": "d1"}),
    ("device_del", {"id": "d1"}),
    ("object-del", {"id": "m1"}),
    ("query-memory-devices", {}),
    ("query-acpi-ospm-status", {}),
    ("query-memory-size-summary", {}),
    ("query-memdev", {}),
    ("qom-list", {"path": "/machine/peripheral"}),
    ("qom-get", {"path": "/objects/m2", "property": "size"}),
    ("qom-get", {"path": "/objects/nope", "property": "size"}),
    ("qom-get", {"path": "/objects/m2", "property": "frob"}),
    ("human-monitor-command", {"command-line": "info memory-devices"}),
    ("human-monitor-command", {"command-line": "frobnicate"}),
    ("human-monitor-command", {"command-line": "info status"}),
]

# Index in REQUESTS -> why memplug answers otherwise.
DIFFERENCES = {
    9: "memplug takes a size as a string (\"128M\") too, as memplugctl "
       "sends it; QEMU wants bytes (\"Parameter 'size' expects uint64\")",
}


def shape(v):
    """Types and member names, not values."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in sorted(v.items())}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    return type(v).__name__


def answers(sock, negotiate):
    q = QMP(sock, negotiate=negotiate)
    out = []
    for what, args in REQUESTS:
        if isinstance(what, bytes):
            q.send_raw(what)
            out.append(q.reply())
            if what.count(b"execute") == 2:
                out[-1] = [out[-1], q.reply()]
        else:
            out.append(q.execute(what, **args))
    q.close()
    return out


def compare(mine, theirs):
    if isinstance(theirs, list):
        return all(compare(a, b) for a, b in zip(mine, theirs))
    if "error" in theirs:
        return "error" in mine and \
            mine["error"]["class"] == theirs["error"]["class"]
    if "return" not in mine:
        return False
    a, b = mine["return"], theirs["return"]
    # The HMP answers are text in QEMU's layout: compare the words before
    # each value.
    if isinstance(b, str):
        return [line.split(":")[0] for line in a.split("\r\n")] == \
            [line.split(":")[0] for line in b.split("\r\n")]
    return shape(a) == shape(b)


@pytest.fixture(scope="module")
def qemu(tmp_path_factory):
    qemu = shutil.which("qemu-system-x86_64")
    assert qemu, "the oracle needs QEMU: apt-get install qemu-system-x86"
    sock = tmp_path_factory.mktemp("oracle") / "qemu.sock"
    p = subprocess.Popen([qemu, "-S", "-M", "pc", "-m",
                          "256M,slots=4,maxmem=1G", "-nodefaults",
                          "-display", "none", "-qmp",
                          f"unix:{sock},server=on,wait=off"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        yield str(sock), p
    finally:
        p.kill()
        p.wait()


def test_memplug_answers_as_qemu_does(qemu, tmp_path):
    import time

    sock, p = qemu
    deadline = time.monotonic() + 60
    while True:
        try:
            theirs = answers(sock, negotiate=False)
            break
        except (ConnectionRefusedError, FileNotFoundError):
            assert p.poll() is None and time.monotonic() < deadline, \
                p.stderr.read().decode(errors="replace")
            time.sleep(0.1)
    msock = tmp_path / "memplug.sock"
    with idle_guest(msock, "oracle", ["--memory", "256M,slots=4,maxmem=1G"]):
        mine = answers(msock, negotiate=False)
    assert len(mine) == len(theirs) == len(REQUESTS)
    # The oracle did answer: QEMU refused what it refuses.
    assert theirs[0]["error"]["class"] == "CommandNotFound"
    assert theirs[7] == {"return": {}}
    bad = []
    for i, (a, b) in enumerate(zip(mine, theirs)):
        same = compare(a, b)
        if same and i in DIFFERENCES:
            bad.append(f"{i} {REQUESTS[i][0]!r}: listed as a difference "
                       f"but answered alike: {json.dumps(a)}")
        elif not same and i not in DIFFERENCES:
            bad.append(f"{i} {REQUESTS[i][0]!r} {REQUESTS[i][1]}:\n"
                       f"  memplug {json.dumps(a)[:400]}\n"
                       f"  QEMU    {json.dumps(b)[:400]}")
    assert not bad, "\n".join(bad)
