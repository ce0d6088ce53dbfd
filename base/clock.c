#include "clock.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "banned.h" /* last: after the system headers */

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lb_now_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}
uint64_t lb_wall_ns(void)
{
	return ts_ns(CLOCK_REALTIME);
}
uint64_t lb_cpu_ns(void)
{
	return ts_ns(CLOCK_PROCESS_CPUTIME_ID);
}

uint64_t lb_peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)ru.ru_maxrss;
}

void lb_sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
}

void lb_iso8601(uint64_t wall_ns, char *buf, unsigned len)
{
	time_t t = (time_t)(wall_ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
