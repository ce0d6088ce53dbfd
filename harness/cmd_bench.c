/* cmd_bench.c: `llmbench bench --base-url URL --model M [...]`: benchmark an OpenAI-compatible
 * endpoint from flags alone, with `vllm bench serve`'s option names; the run is stored like any
 * other, vLLM's summary block is printed and --save-result writes vLLM's result JSON. */
#include "cmd.h"

#include "../base/error.h"
#include "../metrics/store.h"
#include "../reports/vllm.h"
#include "bench_workload.h"
#include "runner.h"
#include "workload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench bench --base-url URL --model NAME [--api completions|chat]\n"
	"                      [--num-prompts N] [--request-rate R|inf] [--max-concurrency N]\n"
	"                      [--dataset-name random|sharegpt|custom|jsonl|lines|synthetic]\n"
	"                      [--dataset-path FILE] [--save-result] [--dump-workload] [...]\n"
	"\n"
	"Benchmark a running OpenAI-compatible server (vLLM, llama-server, SGLang, TGI, Ollama)\n"
	"from flags alone, with vllm bench serve's option names (docs/cli/bench.md maps every\n"
	"vLLM and GuideLLM option). The flags build a workload (--dump-workload prints it), the\n"
	"run is stored like any other (llmbench runs, report, compare, gate) and vLLM's summary\n"
	"block is printed.\n"
	"\n"
	"Server:\n"
	"  --base-url URL          server root or API root (http://host:port or .../v1)\n"
	"  --host H, --port P      instead of --base-url (default 127.0.0.1:8000)\n"
	"  --endpoint PATH         /v1/completions (default) or /v1/chat/completions\n"
	"  --backend B             openai or vllm (completions), openai-chat (chat), as vLLM\n"
	"  --api completions|chat  the same, in llmbench's words\n"
	"  --model NAME            the model field sent (required)\n"
	"  --served-model-name N   sent instead of --model\n"
	"  --tokenizer NAME        recorded as tokenizer_id (token counts come from the server)\n"
	"  --api-key-env VAR       the environment variable holding the API key\n"
	"Load:\n"
	"  --num-prompts N         measured requests (default 1000)\n"
	"  --request-rate R        requests/s, Poisson or gamma arrivals; inf (default): all at\n"
	"                          once, as a closed loop of --max-concurrency (or N) streams\n"
	"  --burstiness K          gamma shape of the arrivals (1 = Poisson, default)\n"
	"  --max-concurrency N     at most N requests in flight\n"
	"  --num-warmups N         warm-up requests first, left out of every figure (default 0)\n"
	"  --workers N|auto        worker event loops sending the requests (default auto;\n"
	"                          docs/performance.md \"Workers\")\n"
	"  --seed S                dataset and arrival seed (default 0)\n"
	"Dataset:\n"
	"  --dataset-name NAME     random (default), sharegpt, custom (JSONL with prompt), jsonl,\n"
	"                          lines (default path: the shipped prompts), synthetic\n"
	"  --dataset-path FILE     the file for sharegpt, custom, jsonl, lines, synthetic\n"
	"  --random-input-len N    random: prompt tokens (default 1024)\n"
	"  --random-output-len N   random: output tokens (default 128)\n"
	"  --random-range-ratio R  random: lengths uniform in [N(1-R), N(1+R)] (default 0)\n"
	"  --random-prefix-len N   random: a shared prefix of N tokens (default 0)\n"
	"Sampling:\n"
	"  --max-tokens N          (also --sharegpt-output-len) output tokens asked for\n"
	"                          (default: --random-output-len for random, else 128)\n"
	"  --temperature T, --top-p P, --top-k K, --ignore-eos, --no-stream\n"
	"Timing:\n"
	"  --rx-timestamps M       kernel (default): response bytes timed by the kernel's\n"
	"                          receive time; harness: when the event loop reads them (one\n"
	"                          syscall less per read; docs/backends/openai.md \"Timing\")\n"
	"  --http-client C         auto (default): native for http://, libcurl for https;\n"
	"                          native: llmbench's own HTTP/1.1 client (less CPU per\n"
	"                          request and chunk); libcurl\n"
	"Results:\n"
	"  --percentile-metrics L  printed metrics: ttft,tpot,itl,e2el (default ttft,tpot,itl)\n"
	"  --metric-percentiles L  printed percentiles, e.g. 50,90,99 (default 99)\n"
	"  --goodput \"K:MS ...\"    SLOs for goodput: ttft, tpot, e2el in ms\n"
	"  --save-result           write vLLM's result JSON (one object per level)\n"
	"  --result-dir DIR        where (default: the current directory; created)\n"
	"  --result-filename FILE  its name (default vLLM's <backend>-<rate>qps-...-<date>.json)\n"
	"  --save-detailed         keep each request's generated text (vLLM's generated_texts)\n"
	"  --db FILE               the store (default llmbench.db)\n"
	"  --name NAME             the run's name (default bench-<date>-<time>)\n"
	"  --dump-workload         print the workload JSON the flags build and exit (nothing sent)\n"
	"  --no-preflight          skip the one request sent before the run (without it, a\n"
	"                          server that fails it stops the run: nothing is stored)\n"
	"  --progress, --no-progress, --disable-tqdm  progress on stderr or not (default: on a\n"
	"                          terminal)\n"
	"\n"
	"Exit: 0 done, 2 bad option (nothing sent), 3 runtime failure, interrupted or no request\n"
	"succeeded.\n";

