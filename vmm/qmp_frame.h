/* QMP's framing as QEMU's JSON streamer does it: the input is split into
 * top-level JSON values by the nesting depth of braces and brackets,
 * strings and their escapes respected, so a value needs no newline, may
 * span lines or share one with the next. Pure: a state and one byte at a
 * time; the parser proper (jansson) then reads each value. */
#ifndef MEMPLUG_VMM_QMP_FRAME_H
#define MEMPLUG_VMM_QMP_FRAME_H

#include <stdbool.h>

struct qmp_frame {
	bool in_value;  /* between a value's first byte and its end */
	bool in_string, escaped; /* inside a string, after a backslash */
	bool scalar;    /* a bare top-level scalar: it ends at a delimiter */
	int depth;
};

/* A value begins (with a byte that is not white space). */
void qmp_frame_start(struct qmp_frame *f);
/* One byte of the value: 1 when the value ends with it, -1 when it ended
 * just before it (a scalar's delimiter belongs to what follows), else 0.
 * A closer that matches nothing ends the value too: the parser answers
 * it. */
int qmp_frame_step(struct qmp_frame *f, char ch);

#endif
