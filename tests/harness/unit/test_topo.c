/*
 * Topology loading, placement plans, pinning and JSON output (harness/topo.h).
 *
 * Plans are checked exactly on the synthetic machine "pack:2 numa:2 core:4 pu:2": 2 packages x
 * 2 NUMA nodes x 4 cores x 2 PUs, so PU p sits on core p / 2 and NUMA node p / 8. Pinning is
 * checked for real on this system, in a helper thread so the test runner's affinity is untouched.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <hwloc.h>
#include <jansson.h>

#include "topo.h"

#define SYN	 "pack:2 numa:2 core:4 pu:2"
#define SYN_PUS	 32
#define SYN_NUMA 4

static struct iob_topo *load_ok(enum iob_topo_source src, const char *arg)
{
	struct iob_topo *t = NULL;
	char err[256] = "";
	int ret = iob_topo_load(src, arg, &t, err, sizeof(err));

	if (ret)
		print_error("load %s: %d %s\n", arg ? arg : "system", ret, err);
	assert_int_equal(ret, 0);
	assert_non_null(t);
	return t;
}

static struct iob_plan *plan_ok(const struct iob_topo *t, const char *placement, int n, bool over)
{
	struct iob_plan *p = NULL;
	char err[256] = "";
	int ret = iob_topo_plan(t, placement, n, over, &p, err, sizeof(err));

	if (ret)
		print_error("plan %s x%d: %d %s\n", placement, n, ret, err);
	assert_int_equal(ret, 0);
	assert_non_null(p);
	assert_string_equal(p->placement, placement);
	for (int i = 0; i < p->nthreads; i++)
		assert_int_equal(p->places[i].thread, i);
	return p;
}

/* Expect iob_topo_plan to fail with @want, leave *out alone and explain itself in err. */
static void plan_fails(const struct iob_topo *t, const char *placement, int n, bool over, int want)
{
	struct iob_plan *sentinel = (struct iob_plan *)&sentinel, *p = sentinel;
	char err[256] = "";

	assert_int_equal(iob_topo_plan(t, placement, n, over, &p, err, sizeof(err)), want);
	assert_ptr_equal(p, sentinel);
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
}

/* The synthetic machine's geometry, checked for every place. */
static void check_syn_place(const struct iob_place *pl)
{
	assert_in_range(pl->pu, 0, SYN_PUS - 1);
	assert_int_equal(pl->core, pl->pu / 2);
	assert_int_equal(pl->numa, pl->pu / 8);
}

static void test_synthetic_load(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);

	(void)state;
	assert_false(iob_topo_is_thissystem(t));
	assert_string_equal(iob_topo_source(t), "synthetic:" SYN);
	assert_int_equal(iob_topo_npus(t), SYN_PUS);
	assert_int_equal(iob_topo_nnuma(t), SYN_NUMA);
	iob_topo_destroy(t);
	iob_topo_destroy(NULL);
}

static void test_compact_exact(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = plan_ok(t, "compact", SYN_PUS, false);

	(void)state;
	assert_int_equal(p->nthreads, SYN_PUS);
	/* Threads 0 and 1 share core 0's two PUs, 2 and 3 core 1, ..., node 0 fills before 1. */
	for (int i = 0; i < SYN_PUS; i++) {
		check_syn_place(&p->places[i]);
		assert_int_equal(p->places[i].pu, i);
	}
	assert_int_equal(p->places[0].core, p->places[1].core);
	assert_int_not_equal(p->places[0].pu, p->places[1].pu);
	iob_plan_destroy(p);

	/* nthreads 0: one thread per PU the placement offers. */
	p = plan_ok(t, "compact", 0, false);
	assert_int_equal(p->nthreads, SYN_PUS);
	iob_plan_destroy(p);
	iob_plan_destroy(NULL);
	iob_topo_destroy(t);
}

