/* store_dump.h: SQL text for rows that leave llmbench as a script (llama-bench's `-o sql`):
 * CREATE TABLE and INSERT statements with SQL quoting, so that SQL text stays in the store. */
#ifndef LB_STORE_DUMP_H
#define LB_STORE_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The table, created if absent, with one "col TYPE" line per column. */
void store_dump_create(FILE *f, const char *table, const char *const *cols,
		       const char *const *types, size_t n);
/* One row of the table as a statement: a NULL or empty value is NULL, a text one is
 * quoted ('' doubles a quote), the others are written as given (numbers). */
void store_dump_insert(FILE *f, const char *table, const char *const *cols, const char *const *vals,
		       const bool *is_text, size_t n);

#endif
