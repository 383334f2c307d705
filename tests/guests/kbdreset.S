/* Prints "kbd" and pulses reset through the keyboard controller (command
 * 0xfe on port 0x64), the way old PCs reboot. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'k'
	putc 'b'
	putc 'd'
	putc '\n'
	mov $0x64, %dx
	mov $0xfe, %al
	outb %al, %dx
1:	hlt
	jmp 1b
