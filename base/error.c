#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banned.h" /* last: after the system headers */

int lb_error_set(struct lb_error *err, int code, const char *fmt, ...)
{
	char msg[LB_ERROR_MSG_MAX]; /* through a copy: an argument may be err->msg itself */
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->code = code;
	memcpy(err->msg, msg, sizeof(msg));
	return code;
}

int lb_error_prefix(struct lb_error *err, const char *fmt, ...)
{
	char pre[LB_ERROR_MSG_MAX], old[LB_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return LB_ERR_IO;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	pre[LB_ERROR_MSG_MAX / 2] = 0;
	old[LB_ERROR_MSG_MAX / 2 - 3] = 0;
	snprintf(err->msg, sizeof(err->msg), "%.500s: %.500s", pre, old);
	return err->code;
}

const char *lb_strerror(int code)
{
	switch (code) {
	case LB_OK: return "ok";
	case LB_ERR_NOMEM: return "out of memory";
	case LB_ERR_USAGE: return "usage";
	case LB_ERR_IO: return "io";
	case LB_ERR_PARSE: return "parse";
	case LB_ERR_BACKEND: return "backend";
	case LB_ERR_UNSUPPORTED: return "unsupported";
	case LB_ERR_STORE: return "store";
	case LB_ERR_LIMIT: return "limit";
	case LB_ERR_INTERRUPTED: return "interrupted";
	}
	return "unknown";
}

int lb_exit_code(int code)
{
	switch (code) {
	case LB_OK: return 0;
	case LB_ERR_USAGE:
	case LB_ERR_PARSE:
	case LB_ERR_UNSUPPORTED:
	case LB_ERR_LIMIT: return 2;
	}
	return 3;
}

void lb_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "llmbench: BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
