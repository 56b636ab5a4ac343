/*
 * Machine topology (hwloc) and thread placement plans.
 *
 * Every plan is built the same way: make an ordered list of distinct PU objects (the "order")
 * for the placement, then give thread i the PU order[i % n]. Wrapping (i >= n) is only allowed
 * with oversubscribe; otherwise it is -E2BIG.
 *
 *   compact  PUs in hwloc logical order. hwloc numbers objects depth-first through the tree
 *            (Machine > Package > [Group/Die] > L3 > ... > Core > PU, NUMA nodes hang off the
 *            tree as memory children and do not reorder it), so logical order already is "fill
 *            a core's PUs, then the next core under the same LLC, then the next LLC, then the
 *            next package", whatever caches the topology does or does not describe.
 *   spread   PUs are grouped by their home node (below); groups are taken in ascending node OS
 *            index, then come the node-less PUs, one pseudo-group per package (package logical
 *            order). Per group the PUs are sorted by (rank inside their core, logical index):
 *            every core's first PU before any core's second PU. The groups are then dealt out
 *            round-robin. Nodes that are home to no PU (memory-only: HBM, CXL) take no threads.
 *   numa:N   compact order restricted to node N's cpuset (the PUs local to N, node-less PUs are
 *            in no node's cpuset); every place reports node N.
 *   list     the listed PUs, in the given order.
 *
 * Home node (H1): a PU's home node is, among the NUMA nodes whose cpuset holds it, the one with
 * the smallest cpuset (a package's node rather than a machine-wide CXL node), ties going to the
 * lowest OS index (DDR node 0 before the HBM node 2 sharing its PUs, whatever order hwloc lists
 * them in). A PU in no node's cpuset has no home node: hwloc drops the nodes a cgroup's
 * cpuset.mems excludes (Slurm, Kubernetes) but keeps their PUs, and an offline node leaves its
 * PUs behind the same way. Such a PU is never labelled with a node it does not belong to.
 * A topology without NUMA objects (possible in hwloc 1.x XML) counts as one node 0 holding
 * every PU.
 *
 * Invariants after iob_topo_load(): the hwloc topology is loaded and never modified again;
 * nodes[] holds the NUMA objects sorted by OS index; pu_rank[l] is the index in nodes[] of the
 * home node (H1) of the PU of logical index l, or -1. Everything here only reads the topology
 * after load, which hwloc allows from any thread.
 */
#include "topo.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hwloc.h>
#include <jansson.h>

struct iob_topo {
	hwloc_topology_t topo;
	enum iob_topo_source src;
	char *source; /**< "system", "synthetic:<s>", "xml:<path>" */
	bool thissystem;
	int npus;
	int nnuma_objs;	    /**< NUMA objects hwloc reports (may be 0 for an XML import) */
	hwloc_obj_t *nodes; /**< the nnuma_objs NUMA objects, by ascending OS index */
	int *pu_rank;	    /**< by PU logical index: home node (H1) index in nodes[], or -1 */
	int nnodeless;	    /**< PUs without a home node */
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
							  ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *str_concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static hwloc_obj_t pu_obj(const struct iob_topo *t, int logical)
{
	return hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PU, (unsigned)logical);
}

static hwloc_obj_t pu_by_os(const struct iob_topo *t, long os)
{
	if (os < 0 || os > INT32_MAX)
		return NULL;
	return hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)os);
}

/* OS index of the home node (H1) of the PU of logical index @logical, or IOB_TOPO_NO_NUMA. */
static int pu_numa(const struct iob_topo *t, int logical)
{
	int rank = t->pu_rank[logical];

	if (rank < 0)
		return IOB_TOPO_NO_NUMA;
	return t->nnuma_objs ? (int)t->nodes[rank]->os_index : 0;
}

static int cmp_node_os(const void *a, const void *b)
{
	unsigned x = (*(const hwloc_obj_t *)a)->os_index, y = (*(const hwloc_obj_t *)b)->os_index;

	return x < y ? -1 : x > y;
}

