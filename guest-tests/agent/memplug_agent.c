// SPDX-License-Identifier: GPL-2.0
/*
 * memplug guest agent: reports the guest's view of its memory on the
 * console, for the memplug test suite.
 *
 * The memplug test guest has no user space (under the PVM KVM of the
 * project's machines, the first syscall of any user program faults), so the
 * checks a test would normally run from a shell run here, in the kernel,
 * and their results are printk lines with a fixed grammar:
 *
 *   MEMPLUG-AGENT ready uptime_ms=N cpus=N memtotal_kb=N blocks=N online_blocks=N sci_irq=N acpi=0|1
 *   MEMPLUG-AGENT memory memtotal_kb=N blocks=N online_blocks=N movable_kb=N uptime_ms=N
 *   MEMPLUG-AGENT node id=N memtotal_kb=N blocks=N online_blocks=N movable_kb=N
 *   MEMPLUG-AGENT pattern start_pfn=N pages=N checked=N bad=N nid=N elapsed_ms=N [first_bad_addr=N]
 *   MEMPLUG-AGENT pin pfn=N nid=N
 *   MEMPLUG-AGENT offlinefail start_pfn=N pages=N error=N
 *   MEMPLUG-AGENT pincheck pfn=N ok=0|1
 *   MEMPLUG-AGENT powerbutton uptime_ms=N reboot=0|1
 *
 * See guest-tests/agent/README.md for what each field means.
 *
 * This file lives in the memplug repository (guest-tests/agent/) and is
 * copied into the kernel tree as drivers/misc/memplug_agent.c by
 * scripts/build-guest.sh; the patch 0003-memplug-agent.patch only adds the
 * Kconfig/Makefile lines and the hooks (init/main.c, drivers/base/memory.c).
 * Built in only: KBUILD_MODNAME is "memplug_agent", so the parameters are
 * memplug_agent.<name>= on the kernel command line.
 */

#include <linux/acpi.h>
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/irq.h>		/* struct irq_desc */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/init.h>
#include <linux/list.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/memplug_agent.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/printk.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

/* memplug_agent.poweroff=1: power off (ACPI S5) right after "ready". */
static bool poweroff;
module_param(poweroff, bool, 0444);
MODULE_PARM_DESC(poweroff, "Power off right after the ready line");

/*
 * memplug_agent.powerbutton=0: leave the ACPI fixed power-button event
 * alone. By default the agent takes it and powers the guest off, which is
 * what a guest with user space (acpid/systemd) does on QMP system_powerdown.
 */
static bool powerbutton = true;
module_param(powerbutton, bool, 0444);
MODULE_PARM_DESC(powerbutton, "Power off on the ACPI fixed power button event");

/*
 * memplug_agent.reboot=1: the power button reboots the guest instead
 * (kernel_restart(), the guest's own reboot path: the ACPI reset register
 * first), so a test can ask the guest, not the VMM, to reboot.
 */
static bool reboot;
module_param(reboot, bool, 0444);
MODULE_PARM_DESC(reboot, "Reboot instead of powering off on the power button");

/*
 * memplug_agent.pattern=N: when a memory range goes online, write a pattern
 * into every Nth page of it (and its last page) and read it back; 1 checks
 * every word of every page, 0 (default) checks nothing.
 */
static unsigned int pattern;
module_param(pattern, uint, 0444);
MODULE_PARM_DESC(pattern, "Pattern-check every Nth page of memory going online (0: off)");

/*
 * memplug_agent.pin=1: keep one page of every range onlined to a kernel
 * zone (never ZONE_MOVABLE) out of the page allocator, as an unmovable
 * allocation would, so that offlining that range fails with -EBUSY.
 */
static bool pin;
module_param(pin, bool, 0444);
MODULE_PARM_DESC(pin, "Pin one unmovable page in each range onlined to a kernel zone");

struct agent_mem_state {
	unsigned long memtotal_kb;
	unsigned long blocks;
	unsigned long online_blocks;
	unsigned long movable_kb;
};

/* Per-node part of a snapshot (node lines). */
struct agent_node_state {
	unsigned long memtotal_kb;
	unsigned long blocks;
	unsigned long online_blocks;
	unsigned long movable_kb;
};

/*
 * Set once the ready line is printed, under device_hotplug_lock: memory
 * events before that are part of the state "ready" reports, events after
 * it queue the memory work.
 */
static bool agent_live;
static struct workqueue_struct *agent_wq;
/* Last state printed (ready or memory line); under agent_report_lock. */
static struct agent_mem_state agent_last;

