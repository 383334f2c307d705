/* A broken guest: 100,000 byte writes to the memory hotplug controller,
 * which takes dword accesses only (each one refused and counted by
 * memplug), then "G" and power off. */
#include "common.h"
	.code64
	.globl _start
_start:
	mov $100000, %ecx
	mov $PORT_MEMHP, %dx
1:	outb %al, %dx
	dec %ecx
	jnz 1b
	putc 'G'
	putc '\n'
	poweroff
2:	hlt
	jmp 2b
