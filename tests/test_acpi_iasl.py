"""ACPI tables and AML checked with ACPICA's own tools (acpica-tools).

For each configuration in CONFIGS, memplug --dump-acpi writes the tables
it would give the guest; then
  - iasl -d disassembles every table without a warning or an error,
  - iasl recompiles each disassembly to the same bytes (header checksum and
    compiler id aside), so the AML is what iasl itself would emit,
  - the disassembly names what Linux needs (_S5, processor devices, SCI,
    MADT entries) and matches the golden files in tests/acpi/expected/,
  - acpiexec loads the DSDT with our FADT and MADT and evaluates objects,
    and, with memory hotplug, runs the slot methods and the GPE scan
    against its simulation of the controller's ports.
The expected byte arrays in tests/test_aml.c are also recompiled from the
ASL in their comments, so those comments cannot drift from the arrays.

Golden files: see tests/acpi/README.md (MEMPLUG_UPDATE_GOLDEN=1 make unit).
"""
import difflib
import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from memplug_vm import MEMPLUG

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "acpi" / "expected"
UPDATE_GOLDEN = os.environ.get("MEMPLUG_UPDATE_GOLDEN") == "1"


class Machine(NamedTuple):
    """A machine of 1 GiB boot RAM and, with slots, 1 GiB per slot, as
    memplug's options."""
    cpus: int
    slots: int = 0
    nodes: int = 1

    def dump_args(self):
        memory = "1G" + (f",slots={self.slots},maxmem={1 + self.slots}G"
                         if self.slots else "")
        # --kernel is required; --dump-acpi does not read it
        return ["--kernel", "vmlinux", "--cpus", str(self.cpus),
                "--memory", memory, "--numa", f"nodes={self.nodes}"]

    def has_srat(self):
        return self.slots > 0 or self.nodes > 1

    def tables(self):
        return TABLES if self.has_srat() else TABLES[:-1]


CONFIGS = {"cpus1": Machine(1), "cpus4": Machine(4),
           "memhp4": Machine(1, slots=4),
           "numa2": Machine(2, slots=8, nodes=2)}
# The RSDP is dumped too, but iasl 20200925 cannot disassemble an RSDP from
# a file (not even one it compiled itself), so it is checked by hand. The
# SRAT is there only with memory hotplug or more than one node.
TABLES = ["XSDT", "FACP", "FACS", "APIC", "DSDT", "SRAT"]


# The headers that own the guest-visible constants the tests check against.
HEADERS = ["include/memplug/hw/pm.h", "include/memplug/hw/memhp.h",
           "include/memplug/layout.h"]


def header_defines():
    """The object-like #defines of HEADERS whose value is an integer
    constant expression over numbers and earlier defines, as a dict."""
    defs = {}
    for h in HEADERS:
        text = (ROOT / h).read_text()
        for m in re.finditer(r"^#define (\w+)[ \t]+(.+?)[ \t]*(?:/\*.*)?$",
                             text, re.M):
            expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uU]?[lL]{0,2}\b", r"\1",
                          m[2]).replace("/", "//")
            if not re.fullmatch(r"[\w\s()+\-*/<>|&~]+", expr):
                continue
            try:
                defs[m[1]] = int(eval(expr, {"__builtins__": {}}, defs))
            except (NameError, SyntaxError, TypeError):
                pass  # not an integer constant expression
    return defs


LAYOUT = header_defines()

# Machine: the controller where the VMM puts it, 1 GiB of boot RAM split
# between the nodes, and a 1 GiB per slot hotplug window at 4 GiB.
MEMHP_PORT = LAYOUT["PORT_MEMHP"]
MEMHP_GPE = LAYOUT["GPE_MEMHP"]
GiB = 1 << 30


def ram_ranges(m):
    """(base, size, pxm) of the boot RAM entries of m: memmap_numa's equal
    parts from address 0 (the legacy hole included), all below the MMIO
    hole here."""
    per_node = GiB // m.nodes
    return [(n * per_node, per_node, n) for n in range(m.nodes)]


# Header lines of a disassembly that change with the iasl version or the
# time of day, not with the table.
VOLATILE_LINE = re.compile(
    r"Disassembly of |Disassembler version|Copyright \(c\)")
# What iasl -d writes into a .dsl when a table is broken.
DSL_PROBLEM = re.compile(
    r"Incorrect checksum|Invalid|Unknown|terminates in the middle")


