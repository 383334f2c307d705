#include "vmm/qmp_schema.h"

#include <stdio.h>
#include <string.h>

/* JSON types of the builtins memplug's arguments use (QEMU's names). */
static const struct {
	const char *name, *json;
} builtins[] = {
	{ "str", "string" }, { "int", "int" },	   { "bool", "boolean" },
	{ "size", "int" },   { "uint16", "int" }, { "any", "value" },
};

int schema_init(struct schema *s)
{
	s->list = json_array();
	s->named = json_object();
	s->next = 0;
	return s->list && s->named ? 0 : -ENOMEM;
}

json_t *schema_finish(struct schema *s)
{
	json_decref(s->named);
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
	json_object_set_new(entry, "name", json_string(name));
	json_array_append(s->list, entry);
	json_object_set_new(s->named, name, entry);
	return json_string_value(json_object_get(entry, "name"));
}

/* QEMU hides the names of its object and enum types behind numbers. */
static const char *add_masked(struct schema *s, json_t *entry)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", s->next++);
	return add(s, name, entry);
}

const char *schema_type(struct schema *s, const char *type)
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
	return NULL;
}

const char *schema_enum(struct schema *s, const char *const *values,
			size_t n)
{
	json_t *vals = json_array(), *members = json_array();

	for (size_t i = 0; i < n; i++) {
		json_array_append_new(vals, json_string(values[i]));
		json_array_append_new(members,
				      json_pack("{s:s}", "name", values[i]));
	}
	return add_masked(s, json_pack("{s:s,s:o,s:o}", "meta-type", "enum",
				       "values", vals, "members", members));
}

int schema_members(struct schema *s, json_t *members,
		   const struct qmp_arg *args)
{
	for (const struct qmp_arg *a = args; a && a->name; a++) {
		const char *t = schema_type(s, a->type);
		json_t *m;

		if (!t)
			return -EINVAL;
		m = json_pack("{s:s,s:s}", "name", a->name, "type", t);
		/* An optional member: QEMU says so with a null default. */
		if (a->optional)
			json_object_set_new(m, "default", json_null());
		json_array_append_new(members, m);
	}
	return 0;
}

const char *schema_object(struct schema *s, json_t *members, json_t *extra)
{
	json_t *o = json_pack("{s:s,s:o}", "meta-type", "object", "members",
			      members);

	if (extra)
		json_object_update(o, extra);
	json_decref(extra);
	return add_masked(s, o);
}

void schema_command(struct schema *s, const char *name, const char *arg_type)
{
	const char *any = schema_type(s, "any");

	add(s, name, json_pack("{s:s,s:s,s:s}", "meta-type", "command",
			       "arg-type", arg_type, "ret-type", any));
}
