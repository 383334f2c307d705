#!/bin/sh
# `make run`: boot the demo guest on memplug and let its agent power it off
# once the kernel is up. The console scrolls by on stdout; the agent's
# `MEMPLUG-AGENT ready ...` line is what the guest itself reports.
set -eu
cd "$(dirname "$0")/.."
echo "demo: booting build/guest/vmlinux (about a minute on a software KVM)"
exec build/memplug --kernel build/guest/vmlinux --cpus 1 --memory 256M \
	--cmdline "console=ttyS0 swiotlb=noforce memhp_default_state=online memplug_agent.poweroff=1"
