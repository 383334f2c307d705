/* memplugctl add: a backend (mem-ID) and a pc-dimm on it, removed again
 * if the DIMM cannot be plugged; --wait follows the guest's answer. */
#include <errno.h>
#include <string.h>

#include "acpi/ost.h"
#include "ctl/ctl.h"
#include "lib/size.h"

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
		ctl_err("add: --backend file needs the file's path: "
			"--backend file:PATH");
		return -EINVAL;
	} else {
		ctl_err("add: --backend %s: unknown backend (use ram, memfd or "
			"file:PATH)", s);
		return -EINVAL;
	}
	return 0;
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

/* After device_add: the guest's _OST for the insertion of id. */
static int wait_for_insert(struct qmpc *q, const char *id, int64_t start_ms,
			   double timeout)
{
	int64_t deadline = start_ms + (int64_t)(timeout * 1000.0);

	for (;;) {
		unsigned long long src, st;
		json_t *ev;
		int r = ctl_next_event(q, deadline, id, "no answer from the guest",
				       timeout, &ev);

		if (r != EXIT_OK)
			return r;
		if (ctl_ost_for(ev, id, &src, &st) &&
		    src == OST_SRC_DEVICE_CHECK &&
		    !acpi_ost_status_pending(src, st)) {
			json_decref(ev);
			if (st == OST_SUCCESS) {
				printf("%s: guest accepted (OST success) after "
				       "%.1f s\n", id,
				       (double)(qmpc_now_ms() - start_ms) / 1000);
				return EXIT_OK;
			}
			ctl_err("%s: guest refused: 0x%02llx %s (the DIMM stays "
				"plugged; see memplugctl list)", id, st,
				acpi_ost_status_name(src, st));
			return EXIT_REFUSED;
		}
		if (ctl_guest_went_away(ev, id, "answering the hot-add")) {
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

/* The command line of add into *a: -1 to go on, or the status to exit
 * with (help, or an error said). */
static int add_options(int argc, char **argv, const char **sock,
		       struct add_args *a)
{
	enum { OPT_NODE = 256, OPT_ID, OPT_BACKEND, OPT_PREALLOC, OPT_SHARE,
	       OPT_WAIT, OPT_TIMEOUT };
	static const struct option opts[] = {
		CTL_COMMON_OPTIONS,
		{ "node", required_argument, NULL, OPT_NODE },
		{ "id", required_argument, NULL, OPT_ID },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "prealloc", no_argument, NULL, OPT_PREALLOC },
		{ "share", no_argument, NULL, OPT_SHARE },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 }
	};
	unsigned int node;
	int c, status;

	optind = 0;
	while ((c = ctl_next_opt("add", argc, argv, opts, false, sock,
				 &status)) >= 0) {
		switch (c) {
		case OPT_NODE:
			if (uint_parse(optarg, &node) < 0) {
				ctl_err("add: --node %s: need a node number "
					"(0, 1, ...)", optarg);
				return EXIT_FAIL;
			}
			a->node = node;
			break;
		case OPT_ID:
			if (!*optarg) {
				ctl_err("add: --id needs a non-empty id");
				return EXIT_FAIL;
			}
			a->id = optarg;
			break;
		case OPT_BACKEND:
			if (parse_backend(optarg, a) < 0)
				return EXIT_FAIL;
			break;
		case OPT_PREALLOC: a->prealloc = 1; break;
		case OPT_SHARE: a->share = 1; break;
		case OPT_WAIT: a->wait = 1; break;
		case OPT_TIMEOUT:
			if (ctl_timeout("add", optarg, &a->timeout) < 0)
				return EXIT_FAIL;
			break;
		}
	}
	if (c == CTL_OPTS_EXIT)
		return status;
	if (optind >= argc) {
		ctl_err("add: SIZE is missing, e.g. memplugctl add 1G");
		return EXIT_FAIL;
	}
	if (ctl_no_more_args("add", argc, argv, 1, "SIZE") != EXIT_OK)
		return EXIT_FAIL;
	a->size_text = argv[optind];
	if (size_parse(a->size_text, SIZE_BYTES, &a->size) < 0) {
		ctl_err("add: \"%s\" is not a size (use a number with an "
			"optional K, M, G or T suffix, e.g. 1G)", a->size_text);
		return EXIT_FAIL;
	}
	if (!a->size) {
		ctl_err("add: SIZE %s: a DIMM needs a size above 0",
			a->size_text);
		return EXIT_FAIL;
	}
	return -1;
}

/* object-add of the backend memdev, its prealloc progress shown. */
static int add_backend(struct qmpc *q, const struct add_args *a,
		       char *memdev)
{
	json_t *args = json_pack("{s:s, s:s, s:I}", "qom-type", a->qom_type,
				 "id", memdev, "size", (json_int_t)a->size);
	int r;

	if (args && a->prealloc)
		json_object_set_new(args, "prealloc", json_true());
	if (args && a->share)
		json_object_set_new(args, "share", json_true());
	if (args && a->mem_path)
		json_object_set_new(args, "mem-path", json_string(a->mem_path));
	/* Preallocating gigabytes takes seconds: memplug reports progress. */
	q->on_event = show_prealloc;
	q->event_ctx = memdev;
	r = qmpc_execute(q, "object-add", args, NULL);
	q->on_event = NULL;
	return r;
}

/* device_add failed with q->err: the backend goes too if memplug refused
 * (nothing is left behind), else the user is told how to delete it. */
static void undo_backend(struct qmpc *q, const char *id, const char *memdev,
			 int r)
{
	char err[sizeof(q->err)];

	memcpy(err, q->err, sizeof(err));
	ctl_err("%s", err);
	if (r != -EREMOTEIO) {
		ctl_err("%s: the backend %s may be left behind; delete it with: "
			"memplugctl raw '{\"execute\": \"object-del\", "
			"\"arguments\": {\"id\": \"%s\"}}'", id, memdev, memdev);
		return;
	}
	if (qmpc_execute(q, "object-del", json_pack("{s:s}", "id", memdev),
			 NULL) < 0)
		ctl_err("%s: the backend %s it was to use could not be deleted "
			"either: %s", id, memdev, q->err);
}

int cmd_add(int argc, char **argv, const char *sock)
{
	struct add_args a = { .node = -1, .qom_type = "memory-backend-ram",
			      .timeout = CTL_DEFAULT_TIMEOUT_S };
	char idbuf[64], memdev[300];
	json_t *args;
	struct qmpc q;
	int64_t start;
	int r;

	if ((r = add_options(argc, argv, &sock, &a)) >= 0)
		return r;
	if (ctl_connect(&q, sock) < 0)
		return EXIT_FAIL;
	if (!a.id) {
		if (pick_id(&q, idbuf, sizeof(idbuf)) < 0)
			goto fail;
		a.id = idbuf;
	}
	snprintf(memdev, sizeof(memdev), "mem-%s", a.id);
	if (add_backend(&q, &a, memdev) < 0)
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
		undo_backend(&q, a.id, memdev, r);
		qmpc_close(&q);
		return EXIT_FAIL;
	}
	printf("%s\n", a.id);
	fflush(stdout);
	r = a.wait ? wait_for_insert(&q, a.id, start, a.timeout) : EXIT_OK;
	qmpc_close(&q);
	return r;
fail:
	ctl_err("%s", q.err);
	qmpc_close(&q);
	return EXIT_FAIL;
}