def run(cmd, cwd, timeout=60):
    """Run cmd; fail the test with its output if it does not exit 0."""
    # stdin closed: acpiexec falls back to its interactive prompt when a
    # table does not load.
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{out}")
    return out


def problems(output):
    """Lines of tool output that report a warning or an error."""
    return [line for line in output.splitlines()
            if re.search(r"warning|error", line, re.I)]


def normalize(dsl):
    return [line for line in dsl.splitlines() if not VOLATILE_LINE.search(line)]


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def tables(request, tmp_path_factory):
    """(config name, directory with <SIG>.dat and iasl's <SIG>.dsl)."""
    if not MEMPLUG.exists():
        pytest.fail(f"{MEMPLUG} is missing: run make first")
    name = request.param
    d = tmp_path_factory.mktemp(name)
    run([MEMPLUG, "--dump-acpi", d, *CONFIGS[name].dump_args()], cwd=d)
    dumped = sorted(p.stem for p in d.glob("*.dat"))
    assert dumped == sorted(["RSDP"] + CONFIGS[name].tables()), dumped
    for sig in CONFIGS[name].tables():
        out = run(["iasl", "-d", f"{sig}.dat"], cwd=d)
        bad = problems(out)
        assert not bad, f"iasl -d {sig}.dat ({name}) reported:\n" + \
            "\n".join(bad)
    return name, d


def checksum_ok(data):
    return sum(data) % 256 == 0


def test_rsdp(tables):
    _, d = tables
    rsdp = (d / "RSDP.dat").read_bytes()
    assert len(rsdp) == 36
    assert rsdp[:8] == b"RSD PTR "
    assert rsdp[15] == 2, "RSDP revision"
    assert checksum_ok(rsdp[:20]), "RSDP ACPI 1.0 checksum"
    assert checksum_ok(rsdp), "RSDP extended checksum"


def built(name, sig):
    """Whether config name has table sig (the fixture checked that exactly
    those were dumped)."""
    return sig in CONFIGS[name].tables()


@pytest.mark.parametrize("sig", TABLES)
def test_disassembly_is_clean(tables, sig):
    name, d = tables
    if not built(name, sig):
        return
    dsl = (d / f"{sig}.dsl").read_text()
    bad = [line for line in dsl.splitlines() if DSL_PROBLEM.search(line)]
    assert not bad, f"{sig}.dsl ({name}) flags problems:\n" + "\n".join(bad)


@pytest.mark.parametrize("sig", TABLES)
def test_recompiles_to_same_bytes(tables, sig):
    name, d = tables
    if not built(name, sig):
        return
    out = run(["iasl", "-p", f"rt_{sig}", f"{sig}.dsl"], cwd=d)
    m = re.search(r"(\d+) Errors, (\d+) Warnings", out)
    assert m and m[1] == "0" and m[2] == "0", \
        f"iasl {sig}.dsl ({name}):\n{out}"
    ours = bytearray((d / f"{sig}.dat").read_bytes())
    theirs = bytearray((d / f"rt_{sig}.aml").read_bytes())
    assert len(theirs) == len(ours), f"{sig} ({name}) length"
    # iasl puts its own compiler id and version in the header, which
    # changes the checksum; the FACS has neither.
    if sig != "FACS":
        for t in (ours, theirs):
            t[9] = 0
            t[28:36] = bytes(8)
    diff = [i for i in range(len(ours)) if ours[i] != theirs[i]]
    assert not diff, (f"{sig} ({name}) differs from iasl's recompilation "
                      f"at offsets {[hex(i) for i in diff[:16]]}")


def test_dsdt_objects(tables):
    name, d = tables
    ncpus = CONFIGS[name].cpus
    dsl = (d / "DSDT.dsl").read_text()
    slp = LAYOUT["ACPI_S5_SLP_TYP"]
    assert re.search(r"Name \(_S5, Package \(0x04\).*\s*\{\s*"
                     rf"0x{slp:02X},\s*0x{slp:02X},\s*Zero,\s*Zero\s*\}}",
                     dsl), f"_S5 ({name})"
    for i in range(ncpus):
        assert re.search(rf"Device \(C{i:03X}\)\s*\{{\s*"
                         r'Name \(_HID, "ACPI0007".*\n\s*'
                         rf"Name \(_UID, {uid_asl(i)}\)", dsl), \
            f"processor device C{i:03X} ({name})"
    assert f"Device (C{ncpus:03X})" not in dsl


