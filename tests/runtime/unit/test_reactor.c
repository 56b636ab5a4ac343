/*
 * The event loop's contract (reactor.h), every test run once per backend (epoll, io_uring; the
 * io_uring runs skip where the kernel or a seccomp policy refuses it): callbacks run in order and
 * exactly once, a loop with nothing left returns, edge-triggered readiness is reported once per
 * edge and cached for tasks, peer close is seen, many short-lived descriptors come and go, an
 * event for a registration stopped and replaced in the same turn is dropped, posts from foreign
 * threads reach a loop that sleeps and one that runs, a pool worker's loop serves its tasks' I/O.
 * No test sleeps to synchronize: threads meet on flags, and every wait is bounded by a failure.
 */
#include <iort/clock.h>
#include <iort/pool.h>
#include <iort/reactor.h>
#include <iort/timer.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* In a worker thread cmocka's asserts cannot unwind: abort instead. */
#define CHECK(x) ((x) ? (void)0 : abort())
#define LIMIT_NS (60ull * 1000000000ull) /* any wait here fails after a minute */

static const enum iort_backend epoll_b = IORT_BACKEND_EPOLL, uring_b = IORT_BACKEND_URING;

/* A loop on the test's backend, or a skip when io_uring is refused here. */
static struct iort_loop *make(void **state)
{
	struct iort_loop_config cfg = { .backend = *(const enum iort_backend *)*state };
	struct iort_loop *l;
	int err = iort_loop_create(&cfg, &l);

	if (err == -ENOSYS) {
		print_message("io_uring unavailable here: skipped\n");
		skip();
	}
	assert_int_equal(err, 0);
	assert_int_equal(iort_loop_backend(l), cfg.backend);
	return l;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static void put(int fd, size_t n)
{
	char buf[256] = { 0 };
	assert_true(n <= sizeof(buf));
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

/* ---- lifecycle, callbacks ---- */

static void empty_loop_returns(void **state)
{
	struct iort_loop *l = make(state);

	assert_string_equal(iort_backend_name(iort_loop_backend(l)),
			    iort_loop_backend(l) == IORT_BACKEND_EPOLL ? "epoll" : "io_uring");
	assert_string_equal(iort_loop_fallback_reason(l), "");
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 0);
	iort_loop_destroy(l);
	iort_loop_destroy(NULL);
}

struct rec {
	struct iort_post post;
	struct iort_loop *l;
	int id;
	int *log;
	int *n;
	int again; /* defer itself this many more times */
};

static void rec_run(struct iort_post *p)
{
	struct rec *r = (struct rec *)p;

	r->log[(*r->n)++] = r->id;
	if (r->again > 0) {
		r->again--;
		iort_loop_defer(r->l, &r->post, rec_run);
	}
}

static void deferred_in_order_next_turn(void **state)
{
	struct iort_loop *l = make(state);
	int log[16], n = 0;
	struct rec r[3];

	for (int i = 0; i < 3; i++) {
		r[i] = (struct rec){ .l = l, .id = i, .log = log, .n = &n };
		iort_loop_defer(l, &r[i].post, rec_run);
	}
	r[1].again = 2;
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1); /* r[1] deferred itself */
	assert_int_equal(n, 3);
	assert_int_equal(log[0], 0);
	assert_int_equal(log[1], 1);
	assert_int_equal(log[2], 2);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_int_equal(n, 4); /* one turn, one more run: not re-run within the turn */
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	assert_int_equal(n, 5);
	assert_int_equal(log[4], 1);
	iort_loop_destroy(l);
}

/* ---- timers ---- */

struct tmr {
	struct iort_timer t;
	struct iort_loop *l;
	uint64_t due;
	uint64_t fired_at;
	int fired;
};

static void tmr_fire(struct iort_timer *t, void *arg)
{
	struct tmr *x = arg;

	(void)t;
	x->fired++;
	x->fired_at = iort_loop_now(x->l);
}

static void timers_fire_not_early(void **state)
{
	struct iort_loop *l = make(state);
	struct tmr x[3];
	uint64_t now = iort_loop_now(l);

	for (int i = 0; i < 3; i++) {
		x[i] = (struct tmr){ .l = l, .due = now + (uint64_t)(i + 1) * 2000000u };
		iort_timer_init(&x[i].t, tmr_fire, &x[i]);
		assert_int_equal(iort_loop_timer_arm(l, &x[i].t, x[i].due), 0);
	}
	assert_true(iort_loop_timer_cancel(l, &x[1].t));
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0); /* blocks until both fired */
	assert_int_equal(x[0].fired, 1);
	assert_int_equal(x[1].fired, 0);
	assert_int_equal(x[2].fired, 1);
	assert_true(x[0].fired_at >= x[0].due);
	assert_true(x[2].fired_at >= x[2].due);
	assert_true(x[2].fired_at >= x[0].fired_at);
	iort_loop_destroy(l);
}

