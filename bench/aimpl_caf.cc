/*
 * caf: the C++ Actor Framework 0.17 (libcaf-dev), each Savina shape written as a CAF 0.17
 * program would write it:
 *
 *   the system   one caf::actor_system per create(), kept across rounds; its scheduler is CAF's
 *                work-stealing one (the default policy) with scheduler.max-threads = workers, at
 *                CAF's default throughput per resume. CAF has no option to pin its workers; its
 *                thread hooks (add_thread_hook) see every thread it starts, and the workers are
 *                the ones it names "caf.multiplexer" (0.17's worker.hpp), so the hook pins
 *                those, in start order, to the plan's PUs (the clock thread stays unpinned)
 *   actors       event-based: function-based ones returning a caf::behavior, stateful_actor
 *                where an actor keeps state across messages; messages are atoms and integers
 *                (built-in types, nothing to announce); spawned with sys.spawn from the
 *                benchmark's thread or with self->spawn inside an actor (skynet)
 *   a round      a caf::scoped_actor on the benchmark's thread, hidden, is the address the
 *                round's actors report to; it waits with receive(..., after(timeout)). Actors
 *                that would outlive the result (a ring, a pong, big's peers) are then told to
 *                go, and the round ends when every actor it spawned has exited
 *                (actor_system::await_all_actors_done: the hidden scoped actor is not counted).
 *                fjcreate's actors report through a latch whose last decrement fulfils a
 *                std::promise, not through one sink's mailbox, which would be what it measured
 *   backpressure unsupported: CAF 0.17's mailboxes are unbounded, with no capacity or policy
 *
 * The shapes are aimpl.h's, message for message (chameneos: the broker answers both creatures
 * with the other's colour; skynet: each node spawns its children on its start message).
 * ai_result.messages counts the messages the round's actors handle, start and stop messages
 * excluded, as iort_actor's adapter does: pingpong 2n, threadring hops + 1, counting n + 2 (the
 * increments, the query and its reply), fjthrput n per actor, fjcreate one per actor, big pings
 * and pongs, chameneos the requests to the broker and its answers, skynet a start per node and
 * a result from each but the root.
 *
 * C++ stays in this file; it exports the C descriptor. Built when meson found CAF (IOB_HAVE_CAF),
 * except under ThreadSanitizer (IOB_CAF_TSAN: libcaf_core is not instrumented, so TSan sees none
 * of its synchronization); otherwise the descriptor skips with a message.
 */
#include <cerrno>
#include <new>

#include "aimpl.h"

#ifdef IOB_HAVE_CAF

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <future>
#include <memory>
#include <vector>

#include <caf/all.hpp>

