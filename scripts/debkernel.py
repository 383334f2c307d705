"""Debian's stock kernel: the package linux-image-amd64 depends on, fetched
with apt-get download and unpacked with dpkg -x (never installed), and the
insmod order of some of its modules. One owner for scripts/kvm-run (the L1
kernel) and scripts/build-userspace-guest (the stock-kernel test guest)."""
import os
import pathlib
import shutil
import subprocess

META_PACKAGE = "linux-image-amd64"


class Error(Exception):
    """A failure the message explains, with what to do."""


def run_quiet(cmd, what, **kw):
    """Runs a helper command; its output only appears when it fails."""
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Error(f"{what} failed (exit {p.returncode}): "
                    f"{' '.join(cmd)}\n{p.stdout}{p.stderr}".rstrip())
    return p.stdout


def kernel_package():
    """(name, version) of the kernel package linux-image-amd64 depends on,
    from the local apt lists (no network)."""
    try:
        deps = run_quiet(["apt-cache", "depends", META_PACKAGE], "apt-cache")
    except (Error, FileNotFoundError) as e:
        raise Error(f"cannot find which kernel {META_PACKAGE} depends on "
                    f"({e}); run 'apt-get update' first")
    names = [line.split()[1] for line in deps.splitlines()
             if line.strip().startswith("Depends: linux-image-")]
    if not names:
        raise Error(f"{META_PACKAGE} depends on no linux-image-* package "
                    "in the apt lists; run 'apt-get update' first")
    show = run_quiet(["apt-cache", "show", "--no-all-versions", names[0]],
                     "apt-cache show")
    for line in show.splitlines():
        if line.startswith("Version: "):
            return names[0], line.split(None, 1)[1]
    raise Error(f"apt-cache show {names[0]} gives no version")


def busybox():
    """The static busybox both initramfs images are built around."""
    status = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", "busybox-static"],
        capture_output=True, text=True).stdout
    if not status.startswith("install ok installed"):
        raise Error("busybox-static is not installed (the initramfs needs a "
                    "static busybox): apt-get install busybox-static")
    return pathlib.Path("/bin/busybox"), status.split()[-1]


class Unpacked:
    """The package downloaded and unpacked into tmp (a directory the caller
    removes): .root the files, .kver the kernel release, .vmlinuz."""

    def __init__(self, tmp, name, version, say):
        tmp = pathlib.Path(tmp)
        dl = tmp / "deb"
        dl.mkdir()
        os.chmod(dl, 0o777)  # apt's _apt sandbox user writes here
        say(f"  apt-get download {name}={version}")
        run_quiet(["apt-get", "download", "-q", f"{name}={version}"],
                  "apt-get download", cwd=dl)
        debs = list(dl.glob("*.deb"))
        if len(debs) != 1:
            raise Error(f"apt-get download left {len(debs)} .deb files in {dl}")
        self.root = tmp / "x"
        say("  dpkg -x (unpacking, not installing)")
        run_quiet(["dpkg", "-x", str(debs[0]), str(self.root)], "dpkg -x")
        kvers = [p.name for p in (self.root / "lib" / "modules").iterdir()]
        if len(kvers) != 1:
            raise Error(f"{debs[0].name} holds {len(kvers)} module trees")
        self.kver = kvers[0]
        self.vmlinuz = self.root / "boot" / f"vmlinuz-{self.kver}"
        if not self.vmlinuz.exists():
            raise Error(f"{debs[0].name} has no boot/vmlinuz-{self.kver}")
        run_quiet(["depmod", "-b", str(self.root), self.kver], "depmod")

    def insmod_order(self, modules):
        """The .ko files modules and their dependencies need, in the order
        insmod must load them (modprobe --show-depends on modules.dep)."""
        order = []
        for mod in modules:
            out = run_quiet(["modprobe", "-d", str(self.root), "-S", self.kver,
                             "--show-depends", mod], f"modprobe {mod}")
            for line in out.splitlines():
                words = line.split()
                if words[:1] == ["insmod"] and words[1] not in order:
                    order.append(words[1])
        return order

    def copy_modules(self, modules, dest):
        """Copies modules (with their dependencies) into dest; returns the
        file names in insmod order."""
        names = []
        for path in self.insmod_order(modules):
            base = os.path.basename(path)
            shutil.copy2(path, dest / base)
            names.append(base)
        return names


def write_cpio(src, out):
    """A newc cpio of everything under src, owned by root."""
    files = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                       input="\n".join(files).encode(), stdout=f, cwd=src,
                       check=True)
