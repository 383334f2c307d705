#include "vmm/qmp_schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/memdev.h"

struct schema {
	json_t *list;  /* the SchemaInfo entries */
	json_t *named; /* name -> its entry, each added once */
	unsigned int next;
	bool unknown_type; /* an argument's type is none of builtins' */
	bool failed;       /* an allocation failed: the list is not whole */
};

/* JSON types of the builtins memplug's arguments use (QEMU's names). */
static const struct {
	const char *name, *json;
} builtins[] = {
	{ "str", "string" }, { "int", "int" },	   { "bool", "boolean" },
	{ "size", "int" },   { "uint16", "int" }, { "any", "value" },
};

static int schema_init(struct schema *s)
{
	s->list = json_array();
	s->named = json_object();
	s->next = 0;
	s->unknown_type = s->failed = false;
	if (s->list && s->named)
		return 0;
	json_decref(s->list);
	json_decref(s->named);
	return -ENOMEM;
}

/* Appends v (taken) to array; a failure is remembered. */
static void append(struct schema *s, json_t *array, json_t *v)
{
	if (json_array_append_new(array, v) < 0)
		s->failed = true;
}

/* The list, or NULL if an argument had a type the schema cannot name or
 * memory ran out: a schema with holes would mislead its reader. */
static json_t *schema_finish(struct schema *s)
{
	json_decref(s->named);
	if (s->unknown_type || s->failed) {
		json_decref(s->list);
		return NULL;
	}
	return s->list;
}

/* Adds entry under name unless one is there; the name as stored. */
static const char *add(struct schema *s, const char *name, json_t *entry)
{
	json_t *have = json_object_get(s->named, name);

	if (have) {
		json_decref(entry);
		return json_string_value(json_object_get(have, "name"));
	}
	if (!entry)
		goto fail;
	if (json_object_set_new(entry, "name", json_string(name)) ||
	    json_array_append(s->list, entry)) {
		json_decref(entry);
		goto fail;
	}
	/* Takes our reference, the list holds its own: even on failure. */
	if (json_object_set_new(s->named, name, entry))
		goto fail;
	return json_string_value(json_object_get(entry, "name"));
fail:
	s->failed = true;
	return NULL;
}

/* QEMU hides the names of its object and enum types behind numbers. */
static const char *add_masked(struct schema *s, json_t *entry)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", s->next++);
	return add(s, name, entry);
}

/* The name of a qmp_arg type, its entry added: a builtin, or a list such
 * as "[str]". NULL for a type memplug does not know (and the schema
 * fails). */
static const char *schema_type(struct schema *s, const char *type)
{
	size_t len = strlen(type);

	if (len > 2 && type[0] == '[' && type[len - 1] == ']') {
		char elem[32];
		const char *e;

		snprintf(elem, sizeof(elem), "%.*s", (int)(len - 2), type + 1);
		e = schema_type(s, elem);
		return e ? add(s, type, json_pack("{s:s,s:s}", "meta-type",
						  "array", "element-type", e))
			 : NULL;
	}
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(builtins[i].name, type))
			return add(s, type, json_pack("{s:s,s:s}", "meta-type",
						      "builtin", "json-type",
						      builtins[i].json));
	s->unknown_type = true;
	return NULL;
}

/* An enum of the strings in values (taken); its name. */
static const char *schema_enum(struct schema *s, json_t *values)
{
	json_t *members = json_array(), *v;
	size_t i;

	json_array_foreach(values, i, v)
		append(s, members, json_pack("{s:O}", "name", v));
	return add_masked(s, json_pack("{s:s,s:o,s:o}", "meta-type", "enum",
				       "values", values, "members", members));
}

/* Appends the object members of args (ending with a NULL name) to
 * members. */
static void schema_members(struct schema *s, json_t *members,
			   const struct qmp_arg *args)
{
	for (const struct qmp_arg *a = args; a && a->name; a++) {
		const char *t = schema_type(s, a->type);
		json_t *m;

		if (!t)
			return;
		m = json_pack("{s:s,s:s}", "name", a->name, "type", t);
		/* An optional member: QEMU says so with a null default. */
		if (a->optional && json_object_set_new(m, "default", json_null()))
			s->failed = true;
		append(s, members, m);
	}
}

/* An object type of members (taken) and extra's keys, say a union's tag
 * and variants (taken; may be NULL); its name. */
static const char *schema_object(struct schema *s, json_t *members,
				 json_t *extra)
{
	json_t *o = json_pack("{s:s,s:o}", "meta-type", "object", "members",
			      members);

	if (extra && json_object_update(o, extra))
		s->failed = true;
	json_decref(extra);
	return add_masked(s, o);
}

static void schema_command(struct schema *s, const char *name,
			   const char *arg_type)
{
	const char *any = schema_type(s, "any");

	add(s, name, json_pack("{s:s,s:s,s:s}", "meta-type", "command",
			       "arg-type", arg_type, "ret-type", any));
}

/* object-add's arguments as QEMU describes them: a union on qom-type
 * (the command's first argument) whose variants are the members of each
 * backend type. */
static const char *backend_union(struct schema *s,
				 const struct qmp_command *c)
{
	json_t *base = json_array(), *variants = json_array(), *names, *m;
	size_t n;
	const struct memdev_type *t = memdev_types(&n);

	names = json_array();
	for (size_t i = 0; i < n; i++)
		append(s, names, json_string(t[i].name));
	append(s, base, json_pack("{s:s,s:s}", "name", "qom-type", "type",
				  schema_enum(s, names)));
	schema_members(s, base, c->args + 1);
	for (size_t i = 0; i < n; i++) {
		m = json_array();
		for (int j = 0; j < MEMDEV_MEMBER_LISTS && t[i].members[j]; j++)
			schema_members(s, m, t[i].members[j]);
		append(s, variants, json_pack(
			"{s:s,s:s}", "case", t[i].name, "type",
			schema_object(s, m, NULL)));
	}
	return schema_object(s, base, json_pack("{s:s,s:o}", "tag", "qom-type",
						"variants", variants));
}

json_t *qmp_schema(const struct qmp_command *cmds, size_t n)
{
	const char *none = NULL;
	struct schema s;

	if (schema_init(&s) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct qmp_command *c = &cmds[i];
		const char *type;
		json_t *members;

		if (c->open) {
			type = backend_union(&s, c);
		} else if (!c->args) {
			if (!none)
				none = schema_object(&s, json_array(), NULL);
			type = none;
		} else {
			members = json_array();
			schema_members(&s, members, c->args);
			type = schema_object(&s, members, NULL);
		}
		schema_command(&s, c->name, type);
	}
	return schema_finish(&s);
}
