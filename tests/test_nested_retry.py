"""scripts/nested-retry, the guest lane's one retry of test files that
failed only while a guest was caught in the nested CPU's #VMEXIT loop
or triple-faulted there unasked."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from memplug_vm import ROOT

TOOL = str(ROOT / "scripts" / "nested-retry")
LOOP = "vcpu0 looping on npf at rip 0xffffffffc050520c (this kernel's " \
    "__svm_vcpu_run [kvm_amd]+0x9c), GPA 0x14ff10ff8"


def run(tmp_path, outcomes, counts):
    (tmp_path / "outcomes.json").write_text(json.dumps(outcomes))
    (tmp_path / "counts").write_text(counts)
    p = subprocess.run([TOOL, str(tmp_path / "outcomes.json"),
                        str(tmp_path / "counts")], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.split(), p.stderr, (tmp_path / "counts").read_text()


def test_a_file_failed_in_the_loop_runs_again_and_its_counts_go(tmp_path):
    outcomes = {
        "guest-tests/test_boot.py": {"passed": 20, "failed": 0, "skipped": 0,
                                     "nested": []},
        "guest-tests/test_movable_node.py": {
            "passed": 0, "failed": 2, "skipped": 0,
            "nested": [f"guest-tests/test_movable_node.py::a: {LOOP}",
                       f"guest-tests/test_movable_node.py::b: {LOOP}"]},
    }
    files, err, counts = run(tmp_path, outcomes, "449 0 1 0\n37 2 1 0\n")
    assert files == ["guest-tests/test_movable_node.py"]
    assert err.count("RETRIED guest-tests/test_movable_node.py::") == 2
    assert LOOP in err
    # The run's line loses the file's counts and gains one retry.
    assert counts == "449 0 1 0\n37 0 1 1\n"


def test_any_other_failure_retries_nothing(tmp_path):
    outcomes = {
        "guest-tests/test_hotremove.py": {
            "passed": 5, "failed": 1, "skipped": 0, "nested": []},
        "guest-tests/test_movable_node.py": {
            "passed": 0, "failed": 2, "skipped": 0,
            "nested": [f"x::a: {LOOP}", f"x::b: {LOOP}"]},
    }
    files, err, counts = run(tmp_path, outcomes, "10 3 0 0\n")
    assert (files, err, counts) == ([], "", "10 3 0 0\n")
    # A file with a failure outside the loop too: the same.
    outcomes = {"guest-tests/test_smoke.py": {
        "passed": 1, "failed": 2, "skipped": 0, "nested": [f"x::a: {LOOP}"]}}
    assert run(tmp_path, outcomes, "1 2 0 0\n")[0] == []


def test_no_outcomes_no_retry(tmp_path):
    p = subprocess.run([TOOL, str(tmp_path / "missing.json"),
                        str(tmp_path / "counts")], capture_output=True,
                       text=True, timeout=30)
    assert (p.returncode, p.stdout) == (0, "")


class FakeStderr:
    def __init__(self, text):
        self._text = text

    def text(self):
        return self._text


class FakeVM:
    def __init__(self, stderr):
        self.stderr = FakeStderr(stderr)


FAULT = "memplug: warning: vCPU 0: triple fault at RIP 0xfff0, code 00 00; " \
    "resetting the guest\n"


def test_an_unasked_triple_fault_is_the_nested_cpus_only_in_that_lane(
        monkeypatch):
    import memplug_vm

    monkeypatch.setenv("MEMPLUG_KVM_LANE", "nested")
    why = memplug_vm.nested_triple_fault(FakeVM("memplug: x\n" + FAULT))
    assert why and why.startswith("1 guest triple fault(s) in the nested lane")
    assert memplug_vm.nested_triple_fault(FakeVM("memplug: x\n")) is None
    monkeypatch.setenv("MEMPLUG_KVM_LANE", "direct")
    assert memplug_vm.nested_triple_fault(FakeVM(FAULT)) is None
    monkeypatch.delenv("MEMPLUG_KVM_LANE")
    assert memplug_vm.nested_triple_fault(FakeVM(FAULT)) is None


class NeverReady:
    """A guest that never prints its ready line; stop() is recorded."""

    def __init__(self, name, log):
        self.name, self.log, self.exit_counts = name, log, {}

    def wait_agent(self, kind, timeout, start=0):
        raise AssertionError(f"no 'MEMPLUG-AGENT {kind}' line ({self.name})")

    def stop(self):
        self.log.append(f"stop {self.name}")


def test_a_boot_retry_caught_in_the_loop_again_is_the_nested_cpus(
        monkeypatch):
    """CI met the loop before ready on a boot and on its retry: the retry's
    failure must carry the loop (NestedLoop) so conftest.py counts it and
    scripts/check runs the file once more in a new L1."""
    import memplug_vm

    log = []
    monkeypatch.setattr(memplug_vm, "RETRIES", [])
    monkeypatch.setattr(memplug_vm, "nested_vmexit_loop", lambda counts: LOOP)
    with pytest.raises(memplug_vm.NestedLoop) as e:
        memplug_vm.start_until_ready(lambda n: NeverReady(n, log), "g", 1)
    assert e.value.loop == LOOP and "(g-retry)" in str(e.value)
    assert log == ["stop g", "stop g-retry"]
    assert len(memplug_vm.RETRIES) == 1 and LOOP in memplug_vm.RETRIES[0]
    # Without the loop the retry's failure stands as it is, not counted.
    monkeypatch.setattr(memplug_vm, "nested_vmexit_loop",
                        lambda counts: LOOP if not log else None)
    log.clear()
    with pytest.raises(AssertionError) as e:
        memplug_vm.start_until_ready(lambda n: NeverReady(n, log), "h", 1)
    assert type(e.value) is AssertionError and "(h-retry)" in str(e.value)
    assert log == ["stop h", "stop h-retry"]


def test_conftest_counts_a_nested_loop_failure_of_a_stopped_guest(tmp_path):
    """The outcome that scripts/nested-retry reads: a NestedLoop failure
    (at fixture set-up, as in CI, and in the tests sharing that fixture)
    is listed as the nested CPU's; a plain failure is not."""
    (tmp_path / "test_x.py").write_text(
        "import pytest\nimport memplug_vm\n\n"
        "@pytest.fixture(scope='module')\ndef guest():\n"
        f"    raise memplug_vm.NestedLoop('no ready line', {LOOP!r})\n\n"
        "def test_a(guest):\n    pass\n\n"
        "def test_b(guest):\n    pass\n\n"
        "def test_c():\n    assert False\n")
    out = tmp_path / "outcomes.json"
    # Its own counts file: make check's would take this run's failures.
    counts = tmp_path / "counts"
    env = dict(os.environ, MEMPLUG_OUTCOMES=str(out),
               MEMPLUG_COUNTS=str(counts),
               PYTHONPATH=f"{ROOT}:{ROOT / 'tests'}")
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest",
                        "-p", "no:cacheprovider", str(tmp_path / "test_x.py")],
                       cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    (f, v), = json.loads(out.read_text()).items()
    assert f.endswith("test_x.py")
    assert (v["passed"], v["failed"]) == (0, 3), v
    assert [n.split("::")[1] for n in v["nested"]] == [
        f"test_a: {LOOP}", f"test_b: {LOOP}"], v
    assert counts.read_text() == "0 3 0 0\n"


