/* An interrupt line as a device sees it: a callback that sets the level of
 * one GSI. The VMM wires it to KVM_IRQ_LINE; unit tests to a fake. */
#ifndef MEMPLUG_DEVICES_IRQ_H
#define MEMPLUG_DEVICES_IRQ_H

struct irq_line {
	void (*set)(void *ctx, unsigned int gsi, int level);
	void *ctx;
	unsigned int gsi;
};

static inline void irq_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->gsi, level);
}

#endif
