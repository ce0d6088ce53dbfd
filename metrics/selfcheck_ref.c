/* selfcheck_ref.c: SelfCheckGPT's SelfCheckNgram (n = 1) procedure, for the `selfcheck_ngram`
 * reference mode (quality.h, docs/quality.md): text cut into tokens the way spaCy's English
 * tokenizer cuts plain text (punctuation tokens kept, "isn't" -> "is" "n't", "3.5" and "Dr."
 * whole), sentences split after sentence-final punctuation, a unigram model with add-k
 * smoothing (k = 0) over the lower-cased tokens of the passage and the samples, and per
 * sentence the mean and max of -log p. */
#include "quality.h"

#include "../base/alloc.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- tokens ---------------------------------------------------------------------------------- */

static int tok_push(struct selfcheck_tokens *t, size_t start, size_t len)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 32;
		struct selfcheck_span *v = lb_realloc(t->v, nc * sizeof(*v));

		if (!v)
			return LB_ERR_NOMEM;
		t->v = v;
		t->cap = nc;
	}
	t->v[t->n].start = start;
	t->v[t->n].len = len;
	t->n++;
	return 0;
}

void selfcheck_tokens_release(struct selfcheck_tokens *t)
{
	lb_free(t->v);
	memset(t, 0, sizeof(*t));
}

/* Length of the prefix punctuation at s (spaCy's prefixes: brackets, quotes, currency, ...). */
static size_t prefix_len(const char *s, size_t n)
{
	static const char *const multi[] = {
		"\xe2\x80\x9c", "\xe2\x80\x98", "\xc2\xab",     "\xe2\x82\xac", "\xc2\xa3",
		"\xc2\xa7",     "\xe2\x80\x94", "\xe2\x80\x93", "\xe2\x80\xa6", NULL
	};
	size_t i;

	if (n >= 3 && !memcmp(s, "...", 3))
		return 3;
	for (i = 0; multi[i]; i++)
		if (n >= strlen(multi[i]) && !memcmp(s, multi[i], strlen(multi[i])))
			return strlen(multi[i]);
	if (strchr("([{<\"'`$#&*%=!?,:;_~^|", s[0]))
		return 1;
	if (s[0] == '+' && !(n > 1 && isdigit((unsigned char)s[1])))
		return 1;
	return 0;
}

static bool is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

/* Length of the suffix at the end of s[0, n) (spaCy's suffixes), 0 when none. */
static size_t suffix_len(const char *s, size_t n)
{
	static const char *const multi[] = { "\xe2\x80\x9d", "\xe2\x80\x99s", "\xe2\x80\x99S",
					     "\xe2\x80\x99", "\xc2\xbb",      "\xe2\x80\xa6",
					     "\xe2\x80\x94", "\xe2\x80\x93",  NULL };
	size_t i;
	unsigned char p;

	if (n >= 3 && !memcmp(s + n - 3, "...", 3))
		return 3;
	if (n >= 2 && (!memcmp(s + n - 2, "'s", 2) || !memcmp(s + n - 2, "'S", 2)) && n > 2)
		return 2;
	for (i = 0; multi[i]; i++) {
		size_t l = strlen(multi[i]);

		if (n > l && !memcmp(s + n - l, multi[i], l))
			return l;
	}
	if (strchr(")]}>\"'`,!?:;%*_", s[n - 1]))
		return n > 1 ? 1 : 0;
	if (s[n - 1] == '.' && n > 1) {
		p = (unsigned char)s[n - 2];
		/* (?<=[0-9a-z%²\-+ punct quotes])\.  and  (?<=[A-Z][A-Z])\. */
		if (isdigit(p) || is_lower(p) || p >= 0x80 || strchr("%-+)]}\"'!?,;:", p))
			return 1;
		if (n > 2 && is_upper(p) && is_upper((unsigned char)s[n - 3]))
			return 1;
	}
	return 0;
}

static bool ieq(const char *s, size_t n, const char *w)
{
	size_t i;

	if (strlen(w) != n)
		return false;
	for (i = 0; i < n; i++)
		if (tolower((unsigned char)s[i]) != w[i])
			return false;
	return true;
}

