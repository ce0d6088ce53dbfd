/* eval_int.h: the eval phase's inside (evalrun.h is its outside): the configuration, the loaded
 * datasets, the job pool, the store helpers and the table of evaluators. One file per evaluator
 * (eval_qa.c, eval_judge.c, eval_selfcheck.c, eval_mc.c, eval_halueval.c, eval_sheets.c), each
 * exporting a `struct eval_ops`; evalrun.c drives them in the order of eval_table. Never
 * prints. */
#ifndef LB_EVAL_INT_H
#define LB_EVAL_INT_H

#include "evalrun.h"

#include "../datasets/mc.h"
#include "../datasets/qa.h"
#include "../datasets/theory.h"
#include "../datasets/yesno.h"
#include "../metrics/grade.h"
#include "../metrics/quality.h"
#include "../metrics/record.h"
#include "../metrics/store_eval.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define EVAL_MAX_CONCURRENCY 64

extern const char EVAL_NOTE_SYNTH[];

/* ---- configuration (eval_cfg.c) --------------------------------------------------------- */

struct eval_cfg {
	int concurrency; /* requests in flight at once (default 4) */
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
		double temperature;
	} qa;
	struct {
		bool on;
		char *path;
		long limit;
		char *mode;   /* "llmbench" (default) or "truthfulqa_mc" */
		char *primer; /* primer file (truthfulqa_mc) */
	} mc;
	struct {
		bool on;
		int samples;
		double temperature;
		long limit;
		int max_tokens;
		char *mode; /* "llmbench" (default) or "selfcheck_ngram" */
	} sc;
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
		char *mode;        /* "llmbench" (default) or "halueval_qa" */
		char *instruction; /* instruction file (halueval_qa) */
		char *system;      /* system message file (halueval_qa) */
	} yn;
	struct {
		bool on;
		char *path;
		long limit;
		int max_tokens;
		double temperature;
		char *out;
	} sheets;
	struct {
		bool on;
		char *base_url, *model, *api_key_env, *api;
		int max_tokens;
	} judge;
};

/* The loaded datasets and prompt texts of one eval section. */
struct eval_state {
	struct eval_cfg cfg;
	struct qa_set qa;
	struct grader *graders; /* owned, qa.n */
	struct mc_set mc;
	char *mc_primer; /* owned, truthfulqa_mc: the primer text */
	struct yn_set yn;
	char *yn_instruction; /* owned, halueval_qa */
	char *yn_system;      /* owned, halueval_qa */
	struct theory_set th;
};

/* Parsing context: errors name the workload. */
struct pctx {
	const char *wl_path;
	const char *wl_dir_base; /* the workload's path, for relative data paths */
	struct lb_error *err;
};

