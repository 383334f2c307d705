/* AML byte-code emitter; see aml.h for the rules it enforces. Encodings are
 * from ACPI 6.3 chapter 20 and match what iasl 20200925 emits. */
#include "acpi/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum frame_kind {
	K_ARGS,	     /* an operator waiting for count more operands */
	K_TERMS,     /* Scope, Device, Method, Else, While body */
	K_IF,	     /* If body: like K_TERMS, and an Else may follow it */
	K_PACKAGE,   /* data terms, counted into NumElements */
	K_FIELD,     /* field elements; count is the next bit offset */
	K_RESOURCES, /* resource descriptors, closed with an EndTag */
};

#define PKGLEN_MAX 0x0fffffffu
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

static void fail(struct aml *a, int err)
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
			fail(a, -ENOMEM);
			return false;
		}
		cap *= 2;
	}
	buf = realloc(a->buf, cap);
	if (!buf) {
		fail(a, -ENOMEM);
		return false;
	}
	a->buf = buf;
	a->cap = cap;
	return true;
}

static void emit(struct aml *a, const void *p, size_t n)
{
	if (!n || !reserve(a, n)) /* p may be NULL when n is 0 */
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void emit_byte(struct aml *a, uint8_t b)
{
	emit(a, &b, 1);
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
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

static struct aml_frame *top(struct aml *a)
{
	return a->depth ? &a->stack[a->depth - 1] : NULL;
}

static void push(struct aml *a, uint8_t kind, uint64_t count)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -E2BIG);
		return;
	}
	a->stack[a->depth++] =
		(struct aml_frame){ .kind = kind, .pos = a->len, .count = count };
}

