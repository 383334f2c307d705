"""memplug's command line and its VM life cycle, with tiny flat guests
(tests/guests/*.S) that take milliseconds instead of a Linux boot."""
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from memplug_vm import GUESTS, MEMPLUG, Memplug, is_pvm, require_kvm, run

HELLO = str(GUESTS / "hello.elf")


def test_help_lists_the_options():
    status, out, err = run(["--help"])
    assert status == 0 and err == ""
    for opt in ("--kernel", "--kernel-unpack", "--initrd", "--cmdline",
                "--cpus", "--memory",
                "slots=N,maxmem=SIZE", "--cpuid-mask", "MEMPLUG_KVM_DEVICE"):
        assert opt in out


def test_version():
    status, out, _ = run(["--version"])
    assert status == 0 and out.startswith("memplug ")


@pytest.mark.parametrize("args,message", [
    ([], "--kernel PATH is required"),
    (["--kernel", HELLO, "--frob"], "unknown option --frob"),
    (["--kernel", HELLO, "--cpus", "0"], "--cpus 0: need a whole number of at least 1"),
    (["--kernel", HELLO, "--memory", "lots"], "\"lots\" is not a size"),
    (["--kernel", HELLO, "--memory", "16M"], "memory size 16M is below the minimum of 32M"),
    (["--kernel", HELLO, "--memory", "64M,slots=2,maxmem=1G+"], "is not a size"),
    (["--kernel", HELLO, "--memory", "10T"], "memory size 10T is more than this host's"),
    (["--kernel", HELLO, "--kernel-unpack", "maybe"], "--kernel-unpack maybe: expected on or off"),
], ids=["no-kernel", "unknown-option", "cpus-0", "memory-unparsable",
        "memory-too-small", "maxmem-unparsable", "memory-above-host",
        "kernel-unpack-value"])
def test_bad_configuration_is_refused(args, message):
    status, out, err = run(args)
    assert status == 1, err
    assert message in err
    assert err.startswith("memplug: ")
    assert out == ""


def test_cpus_above_kvm_limit():
    require_kvm()
    status, _, err = run(["--kernel", HELLO, "--cpus", "4096"])
    assert status == 1
    assert "--cpus 4096 is above the limit of" in err


def test_missing_kernel_file():
    require_kvm()
    status, _, err = run(["--kernel", "/nonexistent/vmlinux"])
    assert status == 1
    assert "kernel /nonexistent/vmlinux cannot be opened: No such file" in err


def fake_bzimage(path, payload, unpacked_len):
    """A bzImage as the kernel's build lays it out around a compressed
    payload (the uncompressed size behind it), with no real setup code."""
    setup_sects, off = 4, 0x100
    img = bytearray((setup_sects + 1) * 512 + off)
    img[0x1f1] = setup_sects
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = (0x020f).to_bytes(2, "little")
    img[0x248:0x24c] = off.to_bytes(4, "little")
    img[0x24c:0x250] = (len(payload) + 4).to_bytes(4, "little")
    path.write_bytes(bytes(img) + payload + unpacked_len.to_bytes(4, "little"))
    return str(path)


