"""pytest settings shared by tests/ and guest-tests/."""
import json
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "tests"))

# Per test file: outcomes, and the failures during which a guest was seen
# in the nested CPU's #VMEXIT loop or triple-faulted there (MEMPLUG_OUTCOMES,
# for scripts/check's one retry of such a file).
OUTCOMES = {}


def _outcome(report, nested_loop=None):
    f = OUTCOMES.setdefault(report.nodeid.split("::")[0], {
        "passed": 0, "failed": 0, "skipped": 0, "nested": []})
    if report.passed and report.when == "call":
        f["passed"] += 1
    elif report.skipped:
        f["skipped"] += 1
    elif report.failed:
        f["failed"] += 1
        if nested_loop:
            f["nested"].append(f"{report.nodeid}: {nested_loop}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows every guest still running: its last console
    lines and memplug's threads, so a guest that stopped making progress
    can be read from the report."""
    outcome = yield
    report = outcome.get_result()
    loop = None
    if report.failed:
        if call.excinfo is not None:
            loop = getattr(call.excinfo.value, "loop", None)
        import memplug_vm

        for vm in list(memplug_vm.RUNNING):
            report.sections.append((f"guest {vm.name}", vm.diagnostics()))
            loop = (loop or memplug_vm.nested_vmexit_loop(vm.exit_counts)
                    or memplug_vm.nested_triple_fault(vm))
    _outcome(report, loop)


@pytest.fixture(autouse=True)
def sanitizer_reports():
    """In the sanitizer lane (MEMPLUG_SANITIZER_LOGS, scripts/check) a
    report written by any memplug the test ran fails that test, whatever
    the test itself checked."""
    logs = os.environ.get("MEMPLUG_SANITIZER_LOGS")
    if not logs:
        yield
        return
    d = pathlib.Path(logs)
    d.mkdir(parents=True, exist_ok=True)
    before = set(d.iterdir())
    yield
    new = sorted(set(d.iterdir()) - before)
    if new:
        pytest.fail("sanitizer report(s):\n" + "\n".join(
            f"--- {p}\n{p.read_text(errors='replace')[-6000:]}" for p in new))


def _vms_in(value, depth=0):
    """The Memplug objects inside a fixture value (a Memplug, a Guest, or
    a tuple or list holding one)."""
    import memplug_vm

    if isinstance(value, memplug_vm.Memplug):
        return [value]
    if depth < 2 and isinstance(value, (tuple, list)):
        return [vm for v in value for vm in _vms_in(v, depth + 1)]
    vm = getattr(value, "vm", None)
    return [vm] if isinstance(vm, memplug_vm.Memplug) else []


@pytest.fixture(autouse=True)
def guest_splats(request):
    """A test fails when a guest it used logged a kernel warning, bug,
    oops or stall report, whatever the test itself checked: the guests of
    its fixtures and those it started."""
    import memplug_vm

    started = len(memplug_vm.STARTED)
    yield
    vms = list(memplug_vm.STARTED[started:])
    for value in request.node.funcargs.values():
        vms += [vm for vm in _vms_in(value) if vm not in vms]
    # Those still running are in a fixture's hands and seen there again.
    memplug_vm.STARTED[:] = [vm for vm in memplug_vm.STARTED
                             if vm in memplug_vm.RUNNING]
    for vm in vms:
        found = vm.splat()
        if found:
            pytest.fail(found, pytrace=False)


def pytest_terminal_summary(terminalreporter):
    """The plain closing line CI reads: 'N passed, M failed'."""
    stats = terminalreporter.stats
    passed = len(stats.get("passed", []))
    failed = len(stats.get("failed", [])) + len(stats.get("error", []))
    skipped = len(stats.get("skipped", []))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    retries = []
    if "memplug_vm" in sys.modules:
        retries = sys.modules["memplug_vm"].RETRIES
    for r in retries:
        terminalreporter.write_line(f"RETRIED {r}")
    terminalreporter.write_line(line)
    # scripts/check runs pytest once per lane and adds the counts up.
    counts = os.environ.get("MEMPLUG_COUNTS")
    if counts:
        with open(counts, "a") as f:
            f.write(f"{passed} {failed} {skipped} {len(retries)}\n")
    outcomes = os.environ.get("MEMPLUG_OUTCOMES")
    if outcomes:
        pathlib.Path(outcomes).write_text(json.dumps(OUTCOMES, indent=1))