enum {
	O_BASE_URL = 256,
	O_HOST,
	O_PORT,
	O_ENDPOINT,
	O_BACKEND,
	O_API,
	O_MODEL,
	O_SERVED,
	O_TOK,
	O_KEYENV,
	O_NUM,
	O_RATE,
	O_BURST,
	O_MAXC,
	O_WORKERS,
	O_WARM,
	O_SEED,
	O_DSNAME,
	O_DSPATH,
	O_RIN,
	O_ROUT,
	O_RRATIO,
	O_RPREFIX,
	O_MAXTOK,
	O_TEMP,
	O_TOPP,
	O_TOPK,
	O_IGNEOS,
	O_NOSTREAM,
	O_RXTS,
	O_HTTPCLIENT,
	O_PMETRICS,
	O_PCTS,
	O_GOODPUT,
	O_SAVE,
	O_RDIR,
	O_RFILE,
	O_DETAILED,
	O_NAME,
	O_DUMP,
	O_PROGRESS,
	O_NOPROGRESS,
	O_NOPREFLIGHT,
	O_HELP,
};

static void on_signal(int sig)
{
	(void)sig;
	if (runner_stop < 2)
		runner_stop++;
}

static void print_note(void *ctx, const char *msg)
{
	const bool *verbose = ctx;

	if (!*verbose && !strncmp(msg, "power", 5))
		return; /* bench asks for no power figures */
	fprintf(stderr, "llmbench: %s\n", msg);
}

struct print_ctx {
	struct vllm_opts vo;
	FILE *result;
	const char *result_path;
	int levels;
};

static int on_level(void *ctx, const struct vllm_level *l, struct lb_error *err)
{
	struct print_ctx *p = ctx;

	if (p->levels++)
		putchar('\n');
	vllm_print_summary(stdout, l, &p->vo);
	if (!l->valid)
		fprintf(stderr, "llmbench: warning: this level is invalid: %s\n",
			l->invalid_reason ? l->invalid_reason : "(no reason stored)");
	if (p->result && vllm_write_result(p->result, l, &p->vo, err))
		return lb_error_prefix(err, "'%s'", p->result_path);
	return 0;
}

static int parse_pos_long(const char *flag, const char *s, long min, long *out)
{
	if (cmd_parse_long(s, out) || *out < min) {
		cmd_usage_error("bench", "%s needs a whole number >= %ld, got '%s'", flag, min, s);
		return -1;
	}
	return 0;
}

static int parse_real(const char *flag, const char *s, double *out)
{
	if (cmd_parse_double(s, out)) {
		cmd_usage_error("bench", "%s needs a number, got '%s'", flag, s);
		return -1;
	}
	return 0;
}

/* "50,90,99" -> {50, 90, 99} */
static int parse_percentiles(const char *s, double *p, size_t max, size_t *n)
{
	char tok[64];
	const char *q = s;

	*n = 0;
	while (*q) {
		size_t k = strcspn(q, ",");
		double v;

		snprintf(tok, sizeof(tok), "%.*s", (int)(k < sizeof(tok) ? k : sizeof(tok) - 1), q);
		q += k;
		if (*q)
			q++;

		if (*n >= max || cmd_parse_double(tok, &v) || v <= 0 || v >= 100) {
			cmd_usage_error("bench",
					"--metric-percentiles takes up to %zu numbers in "
					"(0, 100), got '%s'",
					max, s);
			return -1;
		}
		p[(*n)++] = v;
	}
	if (!*n) {
		cmd_usage_error("bench", "--metric-percentiles is empty");
		return -1;
	}
	return 0;
}