/* Sort the NUMA nodes by OS index and give each PU its home node (H1). */
static int assign_numa(struct iob_topo *t)
{
	int *weight = NULL; /* by PU: cpuset weight of its home node so far */
	int ret = -ENOMEM;

	t->pu_rank = calloc((size_t)t->npus, sizeof(*t->pu_rank));
	weight = calloc((size_t)t->npus, sizeof(*weight));
	if (t->nnuma_objs)
		t->nodes = calloc((size_t)t->nnuma_objs, sizeof(*t->nodes));
	if (!t->pu_rank || !weight || (t->nnuma_objs && !t->nodes))
		goto out;
	for (int n = 0; n < t->nnuma_objs; n++)
		t->nodes[n] = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, (unsigned)n);
	if (t->nnuma_objs)
		qsort(t->nodes, (size_t)t->nnuma_objs, sizeof(*t->nodes), cmp_node_os);
	for (int i = 0; i < t->npus; i++)
		t->pu_rank[i] = t->nnuma_objs ? -1 : 0; /* no NUMA object: implicit node 0 */
	/* Ascending OS index, so a tie in weight keeps the lower OS index. */
	for (int n = 0; n < t->nnuma_objs; n++) {
		hwloc_const_cpuset_t set = t->nodes[n]->cpuset;
		int w = set ? hwloc_bitmap_weight(set) : 0;

		if (w <= 0)
			continue;
		for (int i = 0; i < t->npus; i++)
			if (hwloc_bitmap_isset(set, pu_obj(t, i)->os_index) &&
			    (t->pu_rank[i] < 0 || w < weight[i])) {
				t->pu_rank[i] = n;
				weight[i] = w;
			}
	}
	for (int i = 0; i < t->npus; i++)
		t->nnodeless += t->pu_rank[i] < 0;
	ret = 0;
out:
	free(weight);
	return ret;
}

/* Saturating a * b. */
static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Skip a "(...)" or "[...]" group (they nest, "[numa(memory=1GB)]"); NULL when unterminated. */
static const char *skip_group(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '(' || *p == '[')
			depth++;
		else if ((*p == ')' || *p == ']') && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* Largest number in an "indexes=" list ("0,2,4" or "2*4:1*2", interleavings); 0 when none. */
static uint64_t max_index(const char *group, const char *end)
{
	const char *p = group;
	uint64_t max = 0;

	while ((p = strstr(p, "indexes=")) && p < end) {
		for (p += 8; p < end && *p != ' ' && *p != ')'; p++) {
			uint64_t v = 0;

			if (*p < '0' || *p > '9')
				continue;
			for (; p < end && *p >= '0' && *p <= '9'; p++)
				v = add_sat(mul_sat(v, 10), (uint64_t)(*p - '0'));
			max = v > max ? v : max;
			p--;
		}
	}
	return max;
}

/*
 * hwloc builds a synthetic topology object by object, inserting each child among its siblings
 * (quadratic in the arity) with cpusets as wide as the largest PU index: "pack:1000 core:1000
 * pu:1000" grows memory for minutes. Walk the string the way hwloc reads it (an optional root
 * "(attrs)", then levels "[type:]count[(attrs)]", memory children "[...]" one per parent) and
 * refuse it, naming the limit, before hwloc starts. Strings this walk does not understand are
 * left to hwloc to reject.
 */
static int check_synthetic_size(const char *arg, char *err, size_t errlen)
{
	uint64_t width = 1, objects = 1, arity_max = 0, index_max = 0;
	const char *p = arg, *arity_at = NULL;
	int arity_len = 0;

	while (*p) {
		const char *tok, *num, *end;
		uint64_t count = 0;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p == '(' || *p == '[') {
			end = skip_group(p);
			if (!end)
				return 0;
			if (max_index(p, end) > index_max)
				index_max = max_index(p, end);
			if (*p == '[') /* a memory child under every object of the level above */
				objects = add_sat(objects, width);
			p = end;
			continue;
		}
		tok = p;
		while (*p && *p != ' ' && *p != '(' && *p != '[')
			p++;
		num = (*tok >= '0' && *tok <= '9') ? tok : memchr(tok, ':', (size_t)(p - tok));
		if (!num)
			return 0;
		if (*num == ':')
			num++;
		/* hwloc reads the count with strtoul(base 0): 0x10 and 010 are numbers too. */
		{
			char *e;

			errno = 0;
			count = strtoull(num, &e, 0);
			if (e == num)
				return 0;
			if (errno == ERANGE)
				count = UINT64_MAX;
		}
		if (count > arity_max) {
			arity_max = count;
			arity_at = tok;
			arity_len = (int)(p - tok);
		}
		width = mul_sat(width, count);
		objects = add_sat(objects, width);
	}
	if (width > IOB_TOPO_MAX_PUS) {
		char n[32] = "over 2^64";

		if (width != UINT64_MAX)
			snprintf(n, sizeof(n), "%llu", (unsigned long long)width);
		set_err(err, errlen,
			"synthetic topology '%s' has %s PUs, more than the limit of %d", arg, n,
			IOB_TOPO_MAX_PUS);
		return -E2BIG;
	}
	if (arity_max > IOB_TOPO_MAX_ARITY) {
		set_err(err, errlen,
			"synthetic topology '%s': level '%.*s' has %llu children per parent, more "
			"than "
			"the limit of %d",
			arg, arity_len, arity_at, (unsigned long long)arity_max,
			IOB_TOPO_MAX_ARITY);
		return -E2BIG;
	}
	if (objects > IOB_TOPO_MAX_OBJECTS) {
		set_err(err, errlen,
			"synthetic topology '%s' has %llu objects, more than the limit of %d", arg,
			(unsigned long long)objects, IOB_TOPO_MAX_OBJECTS);
		return -E2BIG;
	}
	if (index_max > IOB_TOPO_MAX_OS_INDEX) {
		set_err(err, errlen,
			"synthetic topology '%s': index %llu in 'indexes=' is above the limit of "
			"%d",
			arg, (unsigned long long)index_max, IOB_TOPO_MAX_OS_INDEX);
		return -E2BIG;
	}
	return 0;
}

