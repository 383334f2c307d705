#include "vmm/memdev.h"

#include <errno.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/size.h"
#include "vmm/prealloc.h"
#include "vmm/qmp_cmds.h"
#include "vmm/qmp_request.h"

/* The members each type has, besides qom-type and id. */
static const struct qmp_arg common[] = {
	{ "size", "size", false },	  { "merge", "bool", true },
	{ "dump", "bool", true },	  { "prealloc", "bool", true },
	{ "prealloc-threads", "int", true }, { "share", "bool", true },
	{ "reserve", "bool", true },	  { "host-nodes", "[uint16]", true },
	{ "policy", "str", true },	  { 0 },
};
static const struct qmp_arg file_only[] = {
	{ "mem-path", "str", false },	  { "align", "size", true },
	{ "discard-data", "bool", true }, { "readonly", "bool", true },
	{ 0 },
};
static const struct qmp_arg memfd_only[] = {
	{ "hugetlb", "bool", true }, { "hugetlbsize", "size", true },
	{ "seal", "bool", true },    { 0 },
};

static const struct memdev_type types[] = {
	{ "memory-backend-ram", BACKEND_RAM, { common } },
	{ "memory-backend-memfd", BACKEND_MEMFD, { common, memfd_only } },
	{ "memory-backend-file", BACKEND_FILE, { common, file_only } },
};

const struct memdev_type *memdev_types(size_t *n)
{
	*n = sizeof(types) / sizeof(types[0]);
	return types;
}

/* A size: bytes, or (memplug's own) a string such as "1G". */
static int size_arg(json_t *props, const char *key, uint64_t *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(props, key);

	if (json_is_string(v)) {
		if (size_parse(json_string_value(v), SIZE_BYTES, out) == 0)
			return 0;
		snprintf(err, errlen, "%s '%s' is not a size", key,
			 json_string_value(v));
		return -EINVAL;
	}
	return qmp_arg_uint(props, key, out, err, errlen);
}

/* host-nodes: [0, 1] (QMP), or 0 and "0-3" (the command line's). */
static int host_nodes(json_t *v, uint64_t *mask, char *err, size_t errlen)
{
	unsigned long a, b;
	char *end;
	json_t *x;
	size_t i;

	if (json_is_integer(v))
		v = json_pack("[O]", v);
	else if (json_is_string(v)) {
		a = b = strtoul(json_string_value(v), &end, 10);
		if (*end == '-')
			b = strtoul(end + 1, &end, 10);
		if (*end || a > b || b >= 64)
			goto bad;
		*mask |= (b == 63 ? ~0ULL : (1ULL << (b + 1)) - 1) &
			 ~((1ULL << a) - 1);
		return 0;
	} else if (json_is_array(v)) {
		json_incref(v);
	} else {
		goto bad;
	}
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) >= 64) {
			json_decref(v);
			goto bad;
		}
		*mask |= 1ULL << json_integer_value(x);
	}
	json_decref(v);
	return 0;
bad:
	snprintf(err, errlen, "Invalid parameter type for 'host-nodes', "
		 "expected: a list of host NUMA nodes 0-63");
	return -EINVAL;
}

static const char *const policies[] = {
	[MPOL_DEFAULT] = "default", [MPOL_PREFERRED] = "preferred",
	[MPOL_BIND] = "bind", [MPOL_INTERLEAVE] = "interleave",
};

const char *memdev_policy_name(int policy)
{
	return policy >= 0 && policy < (int)(sizeof(policies) / sizeof(policies[0]))
	       && policies[policy] ? policies[policy] : "default";
}

static int policy_arg(json_t *props, int *out, char *err, size_t errlen)
{
	const char *const *names = policies;
	const char *p = NULL;

	if (qmp_arg_str(props, "policy", false, &p, err, errlen) < 0)
		return -EINVAL;
	if (!p)
		return 0;
	for (int i = 0; i < (int)(sizeof(policies) / sizeof(policies[0])); i++)
		if (names[i] && !strcmp(names[i], p)) {
			*out = i;
			return 0;
		}
	snprintf(err, errlen, "Parameter 'policy' does not accept value '%s' "
		 "(default, preferred, bind or interleave)", p);
	return -EINVAL;
}

