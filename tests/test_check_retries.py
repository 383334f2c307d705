"""scripts/check's guest lane: which test files run a second time and how
the closing line counts them. scripts/kvm-run is replaced by a stand-in
that plays one planned outcome per call (a lost L1, a pass, a failure in
the nested CPU's loop, a plain failure), so the lane's control flow is
checked without booting anything."""
import os
import shutil
import subprocess
import sys

from memplug_vm import ROOT

LOOP = "vcpu0 looping on npf at rip 0xffffffffc05cc20c (this kernel's " \
    "__svm_vcpu_run [kvm_amd]+0x9c), GPA 0x100b7aff8"

# Plays the next line of $FAKE_PLAN per call: "lost" (exit 123, nothing
# written), "pass N", "loop N" (N failures, each in the nested loop,
# $FAKE_LOOP), "fail N" or "mixed" (two failures, one in the loop); each
# call's test files are logged to $FAKE_PLAN.calls.
FAKE_KVM_RUN = r'''#!/usr/bin/python3
import json, os, sys
if sys.argv[1:] == ["--print-lane"]:
    print("nested")
    sys.exit(0)
plan = os.environ["FAKE_PLAN"]
with open(plan) as f:
    steps = f.read().splitlines()
step, rest = steps[0].split(), steps[1:]
with open(plan, "w") as f:
    f.write("".join(s + "\n" for s in rest))
files = [a for a in sys.argv if a.startswith("guest-tests/")]
with open(plan + ".calls", "a") as f:
    f.write(" ".join(files) + "\n")
if step[0] == "lost":
    sys.exit(123)
n = int(step[1]) if len(step) > 1 else 2
passed, failed = (n, 0) if step[0] == "pass" else (0, n)
looped = {"loop": n, "mixed": 1}.get(step[0], 0)
nested = [f"{files[0]}::t{i}: {os.environ['FAKE_LOOP']}"
          for i in range(looped)]
with open(os.environ["MEMPLUG_COUNTS"], "a") as f:
    f.write(f"{passed} {failed} 0 0\n")
with open(os.environ["MEMPLUG_OUTCOMES"], "w") as f:
    json.dump({files[0]: {"passed": passed, "failed": failed, "skipped": 0,
                          "nested": nested}}, f)
sys.exit(1 if failed else 0)
'''


def lane(tmp_path, plan):
    """(exit status, output, its closing line, the test files of each
    kvm-run call) of `scripts/check guest` in a copy of the tree's
    scripts, with test_a.py and test_b.py as the guest tests."""
    root = tmp_path / "tree"
    shutil.copytree(ROOT / "scripts", root / "scripts")
    (root / "scripts" / "kvm-run").write_text(FAKE_KVM_RUN)
    (root / "guest-tests").mkdir()
    for name in ("test_a.py", "test_b.py"):
        (root / "guest-tests" / name).write_text("")
    (tmp_path / "plan").write_text("".join(s + "\n" for s in plan))
    env = dict(os.environ, FAKE_PLAN=str(tmp_path / "plan"), FAKE_LOOP=LOOP,
               PYTHON=sys.executable)
    p = subprocess.run(["bash", str(root / "scripts" / "check"), "guest"],
                       cwd=root, env=env, capture_output=True, text=True,
                       timeout=60)
    calls = (tmp_path / "plan.calls").read_text().splitlines()
    return p.returncode, p.stdout + p.stderr, p.stdout.splitlines()[-1], calls


def test_a_lost_l1_runs_its_file_once_more(tmp_path):
    status, out, last, calls = lane(tmp_path, ["lost", "pass 3", "pass 2"])
    assert calls == ["guest-tests/test_a.py"] * 2 + ["guest-tests/test_b.py"]
    assert "RETRIED guest-tests/test_a.py: L1 was lost" in out
    assert last == "5 passed, 0 failed", out
    assert "guests booted twice: 1" in out and status == 0


def test_a_file_failing_only_in_the_loop_runs_once_more(tmp_path):
    status, out, last, calls = lane(tmp_path, ["loop 2", "pass 4", "pass 2"])
    assert calls == ["guest-tests/test_a.py"] * 2 + ["guest-tests/test_b.py"]
    assert out.count("RETRIED guest-tests/test_a.py::t") == 2
    assert last == "6 passed, 0 failed", out
    assert "guests booted twice: 1" in out and status == 0


def test_a_lost_l1_whose_retry_loops_gets_one_more_run(tmp_path):
    status, out, last, calls = lane(tmp_path, ["lost", "loop 1", "pass 3", "pass 2"])
    assert calls == ["guest-tests/test_a.py"] * 3 + ["guest-tests/test_b.py"]
    assert last == "5 passed, 0 failed", out
    assert "guests booted twice: 2" in out and status == 0


def test_other_failures_and_a_second_loss_stand(tmp_path):
    status, out, last, calls = lane(tmp_path, ["fail 1", "lost", "lost"])
    assert calls == ["guest-tests/test_a.py"] + ["guest-tests/test_b.py"] * 2
    assert "RETRIED guest-tests/test_a.py" not in out
    assert last == "0 passed, 2 failed", out
    assert "guests booted twice: 1" in out and status == 1


def test_a_loop_beside_a_plain_failure_is_not_retried(tmp_path):
    """Every failure of the file must be the nested CPU's."""
    status, out, last, calls = lane(tmp_path, ["mixed", "pass 2"])
    assert calls == ["guest-tests/test_a.py", "guest-tests/test_b.py"]
    assert "RETRIED" not in out
    assert last == "2 passed, 2 failed", out
    assert status == 1
