"""Run memplug from tests: start it, follow its console and messages, wait
for lines with generous timeouts (never sleeps), parse guest agent lines.

Every run keeps its console and stderr in build/test-logs/ so a failure can
be read after the fact.
"""
import atexit
import contextlib
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# MEMPLUG_BUILD: another build tree (the sanitizer lane's, scripts/check).
BUILD = pathlib.Path(os.environ.get("MEMPLUG_BUILD", ROOT / "build")).resolve()
MEMPLUG = BUILD / "memplug"
GUESTS = BUILD / "tests" / "guests"
# The test kernel is built once, in the main tree, for every build.
GUEST_KERNEL = ROOT / "build" / "guest" / "vmlinux"
GUEST_BZIMAGE = ROOT / "build" / "guest" / "bzImage"
# Debian's stock kernel and the user-space guest (scripts/build-userspace-guest).
STOCK = ROOT / "build" / "guest-stock"
LOGS = BUILD / "test-logs"

# Memplug processes not yet stopped: a failing test shows what each is
# doing (conftest.py).
RUNNING = set()
# Every memplug started, in order: conftest.py checks the guests a test
# used for splats.
STARTED = []

# Values are decimal integers, except a few words (block state, zones, the
# command a done line answers): guest-tests/agent/README.md.
AGENT_RE = re.compile(r"MEMPLUG-AGENT (\w+)((?: \w+=[\w,-]+)*)\s*$")
INT_RE = re.compile(r"-?\d+$")
# What a Linux guest prints when it went wrong; every guest test fails on
# one. Stall and hung-task reports are named apart: under emulation they
# can be the host's slowness rather than a memplug bug.
SPLAT_RE = re.compile(r"WARNING:|BUG:|Oops|Call Trace")
STALL_RE = re.compile(r"rcu.*(stall|Stall)|blocked for more than \d+ seconds")


class GuestKernel:
    """A guest kernel the tests boot: its image, initramfs and which agent
    reports (the in-kernel one or the user-space one, which also takes
    commands on the console)."""

    def __init__(self, name, image, initrd, user_agent, make_hint):
        self.name, self.image, self.initrd = name, image, initrd
        self.user_agent, self.make_hint = user_agent, make_hint

    def args(self, image=None):
        """memplug's --kernel/--initrd for it (image: another file of the
        same build, e.g. the bzImage); fails when not built."""
        image = image or self.image
        for f in (image, self.initrd):
            assert f is None or f.exists(), f"{f} is missing: {self.make_hint}"
        return ["--kernel", str(image)] + (
            ["--initrd", str(self.initrd)] if self.initrd else [])


KERNELS = {
    "tiny": GuestKernel("tiny", GUEST_KERNEL, None, False, "make guest"),
    "stock": GuestKernel("stock", STOCK / "vmlinuz", STOCK / "initramfs.cpio",
                         True, "make guest (scripts/build-userspace-guest)"),
}


def guest_kernels():
    """The kernels this lane boots: the project's tiny kernel everywhere;
    Debian's stock kernel with its user space where the KVM runs user space
    (not PVM). MEMPLUG_GUEST_KERNELS=tiny,stock chooses."""
    asked = os.environ.get("MEMPLUG_GUEST_KERNELS")
    if asked:
        return asked.split(",")
    return ["tiny"] if is_pvm() else ["tiny", "stock"]


def require_kvm():
    """Guest tests need KVM: fail (never skip silently) when it is absent."""
    import pytest

    if not os.path.exists("/dev/kvm"):
        pytest.fail("/dev/kvm does not exist on this machine: guest tests "
                    "need KVM (load kvm_intel/kvm_amd or run on a host with "
                    "virtualization)", pytrace=False)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.fail("/dev/kvm is not accessible to this user: guest tests "
                    "need read/write access", pytrace=False)


def is_pvm():
    return os.path.exists("/sys/module/kvm_pvm")


