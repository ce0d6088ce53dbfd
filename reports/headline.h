/* headline.h: what a report says first. Per backend the figures that matter (output tokens/s,
 * requests/s, TTFT p50/p99, TPOT, failure rate, perplexity, KL divergence, answer quality, and
 * energy only where measured), each column's best and worst marked; every invalid level with its
 * reason; and for a family x quantization matrix a decision view: the Pareto front of speed
 * against quality loss (KL divergence, or perplexity ratio to the family's base precision) and
 * size or energy, with one sentence per family naming the smallest quantization within a
 * quality bound. Pure: computed from struct report_data, never from the store. */
#ifndef LB_REPORT_HEADLINE_H
#define LB_REPORT_HEADLINE_H

#include "../base/error.h"
#include "query.h"

#include <stdbool.h>
#include <stddef.h>

#define HEADLINE_DEFAULT_MAX_KLD 0.05       /* nats/token, mean KL divergence to the base */
#define HEADLINE_DEFAULT_MAX_PPL_RATIO 1.05 /* perplexity / base perplexity */
#define HEADLINE_RUNQ_CAVEAT 0.1 /* run-queue wait share of a level that makes a caveat */

enum headline_col {
	HL_TOKS, /* output tokens/s at the backend's peak level */
	HL_REQS, /* requests/s at that level */
	HL_TTFT50,
	HL_TTFT99,
	HL_TPOT, /* TPOT p50 (ms) at that level */
	HL_FAIL, /* failed / (ok + failed) over every level */
	HL_PPL,
	HL_KLD,
	HL_QUAL, /* qa_correct, else mc2 */
	HL_JPT,  /* J per output token at the peak level; only when measured */
	HL_N
};

struct headline_col_desc {
	const char *name;   /* "output tok/s" */
	const char *metric; /* the report's metric name behind it ("" when derived) */
	int better;         /* +1 higher is better, -1 lower is better */
};
extern const struct headline_col_desc headline_cols[HL_N];

struct headline_backend {
	char label[160];            /* "llama-q4_0" (run/backend with several runs) */
	const char *family, *quant; /* borrowed from the data, may be NULL */
	char family_key[160];   /* the family, "run/family" with several runs (groups the view) */
	char at[48];            /* the peak level: "concurrency=16" ("" none) */
	double v[HL_N];         /* NAN: absent */
	double size_mib;        /* model_size_mib, NAN when not stored */
	bool synthetic;         /* a figure of it comes from a synthetic model (random weights) */
	signed char mark[HL_N]; /* +1 best, -1 worst, 0 neither */
};

/* A note on one level: why it is invalid, or a timing caveat (docs/METRICS.md "Chunk timing":
 * its scheduler thread waited for a CPU at least HEADLINE_RUNQ_CAVEAT of its window, most of
 * its chunk gaps are 0, or most of its chunks were timed by the harness's clock). */
struct headline_note {
	char label[160];
	char level[48];
	char *text; /* owned */
};

struct headline_point {
	size_t b;       /* index into backends */
	double speed;   /* tokens/s (higher better) */
	double loss;    /* quality loss (lower better): KLD, or ppl ratio - 1 */
	double third;   /* size (MiB) or J/token (lower better); NAN when not used */
	bool base;      /* the family's base precision (loss 0 by definition) */
	bool dominated; /* some other point is at least as good on every axis, better on one */
	bool within;    /* loss within the bound */
};

struct headline {
	struct headline_backend *b;
	size_t n_b;
	bool col[HL_N];            /* a column with some value */
	size_t n_synthetic;        /* backends with synthetic figures (the caveat line) */
	struct headline_note *inv; /* invalid levels, text: the reason */
	size_t n_inv;
	struct headline_note *cav; /* timing caveats, level by level */
	size_t n_cav;
	/* decision view (n_pts == 0: none; why_no_view says why when a matrix was expected) */
	struct headline_point *pts;
	size_t n_pts;
	const char *loss_name;  /* "KL divergence (nats/token)" or "perplexity ratio to base" */
	const char *loss_short; /* "KLD" or "ppl ratio" */
	bool loss_is_ratio;     /* loss shown as 1 + loss */
	double bound;           /* in shown units (KLD, or ratio) */
	const char *third_name; /* "size (MiB)", "J/token", or NULL */
	char **sentences;       /* one per family */
	size_t n_sentences;
	const char *why_no_view; /* NULL, or why a quantization matrix has no decision view */
};

struct headline_opts {
	double max_kld;       /* NAN: default */
	double max_ppl_ratio; /* NAN: default; set alone, the view uses perplexity ratio */
};

int headline_build(struct headline *h, const struct report_data *d, const struct headline_opts *o,
		   struct lb_error *err);
void headline_release(struct headline *h);
/* Rank of a quantization name, coarser later: F32 0, F16 1, BF16 2, Q8_0 3 ... unknown 1000. */
int report_quant_rank(const char *q);
/* A figure of a column as text ("980.6", "0.0%", "12.3"). */
const char *headline_fmt(enum headline_col c, double v, char *buf, size_t len);

#endif