static void test_spread_exact(void **state)
{
	static const int want[SYN_PUS] = {
		/* round 0..3: first PU of each node's cores, nodes dealt round-robin */
		0, 8, 16, 24, 2, 10, 18, 26, 4, 12, 20, 28, 6, 14, 22, 30,
		/* then the second PUs */
		1, 9, 17, 25, 3, 11, 19, 27, 5, 13, 21, 29, 7, 15, 23, 31
	};
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = plan_ok(t, "spread", 4, false);
	bool seen[SYN_NUMA] = { false };

	(void)state;
	assert_int_equal(p->nthreads, 4);
	for (int i = 0; i < 4; i++) {
		check_syn_place(&p->places[i]);
		assert_false(seen[p->places[i].numa]);
		seen[p->places[i].numa] = true;
	}
	iob_plan_destroy(p);

	p = plan_ok(t, "spread", SYN_PUS, false);
	for (int i = 0; i < SYN_PUS; i++) {
		check_syn_place(&p->places[i]);
		assert_int_equal(p->places[i].pu, want[i]);
	}
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

static void test_numa_placement(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = plan_ok(t, "numa:2", 8, false);

	(void)state;
	for (int i = 0; i < 8; i++) {
		check_syn_place(&p->places[i]);
		assert_int_equal(p->places[i].numa, 2);
		assert_int_equal(p->places[i].pu, 16 + i); /* compact within the node */
	}
	iob_plan_destroy(p);

	p = plan_ok(t, "numa:3", 0, false);
	assert_int_equal(p->nthreads, 8);
	assert_int_equal(p->places[0].pu, 24);
	iob_plan_destroy(p);

	plan_fails(t, "numa:2", 9, false, -E2BIG);
	p = plan_ok(t, "numa:2", 9, true);
	assert_int_equal(p->places[8].pu, 16);
	assert_int_equal(p->places[8].numa, 2);
	iob_plan_destroy(p);

	plan_fails(t, "numa:4", 1, false, -EINVAL);
	plan_fails(t, "numa:-1", 1, false, -EINVAL);
	plan_fails(t, "numa:", 1, false, -EINVAL);
	plan_fails(t, "numa:1x", 1, false, -EINVAL);
	iob_topo_destroy(t);
}

static void test_list_placement(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = plan_ok(t, "list:0,2,3", 3, false);

	(void)state;
	assert_int_equal(p->places[0].pu, 0);
	assert_int_equal(p->places[1].pu, 2);
	assert_int_equal(p->places[2].pu, 3);
	for (int i = 0; i < 3; i++)
		check_syn_place(&p->places[i]);
	iob_plan_destroy(p);

	p = plan_ok(t, "31,9", 0, false); /* bare list, order kept, default = list length */
	assert_int_equal(p->nthreads, 2);
	assert_int_equal(p->places[0].pu, 31);
	assert_int_equal(p->places[0].numa, 3);
	assert_int_equal(p->places[1].pu, 9);
	assert_int_equal(p->places[1].numa, 1);
	iob_plan_destroy(p);

	p = plan_ok(t, "list:4-6,1", 4, false);
	assert_int_equal(p->places[0].pu, 4);
	assert_int_equal(p->places[2].pu, 6);
	assert_int_equal(p->places[3].pu, 1);
	iob_plan_destroy(p);

	plan_fails(t, "list:0,2,3", 4, false, -E2BIG);
	p = plan_ok(t, "list:0,2,3", 5, true); /* cycled */
	assert_int_equal(p->places[3].pu, 0);
	assert_int_equal(p->places[4].pu, 2);
	iob_plan_destroy(p);

	plan_fails(t, "list:1,1", 2, false, -E2BIG);
	p = plan_ok(t, "list:1,1", 2, true);
	assert_int_equal(p->places[1].pu, 1);
	iob_plan_destroy(p);

	plan_fails(t, "list:32", 1, false, -EINVAL); /* no such PU */
	plan_fails(t, "list:", 1, false, -EINVAL);
	plan_fails(t, "list:1,,2", 1, false, -EINVAL);
	plan_fails(t, "list:1,", 1, false, -EINVAL);
	plan_fails(t, "list:-1", 1, false, -EINVAL);
	plan_fails(t, "list:3-1", 1, false, -EINVAL);
	plan_fails(t, "1;2", 1, false, -EINVAL);
	iob_topo_destroy(t);
}

static void test_oversubscribe(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p, *ref;

	(void)state;
	plan_fails(t, "compact", SYN_PUS + 1, false, -E2BIG);
	plan_fails(t, "spread", SYN_PUS + 1, false, -E2BIG);

	p = plan_ok(t, "compact", 2 * SYN_PUS + 3, true);
	assert_int_equal(p->nthreads, 2 * SYN_PUS + 3);
	for (int i = 0; i < p->nthreads; i++)
		assert_int_equal(p->places[i].pu, i % SYN_PUS);
	iob_plan_destroy(p);

	ref = plan_ok(t, "spread", SYN_PUS, false);
	p = plan_ok(t, "spread", SYN_PUS + 5, true);
	for (int i = 0; i < p->nthreads; i++)
		assert_int_equal(p->places[i].pu, ref->places[i % SYN_PUS].pu);
	iob_plan_destroy(p);
	iob_plan_destroy(ref);
	iob_topo_destroy(t);
}

static void test_bad_placements(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = NULL;

	(void)state;
	plan_fails(t, "", 1, false, -EINVAL);
	plan_fails(t, "bogus", 1, false, -EINVAL);
	plan_fails(t, "compactx", 1, false, -EINVAL);
	plan_fails(t, "Compact", 1, false, -EINVAL);
	plan_fails(t, "numa", 1, false, -EINVAL);
	plan_fails(t, "compact", -1, false, -EINVAL);
	assert_int_equal(iob_topo_plan(t, NULL, 1, false, &p, NULL, 0), -EINVAL);
	assert_null(p);
	iob_topo_destroy(t);
}

static void test_bad_synthetic(void **state)
{
	static const char *const bad[] = { "pack:2 bogus:3", "", "pack:x", "core:2 pu:0 junk" };
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct iob_topo *sentinel = (struct iob_topo *)&sentinel, *t = sentinel;

		err[0] = '\0';
		assert_int_equal(iob_topo_load(IOB_TOPO_SYNTHETIC, bad[i], &t, err, sizeof(err)),
				 -EINVAL);
		assert_ptr_equal(t, sentinel);
		assert_non_null(strstr(err, bad[i])); /* names the bad input */
		assert_null(strchr(err, '\n'));
	}
}

