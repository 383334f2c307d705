/* Copies what arrives on COM1 back to it, polling the line status, until
 * a '.' arrives, then powers off: the console's input path end to end. */
#include "common.h"
	.code64
	.globl _start
_start:
1:	mov $(COM1 + 5), %dx	/* LSR */
	inb %dx, %al
	test $1, %al		/* data ready */
	jz 1b
	mov $COM1, %dx
	inb %dx, %al
	outb %al, %dx
	cmp $'.', %al
	jne 1b
	poweroff
2:	hlt
	jmp 2b