class Running:
    def poll(self):
        return None


def console_vm(tmp_path, monkeypatch, lane_is_nested, loop=LOOP):
    """A Memplug with only a console (fed through the returned pipe end),
    a process that runs and one vCPU thread; the exit sampler records its
    calls in the returned list and always finds loop."""
    import memplug_vm

    samples = []
    monkeypatch.setattr(memplug_vm, "LOOP_CHECK_S", 0.3)
    monkeypatch.setattr(memplug_vm, "nested_lane", lambda: lane_is_nested)
    monkeypatch.setattr(memplug_vm, "kvm_exit_counts",
                        lambda tids: samples.append(tids) or {})
    monkeypatch.setattr(memplug_vm, "nested_vmexit_loop", lambda counts: loop)
    r, w = os.pipe()
    vm = object.__new__(memplug_vm.Memplug)
    vm.console = memplug_vm.Stream(os.fdopen(r, "rb"), tmp_path / "console")
    vm.proc = Running()
    vm.vcpu_tids = lambda: [4242]
    vm.diagnostics = lambda: "diagnostics"
    return vm, os.fdopen(w, "wb", buffering=0), samples


def test_a_silent_guest_in_the_loop_is_given_up_on_early(tmp_path,
                                                          monkeypatch):
    """CI lost 2 x 240 s in one run to guests caught in the loop before
    ready; a silent console with the loop in its exits fails at once."""
    vm, feed, samples = console_vm(tmp_path, monkeypatch, True)
    feed.write(b"[    4.9] ima: No TPM chip found\n")
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as e:
        vm.wait_agent("ready", 60)
    assert time.monotonic() - t0 < 10
    assert "the console was silent for 0.3 s and a vCPU loops in the " \
        "nested CPU" in str(e.value) and str(e.value).endswith("diagnostics")
    assert samples == [[4242]]


def test_a_guest_that_prints_is_not_sampled(tmp_path, monkeypatch):
    vm, feed, samples = console_vm(tmp_path, monkeypatch, True)

    def boot():
        for n in range(12):
            feed.write(b"[    %d] still booting\n" % n)
            time.sleep(0.1)
        feed.write(b"MEMPLUG-AGENT ready cpus=1 memory=256M\n")

    t = threading.Thread(target=boot)
    t.start()
    i, fields = vm.wait_agent("ready", 60)
    t.join()
    assert i == 12 and fields["cpus"] == 1 and samples == []


def test_outside_the_nested_lane_the_wait_runs_to_its_bound(tmp_path,
                                                            monkeypatch):
    vm, _, samples = console_vm(tmp_path, monkeypatch, False)
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as e:
        vm.wait_agent("ready", 1)
    assert time.monotonic() - t0 >= 1 and samples == []
    assert str(e.value).startswith("no 'MEMPLUG-AGENT ready' line within 1s\n")


def test_only_the_loop_at_l1s_vmrun_ends_a_wait_early(tmp_path, monkeypatch):
    """A quiet guest whose HLT RIP happens to fall in L1's randomly placed
    kernel text is not the nested CPU's loop."""
    vm, _, samples = console_vm(
        tmp_path, monkeypatch, True, "vcpu0 looping on hlt at rip "
        "0xffffffff81a3c1de (this kernel's default_idle+0xe), GPA 0x0")
    with pytest.raises(AssertionError) as e:
        vm.wait_agent("ready", 1)
    assert len(samples) >= 2
    assert str(e.value).startswith("no 'MEMPLUG-AGENT ready' line within 1s\n")