/* Whether the attribute @name=" appears in the tag [tag, end). */
static bool has_attr(const char *tag, const char *end, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = tag; (p = strstr(p, name)) && p < end; p += len)
		if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == '\r') &&
		    p[len] == '=')
			return true;
	return false;
}

/*
 * Refuse, with the reason, what hwloc 2.x cannot read or reads wrong:
 * - XML format 3.0 (hwloc 3's default export): hwloc 2.x fails with a bare EINVAL. The format is
 *   the version attribute of <topology>; none means format 1.x.
 * - an object with a cpuset but no complete_cpuset, or a nodeset but no complete_nodeset: hwloc
 *   2.9's reader dereferences the missing set and crashes (hwloc's own exports always write
 *   both, hand-edited files may not).
 * @text is the whole file, NUL-terminated.
 */
static int check_xml_text(const char *path, const char *text, char *err, size_t errlen)
{
	const char *p, *end, *v;
	unsigned long major;
	int line = 1;

	for (p = text; (p = strstr(p, "<topology")); p += 9)
		if (strchr(" \t\r\n>", p[9]))
			break;
	if (p && (end = strchr(p, '>')) && (v = strstr(p, "version=")) && v < end &&
	    (v[8] == '"' || v[8] == '\'')) {
		major = strtoul(v + 9, NULL, 10);
		if (major > hwloc_get_api_version() >> 16) {
			set_err(err, errlen,
				"XML topology file '%s' is hwloc XML format %.*s, which hwloc %u.x "
				"(linked here) cannot read; export it again in format 2 with hwloc "
				"%lu: lstopo --of xml --export-xml-flags v2 FILE",
				path, (int)strcspn(v + 9, "\"'>"), v + 9,
				hwloc_get_api_version() >> 16, major);
			return -EIO;
		}
	}
	for (p = text; (p = strstr(p, "<object")); p = end) {
		static const char *const need[][2] = { { "cpuset", "complete_cpuset" },
						       { "nodeset", "complete_nodeset" } };

		for (const char *q = text; q < p; q++) /* lines before this tag */
			line += *q == '\n';
		text = p;
		end = strchr(p, '>');
		if (!end)
			return 0; /* truncated: hwloc reports it */
		for (size_t k = 0; k < 2; k++)
			if (has_attr(p, end, need[k][0]) && !has_attr(p, end, need[k][1])) {
				set_err(err, errlen,
					"XML topology file '%s', line %d: object has '%s' but no "
					"'%s' (hwloc 2.x crashes on that; hwloc's own exports "
					"write both)",
					path, line, need[k][0], need[k][1]);
				return -EIO;
			}
	}
	return 0;
}

/* Read the whole file (its size is already bounded) and check it with check_xml_text(). */
static int check_xml_file(const char *path, size_t size, char *err, size_t errlen)
{
	char *text = malloc(size + 1);
	FILE *f;
	size_t n;
	int ret;

	if (!text)
		return -ENOMEM;
	f = fopen(path, "r");
	if (!f) {
		set_err(err, errlen, "XML topology file '%s': %s", path, strerror(errno));
		free(text);
		return -EIO;
	}
	n = fread(text, 1, size, f);
	fclose(f);
	text[n] = '\0';
	ret = check_xml_text(path, text, err, errlen);
	free(text);
	return ret;
}

static int load_xml(struct iob_topo *t, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	if (stat(path, &st) != 0) {
		int e = errno;

		set_err(err, errlen, "XML topology file '%s': %s", path, strerror(e));
		return e == ENOENT ? -ENOENT : -EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "XML topology file '%s' is not a regular file", path);
		return -EIO;
	}
	if (access(path, R_OK) != 0) {
		set_err(err, errlen, "XML topology file '%s': %s", path, strerror(errno));
		return -EIO;
	}
	/* hwloc parses about 30 MB/s here and keeps the whole tree: bound what it is given. */
	if (st.st_size > IOB_TOPO_MAX_XML_BYTES) {
		set_err(err, errlen,
			"XML topology file '%s' is %lld bytes, more than the limit of %d bytes (%d "
			"MiB)",
			path, (long long)st.st_size, IOB_TOPO_MAX_XML_BYTES,
			IOB_TOPO_MAX_XML_BYTES >> 20);
		return -E2BIG;
	}
	ret = check_xml_file(path, (size_t)st.st_size, err, errlen);
	if (ret)
		return ret;
	if (hwloc_topology_set_xml(t->topo, path) != 0) {
		set_err(err, errlen, "'%s' is not a valid hwloc XML topology", path);
		return -EIO;
	}
	return 0;
}

