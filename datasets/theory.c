/* theory.c: the theory-question Markdown (see theory.h) and its dataset-registry entry. */
#include "theory.h"
#include "dataset.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void theory_set_release(struct theory_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		lb_free(s->v[i].question);
		lb_free(s->v[i].answer);
	}
	lb_free(s->v);
	lb_free(s->title);
	memset(s, 0, sizeof(*s));
}

struct line {
	const char *p;
	size_t len; /* trimmed of trailing white space and "\r" */
};

static void trim(const char **p, size_t *len)
{
	while (*len && isspace((unsigned char)(*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

static bool starts(const char *p, size_t len, const char *pre)
{
	size_t n = strlen(pre);

	return len >= n && !memcmp(p, pre, n);
}

/* "## Question N": 1 with *num set, 0 when the line is not a question heading, -1 when it is
 * one with a bad number. */
static int question_heading(const char *p, size_t len, long *num)
{
	char buf[32];
	char *end;
	size_t n;

	if (!starts(p, len, "## "))
		return 0;
	p += 3;
	len -= 3;
	trim(&p, &len);
	if (len < 8 || strncasecmp(p, "question", 8))
		return 0;
	p += 8;
	len -= 8;
	trim(&p, &len);
	n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	errno = 0;
	*num = strtol(buf, &end, 10);
	if (!n || errno || *end || *num < 1 || !isdigit((unsigned char)buf[0]))
		return -1;
	return 1;
}

static int add_item(struct theory_set *s, long num, long line, const char *q, size_t qlen)
{
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 64;
		struct theory_item *v = lb_realloc(s->v, na * sizeof(*v));

		if (!v)
			return LB_ERR_NOMEM;
		s->v = v;
		s->alloc = na;
	}
	s->v[s->n].number = num;
	s->v[s->n].line = line;
	s->v[s->n].answer = NULL;
	s->v[s->n].question = lb_strndup(q, qlen);
	if (!s->v[s->n].question)
		return LB_ERR_NOMEM;
	s->n++;
	return 0;
}

enum tstate {
	T_TOP,
	T_WANT_Q,
	T_WANT_A,
	T_IN_A
};

int theory_parse(const char *text, size_t len, const char *path, long limit, struct theory_set *out,
		 struct lb_error *err)
{
	struct strbuf ans = STRBUF_INIT;
	enum tstate st = T_TOP;
	size_t pos = 0, i;
	long lineno = 0, num = 0, cur = 0, head_line = 0;
	int rc = 0;

	if (memchr(text, 0, len))
		return lb_error_set(err, LB_ERR_PARSE, "'%s': NUL byte in the file", path);
	for (;;) {
		const char *nl, *p;
		size_t l;
		int h;
		bool at_end = pos >= len;

		p = text + pos;
		nl = at_end ? NULL : memchr(p, '\n', len - pos);
		l = at_end ? 0 : nl ? (size_t)(nl - p) : len - pos;
		pos = nl ? pos + l + 1 : len;
		lineno += !at_end;
		trim(&p, &l);
		h = at_end ? 0 : question_heading(p, l, &num);
		if (h < 0) {
			rc = lb_error_set(
				err, LB_ERR_PARSE,
				"'%s':%ld: malformed heading '%.*s' (expected '## Question "
				"N', N a positive number)",
				path, lineno, (int)(l > 80 ? 80 : l), p);
			goto out;
		}
		if ((h || at_end) && (st == T_WANT_Q || st == T_WANT_A)) {
			rc = lb_error_set(
				err, LB_ERR_PARSE,
				"'%s':%ld: question %ld has no %s (the entry starts at line "
				"%ld)",
				path, lineno, cur,
				st == T_WANT_Q ? "question in bold (**...**)"
					       : "'**Answer:**' line",
				head_line);
			goto out;
		}
		if ((h || at_end) && st == T_IN_A) {
			struct theory_item *it = &out->v[out->n - 1];
			const char *a = ans.buf;
			size_t al = ans.len;

			trim(&a, &al);
			while (al >= 3 && !memcmp(a + al - 3, "---", 3)) { /* trailing separator */
				al -= 3;
				trim(&a, &al);
			}
			it->answer = lb_strndup(a, al);
			if (!it->answer) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				goto out;
			}
			strbuf_reset(&ans);
			st = T_TOP;
		}
		if (at_end || (h && limit > 0 && (long)out->n >= limit))
			break;
		if (h) {
			for (i = 0; i < out->n; i++)
				if (out->v[i].number == num) {
					rc = lb_error_set(
						err, LB_ERR_PARSE,
						"'%s':%ld: question %ld repeated (first at "
						"line %ld)",
						path, lineno, num, out->v[i].line);
					goto out;
				}
			head_line = lineno;
			cur = num;
			st = T_WANT_Q;
			continue;
		}
		switch (st) {
		case T_TOP:
			if (!out->n && !out->title && starts(p, l, "# ")) {
				const char *t = p + 2;
				size_t tl = l - 2;

				trim(&t, &tl);
				out->title = lb_strndup(t, tl);
				if (!out->title) {
					rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
					goto out;
				}
			}
			break;
		case T_WANT_Q:
			if (!l || (l == 3 && !memcmp(p, "---", 3)))
				break;
			if (l < 5 || !starts(p, l, "**") || memcmp(p + l - 2, "**", 2) ||
			    starts(p, l, "**Answer:")) {
				rc = lb_error_set(
					err, LB_ERR_PARSE,
					"'%s':%ld: question %ld: expected the question in "
					"bold (**...**), got '%.*s'",
					path, lineno, cur, (int)(l > 80 ? 80 : l), p);
				goto out;
			}
			if (add_item(out, cur, head_line, p + 2, l - 4)) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				goto out;
			}
			st = T_WANT_A;
			break;
		case T_WANT_A:
			if (!l)
				break;
			if (!starts(p, l, "**Answer:**")) {
				rc = lb_error_set(
					err, LB_ERR_PARSE,
					"'%s':%ld: question %ld: expected '**Answer:** ...', "
					"got '%.*s'",
					path, lineno, cur, (int)(l > 80 ? 80 : l), p);
				goto out;
			}
			if (strbuf_add(&ans, p + 11, l - 11)) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				goto out;
			}
			st = T_IN_A;
			break;
		case T_IN_A:
			if (strbuf_addch(&ans, '\n') || strbuf_add(&ans, p, l)) {
				rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
				goto out;
			}
			break;
		}
	}
	if (!out->n)
		rc = lb_error_set(err, LB_ERR_USAGE, "'%s': no '## Question N' entries", path);
out:
	strbuf_release(&ans);
	return rc;
}

int theory_load(const char *path, long limit, struct theory_set *out, struct lb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	rc = strbuf_read_file(&sb, path, THEORY_MAX_BYTES, err);
	if (!rc)
		rc = theory_parse(sb.buf, sb.len, path, limit, out, err);
	strbuf_release(&sb);
	return rc;
}

static int theory_dataset_load(const char *path, long limit, struct lb_items *out,
			       struct lb_error *err)
{
	struct theory_set s = { 0 };
	size_t i;
	int rc;

	rc = theory_load(path, limit, &s, err);
	for (i = 0; !rc && i < s.n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "%ld", s.v[i].number);
		if (lb_items_add(out, id, s.v[i].question, NULL, NULL))
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	theory_set_release(&s);
	return rc;
}

const struct dataset_ops theory_dataset_ops = {
	.format = "theory",
	.load = theory_dataset_load,
};
