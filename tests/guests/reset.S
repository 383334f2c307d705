/* Prints "boot" and asks for a reset through the ACPI reset register.
 * memplug must restart it, so "boot" appears again and again until
 * memplug is stopped. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'b'
	putc 'o'
	putc 'o'
	putc 't'
	putc '\n'
	mov $RESET_REG, %dx
	mov $1, %al
	outb %al, %dx
1:	hlt
	jmp 1b