namespace
{

using caf::actor;
using caf::behavior;
using caf::event_based_actor;
using caf::stateful_actor;

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using mate_atom = caf::atom_constant<caf::atom("mate")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

/* A round that has not reported by then is hung, not slow: the largest (skynet) takes seconds,
 * sanitized builds a few times that. */
constexpr auto round_timeout = std::chrono::seconds(120);

/* Pins CAF's worker threads, which it names "caf.multiplexer" before calling thread_started(),
 * one per PU of the plan in the order they start. */
class pin_hook : public caf::thread_hook
{
      public:
	explicit pin_hook(std::vector<int> cpus) : cpus_(std::move(cpus))
	{
	}
	void init(caf::actor_system &) override
	{
	}
	void thread_started() override
	{
		char name[16];
		cpu_set_t set;

		if (cpus_.empty() || pthread_getname_np(pthread_self(), name, sizeof(name)) != 0 ||
		    std::strcmp(name, "caf.multiplexer") != 0)
			return;
		size_t slot = next_++;
		CPU_ZERO(&set);
		CPU_SET(cpus_[slot % cpus_.size()], &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	void thread_terminates() override
	{
	}

      private:
	std::vector<int> cpus_;
	std::atomic<size_t> next_{ 0 };
};

struct caf_rt {
	caf::actor_system_config cfg; /* the system keeps a reference: declared first */
	std::unique_ptr<caf::actor_system> sys;

	explicit caf_rt(const ai_config *c)
	{
		cfg.set("scheduler.max-threads", static_cast<size_t>(c->workers));
		if (c->cpus)
			cfg.add_thread_hook<pin_hook>(
				std::vector<int>(c->cpus, c->cpus + c->workers));
		sys = std::make_unique<caf::actor_system>(cfg);
	}
};

caf::actor_system &sys_of(void *rt)
{
	return *static_cast<caf_rt *>(rt)->sys;
}

/* A round that timed out leaves actors that may never finish: destroy must not wait for them
 * (~actor_system would, forever), so the round's error also tells the system not to. */
int timed_out(void *rt)
{
	sys_of(rt).await_actors_before_shutdown(false);
	return -ETIMEDOUT;
}

/* Runs one round; exceptions become errnos: C callers see no C++. The round ends when every
 * actor it spawned has exited: the scoped actor that waits for its result is hidden, so the
 * registry's count of running actors is the round's alone. */
template <class Fn> int guarded(void *rt, Fn &&fn)
{
	try {
		int rc = fn();

		if (rc == 0)
			sys_of(rt).await_all_actors_done();
		return rc;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		return -EIO;
	}
}

/* Waits for one (done, a, b) on self; false on timeout. */
bool await_done(caf::scoped_actor &self, uint64_t &a, uint64_t &b)
{
	bool ok = true;

	self->receive(
		[&](done_atom, uint64_t x, uint64_t y) {
			a = x;
			b = y;
		},
		caf::after(round_timeout) >> [&] { ok = false; });
	return ok;
}

void stop_all(caf::scoped_actor &self, const std::vector<actor> &actors)
{
	for (const auto &a : actors)
		self->send_exit(a, caf::exit_reason::user_shutdown);
}

/* --- pingpong: Savina's ping sends a ping, pong answers it, n times --- */

struct ping_state {
	uint64_t pongs = 0;
};

behavior pong_actor(event_based_actor *)
{
	/* CAF's reply idiom: a handler's result goes back to the sender. */
	return { [](ping_atom) { return pong_atom::value; } };
}

behavior ping_actor(stateful_actor<ping_state> *self, actor pong, actor done, uint64_t n)
{
	return {
		[=](start_atom) { self->send(pong, ping_atom::value); },
		[=](pong_atom) {
			if (++self->state.pongs < n) {
				self->send(pong, ping_atom::value);
				return;
			}
			/* Each pong answered a ping that pong handled. */
			self->send(done, done_atom::value, self->state.pongs,
				   2 * self->state.pongs);
			self->send_exit(pong, caf::exit_reason::user_shutdown);
			self->quit();
		},
	};
}

int caf_pingpong(void *rt, uint64_t n, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		uint64_t pongs = 0, msgs = 0;

		if (n == 0)
			return -EINVAL;
		auto pong = sys.spawn(pong_actor);
		auto ping = sys.spawn(ping_actor, pong, actor{ self }, n);
		self->send(ping, start_atom::value);
		if (!await_done(self, pongs, msgs))
			return timed_out(rt);
		r->check = pongs;
		r->messages = msgs;
		return 0;
	});
}

/* --- threadring: a token with the hops left goes round a ring until it reaches 0 --- */

struct ring_state {
	actor next;
};

behavior ring_actor(stateful_actor<ring_state> *self, actor done, uint64_t hops)
{
	return {
		[=](next_atom, actor next) { self->state.next = std::move(next); },
		[=](token_atom, uint64_t left) {
			if (left > 0)
				self->send(self->state.next, token_atom::value, left - 1);
			else /* every hop was a token handled, and so is this last one */
				self->send(done, done_atom::value, hops, hops + 1);
		},
	};
}

int caf_threadring(void *rt, unsigned actors, uint64_t hops, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		std::vector<actor> ring;
		uint64_t made = 0, msgs = 0;

		if (actors < 2)
			return -EINVAL;
		ring.reserve(actors);
		for (unsigned i = 0; i < actors; i++)
			ring.push_back(sys.spawn(ring_actor, actor{ self }, hops));
		/* Each link arrives before the token can: the token is sent after it, from the
		 * same thread, and every later hop follows from that send. */
		for (unsigned i = 0; i < actors; i++)
			self->send(ring[i], next_atom::value, ring[(i + 1) % actors]);
		self->send(ring[0], token_atom::value, hops);
		if (!await_done(self, made, msgs))
			return timed_out(rt);
		stop_all(self, ring);
		r->check = made;
		r->messages = msgs;
		return 0;
	});
}

/* --- counting: a producer sends n increments, then asks the counter for its count --- */

struct counter_state {
	uint64_t count = 0;
};

behavior counter_actor(stateful_actor<counter_state> *self)
{
	return {
		[=](inc_atom) { self->state.count++; },
		[=](get_atom) {
			self->quit(); /* after this handler: the reply still goes out */
			return self->state.count;
		},
	};
}

