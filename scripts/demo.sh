#!/bin/bash
# `make run`: memplug's main job, shown. Where a real KVM is (hardware KVM
# here, or the nested one scripts/kvm-run gives), Debian's stock kernel
# with the user-space guest: boot, the guest's own `free -m` and memory
# blocks, a 1G hot-add, the same again, its removal, power-off. With only
# PVM (which runs no user space) and no runner, the tiny kernel: boot, a
# 256M hot-add, the power button. The console scrolls by on stdout.
#
# Usage: scripts/demo.sh [stock|tiny]   (default: what this machine can do)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-}
if [ -z "$kind" ]; then
	if [ -e /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then
		kind=stock
	elif lane=$(scripts/kvm-run --print-lane 2>/dev/null) && [ "$lane" = nested ] &&
		command -v qemu-system-x86_64 > /dev/null; then
		echo "demo: this machine's KVM (PVM) runs no user space: running the" \
			"demo in scripts/kvm-run's nested kvm-amd"
		exec scripts/kvm-run --timeout 900 scripts/demo.sh stock
	else
		kind=tiny
	fi
fi

# Sockets and FIFOs cannot live on the nested lane's 9p checkout.
dir=$(mktemp -d /tmp/memplug-demo.XXXXXX)
sock=$dir/vm.sock
log=build/demo.console
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
ctl() { build/memplugctl -s "$sock" "$@"; }
say() { printf '\ndemo: %s\n' "$*"; }

# wait_line MARK REGEX: the first console line after line MARK matching
# REGEX, within 5 minutes.
wait_line() {
	local t
	for ((t = 0; t < 600; t++)); do
		if tail -n +"$(($1 + 1))" "$log" | grep -m1 -E "$2"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || { echo "demo: memplug stopped" >&2; exit 1; }
		sleep 0.5
	done
	echo "demo: no console line matching '$2' within 5 minutes" >&2
	exit 1
}
lines() { wc -l < "$log"; }
# The console scrolls by (the nested lane's /dev has no /dev/fd for tee).
show() { tail -n +1 -f --pid="$pid" "$log" & }

rm -f "$log"
: > "$log"
if [ "$kind" = tiny ]; then
	say "booting build/guest/vmlinux (about a minute on a software KVM)"
	build/memplug --kernel build/guest/vmlinux --cpus 1 \
		--memory 256M,slots=8,maxmem=4G --numa nodes=2 --control "$sock" \
		--cmdline "console=ttyS0 swiotlb=noforce memhp_default_state=online" \
		>> "$log" &
	pid=$!
	show
	wait_line 0 "MEMPLUG-AGENT ready" > /dev/null
	say "guest is up; hot-adding 256M on node 1"
	ctl add 256M --node 1 --wait --timeout 900
	ctl list
	ctl raw '{"execute": "x-memplug-timeline"}'
	say "pressing the power button"
	ctl raw '{"execute": "system_powerdown"}' > /dev/null
	wait "$pid"
	pid=
	say "memplug exited with status 0"
	exit 0
fi

[ -e build/guest-stock/vmlinuz ] || { echo "demo: build/guest-stock is missing: make guest" >&2; exit 1; }
mkfifo "$dir/in"
exec 3<> "$dir/in"
# guest: a command to the agent, then its done line.
guest() {
	local m
	m=$(lines)
	echo "$*" >&3
	wait_line "$m" "MEMPLUG-AGENT done cmd=${1}\b" > /dev/null
}
say "booting Debian's stock kernel ($(sed -n 's/^kernel //p' build/guest-stock/manifest)) with a busybox user space"
build/memplug --kernel build/guest-stock/vmlinuz \
	--initrd build/guest-stock/initramfs.cpio --cpus 1 \
	--memory 1G,slots=8,maxmem=8G --numa nodes=2 --control "$sock" \
	--cmdline "console=ttyS0 memhp_default_state=online_movable" \
	<&3 >> "$log" &
pid=$!
show
wait_line 0 "MEMPLUG-AGENT ready" > /dev/null
say "guest is up: its own free -m and memory blocks"
guest sh free -m
guest status
say "hot-adding 1G on node 1 (the guest onlines it as movable: memhp_default_state)"
ctl add 1G --node 1 --id dimm1 --wait --timeout 900
guest sh free -m
guest status
ctl list
say "removing it: the guest offlines its blocks and ejects it"
ctl remove dimm1 --wait --timeout 900
guest sh free -m
guest status
say "powering off from the guest"
echo poweroff >&3
wait "$pid"
pid=
say "memplug exited with status 0"
