/* AML byte-code emitter; see aml.h for the rules it enforces. Encodings are
 * from ACPI 6.3 chapter 20 and match what iasl 20200925 emits. */
#include "acpi/aml.h"
#include "acpi/aml_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME_SEGS 255 /* MultiNamePrefix count is one byte */
#define MAX_ARGS 7

static const struct {
	uint8_t code, nargs;
	bool stmt; /* Type1 opcode or named object: never an operand */
} ops[] = {
	[AML_STORE] = { 0x70, 2, false },
	[AML_ADD] = { 0x72, 3, false },
	[AML_SUBTRACT] = { 0x74, 3, false },
	[AML_INCREMENT] = { 0x75, 1, false },
	[AML_AND] = { 0x7b, 3, false },
	[AML_OR] = { 0x7d, 3, false },
	[AML_SHIFT_LEFT] = { 0x79, 3, false },
	[AML_LAND] = { 0x90, 2, false },
	[AML_LEQUAL] = { 0x93, 2, false },
	[AML_LLESS] = { 0x95, 2, false },
	[AML_LNOT] = { 0x92, 1, false },
	[AML_NOTIFY] = { 0x86, 2, true },
	[AML_RETURN] = { 0xa4, 1, true },
	[AML_CREATE_DWORD_FIELD] = { 0x8a, 3, true },
	[AML_CREATE_QWORD_FIELD] = { 0x8f, 3, true },
};

void amlp_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Room for n more bytes; false once anything has failed. */
static bool reserve(struct aml *a, size_t n)
{
	size_t cap = a->cap ? a->cap : 256;
	uint8_t *buf;

	if (a->err)
		return false;
	if (n <= a->cap - a->len)
		return true;
	while (cap - a->len < n) {
		if (cap > SIZE_MAX / 2) {
			amlp_fail(a, -ENOMEM);
			return false;
		}
		cap *= 2;
	}
	buf = realloc(a->buf, cap);
	if (!buf) {
		amlp_fail(a, -ENOMEM);
		return false;
	}
	a->buf = buf;
	a->cap = cap;
	return true;
}

void amlp_emit(struct aml *a, const void *p, size_t n)
{
	if (!n || !reserve(a, n)) /* p may be NULL when n is 0 */
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void amlp_emit_byte(struct aml *a, uint8_t b)
{
	amlp_emit(a, &b, 1);
}

void amlp_put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Insert n bytes at pos, moving what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (!reserve(a, n))
		return;
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

struct aml_frame *amlp_top(struct aml *a)
{
	return a->depth ? &a->stack[a->depth - 1] : NULL;
}

void amlp_push(struct aml *a, uint8_t kind, uint64_t count)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		amlp_fail(a, -E2BIG);
		return;
	}
	a->stack[a->depth++] =
		(struct aml_frame){ .kind = kind, .pos = a->len, .count = count };
}

