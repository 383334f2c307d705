#include "lib/size.h"
#include "tests/unit.h"

static void sizes(void)
{
	uint64_t v;

	CHECK_EQ(size_parse("256M", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 256ULL << 20);
	CHECK_EQ(size_parse("1g", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 1ULL << 30);
	CHECK_EQ(size_parse("2T", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 2ULL << 40);
	CHECK_EQ(size_parse("4096", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(size_parse("64K", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(size_parse("", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("M", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("-1G", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("1.5Q", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("12Q", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("1GB", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("99999999999999999999", SIZE_BYTES, &v), -EINVAL);
	/* overflows */
	CHECK_EQ(size_parse("20000000T", SIZE_BYTES, &v), -EINVAL);
}

/* The caller says what a bare number counts (QEMU's -m: MiB); a suffix
 * overrides it, and the product must still fit 64 bits. */
static void bare_number_counts_the_callers_unit(void)
{
	uint64_t v;

	CHECK_EQ(size_parse("512", 1ULL << 20, &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(size_parse("2G", 1ULL << 20, &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(size_parse("17592186044416", 1ULL << 20, &v), -EINVAL);
	CHECK_EQ(size_parse("1", 0, &v), -EINVAL);
}

static void fmt_size_picks_largest_exact_unit(void)
{
	char b[32];

	CHECK_STR(size_fmt(0, b, sizeof(b)), "0");
	CHECK_STR(size_fmt(100, b, sizeof(b)), "100");
	CHECK_STR(size_fmt(1536 * 1024, b, sizeof(b)), "1536K");
	CHECK_STR(size_fmt(128 << 20, b, sizeof(b)), "128M");
	CHECK_STR(size_fmt(3ULL << 30, b, sizeof(b)), "3G");
	CHECK_STR(size_fmt(2048ULL << 30, b, sizeof(b)), "2T");
}

static void counts(void)
{
	unsigned int v;

	CHECK_EQ(uint_parse("0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(uint_parse("4294967295", &v), 0);
	CHECK_EQ(v, 4294967295u);
	CHECK_EQ(uint_parse("4294967296", &v), -EINVAL);
	CHECK_EQ(uint_parse("1K", &v), -EINVAL);
	CHECK_EQ(uint_parse("-1", &v), -EINVAL);
	CHECK_EQ(uint_parse("", &v), -EINVAL);
}

/* QEMU takes fractions ("1.5G") and counts a bare -m in MiB. */
static void fractions_and_units(void)
{
	uint64_t v;

	CHECK_EQ(size_parse("1.5G", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 3ULL << 29);
	CHECK_EQ(size_parse("0.25M", SIZE_BYTES, &v), 0);
	CHECK_EQ(v, 256 << 10);
	CHECK_EQ(size_parse("512", SIZE_MIB, &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(size_parse("1.5", SIZE_MIB, &v), 0);
	CHECK_EQ(v, 3ULL << 19);
	/* Not a whole number of bytes, no digits after the point, a bare
	 * point: refused. */
	CHECK_EQ(size_parse("1.5", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("0.1K", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("1.G", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse(".5G", SIZE_BYTES, &v), -EINVAL);
	CHECK_EQ(size_parse("16383.99999999T", SIZE_BYTES, &v), -EINVAL);
}

UNIT_MAIN(UNIT_CASE(fractions_and_units), UNIT_CASE(sizes), UNIT_CASE(bare_number_counts_the_callers_unit),
	  UNIT_CASE(fmt_size_picks_largest_exact_unit), UNIT_CASE(counts))