int iob_topo_load(enum iob_topo_source src, const char *arg, struct iob_topo **out, char *err,
		  size_t errlen)
{
	struct iob_topo *t;
	int ret = -ENOMEM;

	set_err(err, errlen, "no error");
	if ((src == IOB_TOPO_SYNTHETIC || src == IOB_TOPO_XML) && !arg) {
		set_err(err, errlen, "missing %s topology argument",
			src == IOB_TOPO_XML ? "XML" : "synthetic");
		return -EINVAL;
	}
	if (src != IOB_TOPO_SYSTEM && src != IOB_TOPO_SYNTHETIC && src != IOB_TOPO_XML) {
		set_err(err, errlen, "unknown topology source %d", (int)src);
		return -EINVAL;
	}

	t = calloc(1, sizeof(*t));
	if (!t)
		goto fail;
	t->src = src;
	if (src == IOB_TOPO_SYSTEM)
		t->source = strdup("system");
	else
		t->source = str_concat(src == IOB_TOPO_XML ? "xml:" : "synthetic:", arg);
	if (!t->source)
		goto fail_free;
	if (hwloc_topology_init(&t->topo) != 0)
		goto fail_source;
	/* Placement needs CPUs, caches and memory only: skip PCI/OS devices (and their plugins). */
	hwloc_topology_set_io_types_filter(t->topo, HWLOC_TYPE_FILTER_KEEP_NONE);

	if (src == IOB_TOPO_SYNTHETIC) {
		ret = check_synthetic_size(arg, err, errlen);
		if (ret)
			goto fail_topo;
		if (!*arg || hwloc_topology_set_synthetic(t->topo, arg) != 0) {
			set_err(err, errlen,
				"invalid hwloc synthetic topology '%s' (expected e.g. "
				"'pack:2 numa:2 core:4 pu:2')",
				arg);
			ret = -EINVAL;
			goto fail_topo;
		}
	} else if (src == IOB_TOPO_XML) {
		ret = load_xml(t, arg, err, errlen);
		if (ret)
			goto fail_topo;
	}
	if (hwloc_topology_load(t->topo) != 0) {
		if (src == IOB_TOPO_SYNTHETIC) {
			set_err(err, errlen, "cannot build hwloc synthetic topology '%s'", arg);
			ret = -EINVAL;
		} else if (src == IOB_TOPO_XML) {
			set_err(err, errlen, "cannot load hwloc XML topology '%s'", arg);
			ret = -EIO;
		} else {
			set_err(err, errlen, "cannot discover this system's topology: %s",
				strerror(errno));
			ret = -EIO;
		}
		goto fail_topo;
	}

	t->thissystem = hwloc_topology_is_thissystem(t->topo) != 0;
	t->npus = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
	t->nnuma_objs = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_NUMANODE);
	if (t->npus <= 0) {
		set_err(err, errlen, "topology %s has no PUs", t->source);
		ret = src == IOB_TOPO_SYNTHETIC ? -EINVAL : -EIO;
		goto fail_topo;
	}
	ret = assign_numa(t);
	if (ret)
		goto fail_topo;

	*out = t;
	return 0;

fail_topo:
	free(t->pu_rank);
	free(t->nodes);
	hwloc_topology_destroy(t->topo);
fail_source:
	free(t->source);
fail_free:
	free(t);
fail:
	if (ret == -ENOMEM)
		set_err(err, errlen, "out of memory loading topology");
	return ret;
}

void iob_topo_destroy(struct iob_topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->topo);
	free(t->pu_rank);
	free(t->nodes);
	free(t->source);
	free(t);
}

bool iob_topo_is_thissystem(const struct iob_topo *t)
{
	return t->thissystem;
}

const char *iob_topo_source(const struct iob_topo *t)
{
	return t->source;
}

int iob_topo_npus(const struct iob_topo *t)
{
	return t->npus;
}

int iob_topo_nnuma(const struct iob_topo *t)
{
	return t->nnuma_objs > 0 ? t->nnuma_objs : 1;
}

/* ---- placement orders: each fills order[] with distinct PUs and returns how many ---- */

/* PUs in logical order, restricted to @filter (NULL: all). */
static int order_compact(const struct iob_topo *t, hwloc_const_cpuset_t filter, hwloc_obj_t *order)
{
	int n = 0;

	for (int i = 0; i < t->npus; i++) {
		hwloc_obj_t pu = pu_obj(t, i);

		if (!filter || hwloc_bitmap_isset(filter, pu->os_index))
			order[n++] = pu;
	}
	return n;
}

struct spread_key {
	hwloc_obj_t pu;
	unsigned rank; /**< position of pu among its core's PUs */
};

