#!/bin/bash
# `make run`: boot the demo guest, hot-add a DIMM into it once it is up,
# show what memplug and the guest say, then press the ACPI power button
# (the guest's agent powers off on it). The console scrolls by on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
sock=build/demo.sock
log=build/demo.console
ctl() { build/memplugctl -s "$sock" "$@"; }

echo "demo: booting build/guest/vmlinux (about a minute on a software KVM)"
rm -f "$log"
build/memplug --kernel build/guest/vmlinux --cpus 1 \
	--memory 256M,slots=8,maxmem=4G --numa nodes=2 --control "$sock" \
	--cmdline "console=ttyS0 swiotlb=noforce memhp_default_state=online" \
	> >(tee "$log") &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -qs "MEMPLUG-AGENT ready" "$log"; do
	kill -0 $pid 2>/dev/null || { echo "demo: memplug stopped" >&2; exit 1; }
	sleep 1
done
echo "demo: guest is up; hot-adding 256M on node 1"
ctl add 256M --node 1 --wait --timeout 900
ctl list
ctl raw '{"execute": "x-memplug-timeline"}'
echo "demo: pressing the power button"
ctl raw '{"execute": "system_powerdown"}' > /dev/null
wait $pid
trap - EXIT
echo "demo: memplug exited with status 0"