def uid_asl(i):
    return {0: "Zero", 1: "One"}.get(i, f"0x{i:02X}")


def test_dsdt_memory_hotplug(tables):
    name, d = tables
    slots = CONFIGS[name].slots
    dsl = (d / "DSDT.dsl").read_text()
    if not slots:
        assert "MHPC" not in dsl and "_GPE" not in dsl
        return
    assert re.search(r'Device \(MHPC\)\s*\{\s*'
                     r'Name \(_HID, EisaId \("PNP0A06"\).*\n\s*'
                     r'Name \(_UID, "DIMM devices"\)', dsl)
    port = f"0x{MEMHP_PORT:04X}"
    regs_len = f"0x{LAYOUT['MEMHP_REGS_LEN']:02X}"
    assert re.search(rf"IO \(Decode16,\s*{port},.*\s*{port},.*\s*0x01,.*"
                     rf"\s*{regs_len},", dsl), "MHPC _CRS"
    assert (f"OperationRegion (MHPR, SystemIO, {port}, {regs_len})"
            in dsl)
    for helper, nargs in [("MSTA", 1), ("MCRS", 1), ("MPXM", 1),
                          ("MOST", 3), ("MEJ0", 1), ("MTFY", 2),
                          ("MSCN", 0)]:
        assert re.search(rf"Method \({helper}, {nargs}, ", dsl), helper
    for i in range(slots):
        n = uid_asl(i)
        calls = "".join(rf"\s*Method \({m}, {a}, NotSerialized\).*\n"
                        rf"\s*\{{\s*{ret}{h} \({n}{more}\)\)?\s*\}}"
                        for m, a, ret, h, more in [
                            ("_STA", 0, r"Return \(", "MSTA", ""),
                            ("_CRS", 0, r"Return \(", "MCRS", ""),
                            ("_PXM", 0, r"Return \(", "MPXM", ""),
                            ("_OST", 3, "", "MOST", ", Arg0, Arg1"),
                            ("_EJ0", 1, "", "MEJ0", "")])
        assert re.search(rf"Device \(MP{i:02X}\)\s*\{{\s*"
                         r'Name \(_HID, EisaId \("PNP0C80"\).*\n\s*'
                         rf"Name \(_UID, {n}\).*" + calls, dsl), \
            f"slot device MP{i:02X} ({name})"
        # MTFY: one Notify per slot (which one it picks: test_mtfy_routing)
        assert len(re.findall(rf"Notify \(MP{i:02X}, Arg1\)", dsl)) == 1, \
            f"MTFY {i}"
    assert f"Device (MP{slots:02X})" not in dsl
    assert re.search(r"Scope \(_GPE\)\s*\{\s*"
                     rf"Method \(_E{MEMHP_GPE:02X}, 0, NotSerialized\).*\n"
                     r"\s*\{\s*\\_SB.MHPC.MSCN \(\)\s*\}", dsl), "_E03"


def subtables(dsl):
    """A data table disassembly cut at each 'Subtable Type' line."""
    return re.split(r"\n(?=\[[^]]*\]\s+Subtable Type :)", dsl)[1:]


def test_srat_entries(tables):
    name, d = tables
    m = CONFIGS[name]
    xsdt = (d / "XSDT.dsl").read_text()
    entries = re.findall(r"ACPI Table Address\s+\d+ : (\w+)", xsdt)
    if not m.has_srat():
        assert len(entries) == 2
        return
    assert len(entries) == 3
    dsl = (d / "SRAT.dsl").read_text()
    assert field(dsl, "Revision") == 3
    assert field(dsl, "Table Revision") == 1
    subs = subtables(dsl)
    cpus, mems = subs[:m.cpus], subs[m.cpus:]
    for i, sub in enumerate(cpus):
        assert "[Processor Local APIC/SAPIC Affinity]" in sub
        assert field(sub, "Proximity Domain Low(8)") == i % m.nodes
        assert field(sub, "Proximity Domain High(24)") == 0
        assert field(sub, "Apic ID") == i
        assert re.search(r"Enabled : 1$", sub, re.M)
    # Boot RAM enabled; the window enabled, hot-pluggable, on the last node.
    want = [(base, size, pxm, 1) for base, size, pxm in ram_ranges(m)]
    if m.slots:
        want.append((4 * GiB, m.slots * GiB, m.nodes - 1, 3))
    got = []
    for sub in mems:
        assert "[Memory Affinity]" in sub
        got.append((field(sub, "Base Address"), field(sub, "Address Length"),
                    field(sub, "Proximity Domain"),
                    field(sub, "Flags (decoded below)")))
        hotplug = got[-1][3] & 2
        assert re.search(rf"Hot Pluggable : {hotplug >> 1}$", sub, re.M)
    assert got == want


