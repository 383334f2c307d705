"""A hot-add's timeline: the points memplug's x-memplug-timeline gives per
DIMM, and the same two guest points read from QEMU's trace."""
import re

# The timeline tables' points, in time order.
TIMELINE = ("slot-installed-us", "sci-raised-us", "guest-first-read-us",
            "ost-us")
# QEMU's log trace backend with -msg timestamp=on: "PID@SEC.USEC:event ...".
TRACE_RE = re.compile(r"^\d+@(\d+\.\d+):(mhp_acpi_\w+)")


def trace_lines(path):
    """QEMU's mhp_acpi_* trace lines so far, or None without a trace."""
    try:
        with open(path) as f:
            return [ln for ln in f if "mhp_acpi_" in ln]
    except OSError:
        return None


def qemu_guest_times(lines, since):
    """From QEMU's mhp_acpi_* trace lines: microseconds after since (wall
    clock) of the guest's first read of a DIMM's base (mhp_acpi_read_addr_*)
    and of its first _OST status write, the same two points memplug's
    x-memplug-timeline gives."""
    first = ost = None
    for ln in lines:
        m = TRACE_RE.match(ln)
        if not m or float(m.group(1)) < since:
            continue
        t = float(m.group(1)) - since
        if first is None and m.group(2).startswith("mhp_acpi_read_addr"):
            first = t
        if ost is None and m.group(2) == "mhp_acpi_write_ost_status":
            ost = t
    return {"guest-first-read-us": round(first * 1e6) if first is not None
            else None, "ost-us": round(ost * 1e6) if ost is not None
            else None}


def guest_ms(timeline):
    """The guest's own part of a hot-add: its first read of the DIMM to
    its _OST (ACPI and add_memory in the guest), ms."""
    if not timeline or timeline.get("ost-us") is None or \
            timeline.get("guest-first-read-us") is None:
        return None
    return (timeline["ost-us"] - timeline["guest-first-read-us"]) / 1e3
