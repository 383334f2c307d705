/* Benchmark guest for the resident-memory figure: prints "R\n" on COM1,
 * then idles for good (hlt with interrupts off, pause as a fallback if a
 * stray wake-up ends the hlt). The benchmark reads the VMM's VmRSS once
 * the byte has arrived, then stops the VMM with SIGTERM. */
#include "common.h"
	.code64
	.globl _start
_start:
	cli
	putc 'R'
	putc '\n'
1:	hlt
	pause
	jmp 1b
