#include <elf.h>
#include <stdlib.h>
#include <unistd.h>

#include "firmware/boot.h"
#include "firmware/cpu.h"
#include "include/memplug/layout.h"
#include "tests/unit.h"

#define RAM (32ULL << 20)

static struct guest_mem mem;
static char err[256];

static void ram_init(void)
{
	static uint8_t *ram;

	if (!ram)
		ram = calloc(1, RAM);
	memset(ram, 0, RAM);
	mem = (struct guest_mem){ .n = 1 };
	mem.r[0].gpa = 0;
	mem.r[0].size = RAM;
	mem.r[0].hva = ram;
}

static const char *write_tmp(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/memplug-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return NULL;
	close(fd);
	return path;
}

/* A minimal vmlinux-like ELF: one segment at paddr with 16 bytes of code
 * and 4 KiB of bss. */
static size_t make_elf(uint8_t *buf, uint64_t paddr, uint64_t entry)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	size_t code_off = sizeof(*eh) + sizeof(*ph);

	memset(buf, 0, code_off + 16);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = code_off;
	ph->p_vaddr = 0xffffffff81000000ULL;
	ph->p_paddr = paddr;
	ph->p_filesz = 16;
	ph->p_memsz = 16 + 4096;
	for (int i = 0; i < 16; i++)
		buf[code_off + (size_t)i] = (uint8_t)(0xa0 + i);
	return code_off + 16;
}

static void elf_loads_at_physical_address(void)
{
	uint8_t buf[512];
	struct boot_kernel k;
	size_t len = make_elf(buf, 0x1000000, 0x1000000);
	const char *p = write_tmp(buf, len);
	uint8_t *dst;

	ram_init();
	memset(mem.r[0].hva + 0x1000000 + 16, 0x55, 64); /* bss must be zeroed */
	CHECK(p);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), 0);
	unlink(p);
	CHECK_EQ(k.kind, BOOT_ELF);
	CHECK_EQ(k.entry, 0x1000000);
	CHECK_EQ(k.load_hi, 0x1000000 + 16 + 4096);
	dst = mem.r[0].hva + 0x1000000;
	CHECK_EQ(dst[0], 0xa0);
	CHECK_EQ(dst[15], 0xaf);
	CHECK_EQ(dst[16], 0);
	CHECK_EQ(dst[16 + 63], 0);
}

static void elf_refusals(void)
{
	uint8_t buf[0x400] = { 0 };
	struct boot_kernel k;
	size_t len;
	const char *p;

	ram_init();
	/* Entry outside the loaded segment. */
	len = make_elf(buf, 0x1000000, 0x2000000);
	p = write_tmp(buf, len);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK(strstr(err, "is not inside a loadable segment"));
	/* Segment beyond guest RAM. */
	len = make_elf(buf, 0x4000000, 0x4000000);
	p = write_tmp(buf, len);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOSPC);
	unlink(p);
	CHECK(strstr(err, "does not fit in guest RAM"));
	/* Segment over memplug's own boot structures below 1 MiB. */
	len = make_elf(buf, 0x7000, 0x7000);
	p = write_tmp(buf, len);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOSPC);
	unlink(p);
	/* 32-bit ELF. */
	len = make_elf(buf, 0x1000000, 0x1000000);
	buf[EI_CLASS] = ELFCLASS32;
	p = write_tmp(buf, len);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK_STR(err, "is an ELF file but not a 64-bit x86 one");
	/* Segment that claims more file bytes than there are. */
	len = make_elf(buf, 0x1000000, 0x1000000);
	((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))->p_filesz = 4000;
	((Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr)))->p_memsz = 8000;
	p = write_tmp(buf, 0x300);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK_STR(err, "ELF segment 0 lies outside the file");
}

