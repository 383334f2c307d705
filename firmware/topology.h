/* Where each vCPU sits: its NUMA node, socket, core and APIC id. The one
 * owner of that mapping: the SRAT and MADT (vmm/acpi_cfg.c), the KVM vCPU
 * ids (vmm/vcpu.c) and the CPUID topology leaves (firmware/cpuid.c) all
 * ask here. Pure arithmetic. */
#ifndef MEMPLUG_FIRMWARE_TOPOLOGY_H
#define MEMPLUG_FIRMWARE_TOPOLOGY_H

/* vCPUs go round-robin over the nodes (vCPU i on node i % nodes). Each
 * node is one socket whose vCPUs are its cores, one thread each, sharing
 * the socket's last-level cache: Linux must not find two vCPUs of
 * different nodes in one LLC (with both vCPUs of --cpus 2 --numa nodes=2
 * in one socket, the stock 6.1 kernel warned "llc-sibling ... is not on
 * the same node" in topology_sane). The APIC id is
 * socket << core_bits | core, the socket being the node, so Linux's
 * package id (APIC id >> core_bits) is the node too. With one node this
 * is vCPU i = core i = APIC id i. */
struct cpu_topology {
	unsigned int ncpus, nodes;
	unsigned int core_bits; /* APIC id bits of the core in its socket */
};

/* nodes 0 is taken as 1. */
void cpu_topology_init(struct cpu_topology *t, unsigned int ncpus,
		       unsigned int nodes);
unsigned int cpu_topology_node(const struct cpu_topology *t,
			       unsigned int vcpu);
/* The vCPU's core number in its socket. */
unsigned int cpu_topology_core(const struct cpu_topology *t,
			       unsigned int vcpu);
unsigned int cpu_topology_apic_id(const struct cpu_topology *t,
				  unsigned int vcpu);
/* How many vCPUs (cores) the node's socket has. */
unsigned int cpu_topology_cores(const struct cpu_topology *t,
				unsigned int node);
/* The largest APIC id of any vCPU. */
unsigned int cpu_topology_max_apic_id(const struct cpu_topology *t);

#endif
