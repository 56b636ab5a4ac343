/*
 * Actor benchmarks: the Savina suite's micro-benchmarks at its default sizes, skynet, and a
 * mailbox under backpressure, on our actors (iort_actor), on the sketch's design (seed_actor: a
 * thread per actor, a channel of 32) and on CAF, through bench/aimpl.h. Each adapter writes each
 * shape in its runtime's own idiom; this file owns the sizes, the timing, the checks and the
 * counters.
 *
 * Workers: the `workers` parameter (1 and 2, as the pool family): the runtime's worker threads,
 * pinned to plan slots 0..W-1 (the seed's actor threads are spread over the same PUs). The
 * benchmark's own thread, which starts each round and waits for its end, is pinned to slot W
 * (mod the plan's size): with 2 workers on 2 PUs it shares a PU with worker 0, as in pool/.
 *
 * One Google Benchmark iteration is one round, timed by the wall clock (/real_time); a round
 * spawns its actors, runs, and ends when every actor of the round has exited. One round runs
 * before the timed ones, on the same runtime (its free lists warm: the "no allocation
 * per message when warm"), and is checked like them. Items are the messages the round's
 * actors handled (fjcreate, skynet: the actors spawned); round_ms is a round's mean wall time.
 *
 *   actor/pingpong      Savina's PingPong: two actors exchange N = 40,000 pings and pongs.
 *   actor/threadring    Savina's ThreadRing: 100 actors in a ring pass a token R = 100,000 hops.
 *   actor/counting      Savina's Counting: a producer sends N = 1,000,000 increments to a
 *                       counter, then asks for the count.
 *   actor/fjthrput      Savina's Fork-Join throughput: N = 10,000 messages to each of A = 60
 *                       actors, round-robin from the benchmark's thread; each does a little
 *                       arithmetic (ai_work) per message.
 *   actor/fjcreate      Savina's Fork-Join create: N = 40,000 actors spawned from the
 *                       benchmark's thread, each sent one message, each exits after it.
 *   actor/big           Savina's Big: W = 120 actors each send N = 20,000 pings to random peers,
 *                       one at a time, answering every ping with a pong.
 *   actor/chameneos     Savina's Chameneos: C = 100 creatures meet at a broker M = 200,000
 *                       times.
 *   actor/skynet        skynet: a 10-ary tree of actors down to 1,000,000 leaves (1,111,111
 *                       actors), each leaf replying its number, each node the sum of its ten.
 *   actor/mailbox_backpressure  a producer actor sends N = 100,000 messages as fast as it can
 *                       to a consumer that spends 1 us on each, whose mailbox holds 1024 under
 *                       the `policy` (unbounded, reject, drop_newest, drop_oldest,
 *                       backpressure). Items: messages the consumer handled. Counters:
 *                       peak_depth (the consumer's largest mailbox depth, over the rounds),
 *                       dropped and rejected (per round), muted_ns (per round: the producer's
 *                       time muted, or blocked for a thread-per-actor runtime), blocked (per
 *                       round: sends that blocked a thread; ours counts producer activations
 *                       in which its worker blocked, and must report 0),
 *                       throughput (messages handled per second).
 *
 * With --iobench_fixed_iterations (bench-smoke, instruction counting) the rounds shrink (the
 * *_S sizes below); the actor counts stay.
 *
 * Checks after every round: the adapter's checksum (pongs received, hops made, the count, the
 * messages handled, the actors that ran, the meetings summed, skynet's sum, handled + dropped)
 * must equal the shape's; a bounded mailbox's peak depth must not exceed its capacity. A wrong
 * answer fails the cell: a fast wrong answer is not a result.
 *
 * References: CAF (caf) for Savina's shapes and skynet; iort_actor for mailbox_backpressure
 * (iobench divides by the reference at the same parameters, so the policy-to-unbounded ratio
 * of the target is read from the table, not from the reference column).
 *
 * Adding an actor runtime: its adapter file (bench/aimpl_<lib>.c, declared in aimpl.h) and one
 * line in actor_impls[].
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <iort/clock.h>

#include "aimpl.h"
#include "bench.h"

static const struct aimpl *const actor_impls[] = {
	&aimpl_iort,
	&aimpl_caf,
	&aimpl_seed,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_WORKERS 2

/* Round sizes: Savina's defaults, and with --iobench_fixed_iterations. */
#define PP_N	      40000u
#define PP_N_S	      500u
#define TR_ACTORS     100u
#define TR_HOPS	      100000u
#define TR_HOPS_S     1000u
#define CNT_N	      1000000u
#define CNT_N_S	      5000u
#define FJT_ACTORS    60u
#define FJT_N	      10000u
#define FJT_N_S	      50u
#define FJC_N	      40000u
#define FJC_N_S	      500u
#define BIG_ACTORS    120u
#define BIG_N	      20000u
#define BIG_N_S	      20u
#define CH_CREATURES  100u
#define CH_MEETINGS   200000u
#define CH_MEETINGS_S 1000u
#define SKY_LEAVES    1000000u
#define SKY_LEAVES_S  1000u
#define BP_CAPACITY   1024u
#define BP_N	      100000u
#define BP_N_S	      3000u /* above the capacity: the policy acts */
#define BP_WORK_NS    1000u

