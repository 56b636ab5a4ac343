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
 *   a round      a caf::scoped_actor on the benchmark's thread is the "done" address the
 *                round's actors report to, and it waits with receive(..., after(timeout));
 *                fjcreate's actors each only count down a latch whose last decrement fulfils a
 *                std::promise, so the round measures creation rather than one sink's mailbox.
 *                Actors that would outlive the round (a ring, a pong) get an exit message
 *                (exit_reason::user_shutdown) once the result is in; the next round does not
 *                wait for their teardown, the system's destructor does
 *   backpressure unsupported: CAF 0.17's mailboxes are unbounded, with no capacity or policy
 *
 * ai_result.messages counts the messages the round's actors handle, starting messages and exits
 * excluded: pingpong 2n, threadring hops, counting n + 2 (the increments, the query and its
 * reply), fjthrput and fjcreate one per actor message, big 2 * actors * n, chameneos what the
 * mall and the creatures report, skynet one result per node but the root.
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
#include <cmath>
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
using change_atom = caf::atom_constant<caf::atom("change")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using done_atom = caf::atom_constant<caf::atom("done")>;

/* A round that has not reported by then is hung, not slow: the largest (skynet) takes seconds,
 * sanitized builds a few times that. */
constexpr auto round_timeout = std::chrono::seconds(300);

/* Savina's performComputation: sin(theta)^2, which is never <= 0 for its theta. theta comes in
 * the message so that the compiler cannot fold it; a result <= 0 makes the actor report it. */
constexpr double savina_theta = 37.2;

bool compute(double theta)
{
	double s = std::sin(theta);

	return s * s > 0.0;
}

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

/* Runs one round's body; exceptions become errnos: C callers see no C++. */
template <class Fn> int guarded(Fn &&fn)
{
	try {
		return fn();
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
			self->send(done, done_atom::value, self->state.pongs, 2 * n);
			self->quit();
		},
	};
}

int caf_pingpong(void *rt, uint64_t n, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		uint64_t pongs = 0, msgs = 0;

		if (n == 0)
			return -EINVAL;
		auto pong = sys.spawn(pong_actor);
		auto ping = sys.spawn(ping_actor, pong, actor{ self }, n);
		self->send(ping, start_atom::value);
		bool ok = await_done(self, pongs, msgs);
		stop_all(self, { pong });
		if (!ok)
			return timed_out(rt);
		r->check = pongs;
		r->messages = msgs;
		return 0;
	});
}

/* --- threadring: a token with a hop count goes round a ring --- */

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
			else
				self->send(done, done_atom::value, hops, hops);
		},
	};
}

int caf_threadring(void *rt, unsigned actors, uint64_t hops, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
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
		bool ok = await_done(self, made, msgs);
		stop_all(self, ring);
		if (!ok)
			return timed_out(rt);
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
		[=](get_atom) { return self->state.count; },
	};
}

behavior producer_actor(event_based_actor *self, actor counter, actor done, uint64_t n)
{
	return { [=](start_atom) {
		for (uint64_t i = 0; i < n; i++)
			self->send(counter, inc_atom::value);
		self->request(counter, caf::infinite, get_atom::value).then([=](uint64_t count) {
			self->send(done, done_atom::value, count, n + 2);
			self->quit();
		});
	} };
}

int caf_counting(void *rt, uint64_t n, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		uint64_t count = 0, msgs = 0;

		auto counter = sys.spawn(counter_actor);
		auto producer = sys.spawn(producer_actor, counter, actor{ self }, n);
		self->send(producer, start_atom::value);
		bool ok = await_done(self, count, msgs);
		stop_all(self, { counter });
		if (!ok)
			return timed_out(rt);
		r->check = count;
		r->messages = msgs;
		return 0;
	});
}

/* --- fjthrput: n messages to each of the actors, round-robin, from the benchmark's thread --- */

struct thrput_state {
	uint64_t handled = 0;
	uint64_t wrong = 0; /* computations that came out <= 0 */
};

behavior thrput_actor(stateful_actor<thrput_state> *self, actor done, uint64_t n)
{
	return { [=](work_atom, double theta) {
		if (!compute(theta))
			self->state.wrong++;
		if (++self->state.handled < n)
			return;
		/* A wrong computation does not count as handled: the checksum shows it. */
		uint64_t good = self->state.handled - self->state.wrong;
		self->send(done, done_atom::value, good, self->state.handled);
		self->quit();
	} };
}

