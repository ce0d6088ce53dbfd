/* clock.h: the harness's clocks. Every measured time is CLOCK_MONOTONIC nanoseconds. */
#ifndef LB_CLOCK_H
#define LB_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns: comparable across processes on one machine (the simulator's send log). */
uint64_t lb_now_ns(void);
/* CLOCK_REALTIME in ns, for wall-clock timestamps in run rows only. */
uint64_t lb_wall_ns(void);
/* Process CPU time (user + system) in ns. */
uint64_t lb_cpu_ns(void);
/* Peak resident set size of this process in KiB (getrusage), 0 if unknown. */
uint64_t lb_peak_rss_kib(void);
/* Sleep until the monotonic clock reaches t_ns (returns at once if already past). */
void lb_sleep_until_ns(uint64_t t_ns);
/* ISO 8601 UTC of a wall time in ns into buf ("2026-11-24T13:30:00Z"). */
void lb_iso8601(uint64_t wall_ns, char *buf, unsigned len);

#endif
