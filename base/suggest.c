/* suggest.c: edit distance and "did you mean" (suggest.h). */
#include "suggest.h"

#include <string.h>

#include "banned.h" /* last: after the system headers */

#define SUGGEST_MAX 64

int lb_edit_distance(const char *a, const char *b)
{
	int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t n = strlen(a), m = strlen(b), i, j;

	if (n > SUGGEST_MAX)
		n = SUGGEST_MAX;
	if (m > SUGGEST_MAX)
		m = SUGGEST_MAX;
	for (i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= n; i++) {
		for (j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

const char *lb_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	int best_d = 0, len = (int)strlen(word), limit = len / 3;
	size_t i;

	if (limit < 2)
		limit = len <= 3 ? 1 : 2;
	for (i = 0; candidates && candidates[i]; i++) {
		int dist = lb_edit_distance(word, candidates[i]);

		if (dist <= limit && (!best || dist < best_d)) {
			best = candidates[i];
			best_d = dist;
		}
	}
	return best;
}
