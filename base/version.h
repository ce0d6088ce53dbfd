/* version.h: the program's version string (git describe at build time). */
#ifndef LB_VERSION_H
#define LB_VERSION_H

/* "v1.2-3-gabcdef" or "unknown"; static storage. This function can't fail. */
const char *lb_version(void);

#endif
