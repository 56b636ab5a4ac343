/*
 * uv_threadpool: libuv's threadpool (uv_queue_work), the pool behind libuv's file system and DNS
 * calls and Node.js's, used the one way libuv allows:
 *
 * - uv_queue_work() must be called on the loop's thread, and its after_work callback runs there.
 *   So the pool here is a loop thread plus libuv's threadpool. Every submission, from the
 *   benchmark's thread (submit) or from inside a work item (spawn, yielding), appends to a
 *   mutex-protected list and calls uv_async_send(); the loop thread's async callback takes the
 *   list and calls uv_queue_work() for each entry; a threadpool thread runs it; the loop thread
 *   runs its after_work callback, which frees the request. That hand-off is the cost any libuv
 *   program pays to queue work from another thread, and it is counted. The loop thread keeps the
 *   benchmark thread's PU (it is the submitting side).
 * - The threadpool is process-global: libuv starts it once, at the first uv_queue_work() in the
 *   process, with UV_THREADPOOL_SIZE threads (read then, never again). create sets that variable
 *   to the worker count before the first use; a later pool in the same process with another
 *   worker count cannot exist and fails with a message (iobench run starts one process per
 *   benchmark, so its cells are unaffected). The threads are libuv's, which offers no hook to pin
 *   them: they inherit the affinity of the thread that starts them, so the loop thread widens its
 *   own to the plan's worker PUs for that first call: the workers are confined to those PUs, not
 *   one each.
 * - A work item cannot wait for another (it holds its thread until it returns, with no way to
 *   run other work meanwhile): no fork-join. Yielding re-submits the step through the loop.
 *
 * Built when meson found libuv (IOB_HAVE_LIBUV); otherwise the descriptor skips with a message.
 */
#include <errno.h>
#include <stddef.h>

#include "pool_impl.h"

#define UV_NO_JOIN                                                                            \
	"a libuv work item cannot wait for another: it holds its threadpool thread until it " \
	"returns, so fork-join deadlocks"

#ifdef IOB_HAVE_LIBUV

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

struct uvp_req {
	uv_work_t work;
	struct uvp_req *next;
	pi_fn *fn;
	void *arg;
};

struct uvp {
	uv_loop_t loop;
	uv_async_t async;
	pthread_t thread;
	pthread_mutex_t mu;
	struct uvp_req *head, *tail; /* under mu: waiting for the loop thread */
	bool stop;		     /* under mu */
	cpu_set_t workers;	     /* the plan's worker PUs */
	bool pin;
	int start_rc; /* the loop thread's start: 0, or a negative errno */
	pthread_mutex_t start_mu;
	pthread_cond_t start_cv;
	bool started;
};

/* The process's threadpool size once started (UV_THREADPOOL_SIZE); 0: not yet. Under size_mu. */
static unsigned uv_size;
static pthread_mutex_t size_mu = PTHREAD_MUTEX_INITIALIZER;

static void uvp_work(uv_work_t *w)
{
	struct uvp_req *r = (struct uvp_req *)w;

	r->fn(r->arg);
}

static void uvp_after(uv_work_t *w, int status)
{
	(void)status;
	free(w);
}

static void uvp_async(uv_async_t *a)
{
	struct uvp *p = a->data;
	struct uvp_req *r, *next;
	bool stop;

	pthread_mutex_lock(&p->mu);
	r = p->head;
	p->head = p->tail = NULL;
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	for (; r; r = next) {
		next = r->next;
		if (uv_queue_work(&p->loop, &r->work, uvp_work, uvp_after)) {
			r->fn(r->arg); /* cannot happen with a valid callback; keep the count right */
			free(r);
		}
	}
	if (stop)
		uv_close((uv_handle_t *)&p->async, NULL); /* the loop ends once the work drains */
}

/* A work item that starts libuv's threadpool (the loop thread's first uv_queue_work). */
static void uvp_nothing(void *arg)
{
	(void)arg;
}

