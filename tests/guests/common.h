/* Helpers for the tiny test guests (GNU as, AT&T syntax). */
#define COM1 0x3f8
#define PM1A_CNT 0x604
#define RESET_REG 0x60c
#define S5_OFF ((5 << 10) | (1 << 13)) /* SLP_TYP=5, SLP_EN */

.macro putc c
	mov $COM1, %dx
	mov $\c, %al
	outb %al, %dx
.endm

.macro poweroff
	mov $PM1A_CNT, %dx
	mov $S5_OFF, %ax
	outw %ax, %dx
.endm