/* ---- descriptors ---- */

struct io_rec {
	int calls;
	uint32_t events[16];
	size_t got;
	bool drain;
	bool stop_on_hup;
};

static void io_cb(struct iort_loop *l, int fd, uint32_t events, void *arg)
{
	struct io_rec *r = arg;
	char buf[64];
	ssize_t k;

	if (r->calls < 16)
		r->events[r->calls] = events;
	r->calls++;
	if (events & IORT_IO_READ) {
		do {
			k = read(fd, buf, r->drain ? sizeof(buf) : 1);
			if (k > 0)
				r->got += (size_t)k;
		} while (r->drain && k > 0);
	}
	if (r->stop_on_hup && (events & (IORT_IO_RDHUP | IORT_IO_HUP)))
		CHECK(iort_io_stop(l, fd) == 0);
}

static void edge_triggered_reads(void **state)
{
	struct iort_loop *l = make(state);
	int sv[2];
	struct io_rec r = { .drain = false };

	pair(sv);
	assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, io_cb, &r), 0);
	assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, io_cb, &r), -EEXIST);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_int_equal(r.calls, 0); /* nothing to read, and only READ is of interest */
	put(sv[1], 10);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.events[0] & IORT_IO_READ);
	assert_int_equal(r.got, 1); /* read one byte of ten: the edge is spent */
	for (int i = 0; i < 5; i++)
		assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_int_equal(r.calls, 1); /* no new edge while the data merely persists */
	assert_true(iort_io_ready(l, sv[0]) & IORT_IO_READ); /* ... but it is cached */
	put(sv[1], 5);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
	assert_int_equal(r.calls, 2);
	r.drain = true;
	put(sv[1], 1);
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.got, 16);
	/* Peer close: read hang-up, the callback stops the descriptor, the loop ends. */
	r.stop_on_hup = true;
	close(sv[1]);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	assert_true(r.events[3] & IORT_IO_RDHUP);
	assert_int_equal(iort_io_stop(l, sv[0]), -ENOENT);
	assert_int_equal(iort_io_modify(l, sv[0], IORT_IO_READ), -ENOENT);
	close(sv[0]);
	iort_loop_destroy(l);
}

static void write_interest_and_modify(void **state)
{
	struct iort_loop *l = make(state);
	int sv[2];
	struct io_rec r = { .drain = true };

	pair(sv);
	/* Writable at once, but only READ is of interest: no call. */
	assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, io_cb, &r), 0);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_int_equal(r.calls, 0);
	assert_true(iort_io_ready(l, sv[0]) & IORT_IO_WRITE); /* cached all the same */
	assert_int_equal(iort_io_modify(l, sv[0], IORT_IO_READ | IORT_IO_WRITE), 0);
	assert_int_equal(iort_io_modify(l, sv[0], 0x8000u), -EINVAL);
	put(sv[1], 3); /* a read edge; the callback now also wants WRITE */
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
	assert_int_equal(r.calls, 1);
	assert_true(r.events[0] & IORT_IO_READ);
	assert_int_equal(iort_io_stop(l, sv[0]), 0);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	close(sv[0]);
	close(sv[1]);
	iort_loop_destroy(l);
}

