/* event.c: names of the failure categories (event.h). */
#include "event.h"

#include <stdio.h>

#include "banned.h" /* last: after the system headers */

const char *lb_fail_name(enum lb_fail f, int http_status, char *buf, size_t len)
{
	switch (f) {
	case LB_FAIL_NONE: return "ok";
	case LB_FAIL_CONNECT: return "connect";
	case LB_FAIL_HTTP: snprintf(buf, len, "http_%d", http_status); return buf;
	case LB_FAIL_TIMEOUT: return "timeout";
	case LB_FAIL_STREAM: return "stream";
	case LB_FAIL_CANCELLED: return "cancelled";
	case LB_FAIL_BACKEND: return "backend";
	}
	return "backend";
}