/* Abbreviations spaCy keeps whole with their period, and letter.letter. forms ("U.S."). */
static bool abbreviation(const char *s, size_t n)
{
	static const char *const abbr[] = {
		"mr.",  "mrs.", "ms.",     "dr.",   "st.",  "jr.",  "sr.",  "prof.", "inc.",
		"ltd.", "co.",  "corp.",   "vs.",   "etc.", "no.",  "mt.",  "ft.",   "gen.",
		"gov.", "rev.", "sen.",    "rep.",  "jan.", "feb.", "mar.", "apr.",  "jun.",
		"jul.", "aug.", "sep.",    "sept.", "oct.", "nov.", "dec.", "e.g.",  "i.e.",
		"a.m.", "p.m.", "approx.", "dept.", "est.", "fig.", "vol.", NULL
	};
	size_t i;

	for (i = 0; abbr[i]; i++)
		if (ieq(s, n, abbr[i]))
			return true;
	/* [A-Za-z](\.[A-Za-z])+\.? */
	if (n >= 3 && isalpha((unsigned char)s[0])) {
		for (i = 1; i + 1 < n; i += 2)
			if (s[i] != '.' || !isalpha((unsigned char)s[i + 1]))
				return false;
		return i == n || (i + 1 == n && s[i] == '.');
	}
	return false;
}

/* Contractions: "don't" -> "do" "n't", "can't" -> "ca" "n't", "I'm" -> "I" "'m", "you're",
 * "we've", "they'll", "I'd" (pronouns). Returns the length of the first part, 0 if none. */
static size_t contraction(const char *s, size_t n, size_t *second)
{
	static const char *const pron[] = { "i",    "you",   "he",   "she",   "it",
					    "we",   "they",  "that", "there", "who",
					    "what", "where", "how",  "here",  NULL };
	static const char *const tails[] = { "'m", "'re", "'ve", "'ll", "'d", NULL };
	size_t i, k;

	*second = 0;
	if (n > 3 && ieq(s + n - 3, 3, "n't")) {
		*second = 3;
		return n - 3;
	}
	if (n > 5 && !memcmp(s + n - 5, "n\xe2\x80\x99t", 5) &&
	    (s[n - 5] == 'n' || s[n - 5] == 'N')) {
		*second = 5;
		return n - 5;
	}
	for (k = 0; tails[k]; k++) {
		size_t tl = strlen(tails[k]);

		if (n <= tl || !ieq(s + n - tl, tl, tails[k]))
			continue;
		for (i = 0; pron[i]; i++)
			if (ieq(s, n - tl, pron[i])) {
				*second = tl;
				return n - tl;
			}
	}
	return 0;
}

/* Infixes inside a remaining piece: a hyphen between letters/digits and a letter ("well-known"),
 * a comma between letters, "." between a lower-case and an upper-case letter, "..." inside. */
static int infixes(struct selfcheck_tokens *t, size_t base, const char *s, size_t n)
{
	size_t i, start = 0;
	int rc;

	for (i = 1; i + 1 < n; i++) {
		unsigned char a = (unsigned char)s[i - 1], b = (unsigned char)s[i + 1];
		size_t l = 0;

		if ((s[i] == '-' && isalnum(a) && isalpha(b)) ||
		    (s[i] == ',' && isalpha(a) && isalpha(b)) ||
		    (s[i] == '.' && is_lower(a) && is_upper(b)) ||
		    ((s[i] == ':' || s[i] == '/' || s[i] == '=' || s[i] == '<' || s[i] == '>') &&
		     isalnum(a) && isalpha(b)))
			l = 1;
		else if (i + 3 < n && !memcmp(s + i, "...", 3) && isalnum(a))
			l = 3;
		if (!l)
			continue;
		if ((rc = tok_push(t, base + start, i - start)) || (rc = tok_push(t, base + i, l)))
			return rc;
		start = i + l;
		i = start;
	}
	return tok_push(t, base + start, n - start);
}