static void test_missing_xml(void **state)
{
	const char *path = "/nonexistent-dir-iobench/topo.xml";
	struct iob_topo *t = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(iob_topo_load(IOB_TOPO_XML, path, &t, err, sizeof(err)), -ENOENT);
	assert_null(t);
	assert_non_null(strstr(err, path));
	assert_int_equal(iob_topo_load(IOB_TOPO_XML, NULL, &t, err, sizeof(err)), -EINVAL);
}

static void test_garbage_xml(void **state)
{
	char path[] = "/tmp/iob_topo_bad_XXXXXX";
	struct iob_topo *t = NULL;
	char err[256] = "";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not xml\n", 16), 16);
	close(fd);
	assert_int_equal(iob_topo_load(IOB_TOPO_XML, path, &t, err, sizeof(err)), -EIO);
	assert_null(t);
	assert_non_null(strstr(err, path));
	unlink(path);
}

static void test_xml_round_trip(void **state)
{
	char path[] = "/tmp/iob_topo_rt_XXXXXX";
	static const char *const placements[] = { "compact", "spread", "numa:1", "list:5,30" };
	hwloc_topology_t h;
	struct iob_topo *syn, *xml;
	char source[64];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hwloc_topology_init(&h), 0);
	assert_int_equal(hwloc_topology_set_synthetic(h, SYN), 0);
	assert_int_equal(hwloc_topology_load(h), 0);
	assert_int_equal(hwloc_topology_export_xml(h, path, 0), 0);
	hwloc_topology_destroy(h);

	syn = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	xml = load_ok(IOB_TOPO_XML, path);
	snprintf(source, sizeof(source), "xml:%s", path);
	assert_string_equal(iob_topo_source(xml), source);
	assert_false(iob_topo_is_thissystem(xml));
	assert_int_equal(iob_topo_npus(xml), SYN_PUS);
	assert_int_equal(iob_topo_nnuma(xml), SYN_NUMA);
	assert_int_equal(iob_topo_pin_self(xml, 0), -EXDEV);

	for (size_t k = 0; k < sizeof(placements) / sizeof(placements[0]); k++) {
		struct iob_plan *a = plan_ok(syn, placements[k], 0, false);
		struct iob_plan *b = plan_ok(xml, placements[k], 0, false);

		assert_int_equal(a->nthreads, b->nthreads);
		for (int i = 0; i < a->nthreads; i++) {
			assert_int_equal(a->places[i].pu, b->places[i].pu);
			assert_int_equal(a->places[i].core, b->places[i].core);
			assert_int_equal(a->places[i].numa, b->places[i].numa);
		}
		iob_plan_destroy(a);
		iob_plan_destroy(b);
	}
	iob_topo_destroy(xml);
	iob_topo_destroy(syn);
	unlink(path);
}