static int check_metrics(const char *s)
{
	char tok[64];

	while (*s) {
		size_t k = strcspn(s, ",");

		snprintf(tok, sizeof(tok), "%.*s", (int)(k < sizeof(tok) ? k : sizeof(tok) - 1), s);
		s += k;
		if (*s)
			s++;
		if (strcmp(tok, "ttft") && strcmp(tok, "tpot") && strcmp(tok, "itl") &&
		    strcmp(tok, "e2el")) {
			cmd_usage_error("bench",
					"--percentile-metrics: unknown metric '%s' (valid: "
					"ttft, tpot, itl, e2el)",
					tok);
			return -1;
		}
	}
	return 0;
}

/* A workload or dataset-spec error about a field the flags set names the flag instead:
 * "'bench.json': generation.top_p: expected ..." -> "--top-p: expected ...". */
static void name_the_flag(struct lb_error *err, bool rate)
{
	static const struct {
		const char *field, *flag;
	} map[] = {
		{ "generation.top_p", "--top-p" },
		{ "generation.top_k", "--top-k" },
		{ "generation.temperature", "--temperature" },
		{ "generation.max_tokens", "--max-tokens" },
		{ "backends[0].base_url", "--base-url" },
		{ "backends[0].model", "--model" },
		{ "load.requests", "--num-prompts" },
		{ "load.warmup", "--num-warmups" },
		{ "load.max_inflight", "--max-concurrency" },
		{ "prompt_tokens", "--random-input-len" },
		{ "output_tokens", "--random-output-len" },
		{ "prefix_tokens", "--random-prefix-len" },
		{ "count", "--num-prompts" },
	};
	char rest[LB_ERROR_MSG_MAX];
	const char *m = err->msg, *field, *colon;
	size_t i, n;

	if (*m != '\'' || !(field = strstr(m, "': ")))
		return;
	field += 3;
	colon = strstr(field, ": ");
	if (!colon)
		return;
	n = (size_t)(colon - field);
	snprintf(rest, sizeof(rest), "%s", colon + 2);
	if (n >= 14 && !strncmp(field, "load.levels[0]", 14)) {
		lb_error_set(err, err->code, "%s: %s",
			     rate ? "--request-rate" : "--max-concurrency (or --num-prompts)",
			     rest);
		return;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t k = strlen(map[i].field);

		if (n >= k && !strncmp(field, map[i].field, k) && (n == k || field[k] == '.')) {
			lb_error_set(err, err->code, "%s: %s", map[i].flag, rest);
			return;
		}
	}
}

