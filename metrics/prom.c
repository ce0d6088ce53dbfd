/* prom.c: the Prometheus text exposition parser of prom.h. One pass over lines; names, label
 * sets and values are checked against the format's grammar and prom.h's caps; # TYPE lines
 * give each later sample of the family its type. */
#include "prom.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The # TYPE lines seen so far (few: one per family). */
struct types {
	char **name;
	enum prom_type *type;
	size_t n, cap;
};

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

const char *prom_type_name(enum prom_type t)
{
	static const char *const names[] = { "untyped", "counter", "gauge", "histogram",
					     "summary" };

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void sample_free(struct prom_sample *s)
{
	size_t i;

	for (i = 0; i < s->n_labels; i++) {
		lb_free(s->labels[i].name);
		lb_free(s->labels[i].value);
	}
	lb_free(s->labels);
	lb_free(s->name);
}

void prom_doc_free(struct prom_doc *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		sample_free(&d->v[i]);
	lb_free(d->v);
	memset(d, 0, sizeof(*d));
}

const char *prom_label(const struct prom_sample *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n_labels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

static void types_free(struct types *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		lb_free(t->name[i]);
	lb_free(t->name);
	lb_free(t->type);
}

/* The type of a sample named name: its family's, where the family of x_bucket, x_sum, x_count,
 * x_created and x_total is x when x was typed. */
static enum prom_type type_of(const struct types *t, const char *name)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count", "_created", "_total" };
	size_t i, k, n = strlen(name);

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->name[i], name))
			return t->type[i];
	for (k = 0; k < sizeof(sfx) / sizeof(sfx[0]); k++) {
		size_t m = strlen(sfx[k]);

		if (n <= m || strcmp(name + n - m, sfx[k]))
			continue;
		for (i = 0; i < t->n; i++)
			if (strlen(t->name[i]) == n - m && !strncmp(t->name[i], name, n - m))
				return t->type[i];
	}
	return PROM_UNTYPED;
}

struct cur {
	const char *p, *end;
	long line;
	struct lb_error *err;
};

static int fail(struct cur *c, const char *what)
{
	return lb_error_set(c->err, LB_ERR_PARSE, "line %ld: %s", c->line, what);
}

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* A metric or label name; label names may not contain ':'. */
static int read_name(struct cur *c, bool label, char **out)
{
	const char *s = c->p;

	if (c->p >= c->end || !name_start(*c->p) || (label && *c->p == ':'))
		return fail(c, label ? "expected a label name" : "expected a metric name");
	while (c->p < c->end && name_char(*c->p) && !(label && *c->p == ':'))
		c->p++;
	if ((size_t)(c->p - s) > PROM_MAX_NAME)
		return fail(c, "name longer than 256 characters");
	*out = lb_strndup(s, (size_t)(c->p - s));
	return *out ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

static int read_label_value(struct cur *c, char **out)
{
	struct strbuf sb = STRBUF_INIT;

	if (c->p >= c->end || *c->p != '"')
		return fail(c, "expected '\"' before a label value");
	c->p++;
	for (;;) {
		char ch;

		if (c->p >= c->end) {
			strbuf_release(&sb);
			return fail(c, "unterminated label value");
		}
		ch = *c->p++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (c->p >= c->end) {
				strbuf_release(&sb);
				return fail(c, "unterminated label value");
			}
			ch = *c->p++;
			if (ch == 'n')
				ch = '\n';
			else if (ch != '\\' && ch != '"') {
				strbuf_release(&sb);
				return fail(c, "bad escape in a label value (\\\\, \\\" or \\n)");
			}
		}
		if (sb.len >= PROM_MAX_VALUE) {
			strbuf_release(&sb);
			return fail(c, "label value longer than 4096 bytes");
		}
		if (strbuf_addch(&sb, ch)) {
			strbuf_release(&sb);
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
		}
	}
	*out = strbuf_detach(&sb, NULL);
	return *out ? 0 : lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
}

static int read_labels(struct cur *c, struct prom_sample *s)
{
	c->p++; /* '{' */
	for (;;) {
		struct prom_label *l;
		int rc;

		skip_ws(c);
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return 0;
		}
		if (s->n_labels >= PROM_MAX_LABELS)
			return fail(c, "more than 32 labels");
		l = lb_realloc(s->labels, (s->n_labels + 1) * sizeof(*l));
		if (!l)
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
		s->labels = l;
		l = &s->labels[s->n_labels];
		l->name = l->value = NULL;
		if ((rc = read_name(c, true, &l->name)))
			return rc;
		s->n_labels++;
		skip_ws(c);
		if (c->p >= c->end || *c->p != '=')
			return fail(c, "expected '=' after a label name");
		c->p++;
		skip_ws(c);
		if ((rc = read_label_value(c, &l->value)))
			return rc;
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return 0;
		}
		return fail(c, "expected ',' or '}' in a label set");
	}
}

/* A token up to whitespace or the end of the line, at most cap - 1 bytes. */
static int read_token(struct cur *c, char *buf, size_t cap)
{
	const char *s = c->p;

	while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
		c->p++;
	if (c->p == s || (size_t)(c->p - s) >= cap)
		return -1;
	memcpy(buf, s, (size_t)(c->p - s));
	buf[c->p - s] = 0;
	return 0;
}

