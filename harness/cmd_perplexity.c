/* cmd_perplexity.c: `llmbench perplexity`: llama-perplexity's figures, plus bits per byte and,
 * against a base model, the KL divergence statistics of llama.cpp's --kl-divergence. */
#include "cmd.h"

#include "../backends/gguf_make.h"
#include "../backends/ppl_run.h"
#include "../base/error.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench perplexity --model F --text T [options]\n"
	"\n"
	"Perplexity of a GGUF model on a text, computed exactly as llama.cpp's llama-perplexity\n"
	"does (non-overlapping chunks of --ctx tokens, BOS first when the vocabulary adds it, the\n"
	"second half of each chunk scored), with bits per byte beside it. With --kl-base, the KL\n"
	"divergence of the model from its F16/F32 base, computed chunk by chunk.\n"
	"\n"
	"    --model F       the GGUF model (required)\n"
	"    --text T        a text file with at least 2 x ctx tokens (required)\n"
	"    --ctx N         tokens per chunk (512; at most the model's training context)\n"
	"    --batch N       tokens per decode (2048); chunks decoded together: batch / ctx\n"
	"    --chunks N      score the first N chunks only (default: all)\n"
	"    --threads N     decode threads (default: all cores)\n"
	"    --kl-base F     base model (F16/F32 of the same model) for KL divergence\n"
	"    --json          one JSON object on stdout\n"
	"    -v, --verbose   progress on stderr\n"
	"\n"
	"A model made by `llmbench model make` (random weights; its GGUF says so in the\n"
	"llmbench.synthetic key) gets a caveat line (JSON: \"synthetic\": true): its perplexity\n"
	"and KL divergence say nothing about a real model.\n"
	"\n"
	"Exit 2 for bad input (missing or corrupt GGUF, text too short, ctx too large).\n";

static const char synth_caveat[] =
	"synthetic: random-weight generated model (llmbench model make); these figures say "
	"nothing about a real model";

struct progress {
	bool on;
};

static void on_progress(void *user, int done, int total)
{
	struct progress *p = user;

	if (p->on)
		fprintf(stderr, "perplexity: %d/%d chunks\n", done, total);
}

static int parse_pos(const char *opt, const char *s, int *out)
{
	long v;

	if (cmd_parse_long(s, &v) || v <= 0 || v > 1 << 24)
		return cmd_usage_error("perplexity",
				       "%s needs a whole number from 1 to %d, got '%s'", opt,
				       1 << 24, s);
	*out = (int)v;
	return 0;
}

static void json_num(const char *key, double v, bool comma)
{
	if (isfinite(v))
		printf("\"%s\":%.17g", key, v);
	else
		printf("\"%s\":null", key);
	if (comma)
		putchar(',');
}

static void json_str(const char *key, const char *s, bool comma)
{
	printf("\"%s\":\"", key);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	printf("\"%s", comma ? "," : "");
}

static void print_json(const struct ppl_config *c, const struct ppl_result *r, bool synthetic)
{
	int i;

	putchar('{');
	json_str("model", c->model_path, true);
	printf("\"synthetic\":%s,", synthetic ? "true" : "false");
	if (synthetic)
		json_str("caveat", synth_caveat, true);
	json_str("text", c->text_path, true);
	json_str("method", r->method, true);
	json_str("bos_policy", r->bos_policy, true);
	printf("\"add_bos\":%s,\"n_ctx\":%d,\"n_batch\":%d,\"n_seq\":%d,\"n_chunks\":%d,"
	       "\"n_text_tokens\":%zu,\"n_scored\":%zu,\"scored_bytes\":%llu,",
	       r->add_bos ? "true" : "false", r->n_ctx, r->n_batch, r->n_seq, r->n_chunks,
	       r->n_text_tokens, r->n_scored, (unsigned long long)r->scored_bytes);
	json_num("ppl", r->ppl, true);
	json_num("ppl_err", r->ppl_err, true); /* null: no estimate */
	json_num("nll_mean", r->nll_mean, true);
	json_num("bits_per_byte", r->bpb, true);
	json_num("seconds", r->seconds, r->has_kld);
	if (r->has_kld) {
		const struct kld_result *k = &r->kld;

		printf("\"kld\":{");
		json_str("base", c->kl_base_path, true);
		printf("\"count\":%zu,", k->count);
		json_num("mean", k->kld_mean, true);
		json_num("mean_err", k->kld_unc, true);
		printf("\"percentiles\":{");
		for (i = 0; i < KLD_N_PCT; i++)
			json_num(kld_pct_names[i], k->kld_pct[i], i + 1 < KLD_N_PCT);
		printf("},");
		json_num("same_top", k->same_top, true);
		json_num("same_top_err", k->same_top_unc, true);
		json_num("dp_mean", k->p_diff_mean, true);
		json_num("dp_mean_err", k->p_diff_unc, true);
		json_num("dp_rms", k->p_diff_rms, true);
		json_num("dp_rms_err", k->p_diff_rms_unc, true);
		json_num("dp_max_abs", k->max_abs_p_diff, true);
		json_num("ppl_q", k->ppl_q, true);
		json_num("ppl_q_err", k->ppl_q_unc, true);
		json_num("ppl_base", k->ppl_base, true);
		json_num("ppl_base_err", k->ppl_base_unc, true);
		json_num("ln_ppl_ratio", k->log_ppl_ratio, true);
		json_num("ln_ppl_ratio_err", k->log_ppl_ratio_unc, true);
		json_num("ppl_ratio", k->ppl_ratio, true);
		json_num("ppl_ratio_err", k->ppl_ratio_unc, true);
		json_num("ppl_diff", k->ppl_diff, true);
		json_num("ppl_diff_err", k->ppl_diff_unc, true);
		json_num("ln_ppl_correlation", k->log_ppl_cor, false);
		putchar('}');
	}
	printf("}\n");
}