struct acase {
	const struct aimpl *ai;
	enum ai_shape shape;
	unsigned workers;
	enum ai_policy policy;
};

static bool smoke(void)
{
	return bench_env.fixed_iterations > 0;
}

static void skip(struct iob_state *st, const char *msg)
{
	iob_state_skip_with_error(st, msg);
}

/* Run one round of @p c's shape into @p r. @return the adapter's status; *want the check it
 * must report, *items what the round counts. */
static int round_run(const struct acase *c, void *rt, struct ai_result *r, uint64_t *want,
		     uint64_t *items)
{
	const struct aimpl *ai = c->ai;
	bool s = smoke();
	uint64_t n;
	int rc;

	switch (c->shape) {
	case AS_PINGPONG:
		n = s ? PP_N_S : PP_N;
		rc = ai->pingpong(rt, n, r);
		*want = n;
		*items = r->messages;
		return rc;
	case AS_THREADRING:
		n = s ? TR_HOPS_S : TR_HOPS;
		rc = ai->threadring(rt, TR_ACTORS, n, r);
		*want = n;
		*items = r->messages;
		return rc;
	case AS_COUNTING:
		n = s ? CNT_N_S : CNT_N;
		rc = ai->counting(rt, n, r);
		*want = n;
		*items = r->messages;
		return rc;
	case AS_FJTHRPUT:
		n = s ? FJT_N_S : FJT_N;
		rc = ai->fjthrput(rt, FJT_ACTORS, n, r);
		*want = n * FJT_ACTORS;
		*items = r->messages;
		return rc;
	case AS_FJCREATE:
		n = s ? FJC_N_S : FJC_N;
		rc = ai->fjcreate(rt, n, r);
		*want = n;
		*items = n;
		return rc;
	case AS_BIG:
		n = s ? BIG_N_S : BIG_N;
		rc = ai->big(rt, BIG_ACTORS, n, r);
		*want = n * BIG_ACTORS;
		*items = r->messages;
		return rc;
	case AS_CHAMENEOS:
		n = s ? CH_MEETINGS_S : CH_MEETINGS;
		rc = ai->chameneos(rt, CH_CREATURES, n, r);
		*want = 2 * n;
		*items = r->messages;
		return rc;
	case AS_SKYNET: {
		uint64_t actors = 0;

		n = s ? SKY_LEAVES_S : SKY_LEAVES;
		rc = ai->skynet(rt, n, r);
		*want = n * (n - 1) / 2;
		for (uint64_t k = n; k >= 1; k /= 10)
			actors += k;
		*items = actors;
		return rc;
	}
	case AS_BACKPRESSURE:
	default:
		n = s ? BP_N_S : BP_N;
		rc = ai->backpressure(rt, c->policy, BP_CAPACITY, n, BP_WORK_NS, r);
		*want = n;
		*items = r->messages;
		return rc;
	}
}