int caf_fjthrput(void *rt, unsigned actors, uint64_t n, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		std::vector<actor> workers;
		uint64_t good = 0, msgs = 0;

		if (actors == 0 || n == 0)
			return -EINVAL;
		workers.reserve(actors);
		for (unsigned i = 0; i < actors; i++)
			workers.push_back(sys.spawn(thrput_actor, actor{ self }, n));
		for (uint64_t k = 0; k < n; k++)
			for (const auto &w : workers)
				self->send(w, work_atom::value, savina_theta);
		for (unsigned i = 0; i < actors; i++) {
			uint64_t g = 0, m = 0;

			if (!await_done(self, g, m))
				return timed_out(rt);
			good += g;
			msgs += m;
		}
		r->check = good;
		r->messages = msgs;
		return 0;
	});
}

/* --- fjcreate: spawn n actors, one message each; each exits after handling it --- */

struct latch {
	std::atomic<uint64_t> left;
	std::atomic<uint64_t> good{ 0 };
	std::promise<void> all;

	explicit latch(uint64_t n) : left(n)
	{
	}
};

behavior create_actor(event_based_actor *self, std::shared_ptr<latch> l)
{
	return { [=](work_atom, double theta) {
		if (compute(theta))
			l->good++;
		if (--l->left == 0)
			l->all.set_value();
		self->quit();
	} };
}

int caf_fjcreate(void *rt, uint64_t n, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		auto l = std::make_shared<latch>(n);
		auto all = l->all.get_future();

		if (n == 0)
			return -EINVAL;
		for (uint64_t i = 0; i < n; i++)
			caf::anon_send(sys.spawn(create_actor, l), work_atom::value, savina_theta);
		if (all.wait_for(round_timeout) != std::future_status::ready)
			return timed_out(rt);
		r->check = l->good.load();
		r->messages = n;
		return 0;
	});
}

/* --- big: every actor pings random peers n times, one ping in flight; pings get pongs --- */

struct big_state {
	uint64_t pongs = 0;
	uint64_t rng = 0;
};

behavior big_actor(stateful_actor<big_state> *self, std::shared_ptr<const std::vector<actor>> peers,
		   actor done, unsigned index, uint64_t n)
{
	/* xorshift64*, one stream per actor: Savina's pick of a random target. */
	self->state.rng = 0x9e3779b97f4a7c15ULL * (index + 1);
	auto ping_someone = [=] {
		uint64_t x = self->state.rng;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		self->state.rng = x;
		self->send((*peers)[(x * 0x2545f4914f6cdd1dULL >> 32) % peers->size()],
			   ping_atom::value);
	};
	return {
		[=](start_atom) { ping_someone(); },
		[=](ping_atom) { return pong_atom::value; },
		[=](pong_atom) {
			if (++self->state.pongs < n)
				ping_someone();
			else
				self->send(done, done_atom::value, self->state.pongs,
					   2 * self->state.pongs);
		},
	};
}

int caf_big(void *rt, unsigned actors, uint64_t n, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		auto peers = std::make_shared<std::vector<actor>>();
		uint64_t pongs = 0, msgs = 0;
		bool ok = true;

		if (actors == 0 || n == 0)
			return -EINVAL;
		peers->reserve(actors);
		/* The peer list is complete before the start messages, which publish it. */
		for (unsigned i = 0; i < actors; i++)
			peers->push_back(sys.spawn(big_actor, peers, actor{ self }, i, n));
		for (const auto &a : *peers)
			self->send(a, start_atom::value);
		/* Every ping of an actor that reported has been answered: after the last
		 * report, no message is in flight, and the actors can go. */
		for (unsigned i = 0; i < actors && ok; i++) {
			uint64_t p = 0, m = 0;

			ok = await_done(self, p, m);
			pongs += p;
			msgs += m;
		}
		stop_all(self, *peers);
		peers->clear(); /* the actors' copies of it hold them otherwise */
		if (!ok)
			return timed_out(rt);
		r->check = pongs;
		r->messages = msgs;
		return 0;
	});
}

/* --- chameneos: creatures meet pairwise at a mall until its meetings run out --- */

struct mall_state {
	actor waiting;
	uint64_t left = 0;
	unsigned faded = 0;
	uint64_t meetings = 0; /* the creatures' counts, summed */
	uint64_t handled = 0;
};