static void print_text(const struct ppl_config *c, const struct ppl_result *r, bool synthetic)
{
	static const char *const labels[KLD_N_PCT] = {
		"Maximum KLD", "99.9%   KLD", "99.0%   KLD", "95.0%   KLD",
		"90.0%   KLD", "Median  KLD", "10.0%   KLD", " 5.0%   KLD",
		" 1.0%   KLD", " 0.1%   KLD", "Minimum KLD",
	};
	int i;

	printf("model:  %s\ntext:   %s (%zu tokens)\n", c->model_path, c->text_path,
	       r->n_text_tokens);
	if (synthetic)
		printf("%s\n", synth_caveat);
	printf("method: %s; n_ctx %d, batch %d (%d sequence%s per pass), %d chunks, %s\n",
	       r->method, r->n_ctx, r->n_batch, r->n_seq, r->n_seq == 1 ? "" : "s", r->n_chunks,
	       r->bos_policy);
	if (isfinite(r->ppl_err))
		printf("Final estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_err);
	else
		printf("Final estimate: PPL = %.4f +/- unavailable: no error estimate (fewer than 2 "
		       "scored tokens, or no variance of the NLL)\n",
		       r->ppl);
	printf("bits per byte: %.4f (%zu scored tokens, %llu bytes)\n", r->bpb, r->n_scored,
	       (unsigned long long)r->scored_bytes);
	if (!r->has_kld)
		return;
	const struct kld_result *k = &r->kld;

	printf("\nKL divergence against %s (%zu tokens)\n", c->kl_base_path, k->count);
	printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", k->ppl_q, k->ppl_q_unc);
	printf("Mean PPL(base)                : %10.6f ± %10.6f\n", k->ppl_base, k->ppl_base_unc);
	printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * k->log_ppl_cor);
	printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", k->log_ppl_ratio,
	       k->log_ppl_ratio_unc);
	printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", k->ppl_ratio, k->ppl_ratio_unc);
	printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", k->ppl_diff, k->ppl_diff_unc);
	printf("Mean    KLD: %10.6f ± %10.6f\n", k->kld_mean, k->kld_unc);
	for (i = 0; i < KLD_N_PCT; i++)
		printf("%s: %10.6f\n", labels[i], k->kld_pct[i]);
	printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * k->p_diff_mean, 100.0 * k->p_diff_unc);
	printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * k->p_diff_rms, 100.0 * k->p_diff_rms_unc);
	printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * k->same_top, 100.0 * k->same_top_unc);
}

int cmd_perplexity(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "text", required_argument, NULL, 'f' },
		{ "ctx", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "chunks", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "kl-base", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ppl_config cfg = { 0 };
	struct ppl_result res;
	struct progress prog = { ctx->verbose > 0 };
	struct lb_error err = LB_ERROR_INIT;
	bool json = false, synthetic;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = cmd_getopt(argc, argv, "perplexity", "hv", longopts)) != -1) {
		rc = 0;
		switch (c) {
		case 'm': cfg.model_path = optarg; break;
		case 'f': cfg.text_path = optarg; break;
		case 'k': cfg.kl_base_path = optarg; break;
		case 'c': rc = parse_pos("--ctx", optarg, &cfg.n_ctx); break;
		case 'b': rc = parse_pos("--batch", optarg, &cfg.n_batch); break;
		case 'n': rc = parse_pos("--chunks", optarg, &cfg.n_chunks); break;
		case 't': rc = parse_pos("--threads", optarg, &cfg.threads); break;
		case 'j': json = true; break;
		case 'v': prog.on = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
		if (rc)
			return rc;
	}
	if (optind != argc)
		return cmd_usage_error("perplexity", "unexpected argument '%s'", argv[optind]);
	if (!cfg.model_path)
		return cmd_usage_error("perplexity", "--model FILE is required");
	if (!cfg.text_path)
		return cmd_usage_error("perplexity", "--text FILE is required");
	cfg.progress = on_progress;
	cfg.progress_user = &prog;
	rc = ppl_run(&cfg, &res, &err);
	if (rc)
		return cmd_fail(&err);
	synthetic = lb_gguf_synthetic(cfg.model_path) == 1 ||
		    (cfg.kl_base_path && lb_gguf_synthetic(cfg.kl_base_path) == 1);
	if (json)
		print_json(&cfg, &res, synthetic);
	else
		print_text(&cfg, &res, synthetic);
	return 0;
}
