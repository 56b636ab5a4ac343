/*
 * liburcu cds_wfcq with its 10 ms sleep overridden. liburcu documents CDS_WFCQ_WAIT_SLEEP(msec)
 * (urcu/static/wfcqueue.h) as a macro LGPL users may define before including wfcqueue.h; we define
 * it to sched_yield(), so a dequeue that meets an enqueue in flight spins 10 times (liburcu's
 * WFCQ_ADAPT_ATTEMPTS, caa_cpu_relax) and then yields the CPU to the enqueuer instead of sleeping.
 * Everything else is stock.
 */
#include <sched.h>

#define CDS_WFCQ_WAIT_SLEEP(msec) ((void)(msec), (void)sched_yield())
#define QIMPL_WFCQ_SYMBOL	  qimpl_urcu_wfcq_nosleep
#define QIMPL_WFCQ_NAME		  "urcu_wfcq_nosleep"
#define QIMPL_WFCQ_ABOUT	  "liburcu cds_wfcq, sched_yield() instead of the 10 ms sleep"
#include "qimpl_urcu_wfcq.h"
