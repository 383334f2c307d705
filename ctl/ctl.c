#include "ctl/ctl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("memplugctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_bad_option(const char *cmd, int c, char **argv)
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
		ctl_err("%s%soption %s needs a value (see memplugctl --help)",
			cmd, *cmd ? ": " : "", name);
	else
		ctl_err("%s%sunknown option %s (see memplugctl --help)",
			cmd, *cmd ? ": " : "", name);
	return EXIT_FAIL;
}

int ctl_next_opt(const char *cmd, int argc, char **argv,
		 const struct option *opts, bool in_order, const char **sock,
		 int *status)
{
	int c;

	while ((c = getopt_long(argc, argv, in_order ? "+:s:h" : ":s:h", opts,
				NULL)) == 's')
		*sock = optarg;
	if (c == 'h') {
		ctl_usage(stdout);
		*status = EXIT_OK;
		return CTL_OPTS_EXIT;
	}
	if (c == '?' || c == ':') {
		*status = ctl_bad_option(cmd, c, argv);
		return CTL_OPTS_EXIT;
	}
	return c < 0 ? CTL_OPTS_END : c;
}

int ctl_no_more_args(const char *cmd, int argc, char **argv, int n,
		     const char *what)
{
	if (argc - optind <= n)
		return EXIT_OK;
	if (what)
		ctl_err("%s: unexpected argument \"%s\" after %s %s", cmd,
			argv[optind + n], what, argv[optind + n - 1]);
	else
		ctl_err("%s: unexpected argument \"%s\"", cmd, argv[optind]);
	return EXIT_FAIL;
}

int ctl_timeout(const char *cmd, const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9) {
		ctl_err("%s: --timeout %s: need a number of seconds above 0",
			cmd, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ctl_connect(struct qmpc *q, const char *sock)
{
	const char *env = getenv("MEMPLUG_SOCKET");

	if (!sock || !*sock)
		sock = env;
	if (!sock || !*sock) {
		ctl_err("no control socket given: use -s SOCKET or set "
			"MEMPLUG_SOCKET to the PATH memplug was started with "
			"(memplug --control PATH)");
		return -1;
	}
	if (qmpc_open(q, sock) < 0) {
		ctl_err("%s", q->err);
		return -1;
	}
	return 0;
}

int ctl_next_event(struct qmpc *q, int64_t deadline, const char *id,
		   const char *what, double timeout, json_t **ev)
{
	int r = qmpc_next_event(q, deadline, ev);

	if (r == -ETIMEDOUT) {
		ctl_err("%s: %s within %g s; the DIMM stays plugged (see "
			"memplugctl list)", id, what, timeout);
		return EXIT_TIMEOUT;
	}
	if (r < 0) {
		ctl_err("%s", q->err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const char *ctl_event_name(json_t *ev)
{
	const char *n = json_string_value(json_object_get(ev, "event"));

	return n ? n : "";
}

int ctl_ost_for(json_t *ev, const char *id, unsigned long long *source,
		unsigned long long *status)
{
	json_t *info, *src, *st;
	const char *dev;

	if (strcmp(ctl_event_name(ev), "ACPI_DEVICE_OST"))
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

bool ctl_guest_went_away(json_t *ev, const char *id, const char *before)
{
	const char *name = ctl_event_name(ev);

	if (strcmp(name, "SHUTDOWN") && strcmp(name, "RESET"))
		return false;
	ctl_err("%s: the guest %s before %s (see memplugctl list)", id,
		strcmp(name, "RESET") ? "shut down" : "was reset", before);
	return true;
}