int cmd_bench(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "base-url", required_argument, NULL, O_BASE_URL },
		{ "host", required_argument, NULL, O_HOST },
		{ "port", required_argument, NULL, O_PORT },
		{ "endpoint", required_argument, NULL, O_ENDPOINT },
		{ "backend", required_argument, NULL, O_BACKEND },
		{ "api", required_argument, NULL, O_API },
		{ "model", required_argument, NULL, O_MODEL },
		{ "served-model-name", required_argument, NULL, O_SERVED },
		{ "tokenizer", required_argument, NULL, O_TOK },
		{ "api-key-env", required_argument, NULL, O_KEYENV },
		{ "num-prompts", required_argument, NULL, O_NUM },
		{ "request-rate", required_argument, NULL, O_RATE },
		{ "burstiness", required_argument, NULL, O_BURST },
		{ "max-concurrency", required_argument, NULL, O_MAXC },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "num-warmups", required_argument, NULL, O_WARM },
		{ "seed", required_argument, NULL, O_SEED },
		{ "dataset-name", required_argument, NULL, O_DSNAME },
		{ "dataset-path", required_argument, NULL, O_DSPATH },
		{ "random-input-len", required_argument, NULL, O_RIN },
		{ "random-output-len", required_argument, NULL, O_ROUT },
		{ "random-range-ratio", required_argument, NULL, O_RRATIO },
		{ "random-prefix-len", required_argument, NULL, O_RPREFIX },
		{ "max-tokens", required_argument, NULL, O_MAXTOK },
		{ "sharegpt-output-len", required_argument, NULL, O_MAXTOK },
		{ "temperature", required_argument, NULL, O_TEMP },
		{ "top-p", required_argument, NULL, O_TOPP },
		{ "top-k", required_argument, NULL, O_TOPK },
		{ "ignore-eos", no_argument, NULL, O_IGNEOS },
		{ "no-stream", no_argument, NULL, O_NOSTREAM },
		{ "rx-timestamps", required_argument, NULL, O_RXTS },
		{ "http-client", required_argument, NULL, O_HTTPCLIENT },
		{ "percentile-metrics", required_argument, NULL, O_PMETRICS },
		{ "metric-percentiles", required_argument, NULL, O_PCTS },
		{ "goodput", required_argument, NULL, O_GOODPUT },
		{ "save-result", no_argument, NULL, O_SAVE },
		{ "result-dir", required_argument, NULL, O_RDIR },
		{ "result-filename", required_argument, NULL, O_RFILE },
		{ "save-detailed", no_argument, NULL, O_DETAILED },
		{ "name", required_argument, NULL, O_NAME },
		{ "dump-workload", no_argument, NULL, O_DUMP },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "disable-tqdm", no_argument, NULL, O_NOPROGRESS },
		{ "no-progress", no_argument, NULL, O_NOPROGRESS },
		{ "no-preflight", no_argument, NULL, O_NOPREFLIGHT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts bo;
	struct runner_opts ro = { 0 };
	struct runner_result res;
	struct workload wl = { 0 };
	struct print_ctx pc = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	struct cmd_out result = { 0 };
	struct store *st = NULL;
	const char *host = "127.0.0.1", *endpoint = NULL, *base_url = NULL, *backend = NULL;
	const char *served = NULL, *tokenizer = NULL, *rdir = NULL, *rfile = NULL;
	const char *pmetrics = "ttft,tpot,itl", *api_flag = NULL;
	char url[1024], spec[4400], cachedir[4096], date[32], path[4400];
	double pcts[16] = { 99 };
	size_t n_pcts = 1;
	long port = 8000;
	bool dump = false, save = false, verbose = ctx->verbose > 0;
	char *json = NULL;
	int c, rc, exit_code = 0;
	bool db_new;

	bench_opts_init(&bo);
	ro.progress = ctx->stderr_tty ? cmd_print_progress : NULL;
	ro.drain_s = 2;
	ro.note = print_note;
	ro.note_ctx = &verbose;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "bench", "h", longopts)) != -1) {
		switch (c) {
		case O_BASE_URL: base_url = optarg; break;
		case O_HOST: host = optarg; break;
		case O_PORT:
			if (cmd_parse_long(optarg, &port) || port < 1 || port > 65535)
				return cmd_usage_error(
					"bench", "--port needs a port from 1 to 65535, got '%s'",
					optarg);
			break;
		case O_ENDPOINT: endpoint = optarg; break;
		case O_BACKEND: backend = optarg; break;
		case O_API:
			if (strcmp(optarg, "completions") && strcmp(optarg, "chat"))
				return cmd_usage_error(
					"bench", "--api is completions or chat, not '%s'", optarg);
			api_flag = optarg;
			break;
		case O_MODEL: bo.model = optarg; break;
		case O_SERVED: served = optarg; break;
		case O_TOK: tokenizer = optarg; break;
		case O_KEYENV: bo.api_key_env = optarg; break;
		case O_NUM:
			if (parse_pos_long("--num-prompts", optarg, 1, &bo.num_prompts))
				return 2;
			break;
		case O_RATE:
			if (!strcasecmp(optarg, "inf") || !strcasecmp(optarg, "infinity")) {
				bo.request_rate = INFINITY;
			} else if (parse_real("--request-rate", optarg, &bo.request_rate) ||
				   bo.request_rate <= 0) {
				return bo.request_rate <= 0
					       ? cmd_usage_error("bench", "--request-rate "
									  "must be > 0 or inf")
					       : 2;
			}
			break;
		case O_BURST:
			if (parse_real("--burstiness", optarg, &bo.burstiness))
				return 2;
			break;
		case O_MAXC:
			if (parse_pos_long("--max-concurrency", optarg, 1, &bo.max_concurrency))
				return 2;
			break;
		case O_WORKERS:
			bo.workers = 0;
			if (strcmp(optarg, "auto") && (cmd_parse_long(optarg, &bo.workers) ||
						       bo.workers < 1 || bo.workers > 256))
				return cmd_usage_error("bench",
						       "--workers needs a count from 1 to 256 or "
						       "auto, got '%s'",
						       optarg);
			break;
		case O_WARM:
			if (parse_pos_long("--num-warmups", optarg, 0, &bo.num_warmups))
				return 2;
			break;
		case O_SEED:
			if (parse_pos_long("--seed", optarg, 0, &bo.seed))
				return 2;
			break;
		case O_DSNAME: bo.dataset_name = optarg; break;
		case O_DSPATH: bo.dataset_path = optarg; break;
		case O_RIN:
			if (parse_pos_long("--random-input-len", optarg, 1, &bo.random_input_len))
				return 2;
			break;
		case O_ROUT:
			if (parse_pos_long("--random-output-len", optarg, 1, &bo.random_output_len))
				return 2;
			break;
		case O_RRATIO:
			if (parse_real("--random-range-ratio", optarg, &bo.random_range_ratio))
				return 2;
			break;
		case O_RPREFIX:
			if (parse_pos_long("--random-prefix-len", optarg, 0, &bo.random_prefix_len))
				return 2;
			break;
		case O_MAXTOK:
			if (parse_pos_long("--max-tokens", optarg, 1, &bo.max_tokens))
				return 2;
			break;
		case O_TEMP:
			if (parse_real("--temperature", optarg, &bo.temperature) ||
			    bo.temperature < 0)
				return bo.temperature < 0
					       ? cmd_usage_error("bench", "--temperature "
									  "must be >= 0")
					       : 2;
			break;
		case O_TOPP:
			if (parse_real("--top-p", optarg, &bo.top_p))
				return 2;
			break;
		case O_TOPK:
			if (parse_pos_long("--top-k", optarg, 0, &bo.top_k))
				return 2;
			break;
		case O_IGNEOS: bo.ignore_eos = true; break;
		case O_NOSTREAM: bo.stream = false; break;
		case O_RXTS:
			if (strcmp(optarg, "kernel") && strcmp(optarg, "harness"))
				return cmd_usage_error(
					"bench", "--rx-timestamps is kernel or harness, not '%s'",
					optarg);
			bo.rx_timestamps = optarg;
			break;
		case O_HTTPCLIENT:
			if (strcmp(optarg, "auto") && strcmp(optarg, "libcurl") &&
			    strcmp(optarg, "native"))
				return cmd_usage_error(
					"bench",
					"--http-client is auto, native or libcurl, not '%s'",
					optarg);
			bo.http_client = optarg;
			break;
		case O_PMETRICS:
			if (check_metrics(optarg))
				return 2;
			pmetrics = optarg;
			break;
		case O_PCTS:
			if (parse_percentiles(optarg, pcts, sizeof(pcts) / sizeof(pcts[0]),
					      &n_pcts))
				return 2;
			break;
		case O_GOODPUT: bo.goodput = optarg; break;
		case O_SAVE: save = true; break;
		case O_RDIR:
			rdir = optarg;
			save = true;
			break;
		case O_RFILE:
			rfile = optarg;
			save = true;
			break;
		case O_DETAILED: ro.keep_text = true; break;
		case O_NAME: ro.run_name = optarg; break;
		case O_DUMP: dump = true; break;
		case O_PROGRESS: ro.progress = cmd_print_progress; break;
		case O_NOPROGRESS: ro.progress = NULL; break;
		case O_NOPREFLIGHT: ro.no_preflight = true; break;
		case 'h':
		case O_HELP: fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	if (cmd_check_run_name("bench", ro.run_name))
		return 2;
	if (!bo.model)
		return cmd_usage_error("bench", "--model NAME is required");
	/* the API: from --api, --backend and --endpoint, which must agree where given */
	{
		const char *from_backend = NULL, *from_endpoint = NULL;

		if (backend && !strcmp(backend, "openai-chat"))
			from_backend = "chat";
		else if (backend && (!strcmp(backend, "openai") || !strcmp(backend, "vllm") ||
				     !strcmp(backend, "openai-compatible")))
			from_backend = "completions";
		else if (backend)
			return cmd_usage_error("bench",
					       "--backend %s: llmbench speaks the OpenAI API: "
					       "openai, vllm or openai-chat",
					       backend);
		if (endpoint) {
			size_t n = strlen(endpoint);

			while (n && endpoint[n - 1] == '/')
				n--;
			if (n >= 17 && !strncmp(endpoint + n - 17, "/chat/completions", 17))
				from_endpoint = "chat";
			else if (n >= 12 && !strncmp(endpoint + n - 12, "/completions", 12))
				from_endpoint = "completions";
			else
				return cmd_usage_error("bench",
						       "--endpoint %s: llmbench benchmarks "
						       "/v1/completions or /v1/chat/completions",
						       endpoint);
		}
		if (api_flag && from_backend && strcmp(api_flag, from_backend))
			return cmd_usage_error("bench", "--api %s and --backend %s disagree",
					       api_flag, backend);
		if (api_flag && from_endpoint && strcmp(api_flag, from_endpoint))
			return cmd_usage_error("bench", "--api %s and --endpoint %s disagree",
					       api_flag, endpoint);
		if (from_backend && from_endpoint && strcmp(from_backend, from_endpoint))
			return cmd_usage_error("bench", "--backend %s and --endpoint %s disagree",
					       backend, endpoint);
		bo.api = api_flag        ? api_flag
			 : from_backend  ? from_backend
			 : from_endpoint ? from_endpoint
					 : bo.api;
	}
	/* llmbench's base_url is the API root, up to /v1 */
	{
		const char *root = base_url;
		size_t n;
		char hostport[512];

		if (!root) {
			snprintf(hostport, sizeof(hostport), "http://%s:%ld", host, port);
			root = hostport;
		}
		n = strlen(root);
		while (n && root[n - 1] == '/')
			n--;
		if (n >= 3 && !strncmp(root + n - 3, "/v1", 3))
			snprintf(url, sizeof(url), "%.*s", (int)n, root);
		else if (endpoint && strncmp(endpoint, "/v1/", 4))
			return cmd_usage_error("bench",
					       "--endpoint %s: llmbench needs an OpenAI API "
					       "under /v1 (give --base-url .../PREFIX/v1)",
					       endpoint);
		else
			snprintf(url, sizeof(url), "%.*s/v1", (int)n, root);
		bo.base_url = url;
	}
	if (served)
		bo.model = served;
	if (bo.dataset_path && !strcmp(bo.dataset_name, "random"))
		return cmd_usage_error("bench",
				       "--dataset-path %s: the random dataset makes its own "
				       "prompts; name the file's format with --dataset-name "
				       "(sharegpt, custom, jsonl, lines, synthetic)",
				       bo.dataset_path);
	if (isinf(bo.request_rate) && bo.burstiness != 1.0)
		fprintf(stderr,
			"llmbench: warning: --burstiness %g has no effect with "
			"--request-rate inf (every request is sent at once)\n",
			bo.burstiness);
	if (cmd_db_is_folder(ctx))
		return 2;
	/* the random dataset's spec goes in the cache beside the store */
	{
		const char *slash = strrchr(ctx->db, '/');
		char cwd[2048];
		bool rel = ctx->db[0] != '/' && getcwd(cwd, sizeof(cwd));

		/* absolute: a workload that --dump-workload printed runs from any folder */
		snprintf(cachedir, sizeof(cachedir), "%s%s%.*s.llmbench-cache/bench",
			 rel ? cwd : "", rel ? "/" : "", slash ? (int)(slash - ctx->db + 1) : 0,
			 ctx->db);
		snprintf(spec, sizeof(spec), "%s/random-in%ld-out%ld-r%g-p%ld-n%ld-s%ld.json",
			 cachedir, bo.random_input_len, bo.random_output_len, bo.random_range_ratio,
			 bo.random_prefix_len, bo.num_prompts, bo.seed);
		bo.random_spec_path = spec;
		if (!strcmp(bo.dataset_name, "random") && cmd_mkdirs(cachedir)) {
			lb_error_set(&err, LB_ERR_IO, "cannot create '%s': %s", cachedir,
				     strerror(errno));
			return cmd_fail(&err);
		}
	}
	if (bench_workload_build(&bo, &json, &err)) {
		name_the_flag(&err, !isinf(bo.request_rate));
		return cmd_fail(&err);
	}
	/* checked before it is printed too: --dump-workload prints only what run accepts */
	rc = workload_parse(&wl, json, strlen(json), "bench.json", NULL, 0, &err);
	if (!rc && dump)
		printf("%s\n", json);
	cJSON_free(json);
	if (rc) {
		name_the_flag(&err, !isinf(bo.request_rate));
		return cmd_fail(&err);
	}
	if (dump) {
		workload_release(&wl);
		return 0;
	}
	{
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y%m%d-%H%M%S", &tm);
	}
	pc.vo.backend_name = !strcmp(bo.api, "chat") ? "openai-chat" : "openai";
	pc.vo.tokenizer_id = tokenizer ? tokenizer : bo.model;
	pc.vo.date = date;
	pc.vo.num_prompts = bo.num_prompts;
	pc.vo.request_rate = bo.request_rate;
	pc.vo.burstiness = bo.burstiness;
	pc.vo.max_concurrency = bo.max_concurrency;
	pc.vo.percentile_metrics = pmetrics;
	pc.vo.percentiles = pcts;
	pc.vo.n_percentiles = n_pcts;
	pc.vo.goodput_set = bo.goodput && *bo.goodput;
	if (save) {
		char rate[32], conc[32], model[256];
		size_t i;

		if (isinf(bo.request_rate))
			snprintf(rate, sizeof(rate), "inf");
		else
			snprintf(rate, sizeof(rate), "%g", bo.request_rate);
		if (bo.max_concurrency > 0)
			snprintf(conc, sizeof(conc), "-concurrency%ld", bo.max_concurrency);
		else
			conc[0] = '\0';
		/* vLLM: the model id's last path part */
		snprintf(model, sizeof(model), "%s",
			 strrchr(bo.model, '/') ? strrchr(bo.model, '/') + 1 : bo.model);
		for (i = 0; model[i]; i++)
			if (model[i] == ' ')
				model[i] = '_';
		if (rdir && cmd_mkdirs(rdir)) {
			lb_error_set(&err, LB_ERR_IO, "cannot create '%s': %s", rdir,
				     strerror(errno));
			workload_release(&wl);
			return cmd_fail(&err);
		}
		if (rfile)
			snprintf(path, sizeof(path), "%s%s%s", rdir && rfile[0] != '/' ? rdir : "",
				 rdir && rfile[0] != '/' ? "/" : "", rfile);
		else
			snprintf(path, sizeof(path), "%s%s%s-%sqps%s-%s-%s.json", rdir ? rdir : "",
				 rdir ? "/" : "", pc.vo.backend_name, rate, conc, model, date);
		pc.result_path = path;
	}
	db_new = cmd_store_absent(ctx);
	rc = cmd_store(ctx, &st);
	if (rc) {
		workload_release(&wl);
		return rc;
	}
	cmd_catch_stop_signals(on_signal);
	signal(SIGPIPE, SIG_IGN);
	rc = runner_run(&wl, st, &ro, &res, &err);
	workload_release(&wl);
	if (rc && err.msg[0] == '\'' && !strncmp(err.msg + 1, spec, strlen(spec)))
		name_the_flag(&err, !isinf(bo.request_rate)); /* the random dataset's spec */
	if (rc) {
		exit_code = cmd_fail(&err);
		if (db_new && !res.run_id)
			cmd_store_drop(ctx);
		return exit_code;
	}
	if (res.run_id && cmd_mark_power(st, res.run_id, false, &err))
		return cmd_fail(&err);
	if (store_flush(st, &err))
		return cmd_fail(&err);
	if (save) {
		if (cmd_out_open(&result, path, LB_ERR_IO, &err))
			return cmd_fail(&err);
		pc.result = result.f;
	}
	rc = vllm_levels(st, res.run_name, on_level, &pc, &err);
	if (save) {
		int crc = cmd_out_close(&result, !rc, &err);

		rc = rc ? rc : crc;
	}
	if (rc)
		return cmd_fail(&err);
	if (res.interrupted) {
		fprintf(stderr, "llmbench: run '%s' interrupted; what finished is stored in '%s'\n",
			res.run_name, ctx->db);
		exit_code = 3;
	} else if (res.backends_failed) {
		fprintf(stderr, "llmbench: error: the server at %s could not be used\n",
			bo.base_url);
		exit_code = 3;
	} else if (res.levels_no_success) {
		/* as run: a dead server is never a green benchmark */
		fprintf(stderr,
			"llmbench: error: no request succeeded; run '%s' stored as failed "
			"(llmbench export --run %s shows each request's error)\n",
			res.run_name, res.run_name);
		exit_code = 3;
	}
	printf("run '%s': %ld requests ok, %ld failed; stored in '%s'%s%s\n", res.run_name,
	       res.requests_ok, res.requests_failed, ctx->db, save ? "; result: " : "",
	       save ? path : "");
	return exit_code;
}