behavior producer_actor(event_based_actor *self, actor counter, actor done, uint64_t n)
{
	return { [=](start_atom) {
		for (uint64_t i = 0; i < n; i++)
			self->send(counter, inc_atom::value);
		self->request(counter, caf::infinite, get_atom::value).then([=](uint64_t count) {
			/* n increments and the query handled by the counter, the reply here */
			self->send(done, done_atom::value, count, n + 2);
			self->quit();
		});
	} };
}

int caf_counting(void *rt, uint64_t n, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		uint64_t count = 0, msgs = 0;

		auto counter = sys.spawn(counter_actor);
		auto producer = sys.spawn(producer_actor, counter, actor{ self }, n);
		self->send(producer, start_atom::value);
		if (!await_done(self, count, msgs))
			return timed_out(rt);
		r->check = count;
		r->messages = msgs;
		return 0;
	});
}

/* --- fjthrput: n messages to each of the actors, round-robin, from the benchmark's thread --- */

struct thrput_state {
	uint64_t handled = 0;
	uint64_t acc = 0; /* ai_work's results, folded: kept, never checked */
};

behavior thrput_actor(stateful_actor<thrput_state> *self, actor done, uint64_t n)
{
	return { [=](work_atom, uint64_t k) {
		auto &s = self->state;

		s.acc = ai_work(s.acc + k);
		if (++s.handled < n)
			return;
		self->send(done, done_atom::value, s.handled, s.acc);
		self->quit();
	} };
}

int caf_fjthrput(void *rt, unsigned actors, uint64_t n, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		std::vector<actor> workers;
		uint64_t handled = 0;

		if (actors == 0 || n == 0)
			return -EINVAL;
		workers.reserve(actors);
		for (unsigned i = 0; i < actors; i++)
			workers.push_back(sys.spawn(thrput_actor, actor{ self }, n));
		for (uint64_t k = 0; k < n; k++)
			for (const auto &w : workers)
				self->send(w, work_atom::value, k);
		for (unsigned i = 0; i < actors; i++) {
			uint64_t h = 0, acc = 0;

			if (!await_done(self, h, acc))
				return timed_out(rt);
			handled += h;
		}
		r->check = handled;
		r->messages = handled;
		return 0;
	});
}

/* --- fjcreate: spawn n actors, one message each; each exits after handling it --- */

struct latch {
	std::vector<uint64_t> ran; /* actor i's ai_work result | 1: nonzero once it ran */
	std::atomic<uint64_t> left;
	std::promise<void> all;

	explicit latch(uint64_t n) : ran(n), left(n)
	{
	}
};

behavior create_actor(event_based_actor *self, std::shared_ptr<latch> l)
{
	return { [=](work_atom, uint64_t i) {
		l->ran[i] = ai_work(i) | 1;
		/* The decrement orders the store before the round reads it (seq_cst). */
		if (--l->left == 0)
			l->all.set_value();
		self->quit();
	} };
}

int caf_fjcreate(void *rt, uint64_t n, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		auto l = std::make_shared<latch>(n);
		auto all = l->all.get_future();

		if (n == 0)
			return -EINVAL;
		for (uint64_t i = 0; i < n; i++)
			caf::anon_send(sys.spawn(create_actor, l), work_atom::value, i);
		if (all.wait_for(round_timeout) != std::future_status::ready)
			return timed_out(rt);
		r->check = 0;
		for (uint64_t v : l->ran)
			r->check += v != 0;
		r->messages = n;
		return 0;
	});
}

/* --- big: every actor pings random peers n times, one ping in flight; pings get pongs --- */

struct big_state {
	uint64_t pongs = 0;
	uint64_t handled = 0;
	uint64_t rng = 0;
};

behavior big_actor(stateful_actor<big_state> *self, std::shared_ptr<const std::vector<actor>> peers,
		   actor done, unsigned index, uint64_t n)
{
	/* xorshift64, one stream per actor: Savina's pick of a random peer, never itself. */
	self->state.rng = 0x9e3779b97f4a7c15ULL * (index + 1);
	auto ping_someone = [=] {
		uint64_t x = self->state.rng;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		self->state.rng = x;
		size_t peer = x % (peers->size() - 1);
		peer += peer >= index;
		self->send((*peers)[peer], ping_atom::value);
	};
	return {
		[=](start_atom) { ping_someone(); },
		[=](ping_atom) {
			self->state.handled++;
			return pong_atom::value;
		},
		[=](pong_atom) {
			auto &s = self->state;

			s.handled++;
			if (++s.pongs < n)
				ping_someone();
			else
				self->send(done, done_atom::value, s.pongs, uint64_t{ 0 });
		},
		[=](stop_atom) {
			/* Sent once all reported: nothing is in flight, the count is final. */
			self->send(done, done_atom::value, uint64_t{ 0 }, self->state.handled);
			self->quit();
		},
	};
}

