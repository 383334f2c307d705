#include "firmware/cpu.h"

#include <asm/kvm.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "include/memplug/layout.h"

#define BOOT_CS 0x10 /* the 64-bit boot protocol wants these selectors */
#define BOOT_DS 0x18
#define BOOT_TSS 0x20

#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_ET 0x10ULL
#define CR0_NE 0x20ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define PTE_PRESENT 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 0x1ULL
#define MTRR_ENABLE_WB 0x806ULL /* MTRRs on, default type write-back */

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* A flat descriptor: base 0, limit 4 GiB, with the given access/flags. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) |
	       ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) |
	       ((uint64_t)(base & 0x00ffffff) << 16) | (limit & 0xffff);
}

int cpu_write_boot_tables(const struct guest_mem *mem)
{
	uint64_t *gdt = guest_ptr(mem, LAYOUT_GDT, 5 * 8);
	uint64_t *pml4 = guest_ptr(mem, LAYOUT_PML4, 4096);
	uint64_t *pdpt = guest_ptr(mem, LAYOUT_PDPT, 4096);
	uint64_t *pd = guest_ptr(mem, LAYOUT_PD, 4 * 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -EFAULT;
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = gdt_entry(0xa09b, 0, 0xfffff);  /* code, L=1 */
	gdt[BOOT_DS / 8] = gdt_entry(0xc093, 0, 0xfffff);  /* data */
	gdt[BOOT_TSS / 8] = gdt_entry(0x808b, 0, 0xfffff); /* busy TSS */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

static struct kvm_segment segment(uint16_t sel, uint8_t type, uint8_t l,
				  uint8_t db, uint8_t s)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = db, .s = s, .l = l, .g = 1,
	};
}

int cpu_setup_boot_regs(int vcpu_fd, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = segment(BOOT_CS, 0xb, 1, 0, 1);
	sregs.ds = segment(BOOT_DS, 0x3, 0, 1, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = segment(BOOT_TSS, 0xb, 0, 0, 0);
	sregs.tr.g = 0;
	sregs.tr.limit = 0x67;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = LAYOUT_PML4;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* reserved bit; interrupts off */
	regs.rip = entry;
	regs.rsi = boot_params;
	regs.rsp = regs.rbp = LAYOUT_STACK;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f; /* x87 and SSE state as after FNINIT/reset */
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int cpu_setup_common(int vcpu_fd)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },   { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },  { MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },              { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },       { MSR_LSTAR, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	union {
		struct kvm_msrs h;
		unsigned char room[sizeof(struct kvm_msrs) +
				   sizeof(init) / sizeof(init[0]) *
				   sizeof(struct kvm_msr_entry)];
	} msrs;
	struct kvm_lapic_state lapic;
	uint32_t lvt;
	int n;

	memset(&msrs, 0, sizeof(msrs));
	msrs.h.nmsrs = sizeof(init) / sizeof(init[0]);
	for (size_t i = 0; i < msrs.h.nmsrs; i++) {
		msrs.h.entries[i].index = init[i].index;
		msrs.h.entries[i].data = init[i].data;
	}
	n = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return -errno;
	if ((uint32_t)n != msrs.h.nmsrs)
		return -EINVAL;

	/* LINT0 takes the 8259's interrupts (ExtINT), LINT1 is the NMI pin,
	 * as a PC BIOS leaves them. */
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	memcpy(&lvt, &lapic.regs[APIC_LVT0], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&lapic.regs[APIC_LVT0], &lvt, 4);
	memcpy(&lvt, &lapic.regs[APIC_LVT1], 4);
	lvt = (lvt & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT1], &lvt, 4);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int cpu_set_xcr0(int vcpu_fd, uint64_t xcr0)
{
	struct kvm_xcrs x = { .nr_xcrs = 1 };

	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = xcr0;
	if (ioctl(vcpu_fd, KVM_SET_XCRS, &x) < 0)
		return -errno;
	return 0;
}