static void test_no_numa_object_is_node_0(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, "core:2 pu:2");
	struct iob_plan *p = plan_ok(t, "spread", 0, false);

	(void)state;
	assert_int_equal(iob_topo_nnuma(t), 1);
	/* one node: first PUs of both cores, then the second PUs */
	assert_int_equal(p->nthreads, 4);
	assert_int_equal(p->places[0].pu, 0);
	assert_int_equal(p->places[1].pu, 2);
	assert_int_equal(p->places[2].pu, 1);
	assert_int_equal(p->places[3].pu, 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p->places[i].numa, 0);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

static void test_thissystem(void **state)
{
	struct iob_topo *sys = load_ok(IOB_TOPO_SYSTEM, NULL);
	struct iob_topo *syn = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	char buf[4096];

	(void)state;
	assert_true(iob_topo_is_thissystem(sys));
	assert_string_equal(iob_topo_source(sys), "system");
	assert_true(iob_topo_npus(sys) >= 1);
	assert_true(iob_topo_nnuma(sys) >= 1);
	assert_false(iob_topo_is_thissystem(syn));

	/* Binding against a simulated topology must refuse, not silently succeed. */
	assert_int_equal(iob_topo_pin_self(syn, 0), -EXDEV);
	assert_int_equal(iob_topo_bind_memory(syn, buf, sizeof(buf), 0), -EXDEV);
	iob_topo_destroy(syn);
	iob_topo_destroy(sys);
}

struct pin_job {
	const struct iob_topo *t;
	const struct iob_plan *plan;
	int ret[1024]; /* iob_topo_pin_self() result, per plan entry */
	int cpu[1024]; /* sched_getcpu() right after */
	int bad_ret;   /* pinning to a PU that does not exist */
};

/* cmocka asserts must stay on the test's thread: record, and let the caller check. */
static void *pin_thread(void *arg)
{
	struct pin_job *job = arg;

	for (int i = 0; i < job->plan->nthreads; i++) {
		job->ret[i] = iob_topo_pin_self(job->t, job->plan->places[i].pu);
		job->cpu[i] = sched_getcpu();
	}
	job->bad_ret = iob_topo_pin_self(job->t, 1 << 30);
	return NULL;
}

