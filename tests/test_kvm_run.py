"""scripts/kvm-run, the real-KVM runner: its lane choice, its errors, and
the nested lane itself (each test boots a throwaway L1 VM, ~10 s): exit
status and output come back, L1's KVM is a real kvm-amd that memplug does
not take for PVM, the checkout is shared read-write, and nothing is left
behind after a timeout or Ctrl-C. The nested lane is asked for explicitly
so these tests mean the same on a host with hardware KVM."""
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
KVM_RUN = str(ROOT / "scripts" / "kvm-run")
HELLO = str(ROOT / "build" / "tests" / "guests" / "hello.elf")
PVM_WARNING = "hiding CPU features this KVM cannot run"


def kvm_run(args, env=None, timeout=300, cwd=None):
    full = dict(os.environ)
    full.pop("MEMPLUG_KVM", None)
    full.update(env or {})
    p = subprocess.run([sys.executable, KVM_RUN] + args, env=full, cwd=cwd,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def leftovers():
    """kvm-run's run directories and its QEMU processes, by their marks."""
    dirs = {p.name for p in pathlib.Path("/tmp").glob("kvm-run-*")}
    qemus = subprocess.run(["pgrep", "-f", "mount_tag=run"],
                           capture_output=True, text=True).stdout.split()
    return dirs, qemus


def test_lane_choice_follows_the_kvm_and_memplug_kvm():
    expect = "nested" if os.path.exists("/sys/module/kvm_pvm") or \
        not os.path.exists("/dev/kvm") else "direct"
    assert kvm_run(["--print-lane"])[:2] == (0, expect + "\n")
    for lane in ("direct", "nested"):
        assert kvm_run(["--print-lane"], {"MEMPLUG_KVM": lane})[1] == lane + "\n"
        assert kvm_run(["--lane", lane, "--print-lane"])[1] == lane + "\n"


def test_refuses_a_bad_lane_and_no_command():
    status, _, err = kvm_run(["--print-lane"], {"MEMPLUG_KVM": "fast"})
    assert status == 2
    assert "lane 'fast' (from --lane or MEMPLUG_KVM) is not one of auto, " \
           "direct, nested" in err
    status, _, err = kvm_run([])
    assert status == 2 and "no command given" in err


def test_says_when_qemu_is_missing(tmp_path):
    (tmp_path / "python3").symlink_to(sys.executable)
    status, _, err = kvm_run(["--lane", "nested", "true"],
                             {"PATH": str(tmp_path)})
    assert status == 125
    assert "qemu-system-x86_64 not found: apt-get install qemu-system-x86" in err


def test_says_when_the_emulated_cpu_has_no_svm():
    before = leftovers()
    # qemu64: "max,-svm" makes the static busybox's glibc abort at start.
    status, out, err = kvm_run(["--lane", "nested", "--l1-cpu", "qemu64,-svm",
                                "true"])
    assert status == 125, out + err
    assert "error: the emulated CPU has no svm flag, so kvm-amd cannot " \
        "load (run L1 with -cpu max: kvm-run --l1-cpu max)" in err
    # The L1 kernel's last lines come with it.
    assert "L1's last console lines:" in err and "kvm-run-init:" in err
    dirs, qemus = leftovers()
    assert dirs <= before[0] and set(qemus) <= set(before[1])


def test_nested_lane_runs_the_command_on_a_real_kvm(tmp_path):
    mark = ROOT / "build" / f"kvm-run-test-{os.getpid()}"
    mark.unlink(missing_ok=True)
    script = (
        "echo to-stdout; echo to-stderr >&2; "
        "echo lane=$MEMPLUG_KVM_LANE var=$KVM_RUN_TEST_VAR cwd=$(pwd); "
        "test -e /sys/module/kvm_pvm && echo pvm-loaded; "
        "echo npt=$(cat /sys/module/kvm_amd/parameters/npt); "
        "test -c /dev/kvm && echo kvm-device; "
        f"echo written >{mark}; "
        f"{ROOT}/build/memplug --kernel {HELLO} -v; echo memplug=$?; "
        "exit 7")
    status, out, err = kvm_run(["--lane", "nested", "sh", "-c", script],
                               {"KVM_RUN_TEST_VAR": "a b'c"})
    try:
        assert status == 7, out + err
        assert "to-stdout\n" in out and "to-stderr\n" in out
        assert f"lane=nested var=a b'c cwd={os.getcwd()}\n" in out
        assert "pvm-loaded" not in out
        assert "npt=Y\n" in out and "kvm-device\n" in out
        # memplug inside L1 sees kvm-amd, not the host's kvm_pvm.
        assert "hello\n" in out and "memplug=0\n" in out
        assert PVM_WARNING not in out
        assert "\r" not in out
        assert mark.read_text() == "written\n"
        assert "kvm-run: L1 +" in err and "ready: running the command" in err
    finally:
        mark.unlink(missing_ok=True)


def test_a_work_directory_under_tmp_is_shared_too(tmp_path):
    """CI clones the checkout under /tmp, which is L1's own tmpfs: the
    work directory is mounted on top of it."""
    (tmp_path / "in").write_text("from the host\n")
    status, out, err = kvm_run(["--lane", "nested", "--work", str(tmp_path),
                                "sh", "-c", "cat in; pwd; echo back >out"],
                               cwd=tmp_path)
    assert status == 0, out + err
    assert out == f"from the host\n{tmp_path}\n"
    assert (tmp_path / "out").read_text() == "back\n"


def test_timeout_stops_l1_and_leaves_nothing():
    before = leftovers()
    status, _, err = kvm_run(["--lane", "nested", "--timeout", "25",
                              "sleep", "600"], timeout=120)
    assert status == 124, err
    assert "timed out after 25 s (--timeout); L1's last console lines" in err
    assert leftovers() == before


def sleeping_l1(env=None):
    """kvm-run running `sleep 600` in a nested L1, once the command runs."""
    full = dict(os.environ, **(env or {}))
    full.pop("MEMPLUG_KVM", None)
    p = subprocess.Popen([sys.executable, KVM_RUN, "--lane", "nested",
                          "sleep", "600"], env=full, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 120
    for line in p.stderr:
        if "ready: running the command" in line or \
                time.monotonic() > deadline:
            break
    return p


def signal_l1_qemu(sig, env=None, after=0):
    """kvm-run's status and stderr once its L1's QEMU, running `sleep 600`,
    got sig (after seconds); asserts nothing was left behind."""
    before = leftovers()
    p = sleeping_l1(env)
    try:
        time.sleep(after)
        qemu = subprocess.run(["pgrep", "-P", str(p.pid), "-f", "qemu-system"],
                              capture_output=True, text=True).stdout.split()
        assert len(qemu) == 1, qemu
        os.kill(int(qemu[0]), sig)
        status = p.wait(120)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert leftovers() == before
    return status, err


def test_a_frozen_l1_is_named_and_stopped():
    """QEMU-TCG has frozen a whole L1 (docs/notes.md): L1's heartbeat stops
    and kvm-run ends it with status 123 instead of waiting for --timeout.
    A stopped QEMU (SIGSTOP) stands in for the frozen one, once one
    heartbeat was seen."""
    status, err = signal_l1_qemu(signal.SIGSTOP, {"MEMPLUG_L1_HANG_S": "15"}, 6)
    assert status == 123, err
    assert "L1 froze: no heartbeat for 15 s while QEMU used" in err


def test_an_l1_gone_under_the_command_is_lost_not_a_runner_failure():
    """A clean-clone CI run had L1 end 17 s into a test file with no status
    and no word from its kernel (a triple fault or a QEMU abort): that is
    L1 lost (123, retried by scripts/check), not kvm-run failing (125).
    A killed QEMU stands in for the aborted one."""
    status, err = signal_l1_qemu(signal.SIGKILL)
    assert status == 123, err
    assert "L1 ended (QEMU exit -9) under the command without its status" in err


def test_ctrl_c_stops_l1_and_leaves_nothing():
    before = leftovers()
    p = sleeping_l1()
    try:
        assert p.poll() is None
        p.send_signal(signal.SIGINT)
        rest = p.stderr.read()
        assert p.wait(60) == 130
        assert "interrupted; L1 stopped and cleaned up" in rest
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert leftovers() == before


def test_memplug_on_the_host_sees_the_host_kvm():
    """The other half of the nested check: on a PVM host the same memplug
    does detect PVM, so its absence inside L1 means something."""
    p = subprocess.run([str(ROOT / "build" / "memplug"), "--kernel", HELLO],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (PVM_WARNING in p.stderr) == os.path.exists("/sys/module/kvm_pvm")