static int cmp_spread_key(const void *a, const void *b)
{
	const struct spread_key *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->pu->logical_index != y->pu->logical_index)
		return x->pu->logical_index < y->pu->logical_index ? -1 : 1;
	return 0;
}

static unsigned rank_in_core(const struct iob_topo *t, hwloc_obj_t pu)
{
	hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_CORE, pu);
	hwloc_obj_t first;

	if (!core)
		return 0; /* a PU outside any core is a core of its own */
	/*
	 * A core's PUs are consecutive in logical order and its first leaf is the first of them
	 * (children are kept in logical order): O(depth), where searching the PU level for the
	 * core's cpuset was O(PUs) per PU.
	 */
	for (first = core; first->first_child;)
		first = first->first_child;
	return first->type == HWLOC_OBJ_PU ? pu->logical_index - first->logical_index : 0;
}

/*
 * Spread group of the PU of logical index @logical: its home node's index in nodes[] (0 for the
 * implicit node), or for a node-less PU nnodes + its package's logical index (nnodes + npack
 * when no package holds it).
 */
static int spread_group(const struct iob_topo *t, int logical, int nnodes, int npack)
{
	hwloc_obj_t pack;

	if (t->pu_rank[logical] >= 0)
		return t->pu_rank[logical];
	pack = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, pu_obj(t, logical));
	return nnodes + (pack ? (int)pack->logical_index : npack);
}

static int order_spread(const struct iob_topo *t, hwloc_obj_t *order)
{
	int nnodes = iob_topo_nnuma(t);
	int npack = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
	int ngroups = nnodes + (npack > 0 ? npack : 0) + 1;
	struct spread_key *keys;
	int *start, *len; /* group k's PUs are keys[start[k] .. start[k] + len[k]) */
	int *group;	  /* by PU logical index */
	int n = 0, ret = -ENOMEM;

	keys = calloc((size_t)t->npus, sizeof(*keys));
	group = calloc((size_t)t->npus, sizeof(*group));
	start = calloc((size_t)ngroups + 1, sizeof(*start));
	len = calloc((size_t)ngroups, sizeof(*len));
	if (!keys || !group || !start || !len)
		goto out;

	/* Counting sort of the PUs by group, logical order kept inside a group. */
	for (int i = 0; i < t->npus; i++) {
		group[i] = spread_group(t, i, nnodes, npack);
		start[group[i] + 1]++;
	}
	for (int k = 0; k < ngroups; k++)
		start[k + 1] += start[k];
	for (int i = 0; i < t->npus; i++) {
		struct spread_key *key = &keys[start[group[i]] + len[group[i]]++];

		key->pu = pu_obj(t, i);
		key->rank = rank_in_core(t, key->pu);
	}
	for (int k = 0; k < ngroups; k++)
		qsort(keys + start[k], (size_t)len[k], sizeof(*keys), cmp_spread_key);
	for (int round = 0; n < t->npus; round++)
		for (int k = 0; k < ngroups; k++)
			if (round < len[k])
				order[n++] = keys[start[k] + round].pu;
	ret = n;
out:
	free(len);
	free(start);
	free(group);
	free(keys);
	return ret;
}

static int order_numa(const struct iob_topo *t, const char *arg, hwloc_obj_t *order, char *err,
		      size_t errlen)
{
	hwloc_obj_t node;
	long os;
	int n;

	if (!*arg || *arg == '+' || *arg == '-') {
		set_err(err, errlen, "placement 'numa:%s': expected a NUMA node number", arg);
		return -EINVAL;
	}
	{
		char *end;

		errno = 0;
		os = strtol(arg, &end, 10);
		if (errno || *end || os < 0 || os > INT32_MAX) {
			set_err(err, errlen, "placement 'numa:%s': expected a NUMA node number",
				arg);
			return -EINVAL;
		}
	}
	if (t->nnuma_objs == 0) {
		if (os != 0) {
			set_err(err, errlen,
				"placement 'numa:%ld': no such NUMA node (only node 0)", os);
			return -EINVAL;
		}
		return order_compact(t, NULL, order);
	}
	node = hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)os);
	if (!node) {
		set_err(err, errlen, "placement 'numa:%ld': no such NUMA node (%d nodes)", os,
			t->nnuma_objs);
		return -EINVAL;
	}
	n = node->cpuset ? order_compact(t, node->cpuset, order) : 0;
	if (n == 0) {
		set_err(err, errlen, "placement 'numa:%ld': NUMA node %ld has no PUs", os, os);
		return -EINVAL;
	}
	return n;
}

/*
 * "A,B,C" of PU OS indexes; "A-B" is the range A..B. Duplicates would put two threads on one PU,
 * so they need oversubscribe like any other sharing. Order may hold npus entries, so the list is
 * parsed into a growing array of its own.
 */
