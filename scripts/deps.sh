#!/bin/sh
# Install the Debian 12 packages memplug needs to build and test, and only
# those that are missing. Called by `make deps` (as root, no stdin, also in
# CI). Quiet when everything is there.
set -eu

PACKAGES="
gcc make libc6-dev
libjansson-dev libseccomp-dev
liblzma-dev libzstd-dev zlib1g-dev liblz4-dev
acpica-tools
linux-source-6.1
flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
patch lz4
python3 python3-pytest
qemu-system-x86 busybox-static
clang libclang-rt-14-dev llvm-14
gnuplot-nox
"
# What each is for:
#   gcc make libc6-dev        the VMM and unit tests
#   libjansson-dev            QMP (JSON) parsing in the VMM
#   libseccomp-dev            the VMM's system call filter (--sandbox)
#   liblzma-dev libzstd-dev zlib1g-dev liblz4-dev
#                             unpacking a bzImage's xz, zstd, gzip or lz4
#                             payload on the host (--kernel-unpack)
#   acpica-tools              iasl/acpiexec: unit tests of the generated ACPI tables
#   linux-source-6.1          the test guest kernel (scripts/build-guest.sh)
#   flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
#                             what a kernel build runs (xz unpacks the source)
#   patch                     applies guest-tests/kernel/patches (not in
#                             every minimal Debian image)
#   lz4                       the guest's bzImage is LZ4-compressed (fastest
#                             decompressor when it runs under an emulator)
#   python3 python3-pytest    the test harness
#   qemu-system-x86 busybox-static
#                             scripts/kvm-run: the L1 VM (QEMU-TCG, -cpu max)
#                             that gives guest tests a real kvm-amd, and its
#                             initramfs; also the benchmarks' QEMU
#   clang libclang-rt-14-dev  the sanitizer lane of make check (ThreadSanitizer
#                             builds of memplug, scripts/check) and the
#                             libFuzzer targets (tests/fuzz/)
#   llvm-14                   llvm-cov/llvm-profdata: the fuzzers' coverage
#   gnuplot-nox               the benchmark plots (bench/report.py)

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'make deps' as root (or: apt-get install$missing)" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing </dev/null

still=""
for p in $missing; do
	installed "$p" || still="$still $p"
done
if [ -n "$still" ]; then
	echo "deps: still missing after apt-get:$still" >&2
	exit 1
fi
echo "deps: done"
