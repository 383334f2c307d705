/* memplugctl: the command-line client of memplug's control socket.
 * Hot-adds and hot-removes DIMMs (optionally waiting for the guest's _OST
 * answer), lists them, follows events and sends raw QMP commands. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpi/ost.h"
#include "ctl/qmpc.h"
#include "lib/size.h"

#define MEMPLUGCTL_VERSION "0.1.0"
#define DEFAULT_TIMEOUT_S 300.0

enum {
	EXIT_OK = 0,		/* done */
	EXIT_FAIL = 1,		/* usage, connection or server error */
	EXIT_REFUSED = 2,	/* the guest's _OST said no */
	EXIT_TIMEOUT = 3,	/* the guest did not answer in time */
};

static void usage(FILE *f)
{
	fputs(
"usage: memplugctl [-s SOCKET] COMMAND [ARGS]\n"
"\n"
"Drive a running memplug through its control socket (memplug --control PATH,\n"
"QMP protocol): hot-add and hot-remove DIMMs, list them, follow events.\n"
"\n"
"  -s, --socket SOCKET  the control socket (default: $MEMPLUG_SOCKET)\n"
"  -h, --help           this help\n"
"  -V, --version        print the version\n"
"\n"
"Commands:\n"
"  add SIZE [--node N] [--id ID] [--backend ram|memfd|file:PATH]\n"
"          [--prealloc] [--share] [--wait] [--timeout S]\n"
"      Create a memory backend (id mem-ID) and plug a pc-dimm of SIZE bytes\n"
"      backed by it; prints the DIMM's id. SIZE takes K, M, G or T (powers of\n"
"      1024); a bare number is bytes. The id defaults to the first free\n"
"      dimm0, dimm1, ...; the backend to ram. If the DIMM cannot be plugged\n"
"      the backend is deleted again. --prealloc and --share are passed to\n"
"      the backend (progress of --prealloc on stderr, once a second).\n"
"      --wait then waits for the guest's _OST answer to the\n"
"      insertion (up to --timeout S seconds, default 300).\n"
"  remove ID [--wait] [--timeout S]\n"
"      Ask the guest to eject DIMM ID (device_del). --wait waits until it is\n"
"      gone (DEVICE_DELETED), then deletes its memory backend; without\n"
"      --wait the backend is kept.\n"
"  remove ID --cancel\n"
"      Withdraw a removal the guest has not carried out yet\n"
"      (x-memplug-device-del-cancel): the DIMM stays, present.\n"
"  list [--json]\n"
"      The DIMMs: ID SLOT BASE SIZE NODE BACKEND STATE LAST-OST; --json\n"
"      prints memplug's x-memplug-query-dimms answer as it is.\n"
"  events\n"
"      Print every event as one JSON object per line until memplug stops.\n"
"  raw 'JSON'\n"
"      Send one QMP command, e.g. '{\"execute\": \"query-status\"}', and\n"
"      print the reply (exit status 1 if it is an error).\n"
"\n"
"Exit status:\n"
"  0  done (with --wait: the guest accepted)\n"
"  1  bad usage, cannot connect, memplug refused the command, or the\n"
"     connection was lost\n"
"  2  the guest refused (its _OST status is printed, e.g.\n"
"     \"dimm0: guest refused eject: 0x82 device busy\")\n"
"  3  --wait timed out; the DIMM stays as it is (see memplugctl list)\n"
"\n"
"Examples:\n"
"  export MEMPLUG_SOCKET=/tmp/vm.sock\n"
"  memplugctl add 1G --node 1 --wait\n"
"  memplugctl remove dimm0 --wait\n", f);
}

