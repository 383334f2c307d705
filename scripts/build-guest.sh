#!/bin/bash
# Build the memplug test guest kernel (called by `make guest`).
#
# Outputs, in build/guest/:
#   vmlinux    uncompressed ELF with the PVH note (QEMU -kernel, memplug)
#   bzImage    the same kernel in the x86 boot-protocol format (LZ4)
#   config     its .config
#   manifest   cache key, linux-source version, compiler, build time
#
# Source: Debian's linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz),
# + guest-tests/kernel/patches/*.patch (in order, patch -p1),
# + guest-tests/agent/memplug_agent.{c,h} copied into the tree,
# configured as `make tinyconfig` + guest-tests/kernel/config.fragment.
#
# Cache: the outputs are kept in $CACHE_ROOT/<key>/, outside the checkout
# (so `make clean` and fresh CI checkouts on the same machine reuse them).
# The key is a sha256 over the config fragment, every patch, the agent
# sources, this script and the installed linux-source-6.1 version. A hit
# only copies files. CACHE_ROOT is $MEMPLUG_GUEST_CACHE if set, else
# /var/cache/memplug/guest if writable, else ~/.cache/memplug/guest.
#
# Environment:
#   MEMPLUG_GUEST_CACHE   cache root (see above)
#   MEMPLUG_GUEST_REBUILD=1  ignore (and replace) a cached entry
#   MEMPLUG_GUEST_KEEP_SRC=1 keep the kernel tree in build/guest-src/
#                         after a successful build (for hacking on it)
#   JOBS                  parallel make jobs (default: nproc)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/build-guest.sh"
KDIR="$ROOT/guest-tests/kernel"
ADIR="$ROOT/guest-tests/agent"
FRAGMENT="$KDIR/config.fragment"
OUT="$ROOT/build/guest"
SCRATCH="$ROOT/build/guest-src"
PKG=linux-source-6.1
TARBALL=/usr/src/linux-source-6.1.tar.xz
JOBS=${JOBS:-$(nproc)}

# Agent files: repository path -> path in the kernel tree.
AGENT_FILES=(
	"memplug_agent.c:drivers/misc/memplug_agent.c"
	"memplug_agent.h:include/linux/memplug_agent.h"
)
OUTPUTS=(vmlinux bzImage config manifest)

say() { echo "guest: $*"; }
die() { echo "guest: ERROR: $*" >&2; exit 1; }

# --- inputs and cache key ---------------------------------------------------
pkg_version=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
[ -n "$pkg_version" ] || die "$PKG is not installed (run 'make deps' as root)"
[ -r "$TARBALL" ] || die "$TARBALL missing (reinstall $PKG)"
[ -r "$FRAGMENT" ] || die "$FRAGMENT missing"