/* A term may start here: anywhere but in a Field or a ResourceTemplate. */
bool amlp_term_begin(struct aml *a)
{
	const struct aml_frame *f = amlp_top(a);

	if (a->err)
		return false;
	if (f && (f->kind == K_FIELD || f->kind == K_RESOURCES)) {
		amlp_fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* A statement may start here: at the top level or in a body of terms, never
 * as an operand or a Package element. */
bool amlp_stmt_begin(struct aml *a)
{
	const struct aml_frame *f = amlp_top(a);

	if (a->err)
		return false;
	if (f && f->kind != K_TERMS && f->kind != K_IF) {
		amlp_fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* A whole term was emitted: it is one operand of the pending operator, which
 * may be complete in turn, or one element of a Package. */
void amlp_term_end(struct aml *a)
{
	while (!a->err && a->depth) {
		struct aml_frame *f = &a->stack[a->depth - 1];

		if (f->kind == K_PACKAGE)
			f->count++;
		if (f->kind != K_ARGS || --f->count)
			return;
		a->depth--;
	}
}

/* The operator just emitted takes nargs operands, which follow as terms. */
static void expect_args(struct aml *a, unsigned int nargs)
{
	if (nargs)
		amlp_push(a, K_ARGS, nargs);
	else
		amlp_term_end(a);
}

int aml_pkglen_encode(uint8_t out[4], uint32_t value)
{
	int n;

	if (value <= 0x3f) {
		out[0] = (uint8_t)value;
		return 1;
	}
	if (value > PKGLEN_MAX)
		return -E2BIG;
	n = value <= 0xfff ? 2 : value <= 0xfffff ? 3 : 4;
	/* Lead byte: count of following bytes in bits 7-6, low nibble in 3-0. */
	out[0] = (uint8_t)((n - 1) << 6 | (value & 0xf));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return n;
}

/* PkgLength in front of a body of body bytes: the length counts its own
 * encoding, so take the first size at which body + size still fits. */
static int pkglen_for_body(uint8_t out[4], size_t body)
{
	static const uint32_t max[] = { 0x3f, 0xfff, 0xfffff, PKGLEN_MAX };

	for (int n = 1; n <= 4; n++)
		if (body <= max[n - 1] - n)
			return aml_pkglen_encode(out, (uint32_t)(body + n));
	return -E2BIG;
}

size_t amlp_int_encode(uint8_t out[9], uint64_t v)
{
	size_t width;

	if (v == 0 || v == 1 || v == UINT64_MAX) {
		/* ZeroOp, OneOp, OnesOp (all ones in a revision 2 table) */
		out[0] = v == UINT64_MAX ? 0xff : (uint8_t)v;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = 0x0a;
		width = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = 0x0b;
		width = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = 0x0c;
		width = 4;
	} else {
		out[0] = 0x0e;
		width = 8;
	}
	amlp_put_le(out + 1, v, width);
	return 1 + width;
}

static bool seg_char(char c, bool lead)
{
	return c == '_' || (c >= 'A' && c <= 'Z') ||
	       (!lead && c >= '0' && c <= '9');
}

/* Length (1-4) of the NameSeg at s, which ends at '.' or the string's end;
 * 0 if it is not a valid NameSeg. */
size_t amlp_seg_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !seg_char(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

void amlp_emit_seg(struct aml *a, const char *s, size_t n)
{
	uint8_t seg[4] = { '_', '_', '_', '_' };

	memcpy(seg, s, n);
	amlp_emit(a, seg, sizeof(seg));
}

/* An ASL path as a NameString: '\' or '^'... prefix, then NullName, one
 * NameSeg, DualNamePrefix + 2 or MultiNamePrefix + count + segments. */
void amlp_emit_namestring(struct aml *a, const char *path)
{
	const char *p = path, *s;
	size_t nsegs = 0, n;

	if (*p == '\\')
		p++;
	else
		while (*p == '^')
			p++;
	for (s = p; *s; s += n + (s[n] == '.')) {
		n = amlp_seg_len(s);
		if (!n || (s[n] == '.' && !s[n + 1]) || ++nsegs > MAX_NAME_SEGS) {
			amlp_fail(a, -EINVAL);
			return;
		}
	}
	/* Only the root itself may have no segment: "\" is RootChar NullName. */
	if (!nsegs && (p == path || *path != '\\')) {
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit(a, path, (size_t)(p - path)); /* '\' is 0x5c, '^' is 0x5e */
	if (nsegs == 0)
		amlp_emit_byte(a, 0x00);
	else if (nsegs == 2)
		amlp_emit_byte(a, 0x2e);
	else if (nsegs > 2) {
		amlp_emit_byte(a, 0x2f);
		amlp_emit_byte(a, (uint8_t)nsegs);
	}
	for (s = p; *s; s += n + (s[n] == '.')) {
		n = amlp_seg_len(s);
		amlp_emit_seg(a, s, n);
	}
}

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
	a->if_end = SIZE_MAX;
}

int aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		amlp_fail(a, -EINVAL);
	return a->err;
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	if (!amlp_term_begin(a))
		return;
	amlp_emit(a, b, amlp_int_encode(b, v));
	amlp_term_end(a);
}

void aml_string(struct aml *a, const char *s)
{
	if (!amlp_term_begin(a))
		return;
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) { /* AsciiCharList is 0x01-0x7f */
			amlp_fail(a, -EINVAL);
			return;
		}
	}
	amlp_emit_byte(a, 0x0d);
	amlp_emit(a, s, strlen(s) + 1);
	amlp_term_end(a);
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	uint8_t pk[4], size[9];
	size_t nsize = amlp_int_encode(size, len);
	int npk;

	if (!amlp_term_begin(a))
		return;
	npk = pkglen_for_body(pk, nsize + len);
	if (npk < 0) {
		amlp_fail(a, npk);
		return;
	}
	amlp_emit_byte(a, 0x11);
	amlp_emit(a, pk, (size_t)npk);
	amlp_emit(a, size, nsize);
	amlp_emit(a, data, len);
	amlp_term_end(a);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		amlp_fail(a, -EINVAL);
		return;
	}
	/* Three letters of 5 bits ('A' = 1), four hex digits, stored as a
	 * big-endian 32-bit value. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			amlp_fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)(id[i] - '@') << (26 - 5 * i);
	}
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(id[3 + i]);

		if (d < 0) {
			amlp_fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)d << (12 - 4 * i);
	}
	aml_int(a, (v >> 24) | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) |
			   (v << 24 & 0xff000000));
}

/* Open a construct with a body: opcode, then (at aml_end) PkgLength. */
size_t amlp_begin(struct aml *a, const uint8_t *op, size_t oplen,
		    uint8_t kind)
{
	amlp_emit(a, op, oplen);
	amlp_push(a, kind, 0);
	return a->len;
}

size_t aml_package_begin(struct aml *a)
{
	static const uint8_t op[] = { 0x12 };

	if (!amlp_term_begin(a))
		return SIZE_MAX;
	return amlp_begin(a, op, sizeof(op), K_PACKAGE);
}

void aml_call(struct aml *a, const char *path, unsigned int nargs)
{
	if (!amlp_term_begin(a))
		return;
	if (nargs > MAX_ARGS) {
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit_namestring(a, path);
	expect_args(a, nargs);
}

void aml_name(struct aml *a, const char *path)
{
	aml_call(a, path, 0);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (!amlp_term_begin(a))
		return;
	if (n > 7) {
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit_byte(a, (uint8_t)(0x60 + n));
	amlp_term_end(a);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (!amlp_term_begin(a))
		return;
	if (n >= MAX_ARGS) {
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit_byte(a, (uint8_t)(0x68 + n));
	amlp_term_end(a);
}

void aml_no_target(struct aml *a)
{
	const struct aml_frame *f = amlp_top(a);

	if (a->err)
		return;
	if (!f || f->kind != K_ARGS) { /* only ever an operand */
		amlp_fail(a, -EINVAL);
		return;
	}
	amlp_emit_byte(a, 0x00);
	amlp_term_end(a);
}

void aml_op(struct aml *a, enum aml_opcode op)
{
	if ((unsigned int)op >= sizeof(ops) / sizeof(ops[0])) {
		amlp_fail(a, -EINVAL);
		return;
	}
	if (!(ops[op].stmt ? amlp_stmt_begin(a) : amlp_term_begin(a)))
		return;
	amlp_emit_byte(a, ops[op].code);
	expect_args(a, ops[op].nargs);
}

void aml_name_def(struct aml *a, const char *path)
{
	if (!amlp_stmt_begin(a))
		return;
	amlp_emit_byte(a, 0x08);
	amlp_emit_namestring(a, path);
	expect_args(a, 1);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	static const uint8_t op[] = { 0x10 };
	size_t mark;

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	mark = amlp_begin(a, op, sizeof(op), K_TERMS);
	amlp_emit_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	static const uint8_t op[] = { 0x5b, 0x82 };
	size_t mark;

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	mark = amlp_begin(a, op, sizeof(op), K_TERMS);
	amlp_emit_namestring(a, path);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
			bool serialized)
{
	static const uint8_t op[] = { 0x14 };
	size_t mark;

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	if (nargs > MAX_ARGS) {
		amlp_fail(a, -EINVAL);
		return SIZE_MAX;
	}
	mark = amlp_begin(a, op, sizeof(op), K_TERMS);
	amlp_emit_namestring(a, path);
	/* MethodFlags: ArgCount in bits 2-0, SerializeFlag in bit 3. */
	amlp_emit_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
	return mark;
}

/* If and While: the opcode, a package length, then one predicate. */
static size_t predicated_begin(struct aml *a, uint8_t opcode, uint8_t kind)
{
	size_t mark;

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	mark = amlp_begin(a, &opcode, 1, kind);
	amlp_push(a, K_ARGS, 1);
	return mark;
}

size_t aml_if_begin(struct aml *a)
{
	return predicated_begin(a, 0xa0, K_IF);
}

size_t aml_else_begin(struct aml *a)
{
	static const uint8_t op[] = { 0xa1 };

	if (!amlp_stmt_begin(a))
		return SIZE_MAX;
	if (a->len != a->if_end) {
		amlp_fail(a, -EINVAL);
		return SIZE_MAX;
	}
	return amlp_begin(a, op, sizeof(op), K_TERMS);
}

size_t aml_while_begin(struct aml *a)
{
	return predicated_begin(a, 0xa2, K_TERMS);
}

void aml_end(struct aml *a, size_t mark)
{
	static const uint8_t end_tag[] = { 0x79, 0x00 }; /* checksum 0: valid */
	struct aml_frame *f = amlp_top(a);
	uint8_t pre[4 + 9], inner[9];
	size_t ninner = 0;
	uint8_t kind;
	int npk;

	if (a->err)
		return;
	if (!f || f->kind == K_ARGS || f->pos != mark) {
		amlp_fail(a, -EINVAL);
		return;
	}
	kind = f->kind;
	if (kind == K_PACKAGE) {
		if (f->count > UINT8_MAX) { /* NumElements is one byte */
			amlp_fail(a, -E2BIG);
			return;
		}
		inner[ninner++] = (uint8_t)f->count;
	} else if (kind == K_RESOURCES) {
		amlp_emit(a, end_tag, sizeof(end_tag));
		ninner = amlp_int_encode(inner, a->len - f->pos); /* BufferSize */
	}
	npk = pkglen_for_body(pre, a->len - f->pos + ninner);
	if (npk < 0) {
		amlp_fail(a, npk);
		return;
	}
	memcpy(pre + npk, inner, ninner);
	insert(a, f->pos, pre, (size_t)npk + ninner);
	a->depth--;
	if (kind == K_IF)
		a->if_end = a->len;
	amlp_term_end(a);
}