__attribute__((format(printf, 1, 2)))
static void errmsg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("memplugctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- argument parsing ---- */

/* A getopt_long error ('?' or ':') as a message naming the option. */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	char name[64];

	if (!strncmp(arg, "--", 2)) {
		size_t n = strcspn(arg, "=");

		snprintf(name, sizeof(name), "%.*s", (int)n, arg);
	} else {
		snprintf(name, sizeof(name), "-%c", optopt ? optopt : '?');
	}
	if (c == ':')
		errmsg("%s%soption %s needs a value (see memplugctl --help)",
		       cmd, *cmd ? ": " : "", name);
	else
		errmsg("%s%sunknown option %s (see memplugctl --help)",
		       cmd, *cmd ? ": " : "", name);
	return EXIT_FAIL;
}


static int parse_timeout(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The socket from -s, else $MEMPLUG_SOCKET. */
static const char *resolve_socket(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("MEMPLUG_SOCKET");
	if (env && *env)
		return env;
	errmsg("no control socket given: use -s SOCKET or set MEMPLUG_SOCKET "
	       "to the PATH memplug was started with (memplug --control PATH)");
	return NULL;
}

static int connect_or_complain(struct qmpc *q, const char *sock)
{
	if (qmpc_open(q, sock) < 0) {
		errmsg("%s", q->err);
		return -1;
	}
	return 0;
}

/* ---- event helpers ---- */

static const char *event_name(json_t *ev)
{
	const char *n = json_string_value(json_object_get(ev, "event"));

	return n ? n : "";
}

/* An ACPI_DEVICE_OST event for device id: its source and status. */
static int ost_for(json_t *ev, const char *id, unsigned long long *source,
		   unsigned long long *status)
{
	json_t *info, *src, *st;
	const char *dev;

	if (strcmp(event_name(ev), "ACPI_DEVICE_OST"))
		return 0;
	info = json_object_get(json_object_get(ev, "data"), "info");
	dev = json_string_value(json_object_get(info, "device"));
	src = json_object_get(info, "source");
	st = json_object_get(info, "status");
	if (!dev || strcmp(dev, id) || !json_is_integer(src) ||
	    !json_is_integer(st) || json_integer_value(src) < 0 ||
	    json_integer_value(st) < 0)
		return 0;
	*source = (unsigned long long)json_integer_value(src);
	*status = (unsigned long long)json_integer_value(st);
	return 1;
}

static int deleted_event_for(json_t *ev, const char *id)
{
	const char *dev;

	if (strcmp(event_name(ev), "DEVICE_DELETED"))
		return 0;
	dev = json_string_value(json_object_get(json_object_get(ev, "data"),
						"device"));
	return dev && !strcmp(dev, id);
}

/* ---- memory devices ---- */

/* Calls fn for each entry of query-memory-devices that has an id. */
static int for_each_memory_device(struct qmpc *q,
				  int (*fn)(json_t *data, void *ctx), void *ctx)
{
	json_t *list, *dev;
	size_t i;
	int r;

	r = qmpc_execute(q, "query-memory-devices", NULL, &list);
	if (r < 0)
		return r;
	if (!json_is_array(list)) {
		snprintf(q->err, sizeof(q->err), "memplug's answer to "
			 "query-memory-devices is not a list");
		json_decref(list);
		return -EPROTO;
	}
	r = 0;
	json_array_foreach(list, i, dev) {
		json_t *data = json_object_get(dev, "data");

		if (json_is_string(json_object_get(data, "id"))) {
			r = fn(data, ctx);
			if (r)
				break;
		}
	}
	json_decref(list);
	return r < 0 ? r : 0;
}

/* Is id the id of one of the query-memory-devices entries in list? */
static int id_in_use(json_t *list, const char *id)
{
	json_t *dev;
	size_t i;

	json_array_foreach(list, i, dev) {
		const char *used = json_string_value(
			json_object_get(json_object_get(dev, "data"), "id"));

		if (used && !strcmp(used, id))
			return 1;
	}
	return 0;
}

/* First of dimm0, dimm1, ... that no memory device uses. */
static int pick_id(struct qmpc *q, char *out, size_t len)
{
	json_t *list;
	int r;

	r = qmpc_execute(q, "query-memory-devices", NULL, &list);
	if (r < 0)
		return r;
	for (unsigned int n = 0; n < 100000; n++) {
		snprintf(out, len, "dimm%u", n);
		if (!id_in_use(list, out)) {
			json_decref(list);
			return 0;
		}
	}
	json_decref(list);
	snprintf(q->err, sizeof(q->err), "no free DIMM id among dimm0 to "
		 "dimm99999; give one with --id");
	return -ENOSPC;
}

struct memdev_find {
	const char *id;
	char memdev[256];
	int found;
};

static int memdev_match(json_t *data, void *ctx)
{
	struct memdev_find *f = ctx;
	const char *md;

	if (strcmp(json_string_value(json_object_get(data, "id")), f->id))
		return 0;
	f->found = 1;
	md = json_string_value(json_object_get(data, "memdev"));
	if (md) {
		if (!strncmp(md, "/objects/", 9))
			md += 9;
		snprintf(f->memdev, sizeof(f->memdev), "%s", md);
	}
	return 1;
}

/* ---- add ---- */

struct add_args {
	uint64_t size;
	const char *size_text;
	const char *id;
	long long node;		/* -1: not given */
	const char *qom_type;
	const char *mem_path;
	int prealloc, share, wait;
	double timeout;
};

static int parse_backend(const char *s, struct add_args *a)
{
	if (!strcmp(s, "ram")) {
		a->qom_type = "memory-backend-ram";
	} else if (!strcmp(s, "memfd")) {
		a->qom_type = "memory-backend-memfd";
	} else if (!strncmp(s, "file:", 5) && s[5]) {
		a->qom_type = "memory-backend-file";
		a->mem_path = s + 5;
	} else if (!strcmp(s, "file") || !strcmp(s, "file:")) {
		errmsg("add: --backend file needs the file's path: "
		       "--backend file:PATH");
		return -EINVAL;
	} else {
		errmsg("add: --backend %s: unknown backend (use ram, memfd or "
		       "file:PATH)", s);
		return -EINVAL;
	}
	return 0;
}

/* A SHUTDOWN or RESET while waiting on the guest: it will not answer.
 * Says so and returns true. */
static bool guest_went_away(json_t *ev, const char *id, const char *before)
{
	const char *name = event_name(ev);

	if (strcmp(name, "SHUTDOWN") && strcmp(name, "RESET"))
		return false;
	errmsg("%s: the guest %s before %s (see memplugctl list)", id,
	       strcmp(name, "RESET") ? "shut down" : "was reset", before);
	return true;
}

/* After device_add: the guest's _OST for the insertion of id. */
static int wait_for_insert(struct qmpc *q, const char *id, int64_t start_ms,
			   double timeout)
{
	int64_t deadline = start_ms + (int64_t)(timeout * 1000.0);

	for (;;) {
		unsigned long long src, st;
		json_t *ev;
		int r;

		r = qmpc_next_event(q, deadline, &ev);
		if (r == -ETIMEDOUT) {
			errmsg("%s: no answer from the guest within %g s; the "
			       "DIMM stays plugged (see memplugctl list)", id,
			       timeout);
			return EXIT_TIMEOUT;
		}
		if (r < 0) {
			errmsg("%s", q->err);
			return EXIT_FAIL;
		}
		if (ost_for(ev, id, &src, &st) && src == OST_SRC_DEVICE_CHECK &&
		    !acpi_ost_status_pending(src, st)) {
			json_decref(ev);
			if (st == OST_SUCCESS) {
				printf("%s: guest accepted (OST success) after "
				       "%.1f s\n", id,
				       (double)(qmpc_now_ms() - start_ms) / 1000);
				return EXIT_OK;
			}
			errmsg("%s: guest refused: 0x%02llx %s (the DIMM stays "
			       "plugged; see memplugctl list)", id, st,
			       acpi_ost_status_name(src, st));
			return EXIT_REFUSED;
		}
		if (guest_went_away(ev, id, "answering the hot-add")) {
			json_decref(ev);
			return EXIT_FAIL;
		}
		json_decref(ev);
	}
}

/* memplug's MEMPLUG_PREALLOC_PROGRESS events for this backend, on stderr
 * (one line each: it may be a log, not a terminal). */
static void show_prealloc(void *ctx, json_t *ev)
{
	const char *memdev = ctx;
	json_t *data = json_object_get(ev, "data");
	const char *name = json_string_value(json_object_get(ev, "event"));
	const char *id = json_string_value(json_object_get(data, "id"));
	json_int_t done = json_integer_value(json_object_get(data, "done"));
	json_int_t size = json_integer_value(json_object_get(data, "size"));

	if (!name || strcmp(name, "MEMPLUG_PREALLOC_PROGRESS") || !id ||
	    strcmp(id, memdev) || size <= 0)
		return;
	fprintf(stderr, "memplugctl: preallocating %s: %lld of %lld MiB (%d%%)\n",
		memdev, (long long)(done >> 20), (long long)(size >> 20),
		(int)(done * 100 / size));
}

static int cmd_add(int argc, char **argv, const char *sock)
{
	enum { OPT_NODE = 256, OPT_ID, OPT_BACKEND, OPT_PREALLOC, OPT_SHARE,
	       OPT_WAIT, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "id", required_argument, NULL, OPT_ID },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "prealloc", no_argument, NULL, OPT_PREALLOC },
		{ "share", no_argument, NULL, OPT_SHARE },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 }
	};
	struct add_args a = { .node = -1, .qom_type = "memory-backend-ram",
			      .timeout = DEFAULT_TIMEOUT_S };
	char idbuf[64], memdev[300], err[sizeof(((struct qmpc *)0)->err)];
	json_t *args;
	struct qmpc q;
	int64_t start;
	unsigned int node;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case OPT_NODE:
			if (uint_parse(optarg, &node) < 0) {
				errmsg("add: --node %s: need a node number "
				       "(0, 1, ...)", optarg);
				return EXIT_FAIL;
			}
			a.node = node;
			break;
		case OPT_ID:
			if (!*optarg) {
				errmsg("add: --id needs a non-empty id");
				return EXIT_FAIL;
			}
			a.id = optarg;
			break;
		case OPT_BACKEND:
			if (parse_backend(optarg, &a) < 0)
				return EXIT_FAIL;
			break;
		case OPT_PREALLOC: a.prealloc = 1; break;
		case OPT_SHARE: a.share = 1; break;
		case OPT_WAIT: a.wait = 1; break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &a.timeout) < 0) {
				errmsg("add: --timeout %s: need a number of "
				       "seconds above 0", optarg);
				return EXIT_FAIL;
			}
			break;
		default:
			return bad_option("add", c, argv);
		}
	}
	if (optind >= argc) {
		errmsg("add: SIZE is missing, e.g. memplugctl add 1G");
		return EXIT_FAIL;
	}
	if (argc - optind > 1) {
		errmsg("add: unexpected argument \"%s\" after SIZE %s",
		       argv[optind + 1], argv[optind]);
		return EXIT_FAIL;
	}
	a.size_text = argv[optind];
	r = size_parse(a.size_text, SIZE_BYTES, &a.size);
	if (r < 0) {
		errmsg("add: \"%s\" is not a size (use a number with an "
		       "optional K, M, G or T suffix, e.g. 1G)", a.size_text);
		return EXIT_FAIL;
	}
	if (!a.size) {
		errmsg("add: SIZE %s: a DIMM needs a size above 0",
		       a.size_text);
		return EXIT_FAIL;
	}
	sock = resolve_socket(sock);
	if (!sock || connect_or_complain(&q, sock) < 0)
		return EXIT_FAIL;

	if (!a.id) {
		if (pick_id(&q, idbuf, sizeof(idbuf)) < 0)
			goto fail;
		a.id = idbuf;
	}
	snprintf(memdev, sizeof(memdev), "mem-%s", a.id);

	args = json_pack("{s:s, s:s, s:I}", "qom-type", a.qom_type, "id",
			 memdev, "size", (json_int_t)a.size);
	if (args && a.prealloc)
		json_object_set_new(args, "prealloc", json_true());
	if (args && a.share)
		json_object_set_new(args, "share", json_true());
	if (args && a.mem_path)
		json_object_set_new(args, "mem-path", json_string(a.mem_path));
	/* Preallocating gigabytes takes seconds: memplug reports progress. */
	q.on_event = show_prealloc;
	q.event_ctx = memdev;
	r = qmpc_execute(&q, "object-add", args, NULL);
	q.on_event = NULL;
	if (r < 0)
		goto fail;

	args = json_pack("{s:s, s:s, s:s}", "driver", "pc-dimm", "id", a.id,
			 "memdev", memdev);
	if (args && a.node >= 0)
		json_object_set_new(args, "node", json_integer(a.node));
	/* Events from now on are kept (queued while device_add waits for its
	 * reply); older ones cannot be about this insertion. */
	qmpc_drop_events(&q);
	start = qmpc_now_ms();
	r = qmpc_execute(&q, "device_add", args, NULL);
	if (r < 0) {
		memcpy(err, q.err, sizeof(err));
		if (r == -EREMOTEIO) {
			/* Leave nothing behind: the backend goes too. */
			if (qmpc_execute(&q, "object-del",
					json_pack("{s:s}", "id", memdev),
					NULL) < 0) {
				errmsg("%s", err);
				errmsg("%s: the backend %s it was to use could "
				       "not be deleted either: %s", a.id,
				       memdev, q.err);
				goto out_fail;
			}
		} else {
			errmsg("%s", err);
			errmsg("%s: the backend %s may be left behind; delete "
			       "it with: memplugctl raw '{\"execute\": "
			       "\"object-del\", \"arguments\": {\"id\": "
			       "\"%s\"}}'", a.id, memdev, memdev);
			goto out_fail;
		}
		errmsg("%s", err);
		goto out_fail;
	}
	printf("%s\n", a.id);
	fflush(stdout);
	r = a.wait ? wait_for_insert(&q, a.id, start, a.timeout) : EXIT_OK;
	qmpc_close(&q);
	return r;