static void test_pin_every_pu(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYSTEM, NULL);
	struct iob_plan *p = plan_ok(t, "compact", 0, false);
	struct pin_job *job = calloc(1, sizeof(*job));
	pthread_t th;

	(void)state;
	assert_non_null(job);
	assert_int_equal(p->nthreads, iob_topo_npus(t));
	assert_true(p->nthreads <= 1024);
	job->t = t;
	job->plan = p;
	assert_int_equal(pthread_create(&th, NULL, pin_thread, job), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	for (int i = 0; i < p->nthreads; i++) {
		assert_int_equal(job->ret[i], 0);
		assert_int_equal(job->cpu[i], p->places[i].pu);
	}
	assert_int_equal(job->bad_ret, -EINVAL);
	free(job);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

static void test_bind_memory(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYSTEM, NULL);
	struct iob_plan *p = plan_ok(t, "compact", 1, false);
	size_t len = 4 * (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *buf =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(buf != MAP_FAILED);
	assert_int_equal(iob_topo_bind_memory(t, buf, len, p->places[0].numa), 0);
	memset(buf, 0xa5, len); /* fault the pages in under the policy */
	assert_int_equal(buf[len - 1], 0xa5);
	assert_int_equal(iob_topo_bind_memory(t, buf, len, 1 << 30), -EINVAL);
	assert_int_equal(iob_topo_bind_memory(t, NULL, len, 0), -EINVAL);
	munmap(buf, len);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

static json_t *json_of(const struct iob_topo *t, const struct iob_plan *p)
{
	char *s = iob_topo_json(t, p);
	json_error_t jerr;
	json_t *root;

	assert_non_null(s);
	root = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		print_error("bad JSON: %s\n%s\n", jerr.text, s);
	free(s);
	assert_non_null(root);
	assert_true(json_is_object(root));
	assert_int_equal(json_object_size(root), 5);
	assert_true(json_is_array(json_object_get(root, "pus_without_numa")));
	return root;
}

static void test_json_synthetic(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, SYN);
	struct iob_plan *p = plan_ok(t, "spread", 4, false);
	json_t *root = json_of(t, p), *nodes, *plan;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(root, "source")), "synthetic:" SYN);
	assert_true(json_is_false(json_object_get(root, "is_thissystem")));

	nodes = json_object_get(root, "numa_nodes");
	assert_true(json_is_array(nodes));
	assert_int_equal(json_array_size(nodes), SYN_NUMA);
	for (size_t n = 0; n < SYN_NUMA; n++) {
		json_t *node = json_array_get(nodes, n), *pus = json_object_get(node, "pus");

		assert_int_equal(json_object_size(node), 2);
		assert_true(json_is_integer(json_object_get(node, "os_index")));
		assert_int_equal(json_integer_value(json_object_get(node, "os_index")), n);
		assert_true(json_is_array(pus));
		assert_int_equal(json_array_size(pus), 8);
		for (size_t i = 0; i < 8; i++)
			assert_int_equal(json_integer_value(json_array_get(pus, i)), 8 * n + i);
	}

	assert_int_equal(json_array_size(json_object_get(root, "pus_without_numa")), 0);
	plan = json_object_get(root, "plan");
	assert_true(json_is_array(plan));
	assert_int_equal(json_array_size(plan), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *e = json_array_get(plan, i);

		assert_int_equal(json_object_size(e), 3);
		assert_int_equal(json_integer_value(json_object_get(e, "thread")), i);
		assert_int_equal(json_integer_value(json_object_get(e, "pu")), p->places[i].pu);
		assert_int_equal(json_integer_value(json_object_get(e, "numa")), i);
	}
	json_decref(root);

	root = json_of(t, NULL); /* no plan: "plan": [] */
	plan = json_object_get(root, "plan");
	assert_true(json_is_array(plan));
	assert_int_equal(json_array_size(plan), 0);
	json_decref(root);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

static void test_json_system(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYSTEM, NULL);
	struct iob_plan *p = plan_ok(t, "compact", 0, false);
	json_t *root = json_of(t, p), *nodes, *plan;
	size_t npus = 0;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(root, "source")), "system");
	assert_true(json_is_true(json_object_get(root, "is_thissystem")));
	nodes = json_object_get(root, "numa_nodes");
	assert_int_equal(json_array_size(nodes), iob_topo_nnuma(t));
	for (size_t n = 0; n < json_array_size(nodes); n++)
		npus += json_array_size(json_object_get(json_array_get(nodes, n), "pus"));
	assert_true(npus >= (size_t)iob_topo_npus(t));
	plan = json_object_get(root, "plan");
	assert_int_equal(json_array_size(plan), iob_topo_npus(t));
	json_decref(root);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

/* ---- XML fixtures (tests/data/topo/, described in its README) ---- */

#define NONE IOB_TOPO_NO_NUMA

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *root = getenv("IOBENCH_SOURCE_ROOT");

	if (!root)
		fail_msg("IOBENCH_SOURCE_ROOT is not set (meson test sets it)");
	snprintf(path, sizeof(path), "%s/tests/data/topo/%s", root, name);
	return path;
}

/* Plan @placement with @n threads and compare PU and NUMA of every place to the expectation. */
static void plan_exact(const struct iob_topo *t, const char *placement, int n, const int *pus,
		       const int *numas)
{
	struct iob_plan *p = plan_ok(t, placement, n, false);

	assert_int_equal(p->nthreads, n);
	for (int i = 0; i < n; i++) {
		if (p->places[i].pu != pus[i] || p->places[i].numa != numas[i])
			print_error("%s thread %d: PU %d NUMA %d, want PU %d NUMA %d\n", placement,
				    i, p->places[i].pu, p->places[i].numa, pus[i], numas[i]);
		assert_int_equal(p->places[i].pu, pus[i]);
		assert_int_equal(p->places[i].numa, numas[i]);
	}
	iob_plan_destroy(p);
}

/*
 * cpuset.mems=0 (Slurm, Kubernetes): hwloc drops node 1 and keeps its PUs 4-7, which must not be
 * labelled node 0.
 */
