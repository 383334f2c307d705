/* The control commands: QMP's names and arguments, checked as QEMU checks
 * them, carried out on the machine (hot-plug through vmm/hotplug.h). */
#ifndef MEMPLUG_VMM_QMP_CMDS_H
#define MEMPLUG_VMM_QMP_CMDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/prealloc.h"
#include "vmm/qmp.h"

struct machine;

/* Argument getters of the handlers, with QEMU's words (the server has
 * refused unknown and missing arguments by then: qmp_check_args): each
 * leaves *out alone when the argument is absent (required: then an
 * error). 0 or -EINVAL with the message in err. */
int qmp_arg_str(json_t *args, const char *key, bool required,
		const char **out, char *err, size_t errlen);
int qmp_arg_uint(json_t *args, const char *key, uint64_t *out, char *err,
		 size_t errlen);
int qmp_arg_bool(json_t *args, const char *key, bool *out, char *err,
		 size_t errlen);

/* The command table for qmp_open (its ctx is the machine). */
const struct qmp_command *qmp_cmds(size_t *n);
/* object-add prealloc=true runs on a worker; these send its progress
 * events and its deferred reply. */
struct prealloc_ops qmp_cmds_prealloc_ops(struct machine *m);

#endif
