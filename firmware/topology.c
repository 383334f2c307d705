#include "firmware/topology.h"

static unsigned int order_of(unsigned int n)
{
	unsigned int o = 0;

	while ((1u << o) < n)
		o++;
	return o;
}

void cpu_topology_init(struct cpu_topology *t, unsigned int ncpus,
		       unsigned int nodes)
{
	t->ncpus = ncpus;
	t->nodes = nodes ? nodes : 1;
	/* Node 0 has the most vCPUs. */
	t->core_bits = order_of(cpu_topology_cores(t, 0));
}

unsigned int cpu_topology_node(const struct cpu_topology *t,
			       unsigned int vcpu)
{
	return vcpu % t->nodes;
}

unsigned int cpu_topology_core(const struct cpu_topology *t,
			       unsigned int vcpu)
{
	return vcpu / t->nodes;
}

unsigned int cpu_topology_apic_id(const struct cpu_topology *t,
				  unsigned int vcpu)
{
	return cpu_topology_node(t, vcpu) << t->core_bits |
	       cpu_topology_core(t, vcpu);
}

unsigned int cpu_topology_cores(const struct cpu_topology *t,
				unsigned int node)
{
	return node < t->ncpus % t->nodes ? t->ncpus / t->nodes + 1
					  : t->ncpus / t->nodes;
}

unsigned int cpu_topology_max_apic_id(const struct cpu_topology *t)
{
	unsigned int max = 0;

	for (unsigned int i = 0; i < t->ncpus; i++)
		if (cpu_topology_apic_id(t, i) > max)
			max = cpu_topology_apic_id(t, i);
	return max;
}
