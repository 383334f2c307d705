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
 *   MEMPLUG-AGENT powerbutton uptime_ms=N
 *
 * See guest-tests/agent/README.md for what each field means.
 *
 * This file lives in the memplug repository (guest-tests/agent/) and is
 * copied into the kernel tree as drivers/misc/memplug_agent.c by
 * scripts/build-guest.sh; the patch 0003-memplug-agent.patch only adds the
 * Kconfig/Makefile lines and the two hooks (init/main.c,
 * drivers/base/memory.c). Built in only: KBUILD_MODNAME is "memplug_agent",
 * so the parameters are memplug_agent.<name>= on the kernel command line.
 */

#include <linux/acpi.h>
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/irq.h>		/* struct irq_desc */
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/memory.h>
#include <linux/memplug_agent.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/printk.h>
#include <linux/reboot.h>
#include <linux/sched.h>
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

struct agent_mem_state {
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
/* Last state printed (ready or memory line); only touched by agent_wq. */
static struct agent_mem_state agent_last;

static unsigned long long agent_uptime_ms(void)
{
	return ktime_to_ms(ktime_get_boottime());
}

static int agent_count_block(struct memory_block *mem, void *arg)
{
	struct agent_mem_state *st = arg;

	st->blocks++;
	if (mem->state == MEM_ONLINE)
		st->online_blocks++;
	return 0;
}

/* Caller holds device_hotplug_lock, so no block changes state meanwhile. */
static void agent_mem_state(struct agent_mem_state *st)
{
	unsigned long movable_pages = 0;
	struct zone *zone;

	memset(st, 0, sizeof(*st));
	st->memtotal_kb = totalram_pages() << (PAGE_SHIFT - 10);
	for_each_memory_block(st, agent_count_block);
	for_each_zone(zone)
		if (zone_idx(zone) == ZONE_MOVABLE)
			movable_pages += zone_managed_pages(zone);
	st->movable_kb = movable_pages << (PAGE_SHIFT - 10);
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
	if (!memcmp(&st, &agent_last, sizeof(st)))
		return;
	agent_last = st;
	pr_info("MEMPLUG-AGENT memory memtotal_kb=%lu blocks=%lu online_blocks=%lu movable_kb=%lu uptime_ms=%llu\n",
		st.memtotal_kb, st.blocks, st.online_blocks, st.movable_kb,
		agent_uptime_ms());
}
static DECLARE_WORK(agent_memory_work, agent_memory_workfn);

void memplug_agent_memory_changed(void)
{
	if (READ_ONCE(agent_live))
		queue_work(agent_wq, &agent_memory_work);
}

static int agent_memory_notify(struct notifier_block *nb,
			       unsigned long action, void *arg)
{
	/* Only completed transitions; GOING_* and CANCEL_* change nothing. */
	if (action == MEM_ONLINE || action == MEM_OFFLINE)
		memplug_agent_memory_changed();
	return NOTIFY_OK;
}

static struct notifier_block agent_memory_nb = {
	.notifier_call = agent_memory_notify,
};

static void agent_powerbutton_workfn(struct work_struct *work)
{
	pr_info("MEMPLUG-AGENT powerbutton uptime_ms=%llu\n", agent_uptime_ms());
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
	else if (register_memory_notifier(&agent_memory_nb))
		pr_warn("memplug_agent: no memory notifier, no online/offline lines\n");

	lock_device_hotplug();
	agent_mem_state(&st);
	agent_last = st;
	WRITE_ONCE(agent_live, agent_wq != NULL);
	unlock_device_hotplug();

	agent_install_powerbutton();

	pr_info("MEMPLUG-AGENT ready uptime_ms=%llu cpus=%u memtotal_kb=%lu blocks=%lu online_blocks=%lu sci_irq=%d acpi=%d\n",
		agent_uptime_ms(), num_online_cpus(), st.memtotal_kb,
		st.blocks, st.online_blocks, agent_sci_irq(), !acpi_disabled);

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
