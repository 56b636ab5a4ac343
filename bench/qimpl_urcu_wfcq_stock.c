/*
 * liburcu cds_wfcq as shipped: a dequeue that meets an enqueue in flight (tail swapped, link not
 * yet stored) spins 10 times and then sleeps 10 ms (CDS_WFCQ_WAIT_SLEEP left to liburcu).
 */
#define QIMPL_WFCQ_SYMBOL qimpl_urcu_wfcq_stock
#define QIMPL_WFCQ_NAME	  "urcu_wfcq_stock"
#define QIMPL_WFCQ_ABOUT  "liburcu cds_wfcq as shipped (10 ms sleep on a push in flight)"
#include "qimpl_urcu_wfcq.h"
