/* proc.h: whether the process that wrote a run still lives (a 'running' run whose process is
 * gone died). */
#ifndef LB_PROC_H
#define LB_PROC_H

/* 1: pid lives on this host; 0: it is gone from this host; -1: cannot tell (another host, no
 * pid). */
int lb_process_state(const char *host, long pid);

#endif