/* The rules between members, QEMU's and memplug's. */
static int check_rules(const struct backend_args *a, char *err, size_t errlen)
{
	/* QEMU's rule: nodes and policy come together. */
	if (a->policy == MPOL_DEFAULT && a->host_nodes) {
		snprintf(err, errlen, "host-nodes must be empty for policy "
			 "default, or you should explicitly specify a policy "
			 "other than default");
		return -EINVAL;
	}
	if (a->policy != MPOL_DEFAULT && !a->host_nodes) {
		snprintf(err, errlen, "host-nodes must be set for a policy other "
			 "than default");
		return -EINVAL;
	}
	if (a->hugetlbsize && !a->hugetlb) {
		snprintf(err, errlen, "hugetlbsize needs hugetlb=on");
		return -EINVAL;
	}
	if (a->align & (a->align - 1)) {
		snprintf(err, errlen, "align %llu is not a power of two",
			 (unsigned long long)a->align);
		return -EINVAL;
	}
	return 0;
}

int memdev_parse(const char *type, json_t *props, struct backend_args *a,
		 char *err, size_t errlen)
{
	uint64_t threads = 1;
	json_t *v;
	bool readonly = false;
	const struct memdev_type *t = NULL;

	*a = (struct backend_args){ .reserve = true, .merge = true, .dump = true,
				    .seal = true, .prealloc_threads = 1 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(type, types[i].name))
			t = &types[i];
	if (!t) {
		snprintf(err, errlen, "qom-type '%s' is not supported: memplug "
			 "has memory-backend-ram, -memfd and -file", type);
		return -EINVAL;
	}
	a->kind = t->kind;
	/* QEMU refuses a member the type does not have. */
	if (qmp_check_members(t->members, MEMDEV_MEMBER_LISTS, false, props,
			      err, errlen) < 0)
		return -EINVAL;
	/* memfd memory is shared unless told otherwise, as in QEMU. */
	a->share = a->kind == BACKEND_MEMFD;
	if (size_arg(props, "size", &a->size, err, errlen) < 0 ||
	    size_arg(props, "hugetlbsize", &a->hugetlbsize, err, errlen) < 0 ||
	    size_arg(props, "align", &a->align, err, errlen) < 0 ||
	    qmp_arg_bool(props, "prealloc", &a->prealloc, err, errlen) < 0 ||
	    qmp_arg_bool(props, "share", &a->share, err, errlen) < 0 ||
	    qmp_arg_bool(props, "reserve", &a->reserve, err, errlen) < 0 ||
	    qmp_arg_bool(props, "merge", &a->merge, err, errlen) < 0 ||
	    qmp_arg_bool(props, "dump", &a->dump, err, errlen) < 0 ||
	    qmp_arg_bool(props, "seal", &a->seal, err, errlen) < 0 ||
	    qmp_arg_bool(props, "hugetlb", &a->hugetlb, err, errlen) < 0 ||
	    qmp_arg_bool(props, "discard-data", &a->discard_data, err,
			 errlen) < 0 ||
	    qmp_arg_bool(props, "readonly", &readonly, err, errlen) < 0 ||
	    qmp_arg_uint(props, "prealloc-threads", &threads, err, errlen) < 0 ||
	    qmp_arg_str(props, "mem-path", false, &a->mem_path, err, errlen) < 0 ||
	    policy_arg(props, &a->policy, err, errlen) < 0)
		return -EINVAL;
	if ((v = json_object_get(props, "host-nodes")) &&
	    host_nodes(v, &a->host_nodes, err, errlen) < 0)
		return -EINVAL;
	if (readonly) {
		snprintf(err, errlen, "readonly=on is not supported by memplug: "
			 "a DIMM is RAM the guest writes");
		return -EINVAL;
	}
	if (!threads || threads > PREALLOC_MAX_THREADS) {
		snprintf(err, errlen, "prealloc-threads %llu: 1 to %d",
			 (unsigned long long)threads, PREALLOC_MAX_THREADS);
		return -EINVAL;
	}
	a->prealloc_threads = (unsigned int)threads;
	return check_rules(a, err, errlen);
}
