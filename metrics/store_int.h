/* store_int.h: what the store's other files (metrics/store_*.c) need of metrics/store.c: the
 * SQLite connection and the open batch. Never included outside metrics/store*.c. */
#ifndef LB_STORE_INT_H
#define LB_STORE_INT_H

/* how long a connection waits for another's lock on a store */
#define STORE_BUSY_MS 5000

#include "store.h"

struct sqlite3; /* the SQLite header itself only in metrics/store*.c */

struct sqlite3 *store_db(struct store *s);
/* Open the batch transaction if none is open (store_flush commits it). */
int store_begin(struct store *s, struct lb_error *err);

#endif