static void bm_actor(struct iob_state *st, void *arg)
{
	const struct acase *c = arg;
	struct ai_config cfg = { .workers = c->workers };
	uint64_t items = 0, handled = 0, round_ns = 0, rounds = 0;
	uint64_t peak = 0, dropped = 0, rejected = 0, muted_ns = 0, blocked = 0;
	int cpus[MAX_WORKERS];
	const char *why = NULL;
	char msg[240];
	void *rt = NULL;
	bool failed = false;
	int rc;

	if (c->ai->impl.missing) {
		skip(st, c->ai->impl.missing);
		return;
	}
	if (c->ai->unsupported[c->shape]) {
		snprintf(msg, sizeof(msg), "unsupported: %s", c->ai->unsupported[c->shape]);
		skip(st, msg);
		return;
	}
	if (bench_pin_slot(st, (int)c->workers))
		return;
	for (unsigned i = 0; i < c->workers; i++)
		cpus[i] = bench_slot_pu((int)i);
	cfg.cpus = bench_env.simulated ? NULL : cpus;
	(void)iort_clock_fast_ns(); /* calibrate outside the loop (the consumer's work spins on it) */
	rc = c->ai->create(&cfg, &rt, &why);
	if (rc) {
		snprintf(msg, sizeof(msg), "cannot create the runtime: %s",
			 why ? why : strerror(-rc));
		skip(st, msg);
		return;
	}
	/* One round before the clock runs, checked like the others: a runtime's steady state has
	 * its free lists and chunks in place (counting's round holds a million messages at once),
	 * and Google Benchmark's own warm-up cannot give it that, since each call of this function
	 * makes a fresh runtime. */
	for (bool warm = true; warm || iob_state_keep_running(st); warm = false) {
		struct ai_result r;
		uint64_t want = 0, n = 0, t0 = iort_clock_ns();

		memset(&r, 0, sizeof(r));
		rc = round_run(c, rt, &r, &want, &n);
		if (!warm) {
			round_ns += iort_clock_ns() - t0;
			rounds++;
		}
		if (rc) {
			snprintf(msg, sizeof(msg), "the round failed: %s", strerror(-rc));
			failed = true;
			break;
		}
		if (r.fault || r.check != want) {
			snprintf(msg, sizeof(msg), "wrong result: check %llu, expected %llu%s%s",
				 (unsigned long long)r.check, (unsigned long long)want,
				 r.fault ? ": " : "", r.fault ? r.fault : "");
			failed = true;
			break;
		}
		if (c->shape == AS_BACKPRESSURE && c->policy != AP_UNBOUNDED &&
		    r.peak_depth > BP_CAPACITY) {
			snprintf(msg, sizeof(msg), "mailbox depth %llu above its capacity %u",
				 (unsigned long long)r.peak_depth, BP_CAPACITY);
			failed = true;
			break;
		}
		if (warm)
			continue;
		items += n;
		handled += r.messages;
		peak = r.peak_depth > peak ? r.peak_depth : peak;
		dropped += r.dropped;
		rejected += r.rejected;
		muted_ns += r.muted_ns;
		blocked += r.blocked;
	}
	c->ai->destroy(rt);
	if (failed) {
		skip(st, msg);
		return;
	}
	iob_state_set_items_processed(st, (int64_t)items);
	if (rounds)
		iob_state_counter(st, "round_ms", (double)round_ns * 1e-6 / (double)rounds, 0);
	if (c->shape == AS_BACKPRESSURE && rounds) {
		iob_state_counter(st, "peak_depth", (double)peak, 0);
		iob_state_counter(st, "dropped", (double)dropped / (double)rounds, 0);
		iob_state_counter(st, "rejected", (double)rejected / (double)rounds, 0);
		iob_state_counter(st, "muted_ns", (double)muted_ns / (double)rounds, 0);
		iob_state_counter(st, "blocked", (double)blocked / (double)rounds, 0);
		iob_state_counter(st, "throughput", (double)handled, IOB_COUNTER_RATE);
	}
}

/* --- registration --- */

#define SCENARIO(id, shape, ref, text, ...)       \
	static const struct bench_scenario id = { \
		.name = "actor/" shape,           \
		.about = text,                    \
		.kind = BENCH_THROUGHPUT,         \
		.timing = BENCH_REAL_TIME,        \
		.flags = BENCH_DEFAULT,           \
		.reference = ref,                 \
		.params = { __VA_ARGS__ },        \
	}
