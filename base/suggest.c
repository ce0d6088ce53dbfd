/* suggest.c: edit distance and the closest name for "did you mean". */
#include "suggest.h"

#include <string.h>

#define SUGGEST_MAX 256

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;

	return m < c ? m : c;
}

int lb_edit_distance(const char *a, const char *b)
{
	int d[3][SUGGEST_MAX + 1]; /* rows i-2, i-1, i of the matrix, by i % 3 */
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return (int)(la > lb ? la : lb);
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		int *cur = d[i % 3], *prev = d[(i - 1) % 3], *pp = d[(i + 1) % 3];

		cur[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    pp[j - 2] + 1 < cur[j])
				cur[j] = pp[j - 2] + 1;
		}
	}
	return d[la % 3][lb];
}

const char *lb_suggest(const char *s, const char *const *candidates)
{
	const char *best = NULL;
	int best_d = 1 << 20, bound, i;
	size_t len = strlen(s);

	if (!candidates || !len)
		return NULL;
	bound = len >= 9 ? (int)len / 3 : 2;
	if (len <= 3)
		bound = 1;
	for (i = 0; candidates[i]; i++) {
		int dist = lb_edit_distance(s, candidates[i]);

		/* a prefix of a longer name ("--lev" for "--levels") is a good guess too */
		if (dist > bound && len >= 3 && !strncmp(s, candidates[i], len))
			dist = bound;
		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	return best && best_d <= bound && strcmp(best, s) ? best : NULL;
}