static int parse_value(const char *t, double *v)
{
	char *end;

	if (!strcmp(t, "+Inf") || !strcmp(t, "Inf") || !strcasecmp(t, "+inf")) {
		*v = INFINITY;
		return 0;
	}
	if (!strcmp(t, "-Inf") || !strcasecmp(t, "-inf")) {
		*v = -INFINITY;
		return 0;
	}
	if (!strcmp(t, "NaN")) {
		*v = NAN;
		return 0;
	}
	errno = 0;
	*v = strtod(t, &end);
	if (*end || end == t ||
	    (t[0] != '-' && t[0] != '+' && t[0] != '.' && (t[0] < '0' || t[0] > '9')))
		return -1;
	return 0;
}

static int sample_line(struct cur *c, const struct types *ty, struct prom_doc *d)
{
	struct prom_sample s = { 0 };
	char tok[64];
	int rc;

	if ((rc = read_name(c, false, &s.name)))
		goto bad;
	if (c->p < c->end && *c->p == '{' && (rc = read_labels(c, &s)))
		goto bad;
	skip_ws(c);
	if (read_token(c, tok, sizeof(tok)) || parse_value(tok, &s.value)) {
		rc = fail(c, "expected a number after the metric");
		goto bad;
	}
	skip_ws(c);
	if (c->p < c->end && *c->p != '#') { /* '#': an OpenMetrics exemplar, ignored */
		char *end;
		double ts;

		if (read_token(c, tok, sizeof(tok))) {
			rc = fail(c, "bad timestamp");
			goto bad;
		}
		ts = strtod(tok, &end);
		if (*end || !isfinite(ts) || fabs(ts) > 9e15) {
			rc = fail(c, "bad timestamp");
			goto bad;
		}
		s.has_ts = true;
		s.ts_ms = (int64_t)ts;
		skip_ws(c);
		if (c->p < c->end && *c->p != '#') { /* OpenMetrics exemplars start with '#' */
			rc = fail(c, "unexpected text after the timestamp");
			goto bad;
		}
	}
	if (d->n >= PROM_MAX_SAMPLES) {
		rc = fail(c, "more than 200000 samples");
		goto bad;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 64;
		struct prom_sample *nv = lb_realloc(d->v, ncap * sizeof(*nv));

		if (!nv) {
			rc = lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
			goto bad;
		}
		d->v = nv;
		d->cap = ncap;
	}
	s.type = type_of(ty, s.name);
	d->v[d->n++] = s;
	return 0;
bad:
	sample_free(&s);
	return rc;
}

static int comment_line(struct cur *c, struct types *ty)
{
	static const char *const tnames[] = { "untyped", "counter", "gauge", "histogram",
					      "summary" };
	char kind[16], tname[32];
	char *name = NULL;
	size_t i;
	int rc;

	c->p++; /* '#' */
	skip_ws(c);
	if (read_token(c, kind, sizeof(kind)) || (strcmp(kind, "TYPE") && strcmp(kind, "HELP")))
		return 0; /* another comment (# EOF, # UNIT ...) */
	skip_ws(c);
	if ((rc = read_name(c, false, &name)))
		return rc;
	if (!strcmp(kind, "HELP")) {
		lb_free(name);
		return 0;
	}
	skip_ws(c);
	if (read_token(c, tname, sizeof(tname))) {
		lb_free(name);
		return fail(c, "# TYPE without a type");
	}
	for (i = 0; i < sizeof(tnames) / sizeof(tnames[0]); i++)
		if (!strcmp(tname, tnames[i]))
			break;
	if (i == sizeof(tnames) / sizeof(tnames[0])) {
		/* OpenMetrics adds gaugehistogram, stateset, info, unknown: keep them untyped */
		i = PROM_UNTYPED;
	}
	if (ty->n == ty->cap) {
		size_t ncap = ty->cap ? ty->cap * 2 : 32;
		char **nn = lb_realloc(ty->name, ncap * sizeof(*nn));
		enum prom_type *nt;

		if (nn)
			ty->name = nn;
		nt = nn ? lb_realloc(ty->type, ncap * sizeof(*nt)) : NULL;
		if (!nt) {
			lb_free(name);
			return lb_error_set(c->err, LB_ERR_NOMEM, "out of memory");
		}
		ty->type = nt;
		ty->cap = ncap;
	}
	ty->name[ty->n] = name;
	ty->type[ty->n++] = (enum prom_type)i;
	return 0;
}

int prom_parse(const char *buf, size_t len, struct prom_doc *out, struct lb_error *err)
{
	struct types ty = { 0 };
	struct cur c = { buf, buf, 0, err };
	const char *end = buf + len;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len > PROM_MAX_BYTES)
		return lb_error_set(err, LB_ERR_PARSE, "document larger than %u bytes",
				    PROM_MAX_BYTES);
	while (c.p < end) {
		const char *nl = memchr(c.p, '\n', (size_t)(end - c.p));
		const char *le = nl ? nl : end;

		c.line++;
		c.end = le;
		if (le > c.p && le[-1] == '\r')
			c.end = le - 1;
		if (memchr(c.p, 0, (size_t)(c.end - c.p))) {
			rc = fail(&c, "NUL byte");
			break;
		}
		skip_ws(&c);
		if (c.p < c.end) {
			rc = *c.p == '#' ? comment_line(&c, &ty) : sample_line(&c, &ty, out);
			if (rc)
				break;
		}
		c.p = nl ? nl + 1 : end;
	}
	types_free(&ty);
	if (rc)
		prom_doc_free(out);
	return rc;
}
