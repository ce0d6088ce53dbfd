/* proc.c: see proc.h. */
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int lb_process_state(const char *host, long pid)
{
	char here[256] = "";

	if (!host || pid <= 0 || gethostname(here, sizeof(here) - 1) || strcmp(here, host))
		return -1;
	return kill((pid_t)pid, 0) && errno == ESRCH ? 0 : 1;
}