int eval_pfail(struct pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int eval_check_keys(struct pctx *c, const cJSON *o, const char *where, const char *const *keys);
int eval_get_num(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		 double hi, bool integer, double *out);
int eval_get_long(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		  double hi, long *out);
int eval_get_int(struct pctx *c, const cJSON *o, const char *where, const char *key, double lo,
		 double hi, int *out);
int eval_get_str(struct pctx *c, const cJSON *o, const char *where, const char *key, char **out);
/* key must be one of the NULL-terminated names (an error lists them); *out keeps its value when
 * the key is absent. */
int eval_get_enum(struct pctx *c, const cJSON *o, const char *where, const char *key,
		  const char *const *names, char **out);
/* Resolve a data path: as given (from the current directory), else beside the workload; key
 * names the field in errors ("path", "primer"). */
int eval_resolve(struct pctx *c, const char *where, const char *key, char **path);
/* A shipped file: from the current directory, else from the source tree of the binary. */
int eval_default_path(struct pctx *c, char **path, const char *def);
/* A prompt text file: its bytes with one final line ending ("\n" or "\r\n") removed. */
int eval_read_prompt(const char *path, char **out, struct lb_error *err);

/* Parse the eval JSON, load every evaluator's data; on error nothing is left allocated. */
int eval_state_load(const struct workload *wl, struct eval_state *es, struct lb_error *err);
void eval_state_release(struct eval_state *es);

/* ---- jobs (eval_jobs.c): requests sent through the backend a few at a time -------------- */

struct job {
	struct request req;
	struct lb_reqrec rec;
	char *prompt;        /* owned */
	char *messages_json; /* owned, optional */
	bool submitted, counted;
};

/* Prepare job j: takes ownership of prompt (freed on error too). */
int eval_job_init(struct job *j, char *prompt, const struct lb_gen *gen, struct lb_error *err);
/* Run the jobs on b with at most k in flight; returns 0 or a harness failure. Jobs left unsent
 * after a signal keep rec.done false; a job with rec.done set before is not sent. */
int eval_jobs_run(struct backend *b, struct job *jobs, size_t n, int k, struct lb_error *err);
void eval_jobs_free(struct job *jobs, size_t n);
char *eval_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The reply text of a successful job, else NULL. */
const char *eval_rec_text(const struct job *j);
/* s with surrounding white space trimmed (a copy; NULL on no memory). */
char *eval_trimmed(const char *s);
/* Generation settings; qa_stops: stop at "\nQuestion:" and a blank line. */
void eval_gen(struct lb_gen *g, int max_tokens, double temperature, bool qa_stops);

/* ---- the phase (evalrun.c) ------------------------------------------------------------- */

struct ectx {
	const struct workload *wl;
	struct eval_state *es;
	struct backend *b;
	struct store *st;
	int64_t run_id, backend_id;
	bool synthetic;
	const struct eval_opts *o;
	char **answers; /* owned: the QA answers (trimmed), es->qa.n, for selfcheck */
};

void eval_note(struct ectx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One per-backend summary; why_unavailable (or a NAN value) stores it as unavailable. */
int eval_put(struct ectx *x, const char *metric, double value, double n, const char *unit,
	     const char *method, const char *why_unavailable, struct lb_error *err);
/* metric, metric_lo, metric_hi */
int eval_put_est(struct ectx *x, const char *metric, const struct quality_est *e,
		 const char *method, const char *why, struct lb_error *err);

struct eval_row {
	const char *kind;
	size_t item_idx;
	const char *item_id, *domain, *prompt, *answer, *reference, *grade, *detail;
	double score;                /* NAN: NULL */
	const struct lb_reqrec *rec; /* NULL: no request */
	const char *judge_grade, *judge_reply;
	const char *method;
};
int eval_row_add(struct ectx *x, const struct eval_row *r, struct lb_error *err);

/* ---- the evaluators ---------------------------------------------------------------------- */

struct eval_ops {
	const char *key; /* its section of "eval" */
	/* Parse the section s into g (defaults first; s NULL: the section is absent). */
	void (*defaults)(struct eval_cfg *g);
	int (*parse)(struct pctx *c, const cJSON *s, struct eval_cfg *g);
	/* Load its datasets and prompt files into es (after every section is parsed). */
	int (*load)(struct eval_state *es, struct lb_error *err);
	/* Run it on x->b and store rows and summaries; NULL: run by another evaluator. */
	int (*run)(struct ectx *x, struct lb_error *err);
	bool (*on)(const struct eval_cfg *g);
};

extern const struct eval_ops eval_qa_ops, eval_judge_ops, eval_selfcheck_ops, eval_mc_ops,
	eval_halueval_ops, eval_sheets_ops;
/* In run order; NULL-terminated. */
extern const struct eval_ops *const eval_table[];

/* The QA prompt (eval_qa.c), also sampled by selfcheck. */
char *eval_qa_prompt(const char *question);
/* HaluEval's QA prompt (eval_halueval.c). Allocated. */
char *eval_halueval_prompt(const char *instruction, const char *question, const char *answer);
/* Grade the QA answers with the judge (eval_judge.c): jgr[i] per item (GRADE_NONE when no
 * answer or no readable reply); *replies owned strings (trimmed reply or the error). Returns
 * 1 when the judge is unavailable (why set), 0 when it ran, or a negative lb_errc. */
int eval_judge_qa(struct ectx *x, char *const *answers, int *jgr, char ***replies, char *why,
		  size_t why_len, struct lb_error *err);

#endif