static int parse_list(const struct iob_topo *t, const char *placement, const char *spec,
		      bool oversubscribe, hwloc_obj_t **listp, char *err, size_t errlen)
{
	hwloc_obj_t *list = NULL;
	hwloc_bitmap_t seen;
	const char *s = spec;
	int n = 0, cap = 0, ret = -ENOMEM;

	seen = hwloc_bitmap_alloc();
	if (!seen)
		goto out;
	for (;;) {
		long lo, hi;
		char *end;

		if (*s < '0' || *s > '9')
			goto bad;
		errno = 0;
		lo = strtol(s, &end, 10);
		if (errno)
			goto bad;
		hi = lo;
		if (*end == '-') {
			s = end + 1;
			if (*s < '0' || *s > '9')
				goto bad;
			hi = strtol(s, &end, 10);
			if (errno || hi < lo)
				goto bad;
		}
		for (long pu = lo; pu <= hi; pu++) {
			hwloc_obj_t obj = pu_by_os(t, pu);

			if (!obj) {
				set_err(err, errlen, "placement '%s': no PU %ld on %s", placement,
					pu, t->source);
				ret = -EINVAL;
				goto out;
			}
			if (hwloc_bitmap_isset(seen, obj->os_index) && !oversubscribe) {
				set_err(err, errlen,
					"placement '%s': PU %ld listed twice, two threads would "
					"share it (needs oversubscribe)",
					placement, pu);
				ret = -E2BIG;
				goto out;
			}
			if (hwloc_bitmap_set(seen, obj->os_index))
				goto out;
			if (n == cap) {
				int ncap = cap ? 2 * cap : 16;
				hwloc_obj_t *nl;

				if (ncap > 1 << 20) {
					set_err(err, errlen, "placement '%s': list too long",
						placement);
					ret = -EINVAL;
					goto out;
				}
				nl = realloc(list, (size_t)ncap * sizeof(*nl));
				if (!nl)
					goto out;
				list = nl;
				cap = ncap;
			}
			list[n++] = obj;
		}
		if (*end == '\0')
			break;
		if (*end != ',')
			goto bad;
		s = end + 1;
	}
	*listp = list;
	list = NULL;
	ret = n;
	goto out;
bad:
	set_err(err, errlen, "placement '%s': expected a list of PU numbers like 0,2,4-7",
		placement);
	ret = -EINVAL;
out:
	free(list);
	hwloc_bitmap_free(seen);
	return ret;
}

int iob_topo_plan(const struct iob_topo *t, const char *placement, int nthreads, bool oversubscribe,
		  struct iob_plan **out, char *err, size_t errlen)
{
	hwloc_obj_t *order = NULL;
	struct iob_plan *p = NULL;
	int numa_fixed = -1; /* numa:N reports N for every place */
	int n, ret;

	set_err(err, errlen, "no error");
	if (!placement) {
		set_err(err, errlen, "missing placement");
		return -EINVAL;
	}
	if (nthreads < 0) {
		set_err(err, errlen, "negative thread count %d", nthreads);
		return -EINVAL;
	}

	if (strcmp(placement, "compact") == 0 || strcmp(placement, "spread") == 0 ||
	    strncmp(placement, "numa:", 5) == 0) {
		order = calloc((size_t)t->npus, sizeof(*order));
		if (!order) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	if (strcmp(placement, "compact") == 0) {
		n = order_compact(t, NULL, order);
	} else if (strcmp(placement, "spread") == 0) {
		n = order_spread(t, order);
	} else if (strncmp(placement, "numa:", 5) == 0) {
		n = order_numa(t, placement + 5, order, err, errlen);
		if (n > 0)
			numa_fixed = (int)strtol(placement + 5, NULL, 10);
	} else if (strncmp(placement, "list:", 5) == 0) {
		n = parse_list(t, placement, placement + 5, oversubscribe, &order, err, errlen);
	} else if (placement[0] >= '0' && placement[0] <= '9') {
		n = parse_list(t, placement, placement, oversubscribe, &order, err, errlen);
	} else {
		set_err(err, errlen,
			"unknown placement '%s' (expected compact, spread, numa:N, list:A,B,.. "
			"or A,B,..)",
			placement);
		ret = -EINVAL;
		goto fail;
	}
	if (n < 0) {
		ret = n;
		goto fail;
	}
	if (n == 0) {
		set_err(err, errlen, "placement '%s' has no PUs on %s", placement, t->source);
		ret = -EINVAL;
		goto fail;
	}
	if (nthreads == 0)
		nthreads = n;
	if (nthreads > n && !oversubscribe) {
		set_err(err, errlen,
			"%d threads but placement '%s' has only %d PUs on %s (needs oversubscribe)",
			nthreads, placement, n, t->source);
		ret = -E2BIG;
		goto fail;
	}

	ret = -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto fail;
	p->placement = strdup(placement);
	p->places = calloc((size_t)nthreads, sizeof(*p->places));
	if (!p->placement || !p->places)
		goto fail;
	p->nthreads = nthreads;
	for (int i = 0; i < nthreads; i++) {
		hwloc_obj_t pu = order[i % n];
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_CORE, pu);
		struct iob_place *pl = &p->places[i];

		pl->thread = i;
		pl->pu = (int)pu->os_index;
		pl->core = core ? (int)core->logical_index : -1;
		pl->numa = numa_fixed >= 0 ? numa_fixed : pu_numa(t, (int)pu->logical_index);
	}
	free(order);
	*out = p;
	return 0;

fail:
	if (ret == -ENOMEM)
		set_err(err, errlen, "out of memory");
	iob_plan_destroy(p);
	free(order);
	return ret;
}

