/* suggest.h: "did you mean" for a mistyped name (a verb, an option, a workload key), by
 * Damerau-Levenshtein distance as git's help.c does for verbs. */
#ifndef LB_SUGGEST_H
#define LB_SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance between a and b (swaps, substitutions, insertions and
 * deletions cost 1); a bound of the longest string for strings over 255 bytes. */
int lb_edit_distance(const char *a, const char *b);

/* The candidate closest to s, or NULL when none is close enough (distance at most 2, or a
 * third of s's length for long names, and not a different name of one or two letters).
 * candidates is NULL-terminated. */
const char *lb_suggest(const char *s, const char *const *candidates);

#endif
