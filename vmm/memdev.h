/* QEMU's memory-backend properties (qapi/qom.json of QEMU 7.2): the one
 * parser of them, for object-add, the command line's -object and HMP's
 * object_add. Each member is refused where its type does not have it,
 * readonly because a DIMM is RAM; the rest is honoured by backend_add. */
#ifndef MEMPLUG_VMM_MEMDEV_H
#define MEMPLUG_VMM_MEMDEV_H

#include <jansson.h>

#include "vmm/dimm.h"
#include "vmm/qmp.h"

#define MEMDEV_MEMBER_LISTS 2

/* A backend type: its QOM name, its kind, and its members besides qom-type
 * and id (lists ending with a NULL name; the "size" ones also take
 * memplug's own "1G" strings). The one owner of those names, for
 * memdev_parse and query-qmp-schema. */
struct memdev_type {
	const char *name;
	enum backend_kind kind;
	const struct qmp_arg *members[MEMDEV_MEMBER_LISTS];
};

const struct memdev_type *memdev_types(size_t *n);

/* props (an object: QMP's arguments, or -object's key=values typed) of a
 * backend of QOM type type into *a (a->id is the caller's). Returns 0 or
 * -EINVAL with QEMU's words in err. */
int memdev_parse(const char *type, json_t *props, struct backend_args *a,
		 char *err, size_t errlen);

/* QEMU's name of an MPOL_* policy ("default", "bind", ...). */
const char *memdev_policy_name(int policy);

#endif
