#include "vmm/hmp.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/keyval.h"
#include "vmm/qmp_cmds.h"
#include "vmm/qmp_request.h"

/* The key=value pairs of an object_add or device_add line, at most. */
#define HMP_MAX_PAIRS 64

/* The output of one HMP command; QEMU's monitor ends its lines "\r\n". */
struct out {
	char *buf;
	size_t len, cap;
	bool deferred; /* a command's reply comes later (object_add prealloc) */
};

static void say(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL,
			      o->buf ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (o->buf && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		char *b = realloc(o->buf, o->cap + (size_t)n + 256);

		if (!b)
			return;
		o->buf = b;
		o->cap += (size_t)n + 256;
	}
}

/* Runs the QMP command name with args (taken) through memplug's own
 * handler: the one owner of what each command does. */
static json_t *qmp(struct machine *m, const char *name, json_t *args,
		   struct out *o)
{
	const struct qmp_command *cmds, *cmd;
	char err[512] = "";
	json_t *r = NULL;
	size_t n;

	if (!args)
		args = json_object();
	cmds = qmp_cmds(&n);
	cmd = qmp_find_command(cmds, n, name);
	if (args && cmd && qmp_check_args(cmd, args, err, sizeof(err)) == 0)
		r = cmd->fn(m, args, err, sizeof(err));
	json_decref(args);
	if (r == QMP_DEFERRED) {
		o->deferred = true;
		return NULL;
	}
	if (!r)
		say(o, "Error: %s\r\n", *err ? err : "failed");
	return r;
}

/* "TYPE,k=v,k=v": {first: TYPE, k: v, ...}, or NULL with the error said. */
static json_t *options(const char *arg, const char *first, struct out *o)
{
	struct keyval kv[HMP_MAX_PAIRS];
	char *s = strdup(arg ? arg : ""), *head = NULL;
	json_t *a = NULL;
	int n = s ? keyval_split(s, &head, kv, HMP_MAX_PAIRS) : -ENOMEM;

	for (int i = 0; i < n; i++)
		if (!kv[i].val) {
			say(o, "Error: Invalid parameter '%s'\r\n", kv[i].key);
			n = -EINVAL;
			break;
		}
	if (n == -E2BIG)
		say(o, "Error: more than %d parameters\r\n", HMP_MAX_PAIRS);
	if (n >= 0 && (a = keyval_object(kv, n, NULL)) && head)
		json_object_set_new(a, first, json_string(head));
	free(s);
	if (a && !json_object_get(a, first)) {
		say(o, "Error: Parameter '%s' is missing\r\n", first);
		json_decref(a);
		a = NULL;
	}
	return a;
}

static void hmp_object_add(struct machine *m, const char *arg, struct out *o)
{
	json_t *a = options(arg, "qom-type", o);

	if (a)
		json_decref(qmp(m, "object-add", a, o));
}

static void hmp_device_add(struct machine *m, const char *arg, struct out *o)
{
	json_t *a = options(arg, "driver", o);

	if (a)
		json_decref(qmp(m, "device_add", a, o));
}

static void by_id(struct machine *m, const char *cmd, const char *arg,
		  struct out *o)
{
	if (!arg || !*arg) {
		say(o, "Error: Parameter 'id' is missing\r\n");
		return;
	}
	json_decref(qmp(m, cmd, json_pack("{s:s}", "id", arg), o));
}

static void hmp_device_del(struct machine *m, const char *arg, struct out *o)
{
	by_id(m, "device_del", arg, o);
}

static void hmp_object_del(struct machine *m, const char *arg, struct out *o)
{
	by_id(m, "object-del", arg, o);
}

static void plain(struct machine *m, const char *cmd, struct out *o)
{
	json_decref(qmp(m, cmd, NULL, o));
}

static void hmp_system_reset(struct machine *m, const char *arg, struct out *o)
{
	(void)arg;
	plain(m, "system_reset", o);
}

static void hmp_system_powerdown(struct machine *m, const char *arg,
				 struct out *o)
{
	(void)arg;
	plain(m, "system_powerdown", o);
}

static void hmp_quit(struct machine *m, const char *arg, struct out *o)
{
	(void)arg;
	plain(m, "quit", o);
}

static void info_version(struct machine *m, struct out *o)
{
	json_t *v = qmp(m, "query-version", NULL, o), *q;

	if (!v)
		return;
	q = json_object_get(v, "qemu");
	say(o, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT ".%"
	    JSON_INTEGER_FORMAT " (%s)\r\n",
	    json_integer_value(json_object_get(q, "major")),
	    json_integer_value(json_object_get(q, "minor")),
	    json_integer_value(json_object_get(q, "micro")),
	    json_string_value(json_object_get(v, "package")));
	json_decref(v);
}

static void info_status(struct machine *m, struct out *o)
{
	json_t *v = qmp(m, "query-status", NULL, o);

	if (v)
		say(o, "VM status: %s\r\n",
		    json_string_value(json_object_get(v, "status")));
	json_decref(v);
}

