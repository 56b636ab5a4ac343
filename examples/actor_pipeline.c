/*
 * A three-stage actor pipeline with backpressure: a producer as fast as it can go, a parser,
 * and a slow sink whose bounded mailbox mutes whoever outruns it.
 *
 *   actor_pipeline [MESSAGES] [POLICY]     POLICY: backpressure (default), reject, drop_newest,
 *                                                  drop_oldest, unbounded
 *
 * The producer sends its messages in bursts, one burst per activation, and sends itself a "go on"
 * message to come back: an actor never loops for ever inside its behaviour, so its worker can run
 * the others. Under backpressure a send to the full sink returns IORT_SEND_MUTED: the message
 * waits in the parser's outbox and the parser is muted (not scheduled) until the sink drains to
 * half its capacity; the parser's own mailbox then fills, and the producer is muted on it in turn.
 * Nothing blocks a worker, nothing is lost, and each mailbox stays within its capacity: the
 * program prints each stage's metrics and checks the sums.
 */
#include <iort/actor.h>
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MSG_GO = 1, MSG_ITEM = 2 };

#define CAPACITY 256u
#define BURST	 64u

struct producer {
	struct iort_aid next;
	uint64_t sent, total;
};

struct stage {
	struct iort_aid next; /* null for the sink */
	uint64_t sum;
	_Atomic uint64_t seen; /* read by main while the pipeline runs */
};

static int produce(void *state, struct iort_msg *m)
{
	struct producer *p = state;
	(void)m;
	for (unsigned i = 0; i < BURST && p->sent < p->total; i++) {
		uint64_t v = p->sent;
		int r = iort_tell(p->next, MSG_ITEM, &v, sizeof(v));
		if (r == -EAGAIN)
			break; /* REJECT: try again on the next activation */
		if (r < 0)
			return r;
		p->sent++;
		if (r == IORT_SEND_MUTED)
			break; /* muted after this activation: stop producing now */
	}
	if (p->sent < p->total && iort_tell(iort_self(), MSG_GO, NULL, 0) < 0)
		return -EIO;
	return IORT_ACTOR_CONTINUE;
}

/* The parser doubles each value and forwards the same message (no copy). */
static int parse(void *state, struct iort_msg *m)
{
	struct stage *s = state;
	uint64_t *v = iort_msg_data(m);
	*v *= 2;
	atomic_fetch_add_explicit(&s->seen, 1, memory_order_relaxed);
	int r = iort_send(s->next, m);
	return r < 0 && r != -EAGAIN ? r : IORT_ACTOR_CONTINUE;
}

static int sink(void *state, struct iort_msg *m)
{
	struct stage *s = state;
	s->sum += *(const uint64_t *)iort_msg_data(m);
	for (volatile int spin = 0; spin < 300; spin++)
		; /* a slow consumer */
	atomic_fetch_add_explicit(&s->seen, 1, memory_order_relaxed);
	return IORT_ACTOR_CONTINUE;
}

static _Atomic uint64_t dead; /* items dropped by a policy (or left when an actor failed) */
static void on_dead(void *ctx, struct iort_aid to, const struct iort_msg *m, int reason)
{
	(void)ctx, (void)to, (void)reason;
	if (m->type == MSG_ITEM)
		atomic_fetch_add_explicit(&dead, 1, memory_order_relaxed);
}

static void print(const char *name, struct iort_aid a)
{
	struct iort_actor_metrics m;
	if (iort_actor_metrics(a, &m) != 0)
		return;
	printf("%-8s handled %9" PRIu64 "  depth_hwm %6" PRIu64 "  dropped %8" PRIu64
	       "  rejected %8" PRIu64 "  mutes %6" PRIu64 "  muted %8.3f ms\n",
	       name, m.handled, m.depth_hwm, m.dropped, m.rejected, m.mutes, m.muted_ns / 1e6);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const char *pol = argc > 2 ? argv[2] : "backpressure";
	static const char *names[] = { "reject", "drop_newest", "drop_oldest", "backpressure" };
	int policy = -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(pol, names[i]) == 0)
			policy = i;
	if ((policy < 0 && strcmp(pol, "unbounded") != 0) || n == 0) {
		fprintf(stderr, "usage: actor_pipeline [MESSAGES > 0] "
				"[backpressure|reject|drop_newest|drop_oldest|unbounded]\n");
		return 2;
	}

	struct iort_pool *pool;
	struct iort_actors *sys;
	struct iort_actors_config acfg = { .dead_letter = on_dead };
	if (iort_pool_create(NULL, &pool) != 0 || iort_actors_create(pool, &acfg, &sys) != 0)
		return 1;

	struct stage sk = { 0 }, ps = { 0 };
	struct producer pr = { .total = n };
	struct iort_actor_config c_sink = { .behavior = sink, .state = &sk },
				 c_parse = { .behavior = parse, .state = &ps },
				 c_prod = { .behavior = produce, .state = &pr };
	if (policy >= 0) {
		c_sink.capacity = c_parse.capacity = CAPACITY;
		c_sink.policy = c_parse.policy = (enum iort_mailbox_policy)policy;
	}
	struct iort_aid a_sink, a_parse, a_prod;
	if (iort_actor_spawn(sys, &c_sink, &a_sink) != 0 ||
	    iort_actor_spawn(sys, &c_parse, &a_parse) != 0 ||
	    iort_actor_spawn(sys, &c_prod, &a_prod) != 0)
		return 1;
	ps.next = a_sink;
	pr.next = a_parse;

	uint64_t t0 = iort_clock_ns();
	if (iort_tell(a_prod, MSG_GO, NULL, 0) != 0)
		return 1;
	/* Every item ends handled by the sink, dropped (a dead letter), or refused by the sink
	 * (REJECT: the parser lets it go): wait until they add up. The producer retries its own
	 * refused sends, so it sends all n. */
	struct iort_actor_metrics ms;
	uint64_t gone;
	do {
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
		if (iort_actor_metrics(a_sink, &ms) != 0)
			return 1;
		gone = atomic_load(&dead) + ms.rejected;
	} while (atomic_load(&sk.seen) + gone < n);
	double secs = (double)(iort_clock_ns() - t0) / 1e9;

	print("producer", a_prod);
	print("parser", a_parse);
	print("sink", a_sink);
	uint64_t seen = atomic_load(&sk.seen);
	printf("%.2f M messages/s into the sink\n", (double)seen / secs / 1e6);

	iort_actors_destroy(sys);
	iort_pool_destroy(pool);

	/* Nothing more arrived once they added up, and without drops the sum is exact. */
	uint64_t want_sum = policy == 3 || policy < 0 ? n * (n - 1) : 0;
	bool ok = atomic_load(&sk.seen) == seen && seen + gone == n && pr.sent == n &&
		  (want_sum == 0 || sk.sum == want_sum);
	printf("%s: sent %" PRIu64 ", handled %" PRIu64 ", dropped or refused %" PRIu64 "\n",
	       ok ? "ok" : "MISMATCH", pr.sent, seen, gone);
	return ok ? 0 : 1;
}
