/**
 * A small vtable over event loops, ours and the baselines', for bench/bench_reactor.c.
 *
 * Each adapter file (bench/rimpl_*.c) defines its `const struct rimpl` descriptors, and
 * bench_reactor.c's reactor_impls[] lists each once. A baseline whose library was not found at
 * configure time still defines its descriptor, with impl.missing set and no operations: its
 * benchmarks keep their names and skip with that message.
 *
 * The operations are the common core of the loops, in readiness style (what iort_io_start()
 * offers): a callback per descriptor, a callback run once per loop turn, cross-thread posts, run
 * and stop. Each adapter maps them onto its library's own way of doing that (libuv: uv_poll_t,
 * uv_idle_t, uv_async_t; libevent: events, a zero timeout, event_active from another thread), so
 * the workload is written once and each loop pays only for its own machinery.
 *
 * Readiness may be level-triggered (libuv, libevent) or edge-triggered (iort): an I/O callback
 * reads until EAGAIN or a short transfer on a stream socket, which is right under both.
 *
 * Synchronization: everything runs on the loop's thread (inside run(), or while no thread runs
 * the loop) except post(), which any thread may call, and create/destroy/msg_init/msg_fini,
 * which run while the loop does not run. A loop runs on one thread at a time.
 */
#ifndef IOB_RIMPL_H
#define IOB_RIMPL_H

#include <stdbool.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Readiness bits (the values of EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, as iort/reactor.h). */
#define RI_READ	 0x001u
#define RI_WRITE 0x004u
#define RI_ERROR 0x008u
#define RI_HUP	 0x010u

struct ri_watch;
/** Readiness arrived on @p fd (RI_* bits; errors and hang-ups whatever the interest). */
typedef void ri_io_fn(struct ri_watch *w, int fd, unsigned events);

/** A descriptor's registration, owned by the workload (embed it in the connection). */
struct ri_watch {
	ri_io_fn *fn;
	void *impl; /**< the adapter's: its handle, when the library needs one */
};

struct ri_msg;
typedef void ri_msg_fn(struct ri_msg *m);

/** Room in a message for an adapter's intrusive node (our loop's iort_post and a pointer). */
#define RI_MSG_SPACE 24

/** A message posted to one loop from any thread, owned by the workload. */
struct ri_msg {
	ri_msg_fn *fn;	     /**< runs on the target loop's thread */
	void *loop;	     /**< the target (msg_init) */
	void *impl;	     /**< the adapter's node (msg_init): in space, or its own allocation */
	struct ri_msg *next; /**< the adapter's, for its queue */
	/** For an adapter whose node fits: embedded, as a program embeds it in its own object,
	 * so that a post touches the message's lines only. */
	_Alignas(void *) unsigned char space[RI_MSG_SPACE];
};

typedef void ri_fn(void *arg);

struct ri_config {
	/** The loop will be posted to from other threads. libevent makes its base lockless
	 * (EVENT_BASE_FLAG_NOLOCK) when false, as a single-threaded libevent program would. */
	bool cross_thread;
};

struct rimpl {
	struct bench_impl impl; /**< name, origin, package; missing: the skip message */
	/**
	 * Make a loop that runs until stop() even with nothing registered. @return 0 or a negative
	 * errno, and then optionally a message in @p *why (static or the adapter's: valid until
	 * the next create; iort_uring: why io_uring did not run).
	 */
	int (*create)(const struct ri_config *cfg, void **loop, const char **why);
	/** Free the loop: nothing registered, no turn callback, no message in flight. */
	void (*destroy)(void *loop);
	/** The backend that runs ("epoll", "io_uring"), for the benchmark's label. */
	const char *(*backend)(void *loop);
	/** Run on the calling thread until stop(). @return 0 or -errno. */
	int (*run)(void *loop);
	/** From the loop's thread: make run() return after the current turn. */
	void (*stop)(void *loop);
	/** Call fn(arg) once in every turn, from the next one on, until turn_stop(). One per
	 * loop. @return 0 or -errno. */
	int (*turn_start)(void *loop, ri_fn *fn, void *arg);
	void (*turn_stop)(void *loop);
	/** Register non-blocking @p fd for @p events (RI_READ, RI_WRITE): @p w->fn is called
	 * while (level) or when (edge) it is ready. @return 0 or -errno. */
	int (*io_start)(void *loop, int fd, unsigned events, struct ri_watch *w);
	/** Forget the registration before close(fd): no call of w->fn after it returns. */
	void (*io_stop)(void *loop, int fd, struct ri_watch *w);
	/** Bind @p m (its fn set) to @p loop. @return 0 or -errno. */
	int (*msg_init)(void *loop, struct ri_msg *m);
	void (*msg_fini)(struct ri_msg *m);
	/** Any thread: run m->fn(m) on m's loop in a later turn. @p m is the loop's until its fn
	 * starts. @return 0 or -errno. */
	int (*post)(struct ri_msg *m);
};

/* bench/rimpl_iort.c */
extern const struct rimpl rimpl_iort_epoll;
extern const struct rimpl rimpl_iort_uring;
/* bench/rimpl_uv.c */
extern const struct rimpl rimpl_uv;
/* bench/rimpl_event.c */
extern const struct rimpl rimpl_event;

#ifdef __cplusplus
}
#endif

#endif /* IOB_RIMPL_H */