def test_console_input_arrives_whole():
    """3.8 KB piped into the console at once reach the guest whole and in
    order, though the UART's FIFO holds 64 bytes: memplug keeps the rest
    and feeds it as the guest reads (it used to drop it, and this guest
    then waited forever for its '.'). The echo guest copies its input to
    its output until the '.'."""
    require_kvm()
    data = "".join(f"line {i:04d} of the console's input path\n"
                   for i in range(100)) + "."
    p = subprocess.run([str(MEMPLUG), "--kernel", str(GUESTS / "echo.elf"),
                        "--memory", "64M"], input=data.encode(),
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert p.stdout.decode() == data


@pytest.mark.parametrize("fmt", ["gzip", "xz"])
def test_bzimage_is_unpacked_on_the_host_and_cached(tmp_path, fmt):
    """The flat hello guest as the vmlinux inside a bzImage: unpacked,
    cached by the image's hash, found in the cache by the next run."""
    import gzip
    import hashlib
    import lzma

    require_kvm()
    elf = (GUESTS / "hello.elf").read_bytes()
    payload = gzip.compress(elf) if fmt == "gzip" else \
        lzma.compress(elf, check=lzma.CHECK_CRC32)
    image = fake_bzimage(tmp_path / "bzImage", payload, len(elf))
    env = {"MEMPLUG_CACHE": str(tmp_path / "cache")}
    status, out, err = run(["--kernel", image], env=env)
    assert (status, out) == (0, "hello\n"), err
    assert f"kernel {image}: booting the vmlinux inside it, unpacked on " \
        f"the host ({fmt} payload, cached now)" in err
    cached = list((tmp_path / "cache" / "kernels").glob("*.elf"))
    assert [p.read_bytes() == elf for p in cached] == [True]
    # Named by the image's SHA-256 (libcrypto, opened only for this).
    with open(image, "rb") as f:
        assert cached[0].stem == hashlib.sha256(f.read()).hexdigest()
    status, out, err = run(["--kernel", image], env=env)
    assert (status, out) == (0, "hello\n"), err
    assert f"({fmt} payload, from the cache)" in err


def test_bzimage_unpacked_into_memory_where_the_cache_cannot_be_written(
        tmp_path):
    import gzip

    require_kvm()
    elf = (GUESTS / "hello.elf").read_bytes()
    image = fake_bzimage(tmp_path / "bzImage", gzip.compress(elf), len(elf))
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be\n")
    status, out, err = run(["--kernel", image, "-v"],
                           env={"MEMPLUG_CACHE": str(blocker)})
    assert (status, out) == (0, "hello\n"), err
    assert "(gzip payload, not cached)" in err
    assert "kept in memory for this run" in err
    assert blocker.read_text().startswith("a file")


def test_corrupt_bzimage_payload_is_refused(tmp_path):
    import gzip

    require_kvm()
    elf = (GUESTS / "hello.elf").read_bytes()
    payload = bytearray(gzip.compress(elf))
    payload[len(payload) // 2] ^= 0xff
    image = fake_bzimage(tmp_path / "bzImage", bytes(payload), len(elf))
    status, out, err = run(["--kernel", image],
                           env={"MEMPLUG_CACHE": str(tmp_path / "cache")})
    assert status == 1 and out == ""
    assert f"kernel {image} has a gzip payload that does not unpack to an " \
        f"ELF kernel of the {len(elf)} bytes it names (--kernel-unpack " \
        "off leaves it to the kernel's own decompressor)" in err
    assert not (tmp_path / "cache" / "kernels").exists() or \
        not list((tmp_path / "cache" / "kernels").iterdir())


def test_kernel_that_is_a_directory():
    require_kvm()
    status, _, err = run(["--kernel", "/tmp"])
    assert status == 1
    assert "kernel /tmp is not a regular file" in err


def test_kernel_that_is_no_kernel(tmp_path):
    require_kvm()
    junk = tmp_path / "junk"
    junk.write_bytes(b"this is not a kernel\n" * 200)
    status, _, err = run(["--kernel", str(junk)])
    assert status == 1
    assert "is neither an ELF vmlinux nor a bzImage" in err


def test_unreadable_kernel():
    """As root every file is readable, so run memplug as nobody, with a
    KVM device node of its own that nobody may open."""
    require_kvm()
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run memplug as another user")
    d = tempfile.mkdtemp(prefix="mp-perm-")
    try:
        os.chmod(d, 0o755)
        kvm = os.path.join(d, "kvm")
        st = os.stat("/dev/kvm")
        os.mknod(kvm, 0o666 | stat.S_IFCHR, st.st_rdev)
        os.chmod(kvm, 0o666)
        k = os.path.join(d, "vmlinux")
        shutil.copy(HELLO, k)
        os.chmod(k, 0o000)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", str(MEMPLUG), "--kernel", k],
                           capture_output=True, text=True, timeout=60,
                           env={"MEMPLUG_KVM_DEVICE": kvm})
        assert p.returncode == 1
        assert f"kernel {k} cannot be opened: Permission denied" in p.stderr
        # And the KVM device itself, when nobody may not open it.
        os.chmod(kvm, 0o600)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", str(MEMPLUG), "--kernel", k],
                           capture_output=True, text=True, timeout=60,
                           env={"MEMPLUG_KVM_DEVICE": kvm})
        assert p.returncode == 1
        assert f"no permission to open {kvm}" in p.stderr
    finally:
        shutil.rmtree(d)


