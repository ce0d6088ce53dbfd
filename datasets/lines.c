/* lines.c: the "lines" dataset format: one prompt per line, blank lines skipped, trailing
 * whitespace (and the CR of CRLF) stripped; an item's id is its 1-based line number. */
#include "dataset.h"
#include "lineread.h"

#include <stdio.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int lines_load(const char *path, long limit, struct lb_items *out, struct lb_error *err)
{
	struct lineread r;
	char *line;
	size_t len, added = 0;
	int rc;

	rc = lineread_open(&r, path, err);
	if (rc)
		return rc;
	while (limit <= 0 || added < (size_t)limit) {
		char id[32];

		rc = lineread_next(&r, &line, &len, err);
		if (rc <= 0)
			break;
		while (len && is_space(line[len - 1]))
			len--;
		if (!len)
			continue;
		line[len] = 0;
		snprintf(id, sizeof(id), "%ld", r.lineno);
		rc = lb_items_add(out, id, line, NULL, NULL);
		if (rc) {
			rc = lb_error_set(err, rc, "out of memory loading '%s'", path);
			break;
		}
		added++;
	}
	lineread_close(&r);
	return rc < 0 ? rc : 0;
}

const struct dataset_ops lines_dataset_ops = {
	.format = "lines",
	.load = lines_load,
};
