/* 16550A UART (COM1): transmit to a file descriptor, receive from a small
 * FIFO fed by the event loop. Enough for Linux's 8250 driver and early
 * console: scratch register, divisor latch, FIFO control, IIR priorities,
 * THR-empty and receive interrupts, loopback for the driver's probe. */
#ifndef MEMPLUG_DEVICES_SERIAL_H
#define MEMPLUG_DEVICES_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define SERIAL_RX_FIFO 64

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	/* Raised (level 1) each time the guest reads the receive FIFO empty:
	 * room for the VMM's next input. From a vCPU thread, lock not held. */
	struct irq_line room;
	int out_fd;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	int thr_pending; /* THR-empty interrupt waiting to be read in IIR */
	int irq_level;   /* last level given to the line */
	uint8_t rx[SERIAL_RX_FIFO];
	size_t rx_head, rx_len;
};

extern const struct bus_ops serial_ops;

void serial_init(struct serial *s, int out_fd, struct irq_line irq,
		 struct irq_line room);
void serial_reset(struct serial *s);
/* Queue input bytes; returns how many fit. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);

#endif