void iob_plan_destroy(struct iob_plan *p)
{
	if (!p)
		return;
	free(p->places);
	free(p->placement);
	free(p);
}

/* ---- binding ---- */

int iob_topo_pin_self(const struct iob_topo *t, int pu)
{
	hwloc_obj_t obj;

	/* hwloc "binds" against a synthetic/XML topology by doing nothing and returning 0. */
	if (!t->thissystem)
		return -EXDEV;
	obj = pu_by_os(t, pu);
	if (!obj)
		return -EINVAL;
	if (hwloc_set_cpubind(t->topo, obj->cpuset, HWLOC_CPUBIND_THREAD) != 0)
		return -EIO;
	/*
	 * sched_setaffinity() on the calling thread migrates it before returning, so the thread
	 * must already be on @pu; anything else means the binding did not take.
	 */
	if (sched_getcpu() != pu)
		return -EIO;
	return 0;
}

int iob_topo_bind_memory(const struct iob_topo *t, void *p, size_t len, int numa)
{
	hwloc_obj_t node;

	if (!t->thissystem)
		return -EXDEV;
	if (!p || !len || numa < 0)
		return -EINVAL;
	node = hwloc_get_numanode_obj_by_os_index(t->topo, (unsigned)numa);
	if (!node || !node->nodeset)
		return -EINVAL;
	if (hwloc_set_area_membind(t->topo, p, len, node->nodeset, HWLOC_MEMBIND_BIND,
				   HWLOC_MEMBIND_BYNODESET) != 0)
		return -EIO;
	return 0;
}

/* ---- output ---- */

static void print_size(FILE *f, unsigned long long bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && v >= 1024) {
		v /= 1024;
		u++;
	}
	if (v == (double)(unsigned long long)v)
		fprintf(f, "%llu %s", (unsigned long long)v, unit[u]);
	else
		fprintf(f, "%.1f %s", v, unit[u]);
}

static void print_cpuset(FILE *f, hwloc_const_cpuset_t set)
{
	char *s = NULL;

	if (!set || hwloc_bitmap_iszero(set)) {
		fputs("none", f);
		return;
	}
	if (hwloc_bitmap_list_asprintf(&s, set) < 0 || !s) {
		fputs("?", f);
		return;
	}
	fputs(s, f);
	free(s);
}

static void print_caches(const struct iob_topo *t, FILE *f)
{
	int depth = hwloc_topology_get_depth(t->topo);
	bool any = false;

	fputs("caches:", f);
	/* Deepest (L1) last: print from the LLC down, as a reader looks at a socket. */
	for (int d = 0; d < depth; d++) {
		hwloc_obj_t first = hwloc_get_obj_by_depth(t->topo, d, 0);
		int count = hwloc_get_nbobjs_by_depth(t->topo, d);
		char name[32];

		if (!first || !hwloc_obj_type_is_cache(first->type))
			continue;
		hwloc_obj_type_snprintf(name, sizeof(name), first, 0);
		fprintf(f, "\n  %-4s ", name);
		print_size(f, first->attr->cache.size);
		fprintf(f, " x%d, each shared by %d PU(s)", count,
			hwloc_bitmap_weight(first->cpuset));
		any = true;
	}
	if (!any)
		fputs(" none described", f);
	fputc('\n', f);
}

/* The PUs without a home node (H1); NULL on allocation failure. */
static hwloc_bitmap_t nodeless_set(const struct iob_topo *t)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	for (int i = 0; set && i < t->npus; i++)
		if (t->pu_rank[i] < 0 && hwloc_bitmap_set(set, pu_obj(t, i)->os_index)) {
			hwloc_bitmap_free(set);
			set = NULL;
		}
	return set;
}

