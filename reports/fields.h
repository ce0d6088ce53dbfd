/* fields.h: the one table of report fields (after llama-bench's get_fields/get_field_type).
 *
 * Every column a report can show: matrix parameters (run, backend, level, ...) and the store's
 * metric names, with their type, display name, width, table group and vLLM key. Metrics the
 * table does not know are still shown (generic over names), after the known ones. Pure: no I/O. */
#ifndef LB_FIELDS_H
#define LB_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

enum field_type {
	FIELD_TEXT,
	FIELD_INT,
	FIELD_REAL,
	FIELD_BOOL
};

struct field_desc {
	const char *name; /* "ttft_p50_ms": the store's metric name, unit in the name */
	enum field_type type;
	const char *display;       /* "TTFT p50 (ms)" */
	int width;                 /* markdown width; negative = left-aligned (llama-bench) */
	unsigned is_param : 1;     /* a matrix parameter: shown only if it varies */
	unsigned in_table : 1;     /* shown in human tables (md/html); CSV/JSON carry every field */
	const char *group;         /* table it belongs to: "ttft", "throughput", "ppl", ... */
	const char *vllm;          /* vLLM bench_serving key ("median_ttft_ms"), or NULL */
	const char *short_display; /* column head inside its group table ("p50") */
};

struct field_group {
	const char *id;    /* "ttft" */
	const char *title; /* "TTFT (ms): time to first token" */
	const char *note;  /* one line under the title, or NULL */
};

/* The parameter fields, in table order (run, backend, type, model, family, quant, mode, ...). */
const struct field_desc *fields_params(size_t *n);
/* The known metrics, in report order. */
const struct field_desc *fields_metrics(size_t *n);
/* Groups in report order; the last is "other" (metrics the table does not know). */
const struct field_group *fields_groups(size_t *n);

/* The field of a metric name. Unknown names get a generic descriptor (display = name, group
 * "other" or the group their prefix implies, e.g. "requests_failed_http_503"); the result is
 * written to *tmp and returned. This function can't fail. */
const struct field_desc *fields_lookup(const char *name, struct field_desc *tmp);
/* Position of a metric in report order (unknown names sort after every known one). */
int fields_rank(const char *name);
/* Order two metric names by report order, then by name. */
int fields_cmp(const char *a, const char *b);

/* Companion fields carry an error of another: "<x>_sd", "<x>_err" (shown as "x ± e") and
 * "<x>_lo"/"<x>_hi" (shown as "x [lo, hi]"). Returns true when name is one, with the base
 * name length in *base_len. */
bool fields_is_companion(const char *name, size_t *base_len);

/* Format v for people: integers without decimals, others with 3-4 significant digits.
 * Deterministic (goldens compare bytes). Returns buf. */
char *fields_fmt_num(char *buf, size_t len, double v, enum field_type type);
/* Format v for machines: the shortest of %.15g/%.17g that reads back as v. Returns buf. */
char *fields_fmt_exact(char *buf, size_t len, double v);

#endif
