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


# Commands whose arguments memplug describes otherwise than QEMU, and why.
SCHEMA_DIFFERENCES = {
    "device_add": "QEMU's schema lists only driver, bus and id: the rest "
                  "are the driver's properties, checked by the device; "
                  "memplug lists pc-dimm's (memdev, node, slot, addr) and "
                  "has no bus",
}


def arguments(schema, command):
    """{member: (JSON type, optional)} of a command's arguments, and for a
    union (object-add) {case: such a dict} of its variants."""
    by = {e["name"]: e for e in schema}

    def jtype(name):
        e = by[name]
        return {"builtin": e.get("json-type"), "enum": "string",
                "array": "array"}.get(e["meta-type"], e["meta-type"])

    def members(entry):
        return {m["name"]: (jtype(m["type"]), "default" in m)
                for m in entry["members"]}

    arg = by[by[command]["arg-type"]]
    base = members(arg)
    if "variants" not in arg:
        return base, {}
    return base, {v["case"]: members(by[v["type"]]) for v in arg["variants"]}


def test_schema_describes_arguments_as_qemus_does(qemu, tmp_path):
    """For every command both have, memplug's query-qmp-schema lists the
    arguments QEMU's lists, with the same JSON types and the same ones
    optional; for object-add, each backend type memplug has takes a subset
    of QEMU's members of that type (QEMU has more, such as pmem)."""
    import time

    sock, p = qemu
    deadline = time.monotonic() + 60
    while True:
        try:
            q = QMP(sock)
            break
        except (ConnectionRefusedError, FileNotFoundError):
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    theirs = q.cmd("query-qmp-schema")
    q.close()
    msock = tmp_path / "memplug.sock"
    with idle_guest(msock, "oracle-schema", ["--memory",
                                             "256M,slots=4,maxmem=1G"]):
        q = QMP(msock)
        mine = q.cmd("query-qmp-schema")
        q.close()
    commands = {e["name"] for e in mine if e["meta-type"] == "command"}
    shared = commands & {e["name"] for e in theirs
                         if e["meta-type"] == "command"}
    # Only memplug's own x- commands are memplug's alone.
    assert {c for c in commands - shared if not c.startswith("x-")} == set()
    bad = []
    for c in sorted(shared):
        (mb, mv), (tb, tv) = arguments(mine, c), arguments(theirs, c)
        if c == "object-add":
            assert mb == tb, (mb, tb)
            for case, members in mv.items():
                extra = {k: v for k, v in members.items()
                         if tv[case].get(k) != v}
                if extra:
                    bad.append(f"object-add {case}: {extra} vs QEMU's "
                               f"{ {k: tv[case].get(k) for k in extra} }")
            continue
        same = mb == tb
        if same == (c in SCHEMA_DIFFERENCES):
            bad.append(f"{c}: memplug {mb}, QEMU {tb}" if not same else
                       f"{c}: listed as a difference but described alike")
        elif not same:
            common = set(mb) & set(tb)
            assert {k: mb[k] for k in common} == {k: tb[k] for k in common}, c
    assert not bad, "\n".join(bad)