/*
 * Serialises the ready report and the memory reports, so that the node
 * lines of one report are never interleaved with those of another.
 * Taken before device_hotplug_lock. Protects agent_nodes/agent_nodes_online.
 */
static DEFINE_MUTEX(agent_report_lock);
static struct agent_node_state agent_nodes[MAX_NUMNODES];
static nodemask_t agent_nodes_online;

static unsigned long long agent_uptime_ms(void)
{
	return ktime_to_ms(ktime_get_boottime());
}

static int agent_count_block(struct memory_block *mem, void *arg)
{
	struct agent_mem_state *st = arg;
	int nid = mem->nid;

	st->blocks++;
	if (mem->state == MEM_ONLINE)
		st->online_blocks++;
	/*
	 * mem->nid: the node of a hot-added block, or the (first) node of the
	 * boot memory in it; NUMA_NO_NODE counts on no node.
	 */
	if (nid >= 0 && nid < MAX_NUMNODES) {
		agent_nodes[nid].blocks++;
		if (mem->state == MEM_ONLINE)
			agent_nodes[nid].online_blocks++;
	}
	return 0;
}

/*
 * Snapshot of the whole memory state, into *st and agent_nodes[].
 * Caller holds agent_report_lock and device_hotplug_lock, so no block
 * changes state meanwhile.
 */
static void agent_mem_state(struct agent_mem_state *st)
{
	unsigned long movable_pages = 0;
	struct zone *zone;
	int nid;

	memset(st, 0, sizeof(*st));
	memset(agent_nodes, 0, sizeof(agent_nodes));
	agent_nodes_online = node_states[N_ONLINE];
	st->memtotal_kb = totalram_pages() << (PAGE_SHIFT - 10);
	for_each_memory_block(st, agent_count_block);
	for_each_zone(zone)
		if (zone_idx(zone) == ZONE_MOVABLE)
			movable_pages += zone_managed_pages(zone);
	st->movable_kb = movable_pages << (PAGE_SHIFT - 10);

	for_each_node_mask(nid, agent_nodes_online) {
		pg_data_t *pgdat = NODE_DATA(nid);
		unsigned long managed = 0;
		int z;

		for (z = 0; z < MAX_NR_ZONES; z++)
			managed += zone_managed_pages(&pgdat->node_zones[z]);
		agent_nodes[nid].memtotal_kb = managed << (PAGE_SHIFT - 10);
		agent_nodes[nid].movable_kb =
			zone_managed_pages(&pgdat->node_zones[ZONE_MOVABLE]) <<
			(PAGE_SHIFT - 10);
	}
}

/* One node line per node online at the last snapshot. */
static void agent_print_nodes(void)
{
	int nid;

	lockdep_assert_held(&agent_report_lock);
	for_each_node_mask(nid, agent_nodes_online)
		pr_info("MEMPLUG-AGENT node id=%d memtotal_kb=%lu blocks=%lu online_blocks=%lu movable_kb=%lu\n",
			nid, agent_nodes[nid].memtotal_kb,
			agent_nodes[nid].blocks,
			agent_nodes[nid].online_blocks,
			agent_nodes[nid].movable_kb);
}

/*
 * The Linux IRQ the ACPI core's SCI handler is installed on, or -1.
 * acpi_sci_irq is what acpi_os_install_interrupt_handler() got from
 * acpi_gsi_to_irq(FADT.sci_interrupt) and successfully request_irq()ed
 * under the name "acpi"; the handler is looked up on that IRQ as well, so
 * the number printed is one where the SCI handler really is installed.
 */
static int agent_sci_irq(void)
{
#ifdef CONFIG_ACPI
	struct irqaction *action;
	struct irq_desc *desc;
	unsigned long flags;
	bool found = false;

	if (acpi_disabled || !acpi_sci_irq_valid())
		return -1;
	desc = irq_to_desc(acpi_sci_irq);
	if (!desc)
		return -1;
	raw_spin_lock_irqsave(&desc->lock, flags);
	for (action = desc->action; action; action = action->next)
		if (action->name && !strcmp(action->name, "acpi"))
			found = true;
	raw_spin_unlock_irqrestore(&desc->lock, flags);
	return found ? (int)acpi_sci_irq : -1;
#else
	return -1;
#endif
}

