/* Prints "hello" on COM1 and powers off through ACPI S5. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'h'
	putc 'e'
	putc 'l'
	putc 'l'
	putc 'o'
	putc '\n'
	poweroff
1:	hlt
	jmp 1b
