/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memplug guest agent hooks (drivers/misc/memplug_agent.c).
 *
 * Copied into the kernel tree as include/linux/memplug_agent.h by
 * scripts/build-guest.sh; see guest-tests/agent/README.md.
 */
#ifndef _LINUX_MEMPLUG_AGENT_H
#define _LINUX_MEMPLUG_AGENT_H

#ifdef CONFIG_MEMPLUG_AGENT
/* init/main.c, kernel_init(): boot finished; prints "ready", never returns. */
void memplug_agent_boot_done(void);
/* drivers/base/memory.c: memory block devices were created or removed. */
void memplug_agent_memory_changed(void);
/* drivers/base/memory.c: offlining a memory block failed; it stays online. */
void memplug_agent_offline_failed(unsigned long start_pfn,
				  unsigned long nr_pages, int err);
#else
static inline void memplug_agent_boot_done(void)
{
}
static inline void memplug_agent_memory_changed(void)
{
}
static inline void memplug_agent_offline_failed(unsigned long start_pfn,
						unsigned long nr_pages, int err)
{
}
#endif

#endif /* _LINUX_MEMPLUG_AGENT_H */