static void test_nodeless_mems(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("nodeless-mems.xml"));
	json_t *root, *plan, *nodeless;
	struct iob_plan *p;

	(void)state;
	assert_int_equal(iob_topo_npus(t), 8);
	assert_int_equal(iob_topo_nnuma(t), 1);
	plan_exact(t, "compact", 8, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7 },
		   (const int[]){ 0, 0, 0, 0, NONE, NONE, NONE, NONE });
	/* node 0, then package 1's node-less PUs as a pseudo-node, first PUs of cores first */
	plan_exact(t, "spread", 8, (const int[]){ 0, 4, 2, 6, 1, 5, 3, 7 },
		   (const int[]){ 0, NONE, 0, NONE, 0, NONE, 0, NONE });
	plan_exact(t, "numa:0", 4, (const int[]){ 0, 1, 2, 3 }, (const int[]){ 0, 0, 0, 0 });
	plan_fails(t, "numa:0", 5, false, -E2BIG);  /* never spills onto node-less PUs */
	plan_fails(t, "numa:1", 1, false, -EINVAL); /* the dropped node does not exist */
	plan_exact(t, "list:5,0", 2, (const int[]){ 5, 0 }, (const int[]){ NONE, 0 });

	p = plan_ok(t, "spread", 2, false);
	root = json_of(t, p);
	nodeless = json_object_get(root, "pus_without_numa");
	assert_int_equal(json_array_size(nodeless), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(json_integer_value(json_array_get(nodeless, i)), 4 + i);
	assert_int_equal(json_array_size(json_object_get(root, "numa_nodes")), 1);
	plan = json_object_get(root, "plan");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(plan, 0), "numa")), 0);
	assert_true(json_is_null(json_object_get(json_array_get(plan, 1), "numa")));
	json_decref(root);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

/* Node 1 offline: package 1's PUs have no node, between nodes 0 and 2. */
static void test_nodeless_offline(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("nodeless-offline.xml"));

	(void)state;
	assert_int_equal(iob_topo_npus(t), 12);
	assert_int_equal(iob_topo_nnuma(t), 2);
	plan_exact(t, "spread", 12, (const int[]){ 0, 8, 4, 2, 10, 6, 1, 9, 5, 3, 11, 7 },
		   (const int[]){ 0, 2, NONE, 0, 2, NONE, 0, 2, NONE, 0, 2, NONE });
	plan_exact(t, "numa:2", 4, (const int[]){ 8, 9, 10, 11 }, (const int[]){ 2, 2, 2, 2 });
	plan_fails(t, "numa:1", 1, false, -EINVAL);
	iob_topo_destroy(t);
}

/* Package 0 holds node 1, package 1 node 0: spread starts at node 0, whatever hwloc's order. */
static void test_nodes_out_of_order(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("nodes-out-of-order.xml"));
	struct iob_plan *p;
	json_t *root, *nodes;

	(void)state;
	plan_exact(t, "compact", 8, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7 },
		   (const int[]){ 1, 1, 1, 1, 0, 0, 0, 0 });
	plan_exact(t, "spread", 8, (const int[]){ 4, 0, 6, 2, 5, 1, 7, 3 },
		   (const int[]){ 0, 1, 0, 1, 0, 1, 0, 1 });
	plan_exact(t, "numa:1", 4, (const int[]){ 0, 1, 2, 3 }, (const int[]){ 1, 1, 1, 1 });
	p = plan_ok(t, "compact", 0, false);
	root = json_of(t, p);
	nodes = json_object_get(root, "numa_nodes"); /* listed by OS index, as spread takes them */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(nodes, 0), "os_index")),
			 0);
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(json_array_get(nodes, 0), "pus"), 0)),
			 4);
	json_decref(root);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

/*
 * Package 0 has HBM node 2 listed before its DDR node 0 (same PUs), package 1 node 1, and CXL
 * node 3 hangs off the machine: PUs 0-3 are at home on node 0, 4-7 on node 1; nodes 2 and 3
 * take no spread threads but numa:2 / numa:3 run on the PUs local to them.
 */
static void test_memory_only_nodes(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("memory-only.xml"));

	(void)state;
	assert_int_equal(iob_topo_nnuma(t), 4);
	plan_exact(t, "compact", 8, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7 },
		   (const int[]){ 0, 0, 0, 0, 1, 1, 1, 1 });
	plan_exact(t, "spread", 8, (const int[]){ 0, 4, 2, 6, 1, 5, 3, 7 },
		   (const int[]){ 0, 1, 0, 1, 0, 1, 0, 1 });
	plan_exact(t, "numa:2", 4, (const int[]){ 0, 1, 2, 3 }, (const int[]){ 2, 2, 2, 2 });
	plan_exact(t, "numa:3", 8, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7 },
		   (const int[]){ 3, 3, 3, 3, 3, 3, 3, 3 });
	iob_topo_destroy(t);
}

