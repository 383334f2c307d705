/* Benchmark guest: 'S', then 10,000 writes to an unclaimed port (each a
 * full exit to the VMM and back), 'P', then power off. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'S'
	mov $10000, %ecx
	mov $0x510, %dx
1:	outb %al, %dx
	dec %ecx
	jnz 1b
	putc 'P'
	putc '\n'
	poweroff
2:	hlt
	jmp 2b