int caf_big(void *rt, unsigned actors, uint64_t n, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		auto peers = std::make_shared<std::vector<actor>>();
		uint64_t pongs = 0, msgs = 0;

		if (actors < 2 || n == 0)
			return -EINVAL;
		peers->reserve(actors);
		/* The peer list is complete before the start messages, which publish it. */
		for (unsigned i = 0; i < actors; i++)
			peers->push_back(sys.spawn(big_actor, peers, actor{ self }, i, n));
		for (const auto &a : *peers)
			self->send(a, start_atom::value);
		/* Every ping of an actor that reported has been answered: after the last report,
		 * no message is in flight, and each actor gives its final count as it stops. */
		for (unsigned i = 0; i < actors; i++) {
			uint64_t p = 0, m = 0;

			if (!await_done(self, p, m))
				return timed_out(rt);
			pongs += p;
		}
		for (const auto &a : *peers)
			self->send(a, stop_atom::value);
		peers->clear(); /* the actors' copies of it hold them otherwise */
		for (unsigned i = 0; i < actors; i++) {
			uint64_t p = 0, m = 0;

			if (!await_done(self, p, m))
				return timed_out(rt);
			msgs += m;
		}
		r->check = pongs;
		r->messages = msgs;
		return 0;
	});
}

/* --- chameneos: creatures meet pairwise at a broker until its meetings run out --- */

struct broker_state {
	actor waiting;
	int32_t waiting_color = 0;
	uint64_t left = 0;
	unsigned stopped = 0;
	uint64_t meetings = 0; /* the creatures' counts, summed */
	uint64_t handled = 0;  /* meeting requests, and the creatures' mates */
};

behavior broker_actor(stateful_actor<broker_state> *self, actor done, unsigned creatures,
		      uint64_t meetings)
{
	self->state.left = meetings;
	return {
		[=](meet_atom, int32_t color) {
			auto &s = self->state;
			auto who = caf::actor_cast<actor>(self->current_sender());

			s.handled++;
			if (s.left == 0) {
				self->send(who, stop_atom::value);
			} else if (!s.waiting) {
				s.waiting = std::move(who);
				s.waiting_color = color;
			} else {
				/* Each learns the other's colour. */
				self->send(s.waiting, mate_atom::value, color);
				self->send(who, mate_atom::value, s.waiting_color);
				s.waiting = nullptr;
				s.left--;
			}
		},
		[=](count_atom, uint64_t met, uint64_t handled) {
			auto &s = self->state;

			s.meetings += met;
			s.handled += handled;
			if (++s.stopped < creatures)
				return;
			self->send(done, done_atom::value, s.meetings, s.handled);
			self->quit();
		},
	};
}

struct creature_state {
	int32_t color = 0;
	uint64_t meetings = 0;
};

behavior creature_actor(stateful_actor<creature_state> *self, actor broker, int32_t color)
{
	/* Two different colours make the third; two alike stay. */
	auto complement = [](int32_t a, int32_t b) { return a == b ? a : 3 - a - b; };
	self->state.color = color;
	return {
		[=](start_atom) { self->send(broker, meet_atom::value, self->state.color); },
		[=](mate_atom, int32_t other) {
			auto &s = self->state;

			s.meetings++;
			s.color = complement(s.color, other);
			self->send(broker, meet_atom::value, s.color);
		},
		[=](stop_atom) {
			/* Savina's faded creature reports its meetings (each mate was one). */
			auto met = self->state.meetings;

			self->send(broker, count_atom::value, met, met);
			self->quit();
		},
	};
}

int caf_chameneos(void *rt, unsigned creatures, uint64_t meetings, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		std::vector<actor> all;
		uint64_t met = 0, msgs = 0;

		if (creatures < 2)
			return -EINVAL;
		auto broker = sys.spawn(broker_actor, actor{ self }, creatures, meetings);
		all.reserve(creatures);
		for (unsigned i = 0; i < creatures; i++)
			all.push_back(
				sys.spawn(creature_actor, broker, static_cast<int32_t>(i % 3)));
		for (const auto &c : all)
			self->send(c, start_atom::value);
		if (!await_done(self, met, msgs))
			return timed_out(rt);
		r->check = met;
		r->messages = msgs;
		return 0;
	});
}

