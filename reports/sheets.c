/* sheets.c: the theory answer sheets from the store (see sheets.h). */
#include "sheets.h"

#include "query_sheets.h"

#include "../base/alloc.h"
#include "../base/vec.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct srow {
	int64_t backend_id;
	char *backend, *family, *quant, *run;
	long item_idx;
	char *item_id, *question, *answer, *title, *status, *error;
	double latency_ms; /* NAN: unknown */
	long tokens;       /* -1: unknown */
	bool synthetic;
};

struct sheet_data {
	struct srow *v;
	size_t n, alloc;
	bool nomem;
};

static char *dup_or_null(const char *s)
{
	return s ? lb_strdup(s) : NULL;
}

static int collect(void *ctx, const struct store_row *row)
{
	struct sheet_data *d = ctx;
	struct srow *r;

	if (LB_ALLOC_GROW(d->v, d->n + 1, d->alloc)) {
		d->nomem = true;
		return 1;
	}
	r = &d->v[d->n++];
	memset(r, 0, sizeof(*r));
	r->backend_id = (int64_t)row->num[0];
	r->backend = dup_or_null(row->text[1]);
	r->family = dup_or_null(row->text[2]);
	r->quant = dup_or_null(row->text[3]);
	r->item_idx = (long)row->num[4];
	r->item_id = dup_or_null(row->text[5]);
	r->question = dup_or_null(row->text[6]);
	r->answer = dup_or_null(row->text[7]);
	r->latency_ms = row->text[8] ? row->num[8] : NAN;
	r->tokens = row->text[9] ? (long)row->num[9] : -1;
	r->title = dup_or_null(row->text[10]);
	r->status = dup_or_null(row->text[11]);
	r->error = dup_or_null(row->text[12]);
	r->synthetic = row->text[13] && row->num[13] != 0;
	r->run = dup_or_null(row->text[14]);
	return 0;
}

static void data_release(struct sheet_data *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct srow *r = &d->v[i];

		lb_free(r->backend);
		lb_free(r->family);
		lb_free(r->quant);
		lb_free(r->run);
		lb_free(r->item_id);
		lb_free(r->question);
		lb_free(r->answer);
		lb_free(r->title);
		lb_free(r->status);
		lb_free(r->error);
	}
	lb_free(d->v);
	memset(d, 0, sizeof(*d));
}

static int has_table(void *ctx, const struct store_row *row)
{
	(void)row;
	*(bool *)ctx = true;
	return 1;
}

/* An answer as Markdown lines: blank runs collapsed, lines that would read as structure
 * (headings, rules, answer labels) escaped with a backslash. */
static void put_answer(FILE *f, const struct srow *r)
{
	const char *p = r->answer, *end;
	bool first = true, blank_pending = false;

	if (!p || !*p) {
		if (r->status && strcmp(r->status, "ok"))
			fprintf(f, "_(no answer: %s%s%s)_\n", r->status, r->error ? ": " : "",
				r->error ? r->error : "");
		else
			fputs("_(empty answer)_\n", f);
		return;
	}
	while (*p) {
		size_t len;

		end = strchr(p, '\n');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (!len) {
			blank_pending = !first;
		} else {
			if (blank_pending)
				fputs("\n", f);
			blank_pending = false;
			if (!first)
				fputs("\n", f);
			if (p[0] == '#' || !strncmp(p, "---", 3) || !strncmp(p, "**Answer:", 9) ||
			    !strncmp(p, "===", 3))
				fputc('\\', f);
			fwrite(p, 1, len, f);
			first = false;
		}
		if (!end)
			break;
		p = end + 1;
	}
	fputs("\n", f);
}

static void safe_name(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < len; i++) {
		char c = s[i];

		buf[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
				 ? c
				 : '_';
	}
	buf[i] = 0;
	if (!i || buf[0] == '.' || !strcmp(buf, "side-by-side"))
		snprintf(buf, len, "backend-%s", s && s[0] ? s : "unnamed");
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static int close_file(FILE *f, const char *path, struct lb_error *err)
{
	bool bad = ferror(f) != 0;

	if (fclose(f) || bad)
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path,
				    strerror(errno ? errno : EIO));
	return 0;
}

static const char SYNTH[] = "Synthetic: the model has random weights (made by `llmbench model "
			    "make`), so its text is noise.";

