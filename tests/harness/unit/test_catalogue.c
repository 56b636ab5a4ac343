/*
 * The catalogue (harness/lib/catalogue.h): a valid one is accepted and gives the default
 * matrix's suites (one per default scenario and thread-count group), references and the gate's
 * list; every kind of bad one is refused with a message naming where.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalogue.h"
#include "matrix.h"

/* Two families: queue/handoff with two thread groups and no parameters, queue/spsc with a
 * parameter, a gated scenario and one not in the default matrix. %s marks where the bad-input
 * tests put their change (empty for the valid one). */
static const char good[] =
	"{\"iobench_catalogue\": 1, \"families\": ["
	" {\"name\": \"queue\", \"about\": \"queues\", \"scenarios\": ["
	"  {\"name\": \"queue/handoff\", \"about\": \"latency\", \"kind\": \"latency\","
	"   \"timing\": \"real_time\", \"default\": true, \"gate\": false,"
	"   \"reference\": \"rte_spsc\", \"params\": {},"
	"   \"impls\": [{\"name\": \"iort_spsc\", \"threads\": [2]},"
	"             {\"name\": \"iort_mpmc\", \"threads\": [2, 3]},"
	"             {\"name\": \"rte_spsc\", \"threads\": [2]}],"
	"   \"benchmarks\": [\"queue/handoff/iort_spsc/real_time/threads:2\"]},"
	"  {\"name\": \"queue/spsc\", \"about\": null, \"kind\": \"throughput\","
	"   \"timing\": \"real_time\", \"default\": true, \"gate\": false, \"reference\": null,"
	"   \"params\": {\"burst\": [1, \"8\", null]},"
	"   \"impls\": [{\"name\": \"iort_spsc\", \"threads\": [2]}], \"benchmarks\": []}]},"
	" {\"name\": \"gate\", \"about\": \"hot paths\", \"scenarios\": ["
	"  {\"name\": \"gate/push_pop\", \"about\": \"x\", \"kind\": \"throughput\","
	"   \"timing\": \"cpu_time\", \"default\": false, \"gate\": true, \"reference\": null,"
	"   \"params\": {}, \"impls\": [{\"name\": \"iort_spsc\", \"threads\": []}],"
	"   \"benchmarks\": [\"gate/push_pop/iort_spsc\", \"gate/push_pop/iort_mpmc\"]}]}],"
	" \"impls\": [{\"name\": \"iort_spsc\", \"origin\": \"iort\", \"package\": null,"
	"   \"available\": true, \"missing\": null, \"about\": \"ring\"},"
	"  {\"name\": \"rte_spsc\", \"origin\": \"baseline\", \"package\": \"libdpdk-dev\","
	"   \"available\": false, \"missing\": \"DPDK not built\", \"about\": null}]}";

static struct iob_catalogue *parse_ok(const char *text)
{
	struct iob_catalogue *c = NULL;
	char err[512] = "";

	if (iob_catalogue_parse(text, strlen(text), "t", &c, err, sizeof(err)))
		fail_msg("refused: %s", err);
	return c;
}