/* One whitespace-free chunk: prefixes, suffixes, special cases, infixes (spaCy's loop). */
static int chunk(struct selfcheck_tokens *t, const char *text, size_t base, size_t n)
{
	size_t suf_start[64], suf_len[64], ns = 0, a = base, e = base + n, l, second;
	int rc = 0;

	while (a < e) {
		if (abbreviation(text + a, e - a))
			break;
		if ((l = contraction(text + a, e - a, &second)))
			break;
		if ((l = prefix_len(text + a, e - a)) && l < e - a) {
			if ((rc = tok_push(t, a, l)))
				return rc;
			a += l;
			continue;
		}
		if ((l = suffix_len(text + a, e - a)) && ns < 64) {
			suf_start[ns] = e - l;
			suf_len[ns++] = l;
			e -= l;
			continue;
		}
		break;
	}
	if (a < e) {
		if ((l = contraction(text + a, e - a, &second)) && !abbreviation(text + a, e - a)) {
			if ((rc = tok_push(t, a, l)) || (rc = tok_push(t, a + l, second)))
				return rc;
		} else if (abbreviation(text + a, e - a)) {
			rc = tok_push(t, a, e - a);
		} else {
			rc = infixes(t, a, text + a, e - a);
		}
	}
	while (!rc && ns)
		ns--, rc = tok_push(t, suf_start[ns], suf_len[ns]);
	return rc;
}

int selfcheck_tokenize(const char *text, size_t len, struct selfcheck_tokens *out)
{
	size_t i = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (!rc && i < len) {
		size_t j = i;

		if (isspace((unsigned char)text[i])) {
			while (j < len && isspace((unsigned char)text[j]))
				j++;
			/* one space separates; other white space is a token of its own (spaCy's
			 * SPACE tokens), less the first space when the run starts with one */
			if (!(j - i == 1 && text[i] == ' ')) {
				size_t s = i + (text[i] == ' ' && i > 0);

				rc = tok_push(out, s, j - s);
			}
			i = j;
			continue;
		}
		while (j < len && !isspace((unsigned char)text[j]))
			j++;
		rc = chunk(out, text, i, j - i);
		i = j;
	}
	if (rc)
		selfcheck_tokens_release(out);
	return rc;
}

static bool terminal(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '.' && s[i] != '!' && s[i] != '?')
			return n == 3 && !memcmp(s, "\xe2\x80\xa6", 3);
	return n > 0;
}

static bool closing(const char *s, size_t n)
{
	return (n == 1 && strchr(")]}\"'", s[0])) ||
	       (n == 3 && (!memcmp(s, "\xe2\x80\x9d", 3) || !memcmp(s, "\xe2\x80\x99", 3)));
}

int selfcheck_sentences(const char *text, size_t len, struct selfcheck_tokens *out)
{
	struct selfcheck_tokens t;
	size_t i, start = SIZE_MAX, end = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = selfcheck_tokenize(text, len, &t);
	for (i = 0; !rc && i < t.n; i++) {
		const char *s = text + t.v[i].start;
		size_t n = t.v[i].len;
		bool space = isspace((unsigned char)s[0]);

		if (space && memchr(s, '\n', n)) {
			if (start != SIZE_MAX)
				rc = tok_push(out, start, end - start);
			start = SIZE_MAX;
			continue;
		}
		if (space)
			continue;
		if (start == SIZE_MAX)
			start = t.v[i].start;
		end = t.v[i].start + n;
		if (terminal(s, n)) {
			while (i + 1 < t.n && closing(text + t.v[i + 1].start, t.v[i + 1].len)) {
				i++;
				end = t.v[i].start + t.v[i].len;
			}
			rc = tok_push(out, start, end - start);
			start = SIZE_MAX;
		}
	}
	if (!rc && start != SIZE_MAX)
		rc = tok_push(out, start, end - start);
	selfcheck_tokens_release(&t);
	if (rc)
		selfcheck_tokens_release(out);
	return rc;
}

/* ---- the unigram model ------------------------------------------------------------------- */

struct ucount {
	char *w; /* owned, lower-cased */
	long n;
};

struct umodel {
	struct ucount *v;
	size_t n, cap;
	long total;
};

