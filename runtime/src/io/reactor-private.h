/*
 * reactor.c internals for the tests of the modules above it: how many task wakers a descriptor's
 * slot keeps, so a test can check that a future which stopped waiting took its waker back.
 */
#ifndef IORT_REACTOR_PRIVATE_H
#define IORT_REACTOR_PRIVATE_H

#include <iort/reactor.h>

/* Wakers kept for @fd (0, 1 or 2: read and write); takes the slot's lock. Any thread. */
unsigned iort__io_wakers(struct iort_loop *l, int fd);

#endif /* IORT_REACTOR_PRIVATE_H */