static void test_valid(void **state)
{
	struct iob_catalogue *c = parse_ok(good);
	struct iob_matrix *m;
	struct iob_cell *cells = NULL;
	const char **names;
	size_t n, ncells;
	char err[512] = "";

	(void)state;
	assert_string_equal(iob_catalogue_reference(c, "queue/handoff"), "rte_spsc");
	assert_null(iob_catalogue_reference(c, "queue/spsc"));
	assert_null(iob_catalogue_reference(c, "queue/none"));
	assert_null(iob_catalogue_reference(NULL, "queue/handoff"));
	assert_int_equal(iob_catalogue_gate_names(c, &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "gate/push_pop/iort_spsc");
	assert_string_equal(names[1], "gate/push_pop/iort_mpmc");
	free(names);

	/* handoff: iort_spsc and rte_spsc at [2], iort_mpmc at [2, 3]: two suites; spsc: 3 burst
	 * values. Cells: 2 + 2 + 3 = 7; the gate scenario is not in the default matrix. */
	assert_int_equal(iob_matrix_default(c, &m, err, sizeof(err)), 0);
	assert_int_equal(iob_matrix_expand(m, &cells, &ncells, err, sizeof(err)), 0);
	assert_int_equal(ncells, 7);
	for (size_t i = 0; i < ncells; i++)
		assert_string_not_equal(cells[i].id, "queue/handoff/iort_spsc/threads:3@compact");
	assert_int_equal(cells[0].repetitions, 3);
	iob_cells_free(cells, ncells);
	iob_matrix_free(m);
	iob_catalogue_free(c);
}

/* Replace the first occurrence of @p from in good[] by @p to, and expect refusal naming @p want. */
static void refused(const char *from, const char *to, const char *want)
{
	const char *at = strstr(good, from);
	struct iob_catalogue *c = NULL;
	char text[sizeof(good) + 4096], err[512] = "";
	int rc;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	rc = iob_catalogue_parse(text, strlen(text), "t", &c, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("accepted (%d) with %s -> %s", rc, from, to);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	assert_null(c);
}

static void test_refused(void **state)
{
	(void)state;
	refused("\"iobench_catalogue\": 1", "\"iobench_catalogue\": 2", "iobench_catalogue");
	refused("{\"iobench", "[", "malformed");
	refused("\"queue/handoff\", \"about\"", "\"queue/hand'off\", \"about\"",
		"families[0].scenarios[0].name");
	refused("\"queue/handoff\", \"about\"", "\"queue\", \"about\"", "scenarios[0].name");
	refused("\"kind\": \"latency\"", "\"kind\": \"speed\"", "scenarios[0].kind");
	refused("\"timing\": \"real_time\"", "\"timing\": 1", "scenarios[0].timing");
	refused("\"default\": true", "\"default\": 1", "scenarios[0].default");
	refused("\"reference\": \"rte_spsc\"", "\"reference\": \"a/b\"", "scenarios[0].reference");
	refused("\"about\": \"latency\"", "\"about\": \"a\\u001b[31mb\"", "control character");
	refused("{\"name\": \"iort_mpmc\", \"threads\": [2, 3]}",
		"{\"name\": \"iort_mpmc\", \"threads\": [0]}", "impls[1].threads");
	refused("{\"name\": \"iort_mpmc\", \"threads\": [2, 3]}",
		"{\"name\": \"iort_mpmc\", \"threads\": []}", "must list thread counts");
	refused("\"burst\": [1", "\"burst\": [-1", "params");
	refused("\"burst\": [1", "\"bu rst\": [1", "params key");
	refused("\"gate/push_pop/iort_spsc\"", "\"gate/push_pop/iort spsc\"", "benchmarks[0]");
	refused("\"origin\": \"iort\"", "\"origin\": \"ours\"", "impls[0].origin");
	refused("\"available\": true", "\"available\": \"yes\"", "impls[0].available");
	refused("\"package\": \"libdpdk-dev\"", "\"package\": 5", "impls[1]");
	refused("\"impls\": [{\"name\": \"iort_spsc\", \"origin\"",
		"\"impls\": 3, \"x\": [{\"name\": \"iort_spsc\", \"origin\"", "impls");
}

/* Duplicate keys would let two readers see two different catalogues. */
static void test_duplicate_key(void **state)
{
	(void)state;
	refused("\"iobench_catalogue\": 1", "\"iobench_catalogue\": 1, \"iobench_catalogue\": 1",
		"malformed");
}

static void test_too_big(void **state)
{
	size_t n = IOB_CATALOGUE_MAX_BYTES + 1;
	char *text = malloc(n + 1), err[256] = "";
	struct iob_catalogue *c = NULL;

	(void)state;
	assert_non_null(text);
	memset(text, ' ', n);
	text[n] = '\0';
	assert_int_equal(iob_catalogue_parse(text, n, "t", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