static char *lower_dup(const char *s, size_t n)
{
	char *d = lb_strndup(s, n);
	size_t i;

	for (i = 0; d && i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static struct ucount *ufind(struct umodel *m, const char *w)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].w, w))
			return &m->v[i];
	return NULL;
}

static int uadd_text(struct umodel *m, const char *text)
{
	struct selfcheck_tokens t;
	size_t i, len = text ? strlen(text) : 0;
	int rc = selfcheck_tokenize(text ? text : "", len, &t);

	for (i = 0; !rc && i < t.n; i++) {
		char *w = lower_dup(text + t.v[i].start, t.v[i].len);
		struct ucount *c;

		if (!w) {
			rc = LB_ERR_NOMEM;
			break;
		}
		c = ufind(m, w);
		if (c) {
			lb_free(w);
		} else {
			if (m->n == m->cap) {
				size_t nc = m->cap ? m->cap * 2 : 64;
				struct ucount *v = lb_realloc(m->v, nc * sizeof(*v));

				if (!v) {
					lb_free(w);
					rc = LB_ERR_NOMEM;
					break;
				}
				m->v = v;
				m->cap = nc;
			}
			c = &m->v[m->n++];
			c->w = w;
			c->n = 0;
		}
		c->n++;
		m->total++;
	}
	selfcheck_tokens_release(&t);
	return rc;
}

static void urelease(struct umodel *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		lb_free(m->v[i].w);
	lb_free(m->v);
	memset(m, 0, sizeof(*m));
}

int quality_selfcheck_ngram_ref(const char *passage, const char *const *samples, size_t n_samples,
				struct selfcheck_result *out, struct lb_error *err)
{
	struct umodel m = { 0 };
	struct selfcheck_tokens sents = { 0 };
	size_t len = passage ? strlen(passage) : 0, i, k;
	double doc_sum = 0, max_sum = 0;
	long doc_n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = uadd_text(&m, passage);
	for (i = 0; !rc && i < n_samples; i++)
		rc = uadd_text(&m, samples[i]);
	if (!rc)
		rc = selfcheck_sentences(passage ? passage : "", len, &sents);
	if (!rc && sents.n) {
		out->sent_avg = lb_calloc(sents.n, sizeof(*out->sent_avg));
		out->sent_max = lb_calloc(sents.n, sizeof(*out->sent_max));
		if (!out->sent_avg || !out->sent_max)
			rc = LB_ERR_NOMEM;
	}
	for (i = 0; !rc && i < sents.n; i++) {
		/* evaluate(): each sentence (stripped) tokenized on its own */
		struct selfcheck_tokens t;
		const char *s = passage + sents.v[i].start;
		double sum = 0, mx = -INFINITY;
		long cnt = 0;

		rc = selfcheck_tokenize(s, sents.v[i].len, &t);
		for (k = 0; !rc && k < t.n; k++) {
			char *w = lower_dup(s + t.v[k].start, t.v[k].len);
			const struct ucount *c;
			double nlp;

			if (!w) {
				rc = LB_ERR_NOMEM;
				break;
			}
			c = ufind(&m, w); /* not found: '<unk>', count 0 (k = 0): p = 0 */
			nlp = -log((c ? (double)c->n : 0.0) / (double)m.total);
			lb_free(w);
			sum += nlp;
			if (nlp > mx)
				mx = nlp;
			cnt++;
		}
		selfcheck_tokens_release(&t);
		if (rc || !cnt)
			continue;
		out->sent_avg[out->n_sentences] = sum / (double)cnt;
		out->sent_max[out->n_sentences] = mx;
		out->n_sentences++;
		doc_sum += sum;
		doc_n += cnt;
		max_sum += mx;
	}
	selfcheck_tokens_release(&sents);
	urelease(&m);
	if (rc) {
		selfcheck_result_release(out);
		return lb_error_set(err, rc, "out of memory scoring self-consistency");
	}
	out->avg_neg_logprob = doc_n ? doc_sum / (double)doc_n : NAN;
	out->avg_max_neg_logprob = out->n_sentences ? max_sum / (double)out->n_sentences : NAN;
	return 0;
}
