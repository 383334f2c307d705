"""A booted test guest with its control connection, and the hot-plug steps
the guest tests share, each checked against what the guest reports (its
_OST answers, its agent's memory lines). `mark` is the console line after
which the next agent line waited for must come."""
import subprocess

from memplug_vm import BUILD, guest_bound, parse_agent

M = 1 << 20
HOTPLUG_TIMEOUT = guest_bound(10 * 60)


class Guest:
    def __init__(self, vm, qmp, sock, ready_index, ready):
        self.vm, self.qmp, self.sock = vm, qmp, sock
        self.mark = ready_index + 1
        self.ready = ready
        self.memtotal = ready["memtotal_kb"]
        self.blocks = ready["blocks"]
        self.added_at = self.mark

    def ost(self, dimm_id, source, pred=lambda st: True):
        """The guest's _OST info for dimm_id from source, waited for."""
        ev = self.qmp.wait_event(
            "ACPI_DEVICE_OST", HOTPLUG_TIMEOUT,
            lambda e: e["data"]["info"].get("device") == dimm_id and
            e["data"]["info"]["source"] == source and
            pred(e["data"]["info"]["status"]))
        assert ev, f"no _OST source {source} from the guest for {dimm_id}"
        return ev["data"]["info"]

    def plug(self, dimm_id, size, node=0):
        """object-add (backend mem-ID) and device_add."""
        self.qmp.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                      "id": f"mem-{dimm_id}", "size": size})
        self.qmp.cmd("device_add", driver="pc-dimm", id=dimm_id,
                     memdev=f"mem-{dimm_id}", node=node)

    def wait_memory(self, pred):
        """The next memory line (after mark) that pred accepts; mark,
        memtotal and blocks follow it. Returns (its index, its fields)."""
        i, mem = self.vm.wait_agent_where("memory", pred, HOTPLUG_TIMEOUT,
                                          self.mark)
        self.added_at = self.mark
        self.mark, self.memtotal, self.blocks = (i + 1, mem["memtotal_kb"],
                                                 mem["blocks"])
        return i, mem

    def add(self, dimm_id, size=128 * M, node=0):
        """plug(); waits for _OST success and the memory line with exactly
        the DIMM added. Returns that line's fields."""
        want_blocks = self.blocks + size // (128 * M)
        want = self.memtotal + size // 1024
        self.plug(dimm_id, size, node)
        info = self.ost(dimm_id, 1)
        assert info["status"] == 0, info
        _, mem = self.wait_memory(lambda f: f["memtotal_kb"] == want)
        assert mem["blocks"] == want_blocks
        return mem

    def add_with_memplugctl(self, dimm_id, size, node=0):
        """memplugctl add --wait (it returns on the guest's _OST success);
        then the memory line that counts the DIMM."""
        want = self.memtotal + size // 1024
        ctl = subprocess.run(
            [str(BUILD / "memplugctl"), "-s", self.sock, "add",
             f"{size // M}M", "--id", dimm_id, "--node", str(node), "--wait",
             "--timeout", str(HOTPLUG_TIMEOUT)],
            capture_output=True, text=True, timeout=HOTPLUG_TIMEOUT + 60)
        assert ctl.returncode == 0, ctl.stdout + ctl.stderr
        assert "guest accepted" in ctl.stdout
        return self.wait_memory(lambda f: f["memtotal_kb"] >= want)[1]

    def remove(self, dimm_id, size=128 * M):
        """device_del; waits for _OST 0x84, DEVICE_DELETED and the agent's
        memory line without the DIMM. Returns (the event, the line's
        fields)."""
        want_blocks = self.blocks - size // (128 * M)
        want = self.memtotal - size // 1024
        self.qmp.cmd("device_del", id=dimm_id)
        info = self.ost(dimm_id, 3)
        assert info["status"] == 0x84, info          # ejection in progress
        ev = self.qmp.wait_event("DEVICE_DELETED", HOTPLUG_TIMEOUT,
                                 lambda e: e["data"].get("device") == dimm_id)
        assert ev, f"no DEVICE_DELETED for {dimm_id}"
        _, mem = self.wait_memory(lambda f: f["memtotal_kb"] == want)
        assert mem["blocks"] == want_blocks
        return ev, mem

    def node_lines(self, start, nodes=2):
        """The per-node lines the agent prints right after the ready or
        memory line at index start - 1, waited for."""
        i = start
        for _ in range(nodes):
            i, _ = self.vm.wait_agent("node", 60, i)
            i += 1
        return {f["id"]: f for _, f in self.vm.agent_lines("node", start)[:nodes]}

    def check_sizes(self, blocks):
        """query-memory-size-summary agrees with the guest: base memory is
        the blocks it had at its first ready (no DIMM then), plugged memory
        the blocks it has gained since."""
        s = self.qmp.cmd("query-memory-size-summary")
        assert s == {"base-memory": self.ready["blocks"] * 128 * M,
                     "plugged-memory":
                     (blocks - self.ready["blocks"]) * 128 * M}, (s, blocks)

    def check_pattern(self, start, pages=None, checked=None):
        """The in-kernel agent's pattern lines since console line start:
        at least one, none bad (and the last of pages, checked pages). The
        user-space agent has none: user space cannot reach new memory
        before the page allocator hands it out, so there is nothing to
        check there and this asserts nothing for it."""
        if self.vm.kernel.user_agent:
            return
        pats = self.vm.agent_lines("pattern", start)
        assert pats, "no pattern line from the agent"
        assert all(f["bad"] == 0 for _, f in pats), pats
        last = pats[-1][1]
        assert pages is None or last["pages"] == pages, last
        assert checked is None or last["checked"] == checked, last

    def command(self, line, error=0, timeout=HOTPLUG_TIMEOUT):
        """A command to the user-space agent on the console (grammar:
        guest-tests/agent/README.md); waits for its done line and checks
        its error (None: any). Returns (index of the done line, fields)."""
        assert self.vm.kernel.user_agent, \
            f"the {self.vm.kernel.name} guest takes no console commands"
        start = len(self.vm.console.lines)
        self.vm.send(line)
        cmd = line.split()[0]
        i, done = self.vm.wait_agent_where(
            "done", lambda f: f["cmd"] == cmd, timeout, start)
        assert error is None or done["error"] == error, (line, done)
        return i, done

    def blocks_at(self, start, count):
        """{block id: fields} of the count block lines of the snapshot
        after the ready or memory line at index start - 1, waited for (the
        user-space agent prints them after the node lines)."""
        out, i = {}, start
        while len(out) < count:
            i, fields = self.vm.wait_agent("block", 60, i)
            between = [parse_agent(x) for x in self.vm.console.lines[start:i]]
            assert all(p is None or p[0] in ("node", "block")
                       for p in between), f"snapshot at {start} has ended"
            out[fields["id"]] = fields
            i += 1
        return out

    def dimm(self, dimm_id):
        """x-memplug-query-dimms' entry for dimm_id, or None."""
        for d in self.qmp.cmd("x-memplug-query-dimms"):
            if d["id"] == dimm_id:
                return d
        return None
