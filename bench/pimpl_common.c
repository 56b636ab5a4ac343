/*
 * What several pool adapters share (pool_impl.h): yielding for pools that have no yield, by
 * re-submitting the step as a new task while it asks to go again.
 */
#include <errno.h>
#include <stdlib.h>

#include "pool_impl.h"

struct resubmit {
	void *pool;
	int (*submit)(void *pool, pi_fn *fn, void *arg);
	pi_step_fn *step;
	void *arg;
};

static void resubmit_main(void *arg)
{
	struct resubmit *r = arg;

	if (r->step(r->arg) && r->submit(r->pool, resubmit_main, r) == 0)
		return;
	free(r);
}

int pi_yield_by_resubmit(void *pool, int (*submit)(void *pool, pi_fn *fn, void *arg),
			 pi_step_fn *step, void *arg)
{
	struct resubmit *r = malloc(sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	*r = (struct resubmit){ pool, submit, step, arg };
	rc = submit(pool, resubmit_main, r);
	if (rc)
		free(r);
	return rc;
}
