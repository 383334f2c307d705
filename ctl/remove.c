/* memplugctl remove: device_del, and with --wait the DIMM's backend
 * deleted once the guest has ejected it; --cancel withdraws a removal. */
#include <errno.h>
#include <string.h>

#include "acpi/ost.h"
#include "ctl/ctl.h"

struct memdev_find {
	const char *id;
	char memdev[256];
	int found;
};

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

static int deleted_event_for(json_t *ev, const char *id)
{
	const char *dev;

	if (strcmp(ctl_event_name(ev), "DEVICE_DELETED"))
		return 0;
	dev = json_string_value(json_object_get(json_object_get(ev, "data"),
						"device"));
	return dev && !strcmp(dev, id);
}

/* DEVICE_DELETED for id: its backend memdev (if any) deleted. */
static int removed(struct qmpc *q, const char *id, const char *memdev,
		   int64_t start_ms)
{
	double secs = (double)(qmpc_now_ms() - start_ms) / 1000;

	if (!*memdev) {
		printf("%s: removed after %.1f s\n", id, secs);
		return EXIT_OK;
	}
	if (qmpc_execute(q, "object-del", json_pack("{s:s}", "id", memdev),
			 NULL) < 0) {
		ctl_err("%s: removed, but its backend %s stays: %s", id, memdev,
			q->err);
		return EXIT_FAIL;
	}
	printf("%s: removed after %.1f s (backend %s deleted)\n", id, secs,
	       memdev);
	return EXIT_OK;
}

static int wait_for_removal(struct qmpc *q, const char *id, const char *memdev,
			    int64_t start_ms, double timeout)
{
	int64_t deadline = start_ms + (int64_t)(timeout * 1000.0);

	for (;;) {
		unsigned long long src, st;
		json_t *ev;
		int r = ctl_next_event(q, deadline, id,
				       "the guest did not eject it", timeout,
				       &ev);

		if (r != EXIT_OK)
			return r;
		if (deleted_event_for(ev, id)) {
			json_decref(ev);
			return removed(q, id, memdev, start_ms);
		}
		if (ctl_ost_for(ev, id, &src, &st) &&
		    (src == OST_SRC_EJECT_REQUEST || src == OST_SRC_EJECT) &&
		    st != OST_SUCCESS && !acpi_ost_status_pending(src, st)) {
			json_decref(ev);
			ctl_err("%s: guest refused eject: 0x%02llx %s (the DIMM "
				"stays plugged)", id, st,
				acpi_ost_status_name(src, st));
			return EXIT_REFUSED;
		}
		if (ctl_guest_went_away(ev, id, "ejecting it")) {
			json_decref(ev);
			return EXIT_FAIL;
		}
		json_decref(ev);
	}
}

/* x-memplug-device-del-cancel of id. */
static int cancel_removal(struct qmpc *q, const char *id)
{
	if (qmpc_execute(q, "x-memplug-device-del-cancel",
			 json_pack("{s:s}", "id", id), NULL) < 0) {
		ctl_err("%s", q->err);
		return EXIT_FAIL;
	}
	printf("%s: removal cancelled\n", id);
	return EXIT_OK;
}

/* device_del of f->id, whose backend is found first (while the DIMM
 * still exists), then --wait's wait. */
static int request_removal(struct qmpc *q, struct memdev_find *f, int wait,
			   double timeout)
{
	int64_t start;

	if (for_each_memory_device(q, memdev_match, f) < 0) {
		ctl_err("%s", q->err);
		return EXIT_FAIL;
	}
	if (!f->found) {
		ctl_err("%s: no such DIMM (memplugctl list shows the DIMMs)",
			f->id);
		return EXIT_FAIL;
	}
	qmpc_drop_events(q);
	start = qmpc_now_ms();
	if (qmpc_execute(q, "device_del", json_pack("{s:s}", "id", f->id),
			 NULL) < 0) {
		ctl_err("%s", q->err);
		return EXIT_FAIL;
	}
	if (wait)
		return wait_for_removal(q, f->id, f->memdev, start, timeout);
	if (*f->memdev)
		printf("%s: eject requested from the guest (its backend %s is "
		       "kept; remove --wait also deletes it)\n", f->id,
		       f->memdev);
	else
		printf("%s: eject requested from the guest\n", f->id);
	return EXIT_OK;
}

int cmd_remove(int argc, char **argv, const char *sock)
{
	enum { OPT_WAIT = 256, OPT_TIMEOUT, OPT_CANCEL };
	static const struct option opts[] = {
		CTL_COMMON_OPTIONS,
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "cancel", no_argument, NULL, OPT_CANCEL },
		{ 0 }
	};
	struct memdev_find f = { 0 };
	double timeout = CTL_DEFAULT_TIMEOUT_S;
	int wait = 0, cancel = 0, timeout_given = 0, c, r;
	struct qmpc q;

	optind = 0;
	while ((c = ctl_next_opt("remove", argc, argv, opts, false, &sock,
				 &r)) >= 0) {
		switch (c) {
		case OPT_WAIT: wait = 1; break;
		case OPT_CANCEL: cancel = 1; break;
		case OPT_TIMEOUT:
			if (ctl_timeout("remove", optarg, &timeout) < 0)
				return EXIT_FAIL;
			timeout_given = 1;
			break;
		}
	}
	if (c == CTL_OPTS_EXIT)
		return r;
	if (optind >= argc) {
		ctl_err("remove: ID is missing, e.g. memplugctl remove dimm0 "
			"(memplugctl list shows the ids)");
		return EXIT_FAIL;
	}
	if (ctl_no_more_args("remove", argc, argv, 1, "ID") != EXIT_OK)
		return EXIT_FAIL;
	f.id = argv[optind];
	if (cancel && (wait || timeout_given)) {
		ctl_err("remove: --cancel takes neither --wait nor --timeout");
		return EXIT_FAIL;
	}
	if (ctl_connect(&q, sock) < 0)
		return EXIT_FAIL;
	r = cancel ? cancel_removal(&q, f.id)
		   : request_removal(&q, &f, wait, timeout);
	qmpc_close(&q);
	return r;
}
