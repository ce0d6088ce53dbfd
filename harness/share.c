/* share.c: the folder of the shipped files (harness/share.h). */
#include "share.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char share_dir[PATH_MAX];
static pthread_once_t share_once = PTHREAD_ONCE_INIT;

static int is_dir(const char *p)
{
	struct stat sb;

	return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}

static void find_share(void)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *env = getenv("LLMBENCH_SHARE");
	char *slash;
	ssize_t n;

	if (env && *env) {
		if (is_dir(env))
			snprintf(share_dir, sizeof(share_dir), "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0'; /* the binary's folder: <prefix>/bin or <tree>/build */
	snprintf(cand, sizeof(cand), "%s/../share/llmbench", exe);
	if (is_dir(cand) && realpath(cand, share_dir))
		return;
	share_dir[0] = '\0';
	snprintf(cand, sizeof(cand), "%s/../datasets", exe); /* build/llmbench in the tree */
	if (is_dir(cand)) {
		snprintf(cand, sizeof(cand), "%s/..", exe);
		if (!realpath(cand, share_dir))
			share_dir[0] = '\0';
	}
}

const char *lb_share_dir(void)
{
	pthread_once(&share_once, find_share);
	return share_dir[0] ? share_dir : NULL;
}
