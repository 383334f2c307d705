/* memplugctl raw: one QMP command as given, its reply printed. */
#include <stdlib.h>

#include "ctl/ctl.h"

int cmd_raw(int argc, char **argv, const char *sock)
{
	static const struct option opts[] = { CTL_COMMON_OPTIONS, { 0 } };
	json_t *cmd, *reply;
	json_error_t jerr;
	struct qmpc q;
	char *text;
	int c, r;

	optind = 0;
	/* In order: the JSON is not an option, whatever it starts with. */
	while ((c = ctl_next_opt("raw", argc, argv, opts, true, &sock, &r)) >= 0)
		;
	if (c == CTL_OPTS_EXIT)
		return r;
	if (argc - optind != 1) {
		ctl_err("raw: give exactly one JSON command, e.g. memplugctl raw "
		        "'{\"execute\": \"query-status\"}'");
		return EXIT_FAIL;
	}
	cmd = json_loads(argv[optind], JSON_DECODE_ANY, &jerr);
	if (!cmd) {
		ctl_err("raw: '%s' is not JSON: %s at column %d", argv[optind],
		        jerr.text, jerr.column);
		return EXIT_FAIL;
	}
	if (!json_is_object(cmd) ||
	    !json_is_string(json_object_get(cmd, "execute"))) {
		ctl_err("raw: '%s' is not a QMP command: need an object with "
		        "\"execute\", e.g. '{\"execute\": \"query-status\"}'",
		        argv[optind]);
		json_decref(cmd);
		return EXIT_FAIL;
	}
	if (ctl_connect(&q, sock) < 0) {
		json_decref(cmd);
		return EXIT_FAIL;
	}
	r = qmpc_transact(&q, cmd, &reply);
	json_decref(cmd);
	if (r < 0) {
		ctl_err("%s", q.err);
		qmpc_close(&q);
		return EXIT_FAIL;
	}
	qmpc_close(&q);
	text = json_dumps(reply, JSON_COMPACT);
	r = json_object_get(reply, "error") ? EXIT_FAIL : EXIT_OK;
	json_decref(reply);
	if (!text) {
		ctl_err("cannot encode memplug's reply as JSON");
		return EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return r;
}
