/* Prints "go", then a "t" line after every 20,000 turns of an empty loop,
 * forever: a guest whose output shows that its vCPU still runs. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'g'
	putc 'o'
	putc '\n'
1:	mov $20000, %ecx
2:	dec %ecx
	jnz 2b
	putc 't'
	putc '\n'
	jmp 1b
