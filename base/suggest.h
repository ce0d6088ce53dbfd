/* suggest.h: "did you mean" for verbs, options and keys (git's help.c, by edit distance). */
#ifndef LB_SUGGEST_H
#define LB_SUGGEST_H

#include <stddef.h>

/* Damerau-Levenshtein distance (adjacent transpositions count 1) between a and b, capped at
 * 64 bytes of each (longer strings compare their first 64). This function can't fail. */
int lb_edit_distance(const char *a, const char *b);

/* The candidate (NULL-terminated list) closest to word, or NULL when none is close enough:
 * distance at most 1 for words of up to 3 bytes, else max(2, strlen(word) / 3), ties broken by list order. Static storage of
 * the list. This function can't fail. */
const char *lb_suggest(const char *word, const char *const *candidates);

#endif