fail:
	errmsg("%s", q.err);
out_fail:
	qmpc_close(&q);
	return EXIT_FAIL;
}

/* ---- remove ---- */

static int wait_for_removal(struct qmpc *q, const char *id, const char *memdev,
			    int64_t start_ms, double timeout)
{
	int64_t deadline = start_ms + (int64_t)(timeout * 1000.0);

	for (;;) {
		unsigned long long src, st;
		json_t *ev;
		int r;

		r = qmpc_next_event(q, deadline, &ev);
		if (r == -ETIMEDOUT) {
			errmsg("%s: the guest did not eject it within %g s; the "
			       "DIMM stays plugged (see memplugctl list)", id,
			       timeout);
			return EXIT_TIMEOUT;
		}
		if (r < 0) {
			errmsg("%s", q->err);
			return EXIT_FAIL;
		}
		if (deleted_event_for(ev, id)) {
			double secs = (double)(qmpc_now_ms() - start_ms) / 1000;

			json_decref(ev);
			if (!*memdev) {
				printf("%s: removed after %.1f s\n", id, secs);
				return EXIT_OK;
			}
			if (qmpc_execute(q, "object-del",
					json_pack("{s:s}", "id", memdev),
					NULL) < 0) {
				errmsg("%s: removed, but its backend %s stays: "
				       "%s", id, memdev, q->err);
				return EXIT_FAIL;
			}
			printf("%s: removed after %.1f s (backend %s deleted)\n",
			       id, secs, memdev);
			return EXIT_OK;
		}
		if (ost_for(ev, id, &src, &st) &&
		    (src == OST_SRC_EJECT_REQUEST || src == OST_SRC_EJECT) &&
		    st != OST_SUCCESS && !acpi_ost_status_pending(src, st)) {
			json_decref(ev);
			errmsg("%s: guest refused eject: 0x%02llx %s (the DIMM "
			       "stays plugged)", id, st,
			       acpi_ost_status_name(src, st));
			return EXIT_REFUSED;
		}
		if (guest_went_away(ev, id, "ejecting it")) {
			json_decref(ev);
			return EXIT_FAIL;
		}
		json_decref(ev);
	}
}

