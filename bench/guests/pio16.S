/* kvmtool counterpart of tests/guests/pio.S, for `lkvm run -k pio16.bin`:
 * kvmtool loads a file that is not a bzImage as a flat binary at
 * 0x1000:0000 and starts it in 16-bit real mode. Prints 'S' on COM1, does
 * 10,000 `outb` to the unclaimed port 0x510 (each one an exit to the VMM
 * and back), prints "P\n", then idles with hlt so the benchmark can read
 * the VMM's resident memory before it stops it with SIGTERM.
 *
 * Built with `as --defsym NOEXIT=1`, the `outb` in the loop becomes a `nop`:
 * the same loop without exits (noexit16.bin), whose ('P' - 'S') is the
 * loop's own emulation cost on a KVM that emulates guest code (PVM).
 *
 * Build: as --32 -o pio16.o pio16.S
 *        ld -m elf_i386 --oformat binary -Ttext 0 -o pio16.bin pio16.o
 */
	.code16
	.text
	.globl _start
_start:
	cli
	mov $0x3f8, %dx
	mov $'S', %al
	outb %al, %dx

	mov $10000, %cx
	mov $0x510, %dx
1:
	.ifdef NOEXIT
	nop
	.else
	outb %al, %dx
	.endif
	dec %cx
	jnz 1b

	mov $0x3f8, %dx
	mov $'P', %al
	outb %al, %dx
	mov $'\n', %al
	outb %al, %dx
2:	hlt
	jmp 2b
