/* Prints "idle" and waits with interrupts off: a guest that stays up for
 * tests of the control socket, and never answers hotplug events. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'i'
	putc 'd'
	putc 'l'
	putc 'e'
	putc '\n'
1:	hlt
	jmp 1b
