/* report_text.c: the report's words for people: --format names, a figure's text
 * ("12.3 ± 0.4", "unavailable") and the reason of an unavailable figure. */
#include "writer.h"

#include <math.h>
#include <string.h>

int report_parse_formats(const char *s, unsigned *out, struct lb_error *err)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "html", REPORT_FMT_HTML },   { "md", REPORT_FMT_MD },
		{ "csv", REPORT_FMT_CSV },     { "json", REPORT_FMT_JSON },
		{ "jsonl", REPORT_FMT_JSONL }, { "png", REPORT_FMT_PNG },
		{ "svg", REPORT_FMT_SVG },     { "all", REPORT_FMT_ALL },
	};
	const char *p = s;
	unsigned f = 0;
	size_t i;

	while (*p) {
		size_t n = strcspn(p, ",");
		bool found = false;

		for (i = 0; n && i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].name) == n && !strncmp(p, names[i].name, n)) {
				f |= names[i].bit;
				found = true;
			}
		}
		if (!found)
			return lb_error_set(
				err, LB_ERR_USAGE,
				"unknown format '%.*s' in '%s' (expected html, md, csv, json,"
				" jsonl, png, svg or all)",
				(int)n, p, s);
		p += n;
		if (*p == ',')
			p++;
	}
	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "no format in '%s'", s);
	*out = f;
	return 0;
}

const char *report_note_reason(const char *note)
{
	if (!note)
		return "no reason recorded";
	if (!strncmp(note, "unavailable: ", 13))
		return note + 13;
	if (!strncmp(note, "unavailable", 11) && !note[11])
		return "no reason recorded";
	return note;
}

void report_cell_of(const struct report_metric *m, struct report_cell *c)
{
	memset(c, 0, sizeof(*c));
	c->sd = c->err = c->lo = c->hi = NAN;
	c->n = -1;
	if (!m) {
		c->kind = REPORT_CELL_EMPTY;
		return;
	}
	c->note = m->note;
	c->unit = m->unit;
	if (!m->n_reps) {
		c->kind = REPORT_CELL_UNAVAILABLE;
		return;
	}
	c->kind = REPORT_CELL_NUM;
	c->v = m->value;
	c->sd = m->sd;
	c->n_reps = m->n_reps;
}

const char *report_cell_text(const struct report_cell *c, const struct field_desc *f, char *buf,
			     size_t len)
{
	char a[48], b[48], e[48];

	switch (c->kind) {
	case REPORT_CELL_EMPTY: snprintf(buf, len, "-"); break;
	case REPORT_CELL_TEXT: snprintf(buf, len, "%s", c->text ? c->text : ""); break;
	case REPORT_CELL_UNAVAILABLE: snprintf(buf, len, "unavailable"); break;
	case REPORT_CELL_NUM:
		fields_fmt_num(a, sizeof(a), c->v, f->type);
		if (c->n_reps >= 2 && c->sd == 0)
			snprintf(buf, len, "%s ± 0", a);
		else if (c->n_reps >= 2 && !isnan(c->sd))
			snprintf(buf, len, "%s ± %s", a,
				 fields_fmt_num(b, sizeof(b), c->sd, FIELD_REAL));
		else if (!isnan(c->err))
			snprintf(buf, len, "%s ± %s", a,
				 fields_fmt_num(b, sizeof(b), c->err, FIELD_REAL));
		else
			snprintf(buf, len, "%s", a);
		if (!isnan(c->lo) && !isnan(c->hi)) {
			size_t l = strlen(buf);

			snprintf(buf + l, len - l, " [%s, %s]",
				 fields_fmt_num(b, sizeof(b), c->lo, f->type),
				 fields_fmt_num(e, sizeof(e), c->hi, f->type));
		}
		break;
	}
	return buf;
}