static void *uvp_main(void *arg)
{
	struct uvp *p = arg;
	cpu_set_t mine;
	int rc = 0;

	/* The threadpool's threads inherit this thread's affinity when the first work starts them:
	 * widen it to the workers' PUs for that call, then come back to the benchmark thread's. */
	if (p->pin && pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine) == 0 &&
	    pthread_setaffinity_np(pthread_self(), sizeof(p->workers), &p->workers) == 0) {
		struct uvp_req *r = calloc(1, sizeof(*r));

		if (r)
			r->fn = uvp_nothing; /* before the queueing: a worker may run it at once */
		if (!r || uv_queue_work(&p->loop, &r->work, uvp_work, uvp_after)) {
			free(r);
			rc = -ENOMEM;
		}
		(void)pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine);
	}
	pthread_mutex_lock(&p->start_mu);
	p->start_rc = rc;
	p->started = true;
	pthread_cond_signal(&p->start_cv);
	pthread_mutex_unlock(&p->start_mu);
	if (rc)
		return NULL;
	uv_run(&p->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int uvp_submit(void *pool, pi_fn *fn, void *arg)
{
	struct uvp *p = pool;
	struct uvp_req *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->next = NULL;
	r->fn = fn;
	r->arg = arg;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = r;
	else
		p->head = r;
	p->tail = r;
	pthread_mutex_unlock(&p->mu);
	return uv_async_send(&p->async) ? -EIO : 0;
}

static void uvp_free(struct uvp *p)
{
	pthread_cond_destroy(&p->start_cv);
	pthread_mutex_destroy(&p->start_mu);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void uvp_destroy(void *pool)
{
	struct uvp *p = pool;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
	(void)uv_async_send(&p->async);
	pthread_join(p->thread, NULL);
	(void)uv_loop_close(&p->loop);
	uvp_free(p);
}

/* The process's threadpool: started with @p workers threads, or now set to start so. */
static int claim_size(unsigned workers, const char **why)
{
	static char msg[200];
	char v[16];
	int rc = 0;

	pthread_mutex_lock(&size_mu);
	if (uv_size == 0) {
		snprintf(v, sizeof(v), "%u", workers);
		if (setenv("UV_THREADPOOL_SIZE", v, 1))
			rc = -ENOMEM;
		else
			uv_size = workers;
	} else if (uv_size != workers) {
		snprintf(msg, sizeof(msg),
			 "libuv's threadpool is process-global and this process started it with %u "
			 "threads: run one worker count per process",
			 uv_size);
		*why = msg;
		rc = -EBUSY;
	}
	pthread_mutex_unlock(&size_mu);
	return rc;
}

static int uvp_create(const struct pi_config *cfg, void **pool, const char **why)
{
	struct uvp *p;
	int rc = claim_size(cfg->workers, why);

	if (rc)
		return rc;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->start_mu, NULL);
	pthread_cond_init(&p->start_cv, NULL);
	CPU_ZERO(&p->workers);
	for (unsigned i = 0; cfg->cpus && i < cfg->workers; i++)
		if (cfg->cpus[i] >= 0) {
			CPU_SET(cfg->cpus[i], &p->workers);
			p->pin = true;
		}
	if (uv_loop_init(&p->loop)) {
		uvp_free(p);
		return -ENOMEM;
	}
	p->async.data = p;
	if (uv_async_init(&p->loop, &p->async, uvp_async)) {
		(void)uv_loop_close(&p->loop);
		uvp_free(p);
		return -ENOMEM;
	}
	if (pthread_create(&p->thread, NULL, uvp_main, p)) {
		uv_close((uv_handle_t *)&p->async, NULL);
		uv_run(&p->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&p->loop);
		uvp_free(p);
		return -EAGAIN;
	}
	pthread_mutex_lock(&p->start_mu);
	while (!p->started)
		pthread_cond_wait(&p->start_cv, &p->start_mu);
	rc = p->start_rc;
	pthread_mutex_unlock(&p->start_mu);
	if (rc) {
		pthread_join(p->thread, NULL);
		uv_close((uv_handle_t *)&p->async, NULL);
		uv_run(&p->loop, UV_RUN_DEFAULT);
		(void)uv_loop_close(&p->loop);
		uvp_free(p);
		return rc;
	}
	*pool = p;
	return 0;
}

static int uvp_yielding(void *pool, pi_step_fn *step, void *arg)
{
	return pi_yield_by_resubmit(pool, uvp_submit, step, arg);
}

const struct pimpl pimpl_uv = {
	.impl = { .name = "uv_threadpool",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .about = "libuv's threadpool: uv_queue_work from a loop thread fed by uv_async" },
	.unsupported = { [PS_FORK_JOIN] = UV_NO_JOIN },
	.create = uvp_create,
	.destroy = uvp_destroy,
	.submit = uvp_submit,
	.spawn = uvp_submit,
	.yielding = uvp_yielding,
};

#else

const struct pimpl pimpl_uv = {
	.impl = { .name = "uv_threadpool",
		  .origin = BENCH_BASELINE,
		  .package = "libuv1-dev",
		  .missing = "libuv not built: install libuv1-dev and reconfigure",
		  .about = "libuv's threadpool: uv_queue_work from a loop thread fed by uv_async" },
	.unsupported = { [PS_FORK_JOIN] = UV_NO_JOIN },
};

#endif
