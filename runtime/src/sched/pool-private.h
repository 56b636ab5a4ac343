/*
 * The pool's task record and its state word, shared with the scheduler's other modules (scope.c).
 *
 * state (32 bits): flags in the low byte, a reference count above.
 *   SCHEDULED  in a run queue, the LIFO slot or the inject queue, or about to be: exactly one
 *              place holds it, and that place owns one reference (the scheduler's).
 *   RUNNING    a worker runs fn or poll; the scheduler's reference moved with it.
 *   NOTIFIED   woken while RUNNING: re-queued when the poll returns.
 *   COMPLETE   done (status says how); set once, after done() ran.
 *   CANCELLED  cancel requested: not run (again) once a worker sees it.
 *   JOINWAIT   a joiner sleeps: the finisher wakes it (joiner says who).
 * References: the scheduler's (while SCHEDULED or RUNNING), the handle's (spawn with a handle),
 * each waker clone's, the registry's (futures, until done), a cancel callback's (until it is
 * unregistered). The last one frees the record.
 *
 * Idle futures hold no scheduler reference; a wake that finds the task idle sets SCHEDULED and
 * creates one (or hands over the waker's).
 */
#ifndef IORT_POOL_PRIVATE_H
#define IORT_POOL_PRIVATE_H

#include <iort/cancel.h>
#include <iort/compiler.h>
#include <iort/pool.h>

#include <stdatomic.h>
#include <stdint.h>

#define TS_SCHEDULED 0x01u
#define TS_RUNNING   0x02u
#define TS_NOTIFIED  0x04u
#define TS_COMPLETE  0x08u
#define TS_CANCELLED 0x10u
#define TS_JOINWAIT  0x20u
#define TS_REF_ONE   0x100u
#define TS_FLAGS     (TS_REF_ONE - 1u)

enum { TK_FN, TK_POLL };

/* flags: set at spawn, then read only. */
#define TF_COUNTED    0x02u /* counted in the pool's pending (bounded submit) */
#define TF_REGISTERED 0x04u /* a future in the pool's registry */
#define TF_TOKEN      0x08u /* a callback registered on a cancel token */
#define TF_SCOPED     0x10u /* a scope's child (sc is set) */
#define TF_BIG	      0x20u /* a two-line record: the fields from reg_next on exist */

struct iort_task {
	/* First line: what every run touches. */
	_Atomic uint32_t state;
	int16_t joiner; /* worker index of the joiner, -1: a thread outside the pool */
	uint8_t kind;
	uint8_t flags;
	int status;	  /* written before COMPLETE, read after it */
	uint32_t batch_n; /* in the inject queue, first of a batch: its length */
	struct iort_task *next;
	struct iort_task *batch_last; /* ... and its last task */
	union {
		iort_task_fn *fn;
		iort_poll_fn *poll;
	} u;
	void *arg;
	void (*done)(void *arg, int status);
	struct iort_pool *pool;
	/* Second line: futures, tokens and scope children only (TF_BIG records). */
	struct iort_task *reg_next IORT_CACHELINE_ALIGNED;
	struct iort_task *reg_prev;
	struct iort_cancel *token;
	union {
		struct iort_cancel_cb cb; /* TF_TOKEN */
		struct scope_child {	  /* TF_SCOPED: see scope.c */
			union {
				int (*fn)(void *arg, struct iort_cancel *token);
				iort_poll_fn *poll;
			} u;
			void *arg;
			struct iort_scope *scope;
			int ret;
		} sc;
	};
};

/*
 * For scope.c. spawn_internal: as iort_pool_spawn_ex(), and with @p sc, a scope's child: the
 * task's fn/poll and done are the scope's trampolines, called with the task itself as arg.
 * join_until: wait until the task is done or @p deadline_ns passes; the handle stays ours.
 * @return 0, -ECANCELED, or -ETIMEDOUT.
 */
int iort__pool_spawn_scoped(struct iort_pool *p, const struct iort_spawn *opt,
			    const struct scope_child *sc, struct iort_task **out);
int iort__task_join_until(struct iort_task *t, uint64_t deadline_ns);

/*
 * A driver: something each worker polls between tasks and blocks in instead of its futex (the
 * event loop of the io layer, which the pool cannot include). The pool calls
 *   create   on the creating thread, once per worker, before any worker starts (NULL: the pool
 *            creation fails with -ENOMEM); destroy after the workers have exited;
 *   enter    on the worker's thread before its first task; leave as it exits;
 *   poll     on the worker's thread: deadline 0, every `interval` tasks and while it spins idle
 *            (must not block); else while it is parked, blocking until the deadline, or until
 *            unpark. It returns how many callbacks it ran (timers, I/O, posts): when any ran,
 *            the parked worker unparks itself to look for the tasks they may have woken;
 *   unpark   from any thread, after the worker's park word was set: the blocked poll (or the
 *            next one to start) must return. It must not lose a wake-up that races with poll
 *            deciding to block (the loop's sleeping/woken protocol).
 */
struct iort__pool_driver {
	void *(*create)(void *ctx, unsigned index);
	void (*destroy)(void *ws);
	void (*enter)(void *ws);
	void (*leave)(void *ws);
	unsigned (*poll)(void *ws, uint64_t deadline);
	void (*unpark)(void *ws);
	unsigned interval; /* 0: 61 */
};

/* iort_pool_create() with @drv (NULL: none) and its @ctx. */
int iort__pool_create_driven(const struct iort_pool_config *cfg,
			     const struct iort__pool_driver *drv, void *ctx,
			     struct iort_pool **out);
/* Worker @index's driver state when @p was created with @drv, else NULL. */
void *iort__pool_driver_state(struct iort_pool *p, const struct iort__pool_driver *drv,
			      unsigned index);

#endif /* IORT_POOL_PRIVATE_H */