static void bad_descriptors(void **state)
{
	struct iort_loop *l = make(state);
	struct io_rec r = { 0 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_int_equal(iort_io_start(l, -1, IORT_IO_READ, io_cb, &r), -EBADF);
	assert_int_equal(iort_io_start(l, 1 << 30, IORT_IO_READ, io_cb, &r), -EMFILE);
	assert_int_equal(iort_io_start(l, fd, 0x8000u, io_cb, &r), -EINVAL);
	/* A regular file cannot be polled: epoll says EPERM; io_uring may accept it. */
	int err = iort_io_start(l, fd, IORT_IO_READ, io_cb, &r);
	assert_true(err == -EPERM || err == 0);
	if (err == 0)
		assert_int_equal(iort_io_stop(l, fd), 0);
	close(fd);
	int closed = dup(0);
	close(closed);
	assert_int_equal(iort_io_start(l, closed, IORT_IO_READ, io_cb, &r), -EBADF);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	iort_loop_destroy(l);
}

static void many_short_lived(void **state)
{
	struct iort_loop *l = make(state);
	unsigned seed = (unsigned)iort_clock_ns();
	int total = 0;

	print_message("seed %u\n", seed);
	for (int i = 0; i < 3000; i++) {
		int sv[2];
		struct io_rec r = { .drain = true };
		pair(sv);
		assert_int_equal(iort_io_start(l, sv[0], IORT_IO_READ, io_cb, &r), 0);
		size_t n = 1 + (size_t)(rand_r(&seed) % 64);
		put(sv[1], n);
		if (rand_r(&seed) & 1)
			close(sv[1]);
		while (r.got < n)
			assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
		total += r.calls;
		assert_int_equal(iort_io_stop(l, sv[0]), 0);
		close(sv[0]);
		close(sv[1]); /* EBADF when closed above: harmless */
	}
	assert_true(total >= 3000);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	iort_loop_destroy(l);
}

/* Two descriptors ready in one wait; the first callback stops and closes the other and
 * registers a fresh socket (which takes the same descriptor number): the other's event, still in
 * this turn's batch, must not reach the new registration. */
struct swap {
	int a[2], b[2];
	int fresh[2];
	int calls_a, calls_b, calls_fresh;
	bool swapped;
};

static void fresh_cb(struct iort_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	((struct swap *)arg)->calls_fresh++;
}

static void swap_cb(struct iort_loop *l, int fd, uint32_t events, void *arg)
{
	struct swap *s = arg;
	int other = fd == s->a[0] ? s->b[0] : s->a[0];

	(void)events;
	if (fd == s->a[0])
		s->calls_a++;
	else
		s->calls_b++;
	if (s->swapped)
		return;
	s->swapped = true;
	CHECK(iort_io_stop(l, other) == 0);
	close(other);
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(sv[0] == other); /* the lowest free number */
	s->fresh[0] = sv[0];
	s->fresh[1] = sv[1];
	/* Interest in READ only: the fresh socket is writable, never readable here. */
	CHECK(iort_io_start(l, sv[0], IORT_IO_READ, fresh_cb, s) == 0);
	if (other == s->a[0])
		s->a[0] = -1;
	else
		s->b[0] = -1;
}

static void stale_event_after_reuse_dropped(void **state)
{
	struct iort_loop *l = make(state);
	struct swap s = { 0 };

	pair(s.a);
	pair(s.b);
	assert_int_equal(iort_io_start(l, s.a[0], IORT_IO_READ, swap_cb, &s), 0);
	assert_int_equal(iort_io_start(l, s.b[0], IORT_IO_READ, swap_cb, &s), 0);
	put(s.a[1], 1);
	put(s.b[1], 1);
	/* Both edges arrive in one wait (one turn's batch). */
	assert_int_equal(iort_loop_run(l, IORT_RUN_ONCE), 1);
	assert_true(s.swapped);
	assert_int_equal(s.calls_a + s.calls_b, 1);
	assert_int_equal(s.calls_fresh, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1);
	assert_int_equal(s.calls_fresh, 0);
	int left = s.a[0] >= 0 ? s.a[0] : s.b[0];
	assert_int_equal(iort_io_stop(l, left), 0);
	assert_int_equal(iort_io_stop(l, s.fresh[0]), 0);
	close(left);
	close(s.a[1]);
	close(s.b[1]);
	close(s.fresh[0]);
	close(s.fresh[1]);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	iort_loop_destroy(l);
}

/* ---- posts from other threads ---- */

#define PRODUCERS    3
#define PER_PRODUCER 20000

struct prod {
	struct iort_loop *l;
	int id;
	struct item {
		struct iort_post post;
		int producer, seq;
	} * items;
};

struct sink {
	int next[PRODUCERS];
	_Atomic int done;
	int bad;
	struct iort_loop *l;
};

static struct sink g_sink;

static void item_run(struct iort_post *p)
{
	struct item *it = (struct item *)p;

	if (g_sink.next[it->producer] != it->seq)
		g_sink.bad++; /* lost, duplicated or out of order */
	g_sink.next[it->producer] = it->seq + 1;
	if (++g_sink.done == PRODUCERS * PER_PRODUCER)
		iort_loop_stop(g_sink.l);
}

static void *producer(void *arg)
{
	struct prod *p = arg;

	for (int i = 0; i < PER_PRODUCER; i++) {
		p->items[i].producer = p->id;
		p->items[i].seq = i;
		CHECK(iort_loop_post(p->l, &p->items[i].post, item_run) == 0);
	}
	return NULL;
}

/* A busy loop (a deferred callback re-queues itself) or a sleeping one (nothing but posts): every
 * post runs once, in each producer's order. */
struct spinner {
	struct iort_post post;
	struct iort_loop *l;
	uint64_t turns;
};

static void spin_run(struct iort_post *p)
{
	struct spinner *s = (struct spinner *)p;

	s->turns++;
	if (atomic_load(&g_sink.done) < PRODUCERS * PER_PRODUCER)
		iort_loop_defer(s->l, &s->post, spin_run);
}

static void posts_from_threads(void **state, bool busy)
{
	struct iort_loop *l = make(state);
	pthread_t th[PRODUCERS];
	struct prod pr[PRODUCERS];
	struct spinner sp = { .l = l };

	memset(&g_sink, 0, sizeof(g_sink));
	g_sink.l = l;
	iort_loop_ref(l); /* sleeping: only posts keep it */
	if (busy)
		iort_loop_defer(l, &sp.post, spin_run);
	for (int i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct prod){ .l = l, .id = i };
		pr[i].items = calloc(PER_PRODUCER, sizeof(*pr[i].items));
		assert_non_null(pr[i].items);
		assert_int_equal(pthread_create(&th[i], NULL, producer, &pr[i]), 0);
	}
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 1); /* stopped by the last item */
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(g_sink.bad, 0);
	assert_int_equal(g_sink.done, PRODUCERS * PER_PRODUCER);
	iort_loop_unref(l);
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 0);
	if (busy)
		assert_true(sp.turns > 0);
	for (int i = 0; i < PRODUCERS; i++)
		free(pr[i].items);
	iort_loop_destroy(l);
}