/* A term may start here: anywhere but in a Field or a ResourceTemplate. */
static bool term_begin(struct aml *a)
{
	const struct aml_frame *f = top(a);

	if (a->err)
		return false;
	if (f && (f->kind == K_FIELD || f->kind == K_RESOURCES)) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* A statement may start here: at the top level or in a body of terms, never
 * as an operand or a Package element. */
static bool stmt_begin(struct aml *a)
{
	const struct aml_frame *f = top(a);

	if (a->err)
		return false;
	if (f && f->kind != K_TERMS && f->kind != K_IF) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* A whole term was emitted: it is one operand of the pending operator, which
 * may be complete in turn, or one element of a Package. */
static void term_end(struct aml *a)
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
		push(a, K_ARGS, nargs);
	else
		term_end(a);
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

static size_t int_encode(uint8_t out[9], uint64_t v)
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
	put_le(out + 1, v, width);
	return 1 + width;
}

static bool seg_char(char c, bool lead)
{
	return c == '_' || (c >= 'A' && c <= 'Z') ||
	       (!lead && c >= '0' && c <= '9');
}

/* Length (1-4) of the NameSeg at s, which ends at '.' or the string's end;
 * 0 if it is not a valid NameSeg. */
static size_t seg_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !seg_char(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

static void emit_seg(struct aml *a, const char *s, size_t n)
{
	uint8_t seg[4] = { '_', '_', '_', '_' };

	memcpy(seg, s, n);
	emit(a, seg, sizeof(seg));
}

/* An ASL path as a NameString: '\' or '^'... prefix, then NullName, one
 * NameSeg, DualNamePrefix + 2 or MultiNamePrefix + count + segments. */
static void emit_namestring(struct aml *a, const char *path)
{
	const char *p = path, *s;
	size_t nsegs = 0, n;

	if (*p == '\\')
		p++;
	else
		while (*p == '^')
			p++;
	for (s = p; *s; s += n + (s[n] == '.')) {
		n = seg_len(s);
		if (!n || (s[n] == '.' && !s[n + 1]) || ++nsegs > MAX_NAME_SEGS) {
			fail(a, -EINVAL);
			return;
		}
	}
	/* Only the root itself may have no segment: "\" is RootChar NullName. */
	if (!nsegs && (p == path || *path != '\\')) {
		fail(a, -EINVAL);
		return;
	}
	emit(a, path, (size_t)(p - path)); /* '\' is 0x5c, '^' is 0x5e */
	if (nsegs == 0)
		emit_byte(a, 0x00);
	else if (nsegs == 2)
		emit_byte(a, 0x2e);
	else if (nsegs > 2) {
		emit_byte(a, 0x2f);
		emit_byte(a, (uint8_t)nsegs);
	}
	for (s = p; *s; s += n + (s[n] == '.')) {
		n = seg_len(s);
		emit_seg(a, s, n);
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
		fail(a, -EINVAL);
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

	if (!term_begin(a))
		return;
	emit(a, b, int_encode(b, v));
	term_end(a);
}

void aml_string(struct aml *a, const char *s)
{
	if (!term_begin(a))
		return;
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) { /* AsciiCharList is 0x01-0x7f */
			fail(a, -EINVAL);
			return;
		}
	}
	emit_byte(a, 0x0d);
	emit(a, s, strlen(s) + 1);
	term_end(a);
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	uint8_t pk[4], size[9];
	size_t nsize = int_encode(size, len);
	int npk;

	if (!term_begin(a))
		return;
	npk = pkglen_for_body(pk, nsize + len);
	if (npk < 0) {
		fail(a, npk);
		return;
	}
	emit_byte(a, 0x11);
	emit(a, pk, (size_t)npk);
	emit(a, size, nsize);
	emit(a, data, len);
	term_end(a);
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
		fail(a, -EINVAL);
		return;
	}
	/* Three letters of 5 bits ('A' = 1), four hex digits, stored as a
	 * big-endian 32-bit value. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)(id[i] - '@') << (26 - 5 * i);
	}
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(id[3 + i]);

		if (d < 0) {
			fail(a, -EINVAL);
			return;
		}
		v |= (uint32_t)d << (12 - 4 * i);
	}
	aml_int(a, (v >> 24) | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) |
			   (v << 24 & 0xff000000));
}

/* Open a construct with a body: opcode, then (at aml_end) PkgLength. */
static size_t begin(struct aml *a, const uint8_t *op, size_t oplen,
		    uint8_t kind)
{
	emit(a, op, oplen);
	push(a, kind, 0);
	return a->len;
}

size_t aml_package_begin(struct aml *a)
{
	static const uint8_t op[] = { 0x12 };

	if (!term_begin(a))
		return SIZE_MAX;
	return begin(a, op, sizeof(op), K_PACKAGE);
}

void aml_call(struct aml *a, const char *path, unsigned int nargs)
{
	if (!term_begin(a))
		return;
	if (nargs > MAX_ARGS) {
		fail(a, -EINVAL);
		return;
	}
	emit_namestring(a, path);
	expect_args(a, nargs);
}

void aml_name(struct aml *a, const char *path)
{
	aml_call(a, path, 0);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (!term_begin(a))
		return;
	if (n > 7) {
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, (uint8_t)(0x60 + n));
	term_end(a);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (!term_begin(a))
		return;
	if (n >= MAX_ARGS) {
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, (uint8_t)(0x68 + n));
	term_end(a);
}

void aml_no_target(struct aml *a)
{
	const struct aml_frame *f = top(a);

	if (a->err)
		return;
	if (!f || f->kind != K_ARGS) { /* only ever an operand */
		fail(a, -EINVAL);
		return;
	}
	emit_byte(a, 0x00);
	term_end(a);
}

void aml_op(struct aml *a, enum aml_opcode op)
{
	if ((unsigned int)op >= sizeof(ops) / sizeof(ops[0])) {
		fail(a, -EINVAL);
		return;
	}
	if (!(ops[op].stmt ? stmt_begin(a) : term_begin(a)))
		return;
	emit_byte(a, ops[op].code);
	expect_args(a, ops[op].nargs);
}

void aml_name_def(struct aml *a, const char *path)
{
	if (!stmt_begin(a))
		return;
	emit_byte(a, 0x08);
	emit_namestring(a, path);
	expect_args(a, 1);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	static const uint8_t op[] = { 0x10 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	mark = begin(a, op, sizeof(op), K_TERMS);
	emit_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	static const uint8_t op[] = { 0x5b, 0x82 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	mark = begin(a, op, sizeof(op), K_TERMS);
	emit_namestring(a, path);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
			bool serialized)
{
	static const uint8_t op[] = { 0x14 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	if (nargs > MAX_ARGS) {
		fail(a, -EINVAL);
		return SIZE_MAX;
	}
	mark = begin(a, op, sizeof(op), K_TERMS);
	emit_namestring(a, path);
	/* MethodFlags: ArgCount in bits 2-0, SerializeFlag in bit 3. */
	emit_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
	return mark;
}

void aml_mutex(struct aml *a, const char *path, unsigned int sync_level)
{
	static const uint8_t op[] = { 0x5b, 0x01 };

	if (!stmt_begin(a))
		return;
	if (sync_level > 15) {
		fail(a, -EINVAL);
		return;
	}
	emit(a, op, sizeof(op));
	emit_namestring(a, path);
	emit_byte(a, (uint8_t)sync_level);
	term_end(a);
}

void aml_acquire(struct aml *a, const char *mutex, uint16_t timeout_ms)
{
	static const uint8_t op[] = { 0x5b, 0x23 };
	uint8_t t[2];

	/* Not a statement: Acquire returns whether it timed out. */
	if (!term_begin(a))
		return;
	emit(a, op, sizeof(op));
	emit_namestring(a, mutex);
	put_le(t, timeout_ms, sizeof(t));
	emit(a, t, sizeof(t));
	term_end(a);
}

void aml_release(struct aml *a, const char *mutex)
{
	static const uint8_t op[] = { 0x5b, 0x27 };

	if (!stmt_begin(a))
		return;
	emit(a, op, sizeof(op));
	emit_namestring(a, mutex);
	term_end(a);
}

void aml_op_region(struct aml *a, const char *path, uint8_t space,
		   uint64_t offset, uint64_t len)
{
	static const uint8_t op[] = { 0x5b, 0x80 };
	uint8_t b[9];

	if (!stmt_begin(a))
		return;
	emit(a, op, sizeof(op));
	emit_namestring(a, path);
	emit_byte(a, space);
	emit(a, b, int_encode(b, offset));
	emit(a, b, int_encode(b, len));
	term_end(a);
}

size_t aml_field_begin(struct aml *a, const char *region,
		       enum aml_field_access access, bool lock,
		       enum aml_field_update update)
{
	static const uint8_t op[] = { 0x5b, 0x81 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	if (access > AML_BUFFER_ACC || update > AML_WRITE_AS_ZEROS) {
		fail(a, -EINVAL);
		return SIZE_MAX;
	}
	mark = begin(a, op, sizeof(op), K_FIELD);
	emit_namestring(a, region);
	/* FieldFlags: AccessType 3-0, LockRule 4, UpdateRule 6-5. */
	emit_byte(a, (uint8_t)(access | (lock ? 0x10 : 0) | update << 5));
	return mark;
}

static struct aml_frame *in_field(struct aml *a)
{
	struct aml_frame *f = top(a);

	if (a->err)
		return NULL;
	if (!f || f->kind != K_FIELD) {
		fail(a, -EINVAL);
		return NULL;
	}
	return f;
}

/* A field element: lead (NameSeg or ReservedField 0x00), width in bits as
 * a plain PkgLength. */
static void field_element(struct aml *a, struct aml_frame *f,
			  const char *seg, uint64_t bits)
{
	uint8_t pk[4];
	int npk = -EINVAL;

	if (bits > PKGLEN_MAX)
		npk = -E2BIG;
	else if (bits)
		npk = aml_pkglen_encode(pk, (uint32_t)bits);
	if (npk < 0) {
		fail(a, npk);
		return;
	}
	if (seg)
		emit_seg(a, seg, strlen(seg));
	else
		emit_byte(a, 0x00);
	emit(a, pk, (size_t)npk);
	f->count += bits;
}

void aml_field_unit(struct aml *a, const char *seg, uint32_t bits)
{
	struct aml_frame *f = in_field(a);

	if (!f)
		return;
	if (!seg_len(seg) || seg[seg_len(seg)]) {
		fail(a, -EINVAL);
		return;
	}
	field_element(a, f, seg, bits);
}

void aml_field_reserved(struct aml *a, uint32_t bits)
{
	struct aml_frame *f = in_field(a);

	if (f)
		field_element(a, f, NULL, bits);
}

void aml_field_offset(struct aml *a, uint32_t byte)
{
	struct aml_frame *f = in_field(a);
	uint64_t bit = (uint64_t)byte * 8;

	if (!f)
		return;
	if (bit < f->count) { /* fields only go forward */
		fail(a, -EINVAL);
		return;
	}
	if (bit > f->count) /* like iasl: Offset at the current bit is empty */
		field_element(a, f, NULL, bit - f->count);
}

size_t aml_if_begin(struct aml *a)
{
	static const uint8_t op[] = { 0xa0 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	mark = begin(a, op, sizeof(op), K_IF);
	push(a, K_ARGS, 1); /* the predicate */
	return mark;
}

size_t aml_else_begin(struct aml *a)
{
	static const uint8_t op[] = { 0xa1 };

	if (!stmt_begin(a))
		return SIZE_MAX;
	if (a->len != a->if_end) {
		fail(a, -EINVAL);
		return SIZE_MAX;
	}
	return begin(a, op, sizeof(op), K_TERMS);
}

size_t aml_while_begin(struct aml *a)
{
	static const uint8_t op[] = { 0xa2 };
	size_t mark;

	if (!stmt_begin(a))
		return SIZE_MAX;
	mark = begin(a, op, sizeof(op), K_TERMS);
	push(a, K_ARGS, 1); /* the predicate */
	return mark;
}

size_t aml_restemplate_begin(struct aml *a)
{
	static const uint8_t op[] = { 0x11 };

	if (!term_begin(a))
		return SIZE_MAX;
	return begin(a, op, sizeof(op), K_RESOURCES);
}

static bool in_resources(struct aml *a)
{
	const struct aml_frame *f = top(a);

	if (a->err)
		return false;
	if (!f || f->kind != K_RESOURCES) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max,
		uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, decode16 ? 1 : 0 }; /* small item, 7 bytes */

	if (!in_resources(a))
		return;
	put_le(d + 2, min, 2);
	put_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	emit(a, d, sizeof(d));
}

/* Large address space descriptor: tag, length, resource type, flags, then
 * granularity, min, max, translation, length, each width bytes. */
static void addr_space(struct aml *a, uint8_t tag, uint8_t type,
		       const struct aml_addr_space *r, size_t width)
{
	const uint64_t v[] = { r->granularity, r->min, r->max, r->translation,
			       r->length };
	uint8_t d[6 + 5 * 8] = { tag, 0, 0, type, r->flags, r->type_flags };
	size_t n = 6 + 5 * width;

	if (!in_resources(a))
		return;
	put_le(d + 1, n - 3, 2);
	for (size_t i = 0; i < 5; i++) {
		if (width < 8 && v[i] >> (8 * width)) {
			fail(a, -ERANGE);
			return;
		}
		put_le(d + 6 + i * width, v[i], width);
	}
	emit(a, d, n);
}

void aml_res_word_io(struct aml *a, const struct aml_addr_space *r)
{
	addr_space(a, 0x88, 1, r, 2);
}

void aml_res_qword_memory(struct aml *a, const struct aml_addr_space *r)
{
	addr_space(a, 0x8a, 0, r, 8);
}

void aml_end(struct aml *a, size_t mark)
{
	static const uint8_t end_tag[] = { 0x79, 0x00 }; /* checksum 0: valid */
	struct aml_frame *f = top(a);
	uint8_t pre[4 + 9], inner[9];
	size_t ninner = 0;
	uint8_t kind;
	int npk;

	if (a->err)
		return;
	if (!f || f->kind == K_ARGS || f->pos != mark) {
		fail(a, -EINVAL);
		return;
	}
	kind = f->kind;
	if (kind == K_PACKAGE) {
		if (f->count > UINT8_MAX) { /* NumElements is one byte */
			fail(a, -E2BIG);
			return;
		}
		inner[ninner++] = (uint8_t)f->count;
	} else if (kind == K_RESOURCES) {
		emit(a, end_tag, sizeof(end_tag));
		ninner = int_encode(inner, a->len - f->pos); /* BufferSize */
	}
	npk = pkglen_for_body(pre, a->len - f->pos + ninner);
	if (npk < 0) {
		fail(a, npk);
		return;
	}
	memcpy(pre + npk, inner, ninner);
	insert(a, f->pos, pre, (size_t)npk + ninner);
	a->depth--;
	if (kind == K_IF)
		a->if_end = a->len;
	term_end(a);
}
