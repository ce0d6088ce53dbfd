/* cmdutil.c: helpers shared by the cmd_*.c verbs (messages, number parsing). */
#include "cmd.h"
#include "../base/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

int cmd_fail(const struct lb_error *err)
{
	fprintf(stderr, "llmbench: error: %s\n", err->msg[0] ? err->msg : lb_strerror(err->code));
	return lb_exit_code(err->code ? err->code : LB_ERR_IO);
}

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fputs("llmbench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'llmbench %s --help'\n", verb);
	return 2;
}

void cmd_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("llmbench: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cmd_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int cmd_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}
