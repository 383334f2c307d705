/* kvmtool counterpart of tests/guests/pio.S in the same CPU mode: kvmtool
 * starts a flat binary in 16-bit real mode at 0x1000:0000, so this one
 * first switches to 64-bit mode with page tables shaped like memplug's boot
 * tables (PML4 -> PDPT -> page directory of 2 MiB pages, identity map of
 * the first GiB, built at 0x20000), then runs pio.S's loop instruction for
 * instruction: 'S' on COM1, 10,000 `outb` to the unclaimed port 0x510, "P\n",
 * then `hlt`. On a KVM that emulates guest code (PVM), real mode and
 * 64-bit mode with paging do not cost the same per instruction, so the
 * exit round trip is compared between guests in the same mode.
 *
 * Built with `as --defsym NOEXIT=1`, the `outb` in the loop becomes a `nop`
 * (noexit64.bin: the loop's own cost).
 *
 * Build: as --32 -o pio64.o pio64.S
 *        ld -m elf_i386 --oformat binary -Ttext 0 -o pio64.bin pio64.o
 */
	.equ LOAD, 0x10000	/* where kvmtool puts the binary: 0x1000:0000 */
	.equ PML4, 0x20000	/* then the PDPT at +0x1000, the directory at +0x2000 */

	.code16
	.text
	.globl _start
_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	mov $(PML4 >> 4), %ax
	mov %ax, %es
	xor %di, %di
	xor %eax, %eax
	mov $(3 * 4096 / 4), %cx
	rep stosl
	movl $(PML4 + 0x1000 + 3), %es:0
	movl $(PML4 + 0x2000 + 3), %es:0x1000
	mov $0x83, %eax			/* present, writable, 2 MiB page */
	mov $0x2000, %di
	mov $512, %cx
1:	movl %eax, %es:(%di)
	add $0x200000, %eax
	add $8, %di
	loop 1b
	lgdtl gdt_desc
	mov $PML4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG, PE */
	mov %eax, %cr0
	.byte 0x66, 0xea		/* ljmpl $0x08, $long_entry */
	.long LOAD + long_entry
	.word 0x08

	.code64
long_entry:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x3f8, %dx
	mov $'S', %al
	outb %al, %dx
	mov $10000, %ecx
	mov $0x510, %dx
1:
	.ifdef NOEXIT
	nop
	.else
	outb %al, %dx
	.endif
	dec %ecx
	jnz 1b
	mov $0x3f8, %dx
	mov $'P', %al
	outb %al, %dx
	mov $'\n', %al
	outb %al, %dx
2:	hlt
	jmp 2b

	.p2align 3
gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff	/* 0x10: data */
gdt_desc:
	.word 3 * 8 - 1
	.long LOAD + gdt
