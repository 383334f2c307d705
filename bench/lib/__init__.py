"""Helpers shared by the bench/ scripts: child processes (proc), the host
(host), statistics (stats), QMP (qmp), a VMM under test (vm), perf stat
(perf), a hot-add's timeline (timeline), hotplug.py's summary
(hotplug_summary), logging and JSON results."""
import datetime
import json
import os
import pathlib
import shlex
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build"
MEMPLUG = BUILD / "memplug"
VMLINUX = BUILD / "guest" / "vmlinux"
BENCH = ROOT / "bench"
# The committed measurements report.py renders.
RESULTS = BENCH / "results"
# The VMMs hotplug.py and realkvm.py compare, in their tables' order.
KINDS = ("memplug", "qemu")

VERBOSE = False


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log("  " + msg)


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def rel(path):
    """path relative to the repository when it is inside it."""
    p = str(path)
    return os.path.relpath(p, ROOT) if p.startswith(str(ROOT) + "/") else p


def cmd_str(argv):
    """A command line as a shell would take it, paths relative."""
    return shlex.join(rel(a) for a in argv)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def write_json(path, data):
    """Written whole or not at all: a run stopped midway keeps the old file."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def common_args(p, name, sections, groups, wait_when):
    """The options every measurement script has: --only, --json,
    --wait-idle, -v."""
    p.add_argument("--only", default="",
                   help="comma-separated: " + ", ".join(sections)
                   + "; groups: " + ", ".join(groups) + " (sections not run "
                   "are kept from the existing JSON)")
    p.add_argument("--json", default=str(RESULTS / f"{name}.json"),
                   help=f"results file (default bench/results/{name}.json)")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help=f"{wait_when}, wait up to SECONDS for a quiet "
                   "machine: no VMM started by others and host CPU below "
                   "25 %% (default 0: only record the load)")
    p.add_argument("-v", "--verbose", action="store_true")
