/* share.h: where the shipped datasets, workloads and docs are: share/llmbench beside an
 * installed binary (<prefix>/bin/llmbench -> <prefix>/share/llmbench), or the source tree of a
 * binary run from its build folder. Found from /proc/self/exe, without the working directory. */
#ifndef LB_SHARE_H
#define LB_SHARE_H

/* The folder, or NULL when there is none; computed once. LLMBENCH_SHARE overrides it. */
const char *lb_share_dir(void);

#endif