/* QEMU's layout of hmp_info_memory_devices. */
static void info_memory_devices(struct machine *m, struct out *o)
{
	json_t *list = qmp(m, "query-memory-devices", NULL, o), *d;
	size_t i;

	json_array_foreach(list, i, d) {
		json_t *x = json_object_get(d, "data");
		const char *id = json_string_value(json_object_get(x, "id"));

		say(o, "Memory device [%s]: \"%s\"\r\n",
		    json_string_value(json_object_get(d, "type")), id ? id : "");
		say(o, "  addr: 0x%" PRIx64 "\r\n",
		    (uint64_t)json_integer_value(json_object_get(x, "addr")));
		say(o, "  slot: %" JSON_INTEGER_FORMAT "\r\n",
		    json_integer_value(json_object_get(x, "slot")));
		say(o, "  node: %" JSON_INTEGER_FORMAT "\r\n",
		    json_integer_value(json_object_get(x, "node")));
		say(o, "  size: %" JSON_INTEGER_FORMAT "\r\n",
		    json_integer_value(json_object_get(x, "size")));
		say(o, "  memdev: %s\r\n",
		    json_string_value(json_object_get(x, "memdev")));
		say(o, "  hotplugged: %s\r\n",
		    json_is_true(json_object_get(x, "hotplugged")) ? "true"
								    : "false");
		say(o, "  hotpluggable: %s\r\n",
		    json_is_true(json_object_get(x, "hotpluggable")) ? "true"
								      : "false");
	}
	json_decref(list);
}

static const char *yes(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key)) ? "true" : "false";
}

/* QEMU's layout of hmp_info_memdev. */
static void info_memdev(struct machine *m, struct out *o)
{
	json_t *list = qmp(m, "query-memdev", NULL, o), *b;
	size_t i;

	json_array_foreach(list, i, b) {
		say(o, "memory backend: %s\r\n",
		    json_string_value(json_object_get(b, "id")));
		say(o, "  size:  %" JSON_INTEGER_FORMAT "\r\n",
		    json_integer_value(json_object_get(b, "size")));
		say(o, "  merge: %s\r\n", yes(b, "merge"));
		say(o, "  dump: %s\r\n", yes(b, "dump"));
		say(o, "  prealloc: %s\r\n", yes(b, "prealloc"));
		say(o, "  share: %s\r\n", yes(b, "share"));
		say(o, "  reserve: %s\r\n", yes(b, "reserve"));
		say(o, "  policy: %s\r\n",
		    json_string_value(json_object_get(b, "policy")));
		say(o, "  host nodes: \r\n");
	}
	json_decref(list);
}

static const struct info {
	const char *name, *help;
	void (*fn)(struct machine *m, struct out *o);
} infos[] = {
	{ "version", "show the version of memplug", info_version },
	{ "status", "show the current VM status (running|paused)", info_status },
	{ "memory-devices", "show memory devices", info_memory_devices },
	{ "memdev", "show memory backends", info_memdev },
};

static void hmp_info(struct machine *m, const char *arg, struct out *o)
{
	for (size_t i = 0; arg && i < sizeof(infos) / sizeof(infos[0]); i++)
		if (!strcmp(arg, infos[i].name)) {
			infos[i].fn(m, o);
			return;
		}
	/* "info" alone, or an unknown one: the list, as QEMU prints it. */
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		say(o, "info %s  -- %s\r\n", infos[i].name, infos[i].help);
}

static void hmp_help(struct machine *m, const char *arg, struct out *o);

static const struct hmp {
	const char *name, *args, *help;
	void (*fn)(struct machine *m, const char *arg, struct out *o);
} hmps[] = {
	{ "device_add", "driver[,prop=value][,...]", "add device, like -device "
	  "on the command line", hmp_device_add },
	{ "device_del", "device", "remove device", hmp_device_del },
	{ "help|?", "[cmd]", "show the help", hmp_help },
	{ "info", "[subcommand]", "show various information about the system "
	  "state", hmp_info },
	{ "object_add", "[qom-type=]type,id=str[,prop=value][,...]", "create "
	  "QOM object", hmp_object_add },
	{ "object_del", "id", "destroy QOM object", hmp_object_del },
	{ "quit|q", "", "quit the emulator", hmp_quit },
	{ "system_powerdown", "", "send system power down event",
	  hmp_system_powerdown },
	{ "system_reset", "", "reset the system", hmp_system_reset },
};

/* Whether word names the command: "quit|q" answers to both. */
static bool named(const char *names, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = names;; p++) {
		if (!strncmp(p, word, n) && (p[n] == '|' || !p[n]))
			return true;
		if (!(p = strchr(p, '|')))
			return false;
	}
}

static void hmp_help(struct machine *m, const char *arg, struct out *o)
{
	(void)m;
	for (size_t i = 0; i < sizeof(hmps) / sizeof(hmps[0]); i++)
		if (!arg || !*arg || named(hmps[i].name, arg))
			say(o, "%s %s -- %s\r\n", hmps[i].name, hmps[i].args,
			    hmps[i].help);
}

json_t *hmp_run(struct machine *m, const char *line)
{
	struct out o = { 0 };
	char *s = strdup(line), *cmd, *arg;
	json_t *r;

	if (!s)
		return NULL;
	cmd = s + strspn(s, " \t");
	arg = cmd + strcspn(cmd, " \t");
	if (*arg) {
		*arg++ = 0;
		arg += strspn(arg, " \t");
		arg[strcspn(arg, "\r\n")] = 0;
		for (size_t n = strlen(arg); n && isspace((unsigned char)arg[n - 1]);)
			arg[--n] = 0;
	}
	if (*cmd) {
		size_t i = 0;

		while (i < sizeof(hmps) / sizeof(hmps[0]) &&
		       !named(hmps[i].name, cmd))
			i++;
		if (i < sizeof(hmps) / sizeof(hmps[0]))
			hmps[i].fn(m, *arg ? arg : NULL, &o);
		else
			say(&o, "unknown command: '%s'\r\n", cmd);
	}
	free(s);
	r = o.deferred ? QMP_DEFERRED : json_string(o.buf ? o.buf : "");
	free(o.buf);
	return r;
}
