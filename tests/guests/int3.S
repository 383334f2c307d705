/* Executes int3 at CPL 0 with no IDT: on the PVM software KVM this is an
 * emulation failure (KVM_EXIT_INTERNAL_ERROR), which memplug must report. */
#include "common.h"
	.code64
	.globl _start
_start:
	putc 'i'
	putc '\n'
	int3
1:	hlt
	jmp 1b