static void posts_into_sleeping_loop(void **state)
{
	posts_from_threads(state, false);
}

static void posts_into_busy_loop(void **state)
{
	posts_from_threads(state, true);
}

/* Stop from another thread while the loop sleeps in its poll, with nothing else to wake it. */
struct stopper {
	struct iort_loop *l;
	_Atomic int go;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	while (!atomic_load(&s->go))
		;
	iort_loop_stop(s->l);
	return NULL;
}

static void stop_wakes_sleeping_loop(void **state)
{
	struct iort_loop *l = make(state);
	struct stopper s = { .l = l };
	pthread_t th;

	iort_loop_ref(l);
	assert_int_equal(pthread_create(&th, NULL, stop_later, &s), 0);
	atomic_store(&s.go, 1); /* before or during the poll: either way run returns */
	assert_int_equal(iort_loop_run(l, IORT_RUN_DEFAULT), 1);
	pthread_join(th, NULL);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 1); /* the ref */
	iort_loop_unref(l);
	iort_loop_destroy(l);
}

static void run_is_exclusive(void **state)
{
	struct iort_loop *l = make(state);
	struct iort_pool *p;
	struct iort_pool_config pc = { .workers = 1 };
	struct iort_loop_config lc = { .backend = iort_loop_backend(l) };

	assert_int_equal(iort_loop_pool_create(&pc, &lc, &p), 0);
	struct iort_loop *wl = iort_loop_of_worker(p, 0);
	assert_non_null(wl);
	assert_null(iort_loop_of_worker(p, 1));
	assert_int_equal(iort_loop_run(wl, IORT_RUN_NOWAIT), -EBUSY);
	assert_int_equal(iort_loop_backend(wl), iort_loop_backend(l));
	iort_pool_destroy(p);
	assert_int_equal(iort_loop_run(l, IORT_RUN_NOWAIT), 0);
	iort_loop_destroy(l);
}

/* ---- tasks on a pool whose workers own loops ---- */

/* A future that reads @want bytes from fd through the loop's readiness, registering on the loop
 * of the worker it first runs on. */
struct reader {
	struct iort_loop *l;
	int fd;
	size_t want, got;
	unsigned polls, pendings, eagains;
	_Atomic int registered;
};

static enum iort_poll reader_poll(void *arg, struct iort_waker *w)
{
	struct reader *r = arg;
	char buf[64];