behavior mall_actor(stateful_actor<mall_state> *self, actor done, unsigned creatures,
		    uint64_t meetings)
{
	self->state.left = meetings;
	return {
		[=](meet_atom, int32_t color, actor who) {
			auto &s = self->state;

			s.handled++;
			if (s.left == 0) {
				self->send(who, stop_atom::value);
			} else if (!s.waiting) {
				s.waiting = std::move(who);
			} else {
				s.left--;
				self->send(s.waiting, meet_atom::value, color, std::move(who));
				s.waiting = nullptr;
			}
		},
		[=](count_atom, uint64_t met, uint64_t handled) {
			auto &s = self->state;

			s.handled++;
			s.meetings += met;
			s.handled += handled;
			if (++s.faded < creatures)
				return;
			self->send(done, done_atom::value, s.meetings, s.handled);
			self->quit();
		},
	};
}

struct creature_state {
	int32_t color = 0;
	uint64_t meetings = 0;
	uint64_t handled = 0;
};

behavior creature_actor(stateful_actor<creature_state> *self, actor mall, int32_t color)
{
	/* Two different colours make the third; two alike stay. */
	auto complement = [](int32_t a, int32_t b) { return a == b ? a : 3 - a - b; };
	self->state.color = color;
	self->send(mall, meet_atom::value, color, caf::actor_cast<actor>(self));
	return {
		[=](meet_atom, int32_t other, actor partner) {
			auto &s = self->state;

			s.handled++;
			s.meetings++;
			s.color = complement(s.color, other);
			self->send(partner, change_atom::value, s.color);
			self->send(mall, meet_atom::value, s.color, caf::actor_cast<actor>(self));
		},
		[=](change_atom, int32_t c) {
			auto &s = self->state;

			s.handled++;
			s.meetings++;
			s.color = c;
			self->send(mall, meet_atom::value, s.color, caf::actor_cast<actor>(self));
		},
		[=](stop_atom) {
			auto &s = self->state;

			s.handled++;
			self->send(mall, count_atom::value, s.meetings, s.handled);
			self->quit();
		},
	};
}

int caf_chameneos(void *rt, unsigned creatures, uint64_t meetings, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		uint64_t met = 0, msgs = 0;

		if (creatures < 2)
			return -EINVAL;
		auto mall = sys.spawn(mall_actor, actor{ self }, creatures, meetings);
		for (unsigned i = 0; i < creatures; i++)
			sys.spawn(creature_actor, mall, static_cast<int32_t>(i % 3));
		if (!await_done(self, met, msgs))
			return timed_out(rt);
		r->check = met;
		r->messages = msgs;
		return 0;
	});
}

/* --- skynet: a 10-ary tree of actors; each leaf answers its number, each node the sum --- */

struct sky_state {
	unsigned pending = 0;
	uint64_t sum = 0;
	uint64_t nodes = 1; /* this subtree's actors, for the message count */
};

behavior sky_actor(stateful_actor<sky_state> *self, actor parent, uint64_t first, uint64_t size)
{
	if (size == 1) {
		self->send(parent, done_atom::value, first, uint64_t{ 1 });
		return {}; /* no behaviour: the leaf terminates */
	}
	/* Up to ten children; the first size % parts of them take one leaf more. */
	uint64_t parts = size < 10 ? size : 10, base = size / parts, extra = size % parts;
	for (uint64_t i = 0, at = first; i < parts; i++) {
		uint64_t len = base + (i < extra ? 1 : 0);

		self->spawn(sky_actor, caf::actor_cast<actor>(self), at, len);
		at += len;
	}
	self->state.pending = static_cast<unsigned>(parts);
	return { [=](done_atom, uint64_t sum, uint64_t nodes) {
		auto &s = self->state;

		s.sum += sum;
		s.nodes += nodes;
		if (--s.pending > 0)
			return;
		self->send(parent, done_atom::value, s.sum, s.nodes);
		self->quit();
	} };
}

int caf_skynet(void *rt, uint64_t leaves, ai_result *r)
{
	return guarded([&] {
		auto &sys = sys_of(rt);
		caf::scoped_actor self{ sys };
		uint64_t sum = 0, nodes = 0;

		if (leaves == 0)
			return -EINVAL;
		sys.spawn(sky_actor, actor{ self }, uint64_t{ 0 }, leaves);
		if (!await_done(self, sum, nodes))
			return timed_out(rt);
		r->check = sum;
		r->messages = nodes - 1;
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