static void agent_memory_workfn(struct work_struct *work)
{
	struct agent_mem_state st;

	mutex_lock(&agent_report_lock);
	/*
	 * Memory notifiers and the block add/remove hook run in the middle of
	 * an operation that holds device_hotplug_lock from start to end (ACPI
	 * hot-add/eject, sysfs online/offline, auto-online after add). Taking
	 * it here means the state counted is the settled one.
	 */
	lock_device_hotplug();
	agent_mem_state(&st);
	unlock_device_hotplug();

	/* Several events of one operation coalesce into one line. */
	if (memcmp(&st, &agent_last, sizeof(st))) {
		agent_last = st;
		pr_info("MEMPLUG-AGENT memory memtotal_kb=%lu blocks=%lu online_blocks=%lu movable_kb=%lu uptime_ms=%llu\n",
			st.memtotal_kb, st.blocks, st.online_blocks,
			st.movable_kb, agent_uptime_ms());
		agent_print_nodes();
	}
	mutex_unlock(&agent_report_lock);
}
static DECLARE_WORK(agent_memory_work, agent_memory_workfn);

void memplug_agent_memory_changed(void)
{
	if (READ_ONCE(agent_live))
		queue_work(agent_wq, &agent_memory_work);
}

/*
 * Pattern check and pinning run inside online_pages() (mm/memory_hotplug.c),
 * from the memory notifier and the online-page callback. online_pages() is
 * only called by memory_block_online(), between mem_hotplug_begin() and
 * mem_hotplug_done(): the whole of one onlining (MEM_GOING_ONLINE, the
 * online-page callbacks, MEM_ONLINE or MEM_CANCEL_ONLINE) runs under
 * mem_hotplug_lock held for writing, which serialises everything below
 * that is marked "under mem_hotplug_lock".
 */

/* "memplug!": the pattern of a word is its physical address ^ this ^ salt. */
#define AGENT_PATTERN_MAGIC	0x6d656d706c756721ULL
/* "memplugP": the pattern of a pinned page (no salt: checked much later). */
#define AGENT_PIN_MAGIC		0x6d656d706c756750ULL
#define AGENT_WORDS_PER_PAGE	(PAGE_SIZE / sizeof(u64))

/* Number of pattern checks so far, under mem_hotplug_lock. */
static u64 agent_pattern_gen;

/*
 * The word offsets checked in one page: all of them with pattern=1, else
 * the first, middle and last word.
 */
static unsigned int agent_pattern_word(unsigned int i)
{
	static const unsigned int sample[] = {
		0, AGENT_WORDS_PER_PAGE / 2, AGENT_WORDS_PER_PAGE - 1,
	};

	return pattern == 1 ? i : sample[i];
}

static unsigned int agent_pattern_words(void)
{
	return pattern == 1 ? AGENT_WORDS_PER_PAGE : 3;
}

/*
 * Page i of the pages checked in [start_pfn, start_pfn + nr_pages): every
 * pattern'th page from the first, then the last page if it is not one of
 * them (a range mapped one page short is the first thing to catch).
 */
static unsigned long agent_pattern_count(unsigned long nr_pages)
{
	unsigned long n = DIV_ROUND_UP(nr_pages, pattern);

	if ((nr_pages - 1) % pattern)
		n++;
	return n;
}

static unsigned long agent_pattern_pfn(unsigned long start_pfn,
				       unsigned long nr_pages, unsigned long i)
{
	return start_pfn + min(i * pattern, nr_pages - 1);
}

/*
 * MEM_GOING_ONLINE: the range has a memmap (move_pfn_range_to_zone() ran,
 * pages are PageReserved, pageblocks MIGRATE_ISOLATE) and a direct map
 * (arch_add_memory() at hot-add; offlining does not unmap it), and none of
 * its pages has been given to the page allocator yet (that is
 * online_pages_range(), after this notifier). Nobody else can hold a
 * pointer into it, so the agent may write to it freely. The write pass
 * finishes before the read pass starts, so two pages that alias the same
 * backing memory are caught too (the pattern depends on the address).
 */