def field(dsl, label):
    """The value of a data-table disassembly line 'label : value'."""
    m = re.search(rf"^\[[^]]*\]\s+{re.escape(label)} : (\S+)", dsl, re.M)
    assert m, f"no '{label}' in the disassembly"
    return int(m[1], 16)


def test_fadt_fields(tables):
    _, d = tables
    dsl = (d / "FACP.dsl").read_text()
    assert field(dsl, "Revision") == 6
    assert field(dsl, "FADT Minor Revision") == 3
    assert field(dsl, "SCI Interrupt") == LAYOUT["ACPI_SCI_IRQ"]
    assert field(dsl, "SMI Command Port") == 0
    assert field(dsl, "PM1A Event Block Address") == LAYOUT["PORT_ACPI_PM1A_EVT"]
    assert field(dsl, "PM1A Control Block Address") == \
        LAYOUT["PORT_ACPI_PM1A_CNT"]
    assert field(dsl, "PM Timer Block Address") == LAYOUT["PORT_ACPI_PM_TMR"]
    assert field(dsl, "GPE0 Block Address") == LAYOUT["PORT_ACPI_GPE0"]
    assert field(dsl, "GPE0 Block Length") == LAYOUT["ACPI_GPE0_LEN"]
    assert field(dsl, "Value to cause reset") == LAYOUT["ACPI_PM_RESET_VALUE"]
    for flag, value in [("Control Method Power Button (V1)", 0),
                        ("Control Method Sleep Button (V1)", 1),
                        ("32-bit PM Timer (V1)", 1),
                        ("Reset Register Supported (V2)", 1),
                        ("Hardware Reduced (V5)", 0),
                        ("8042 Present on ports 60/64 (V2)", 0),
                        ("VGA Not Present (V4)", 1),
                        ("MSI Not Supported (V4)", 1),
                        ("CMOS RTC Not Present (V5)", 1)]:
        assert re.search(rf"{re.escape(flag)} : {value}$", dsl, re.M), flag
    reset = dsl[dsl.index("Reset Register :"):]
    assert re.search(r"Space ID : 01 \[SystemIO\]", reset)
    assert field(reset, "Address") == LAYOUT["PORT_ACPI_RESET"]


def test_madt_entries(tables):
    name, d = tables
    dsl = (d / "APIC.dsl").read_text()
    types = re.findall(r"Subtable Type : \w\w \[([^]]+)\]", dsl)
    assert types == (["Processor Local APIC"] * CONFIGS[name].cpus +
                     ["I/O APIC", "Interrupt Source Override",
                      "Interrupt Source Override", "Local APIC NMI"])
    assert field(dsl, "Local Apic Address") == LAYOUT["LAYOUT_LAPIC"]
    sci = LAYOUT["ACPI_SCI_IRQ"]
    # IRQ0 -> GSI 2 with default flags; the SCI level, active high.
    assert re.search(r"Source : 00\s+\[[^]]*\]\s+Interrupt : 00000002\s+"
                     r"\[[^]]*\]\s+Flags \(decoded below\) : 0000", dsl)
    assert re.search(rf"Source : {sci:02X}\s+\[[^]]*\]\s+Interrupt : "
                     rf"{sci:08X}\s+\[[^]]*\]\s+Flags \(decoded below\) : "
                     r"000D\s+Polarity : 1\s+Trigger Mode : 3", dsl)
    assert re.search(r"Processor ID : FF\n(?:.*\n){1,4}.*"
                     r"Interrupt Input LINT : 01", dsl)


# acpiexec runs self-tests written for its own built-in FADT; with ours,
# the ones that touch PM2_CNT (absent) and GPE 0x62 (beyond our GPE0 block)
# fail, and say so in these lines. Anything else is a real problem.
ACPIEXEC_SELFTEST = re.compile(
    r"^Unexpected AE_\w+ from (AcpiWriteBitRegister|AcpiReadBitRegister|"
    r"AcpiInstallGpeHandler|AcpiEnableGpe|AcpiDisableGpe) \(aetests-\d+\)$")


