/**
 * The test side of the runtime's test points (runtime/src/base/testpoint-private.h): stop a thread
 * at a named point, wait until it is there, run other threads, release it. Link with iort_tp_dep.
 *
 *   tp_install();
 *   thread A: tp_tag(1); iort_chan_send(...)          main: int s = tp_stop_at("mpmc.push_claimed", 1, 0);
 *                                                         tp_wait_stopped(s);   A holds a claimed slot
 *                                                         ... drive thread B ...
 *                                                         tp_release(s);
 *
 * Every wait ends in a failure with a message after TP_TIMEOUT_S (a hang is a failed test, not a
 * timeout of the runner); no wait sleeps for a fixed time. Header-only: include it in one file.
 */
#ifndef IOB_TP_H
#define IOB_TP_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testpoint-private.h"

#ifndef IORT_TESTPOINTS
#error "tests/lib/tp.h needs the test variant of libiort (iort_tp_dep)"
#endif

#define TP_TIMEOUT_S  60
#define TP_MAX_RULES  32
#define TP_MAX_COUNTS 64
#define TP_ANY	      (-1)

struct tp_rule {
	const char *name;
	int tag;       /* TP_ANY or the tag of the thread to stop */
	unsigned skip; /* matching hits to let pass first */
	bool used, stopped, released, done;
};

struct tp_count {
	const char *name;
	int tag;
	unsigned long n;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tp_rule rules[TP_MAX_RULES];
	struct tp_count counts[TP_MAX_COUNTS];
	int nrules, ncounts;
} tp_state = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, { { 0 } }, 0, 0 };

static __thread int tp_my_tag;

/** Tag the calling thread (0 by default): rules and counts can select threads by tag. */
static inline void tp_tag(int tag)
{
	tp_my_tag = tag;
}

static inline void tp_fail(const char *what, const char *name)
{
	fprintf(stderr, "tp: timed out after %d s %s '%s'\n", TP_TIMEOUT_S, what, name);
	abort();
}

/* Wait on the condition variable until the deadline; abort past it. Caller holds mu. */
static inline void tp_cond_wait(const struct timespec *until, const char *what, const char *name)
{
	if (pthread_cond_timedwait(&tp_state.cv, &tp_state.mu, until) == ETIMEDOUT)
		tp_fail(what, name);
}

static inline struct timespec tp_deadline(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TP_TIMEOUT_S;
	return ts;
}

static inline struct tp_count *tp_count_slot(const char *name, int tag)
{
	int i;

	for (i = 0; i < tp_state.ncounts; i++)
		if (tp_state.counts[i].tag == tag && strcmp(tp_state.counts[i].name, name) == 0)
			return &tp_state.counts[i];
	if (tp_state.ncounts == TP_MAX_COUNTS) {
		fprintf(stderr, "tp: more than %d distinct (point, tag) pairs\n", TP_MAX_COUNTS);
		abort();
	}
	tp_state.counts[tp_state.ncounts] = (struct tp_count){ name, tag, 0 };
	return &tp_state.counts[tp_state.ncounts++];
}

static void tp_hook(const char *name)
{
	struct timespec until = tp_deadline();
	int i;

	pthread_mutex_lock(&tp_state.mu);
	tp_count_slot(name, tp_my_tag)->n++;
	pthread_cond_broadcast(&tp_state.cv);
	for (i = 0; i < tp_state.nrules; i++) {
		struct tp_rule *r = &tp_state.rules[i];

		if (!r->used || r->stopped || strcmp(r->name, name) != 0 ||
		    (r->tag != TP_ANY && r->tag != tp_my_tag))
			continue;
		if (r->skip) {
			r->skip--;
			continue;
		}
		r->stopped = true;
		pthread_cond_broadcast(&tp_state.cv);
		while (!r->released)
			tp_cond_wait(&until, "stopped at (never released)", name);
		r->done = true;
		pthread_cond_broadcast(&tp_state.cv);
		break;
	}
	pthread_mutex_unlock(&tp_state.mu);
}

/** Route every test point of the test library through this file's hook. */
static inline void tp_install(void)
{
	iort__tp_set_hook(tp_hook);
}

/** Forget every rule and count (call while no thread is stopped). */
static inline void tp_reset(void)
{
	pthread_mutex_lock(&tp_state.mu);
	memset(tp_state.rules, 0, sizeof(tp_state.rules));
	memset(tp_state.counts, 0, sizeof(tp_state.counts));
	tp_state.nrules = tp_state.ncounts = 0;
	pthread_mutex_unlock(&tp_state.mu);
}

/**
 * Stop the first thread tagged @p tag (TP_ANY: any thread) that reaches point @p name after
 * letting @p skip such hits pass. @return the rule, for tp_wait_stopped() and tp_release().
 */
static inline int tp_stop_at(const char *name, int tag, unsigned skip)
{
	int id;

	pthread_mutex_lock(&tp_state.mu);
	if (tp_state.nrules == TP_MAX_RULES) {
		fprintf(stderr, "tp: more than %d rules\n", TP_MAX_RULES);
		abort();
	}
	id = tp_state.nrules++;
	tp_state.rules[id] =
		(struct tp_rule){ .name = name, .tag = tag, .skip = skip, .used = true };
	pthread_mutex_unlock(&tp_state.mu);
	return id;
}

/** Block until a thread is stopped at rule @p id. */
static inline void tp_wait_stopped(int id)
{
	struct timespec until = tp_deadline();

	pthread_mutex_lock(&tp_state.mu);
	while (!tp_state.rules[id].stopped)
		tp_cond_wait(&until, "waiting for a thread to stop at", tp_state.rules[id].name);
	pthread_mutex_unlock(&tp_state.mu);
}

/** Let the thread stopped at rule @p id go on; returns once it has left the point. */
static inline void tp_release(int id)
{
	struct timespec until = tp_deadline();

	pthread_mutex_lock(&tp_state.mu);
	tp_state.rules[id].released = true;
	pthread_cond_broadcast(&tp_state.cv);
	while (tp_state.rules[id].stopped && !tp_state.rules[id].done)
		tp_cond_wait(&until, "waiting for a released thread to leave",
			     tp_state.rules[id].name);
	tp_state.rules[id].used = false;
	pthread_mutex_unlock(&tp_state.mu);
}

/** How many times threads tagged @p tag passed point @p name. */
static inline unsigned long tp_hits(const char *name, int tag)
{
	unsigned long n;

	pthread_mutex_lock(&tp_state.mu);
	n = tp_count_slot(name, tag)->n;
	pthread_mutex_unlock(&tp_state.mu);
	return n;
}

/** Block until threads tagged @p tag passed point @p name at least @p n times in all. */
static inline void tp_wait_hits(const char *name, int tag, unsigned long n)
{
	struct timespec until = tp_deadline();

	pthread_mutex_lock(&tp_state.mu);
	while (tp_count_slot(name, tag)->n < n)
		tp_cond_wait(&until, "waiting for hits of", name);
	pthread_mutex_unlock(&tp_state.mu);
}

#endif /* IOB_TP_H */
