/*
 * async.c internals for its tests: how many timer records (struct alarm) are alive, so a test can
 * see that a cancelled or dropped future's timer was taken off its loop and released.
 */
#ifndef IORT_ASYNC_PRIVATE_H
#define IORT_ASYNC_PRIVATE_H

/** Timer records allocated and not yet freed, in the whole process. */
long iort__async_alarms_live(void);

#endif /* IORT_ASYNC_PRIVATE_H */