def acpiexec_problems(out):
    return [line for line in out.splitlines()
            if re.search(r"ACPI (Error|Warning|Exception)|^Unexpected", line)
            and not ACPIEXEC_SELFTEST.match(line)]


def acpiexec_tables(name):
    """The tables acpiexec loads: its own RSDP, XSDT and FACS, ours for
    the rest."""
    return [f"{sig}.dat" for sig in CONFIGS[name].tables()
            if sig not in ("XSDT", "FACS")]


def test_acpiexec(tables):
    name, d = tables
    ncpus = CONFIGS[name].cpus
    objs = ["\\_S5"] + [f"\\_SB.C{i:03X}.{o}" for i in range(ncpus)
                        for o in ("_HID", "_UID")]
    out = run(["acpiexec", "-b", ";".join(f"evaluate {o}" for o in objs),
               *acpiexec_tables(name)], cwd=d)
    bad = acpiexec_problems(out)
    assert not bad, "acpiexec reported:\n" + "\n".join(bad)
    # ACPICA read our FADT: SCI and the size of the GPE0 block.
    ngpe = LAYOUT["ACPI_GPE0_LEN"] // 2 * 8
    sci = LAYOUT["ACPI_SCI_IRQ"]
    assert (f"Initialized GPE 00 to {ngpe - 1:02X} [_GPE] {ngpe // 8} regs "
            f"on interrupt 0x{sci:X} (SCI)") in out
    results = {}
    for block in re.split(r"^Evaluating ", out, flags=re.M)[1:]:
        obj, _, rest = block.partition("\n")
        results[obj.strip()] = rest
    assert set(results) == set(objs), out
    slp = LAYOUT["ACPI_S5_SLP_TYP"]
    assert re.search(r"\[Package\] Contains 4 Elements:\s*" +
                     r"\s*".join(rf"\[Integer\] = {v:016X}"
                                 for v in (slp, slp, 0, 0)),
                     results["\\_S5"]), results["\\_S5"]
    for i in range(ncpus):
        assert '[String] Length 08 = "ACPI0007"' in \
            results[f"\\_SB.C{i:03X}._HID"]
        assert f"[Integer] = {i:016X}" in results[f"\\_SB.C{i:03X}._UID"]


# acpiexec simulates a SystemIO region as memory: a write is stored, a read
# returns the last value written there (0 before any write), and all
# regions over the same ports share that memory. This SSDT is a second view
# of the controller's block through which the test sets what the DSDT's
# methods will read: \TSET (BASE_LO, BASE_HI, SIZE_LO, SIZE_HI, PXM,
# STATUS, NEXT).
REGS_ASL = r"""DefinitionBlock ("", "SSDT", 2, "MEMPLG", "TESTREGS", 1)
{{
    OperationRegion (\TREG, SystemIO, 0x{port:04X}, 0x{regs_len:02X})
    Field (\TREG, DWordAcc, NoLock, Preserve)
    {{
        Offset (0x{BASE_LO:02X}), TBLO, 32, Offset (0x{BASE_HI:02X}), TBHI, 32,
        Offset (0x{SIZE_LO:02X}), TSLO, 32, Offset (0x{SIZE_HI:02X}), TSHI, 32,
        Offset (0x{PXM:02X}), TPXM, 32, Offset (0x{STATUS:02X}), TSTA, 32,
        Offset (0x{NEXT:02X}), TNXT, 32
    }}
    Method (\TSET, 7)
    {{
        TBLO = Arg0
        TBHI = Arg1
        TSLO = Arg2
        TSHI = Arg3
        TPXM = Arg4
        TSTA = Arg5
        TNXT = Arg6
    }}
}}
"""

# Register offsets and STATUS bits (docs/memhp.md).
REGS = {name: LAYOUT["MEMHP_REG_" + name] for name in
        ["SEL", "BASE_LO", "BASE_HI", "SIZE_LO", "SIZE_HI", "PXM",
         "OST_EVENT", "OST_STATUS", "STATUS", "NEXT"]}
ENABLED, INSERT, REMOVE, EJECT = (LAYOUT["MEMHP_STATUS_" + name] for name in
                                  ["ENABLED", "INSERT", "REMOVE", "EJECT"])
NONE = LAYOUT["MEMHP_NONE"]  # NEXT with no event pending

