/*
 * seed_pool: the thread pool of the sketch the project started from, as written. One channel
 * (a linked FIFO of heap-allocated jobs under one pthread mutex, with a condition variable for
 * the idle workers); N workers loop receive / run; the sketch's three metrics as sequentially
 * consistent atomic counters updated around every job:
 *
 *   submit:  queue_depth++            (then lock, append, signal, unlock)
 *   worker:  lock, wait while empty, pop, unlock; queue_depth--, active_workers++,
 *            run, completed_jobs++, active_workers--
 *
 * Tasks spawn into the same channel as everyone else (the sketch has nothing local). The sketch
 * has no join; the fork-join scenario needs one, so join2 adds the least that works: the child
 * carries a done flag, and the joining worker, while the flag is clear, takes jobs from the
 * channel and runs them (a worker that only waited would deadlock a one-worker pool), yielding
 * the CPU when the channel is empty. Helping runs whatever is oldest, so joins nest deeply (a
 * helped task joins in turn): the workers get large stacks (reserved, touched as used).
 *
 * Yielding: the job runs a step and, while the step says again, sends itself back to the channel.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pool_impl.h"

#define SEED_STACK (256u << 20) /* helping joins nest: see above */

struct seed_job {
	struct seed_job *next;
	pi_fn *fn;
	void *arg;
};

struct seed_pool;

struct seed_worker {
	struct seed_pool *pool;
	pthread_t thread;
	int cpu;
};

struct seed_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct seed_job *head, *tail; /* under mu */
	bool stop;		      /* under mu */
	/* The sketch's metrics: sequentially consistent, as it wrote them. */
	atomic_uint_fast64_t active_workers, completed_jobs, queue_depth;
	unsigned nworkers;
	struct seed_worker *w;
};

static void run_job(struct seed_pool *p, struct seed_job *j)
{
	pi_fn *fn = j->fn;
	void *arg = j->arg;

	free(j);
	atomic_fetch_sub(&p->queue_depth, 1);
	atomic_fetch_add(&p->active_workers, 1);
	fn(arg);
	atomic_fetch_add(&p->completed_jobs, 1);
	atomic_fetch_sub(&p->active_workers, 1);
}

static struct seed_job *pop_locked(struct seed_pool *p)
{
	struct seed_job *j = p->head;

	if (j) {
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
	}
	return j;
}

static void *seed_main(void *arg)
{
	struct seed_worker *w = arg;
	struct seed_pool *p = w->pool;

	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (;;) {
		struct seed_job *j;

		pthread_mutex_lock(&p->mu);
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		j = pop_locked(p);
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL; /* stop, and nothing left */
		run_job(p, j);
	}
}

static int seed_submit(void *pool, pi_fn *fn, void *arg)
{
	struct seed_pool *p = pool;
	struct seed_job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	atomic_fetch_add(&p->queue_depth, 1);
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void seed_destroy(void *pool)
{
	struct seed_pool *p = pool;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nworkers; i++)
		pthread_join(p->w[i].thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}

static int seed_create(const struct pi_config *cfg, void **pool, const char **why)
{
	struct seed_pool *p = calloc(1, sizeof(*p));
	pthread_attr_t attr;
	int rc = 0;

	(void)why;
	if (!p)
		return -ENOMEM;
	p->w = calloc(cfg->workers, sizeof(*p->w));
	if (!p->w) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_init(&p->active_workers, 0);
	atomic_init(&p->completed_jobs, 0);
	atomic_init(&p->queue_depth, 0);
	if (pthread_attr_init(&attr) || pthread_attr_setstacksize(&attr, SEED_STACK)) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p->w);
		free(p);
		return -ENOMEM;
	}
	for (; p->nworkers < cfg->workers; p->nworkers++) {
		struct seed_worker *w = &p->w[p->nworkers];

		w->pool = p;
		w->cpu = cfg->cpus ? cfg->cpus[p->nworkers] : -1;
		if (pthread_create(&w->thread, &attr, seed_main, w)) {
			rc = -EAGAIN;
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (rc) {
		seed_destroy(p);
		return rc;
	}
	*pool = p;
	return 0;
}

/* --- join: a done flag, and help while it is clear --- */

struct seed_child {
	pi_fn *fn;
	void *arg;
	atomic_bool done;
};

static void seed_child_main(void *arg)
{
	struct seed_child *c = arg;

	c->fn(c->arg);
	/* MO seed_pool.R1 (release): the child's writes (its result) before the flag;
	 * pairs with seed_pool.A1 in seed_join2(). */
	atomic_store_explicit(&c->done, true, memory_order_release);
}

static void seed_join2(void *pool, pi_fn *fn, void *arg, pi_fn *inl, void *inl_arg)
{
	struct seed_pool *p = pool;
	struct seed_child c = { .fn = fn, .arg = arg };

	atomic_init(&c.done, false);
	if (seed_submit(p, seed_child_main, &c)) {
		fn(arg);
		inl(inl_arg);
		return;
	}
	inl(inl_arg);
	/* MO seed_pool.A1 (acquire): the child's result is visible once the flag is;
	 * pairs with seed_pool.R1. */
	while (!atomic_load_explicit(&c.done, memory_order_acquire)) {
		struct seed_job *j;

		pthread_mutex_lock(&p->mu);
		j = pop_locked(p);
		pthread_mutex_unlock(&p->mu);
		if (j)
			run_job(p, j);
		else
			sched_yield();
	}
}

/* --- yielding: send the job back to the channel --- */

static int seed_yielding(void *pool, pi_step_fn *step, void *arg)
{
	return pi_yield_by_resubmit(pool, seed_submit, step, arg);
}

const struct pimpl pimpl_seed = {
	.impl = { .name = "seed_pool",
		  .origin = BENCH_SEED,
		  .about = "the sketch's pool: one mutex-protected channel, seq_cst counters" },
	.create = seed_create,
	.destroy = seed_destroy,
	.submit = seed_submit,
	.spawn = seed_submit,
	.join2 = seed_join2,
	.yielding = seed_yielding,
};
