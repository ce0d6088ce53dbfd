/* lineread.h: a bounded line reader for the line-based dataset loaders (lines, jsonl).
 *
 * Lines end at "\n"; a "\r" before it is dropped. A line longer than DATASET_MAX_LINE bytes or
 * holding a NUL byte is an error naming the file, the line and the limit. Internal to datasets/. */
#ifndef LB_LINEREAD_H
#define LB_LINEREAD_H

#include "../base/error.h"
#include "../base/strbuf.h"

#include <stdio.h>

struct lineread {
	FILE *f;
	const char *path; /* borrowed, for messages */
	long lineno;      /* 1-based number of the line last returned */
	struct strbuf line;
	char buf[65536];
	size_t pos, len;
	int eof;
};

/* Open path for reading. On error nothing is left open and err names the path. */
int lineread_open(struct lineread *r, const char *path, struct lb_error *err);
/* Next line into *line (NUL-terminated, without its end of line, valid until the next call)
 * and *len. Returns 1 for a line, 0 at the end of the file, or a negative lb_errc. */
int lineread_next(struct lineread *r, char **line, size_t *len, struct lb_error *err);
void lineread_close(struct lineread *r);

#endif
