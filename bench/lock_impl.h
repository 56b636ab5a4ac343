/**
 * A small vtable over mutual-exclusion locks, ours and the baselines', for bench/bench_lock.c.
 *
 * Each adapter file (bench/limpl_*.c) defines one `const struct limpl` per lock, and
 * bench_lock.c's lock_impls[] lists it once. A baseline whose library was not found at configure
 * time still defines its descriptor, with impl.missing set and no operations: its benchmarks keep
 * their names and skip with that message.
 *
 * Synchronization: init and fini run on one thread with no other call in flight. lock and unlock
 * may be called by any number of threads, each with its own @p tls (tls_size bytes, 64-aligned,
 * zeroed, then passed to tls_init when set, owned by that thread, for queue locks' nodes); a
 * thread holds at most one lock at a time and unlocks the lock it holds with the tls it locked it
 * with. One tls may serve several locks of the same implementation in turn.
 *
 * Lifetime: a queue lock may move nodes between its locks and the threads' tls (CLH hands each
 * releasing thread its predecessor's node), so memory of a lock or of a tls may be in use by the
 * others until the end: free the locks and every tls that used them together, after fini and
 * after every thread has stopped calling.
 */
#ifndef IOB_LOCK_IMPL_H
#define IOB_LOCK_IMPL_H

#include <stddef.h>

#include "bench.h"

#ifdef __cplusplus
extern "C" {
#endif

struct limpl {
	struct bench_impl impl; /**< name, origin, package; missing: the skip message */
	size_t size;		/**< bytes of one lock (the scenario allocates it 64-aligned) */
	size_t tls_size;	/**< bytes of one thread's state; 0: none */
	/** Prepare a zeroed tls before its thread's first call; NULL: zeroed is ready. */
	void (*tls_init)(void *tls);
	/** @return 0 or a negative errno. */
	int (*init)(void *lock);
	void (*fini)(void *lock);
	void (*lock)(void *lock, void *tls);
	void (*unlock)(void *lock, void *tls);
};

/* bench/limpl_iort.c */
extern const struct limpl limpl_iort_mutex;
/* bench/limpl_pthread.c */
extern const struct limpl limpl_pthread_mutex, limpl_pthread_adaptive, limpl_pthread_spin;
/* bench/limpl_seed.c */
extern const struct limpl limpl_seed_mutex;
/* bench/limpl_ck.c */
extern const struct limpl limpl_ck_mcs, limpl_ck_clh, limpl_ck_ticket;

#ifdef __cplusplus
}
#endif

#endif /* IOB_LOCK_IMPL_H */