static int cmd_remove(int argc, char **argv, const char *sock)
{
	enum { OPT_WAIT = 256, OPT_TIMEOUT, OPT_CANCEL };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "cancel", no_argument, NULL, OPT_CANCEL },
		{ 0 }
	};
	struct memdev_find f = { 0 };
	double timeout = DEFAULT_TIMEOUT_S;
	int wait = 0, cancel = 0, timeout_given = 0, c, r;
	struct qmpc q;
	int64_t start;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case OPT_WAIT: wait = 1; break;
		case OPT_CANCEL: cancel = 1; break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &timeout) < 0) {
				errmsg("remove: --timeout %s: need a number of "
				       "seconds above 0", optarg);
				return EXIT_FAIL;
			}
			timeout_given = 1;
			break;
		default:
			return bad_option("remove", c, argv);
		}
	}
	if (optind >= argc) {
		errmsg("remove: ID is missing, e.g. memplugctl remove dimm0 "
		       "(memplugctl list shows the ids)");
		return EXIT_FAIL;
	}
	if (argc - optind > 1) {
		errmsg("remove: unexpected argument \"%s\" after ID %s",
		       argv[optind + 1], argv[optind]);
		return EXIT_FAIL;
	}
	f.id = argv[optind];
	if (cancel && (wait || timeout_given)) {
		errmsg("remove: --cancel takes neither --wait nor --timeout");
		return EXIT_FAIL;
	}
	sock = resolve_socket(sock);
	if (!sock || connect_or_complain(&q, sock) < 0)
		return EXIT_FAIL;
	if (cancel) {
		if (qmpc_execute(&q, "x-memplug-device-del-cancel",
				json_pack("{s:s}", "id", f.id), NULL) < 0) {
			errmsg("%s", q.err);
			goto fail;
		}
		printf("%s: removal cancelled\n", f.id);
		qmpc_close(&q);
		return EXIT_OK;
	}

	/* The backend to delete afterwards, while the DIMM still exists. */
	if (for_each_memory_device(&q, memdev_match, &f) < 0) {
		errmsg("%s", q.err);
		goto fail;
	}
	if (!f.found) {
		errmsg("%s: no such DIMM (memplugctl list shows the DIMMs)",
		       f.id);
		goto fail;
	}
	qmpc_drop_events(&q);
	start = qmpc_now_ms();
	if (qmpc_execute(&q, "device_del", json_pack("{s:s}", "id", f.id),
			NULL) < 0) {
		errmsg("%s", q.err);
		goto fail;
	}
	if (!wait) {
		if (*f.memdev)
			printf("%s: eject requested from the guest (its backend "
			       "%s is kept; remove --wait also deletes it)\n",
			       f.id, f.memdev);
		else
			printf("%s: eject requested from the guest\n", f.id);
		qmpc_close(&q);
		return EXIT_OK;
	}
	r = wait_for_removal(&q, f.id, f.memdev, start, timeout);
	qmpc_close(&q);
	return r;