# With -x 0x1004 (ACPI_LV_BFIELD | ACPI_LV_INFO) acpiexec traces every
# region access of a field: an ExAccessRegion line, then ExFieldDatumIo with
# the value (which also shows for buffer fields, without an ExAccessRegion);
# and each Notify as the interpreter queues it.
ACPIEXEC_TRACE = "0x1004"
ACCESS = re.compile(r"ExAccessRegion\s*: \[(READ|WRITE)\] Region "
                    r"\[SystemIO:1\], Width (\d), .* at ([0-9A-F]+)$")
DATUM = re.compile(r"ExFieldDatumIo\s*: Value (?:Read|Written) ([0-9A-F]+), "
                   r"Width \d$")
NOTIFY = re.compile(r"EvQueueNotifyRequest\s*: Dispatching Notify on "
                    r"\[(\w+)\] \(Device\) Value 0x([0-9A-F]+)")
# acpiexec's notify handler runs in a thread of its own and prints this
# (in one piece) at any point, even inside a trace line of the interpreter,
# which prints each of those in several pieces. Cut out, it leaves those
# lines whole.
NOTIFY_HANDLER = re.compile(r"ACPI Exec: Global:\s+Received a System Notify "
                            r"on \[\w+\] \S+ Value 0x[0-9A-F]+ \([^)]*\)\n")


class Section(NamedTuple):
    """What one acpiexec batch command printed and did."""
    text: str
    io: list        # ("R" or "W", width, port offset, value)
    notifies: list  # (device, value)


def port_io(text):
    """(R or W, width, offset in the block, value) of each port access."""
    io, pending = [], None
    for line in text.splitlines():
        if m := ACCESS.search(line):
            assert pending is None, line
            pending = (m[1][0], int(m[2]), int(m[3], 16) - MEMHP_PORT)
        elif (m := DATUM.search(line)) and pending:
            io.append(pending + (int(m[1], 16),))
            pending = None
    assert pending is None, text
    return io


def memhp_acpiexec(d, name, commands):
    r"""Run commands in one acpiexec batch over config name's tables and the
    REGS_ASL stand-in; one Section per command. "regs A B ..." stands for
    evaluate \TSET A B ...; its section is dropped."""
    (d / "regs.asl").write_text(REGS_ASL.format(
        port=MEMHP_PORT, regs_len=LAYOUT["MEMHP_REGS_LEN"], **REGS))
    run(["iasl", "-p", "regs", "regs.asl"], cwd=d)
    batch = [re.sub(r"^regs ", r"evaluate \\TSET ", c) for c in commands]
    # -to: should the scan loop forever after all, ACPICA aborts it (an
    # ACPI Error, so a failure) long before the subprocess timeout.
    out = run(["acpiexec", "-x", ACPIEXEC_TRACE, "-to", "1",
               "-b", ";".join(batch), *acpiexec_tables(name), "regs.aml"],
              cwd=d, timeout=60)
    bad = acpiexec_problems(out)
    assert not bad, "acpiexec reported:\n" + "\n".join(bad)
    out = NOTIFY_HANDLER.sub("", out)
    # Each command starts "Evaluating \PATH" (evaluate) or "Device: \PATH"
    # (resources, which then prints "Evaluating _CRS" of its own).
    parts = re.split(r"^(?:Evaluating|Device:) (?=\\)", out, flags=re.M)[1:]
    assert len(parts) == len(commands), out
    sections = []
    for cmd, text in zip(commands, parts):
        obj = cmd.split()[1] if not cmd.startswith("regs") else "\\TSET"
        assert text.startswith(obj), (cmd, text[:200])
        io = port_io(text)
        notifies = [(dev, int(v, 16)) for dev, v in NOTIFY.findall(text)]
        if not cmd.startswith("regs"):
            sections.append(Section(text, io, notifies))
    return sections


def integer_result(text):
    m = re.search(r"\[Integer\] = ([0-9A-F]{16})", text)
    assert m, text
    return int(m[1], 16)


def resource(text, label):
    m = re.search(rf"^\s*{re.escape(label)} : (.+?)\s*$", text, re.M)
    assert m, f"no {label} in:\n{text}"
    return m[1]