static void agent_pattern_check(unsigned long start_pfn, unsigned long nr_pages)
{
	unsigned long count = agent_pattern_count(nr_pages);
	unsigned int words = agent_pattern_words();
	unsigned long i, bad = 0;
	phys_addr_t bad_addr = 0;
	u64 bad_want = 0, bad_got = 0;
	ktime_t t0 = ktime_get_boottime();
	u64 salt;

	/* A new salt each time: re-onlined memory still holds the old one. */
	salt = ++agent_pattern_gen * 0x9e3779b97f4a7c15ULL;

	for (i = 0; i < count; i++) {
		unsigned long pfn = agent_pattern_pfn(start_pfn, nr_pages, i);
		struct page *page = pfn_to_page(pfn);
		u64 *p = page_address(page);
		unsigned int w;

		/* No-op unless debug_pagealloc unmapped it when it was freed. */
		debug_pagealloc_map_pages(page, 1);
		for (w = 0; w < words; w++) {
			unsigned int o = agent_pattern_word(w);

			WRITE_ONCE(p[o], (PFN_PHYS(pfn) + o * sizeof(u64)) ^
				   AGENT_PATTERN_MAGIC ^ salt);
		}
		cond_resched();
	}

	for (i = 0; i < count; i++) {
		unsigned long pfn = agent_pattern_pfn(start_pfn, nr_pages, i);
		u64 *p = page_address(pfn_to_page(pfn));
		bool page_bad = false;
		unsigned int w;

		for (w = 0; w < words; w++) {
			unsigned int o = agent_pattern_word(w);
			phys_addr_t addr = PFN_PHYS(pfn) + o * sizeof(u64);
			u64 want = addr ^ AGENT_PATTERN_MAGIC ^ salt;
			u64 got = READ_ONCE(p[o]);

			if (got == want)
				continue;
			if (!bad && !page_bad) {
				bad_addr = addr;
				bad_want = want;
				bad_got = got;
			}
			page_bad = true;
		}
		bad += page_bad;
		cond_resched();
	}

	if (bad) {
		pr_warn("memplug_agent: pattern mismatch at %pa: wrote %#llx, read %#llx\n",
			&bad_addr, bad_want, bad_got);
		pr_info("MEMPLUG-AGENT pattern start_pfn=%lu pages=%lu checked=%lu bad=%lu nid=%d elapsed_ms=%lld first_bad_addr=%llu\n",
			start_pfn, nr_pages, count, bad,
			page_to_nid(pfn_to_page(start_pfn)),
			ktime_ms_delta(ktime_get_boottime(), t0),
			(unsigned long long)bad_addr);
	} else {
		pr_info("MEMPLUG-AGENT pattern start_pfn=%lu pages=%lu checked=%lu bad=0 nid=%d elapsed_ms=%lld\n",
			start_pfn, nr_pages, count,
			page_to_nid(pfn_to_page(start_pfn)),
			ktime_ms_delta(ktime_get_boottime(), t0));
	}
}

/*
 * Pinning (memplug_agent.pin=1).
 *
 * 6.1 has no way to take one given free page out of the buddy allocator in
 * this kernel: alloc_contig_range() needs CONFIG_CONTIG_ALLOC (COMPACTION or
 * CMA, both off here) and take_page_off_buddy() needs MEMORY_FAILURE. So the
 * page is kept from ever entering it instead, with the hook balloon drivers
 * (virtio-mem, hv_balloon) use for the same purpose: the online-page
 * callback, which online_pages_range() calls for each MAX_ORDER-1 chunk of
 * the range to hand it to the page allocator. The agent's callback gives
 * every page but the chosen one to generic_online_page() and keeps that one
 * exactly as alloc_pages() would have returned it: refcount 1, not
 * PG_reserved, not on the LRU, not movable, counted in managed pages and
 * totalram (so memtotal_kb still grows by the full DIMM size). To offline,
 * has_unmovable_pages() sees a referenced page that is neither LRU nor
 * movable in a kernel zone and start_isolate_page_range() fails: -EBUSY,
 * at once, without the retry loop. In ZONE_MOVABLE that check is skipped
 * and offline_pages() would loop forever waiting for the page to become
 * free, so the agent never pins there.
 *
 * Pins are never released: memory with a pin can no longer be removed.
 */
struct agent_pin {
	struct list_head list;
	unsigned long pfn;
};

/* Pinned pages; agent_pin_lock (a pincheck may run outside the onlining). */
static LIST_HEAD(agent_pins);
static DEFINE_MUTEX(agent_pin_lock);
/* The online-page callback is installed: pin=1 works. */
static bool agent_pin_ready;
/* Pin chosen at MEM_GOING_ONLINE; under mem_hotplug_lock. */
static struct agent_pin *agent_pin_pending;
/* The callback kept agent_pin_pending->pfn back; under mem_hotplug_lock. */
static bool agent_pin_taken;