static void neither_elf_nor_bzimage(void)
{
	uint8_t junk[4096];
	struct boot_kernel k;
	const char *p;

	ram_init();
	memset(junk, 'x', sizeof(junk));
	p = write_tmp(junk, sizeof(junk));
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK(strstr(err, "is neither an ELF vmlinux nor a bzImage"));
	p = write_tmp(junk, 10);
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK(strstr(err, "too small to be a kernel"));
	CHECK_EQ(boot_load_kernel("/nonexistent/vmlinux", &mem, RAM, &k, err,
				  sizeof(err)), -ENOENT);
	CHECK_STR(err, "cannot be opened: No such file or directory");
	CHECK_EQ(boot_load_kernel("/tmp", &mem, RAM, &k, err, sizeof(err)),
		 -EINVAL);
}

static size_t make_bzimage(uint8_t *buf, size_t len, uint16_t version,
			   uint16_t xlf)
{
	memset(buf, 0, len);
	buf[0x1f1] = 3; /* setup sectors: protected-mode code at 0x800 */
	buf[0x1fe] = 0x55;
	buf[0x1ff] = 0xaa;
	buf[0x201] = 0x6a; /* header runs to 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	memcpy(buf + 0x206, &version, 2);
	buf[0x211] = 0x01; /* LOADED_HIGH */
	memcpy(buf + 0x236, &xlf, 2);
	{
		uint32_t cmdline_size = 4095, initrd_max = 0x7fffffff;

		memcpy(buf + 0x238, &cmdline_size, 4);
		memcpy(buf + 0x22c, &initrd_max, 4);
	}
	for (size_t i = 0x800; i < len; i++)
		buf[i] = (uint8_t)i;
	return len;
}

static void bzimage_uses_64bit_entry(void)
{
	static uint8_t buf[0x3000];
	struct boot_kernel k;
	const char *p;

	ram_init();
	p = write_tmp(buf, make_bzimage(buf, sizeof(buf), 0x020f, 1));
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), 0);
	unlink(p);
	CHECK_EQ(k.kind, BOOT_BZIMAGE);
	CHECK_EQ(k.entry, 0x100000 + 0x200);
	CHECK_EQ(k.cmdline_max, 4095);
	CHECK_EQ(k.initrd_addr_max, 0x7fffffff);
	CHECK_MEM(mem.r[0].hva + 0x100000, buf + 0x800, sizeof(buf) - 0x800);
	/* Old boot protocol, or no 64-bit entry: refused with the reason. */
	p = write_tmp(buf, make_bzimage(buf, sizeof(buf), 0x020a, 1));
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
	CHECK(strstr(err, "boot protocol 2.10 without a 64-bit entry point"));
	p = write_tmp(buf, make_bzimage(buf, sizeof(buf), 0x020f, 0));
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), -ENOEXEC);
	unlink(p);
}

static void initrd_placed_high_or_refused(void)
{
	static uint8_t buf[0x3000];
	struct boot_kernel k;
	uint64_t gpa = 0, size = 0;
	const char *p, *kp;
	static uint8_t big[RAM];

	ram_init();
	kp = write_tmp(buf, make_elf(buf, 0x1000000, 0x1000000));
	CHECK_EQ(boot_load_kernel(kp, &mem, RAM, &k, err, sizeof(err)), 0);
	unlink(kp);
	p = write_tmp("initrd-bytes", 12);
	CHECK_EQ(boot_load_initrd(p, &mem, RAM, &k, &gpa, &size, err,
				  sizeof(err)), 0);
	unlink(p);
	CHECK_EQ(size, 12);
	CHECK_EQ(gpa, RAM - 4096);
	CHECK_EQ(gpa % 4096, 0);
	CHECK_MEM(mem.r[0].hva + gpa, "initrd-bytes", 12);
	p = write_tmp(big, sizeof(big));
	CHECK_EQ(boot_load_initrd(p, &mem, RAM, &k, &gpa, &size, err,
				  sizeof(err)), -E2BIG);
	unlink(p);
	CHECK(strstr(err, "does not fit in guest RAM"));
	CHECK(strstr(err, "give the guest more memory"));
}

