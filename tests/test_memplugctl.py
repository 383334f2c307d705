"""memplugctl against a fake QMP server (a thread on a Unix socket) that
speaks memplug's control-socket contract and scripts its answers: replies,
events before or after them, silence, a closed connection, oversized lines.
No KVM, no guest."""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from memplug_vm import BUILD

CTL = BUILD / "memplugctl"

GREETING = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 1, "major": 0},
                                "package": "memplug 0.1.0"},
                    "capabilities": []}}

CLOSE = object()        # script item: close the connection


class Gate:
    """Script item: wait until the test opens the gate."""

    def __init__(self):
        self.event = threading.Event()

    def open(self):
        self.event.set()


def event(name, data=None):
    now = time.time()
    ev = {"event": name,
          "timestamp": {"seconds": int(now),
                        "microseconds": int(now * 1e6) % 1000000}}
    if data is not None:
        ev["data"] = data
    return ev


def ost(device, source, status):
    return event("ACPI_DEVICE_OST", {"info": {
        "device": device, "slot": "0", "slot-type": "DIMM",
        "source": source, "status": status}})


def deleted(device):
    return event("DEVICE_DELETED", {
        "device": device, "path": f"/machine/peripheral/{device}"})


def memory_device(id_, slot=0, memdev=None):
    return {"type": "dimm", "data": {
        "id": id_, "slot": slot, "addr": 0x140000000 + slot * (1 << 30),
        "size": 1 << 30, "node": 0,
        "memdev": f"/objects/{memdev or 'mem-' + id_}",
        "hotplugged": True, "hotpluggable": True}}


OK = {"return": {}}


def refuse(desc):
    return {"error": {"class": "GenericError", "desc": desc}}


class FakeQMP:
    """One client at a time. `script[name]` is a list of items sent when
    command `name` arrives (or a function of its arguments returning one):
    dicts are messages (a reply gets the command's id echoed), numbers are
    pauses in seconds, bytes go out as they are, Gate waits for the test,
    CLOSE drops the connection. `received` records (name, arguments)."""

    def __init__(self, path):
        self.path = str(path)
        self.received = []
        self.dimms = []                 # query-memory-devices entries
        self.xdimms = []                # x-memplug-query-dimms entries
        self.greeting = [json.dumps(GREETING).encode() + b"\r\n"]
        self.after_capabilities = []    # items sent after negotiation
        self.script = {}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def names(self):
        return [name for name, _ in self.received]

    def args(self, name):
        return [a for n, a in self.received if n == name]

    def close(self):
        self.running = False
        self.thread.join(10)
        self.sock.close()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            try:
                self._session(conn)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                conn.close()

    def _send(self, conn, items, request=None):
        for item in items:
            if item is CLOSE:
                conn.shutdown(socket.SHUT_RDWR)
                return False
            if isinstance(item, (int, float)):
                time.sleep(item)
            elif isinstance(item, bytes):
                conn.sendall(item)
            elif isinstance(item, Gate):
                item.event.wait(10)
            else:
                msg = dict(item)
                if ("return" in msg or "error" in msg) and request \
                        and "id" in request:
                    msg["id"] = request["id"]
                conn.sendall(json.dumps(msg).encode() + b"\r\n")
        return True

    def _default(self, name, args):
        if name == "query-memory-devices":
            return [{"return": self.dimms}]
        if name == "x-memplug-query-dimms":
            return [{"return": self.xdimms}]
        if name in ("object-add", "object-del", "device_add", "device_del"):
            return [OK]
        return [{"error": {"class": "CommandNotFound",
                           "desc": f"The command {name} has not been found"}}]

    def _session(self, conn):
        if not self._send(conn, self.greeting):
            return
        f = conn.makefile("rb")
        for line in f:
            request = json.loads(line)
            name = request.get("execute")
            args = request.get("arguments", {})
            self.received.append((name, args))
            if name == "qmp_capabilities":
                items = [OK] + self.after_capabilities
            elif name in self.script:
                items = self.script[name]
                if callable(items):
                    items = items(args)
            else:
                items = self._default(name, args)
            if not self._send(conn, items, request):
                return