static void agent_online_page(struct page *page, unsigned int order)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned long target;

	if (!agent_pin_pending || agent_pin_taken) {
		generic_online_page(page, order);
		return;
	}
	target = agent_pin_pending->pfn;
	if (target < pfn || target >= pfn + (1UL << order)) {
		generic_online_page(page, order);
		return;
	}

	/* Free the buddy halves that do not hold the target, down to it. */
	while (order) {
		order--;
		if (target < pfn + (1UL << order)) {
			generic_online_page(pfn_to_page(pfn + (1UL << order)),
					    order);
		} else {
			generic_online_page(pfn_to_page(pfn), order);
			pfn += 1UL << order;
		}
	}

	/*
	 * pfn == target. Its memmap was initialised with refcount 1 and
	 * PG_reserved (memmap_init_range(), MEMINIT_HOTPLUG); make it an
	 * ordinary allocated page and account it as __free_pages_core() plus
	 * generic_online_page() would have.
	 */
	page = pfn_to_page(pfn);
	debug_pagealloc_map_pages(page, 1);
	__ClearPageReserved(page);
	set_page_count(page, 1);
	adjust_managed_page_count(page, 1);
	agent_pin_taken = true;
}

static void agent_pin_fill(unsigned long pfn)
{
	u64 *p = page_address(pfn_to_page(pfn));
	unsigned int w;

	for (w = 0; w < AGENT_WORDS_PER_PAGE; w++)
		WRITE_ONCE(p[w], (PFN_PHYS(pfn) + w * sizeof(u64)) ^
			   AGENT_PIN_MAGIC);
}

static bool agent_pin_intact(unsigned long pfn)
{
	u64 *p = page_address(pfn_to_page(pfn));
	unsigned int w;

	for (w = 0; w < AGENT_WORDS_PER_PAGE; w++)
		if (READ_ONCE(p[w]) != ((PFN_PHYS(pfn) + w * sizeof(u64)) ^
					AGENT_PIN_MAGIC))
			return false;
	return true;
}

/* MEM_GOING_ONLINE: choose the page to keep, if the zone allows it. */
static void agent_pin_prepare(unsigned long start_pfn, unsigned long nr_pages)
{
	/* move_pfn_range_to_zone() has already set the zone of the range. */
	struct zone *zone = page_zone(pfn_to_page(start_pfn));
	struct agent_pin *ap;

	if (!pin || !agent_pin_ready || zone_idx(zone) == ZONE_MOVABLE)
		return;
	ap = kmalloc(sizeof(*ap), GFP_KERNEL);
	if (!ap) {
		pr_warn("memplug_agent: no memory for a pin\n");
		return;
	}
	/* The middle of the range: clear of its edges and of any vmemmap. */
	ap->pfn = start_pfn + nr_pages / 2;
	agent_pin_pending = ap;
	agent_pin_taken = false;
}

/* MEM_ONLINE / MEM_CANCEL_ONLINE: the callbacks have run (or never will). */
static void agent_pin_finish(bool online)
{
	struct agent_pin *ap = agent_pin_pending;

	if (!ap)
		return;
	agent_pin_pending = NULL;
	if (!online || !agent_pin_taken) {
		if (online)
			pr_warn("memplug_agent: pfn %lu was not kept back, no pin\n",
				ap->pfn);
		kfree(ap);
		return;
	}
	agent_pin_fill(ap->pfn);
	mutex_lock(&agent_pin_lock);
	list_add_tail(&ap->list, &agent_pins);
	mutex_unlock(&agent_pin_lock);
	pr_info("MEMPLUG-AGENT pin pfn=%lu nid=%d\n",
		ap->pfn, page_to_nid(pfn_to_page(ap->pfn)));
}

/*
 * drivers/base/memory.c, memory_block_change_state(): offlining the block
 * [start_pfn, start_pfn + nr_pages) failed with err and it stays online.
 * This catches every failure: offline_pages() fails before any notifier
 * (no MEM_GOING_OFFLINE/MEM_CANCEL_OFFLINE) when the range cannot be
 * isolated, which is exactly what a pinned page causes. Under
 * device_hotplug_lock.
 */
void memplug_agent_offline_failed(unsigned long start_pfn,
				  unsigned long nr_pages, int err)
{
	struct agent_pin *ap;

	pr_info("MEMPLUG-AGENT offlinefail start_pfn=%lu pages=%lu error=%d\n",
		start_pfn, nr_pages, err);

	mutex_lock(&agent_pin_lock);
	list_for_each_entry(ap, &agent_pins, list)
		if (ap->pfn >= start_pfn && ap->pfn < start_pfn + nr_pages)
			pr_info("MEMPLUG-AGENT pincheck pfn=%lu ok=%d\n",
				ap->pfn, agent_pin_intact(ap->pfn));
	mutex_unlock(&agent_pin_lock);
}