def test_mtfy_routing(tables):
    """MTFY notifies the device of the slot number it is given, and only
    it, for every slot; it halves the slot range instead of comparing the
    number with each slot, and does no port I/O."""
    name, d = tables
    m = CONFIGS[name]
    if not m.slots:
        return
    runs = memhp_acpiexec(d, name, [
        rf"evaluate \_SB.MHPC.MTFY {k} {code}"
        for k in range(m.slots) for code in (1, 3)])
    want = [(f"MP{k:02X}", code) for k in range(m.slots) for code in (1, 3)]
    assert [r.notifies for r in runs] == [[w] for w in want]
    assert all(r.io == [] for r in runs)
    mtfy = re.search(r"Method \(MTFY, 2, NotSerialized\)\s*\{(.*?)\n"
                     r"            \}", (d / "DSDT.dsl").read_text(), re.S)
    assert mtfy and "==" not in mtfy.group(1)
    assert mtfy.group(1).count("If ((Arg0 < ") == m.slots - 1


def test_memhp_acpiexec(tables):
    name, d = tables
    m = CONFIGS[name]
    if not m.slots:
        return
    k = m.slots - 1  # the last slot
    dev = rf"\_SB.MHPC.MP{k:02X}"
    pxm = m.nodes - 1
    base_hi, size = 0x1, 0x40000000
    bound = 2 * m.slots  # MSCN handles at most two events per slot
    scan = rf"evaluate \_GPE._E{MEMHP_GPE:02X}"
    (zero_sta, zero_scan,
     sta, res, crs, pxm_, idle_scan, ost, ej0,
     insert_scan, remove_scan, bad_next_scan) = memhp_acpiexec(d, name, [
        # acpiexec's registers start zeroed
        r"evaluate \_SB.MHPC.MP00._STA",
        scan,
        # a DIMM in slot k, nothing pending
        f"regs 0 {base_hi:#x} {size:#x} 0 {pxm} {ENABLED} {NONE:#x}",
        f"evaluate {dev}._STA",
        f"resources {dev}",
        f"evaluate {dev}._CRS",
        f"evaluate {dev}._PXM",
        scan,
        f"evaluate {dev}._OST 0x3 0x84 (00)",
        f"evaluate {dev}._EJ0 1",
        # events pending on slot k; the simulation never clears them
        f"regs 0 0 0 0 0 {ENABLED | INSERT} {k}",
        scan,
        f"regs 0 0 0 0 0 {ENABLED | REMOVE} {k}",
        scan,
        # NEXT not a slot number
        f"regs 0 0 0 0 0 {ENABLED | INSERT} {m.slots}",
        scan,
    ])
    SEL, BASE_LO, BASE_HI, SIZE_LO, SIZE_HI, PXM = (
        REGS[r] for r in ["SEL", "BASE_LO", "BASE_HI", "SIZE_LO", "SIZE_HI",
                          "PXM"])
    OST_EVENT, OST_STATUS, STATUS, NEXT = (
        REGS[r] for r in ["OST_EVENT", "OST_STATUS", "STATUS", "NEXT"])

    # Every slot method selects its slot first.
    assert integer_result(zero_sta.text) == 0
    assert zero_sta.io == [("W", 4, SEL, 0), ("R", 1, STATUS, 0)]
    assert integer_result(sta.text) == 0x0F
    assert sta.io == [("W", 4, SEL, k), ("R", 1, STATUS, ENABLED)]
    assert integer_result(pxm_.text) == pxm
    assert pxm_.io == [("W", 4, SEL, k), ("R", 4, PXM, pxm)]

    # _CRS goes through ACPICA's resource conversion, as Linux's
    # acpi_walk_resources does. SEL and BASE_LO share offset 0, so in the
    # simulation BASE_LO reads back the slot number.
    base = base_hi << 32 | k
    assert resource(res.text, "Resource Type") == "Memory Range"
    assert resource(res.text, "Consumer/Producer") == "ResourceConsumer"
    assert int(resource(res.text, "Address Minimum"), 16) == base
    assert int(resource(res.text, "Address Maximum"), 16) == base + size - 1
    assert int(resource(res.text, "Address Length"), 16) == size
    assert "[01] EndTag Resource" in res.text
    assert "[02]" not in res.text
    assert re.search(r"\[Buffer\] Length 30 =", crs.text)  # 46 + EndTag
    assert crs.io == [("W", 4, SEL, k), ("R", 4, BASE_HI, base_hi),
                      ("R", 4, BASE_LO, k), ("R", 4, SIZE_HI, 0),
                      ("R", 4, SIZE_LO, size)]

    # _OST: the event, then the status write that records the pair.
    assert ost.io == [("W", 4, SEL, k), ("W", 4, OST_EVENT, 3),
                      ("W", 4, OST_STATUS, 0x84)]
    # _EJ0 writes EJECT alone: the other status bits as 0.
    assert ej0.io == [("W", 4, SEL, k), ("W", 1, STATUS, EJECT)]

    # Nothing pending: one read of NEXT.
    assert idle_scan.io == [("R", 4, NEXT, NONE)]
    assert idle_scan.notifies == []
    # NEXT past the last slot ends the scan as 0xFFFFFFFF does.
    assert bad_next_scan.io == [("R", 4, NEXT, m.slots)]
    assert bad_next_scan.notifies == []

    # An insert: Device Check, then INSERT alone written to clear it, then
    # NEXT again. The simulation keeps INSERT set and NEXT at k, as a
    # controller that failed to clear would: the scan still ends, after
    # 2 * slots events.
    def without_values(io):
        return [(rw, w, port) for rw, w, port, _ in io]

    assert insert_scan.notifies == [(f"MP{k:02X}", 1)] * bound
    assert without_values(insert_scan.io) == [("R", 4, NEXT)] + [
        ("R", 1, STATUS), ("W", 1, STATUS), ("R", 4, NEXT)] * bound
    assert {v for rw, _, port, v in insert_scan.io if rw == "W"} == {INSERT}
    # A remove: INSERT is checked first, then Eject Request and REMOVE.
    assert remove_scan.notifies == [(f"MP{k:02X}", 3)] * bound
    assert without_values(remove_scan.io) == [("R", 4, NEXT)] + [
        ("R", 1, STATUS), ("R", 1, STATUS), ("W", 1, STATUS),
        ("R", 4, NEXT)] * bound
    assert {v for rw, _, port, v in remove_scan.io if rw == "W"} == {REMOVE}

    # Zeroed registers: NEXT reads 0, a valid slot, with no event bit set.
    # The scan notifies nothing and ends at the same bound: this is why
    # evaluating _E03 against acpiexec's simulation terminates.
    assert zero_scan.notifies == []
    assert zero_scan.io == [("R", 4, NEXT, 0)] + [
        ("R", 1, STATUS, 0), ("R", 1, STATUS, 0), ("R", 4, NEXT, 0)] * bound