@pytest.fixture
def sockdir():
    # A short directory: Unix socket paths are limited to 107 bytes.
    d = tempfile.mkdtemp(prefix="mpctl-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def qmp(sockdir):
    server = FakeQMP(os.path.join(sockdir, "qmp.sock"))
    yield server
    server.close()


def _env(socket_env=None):
    env = {k: v for k, v in os.environ.items() if k != "MEMPLUG_SOCKET"}
    if socket_env is not None:
        env["MEMPLUG_SOCKET"] = socket_env
    return env


def ctl(*args, socket_env=None, timeout=30):
    if not os.access(CTL, os.X_OK):
        pytest.fail(f"{CTL} is not built (run make)", pytrace=False)
    return subprocess.run([str(CTL), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=_env(socket_env))


def on(server, *args, **kw):
    return ctl("-s", server.path, *args, **kw)


# ---- command line, no server ----

def test_help():
    r = ctl("--help")
    assert r.returncode == 0 and r.stderr == ""
    for word in ("add SIZE", "--node N", "--id ID", "ram|memfd|file:PATH",
                 "--prealloc", "--share", "--wait", "--timeout S",
                 "remove ID", "--cancel", "list [--json]", "events", "raw 'JSON'",
                 "MEMPLUG_SOCKET", "Exit status", "0x82 device busy"):
        assert word in r.stdout, word
    for code in ("0  ", "1  ", "2  ", "3  "):
        assert "\n  " + code in r.stdout
    assert ctl("add", "--help").stdout == r.stdout


def test_version():
    r = ctl("--version")
    assert r.returncode == 0 and r.stdout.startswith("memplugctl ")


def test_missing_socket_says_how_to_give_it():
    r = ctl("list")
    assert r.returncode == 1
    assert r.stderr.startswith("memplugctl: no control socket given")
    assert "-s SOCKET" in r.stderr and "MEMPLUG_SOCKET" in r.stderr
    assert r.stdout == ""


def test_socket_from_environment(qmp):
    r = ctl("list", socket_env=qmp.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ID", "SLOT", "BASE", "SIZE", "NODE",
                                "BACKEND", "STATE", "LAST-OST"]


def test_socket_option_after_the_command(qmp):
    r = ctl("list", "-s", qmp.path, socket_env="/nonexistent")
    assert r.returncode == 0, r.stderr


def test_cannot_connect_missing_socket(sockdir):
    path = os.path.join(sockdir, "vm.sock")
    r = ctl("-s", path, "list")
    assert r.returncode == 1
    assert r.stderr == (f"memplugctl: cannot connect to {path}: No such file "
                        f"or directory (is memplug running with --control "
                        f"{path}?)\n")


def test_cannot_connect_refused(sockdir):
    path = os.path.join(sockdir, "dead.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)                # bound, never listening: ECONNREFUSED
    try:
        r = ctl("-s", path, "list")
    finally:
        s.close()
    assert r.returncode == 1
    assert f"cannot connect to {path}: Connection refused (is memplug " \
           f"running with --control {path}?)" in r.stderr


@pytest.mark.parametrize("size,message", [
    ("lots", '"lots" is not a size'),
    ("1X", '"1X" is not a size'),
    ("1.1G", '"1.1G" is not a size'),
    ("-1", "unknown option -1"),
    ("0", "SIZE 0: a DIMM needs a size above 0"),
    ("99999999999T", "\"99999999999T\" is not a size"),
])
def test_bad_size(size, message):
    r = ctl("-s", "/nonexistent", "add", size)
    assert r.returncode == 1
    assert message in r.stderr and r.stderr.startswith("memplugctl: ")
    assert r.stdout == ""


@pytest.mark.parametrize("args,message", [
    ([], "no command given"),
    (["frob"], 'unknown command "frob"'),
    (["add"], "add: SIZE is missing"),
    (["add", "1G", "2G"], 'add: unexpected argument "2G"'),
    (["add", "1G", "--frob"], "add: unknown option --frob"),
    (["add", "1G", "--node"], "add: option --node needs a value"),
    (["add", "1G", "--node", "one"], "add: --node one: need a node number"),
    (["add", "1G", "--backend", "file"], "--backend file:PATH"),
    (["add", "1G", "--backend", "hugetlb"], "--backend hugetlb: unknown"),
    (["add", "1G", "--timeout", "0"], "--timeout 0: need a number of seconds"),
    (["remove"], "remove: ID is missing"),
    (["list", "extra"], 'list: unexpected argument "extra"'),
    (["raw"], "raw: give exactly one JSON command"),
    (["raw", "{nope"], "raw: '{nope' is not JSON"),
    (["raw", '{"arguments": {}}'], "is not a QMP command"),
])
def test_usage_errors(args, message):
    r = ctl("-s", "/nonexistent", *args)
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    assert r.stderr.startswith("memplugctl: ")


# ---- add ----

def test_add_plugs_backend_then_dimm(qmp):
    r = on(qmp, "add", "1G", "--node", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dimm0\n"
    assert qmp.names() == ["qmp_capabilities", "query-memory-devices",
                           "object-add", "device_add"]
    assert qmp.args("object-add") == [{"qom-type": "memory-backend-ram",
                                       "id": "mem-dimm0", "size": 1 << 30}]
    assert qmp.args("device_add") == [{"driver": "pc-dimm", "id": "dimm0",
                                       "memdev": "mem-dimm0", "node": 1}]


def test_add_picks_first_free_id(qmp):
    qmp.dimms = [memory_device("dimm0", 0), memory_device("dimm2", 1),
                 memory_device("other", 2)]
    r = on(qmp, "add", "128M")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dimm1\n"
    assert qmp.args("device_add")[0]["id"] == "dimm1"
    assert "node" not in qmp.args("device_add")[0]
    assert qmp.args("object-add")[0]["size"] == 128 << 20


@pytest.mark.parametrize("size,value", [
    ("4096", 4096), ("64K", 64 << 10), ("3m", 3 << 20), ("2T", 2 << 40)])
def test_add_size_suffixes(qmp, size, value):
    r = on(qmp, "add", size, "--id", "d")
    assert r.returncode == 0, r.stderr
    assert qmp.args("object-add")[0]["size"] == value
    assert "query-memory-devices" not in qmp.names()


def test_add_backend_options(qmp):
    r = on(qmp, "add", "2G", "--id", "big", "--backend", "file:/dev/shm/x",
           "--prealloc", "--share")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "big\n"
    assert qmp.args("object-add") == [{
        "qom-type": "memory-backend-file", "id": "mem-big", "size": 2 << 30,
        "prealloc": True, "share": True, "mem-path": "/dev/shm/x"}]
    assert qmp.args("device_add")[0]["memdev"] == "mem-big"


def test_add_memfd_backend(qmp):
    r = on(qmp, "add", "1G", "--backend", "memfd")
    assert r.returncode == 0, r.stderr
    assert qmp.args("object-add")[0]["qom-type"] == "memory-backend-memfd"


def test_add_device_add_refused_deletes_the_backend(qmp):
    qmp.script["device_add"] = [refuse("no free DIMM slot (slots=2)")]
    r = on(qmp, "add", "1G")
    assert r.returncode == 1
    assert r.stderr == ("memplugctl: memplug refused device_add: no free "
                        "DIMM slot (slots=2)\n")
    assert r.stdout == ""
    assert qmp.names()[-2:] == ["device_add", "object-del"]
    assert qmp.args("object-del") == [{"id": "mem-dimm0"}]


def test_add_object_add_refused(qmp):
    qmp.script["object-add"] = [refuse("size 1G exceeds maxmem")]
    r = on(qmp, "add", "1G")
    assert r.returncode == 1
    assert "memplugctl: memplug refused object-add: size 1G exceeds " \
           "maxmem" in r.stderr
    assert "device_add" not in qmp.names()
    assert "object-del" not in qmp.names()


def test_add_wait_success(qmp):
    qmp.script["device_add"] = [OK, 0.2, ost("dimm0", 1, 0x80), 0.3,
                                ost("dimm0", 1, 0)]
    r = on(qmp, "add", "1G", "--wait")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "dimm0"
    assert re.fullmatch(r"dimm0: guest accepted \(OST success\) after "
                        r"0\.\d s", lines[1]), lines
    assert r.stderr == ""


def test_add_wait_event_before_reply_is_not_lost(qmp):
    qmp.script["device_add"] = [ost("dimm0", 1, 0), 0.2, OK]
    start = time.monotonic()
    r = on(qmp, "add", "1G", "--wait", "--timeout", "10")
    assert r.returncode == 0, r.stderr
    assert "dimm0: guest accepted (OST success)" in r.stdout
    assert time.monotonic() - start < 5


def test_add_wait_ignores_other_devices_and_sources(qmp):
    qmp.script["device_add"] = [OK, ost("dimm9", 1, 1), ost("dimm0", 3, 0x82),
                                event("POWERDOWN"), ost("dimm0", 1, 0)]
    r = on(qmp, "add", "1G", "--wait", "--timeout", "10")
    assert r.returncode == 0, r.stderr
    assert "dimm0: guest accepted" in r.stdout


def test_add_wait_ignores_events_before_device_add(qmp):
    # An old OST for the same id, seen while the backend is created.
    qmp.script["object-add"] = [ost("dimm0", 1, 1), OK]
    qmp.script["device_add"] = [OK, 0.2, ost("dimm0", 1, 0)]
    r = on(qmp, "add", "1G", "--wait", "--timeout", "10")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("status,named", [
    (0x01, "0x01 non-specific failure"),
    (0x02, "0x02 unrecognized notify code"),
    (0x81, "0x81 device driver load failure"),
    (0x82, "0x82 device insertion not supported"),
    (0x85, "0x85 reserved"),
])
def test_add_wait_guest_refused(qmp, status, named):
    qmp.script["device_add"] = [OK, 0.1, ost("dimm0", 1, status)]
    r = on(qmp, "add", "1G", "--wait")
    assert r.returncode == 2, r.stderr
    assert r.stdout == "dimm0\n"
    assert r.stderr.startswith(f"memplugctl: dimm0: guest refused: {named}")
    # The DIMM stays (the guest may retry); nothing is deleted.
    assert "object-del" not in qmp.names()


def test_add_wait_timeout(qmp):
    start = time.monotonic()
    r = on(qmp, "add", "1G", "--wait", "--timeout", "1")
    took = time.monotonic() - start
    assert r.returncode == 3, r.stderr
    assert r.stderr == ("memplugctl: dimm0: no answer from the guest within "
                        "1 s; the DIMM stays plugged (see memplugctl list)\n")
    assert 0.9 < took < 10
    assert "object-del" not in qmp.names()


def test_add_wait_guest_shut_down(qmp):
    qmp.script["device_add"] = [OK, event("SHUTDOWN", {"guest": True})]
    r = on(qmp, "add", "1G", "--wait", "--timeout", "10")
    assert r.returncode == 1
    assert "dimm0: the guest shut down before answering" in r.stderr


def test_add_server_gone_during_device_add(qmp):
    qmp.script["device_add"] = [CLOSE]
    r = on(qmp, "add", "1G")
    assert r.returncode == 1
    assert f"memplug closed the connection on {qmp.path} while memplugctl " \
           f"waited for the reply to device_add" in r.stderr


def test_add_wait_server_gone(qmp):
    qmp.script["device_add"] = [OK, 0.2, CLOSE]
    r = on(qmp, "add", "1G", "--wait")
    assert r.returncode == 1
    assert "memplug closed the connection" in r.stderr


# ---- remove ----

def test_remove_without_wait(qmp):
    qmp.dimms = [memory_device("dimm0")]
    r = on(qmp, "remove", "dimm0")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("dimm0: eject requested")
    assert "mem-dimm0" in r.stdout
    assert qmp.names() == ["qmp_capabilities", "query-memory-devices",
                           "device_del"]
    assert qmp.args("device_del") == [{"id": "dimm0"}]


def test_remove_wait_deletes_the_backend(qmp):
    qmp.dimms = [memory_device("dimm0", memdev="backing0")]
    qmp.script["device_del"] = [OK, 0.1, ost("dimm0", 3, 0x84), 0.1,
                                ost("dimm0", 3, 0), deleted("dimm0")]
    r = on(qmp, "remove", "dimm0", "--wait")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"dimm0: removed after 0\.\d s \(backend backing0 "
                        r"deleted\)\n", r.stdout), r.stdout
    assert qmp.names()[-2:] == ["device_del", "object-del"]
    assert qmp.args("object-del") == [{"id": "backing0"}]


def test_remove_wait_deleted_before_reply(qmp):
    qmp.dimms = [memory_device("dimm0")]
    qmp.script["device_del"] = [deleted("dimm0"), OK]
    r = on(qmp, "remove", "dimm0", "--wait", "--timeout", "10")
    assert r.returncode == 0, r.stderr
    assert qmp.args("object-del") == [{"id": "mem-dimm0"}]


@pytest.mark.parametrize("status,named", [
    (0x82, "0x82 device busy"),
    (0x80, "0x80 device ejection not supported"),
    (0x81, "0x81 device in use"),
    (0x83, "0x83 ejection dependency busy or not supported"),
    (0x01, "0x01 non-specific failure"),
])
def test_remove_wait_guest_refused(qmp, status, named):
    qmp.dimms = [memory_device("dimm0")]
    qmp.script["device_del"] = [OK, ost("dimm0", 3, 0x84),
                                ost("dimm1", 3, 0x82),
                                ost("dimm0", 3, status)]
    r = on(qmp, "remove", "dimm0", "--wait")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(
        f"memplugctl: dimm0: guest refused eject: {named}")
    assert "object-del" not in qmp.names()


def test_remove_wait_timeout(qmp):
    qmp.dimms = [memory_device("dimm0")]
    qmp.script["device_del"] = [OK, ost("dimm0", 3, 0x84)]
    r = on(qmp, "remove", "dimm0", "--wait", "--timeout", "1")
    assert r.returncode == 3
    assert "dimm0: the guest did not eject it within 1 s; the DIMM stays " \
           "plugged (see memplugctl list)" in r.stderr
    assert "object-del" not in qmp.names()


def test_remove_unknown_dimm(qmp):
    qmp.dimms = [memory_device("dimm0")]
    r = on(qmp, "remove", "dimm7")
    assert r.returncode == 1
    assert "memplugctl: dimm7: no such DIMM" in r.stderr
    assert "device_del" not in qmp.names()


def test_remove_refused_by_memplug(qmp):
    qmp.dimms = [memory_device("dimm0")]
    qmp.script["device_del"] = [refuse("dimm0 is being removed already")]
    r = on(qmp, "remove", "dimm0", "--wait")
    assert r.returncode == 1
    assert r.stderr == ("memplugctl: memplug refused device_del: dimm0 is "
                        "being removed already\n")


def test_remove_cancel(qmp):
    qmp.script["x-memplug-device-del-cancel"] = [OK]
    r = on(qmp, "remove", "dimm0", "--cancel")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dimm0: removal cancelled\n"
    assert qmp.names() == ["qmp_capabilities", "x-memplug-device-del-cancel"]
    assert qmp.args("x-memplug-device-del-cancel") == [{"id": "dimm0"}]


def test_remove_cancel_refused(qmp):
    qmp.script["x-memplug-device-del-cancel"] = [
        refuse("DIMM dimm0 is not being removed (state present)")]
    r = on(qmp, "remove", "dimm0", "--cancel")
    assert r.returncode == 1
    assert r.stderr == ("memplugctl: memplug refused "
                        "x-memplug-device-del-cancel: DIMM dimm0 is not "
                        "being removed (state present)\n")
    assert r.stdout == ""


def test_remove_cancel_with_wait_is_a_usage_error():
    r = ctl("-s", "/nonexistent", "remove", "dimm0", "--cancel", "--wait")
    assert r.returncode == 1
    assert "--cancel takes neither --wait nor --timeout" in r.stderr


# ---- list ----

XDIMMS = [
    {"id": "dimm0", "slot": 0, "addr": 0x140000000, "size": 1 << 30,
     "node": 0, "memdev": "mem-dimm0", "backend": "ram", "state": "present",
     "ost": {"source": 1, "status": 0, "name": "success"}},
    {"id": "dimm1", "slot": 1, "addr": 0x180000000, "size": 1536 << 20,
     "node": 1, "memdev": "mem-dimm1", "backend": "file", "state": "removing",
     "ost": {"source": 3, "status": 0x82, "name": "device busy"}},
    {"id": "a-much-longer-id", "slot": 12, "addr": 0x200000000,
     "size": 4096 + 512, "node": 0, "memdev": "m", "backend": "memfd",
     "state": "inserting", "ost": None},
]


def test_list_table(qmp):
    qmp.xdimms = XDIMMS
    r = on(qmp, "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "SLOT", "BASE", "SIZE", "NODE",
                                "BACKEND", "STATE", "LAST-OST"]
    assert lines[1].split() == ["dimm0", "0", "0x140000000", "1G", "0",
                                "ram", "present", "insert", "0x00",
                                "success"]
    assert lines[2].split() == ["dimm1", "1", "0x180000000", "1536M", "1",
                                "file", "removing", "eject", "0x82",
                                "device", "busy"]
    assert lines[3].split() == ["a-much-longer-id", "12", "0x200000000",
                                "4608", "0", "memfd", "inserting", "-"]
    assert len(lines) == 4
    # Columns line up under their headers.
    for col in ("SLOT", "BASE", "SIZE", "NODE", "BACKEND", "STATE",
                "LAST-OST"):
        at = lines[0].index(col)
        for line in lines[1:]:
            assert line[at - 2:at] == "  " and line[at] != " ", (col, line)
    assert qmp.names() == ["qmp_capabilities", "x-memplug-query-dimms"]


def test_list_empty(qmp):
    r = on(qmp, "list")
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 1


def test_list_json(qmp):
    qmp.xdimms = XDIMMS
    r = on(qmp, "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == XDIMMS
    assert len(r.stdout.splitlines()) == 1


def test_list_refused(qmp):
    qmp.script["x-memplug-query-dimms"] = [refuse("not ready")]
    r = on(qmp, "list")
    assert r.returncode == 1
    assert r.stderr == ("memplugctl: memplug refused x-memplug-query-dimms: "
                        "not ready\n")


# ---- robust reading ----

def test_partial_reads(qmp):
    """Greeting and replies trickle in a few bytes at a time."""
    greeting = json.dumps(GREETING).encode() + b"\r\n"
    qmp.greeting = [x for i in range(0, len(greeting), 7)
                    for x in (greeting[i:i + 7], 0.005)]
    reply = json.dumps({"return": XDIMMS}).encode() + b"\r\n"
    qmp.script["x-memplug-query-dimms"] = [
        x for i in range(0, len(reply), 50) for x in (reply[i:i + 50], 0.002)]
    r = on(qmp, "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == XDIMMS


def test_large_reply_below_1mib(qmp):
    big = [dict(XDIMMS[0], id=f"dimm{i}", slot=i) for i in range(3000)]
    reply = json.dumps({"return": big}).encode()
    assert 512 << 10 < len(reply) < 1 << 20
    qmp.xdimms = big
    r = on(qmp, "list", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == big


def test_line_over_1mib_is_refused(qmp):
    qmp.script["x-memplug-query-dimms"] = [
        b'{"return": ["' + b"x" * (2 << 20) + b'"]}\r\n']
    r = on(qmp, "list")
    assert r.returncode == 1
    assert f"memplug sent a line longer than 1 MiB on {qmp.path}" in r.stderr


def test_not_qmp(qmp):
    qmp.greeting = [b"SSH-2.0-OpenSSH_9.2\r\n"]
    r = on(qmp, "list")
    assert r.returncode == 1
    assert f"memplug sent a message on {qmp.path} that is not JSON" \
        in r.stderr


def test_greeting_without_qmp(qmp):
    qmp.greeting = [b'{"hello": 1}\n']
    r = on(qmp, "list")
    assert r.returncode == 1
    assert f'{qmp.path} does not speak QMP: its first message is ' \
           f'{{"hello":1}}' in r.stderr


def test_connection_refused_by_memplug(qmp):
    qmp.greeting = [json.dumps(refuse("too many control clients")).encode()
                    + b"\r\n", CLOSE]
    r = on(qmp, "list")
    assert r.returncode == 1
    assert f"memplug refused the connection on {qmp.path}: too many " \
           f"control clients" in r.stderr


def test_server_gone_before_greeting(qmp):
    qmp.greeting = [CLOSE]
    r = on(qmp, "list")
    assert r.returncode == 1
    assert "memplug closed the connection" in r.stderr
    assert "QMP greeting" in r.stderr


# ---- events ----

def _readline(stream, timeout):
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no line from memplugctl events within {timeout} s"
    return stream.readline()


def test_events_streams_one_json_object_per_line(qmp):
    gate = Gate()
    first = ost("dimm0", 1, 0)
    last = event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
    middle = deleted("dimm0")
    qmp.after_capabilities = [first, gate, middle, last, CLOSE]
    p = subprocess.Popen([str(CTL), "-s", qmp.path, "events"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=_env())
    try:
        # Flushed per event: the first line arrives while memplug is quiet.
        assert json.loads(_readline(p.stdout, 10)) == first
        gate.open()
        out, err = p.communicate(timeout=10)
    finally:
        gate.open()
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert [json.loads(line) for line in out.splitlines()] == [middle, last]
    assert err == ""


def test_events_connection_lost(qmp):
    qmp.after_capabilities = [event("RESET"), CLOSE]
    r = on(qmp, "events")
    assert r.returncode == 1
    assert json.loads(r.stdout)["event"] == "RESET"
    assert "memplug closed the connection" in r.stderr


# ---- raw ----

def test_raw_prints_the_reply(qmp):
    qmp.script["query-status"] = [event("RESET"),
                                  {"return": {"status": "running",
                                              "running": True}}]
    r = on(qmp, "raw", '{"execute": "query-status", "id": "q1"}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"return": {"status": "running",
                                               "running": True}, "id": "q1"}
    assert qmp.names() == ["qmp_capabilities", "query-status"]


def test_raw_passes_arguments(qmp):
    r = on(qmp, "raw", '{"execute": "device_del", '
                       '"arguments": {"id": "dimm3"}}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"return": {}}
    assert qmp.args("device_del") == [{"id": "dimm3"}]


def test_raw_error_reply(qmp):
    r = on(qmp, "raw", '{"execute": "frobnicate"}')
    assert r.returncode == 1
    reply = json.loads(r.stdout)
    assert reply["error"]["class"] == "CommandNotFound"
