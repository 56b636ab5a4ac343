/*
 * libevent (2.1) behind bench/rimpl.h, each operation the way a libevent program does it:
 *
 * - A loop is an event_base. A loop that other threads post to is made after
 *   evthread_use_pthreads() (libevent_pthreads) and has its lock and its notification eventfd;
 *   a loop used by one thread only is made with EVENT_BASE_FLAG_NOLOCK, as a single-threaded
 *   program (libevent's own bench.c) would run it. run() is event_base_loop() with
 *   EVLOOP_NO_EXIT_ON_EMPTY, stop() event_base_loopbreak().
 * - A turn callback is a timer re-added with a zero timeout from its own callback: libevent runs
 *   it in the next turn (event_active() from inside the callback would run it again in the same
 *   pass and starve every other event).
 * - A descriptor is an event with EV_PERSIST (level-triggered), made by event_new() at io_start
 *   and freed at io_stop.
 * - A post is event_active() on the message's own event (event_new with no descriptor), from the
 *   posting thread: libevent takes the base's lock, queues the event and writes the eventfd when
 *   the loop has no notification pending.
 *
 * Built when meson found libevent and libevent_pthreads (IOB_HAVE_LIBEVENT); otherwise the
 * descriptor skips with a message.
 */
#include <errno.h>
#include <stddef.h>

#include "rimpl.h"

#define EV_ABOUT                                                                             \
	"libevent 2.1: EV_PERSIST events, a zero-timeout timer per turn, event_active from " \
	"other threads"

#ifdef IOB_HAVE_LIBEVENT

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/thread.h>

struct rev {
	struct event_base *base;
	struct event *turn;
	ri_fn *turn_fn;
	void *turn_arg;
	bool turn_on;
};

static const struct timeval zero_tv = { 0, 0 };

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;

static void use_threads(void)
{
	threads_rc = evthread_use_pthreads();
}

static void rev_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rev *r = arg;

	(void)fd;
	(void)what;
	if (!r->turn_on)
		return;
	(void)evtimer_add(r->turn, &zero_tv);
	r->turn_fn(r->turn_arg);
}

static int rev_create(const struct ri_config *cfg, void **loop, const char **why)
{
	struct event_config *ec;
	struct rev *r;

	if (cfg->cross_thread) {
		pthread_once(&threads_once, use_threads);
		if (threads_rc) {
			*why = "evthread_use_pthreads failed";
			return -ENOSYS;
		}
	}
	r = calloc(1, sizeof(*r));
	ec = event_config_new();
	if (!r || !ec) {
		free(r);
		if (ec)
			event_config_free(ec);
		return -ENOMEM;
	}
	if (!cfg->cross_thread)
		(void)event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
	r->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!r->base || !(r->turn = evtimer_new(r->base, rev_turn_cb, r))) {
		if (r->base)
			event_base_free(r->base);
		free(r);
		*why = "event_base_new_with_config failed";
		return -ENOMEM;
	}
	*loop = r;
	return 0;
}

static void rev_destroy(void *loop)
{
	struct rev *r = loop;

	event_free(r->turn);
	event_base_free(r->base);
	free(r);
}

static const char *rev_backend(void *loop)
{
	return event_base_get_method(((struct rev *)loop)->base);
}

static int rev_run(void *loop)
{
	return event_base_loop(((struct rev *)loop)->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -EIO : 0;
}

static void rev_stop(void *loop)
{
	(void)event_base_loopbreak(((struct rev *)loop)->base);
}

static int rev_turn_start(void *loop, ri_fn *fn, void *arg)
{
	struct rev *r = loop;

	r->turn_fn = fn;
	r->turn_arg = arg;
	r->turn_on = true;
	return evtimer_add(r->turn, &zero_tv) ? -EIO : 0;
}

static void rev_turn_stop(void *loop)
{
	struct rev *r = loop;

	r->turn_on = false;
	(void)evtimer_del(r->turn);
}

static void rev_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ri_watch *w = arg;
	unsigned ev = ((what & EV_READ) ? RI_READ : 0) | ((what & EV_WRITE) ? RI_WRITE : 0);

	w->fn(w, (int)fd, ev);
}

static int rev_io_start(void *loop, int fd, unsigned events, struct ri_watch *w)
{
	struct rev *r = loop;
	short what = (short)(EV_PERSIST | ((events & RI_READ) ? EV_READ : 0) |
			     ((events & RI_WRITE) ? EV_WRITE : 0));
	struct event *ev = event_new(r->base, fd, what, rev_io_cb, w);

	if (!ev)
		return -ENOMEM;
	if (event_add(ev, NULL)) {
		event_free(ev);
		return -EIO;
	}
	w->impl = ev;
	return 0;
}

static void rev_io_stop(void *loop, int fd, struct ri_watch *w)
{
	(void)loop;
	(void)fd;
	event_free(w->impl); /* deletes it first */
	w->impl = NULL;
}

static void rev_msg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ri_msg *m = arg;

	(void)fd;
	(void)what;
	m->fn(m);
}

static int rev_msg_init(void *loop, struct ri_msg *m)
{
	struct rev *r = loop;

	m->loop = r;
	m->next = NULL;
	m->impl = event_new(r->base, -1, 0, rev_msg_cb, m);
	return m->impl ? 0 : -ENOMEM;
}

static void rev_msg_fini(struct ri_msg *m)
{
	event_free(m->impl);
	m->impl = NULL;
}

static int rev_post(struct ri_msg *m)
{
	event_active(m->impl, EV_TIMEOUT, 1);
	return 0;
}

const struct rimpl rimpl_event = {
	.impl = { .name = "libevent",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .about = EV_ABOUT },
	.create = rev_create,
	.destroy = rev_destroy,
	.backend = rev_backend,
	.run = rev_run,
	.stop = rev_stop,
	.turn_start = rev_turn_start,
	.turn_stop = rev_turn_stop,
	.io_start = rev_io_start,
	.io_stop = rev_io_stop,
	.msg_init = rev_msg_init,
	.msg_fini = rev_msg_fini,
	.post = rev_post,
};

#else

const struct rimpl rimpl_event = {
	.impl = { .name = "libevent",
		  .origin = BENCH_BASELINE,
		  .package = "libevent-dev",
		  .missing = "libevent not built: install libevent-dev and reconfigure",
		  .about = EV_ABOUT },
};

#endif