static int agent_memory_notify(struct notifier_block *nb,
			       unsigned long action, void *arg)
{
	struct memory_notify *mn = arg;

	switch (action) {
	case MEM_GOING_ONLINE:
		if (pattern)
			agent_pattern_check(mn->start_pfn, mn->nr_pages);
		agent_pin_prepare(mn->start_pfn, mn->nr_pages);
		break;
	case MEM_CANCEL_ONLINE:
		agent_pin_finish(false);
		break;
	case MEM_ONLINE:
		agent_pin_finish(true);
		memplug_agent_memory_changed();
		break;
	case MEM_OFFLINE:
		memplug_agent_memory_changed();
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block agent_memory_nb = {
	.notifier_call = agent_memory_notify,
};

/*
 * Before any memory is hot-added: DIMMs present at boot are added (and
 * onlined with memhp_default_state=online) by the ACPI memory driver from
 * acpi_init(), a subsys_initcall; the pattern check and pinning apply to
 * them too. Their memory and node lines are part of "ready".
 */
static int __init agent_early_init(void)
{
	if (register_memory_notifier(&agent_memory_nb))
		pr_warn("memplug_agent: no memory notifier, no online/offline lines\n");
	if (pin) {
		if (set_online_page_callback(agent_online_page))
			pr_warn("memplug_agent: online-page callback taken, pin=1 does nothing\n");
		else
			agent_pin_ready = true;
	}
	return 0;
}
core_initcall(agent_early_init);

static void agent_powerbutton_workfn(struct work_struct *work)
{
	pr_info("MEMPLUG-AGENT powerbutton uptime_ms=%llu reboot=%d\n",
		agent_uptime_ms(), reboot);
	if (reboot)
		kernel_restart(NULL);
	kernel_power_off();
}
static DECLARE_WORK(agent_powerbutton_work, agent_powerbutton_workfn);

#ifdef CONFIG_ACPI
/* Called from the SCI handler (hard IRQ context). */
static u32 agent_powerbutton_event(void *context)
{
	schedule_work(&agent_powerbutton_work);
	return ACPI_INTERRUPT_HANDLED;
}

static void agent_install_powerbutton(void)
{
	acpi_status status;

	if (!powerbutton || acpi_disabled)
		return;
	/* FADT flag set: no fixed power button (it is a control method). */
	if (acpi_gbl_FADT.flags & ACPI_FADT_POWER_BUTTON)
		return;
	status = acpi_install_fixed_event_handler(ACPI_EVENT_POWER_BUTTON,
						  agent_powerbutton_event,
						  NULL);
	if (ACPI_FAILURE(status))
		pr_warn("memplug_agent: no power-button handler: %s\n",
			acpi_format_exception(status));
}
#else
static void agent_install_powerbutton(void)
{
}
#endif

/*
 * Called by kernel_init() (init/main.c) where it would start user space:
 * every initcall has run, init memory is freed, system_state is
 * SYSTEM_RUNNING. Never returns: there is no user space to start.
 */
void memplug_agent_boot_done(void)
{
	struct agent_mem_state st;

	agent_wq = alloc_ordered_workqueue("memplug_agent", 0);
	if (!agent_wq)
		pr_warn("memplug_agent: no workqueue, no memory lines\n");

	agent_install_powerbutton();

	mutex_lock(&agent_report_lock);
	lock_device_hotplug();
	agent_mem_state(&st);
	agent_last = st;
	WRITE_ONCE(agent_live, agent_wq != NULL);
	unlock_device_hotplug();

	pr_info("MEMPLUG-AGENT ready uptime_ms=%llu cpus=%u memtotal_kb=%lu blocks=%lu online_blocks=%lu sci_irq=%d acpi=%d\n",
		agent_uptime_ms(), num_online_cpus(), st.memtotal_kb,
		st.blocks, st.online_blocks, agent_sci_irq(), !acpi_disabled);
	agent_print_nodes();
	mutex_unlock(&agent_report_lock);

	if (poweroff) {
		kernel_power_off();	/* does not return when it works */
		pr_warn("memplug_agent: power off failed (no ACPI \\_S5?)\n");
	}

	/*
	 * Park the init thread for good. TASK_IDLE: not woken by signals, not
	 * counted as load, not reported as a hung task.
	 */
	for (;;) {
		set_current_state(TASK_IDLE);
		schedule();
	}
}
