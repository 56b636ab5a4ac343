/*
 * glibc's locks as people use them:
 *
 *   pthread_mutex     PTHREAD_MUTEX_NORMAL: one CAS to lock, a futex wait when taken; unfair
 *                     (a releasing thread may take it straight back)
 *   pthread_adaptive  PTHREAD_MUTEX_ADAPTIVE_NP: spins a while (up to glibc's tunable) before
 *                     the futex wait
 *   pthread_spin      pthread_spinlock_t: spins for ever, never sleeps
 */
#include <errno.h>
#include <pthread.h>

#include "lock_impl.h"

static int mutex_init_type(void *l, int type)
{
	pthread_mutexattr_t a;
	int err;

	if (pthread_mutexattr_init(&a))
		return -ENOMEM;
	err = pthread_mutexattr_settype(&a, type);
	if (!err)
		err = pthread_mutex_init(l, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
}

static int normal_init(void *l)
{
	return mutex_init_type(l, PTHREAD_MUTEX_NORMAL);
}

static int adaptive_init(void *l)
{
	return mutex_init_type(l, PTHREAD_MUTEX_ADAPTIVE_NP);
}

static void mutex_fini(void *l)
{
	pthread_mutex_destroy(l);
}

static void mutex_lock(void *l, void *tls)
{
	(void)tls;
	pthread_mutex_lock(l);
}

static void mutex_unlock(void *l, void *tls)
{
	(void)tls;
	pthread_mutex_unlock(l);
}

static int spin_init(void *l)
{
	return -pthread_spin_init(l, PTHREAD_PROCESS_PRIVATE);
}

static void spin_fini(void *l)
{
	pthread_spin_destroy(l);
}

static void spin_lock(void *l, void *tls)
{
	(void)tls;
	pthread_spin_lock(l);
}

static void spin_unlock(void *l, void *tls)
{
	(void)tls;
	pthread_spin_unlock(l);
}

const struct limpl limpl_pthread_mutex = {
	.impl = { .name = "pthread_mutex",
		  .origin = BENCH_BASELINE,
		  .package = "libc6",
		  .about = "glibc pthread_mutex_t, PTHREAD_MUTEX_NORMAL" },
	.size = sizeof(pthread_mutex_t),
	.init = normal_init,
	.fini = mutex_fini,
	.lock = mutex_lock,
	.unlock = mutex_unlock,
};

const struct limpl limpl_pthread_adaptive = {
	.impl = { .name = "pthread_adaptive",
		  .origin = BENCH_BASELINE,
		  .package = "libc6",
		  .about =
			  "glibc pthread_mutex_t, PTHREAD_MUTEX_ADAPTIVE_NP (spins, then sleeps)" },
	.size = sizeof(pthread_mutex_t),
	.init = adaptive_init,
	.fini = mutex_fini,
	.lock = mutex_lock,
	.unlock = mutex_unlock,
};

const struct limpl limpl_pthread_spin = {
	.impl = { .name = "pthread_spin",
		  .origin = BENCH_BASELINE,
		  .package = "libc6",
		  .about = "glibc pthread_spinlock_t (never sleeps)" },
	.size = sizeof(pthread_spinlock_t),
	.init = spin_init,
	.fini = spin_fini,
	.lock = spin_lock,
	.unlock = spin_unlock,
};