fail:
	qmpc_close(&q);
	return EXIT_FAIL;
}

/* ---- list ---- */

#define LIST_COLS 8

static const char *list_header[LIST_COLS] = {
	"ID", "SLOT", "BASE", "SIZE", "NODE", "BACKEND", "STATE", "LAST-OST"
};

static void int_cell(json_t *v, const char *fmt, char *out, size_t len)
{
	if (json_is_integer(v))
		snprintf(out, len, fmt, (long long)json_integer_value(v));
	else
		snprintf(out, len, "-");
}

static void str_cell(json_t *v, char *out, size_t len)
{
	snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "-");
}

static void ost_cell(json_t *ost, char *out, size_t len)
{
	json_t *src = json_object_get(ost, "source");
	json_t *st = json_object_get(ost, "status");
	unsigned long long s, c;
	const char *kind;

	if (!json_is_integer(src) || !json_is_integer(st)) {
		snprintf(out, len, "-");
		return;
	}
	s = (unsigned long long)json_integer_value(src);
	c = (unsigned long long)json_integer_value(st);
	kind = acpi_ost_source_kind(s);
	if (kind)
		snprintf(out, len, "%s 0x%02llx %s", kind, c,
			 acpi_ost_status_name(s, c));
	else
		snprintf(out, len, "source 0x%llx 0x%02llx %s", s, c,
			 acpi_ost_status_name(s, c));
}

