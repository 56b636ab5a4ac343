/*
 * The hook behind IORT_TP() in the test variant of libiort (see testpoint-private.h). Compiled
 * only into libiort_tp.
 */
#include "testpoint-private.h"

#include <stdatomic.h>
#include <stddef.h>

static _Atomic(iort__tp_fn *) hook;

_Thread_local int iort__tp_node = -1;

void iort__tp_set_hook(iort__tp_fn *fn)
{
	/* MO tp.R1 (release): the test's state behind the hook is visible to threads that call
	 * it; pairs with tp.A1 in iort__tp_hit(). */
	atomic_store_explicit(&hook, fn, memory_order_release);
}

void iort__tp_hit(const char *name)
{
	/* MO tp.A1 (acquire): pairs with tp.R1 in iort__tp_set_hook(). */
	iort__tp_fn *fn = atomic_load_explicit(&hook, memory_order_acquire);

	if (fn)
		fn(name);
}