/* cpuset.cpus excludes core 1 (PUs 2-3): hwloc drops them, no plan may name them. */
static void test_disallowed_pus(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("disallowed-pus.xml"));

	(void)state;
	assert_int_equal(iob_topo_npus(t), 6);
	plan_exact(t, "compact", 6, (const int[]){ 0, 1, 4, 5, 6, 7 },
		   (const int[]){ 0, 0, 1, 1, 1, 1 });
	plan_exact(t, "spread", 6, (const int[]){ 0, 4, 1, 6, 5, 7 },
		   (const int[]){ 0, 1, 0, 1, 1, 1 });
	plan_fails(t, "list:2", 1, false, -EINVAL);
	iob_topo_destroy(t);
}

static char *print_to_string(const struct iob_topo *t, const struct iob_plan *p);

static void test_print_nodeless(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_XML, fixture("nodeless-mems.xml"));
	struct iob_plan *p = plan_ok(t, "spread", 2, false);
	char *s = print_to_string(t, p);

	(void)state;
	assert_non_null(strstr(s, "no NUMA node (not allowed or offline): PUs 4-7\n"));
	assert_non_null(strstr(s, "thread 0 -> PU 0 (core 0, NUMA 0)\n"));
	assert_non_null(strstr(s, "thread 1 -> PU 4 (core 2, NUMA none)\n"));
	free(s);
	iob_plan_destroy(p);
	iob_topo_destroy(t);
}

/* hwloc 2.x cannot read hwloc 3's default XML format: the error says so and how to export. */
static void test_xml_format_3(void **state)
{
	struct iob_topo *t = NULL;
	const char *path = fixture("format-v3.xml");
	char err[512] = "";

	(void)state;
	assert_int_equal(iob_topo_load(IOB_TOPO_XML, path, &t, err, sizeof(err)), -EIO);
	assert_null(t);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "format 3.0"));
	assert_non_null(strstr(err, "hwloc 2.x"));
	assert_non_null(strstr(err, "--export-xml-flags v2"));
	assert_null(strchr(err, '\n'));
}

/* hwloc 2.9 dereferences the missing set and crashes: refuse the file first, naming the line. */
static void test_xml_missing_complete_set(void **state)
{
	struct iob_topo *t = NULL;
	const char *path = fixture("missing-complete-cpuset.xml");
	char err[512] = "";

	(void)state;
	assert_int_equal(iob_topo_load(IOB_TOPO_XML, path, &t, err, sizeof(err)), -EIO);
	assert_null(t);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "line 8: object has 'cpuset' but no 'complete_cpuset'"));
}

static void load_too_big(enum iob_topo_source src, const char *arg, const char *words)
{
	struct iob_topo *sentinel = (struct iob_topo *)&sentinel, *t = sentinel;
	char err[512] = "";
	int ret = iob_topo_load(src, arg, &t, err, sizeof(err));

	if (ret != -E2BIG || !strstr(err, words))
		print_error("load '%s': %d '%s', want -E2BIG naming '%s'\n", arg, ret, err, words);
	assert_int_equal(ret, -E2BIG);
	assert_ptr_equal(t, sentinel);
	assert_non_null(strstr(err, words));
	assert_null(strchr(err, '\n'));
}

