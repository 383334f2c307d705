/* query-qmp-schema's answer, built in QEMU's SchemaInfo terms
 * (qapi/introspect.json): builtin, array, enum and object types, and
 * commands that refer to them by name. Object and enum names are numbers,
 * as in QEMU, which hides them; clients follow the references. Return
 * types are all "any": memplug describes what a command takes, not what
 * it answers. */
#ifndef MEMPLUG_VMM_QMP_SCHEMA_H
#define MEMPLUG_VMM_QMP_SCHEMA_H

#include <errno.h>
#include <jansson.h>

#include "vmm/qmp.h"

struct schema {
	json_t *list;  /* the SchemaInfo entries */
	json_t *named; /* name -> its entry, each added once */
	unsigned int next;
};

int schema_init(struct schema *s);
/* The list (a new reference); s is done with. */
json_t *schema_finish(struct schema *s);
/* The name of a qmp_arg type, its entry added: a builtin, or a list such
 * as "[str]". NULL for a type memplug does not know. */
const char *schema_type(struct schema *s, const char *type);
/* An enum of n values; its name. */
const char *schema_enum(struct schema *s, const char *const *values,
			size_t n);
/* Appends the object members of args (ending with a NULL name) to
 * members. 0, or -EINVAL for an unknown type. */
int schema_members(struct schema *s, json_t *members,
		   const struct qmp_arg *args);
/* An object type of members (taken) and extra's keys, say a union's tag
 * and variants (taken; may be NULL); its name. */
const char *schema_object(struct schema *s, json_t *members, json_t *extra);
/* A command taking an object of type arg_type. */
void schema_command(struct schema *s, const char *name, const char *arg_type);

#endif