/* --- skynet: a 10-ary tree of actors; each leaf answers its number, each node the sum --- */

struct sky_state {
	actor parent;
	unsigned pending = 0;
	uint64_t sum = 0;
	uint64_t nodes = 1; /* this subtree's actors, for the message count */
};

/* Spawned idle; its start (first leaf, leaves) makes it a leaf or the parent of ten. */
behavior sky_actor(stateful_actor<sky_state> *self, actor parent)
{
	self->state.parent = std::move(parent);
	return {
		[=](start_atom, uint64_t first, uint64_t size) {
			auto &s = self->state;

			if (size == 1) {
				self->send(s.parent, done_atom::value, first, uint64_t{ 1 });
				self->quit();
				return;
			}
			/* Up to ten children; the first size % parts of them take a leaf more. */
			uint64_t parts = size < 10 ? size : 10, base = size / parts,
				 extra = size % parts;
			for (uint64_t i = 0, at = first; i < parts; i++) {
				uint64_t len = base + (i < extra ? 1 : 0);
				auto child = self->spawn(sky_actor, caf::actor_cast<actor>(self));

				self->send(child, start_atom::value, at, len);
				at += len;
			}
			s.pending = static_cast<unsigned>(parts);
		},
		[=](done_atom, uint64_t sum, uint64_t nodes) {
			auto &s = self->state;

			s.sum += sum;
			s.nodes += nodes;
			if (--s.pending > 0)
				return;
			self->send(s.parent, done_atom::value, s.sum, s.nodes);
			self->quit();
		},
	};
}

int caf_skynet(void *rt, uint64_t leaves, ai_result *r)
{
	return guarded(rt, [&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys, true };
		uint64_t sum = 0, nodes = 0;

		if (leaves == 0)
			return -EINVAL;
		auto root = sys.spawn(sky_actor, actor{ self });
		self->send(root, start_atom::value, uint64_t{ 0 }, leaves);
		if (!await_done(self, sum, nodes))
			return timed_out(rt);
		r->check = sum;
		r->messages =
			2 * nodes - 1; /* a start for each node, a result from all but the root */
		return 0;
	});
}

int caf_create(const ai_config *cfg, void **rt, const char **why)
{
	if (cfg->workers == 0) {
		if (why)
			*why = "caf: zero workers";
		return -EINVAL;
	}
	try {
		*rt = new caf_rt(cfg);
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		if (why)
			*why = "caf: actor_system failed to start";
		return -EAGAIN;
	}
	return 0;
}

void caf_destroy(void *rt)
{
	/* ~actor_system waits for every actor to terminate, the exits sent after rounds included
	 * (unless a round timed out). */
	delete static_cast<caf_rt *>(rt);
}

} // namespace

#define CAF_ABOUT                                                                              \
	"CAF 0.17: event-based actors on its work-stealing scheduler (max-threads = workers, " \
	"pinned "                                                                              \
	"through a thread hook); scoped_actor waits for each round"

/* Positional (C++17 has no designated initializers): impl, unsupported, create, destroy,
 * pingpong, threadring, counting, fjthrput, fjcreate, big, chameneos, skynet, backpressure. */
extern "C" const struct aimpl aimpl_caf = {
	{ "caf", BENCH_BASELINE, "libcaf-dev", nullptr, CAF_ABOUT },
	{ nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
	  "CAF 0.17 mailboxes are unbounded: no capacity, no policy at capacity" },
	caf_create,
	caf_destroy,
	caf_pingpong,
	caf_threadring,
	caf_counting,
	caf_fjthrput,
	caf_fjcreate,
	caf_big,
	caf_chameneos,
	caf_skynet,
	nullptr,
};

#else

#ifdef IOB_CAF_TSAN
#define CAF_MISSING                                                                               \
	"CAF not built under ThreadSanitizer: libcaf_core is not instrumented, so its hand-offs " \
	"read as races"
#else
#define CAF_MISSING "libcaf-dev not installed"
#endif

extern "C" const struct aimpl aimpl_caf = {
	{ "caf", BENCH_BASELINE, "libcaf-dev", CAF_MISSING,
	  "CAF 0.17: event-based actors on its work-stealing scheduler" },
	{},
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
	nullptr,
};

#endif