static int write_backend(const struct sheet_data *d, size_t first, const char *dir,
			 struct lb_error *err)
{
	const struct srow *r0 = &d->v[first];
	char name[200], path[4096];
	size_t i;
	FILE *f;

	safe_name(r0->backend, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s.md", dir, name);
	f = fopen(path, "w");
	if (!f)
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	fprintf(f, "# %s\n\n", r0->title ? r0->title : "Theory Questions");
	fprintf(f, "_Answers of backend `%s` (%s, %s), run `%s`._", or_dash(r0->backend),
		or_dash(r0->family), or_dash(r0->quant), or_dash(r0->run));
	if (r0->synthetic)
		fprintf(f, " _%s_", SYNTH);
	fputs("\n\n", f);
	for (i = first; i < d->n && d->v[i].backend_id == r0->backend_id; i++) {
		const struct srow *r = &d->v[i];

		fprintf(f, "## Question %s\n**%s**\n**Answer:** ", or_dash(r->item_id),
			r->question ? r->question : "");
		put_answer(f, r);
		fputs("\n---\n\n", f);
	}
	return close_file(f, path, err);
}

static void fmt_lat(char *buf, size_t len, const struct srow *r)
{
	if (isnan(r->latency_ms))
		snprintf(buf, len, "latency n/a");
	else
		snprintf(buf, len, "%.0f ms", r->latency_ms);
}

static int write_side_by_side(const struct sheet_data *d, const char *dir, struct lb_error *err)
{
	char path[4096];
	size_t i, j, k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/side-by-side.md", dir);
	f = fopen(path, "w");
	if (!f)
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	fprintf(f, "# %s: side by side\n\n", d->v[0].title ? d->v[0].title : "Theory Questions");
	fprintf(f,
		"_Run `%s`. Each question, then each backend's answer (family, quant) with its "
		"latency (end to end) and output tokens._",
		or_dash(d->v[0].run));
	for (i = 0; i < d->n; i++)
		if (d->v[i].synthetic)
			break;
	if (i < d->n)
		fprintf(f, " _%s_", SYNTH);
	fputs("\n\n", f);
	/* questions in the order of the first backend that has each one */
	for (i = 0; i < d->n; i++) {
		const struct srow *q = &d->v[i];

		for (j = 0; j < i; j++)
			if (d->v[j].item_id && q->item_id && !strcmp(d->v[j].item_id, q->item_id))
				break;
		if (j < i)
			continue;
		fprintf(f, "## Question %s\n**%s**\n\n", or_dash(q->item_id),
			q->question ? q->question : "");
		for (k = 0; k < d->n; k++) {
			const struct srow *r = &d->v[k];
			char lat[32], tok[32];

			if (!r->item_id || !q->item_id || strcmp(r->item_id, q->item_id))
				continue;
			fmt_lat(lat, sizeof(lat), r);
			if (r->tokens >= 0)
				snprintf(tok, sizeof(tok), "%ld tokens", r->tokens);
			else
				snprintf(tok, sizeof(tok), "tokens n/a");
			fprintf(f, "### %s (%s, %s) · %s · %s\n\n", or_dash(r->backend),
				or_dash(r->family), or_dash(r->quant), lat, tok);
			put_answer(f, r);
			fputs("\n", f);
		}
		fputs("---\n\n", f);
	}
	return close_file(f, path, err);
}

int sheets_write(struct store *st, int64_t run_id, const char *dir, int *n_written,
		 struct lb_error *err)
{
	struct sheet_data d = { 0 };
	char id[32];
	bool table = false;
	size_t i;
	int rc, n = 0;

	if (n_written)
		*n_written = 0;
	rc = query_sheets_has_evals(st, has_table, &table, err);
	if (rc || !table)
		return rc;
	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	rc = query_sheets_answers(st, id, collect, &d, err);
	if (!rc && d.nomem)
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory reading answer sheets");
	for (i = 0; !rc && i < d.n; i++) {
		if (i && d.v[i].backend_id == d.v[i - 1].backend_id)
			continue;
		rc = write_backend(&d, i, dir, err);
		n += !rc;
	}
	if (!rc && d.n) {
		rc = write_side_by_side(&d, dir, err);
		n += !rc;
	}
	if (n_written)
		*n_written = n;
	data_release(&d);
	return rc;
}
