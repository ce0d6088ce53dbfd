#include "version.h"

#include "banned.h" /* last: after the system headers */

#ifndef LB_VERSION
#define LB_VERSION "unknown"
#endif

const char *lb_version(void)
{
	return LB_VERSION;
}