	r->polls++;
	if (r->l == NULL) {
		r->l = iort_loop_current();
		CHECK(r->l != NULL);
		CHECK(iort_io_start(r->l, r->fd, IORT_IO_READ, NULL, NULL) == 0);
		atomic_store(&r->registered, 1);
	}
	for (;;) {
		uint32_t ready;
		int st = iort_io_poll(r->l, r->fd, IORT_IO_READ, w, &ready);
		CHECK(st >= 0);
		if (st == IORT_PENDING) {
			r->pendings++;
			return IORT_PENDING;
		}
		ssize_t k = read(r->fd, buf, sizeof(buf));
		if (k > 0) {
			r->got += (size_t)k;
			if (r->got >= r->want) {
				/* The loop is the worker's: stop from its thread... unless we were
				 * stolen; post the stop home instead (not needed: io_stop is L). */
				return IORT_READY;
			}
		} else if (k < 0 && errno == EAGAIN) {
			r->eagains++;
			iort_io_clear(r->l, r->fd, ready, IORT_IO_READ);
		} else {
			return IORT_READY; /* EOF */
		}
	}
}

struct stop_home {
	struct iort_post post;
	int fd;
	_Atomic int done;
};

static void stop_home_run(struct iort_post *p)
{
	struct stop_home *s = (struct stop_home *)p;

	CHECK(iort_io_stop(iort_loop_current(), s->fd) == 0);
	atomic_store(&s->done, 1);
}

static void task_reads_through_readiness(void **state)
{
	struct iort_pool_config pc = { .workers = 2 };
	struct iort_loop_config lc = { .backend = *(const enum iort_backend *)*state };
	struct iort_pool *p;
	int sv[2];

	int err = iort_loop_pool_create(&pc, &lc, &p);
	if (err == -ENOSYS)
		skip();
	assert_int_equal(err, 0);
	pair(sv);
	for (int round = 0; round < 50; round++) {
		struct reader r = { .fd = sv[0], .want = 30 };
		struct iort_spawn opt = { .poll = reader_poll, .arg = &r };
		struct iort_task *t;
		assert_int_equal(iort_pool_spawn_ex(p, &opt, &t), 0);
		uint64_t until = iort_clock_ns() + LIMIT_NS;
		while (!atomic_load(&r.registered))
			assert_true(iort_clock_ns() < until);
		for (int i = 0; i < 3; i++)
			put(sv[1],
			    10); /* the task may be pending, or mid-read: either way it ends */
		assert_int_equal(iort_task_join(t), 0);
		assert_int_equal(r.got, 30);
		/* Unregister on the loop's own thread. */
		struct stop_home sh = { .fd = sv[0] };
		assert_int_equal(iort_loop_post(r.l, &sh.post, stop_home_run), 0);
		while (!atomic_load(&sh.done))
			assert_true(iort_clock_ns() < until);
		iort_task_release(t);
	}
	close(sv[0]);
	close(sv[1]);
	iort_pool_destroy(p);
}

/* A post into a pool worker's loop reaches it whether it is parked or busy. */
struct ping {
	struct iort_post post;
	_Atomic int ran;
	int worker;
};

static void ping_run(struct iort_post *p)
{
	struct ping *x = (struct ping *)p;

	x->worker = iort_pool_worker_index();
	atomic_store(&x->ran, 1);
}

static void posts_reach_parked_workers(void **state)
{
	struct iort_pool_config pc = { .workers = 2 };
	struct iort_loop_config lc = { .backend = *(const enum iort_backend *)*state };
	struct iort_pool *p;

	int err = iort_loop_pool_create(&pc, &lc, &p);
	if (err == -ENOSYS)
		skip();
	assert_int_equal(err, 0);
	for (int round = 0; round < 200; round++) {
		unsigned w = (unsigned)round % 2;
		struct ping x = { .worker = -1 };
		assert_int_equal(iort_loop_post(iort_loop_of_worker(p, w), &x.post, ping_run), 0);
		uint64_t until = iort_clock_ns() + LIMIT_NS;
		while (!atomic_load(&x.ran))
			assert_true(iort_clock_ns() < until);
		assert_int_equal(x.worker, (int)w);
	}
	iort_pool_destroy(p);
}

#define BOTH(f)                                         \
	cmocka_unit_test_prestate(f, (void *)&epoll_b), \
		cmocka_unit_test_prestate(f, (void *)&uring_b)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(empty_loop_returns),
		BOTH(deferred_in_order_next_turn),
		BOTH(timers_fire_not_early),
		BOTH(edge_triggered_reads),
		BOTH(write_interest_and_modify),
		BOTH(bad_descriptors),
		BOTH(many_short_lived),
		BOTH(stale_event_after_reuse_dropped),
		BOTH(posts_into_sleeping_loop),
		BOTH(posts_into_busy_loop),
		BOTH(stop_wakes_sleeping_loop),
		BOTH(run_is_exclusive),
		BOTH(task_reads_through_readiness),
		BOTH(posts_reach_parked_workers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
