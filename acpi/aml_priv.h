/* What acpi/aml.c's parts share: the frame kinds and the emitter's
 * primitives, for aml.c (the buffer, names, terms, bodies) and aml_res.c
 * (mutexes, operation regions, fields, resource templates). Not an API:
 * aml.h is. */
#ifndef MEMPLUG_ACPI_AML_PRIV_H
#define MEMPLUG_ACPI_AML_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/aml.h"

enum frame_kind {
	K_ARGS,	     /* an operator waiting for count more operands */
	K_TERMS,     /* Scope, Device, Method, Else, While body */
	K_IF,	     /* If body: like K_TERMS, and an Else may follow it */
	K_PACKAGE,   /* data terms, counted into NumElements */
	K_FIELD,     /* field elements; count is the next bit offset */
	K_RESOURCES, /* resource descriptors, closed with an EndTag */
};

/* PkgLength's largest value (28 bits). */
#define PKGLEN_MAX 0x0fffffffu

void amlp_fail(struct aml *a, int err);
void amlp_emit(struct aml *a, const void *p, size_t n);
void amlp_emit_byte(struct aml *a, uint8_t b);
void amlp_put_le(uint8_t *p, uint64_t v, size_t n);
struct aml_frame *amlp_top(struct aml *a);
void amlp_push(struct aml *a, uint8_t kind, uint64_t count);
/* A term may start here; a statement may start here. */
bool amlp_term_begin(struct aml *a);
bool amlp_stmt_begin(struct aml *a);
/* A whole term was emitted. */
void amlp_term_end(struct aml *a);
/* Open a construct with a body: opcode, then (at aml_end) PkgLength. */
size_t amlp_begin(struct aml *a, const uint8_t *op, size_t oplen,
		  uint8_t kind);
void amlp_emit_namestring(struct aml *a, const char *path);
size_t amlp_int_encode(uint8_t out[9], uint64_t v);
/* A NameSeg: its length (1-4, or 0 if not one); emitted padded with _. */
size_t amlp_seg_len(const char *s);
void amlp_emit_seg(struct aml *a, const char *s, size_t n);

#endif
