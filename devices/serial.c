#include "devices/serial.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6,
       SCR = 7 };

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

void serial_reset(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->ier = s->lcr = s->mcr = s->scr = s->fcr = 0;
	s->dll = 12; /* 9600 baud */
	s->dlm = 0;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = 0xb0; /* DCD, DSR, CTS */
	s->thr_pending = 0;
	s->rx_head = s->rx_len = 0;
	s->irq_level = 0;
	pthread_mutex_unlock(&s->lock);
	irq_set(&s->irq, 0);
}

void serial_init(struct serial *s, int out_fd, struct irq_line irq,
		 struct irq_line room)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->room = room;
	serial_reset(s);
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI | fifo;
	if ((s->ier & IER_MSI) && (s->msr & 0x0f))
		return IIR_MSI | fifo;
	return IIR_NO_INT | fifo;
}

/* Called with the lock held. On a PC the UART's interrupt reaches the PIC
 * only when OUT2 is set; Linux relies on that while probing. The line is
 * only touched when its level changes: each change is a KVM ioctl, and
 * the console writes a byte per exit. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT) && (s->mcr & MCR_OUT2);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_set(&s->irq, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_len == SERIAL_RX_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_FIFO] = b;
	s->rx_len++;
	s->lsr |= LSR_DR;
}

static void serial_transmit(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		serial_rx_push(s, b);
	} else if (s->out_fd >= 0) {
		/* A console that cannot take output must not stall the guest. */
		if (write(s->out_fd, &b, 1) < 0)
			s->out_fd = -1;
	}
	s->thr_pending = 1;
}

static void serial_read(void *dev, uint64_t off, uint8_t *data,
			unsigned int size)
{
	struct serial *s = dev;
	uint8_t v = 0xff;
	bool drained = false;

	if (size != 1)
		return;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
			break;
		}
		v = 0;
		if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			drained = --s->rx_len == 0;
		}
		if (!s->rx_len)
			s->lsr &= ~LSR_DR;
		break;
	case IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_pending = 0;
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = s->lsr;
		break;
	case MSR:
		if (s->mcr & MCR_LOOP) {
			/* Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
			v = (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		} else {
			v = s->msr;
		}
		s->msr &= 0xf0;
		break;
	case SCR:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	data[0] = v;
	if (drained)
		irq_set(&s->room, 1);
}

static void serial_write(void *dev, uint64_t off, const uint8_t *data,
			 unsigned int size)
{
	struct serial *s = dev;
	uint8_t v = data[0];

	if (size != 1)
		return;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises the interrupt at once. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_pending = 1;
		s->ier = v & 0x0f;
		break;
	case IIR_FCR:
		s->fcr = v & 0xc1;
		if (v & FCR_CLEAR_RX) {
			s->rx_head = s->rx_len = 0;
			s->lsr &= ~LSR_DR;
		}
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_len < SERIAL_RX_FIFO)
		serial_rx_push(s, buf[n++]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
