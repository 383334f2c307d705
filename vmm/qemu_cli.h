/* QEMU's spellings of the options memplug implements, so a QEMU
 * memory-hotplug command line runs with qemu-system-x86_64 replaced by
 * memplug: -m SIZE[,slots=N,maxmem=SIZE] (a bare SIZE counts MiB), -smp N,
 * -object memory-backend-{ram,memfd,file}, -device pc-dimm, -numa node,
 * -kernel, -initrd, -append, -qmp unix:PATH,server=on,wait=off (or the old
 * server,nowait), -chardev socket + -mon mode=control, -no-reboot, and
 * -nographic, -serial stdio, -enable-kvm, -accel kvm, -M/-machine pc,
 * -cpu host, -nodefaults, -display none, which name what memplug always
 * is. Any other single-dash option is "not supported by memplug". */
#ifndef MEMPLUG_VMM_QEMU_CLI_H
#define MEMPLUG_VMM_QEMU_CLI_H

#include <stddef.h>

#include "vmm/config.h"

#define QEMU_CLI_CHARDEVS 4

/* What options tell each other: -mon names a -chardev; -numa counts. */
struct qemu_cli {
	const char *chardev_id[QEMU_CLI_CHARDEVS];
	const char *chardev_path[QEMU_CLI_CHARDEVS];
	unsigned int nchardevs;
	const char *mon_chardev;
	unsigned int numa_nodes;
};

/* argv[*i] and its value, if it is a QEMU-style option: applied to c
 * (values may be cut in place) and *i moved past its value; returns 1.
 * 0 when argv[*i] is memplug's own option or an argument; -EINVAL with
 * the message in err. */
int qemu_cli_option(struct config *c, struct qemu_cli *q, int argc,
		    char **argv, int *i, char *err, size_t errlen);
/* After argv: a -mon's -chardev becomes the control socket. */
int qemu_cli_finish(struct config *c, const struct qemu_cli *q, char *err,
		    size_t errlen);

#endif
