/* query-qmp-schema's answer, in QEMU's SchemaInfo terms
 * (qapi/introspect.json): builtin, array, enum and object types, and the
 * commands, which refer to them by name. Object and enum names are
 * numbers, as in QEMU, which hides them; clients follow the references.
 * Return types are all "any": memplug describes what a command takes, not
 * what it answers. */
#ifndef MEMPLUG_VMM_QMP_SCHEMA_H
#define MEMPLUG_VMM_QMP_SCHEMA_H

#include <errno.h>
#include <jansson.h>

#include "vmm/qmp.h"

/* The schema of the n commands: each one's arguments (qmp_arg lists);
 * an open command (object-add) as QEMU's union of the backend types'
 * members (memdev.h). A new reference; NULL without memory or for an
 * argument type it cannot name. */
json_t *qmp_schema(const struct qmp_command *cmds, size_t n);

#endif