def test_initrd_too_large_for_memory(tmp_path):
    require_kvm()
    big = tmp_path / "initrd"
    with open(big, "wb") as f:
        f.truncate(40 << 20)
    status, _, err = run(["--kernel", HELLO, "--memory", "32M", "--initrd",
                          str(big)])
    assert status == 1
    assert f"initrd {big} is {40 << 20} bytes and does not fit" in err
    assert "give the guest more memory" in err


def test_kvm_device_missing():
    status, _, err = run(["--kernel", HELLO],
                         env={"MEMPLUG_KVM_DEVICE": "/nonexistent/kvm"})
    assert status == 1
    assert "/nonexistent/kvm does not exist: this host has no KVM" in err


def test_kvm_device_not_kvm():
    status, _, err = run(["--kernel", HELLO],
                         env={"MEMPLUG_KVM_DEVICE": "/dev/null"})
    assert status == 1
    assert "/dev/null is not a KVM device" in err


def test_guest_prints_and_powers_off():
    require_kvm()
    status, out, err = run(["--kernel", HELLO, "--memory", "64M"])
    assert (status, out) == (0, "hello\n"), err


def test_two_vcpus_start_and_power_off():
    require_kvm()
    status, out, err = run(["--kernel", HELLO, "--cpus", "2"])
    assert (status, out) == (0, "hello\n"), err


def test_port_io_storm_and_exit():
    require_kvm()
    status, out, err = run(["--kernel", str(GUESTS / "pio.elf")])
    assert (status, out) == (0, "SP\n"), err


@pytest.mark.parametrize("guest,marker,path", [
    ("reset.elf", "boot", "the ACPI reset register"),
    ("kbdreset.elf", "kbd", "the keyboard controller")])
def test_reset_restarts_the_guest(guest, marker, path):
    require_kvm()
    with Memplug(["--kernel", str(GUESTS / guest), "-v"],
                 f"reset-{marker}") as vm:
        i = 0
        for _ in range(3):
            i = vm.console.wait_for(f"^{marker}$", 60, i)
            assert i is not None, vm.stderr.text()
            i += 1
        assert vm.proc.poll() is None
        assert vm.stop() == 0
    assert "restarting the guest" in vm.stderr.text()
    assert f"guest reset through {path}" in vm.stderr.text()


def test_internal_error_is_reported():
    require_kvm()
    if not is_pvm():
        pytest.skip("int3 at CPL 0 is an emulation failure only on the PVM "
                    "software KVM; hardware KVM delivers it")
    status, out, err = run(["--kernel", str(GUESTS / "int3.elf")])
    assert status == 1
    assert out == "i\n"
    assert "KVM internal error, exit reason 17, suberror 1 (emulation " \
           "failure) at RIP 0x10000e, code cc" in err


def test_sigterm_stops_a_running_guest():
    require_kvm()
    with Memplug(["--kernel", str(GUESTS / "reset.elf")], "sigterm") as vm:
        assert vm.console.wait_for("^boot$", 60) is not None
        assert vm.stop() == 0