def guest_bound(pvm_seconds):
    """Bound of a wait for the guest, given as sized for PVM, which emulates
    guest kernel code (a boot there takes minutes). On a real KVM, even
    nested under TCG, a guest boots in seconds: a fifth of the PVM figure,
    never under two minutes, still leaves a wide margin and keeps a guest
    that stopped making progress from holding a test run for long."""
    return pvm_seconds if is_pvm() else max(120, pvm_seconds // 5)


def parse_agent(line):
    """'... MEMPLUG-AGENT ready cpus=1 x=2' -> ('ready', {'cpus': 1, 'x': 2})."""
    m = AGENT_RE.search(line)
    if not m:
        return None
    fields = dict(kv.split("=", 1) for kv in m.group(2).split())
    return m.group(1), {k: int(v) if INT_RE.match(v) else v
                        for k, v in fields.items()}


class Stream:
    """Lines of one pipe, collected by a thread, with arrival times."""

    def __init__(self, pipe, log_path):
        self.lines = []
        self.times = []
        self.closed = False
        self.cond = threading.Condition()
        self.log = open(log_path, "w", buffering=1, errors="replace")
        self.thread = threading.Thread(target=self._run, args=(pipe,),
                                       daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            line = raw.decode(errors="replace").rstrip("\r\n")
            with self.cond:
                self.lines.append(line)
                self.times.append(time.monotonic())
                self.log.write(line + "\n")
                self.cond.notify_all()
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.log.close()

    def wait_for(self, pattern, timeout, start=0):
        """Index of the first line >= start matching pattern, or None on
        timeout or end of stream."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return None
                self.cond.wait(left)

    def text(self):
        with self.cond:
            return "\n".join(self.lines)


def thread_states(pid, interval=0.5):
    """memplug's threads as the host kernel sees them: name, scheduler
    state, CPU used over interval seconds (a vCPU at ~100 % spins, one at
    0 % waits), the kernel function it sleeps in and the top of its kernel
    stack (root only). What a hung guest is doing starts here."""
    def sample():
        out = {}
        for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                out[task.name] = (stat[stat.index("(") + 1:stat.rindex(")")],
                                  fields[0], int(fields[11]) + int(fields[12]))
            except (OSError, ValueError, IndexError):
                pass
        return out

    try:
        first = sample()
        time.sleep(interval)
        second = sample()
    except OSError as e:
        return f"(no thread states: {e})"
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    for tid, (comm, state, ticks) in sorted(second.items(), key=lambda t: int(t[0])):
        used = (ticks - first.get(tid, (comm, state, ticks))[2]) / hz / interval
        task = pathlib.Path(f"/proc/{pid}/task/{tid}")
        try:
            wchan = (task / "wchan").read_text().strip() or "-"
        except OSError:
            wchan = "?"
        try:
            stack = [line.split()[1] for line in
                     (task / "stack").read_text().splitlines()[:4]]
        except (OSError, IndexError):
            stack = []
        rows.append(f"  {comm:<12} tid {tid} state {state} cpu {used:4.0%} "
                    f"wchan {wchan} {' < '.join(stack)}")
    return "\n".join(rows)


TRACING = pathlib.Path("/sys/kernel/tracing")


def kvm_exit_instance(name, flt):
    """A tracefs instance of our own (root only) recording kvm:kvm_exit
    events that match flt; its path. Raises OSError, leaving nothing."""
    inst = TRACING / "instances" / f"{name}-{os.getpid()}"
    inst.mkdir()
    try:
        ev = inst / "events" / "kvm" / "kvm_exit"
        (ev / "filter").write_text(flt)
        (ev / "enable").write_text("1")
    except OSError:
        with contextlib.suppress(OSError):
            inst.rmdir()
        raise
    return inst


def kvm_exit_counts(tids, seconds=0.5):
    """{(vcpu, reason, guest RIP, info1, info2): count} of these threads'
    KVM exits over a short window, from the kvm:kvm_exit tracepoint in a
    tracefs instance of our own (root only), or a string saying why there
    is none."""
    if not tids:
        return "(no vCPU threads left)"
    if not (TRACING / "events" / "kvm" / "kvm_exit").exists():
        return "(no kvm:kvm_exit tracepoint here)"
    inst = None
    try:
        inst = kvm_exit_instance("memplug-diag", " || ".join(
            f"common_pid == {t}" for t in tids))
        time.sleep(seconds)
        (inst / "events" / "kvm" / "kvm_exit" / "enable").write_text("0")
        text = (inst / "trace").read_text(errors="replace")
    except OSError as e:
        return f"(kvm:kvm_exit not sampled: {e})"
    finally:
        if inst:
            with contextlib.suppress(OSError):
                inst.rmdir()
    rx = re.compile(r"kvm_exit: vcpu (\d+) reason (\S+).*? rip (0x[0-9a-f]+)"
                    r"(?: info1 (0x[0-9a-f]+) info2 (0x[0-9a-f]+))?")
    counts = {}
    for m in rx.finditer(text):
        counts[m.groups()] = counts.get(m.groups(), 0) + 1
    return counts


def nested_lane():
    """Whether these tests run in scripts/kvm-run's L1 (real KVM nested
    under QEMU-TCG)."""
    return os.environ.get("MEMPLUG_KVM_LANE") == "nested"


# A triple fault in an L2 guest is an SVM SHUTDOWN intercept, after which
# L1's KVM resets the vCPU: memplug sees RIP 0xfff0 only. The guest's own
# RIP is in kvm:kvm_exit, traced before the reset, so in the nested lane
# every test process keeps a tracefs instance of such exits (root only).
TRIPLE_FAULT_FILTER = "(isa == 2 && exit_reason == 127) || " \
    "(isa == 1 && exit_reason == 2)"
_TRIPLE_TRACE = []


def arm_triple_fault_trace():
    """Start recording this kernel's guests' triple-fault exits, once per
    process; returns why not as a string, else None."""
    if _TRIPLE_TRACE:
        return None
    if not (TRACING / "events" / "kvm" / "kvm_exit").exists():
        return "no kvm:kvm_exit tracepoint here"
    try:
        inst = kvm_exit_instance("memplug-triple", TRIPLE_FAULT_FILTER)
    except OSError as e:
        return f"kvm:kvm_exit not traced: {e}"
    _TRIPLE_TRACE.append(inst)
    atexit.register(lambda: inst.rmdir())
    return None


def triple_faults():
    """[(thread, vcpu, guest RIP)] of the triple faults recorded since
    arm_triple_fault_trace()."""
    if not _TRIPLE_TRACE:
        return []
    try:
        text = (_TRIPLE_TRACE[0] / "trace").read_text(errors="replace")
    except OSError:
        return []
    rx = re.compile(r"^\s*(\S+)-\d+\s.*kvm_exit: vcpu (\d+) reason \S+ "
                    r"rip (0x[0-9a-f]+)", re.M)
    return rx.findall(text)


def nested_triple_fault(vm):
    """Why a failure with this guest is the nested CPU's: a triple fault in
    the nested lane (MEMPLUG_KVM_LANE=nested) that no guest test asks for
    (Linux reboots through the FADT reset register here), with the guest
    RIP KVM saw. Seen under QEMU as the VMM too (docs/notes.md). None
    otherwise."""
    if not nested_lane():
        return None
    n = vm.stderr.text().count("triple fault at")
    if not n:
        return None
    rips = ", ".join(f"{t} vcpu{v} rip {rip}" for t, v, rip in triple_faults())
    return (f"{n} guest triple fault(s) in the nested lane "
            f"(SVM SHUTDOWN; {rips or 'RIP not traced'})")


def kvm_exits(counts, seconds=0.5):
    """kvm_exit_counts() for a person: whether a vCPU that spins loops on
    one exit, and where."""
    if isinstance(counts, str):
        return counts
    if not counts:
        return f"  no KVM exits in {seconds} s"
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:8]
    return "\n".join(
        [f"  {sum(counts.values())} KVM exits in {seconds} s; most frequent "
         "(vcpu, reason, guest RIP, info1, info2; for npf: error code, GPA):"] +
        [f"    vcpu{v} {r} rip {rip}{host_symbol(rip)} info1 {i1} info2 {i2}: {n}"
         for (v, r, rip, i1, i2), n in top])


def nested_vmexit_loop(counts):
    """The exit a vCPU loops on when that loop is the nested CPU's, not
    the guest's or memplug's: a guest RIP inside this (L1) kernel's own
    code, which no guest of ours can run. Seen under QEMU-TCG's emulated
    SVM, with QEMU as the VMM too (docs/notes.md). None otherwise."""
    if isinstance(counts, str) or not counts:
        return None
    (v, reason, rip, _, gpa), n = max(counts.items(), key=lambda kv: kv[1])
    where = host_symbol(rip)
    if not where or n < sum(counts.values()) * 9 // 10:
        return None
    return f"vcpu{v} looping on {reason} at rip {rip}{where}, GPA {gpa}"


def host_symbol(addr):
    """' (this kernel's SYMBOL+OFF)' when addr is in this kernel's own code
    (/proc/kallsyms, root): a guest RIP there is not the guest's, which is
    what a broken nested #VMEXIT looks like."""
    try:
        a = int(addr, 16)
        best = None
        with open("/proc/kallsyms") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] not in "tT":
                    continue
                s = int(parts[0], 16)
                if s and s <= a and (best is None or s > best[0]):
                    best = (s, parts[2] + (f" [{parts[3].strip('[]')}]"
                                           if len(parts) > 3 else ""))
    except (OSError, ValueError):
        return ""
    if best is None or a - best[0] > 0x10000:
        return ""
    return f" (this kernel's {best[1]}+{a - best[0]:#x})"