SCENARIO(sc_pingpong, "pingpong", "caf", "Savina PingPong: two actors, 40,000 pings and pongs",
	 "workers");
SCENARIO(sc_threadring, "threadring", "caf",
	 "Savina ThreadRing: a token passed 100,000 hops around 100 actors", "workers");
SCENARIO(sc_counting, "counting", "caf",
	 "Savina Counting: 1,000,000 increments sent to a counter actor", "workers");
SCENARIO(sc_fjthrput, "fjthrput", "caf",
	 "Savina Fork-Join throughput: 10,000 messages to each of 60 actors", "workers");
SCENARIO(sc_fjcreate, "fjcreate", "caf",
	 "Savina Fork-Join create: 40,000 actors spawned, one message each", "workers");
SCENARIO(sc_big, "big", "caf",
	 "Savina Big: 120 actors, 20,000 pings each to random peers, each answered", "workers");
SCENARIO(sc_chameneos, "chameneos", "caf",
	 "Savina Chameneos: 100 creatures meet 200,000 times at a broker", "workers");
SCENARIO(sc_skynet, "skynet", "caf",
	 "skynet: a 10-ary tree of 1,111,111 actors summing 1,000,000 leaves", "workers");
SCENARIO(sc_backpressure, "mailbox_backpressure", "iort_actor",
	 "a fast producer into a consumer of 1 us per message, mailbox of 1024 under a policy",
	 "policy", "workers");

static struct acase cases[NELEM(actor_impls) * (8 + 5) * MAX_WORKERS];
static size_t ncases;

static struct acase *new_case(const struct aimpl *ai, enum ai_shape shape, unsigned workers,
			      enum ai_policy policy)
{
	struct acase *c = &cases[ncases++];

	c->ai = ai;
	c->shape = shape;
	c->workers = workers;
	c->policy = policy;
	return c;
}

static void register_all(void)
{
	static const struct {
		const struct bench_scenario *s;
		enum ai_shape shape;
	} savina[] = {
		{ &sc_pingpong, AS_PINGPONG },	 { &sc_threadring, AS_THREADRING },
		{ &sc_counting, AS_COUNTING },	 { &sc_fjthrput, AS_FJTHRPUT },
		{ &sc_fjcreate, AS_FJCREATE },	 { &sc_big, AS_BIG },
		{ &sc_chameneos, AS_CHAMENEOS }, { &sc_skynet, AS_SKYNET },
	};
	static const char *const wname[MAX_WORKERS] = { "1", "2" };
	static const char *const pname[] = { "unbounded", "reject", "drop_newest", "drop_oldest",
					     "backpressure" };
	static const enum ai_policy pval[] = { AP_UNBOUNDED, AP_REJECT, AP_DROP_NEWEST,
					       AP_DROP_OLDEST, AP_BACKPRESSURE };
	static const int one[] = { 1 }; /* the benchmark's thread; the runtime's are `workers` */

	for (size_t i = 0; i < NELEM(actor_impls); i++) {
		const struct aimpl *ai = actor_impls[i];

		for (size_t k = 0; k < NELEM(savina); k++)
			for (unsigned w = 1; w <= MAX_WORKERS; w++) {
				const char *values[1] = { wname[w - 1] };

				bench_add(savina[k].s, &ai->impl, bm_actor,
					  new_case(ai, savina[k].shape, w, AP_UNBOUNDED), one, 1,
					  values);
			}
		for (size_t p = 0; p < NELEM(pval); p++)
			for (unsigned w = 1; w <= MAX_WORKERS; w++) {
				const char *values[2] = { pname[p], wname[w - 1] };

				bench_add(&sc_backpressure, &ai->impl, bm_actor,
					  new_case(ai, AS_BACKPRESSURE, w, pval[p]), one, 1,
					  values);
			}
	}
}

const struct bench_family bench_family_actor = {
	.name = "actor",
	.about = "actors: ours, CAF's and the sketch's (a thread per actor): Savina's shapes, "
		 "skynet, and a bounded mailbox under each policy",
	.register_all = register_all,
};