@pytest.mark.parametrize("sig", TABLES)
def test_golden_disassembly(tables, sig):
    name, d = tables
    golden = EXPECTED / name / f"{sig}.dsl"
    if not built(name, sig):
        assert not golden.exists(), f"{golden} is left over"
        return
    got = normalize((d / f"{sig}.dsl").read_text())
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text("\n".join(got) + "\n")
        return
    if not golden.exists():
        pytest.fail(f"no golden file {golden.relative_to(ROOT)}: "
                    "see tests/acpi/README.md to create it")
    want = normalize(golden.read_text())
    if got != want:
        diff = "\n".join(difflib.unified_diff(
            want, got, f"{golden.relative_to(ROOT)} (expected)",
            f"{d / sig}.dsl (built now)", lineterm=""))
        pytest.fail(f"{sig} ({name}) differs from its golden disassembly; "
                    "if the change is intended, regenerate as "
                    f"tests/acpi/README.md says.\n{diff}")


def aml_snippets():
    """(name, ASL, expected bytes) for each array in tests/test_aml.c that
    follows a comment starting with 'ASL:'."""
    text = (ROOT / "tests" / "test_aml.c").read_text()
    snippets = []
    for m in re.finditer(r"/\* ASL:\n(.*?)\*/\n"
                         r"static const uint8_t (\w+)\[\] = \{([^}]*)\};",
                         text, re.S):
        asl = "\n".join(re.sub(r"^ \* ?", "", line)
                        for line in m[1].splitlines())
        data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})",
                                                     m[3]))
        snippets.append(pytest.param(asl, data, id=m[2]))
    return snippets


@pytest.mark.parametrize("asl,expected", aml_snippets())
def test_aml_expectation_matches_iasl(tmp_path, asl, expected):
    src = tmp_path / "t.asl"
    src.write_text('DefinitionBlock ("", "DSDT", 2, "MEMPLG", "TEST", 1)\n'
                   "{\n" + asl + "\n}\n")
    run(["iasl", "-p", "t", "t.asl"], cwd=tmp_path)
    got = (tmp_path / "t.aml").read_bytes()[36:]
    assert got == expected, (f"iasl: {got.hex(' ')}\n"
                             f"test: {expected.hex(' ')}")


def test_aml_snippets_found():
    assert len(aml_snippets()) >= 20
