/* Sizes and counts as users write them on command lines and in QMP. */
#ifndef MEMPLUG_LIB_SIZE_H
#define MEMPLUG_LIB_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* What a bare number counts for memplug's options, memplugctl's and QMP's
 * sizes (QEMU's -m would count MiB, hence the parser's unit argument). */
#define SIZE_BYTES 1ULL
#define SIZE_MIB (1ULL << 20) /* QEMU's -m */

/* Parses "256M", "1G", "1.5G", "4096": a decimal number, maybe with a
 * fraction, and an optional K/M/G/T suffix (powers of 1024); without one
 * the number counts units of unit. The result must be a whole number of
 * bytes. Returns 0 or -EINVAL (also for a value past 64 bits). */
int size_parse(const char *s, uint64_t unit, uint64_t *out);

/* Formats a byte count the way size_parse takes it, in the largest unit
 * that divides it: "256M", "1G", "1536K", "100". Returns buf. */
const char *size_fmt(uint64_t bytes, char *buf, size_t len);

/* Parses a plain decimal number ("0", "12") that fits an unsigned int.
 * Returns 0 or -EINVAL. */
int uint_parse(const char *s, unsigned int *out);

#endif