static void params_carry_cmdline_e820_rsdp(void)
{
	static uint8_t buf[0x3000];
	struct e820_entry e820[2] = { { 0, 0x9fc00, E820_RAM },
				      { 0x100000, RAM - 0x100000, E820_RAM } };
	struct boot_args a = { .cmdline = "console=ttyS0 quiet",
			       .initrd_gpa = 0x1800000, .initrd_size = 1234,
			       .rsdp_gpa = 0xe0000, .e820 = e820, .e820_n = 2 };
	struct boot_kernel k;
	uint8_t *bp;
	uint64_t v = 0;
	const char *p;
	char longline[3000];

	ram_init();
	p = write_tmp(buf, make_elf(buf, 0x1000000, 0x1000000));
	CHECK_EQ(boot_load_kernel(p, &mem, RAM, &k, err, sizeof(err)), 0);
	unlink(p);
	CHECK_EQ(boot_write_params(&mem, &k, &a, err, sizeof(err)), 0);
	bp = mem.r[0].hva + LAYOUT_BOOT_PARAMS;
	CHECK_MEM(bp + 0x202, "HdrS", 4);
	CHECK_EQ(bp[0x210], 0xff);
	memcpy(&v, bp + 0x228, 4);
	CHECK_EQ(v, LAYOUT_CMDLINE);
	CHECK_STR((char *)mem.r[0].hva + LAYOUT_CMDLINE, "console=ttyS0 quiet");
	memcpy(&v, bp + 0x218, 4);
	CHECK_EQ(v, 0x1800000);
	memcpy(&v, bp + 0x21c, 4);
	CHECK_EQ(v, 1234);
	memcpy(&v, bp + 0x070, 8);
	CHECK_EQ(v, 0xe0000);
	CHECK_EQ(bp[0x1e8], 2);
	memcpy(&v, bp + 0x2d0 + 20 + 8, 8);
	CHECK_EQ(v, RAM - 0x100000);
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	a.cmdline = longline;
	CHECK_EQ(boot_write_params(&mem, &k, &a, err, sizeof(err)), -E2BIG);
	CHECK_STR(err, "kernel command line is 2999 bytes, more than the "
		       "kernel's limit of 2047");
}

static void identity_tables_map_4g(void)
{
	uint64_t *pml4, *pdpt, *pd, *gdt;

	ram_init();
	CHECK_EQ(cpu_write_boot_tables(&mem), 0);
	pml4 = (uint64_t *)(mem.r[0].hva + LAYOUT_PML4);
	pdpt = (uint64_t *)(mem.r[0].hva + LAYOUT_PDPT);
	pd = (uint64_t *)(mem.r[0].hva + LAYOUT_PD);
	gdt = (uint64_t *)(mem.r[0].hva + LAYOUT_GDT);
	CHECK_EQ(pml4[0] & ~0xfffULL, LAYOUT_PDPT);
	CHECK_EQ(pdpt[3] & ~0xfffULL, LAYOUT_PD + 3 * 4096);
	CHECK_EQ(pd[0], 0x83);
	CHECK_EQ(pd[2047] & ~0xfffULL, 4 * (1ULL << 30) - (2ULL << 20));
	/* __BOOT_CS 0x10 is 64-bit code, __BOOT_DS 0x18 writable data. */
	CHECK_EQ(gdt[2], 0x00af9b000000ffffULL);
	CHECK_EQ(gdt[3], 0x00cf93000000ffffULL);
}

UNIT_MAIN(UNIT_CASE(elf_loads_at_physical_address), UNIT_CASE(elf_refusals),
	  UNIT_CASE(neither_elf_nor_bzimage), UNIT_CASE(bzimage_uses_64bit_entry),
	  UNIT_CASE(initrd_placed_high_or_refused),
	  UNIT_CASE(params_carry_cmdline_e820_rsdp),
	  UNIT_CASE(identity_tables_map_4g))