class Memplug:
    """One memplug process. Use as a context manager: it is always stopped."""

    def __init__(self, args, name, env=None, program=MEMPLUG,
                 console_input=False):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.exit_counts = None  # the last diagnostics' KVM exit sample
        RUNNING.add(self)
        STARTED.append(self)
        self.started = time.monotonic()
        full_env = dict(os.environ)
        # Unpacked bzImages are cached in the build tree: it is writable in
        # the nested lane, where the host's /var/cache is not.
        full_env.setdefault("MEMPLUG_CACHE", str(BUILD / "kernel-cache"))
        full_env.update(env or {})
        self.proc = subprocess.Popen([str(program)] + list(args),
                                     stdin=subprocess.PIPE if console_input
                                     else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env)
        self.console = Stream(self.proc.stdout, LOGS / f"{name}.console")
        self.stderr = Stream(self.proc.stderr, LOGS / f"{name}.stderr")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=30):
        RUNNING.discard(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.console.thread.join(5)
        self.stderr.thread.join(5)
        return self.proc.returncode

    def send(self, line):
        """A line to the guest's console (its ttyS0 input)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def splat(self):
        """What went wrong in the guest by its own log, or None: the first
        warning, bug, oops or stall report with a few lines around it."""
        lines = list(self.console.lines)
        for i, line in enumerate(lines):
            if SPLAT_RE.search(line) or STALL_RE.search(line):
                report = lines[max(0, i - 2):i + 12]
                if any(STALL_RE.search(x) for x in lines[max(0, i - 5):i + 5]):
                    what = ("an RCU stall or hung-task report (the host's "
                            f"load average: {os.getloadavg()}; under "
                            "emulation the cause can be a slow host)")
                else:
                    what = "a kernel warning, bug or oops"
                return (f"guest {self.name} logged {what} at console line "
                        f"{i} ({LOGS}/{self.name}.console):\n" +
                        "\n".join(report))
        return None

    def vcpu_tids(self):
        tids = []
        for task in pathlib.Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(OSError):
                # memplug's "vcpuN"; QEMU's "CPU N/KVM" (guest-loop --vmm)
                if (task / "comm").read_text().startswith(("vcpu", "CPU ")):
                    tids.append(int(task.name))
        return tids

    def diagnostics(self):
        """What to print when a wait for this guest ran out: its last
        console lines, memplug's messages and, while it runs, the state of
        each memplug thread (the vCPUs among them)."""
        parts = [f"memplug '{self.name}' (pid {self.proc.pid}, exit status "
                 f"{self.proc.poll()}); last console lines:",
                 "\n".join(self.console.lines[-25:]),
                 "memplug's stderr (end):", self.stderr.text()[-3000:]]
        if self.proc.poll() is None:
            # Kept for callers that judge the hang (start_until_ready).
            self.exit_counts = kvm_exit_counts(self.vcpu_tids())
            parts += ["memplug's threads:", thread_states(self.proc.pid),
                      "KVM exits of its vCPU threads:",
                      kvm_exits(self.exit_counts)]
        faults = triple_faults()
        if faults:
            parts.append("guest triple faults traced in this kernel (thread, "
                         "vCPU, guest RIP before KVM's reset): " + ", ".join(
                             " ".join(f) for f in faults))
        return "\n".join(parts)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_agent(self, kind, timeout, start=0):
        """The next agent line of this kind as (index, fields), or fail with
        the end of the console for context. In the nested lane a console
        silent for LOOP_CHECK_S has its vCPUs' exits sampled, and a guest
        caught in the nested CPU's loop fails then, not at the bound: only
        on the loop's own mark, a RIP at L1's VMRUN (L1's kernel text is
        placed at random, so an idle guest's RIP can fall inside it)."""
        rx = r"MEMPLUG-AGENT %s\b" % kind
        t0 = time.monotonic()
        deadline = t0 + timeout
        early = ""
        while True:
            seen = len(self.console.lines)
            left = deadline - time.monotonic()
            i = self.console.wait_for(
                rx, max(min(left, LOOP_CHECK_S) if nested_lane() else left, 0),
                start)
            if i is not None:
                return i, parse_agent(self.console.lines[i])[1]
            if deadline <= time.monotonic() or self.console.closed:
                break
            if len(self.console.lines) == seen and self.proc.poll() is None \
                    and "__svm_vcpu_run" in (nested_vmexit_loop(
                        kvm_exit_counts(self.vcpu_tids())) or ""):
                early = (f" (given up after {time.monotonic() - t0:.0f} s: "
                         f"the console was silent for {LOOP_CHECK_S} s and a "
                         "vCPU loops in the nested CPU)")
                break
        raise AssertionError(f"no 'MEMPLUG-AGENT {kind}' line within "
                             f"{timeout}s{early}\n" + self.diagnostics())

    def agent_lines(self, kind, start=0):
        """All agent lines of a kind from start on, as (index, fields)."""
        out = []
        for i, line in enumerate(list(self.console.lines)[start:], start):
            parsed = parse_agent(line)
            if parsed and parsed[0] == kind:
                out.append((i, parsed[1]))
        return out

    def wait_agent_where(self, kind, pred, timeout, start=0):
        """The first agent line of a kind whose fields satisfy pred; lines
        that do not are skipped (the agent may coalesce changes)."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            left = deadline - time.monotonic()
            try:
                i, fields = self.wait_agent(kind, max(left, 0), i)
            except AssertionError:
                raise AssertionError(
                    f"no 'MEMPLUG-AGENT {kind}' line matching the "
                    f"expectation within {timeout}s\n" + self.diagnostics())
            if pred(fields):
                return i, fields
            i += 1

    def elapsed(self, index):
        """Seconds from start to console line index."""
        return self.console.times[index] - self.started


# How long a console may stay silent, in the nested lane, before a wait
# for the agent samples the vCPUs' exits for the nested CPU's loop: a
# caught guest then fails (or is booted again) within about this, not at
# the wait's bound (240 s for ready; one clean-clone CI run met the loop
# twice in test_boot); a guest that is only quiet costs a 0.5 s sample.
LOOP_CHECK_S = 30

# Guests booted a second time, a line each: conftest.py reports them at
# the end of the run and scripts/check counts them. Never hidden.
RETRIES = []
if nested_lane() and os.geteuid() == 0:
    arm_triple_fault_trace()


class NestedLoop(AssertionError):
    """A failure with its guest caught in the nested CPU's #VMEXIT loop,
    raised once that guest is stopped: conftest.py reads .loop from the
    exception, as the running guests no longer show it."""

    def __init__(self, message, loop):
        super().__init__(message)
        self.loop = loop


def start_until_ready(make_vm, name, timeout):
    """(vm, index of its ready line, its fields) for make_vm(log name).
    A guest that stops making progress before ready because the nested CPU
    loops on one #VMEXIT (nested_vmexit_loop: not memplug's doing) is
    stopped and booted once more, and the retry is recorded in RETRIES; a
    retry caught in the loop again fails as NestedLoop, which lets
    scripts/check run the test file once more in a new L1. Anything else
    fails as it is, with the guest's diagnostics."""
    vm = make_vm(name)
    try:
        i, ready = vm.wait_agent("ready", timeout)
        return vm, i, ready
    except AssertionError:
        # wait_agent's message took the diagnostics, exit sample included.
        loop = nested_vmexit_loop(vm.exit_counts)
        vm.stop()
        if loop is None:
            raise
    RETRIES.append(f"guest {name}: stopped before its ready line, {loop}; "
                   f"booted once more (logs: {LOGS}/{name}.*)")
    vm = make_vm(f"{name}-retry")
    try:
        i, ready = vm.wait_agent("ready", timeout)
    except AssertionError as e:
        loop = nested_vmexit_loop(vm.exit_counts)
        vm.stop()
        if loop is None:
            raise
        raise NestedLoop(str(e), loop) from None
    return vm, i, ready


@contextlib.contextmanager
def idle_guest(sock, name, args=()):
    """memplug running the flat idle guest with a control socket at sock
    (and args), once the guest printed its line. Yields the Memplug."""
    require_kvm()
    with Memplug(["--kernel", str(GUESTS / "idle.elf"), "--control",
                  str(sock)] + list(args), name) as p:
        assert p.console.wait_for("^idle$", 60) is not None, p.stderr.text()
        yield p


@contextlib.contextmanager
def booted_guest(args, name, timeout=guest_bound(20 * 60), kernel="tiny"):
    """A guest kernel (a KERNELS name) booted with a control socket and
    args, up to the agent's ready line, its console input open. Yields (vm,
    qmp, socket path, index of the ready line, its fields); memplug is
    always stopped afterwards."""
    from qmp_client import QMP

    require_kvm()
    k = KERNELS[kernel]
    kargs = k.args()

    def make(log_name):
        sock = os.path.join(tempfile.mkdtemp(prefix=f"mp-{name}-"), "vm.sock")
        vm = Memplug(kargs + ["--control", sock] + args, log_name,
                     console_input=True)
        vm.sock, vm.kernel = sock, k
        return vm

    vm, i, ready = start_until_ready(make, name, timeout)
    try:
        q = QMP(vm.sock)
        try:
            yield vm, q, vm.sock, i, ready
        finally:
            q.close()
    finally:
        vm.stop()


def run(args, timeout=60, env=None):
    """Run memplug to completion: (status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([str(MEMPLUG)] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout, env=full_env)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))