static void print_row(char cells[][128], const int *width)
{
	for (int i = 0; i < LIST_COLS; i++) {
		if (i == LIST_COLS - 1)
			printf("%s\n", cells[i]);
		else
			printf("%-*s  ", width[i], cells[i]);
	}
}

static int print_table(json_t *list)
{
	size_t n = json_array_size(list), i;
	char (*cells)[LIST_COLS][128];
	int width[LIST_COLS];
	json_t *d;

	cells = calloc(n + 1, sizeof(*cells));
	if (!cells) {
		errmsg("out of memory for a table of %zu DIMMs", n);
		return EXIT_FAIL;
	}
	for (int c = 0; c < LIST_COLS; c++)
		snprintf(cells[0][c], sizeof(cells[0][c]), "%s", list_header[c]);
	json_array_foreach(list, i, d) {
		char (*row)[128] = cells[i + 1];
		json_t *size = json_object_get(d, "size");

		str_cell(json_object_get(d, "id"), row[0], sizeof(row[0]));
		int_cell(json_object_get(d, "slot"), "%lld", row[1],
			 sizeof(row[1]));
		int_cell(json_object_get(d, "addr"), "0x%llx", row[2],
			 sizeof(row[2]));
		if (json_is_integer(size) && json_integer_value(size) >= 0)
			size_fmt((uint64_t)json_integer_value(size), row[3],
				 sizeof(row[3]));
		else
			snprintf(row[3], sizeof(row[3]), "-");
		int_cell(json_object_get(d, "node"), "%lld", row[4],
			 sizeof(row[4]));
		str_cell(json_object_get(d, "backend"), row[5], sizeof(row[5]));
		str_cell(json_object_get(d, "state"), row[6], sizeof(row[6]));
		ost_cell(json_object_get(d, "ost"), row[7], sizeof(row[7]));
	}
	for (int c = 0; c < LIST_COLS; c++) {
		width[c] = 0;
		for (i = 0; i <= n; i++) {
			int w = (int)strlen(cells[i][c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (i = 0; i <= n; i++)
		print_row(cells[i], width);
	free(cells);
	return EXIT_OK;
}

static int cmd_list(int argc, char **argv, const char *sock)
{
	enum { OPT_JSON = 256 };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 }
	};
	int as_json = 0, c, r;
	json_t *list;
	struct qmpc q;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case OPT_JSON: as_json = 1; break;
		default: return bad_option("list", c, argv);
		}
	}
	if (optind < argc) {
		errmsg("list: unexpected argument \"%s\"", argv[optind]);
		return EXIT_FAIL;
	}
	sock = resolve_socket(sock);
	if (!sock || connect_or_complain(&q, sock) < 0)
		return EXIT_FAIL;
	if (qmpc_execute(&q, "x-memplug-query-dimms", NULL, &list) < 0) {
		errmsg("%s", q.err);
		qmpc_close(&q);
		return EXIT_FAIL;
	}
	qmpc_close(&q);
	if (!json_is_array(list)) {
		errmsg("memplug's answer to x-memplug-query-dimms is not a list");
		json_decref(list);
		return EXIT_FAIL;
	}
	if (as_json) {
		char *text = json_dumps(list, JSON_COMPACT);

		r = text ? EXIT_OK : EXIT_FAIL;
		if (text)
			printf("%s\n", text);
		else
			errmsg("cannot encode the DIMM list as JSON");
		free(text);
	} else {
		r = print_table(list);
	}
	json_decref(list);
	return r;
}