void iob_topo_print(const struct iob_topo *t, const struct iob_plan *plan, FILE *f)
{
	int npack = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PACKAGE);
	int ncore = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
	hwloc_obj_t root = hwloc_get_root_obj(t->topo);

	fprintf(f, "topology: %s\n", t->source);
	if (!t->thissystem)
		fputs("  SIMULATED: not this system; any plan below is a plan only, nothing is "
		      "bound\n",
		      f);
	fprintf(f, "machine: %d package(s), %d NUMA node(s), %d core(s), %d PU(s)\n", npack,
		iob_topo_nnuma(t), ncore, t->npus);
	for (int i = 0; i < npack; i++) {
		hwloc_obj_t pk = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PACKAGE, (unsigned)i);

		fprintf(f, "  package %u: PUs ", pk->os_index);
		print_cpuset(f, pk->cpuset);
		fputc('\n', f);
	}
	if (t->nnuma_objs == 0) {
		fputs("  NUMA node 0 (implicit): PUs ", f);
		print_cpuset(f, root->cpuset);
		fputc('\n', f);
	}
	for (int i = 0; i < t->nnuma_objs; i++) {
		hwloc_obj_t node = t->nodes[i];

		fprintf(f, "  NUMA node %u: PUs ", node->os_index);
		print_cpuset(f, node->cpuset);
		if (node->attr->numanode.local_memory) {
			fputs(", memory ", f);
			print_size(f, node->attr->numanode.local_memory);
		}
		fputc('\n', f);
	}
	if (t->nnodeless) {
		hwloc_bitmap_t set = nodeless_set(t);

		fputs("  no NUMA node (not allowed or offline): PUs ", f);
		if (set)
			print_cpuset(f, set);
		else
			fputs("?", f);
		fputc('\n', f);
		hwloc_bitmap_free(set);
	}
	print_caches(t, f);
	if (!plan)
		return;
	fprintf(f, "plan: %s, %d thread(s)%s\n", plan->placement, plan->nthreads,
		t->thissystem ? "" : " (simulated: plan only, nothing bound)");
	for (int i = 0; i < plan->nthreads; i++) {
		const struct iob_place *pl = &plan->places[i];

		fprintf(f, "  thread %d -> PU %d (core %d, NUMA ", pl->thread, pl->pu, pl->core);
		if (pl->numa == IOB_TOPO_NO_NUMA)
			fputs("none)\n", f);
		else
			fprintf(f, "%d)\n", pl->numa);
	}
}

/* Steals @v; returns -1 (and drops @v) on failure. */
static int obj_set(json_t *o, const char *key, json_t *v)
{
	return v ? json_object_set_new(o, key, v) : -1;
}

static int arr_add(json_t *a, json_t *v)
{
	return v ? json_array_append_new(a, v) : -1;
}

static json_t *pus_json(hwloc_const_cpuset_t set)
{
	json_t *a = json_array();
	unsigned pu;

	if (!a || !set)
		return a;
	hwloc_bitmap_foreach_begin(pu, set)
	{
		if (arr_add(a, json_integer(pu))) {
			json_decref(a);
			return NULL;
		}
	}
	hwloc_bitmap_foreach_end();
	return a;
}

static json_t *numa_json(const struct iob_topo *t)
{
	json_t *nodes = json_array();

	if (!nodes)
		return NULL;
	for (int i = 0; i < iob_topo_nnuma(t); i++) {
		hwloc_obj_t node = t->nnuma_objs ? t->nodes[i] : NULL;
		hwloc_const_cpuset_t set =
			node ? node->cpuset : hwloc_get_root_obj(t->topo)->cpuset;
		json_t *o = json_object();

		if (arr_add(nodes, o) ||
		    obj_set(o, "os_index", json_integer(node ? node->os_index : 0)) ||
		    obj_set(o, "pus", pus_json(set))) {
			json_decref(nodes);
			return NULL;
		}
	}
	return nodes;
}

static json_t *plan_json(const struct iob_plan *plan)
{
	json_t *a = json_array();

	if (!a || !plan)
		return a;
	for (int i = 0; i < plan->nthreads; i++) {
		const struct iob_place *pl = &plan->places[i];
		json_t *o = json_object();

		if (arr_add(a, o) || obj_set(o, "thread", json_integer(pl->thread)) ||
		    obj_set(o, "pu", json_integer(pl->pu)) ||
		    obj_set(o, "numa",
			    pl->numa == IOB_TOPO_NO_NUMA ? json_null() : json_integer(pl->numa))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *iob_topo_json(const struct iob_topo *t, const struct iob_plan *plan)
{
	json_t *root = json_object();
	hwloc_bitmap_t nodeless = NULL;
	char *s = NULL;

	if (!root)
		return NULL;
	nodeless = nodeless_set(t);
	if (!nodeless || obj_set(root, "source", json_string(t->source)) ||
	    obj_set(root, "is_thissystem", json_boolean(t->thissystem)) ||
	    obj_set(root, "numa_nodes", numa_json(t)) ||
	    obj_set(root, "pus_without_numa", pus_json(nodeless)) ||
	    obj_set(root, "plan", plan_json(plan)))
		goto out;
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	hwloc_bitmap_free(nodeless);
	json_decref(root);
	return s;
}
