/* Control for the exit benchmark: the loop of tests/guests/pio.S with
 * `nop` in place of `outb`, so no exit happens inside it. Prints 'S', runs
 * 10,000 iterations, prints "P\n", powers off. On a KVM that emulates guest
 * ring-0 code (PVM), ('P' - 'S') here is the loop's own emulation cost,
 * which the benchmark subtracts from pio.elf's to estimate the exit alone. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'S'
	mov $10000, %ecx
	mov $0x510, %dx
1:	nop
	dec %ecx
	jnz 1b
	putc 'P'
	putc '\n'
	poweroff
2:	hlt
	jmp 2b