/* ---- events ---- */

static int cmd_events(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int shut_down = 0, c;
	struct qmpc q;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return bad_option("events", c, argv);
		}
	}
	if (optind < argc) {
		errmsg("events: unexpected argument \"%s\"", argv[optind]);
		return EXIT_FAIL;
	}
	sock = resolve_socket(sock);
	if (!sock || connect_or_complain(&q, sock) < 0)
		return EXIT_FAIL;
	for (;;) {
		json_t *ev;
		char *text;
		int r = qmpc_next_event(&q, QMPC_FOREVER, &ev);

		if (r < 0) {
			qmpc_close(&q);
			/* The connection ending after SHUTDOWN is the VM
			 * stopping: the normal end of the stream. */
			if (r == -ECONNRESET && shut_down)
				return EXIT_OK;
			errmsg("%s", q.err);
			return EXIT_FAIL;
		}
		if (!strcmp(event_name(ev), "SHUTDOWN"))
			shut_down = 1;
		text = json_dumps(ev, JSON_COMPACT);
		json_decref(ev);
		if (text) {
			fputs(text, stdout);
			putchar('\n');
			free(text);
		}
		if (fflush(stdout) == EOF) {
			int e = errno;

			qmpc_close(&q);
			if (e == EPIPE)
				return EXIT_OK;	/* the reader went away */
			errmsg("writing events to stdout: %s", strerror(e));
			return EXIT_FAIL;
		}
	}
}