/* Refused from the string alone, before hwloc builds (it would take minutes and gigabytes). */
static void test_synthetic_limits(void **state)
{
	struct iob_topo *t;

	(void)state;
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:1000 core:1000 pu:1000",
		     "has 1000000000 PUs, more than the limit of 4096");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:99999999999999999999 pu:2", "over 2^64 PUs");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:4294967296 core:4294967296 pu:4294967296",
		     "over 2^64 PUs");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:2 core:513 pu:1",
		     "level 'core:513' has 513 children per parent, more than the limit of 512");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:0x201 pu:1", "level 'pack:0x201' has 513");
	load_too_big(IOB_TOPO_SYNTHETIC, "2 1024 2", "level '1024' has 1024");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:8 group:512 group:1 group:1 core:1 pu:1",
		     "has 20489 objects, more than the limit of 16384");
	load_too_big(IOB_TOPO_SYNTHETIC, "pack:2 [numa(memory=1GB)] core:2 pu:2(indexes=0,1,70000)",
		     "index 70000");
	/* At the limits: loads. */
	t = load_ok(IOB_TOPO_SYNTHETIC, "pack:4 core:32 pu:32");
	assert_int_equal(iob_topo_npus(t), IOB_TOPO_MAX_PUS);
	iob_topo_destroy(t);
	t = load_ok(IOB_TOPO_SYNTHETIC, "core:1 pu:512");
	iob_topo_destroy(t);
	t = load_ok(IOB_TOPO_SYNTHETIC, "pack:2 [numa(memory=1GB)] core:2 pu:2(indexes=0,1,2,65535,"
					"4,5,6,7)");
	assert_int_equal(iob_topo_npus(t), 8);
	iob_topo_destroy(t);
}

static void test_xml_size_limit(void **state)
{
	char path[] = "/tmp/iob_topo_big_XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	/* A sparse file: the limit is checked on its size, before anything reads it. */
	assert_int_equal(ftruncate(fd, (off_t)IOB_TOPO_MAX_XML_BYTES + 1), 0);
	close(fd);
	load_too_big(IOB_TOPO_XML, path, "more than the limit of 16777216 bytes (16 MiB)");
	unlink(path);
}

static char *print_to_string(const struct iob_topo *t, const struct iob_plan *p)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	iob_topo_print(t, p, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(s);
	return s;
}

static void test_print(void **state)
{
	struct iob_topo *t = load_ok(IOB_TOPO_SYNTHETIC, "pack:2 l3:1 numa:1 core:2 pu:1");
	struct iob_plan *p = plan_ok(t, "spread", 2, false);
	char *s = print_to_string(t, p);

	(void)state;
	assert_non_null(strstr(s, "synthetic:pack:2 l3:1 numa:1 core:2 pu:1"));
	assert_non_null(strstr(s, "SIMULATED"));
	assert_non_null(strstr(s, "package 1: PUs 2-3"));
	assert_non_null(strstr(s, "NUMA node 1: PUs 2-3"));
	assert_non_null(strstr(s, "L3"));
	assert_non_null(strstr(s, "MiB"));
	assert_non_null(strstr(s, "thread 0 -> PU 0 (core 0, NUMA 0)"));
	assert_non_null(strstr(s, "thread 1 -> PU 2 (core 2, NUMA 1)"));
	free(s);
	iob_plan_destroy(p);
	iob_topo_destroy(t);

	t = load_ok(IOB_TOPO_SYSTEM, NULL);
	s = print_to_string(t, NULL);
	assert_non_null(strstr(s, "topology: system"));
	assert_null(strstr(s, "SIMULATED"));
	assert_null(strstr(s, "thread 0"));
	free(s);
	iob_topo_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synthetic_load),
		cmocka_unit_test(test_compact_exact),
		cmocka_unit_test(test_spread_exact),
		cmocka_unit_test(test_numa_placement),
		cmocka_unit_test(test_list_placement),
		cmocka_unit_test(test_oversubscribe),
		cmocka_unit_test(test_bad_placements),
		cmocka_unit_test(test_bad_synthetic),
		cmocka_unit_test(test_missing_xml),
		cmocka_unit_test(test_garbage_xml),
		cmocka_unit_test(test_xml_round_trip),
		cmocka_unit_test(test_no_numa_object_is_node_0),
		cmocka_unit_test(test_thissystem),
		cmocka_unit_test(test_pin_every_pu),
		cmocka_unit_test(test_bind_memory),
		cmocka_unit_test(test_json_synthetic),
		cmocka_unit_test(test_json_system),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_nodeless_mems),
		cmocka_unit_test(test_nodeless_offline),
		cmocka_unit_test(test_nodes_out_of_order),
		cmocka_unit_test(test_memory_only_nodes),
		cmocka_unit_test(test_disallowed_pus),
		cmocka_unit_test(test_print_nodeless),
		cmocka_unit_test(test_xml_format_3),
		cmocka_unit_test(test_xml_missing_complete_set),
		cmocka_unit_test(test_synthetic_limits),
		cmocka_unit_test(test_xml_size_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
