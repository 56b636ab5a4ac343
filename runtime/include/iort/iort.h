/**
 * Every public libiort header in one include, lowest layer first (docs/conventions.md, "Layout").
 *
 * For users who want the whole runtime; libiort's own sources include the headers they use, never
 * this one (tests/lint/layers.py checks both, and that no public header is missing here).
 */
#ifndef IORT_IORT_H
#define IORT_IORT_H

/* base */
#include <iort/compiler.h>
#include <iort/config.h>
#include <iort/clock.h>

/* reclamation */
#include <iort/ebr.h>

/* queues */
#include <iort/spsc.h>
#include <iort/mpmc.h>
#include <iort/mpsc.h>
#include <iort/segq.h>

/* sync */
#include <iort/cancel.h>
#include <iort/wait.h>
#include <iort/chan.h>
#include <iort/lockdep.h>
#include <iort/mutex.h>

/* sched */
#include <iort/pool.h>
#include <iort/scope.h>
#include <iort/retry.h>

/* io */
#include <iort/timer.h>
#include <iort/reactor.h>
#include <iort/async.h>
#include <iort/actor.h>

#endif /* IORT_IORT_H */