/* ---- raw ---- */

static int cmd_raw(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	json_t *cmd, *reply;
	json_error_t jerr;
	struct qmpc q;
	char *text;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: return bad_option("raw", c, argv);
		}
	}
	if (argc - optind != 1) {
		errmsg("raw: give exactly one JSON command, e.g. memplugctl raw "
		       "'{\"execute\": \"query-status\"}'");
		return EXIT_FAIL;
	}
	cmd = json_loads(argv[optind], JSON_DECODE_ANY, &jerr);
	if (!cmd) {
		errmsg("raw: '%s' is not JSON: %s at column %d", argv[optind],
		       jerr.text, jerr.column);
		return EXIT_FAIL;
	}
	if (!json_is_object(cmd) ||
	    !json_is_string(json_object_get(cmd, "execute"))) {
		errmsg("raw: '%s' is not a QMP command: need an object with "
		       "\"execute\", e.g. '{\"execute\": \"query-status\"}'",
		       argv[optind]);
		json_decref(cmd);
		return EXIT_FAIL;
	}
	sock = resolve_socket(sock);
	if (!sock || connect_or_complain(&q, sock) < 0) {
		json_decref(cmd);
		return EXIT_FAIL;
	}
	r = qmpc_transact(&q, cmd, &reply);
	json_decref(cmd);
	if (r < 0) {
		errmsg("%s", q.err);
		qmpc_close(&q);
		return EXIT_FAIL;
	}
	qmpc_close(&q);
	text = json_dumps(reply, JSON_COMPACT);
	r = json_object_get(reply, "error") ? EXIT_FAIL : EXIT_OK;
	json_decref(reply);
	if (!text) {
		errmsg("cannot encode memplug's reply as JSON");
		return EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return r;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv, const char *sock);
	} cmds[] = {
		{ "add", cmd_add },
		{ "remove", cmd_remove },
		{ "list", cmd_list },
		{ "events", cmd_events },
		{ "raw", cmd_raw },
	};
	const char *sock = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("memplugctl " MEMPLUGCTL_VERSION "\n");
			  return EXIT_OK;
		default: return bad_option("", c, argv);
		}
	}
	if (optind >= argc) {
		errmsg("no command given: add, remove, list, events or raw "
		       "(see memplugctl --help)");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			return cmds[i].fn(argc - optind, argv + optind, sock);
	errmsg("unknown command \"%s\": use add, remove, list, events or raw "
	       "(see memplugctl --help)", argv[optind]);
	return EXIT_FAIL;
}