shopt -s nullglob
PATCHES=("$KDIR"/patches/*.patch)
shopt -u nullglob

key_inputs=("$FRAGMENT" "$SELF")
key_inputs+=("${PATCHES[@]}")
for m in "${AGENT_FILES[@]}"; do
	key_inputs+=("$ADIR/${m%%:*}")
done
for f in "${key_inputs[@]}"; do
	[ -r "$f" ] || die "input file $f missing"
done

# One line per input (sha256 + path relative to the repository), then the
# package version: renaming or reordering patches changes the key too.
KEY=$(
	cd "$ROOT"
	for f in "${key_inputs[@]}"; do
		sha256sum "${f#"$ROOT"/}"
	done
	echo "$PKG $pkg_version"
)
KEY=$(printf '%s\n' "$KEY" | sha256sum | cut -c1-64)

pick_cache_root() {
	local d
	for d in "${MEMPLUG_GUEST_CACHE:-}" /var/cache/memplug/guest \
		 "${HOME:-/nonexistent}/.cache/memplug/guest"; do
		[ -n "$d" ] || continue
		if mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; then
			echo "$d"
			return 0
		fi
		[ -n "${MEMPLUG_GUEST_CACHE:-}" ] && [ "$d" = "$MEMPLUG_GUEST_CACHE" ] &&
			die "cache root $d is not writable"
	done
	return 1
}
CACHE_ROOT=$(pick_cache_root) || die "no writable cache directory"
ENTRY="$CACHE_ROOT/$KEY"

entry_complete() {
	local o
	for o in "${OUTPUTS[@]}"; do
		[ -s "$1/$o" ] || return 1
	done
}

install_outputs() {
	local o
	mkdir -p "$OUT"
	for o in "${OUTPUTS[@]}"; do
		cp -f "$ENTRY/$o" "$OUT/$o.tmp"
		mv -f "$OUT/$o.tmp" "$OUT/$o"
	done
	say "build/guest/{vmlinux,bzImage,config,manifest} <- $ENTRY"
}

# Serialise builds of the same key (parallel CI jobs on one machine): the
# second one waits and then finds the entry.
exec 9>"$CACHE_ROOT/.lock-$KEY"
if ! flock -n 9; then
	say "another build of $KEY is running; waiting for it"
	flock 9
fi

if [ "${MEMPLUG_GUEST_REBUILD:-0}" != 1 ] && [ -d "$ENTRY" ]; then
	if entry_complete "$ENTRY"; then
		say "cache hit $KEY"
		install_outputs
		exit 0
	fi
	say "cache entry $ENTRY is incomplete; rebuilding"
fi

# --- cache miss: build ------------------------------------------------------
start=$(date +%s)
say "cache miss $KEY ($PKG $pkg_version); building (~10 min on 2 cores)"

LOG="$OUT/build.log"
mkdir -p "$OUT"
: >"$LOG"
fail() {
	echo "guest: ERROR: $*" >&2
	if [ -s "$LOG" ]; then
		echo "guest: last lines of $LOG:" >&2
		tail -n 40 "$LOG" >&2
	fi
	exit 1
}

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
say "extracting $TARBALL"
tar -xf "$TARBALL" -C "$SCRATCH" || fail "cannot extract $TARBALL"
SRC="$SCRATCH/$PKG"
[ -f "$SRC/Makefile" ] || fail "$TARBALL did not unpack to $PKG/"
ksrc_version=$(make -s -C "$SRC" kernelversion 2>/dev/null)
say "kernel $ksrc_version"

for m in "${AGENT_FILES[@]}"; do
	src=${m%%:*} dst=${m#*:}
	[ -e "$SRC/$dst" ] && fail "$dst already exists in the kernel tree"
	cp "$ADIR/$src" "$SRC/$dst"
	say "agent: guest-tests/agent/$src -> $dst"
done

for p in "${PATCHES[@]}"; do
	say "patch $(basename "$p")"
	# --forward: never treat an already-applied hunk as a reverse patch.
	if ! patch -d "$SRC" -p1 --forward --no-backup-if-mismatch \
		-i "$p" >>"$LOG" 2>&1; then
		fail "patch $(basename "$p") does not apply to $PKG $pkg_version"
	fi
done

# Reproducible-ish build banner (no host name/user/date in the kernel).
export KBUILD_BUILD_USER=memplug KBUILD_BUILD_HOST=memplug
export KBUILD_BUILD_VERSION=1 KBUILD_BUILD_TIMESTAMP="memplug-guest-${KEY:0:12}"

say "config: tinyconfig + $(basename "$FRAGMENT")"
(
	cd "$SRC"
	make tinyconfig
	scripts/kconfig/merge_config.sh -m .config "$FRAGMENT"
	make olddefconfig
) >>"$LOG" 2>&1 || fail "configuration failed"

# Kconfig silently drops options whose dependencies are not met: check that
# every setting of the fragment survived.
bad=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF -- "$line" "$SRC/.config" ||
			bad+=("$line (have: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$SRC/.config" || echo 'absent'))")
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		if grep -qE "^${BASH_REMATCH[1]}=" "$SRC/.config"; then
			bad+=("$line (have: $(grep -E "^${BASH_REMATCH[1]}=" "$SRC/.config"))")
		fi
	fi
done <"$FRAGMENT"
if [ ${#bad[@]} -ne 0 ]; then
	echo "guest: ERROR: these config.fragment settings did not survive olddefconfig" >&2
	echo "guest: (a dependency is missing or something selects them):" >&2
	printf 'guest:   %s\n' "${bad[@]}" >&2
	exit 1
fi
say "config: all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set$)' "$FRAGMENT") fragment settings hold"

say "make -j$JOBS vmlinux bzImage (log: build/guest/build.log)"
make -C "$SRC" -j"$JOBS" vmlinux bzImage >>"$LOG" 2>&1 &
make_pid=$!
# Progress line every minute: CI systems kill jobs that are silent too long.
while kill -0 "$make_pid" 2>/dev/null; do
	for _ in $(seq 60); do
		sleep 1
		kill -0 "$make_pid" 2>/dev/null || break
	done
	if kill -0 "$make_pid" 2>/dev/null; then
		say "  ... $(( $(date +%s) - start ))s, $(grep -c '^  CC ' "$LOG" || true) files compiled"
	fi
done
wait "$make_pid" || fail "kernel build failed"

VMLINUX="$SRC/vmlinux"
BZIMAGE="$SRC/arch/x86/boot/bzImage"
if [ ! -s "$VMLINUX" ] || [ ! -s "$BZIMAGE" ]; then
	fail "build produced no vmlinux/bzImage"
fi

# --- checks on the result ---------------------------------------------------
# PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18): what QEMU's -kernel and the
# memplug loader look for in an ELF kernel.
# (Outputs are captured first: with pipefail, `cmd | grep -q` can fail
# through SIGPIPE when grep stops reading early.)
notes=$(readelf -n "$VMLINUX")
grep -qE '^[[:space:]]*Xen[[:space:]]+0x[0-9a-f]+[[:space:]]+(Unknown note type: \(0x00000012\)|.*PHYS32_ENTRY)' <<<"$notes" ||
	fail "vmlinux has no PVH (XEN_ELFNOTE_PHYS32_ENTRY) note"
grep -qa 'MEMPLUG-AGENT ready' "$VMLINUX" || fail "the agent is not in vmlinux"
# Patch 0001: the INT3 self-test must be gone.
syms=$(nm "$VMLINUX")
if grep -q int3_selftest <<<"$syms"; then
	fail "int3_selftest is still in vmlinux (patch 0001 ineffective)"
fi
# Patch 0002: FWAIT may only remain in functions that cannot run on x86-64
# without user space (FNSAVE paths for CPUs without FXSR, signal frames).
fwait_in=$(objdump -d --no-show-raw-insn "$VMLINUX" | awk '
	/^[0-9a-f]+ <.*>:$/ { fn = $2 }
	$2 == "fwait" || $2 == "wait" { print fn }' | sort -u | tr -d '<>:' |
	grep -vxE 'save_fpregs_to_fpstate|copy_fpstate_to_sigframe' || true)
[ -z "$fwait_in" ] || fail "FWAIT in unexpected functions: ${fwait_in//$'\n'/ }"

# --- into the cache, atomically --------------------------------------------
tmp="$CACHE_ROOT/.tmp-$KEY-$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$VMLINUX" "$tmp/vmlinux"
cp "$BZIMAGE" "$tmp/bzImage"
cp "$SRC/.config" "$tmp/config"
cat >"$tmp/manifest" <<EOF
key=$KEY
package=$PKG $pkg_version
kernel=$ksrc_version
compiler=$(gcc --version | head -n1)
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build_seconds=$(( $(date +%s) - start ))
inputs:
$(cd "$ROOT" && for f in "${key_inputs[@]}"; do sha256sum "${f#"$ROOT"/}"; done)
EOF
rm -rf "$ENTRY"
mv -T "$tmp" "$ENTRY"
say "cached in $ENTRY"
install_outputs

if [ "${MEMPLUG_GUEST_KEEP_SRC:-0}" = 1 ]; then
	say "kernel tree kept in $SRC"
else
	rm -rf "$SCRATCH"
fi
say "done in $(( $(date +%s) - start ))s: $(du -h "$OUT/vmlinux" | cut -f1) vmlinux, $(du -h "$OUT/bzImage" | cut -f1) bzImage"