@pytest.mark.parametrize("args,message", [
    (["--dimm", "id=a"], "--dimm id=a: id= and size= are required"),
    (["--dimm", "id=a,size=100M"],
     "DIMM size 100M is not a multiple of the 128M block size"),
    (["--dimm", "id=a,size=128M,colour=red"], "cannot parse \"colour\""),
    (["--dimm", "id=a,size=128M,node=3"], "node 3 does not exist"),
    (["--dimm", "id=a,size=2G"], "is larger than the 768M left"),
    (["--numa", "nodes=3"], "--numa nodes=3 needs at least 384M of memory"),
    (["--numa", "nodes=x"], "--numa nodes=x: expected nodes=N"),
    (["--control", "/etc/hostname"], "the path exists and is not a socket"),
], ids=["dimm-no-size", "dimm-odd-size", "dimm-unknown-key", "dimm-bad-node",
        "dimm-too-big", "numa-too-many", "numa-garbage", "control-not-socket"])
def test_hotplug_configuration_is_checked(args, message):
    require_kvm()
    status, out, err = run(["--kernel", HELLO, "--memory",
                            "256M,slots=2,maxmem=1G"] + args)
    assert status == 1
    assert message in err, err


def test_dimm_is_parsed_before_kvm_is_opened():
    """All of argv is parsed before the KVM device is opened, so a --dimm
    that cannot be parsed gets its own answer on every host."""
    status, out, err = run(["--kernel", HELLO, "--memory",
                            "256M,slots=2,maxmem=1G", "--dimm",
                            "id=a,size=128M,colour=red"],
                           env={"MEMPLUG_KVM_DEVICE": "/nonexistent/kvm"})
    assert status == 1
    assert ('memplug: --dimm id=a,size=128M,colour=red: cannot parse '
            '"colour"') in err
    assert "/nonexistent/kvm" not in err


def test_dimm_node_is_a_number():
    """node= takes a node number; a size such as 0K is refused, not read
    as node 0."""
    status, out, err = run(["--kernel", HELLO, "--memory",
                            "256M,slots=2,maxmem=1G", "--numa", "nodes=2",
                            "--dimm", "id=a,size=128M,node=0K"],
                           env={"MEMPLUG_KVM_DEVICE": "/nonexistent/kvm"})
    assert (status, out) == (1, "")
    assert err == ("memplug: --dimm id=a,size=128M,node=0K: node is a "
                   "number (0 to 1)\n")


def test_coldplugged_dimm_with_flat_guest():
    require_kvm()
    status, out, err = run(["--kernel", HELLO, "--memory",
                            "256M,slots=2,maxmem=1G", "--dimm",
                            "id=c0,size=128M,backend=memfd,prealloc=on"])
    assert (status, out) == (0, "hello\n"), err


def test_debug_io_logs_unclaimed_ports():
    require_kvm()
    status, out, err = run(["--kernel", str(GUESTS / "pio.elf"),
                            "--debug-io"])
    assert status == 0
    assert err.count("pio bus: unclaimed write of 1 bytes at 0x510") == 10000
    status, out, err = run(["--kernel", str(GUESTS / "pio.elf")])
    assert "unclaimed" not in err


def test_dump_acpi_writes_the_tables_and_exits(tmp_path):
    """No guest starts (the kernel is not even read); the tables are the
    ones this configuration would give; an unwritable DIR is named."""
    status, out, err = run(["--kernel", "/nonexistent", "--memory",
                            "512M,slots=2,maxmem=1G", "--numa", "nodes=2",
                            "--dump-acpi", str(tmp_path)])
    assert (status, out) == (0, ""), err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["APIC.dat", "DSDT.dat", "FACP.dat", "FACS.dat",
                     "RSDP.dat", "SRAT.dat", "XSDT.dat"]
    assert (tmp_path / "DSDT.dat").read_bytes()[:4] == b"DSDT"
    status, _, err = run(["--kernel", "/nonexistent", "--dump-acpi",
                          "/nonexistent/dir"])
    assert status == 1
    assert "--dump-acpi: cannot write /nonexistent/dir/RSDP.dat: No such " \
        "file or directory" in err
