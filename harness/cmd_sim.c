/* cmd_sim.c: `llmbench sim` — a simulated OpenAI-compatible endpoint that knows the truth
 * (backends/sim.h; docs/cli/sim.md, docs/sim.md). */
#include "cmd.h"

#include "../backends/sim.h"
#include "../base/error.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench sim [--listen HOST:PORT] [--port-file FILE] [--ttft-ms X]\n"
	"                    [--itl-ms X] [--jitter-ms X] [--prompt-ms-per-token X]\n"
	"                    [--output-tokens N|N-M] [--tokens-per-chunk N] [--seed S]\n"
	"                    [--slowdown F] [--capacity N] [--duration S] [--log FILE]\n"
	"                    [--answers FILE] [--fault KIND[:RATE]]... [--max-conns N]\n"
	"                    [--max-body BYTES] [--model NAME]\n"
	"                    [--prefix-cache-ms-per-block X] [--prefix-block-tokens N]\n"
	"                    [--prefix-cache-blocks N] [--kv-cache-tokens N]\n"
	"                    [--no-echo]\n"
	"\n"
	"Serve POST /v1/completions, POST /v1/chat/completions (streamed or not), GET /v1/models,\n"
	"GET /health and GET /metrics (Prometheus, vLLM's names), emitting tokens on a known\n"
	"schedule: chunk k leaves at t_start + TTFT + (k-1) * ITL * tokens-per-chunk (+ jitter). See docs/sim.md.\n"
	"\n"
	"  --listen HOST:PORT        address (default 127.0.0.1:0; port 0 picks a free port)\n"
	"  --port-file FILE          write the bound port to FILE once listening\n"
	"  --ttft-ms X               time to first token in ms (default 50)\n"
	"  --itl-ms X                time between tokens in ms (default 10)\n"
	"  --jitter-ms X             uniform +-X ms on every send time (seeded, default 0)\n"
	"  --prompt-ms-per-token X   added to TTFT per prompt token (default 0)\n"
	"  --output-tokens N|N-M     output length, fixed or uniform in [N, M] (seeded,\n"
	"                            default 32); the request's max_tokens caps it\n"
	"  --tokens-per-chunk N      tokens per streamed chunk (default 1)\n"
	"  --seed S                  seed of every random choice (default 1)\n"
	"  --slowdown F              multiply TTFT and ITL (1.3: a server 30% slower; default 1)\n"
	"  --capacity N              at most N requests generating at once, the rest wait FIFO\n"
	"                            (default unbounded); TTFT counts from receipt\n"
	"  --duration S              exit 0 after S seconds (default: run until SIGINT/SIGTERM)\n"
	"  --log FILE                send log: '<t_ns> <id> <event> <n_tokens>' per line\n"
	"  --answers FILE            scripted answers, JSONL {\"match\": ..., \"answer\": ...}\n"
	"  --fault KIND[:RATE]       inject KIND in a fraction RATE of requests (default 1);\n"
	"                            repeatable, rates add up to at most 1; a request's\n"
	"                            X-LLMBench-Fault header picks one for itself\n"
	"  --max-conns N             most open connections (default: what RLIMIT_NOFILE allows)\n"
	"  --max-body BYTES          larger request bodies get 413 (default 8388608)\n"
	"  --model NAME              model id for /v1/models and replies (default llmbench-sim)\n"
	"  --prefix-cache-ms-per-block X\n"
	"                            model a prefix cache: each leading prompt block seen\n"
	"                            before takes X ms off TTFT (default 0: no cache)\n"
	"  --prefix-block-tokens N   tokens per prefix-cache block (default 16)\n"
	"  --prefix-cache-blocks N   blocks cached before the cache is emptied (default 65536)\n"
	"  --kv-cache-tokens N       KV capacity for /metrics' kv_cache_usage_perc (default\n"
	"                            100000)\n"
	"  --no-echo                 refuse \"echo\" on /v1/completions (400), as llama-server\n"
	"                            does; by default echo + logprobs returns the prompt's\n"
	"                            log-probabilities as vLLM does (text_offset in characters)\n"
	"\n"
	"Fault kinds: refuse, close_mid, stall_first, stall_mid, http_400, http_401, http_404,\n"
	"http_429, http_429_retry, http_500, http_503, http_500_text, no_data, bad_json,\n"
	"trunc_utf8, long_line, no_done, error_mid, no_usage, wrong_usage, empty.\n"
	"\n"
	"Exit: 0 stopped by SIGINT/SIGTERM or --duration, 2 bad option or input,\n"
	"3 runtime failure.\n";

static struct sim *the_sim;

static void on_signal(int sig)
{
	(void)sig;
	if (the_sim)
		sim_interrupt(the_sim);
}

static int parse_listen(const char *arg, char *host, size_t host_len, int *port)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg;
	size_t n;
	long p;

	if (!colon || cmd_parse_long(colon + 1, &p) || p < 0 || p > 65535)
		return -1;
	n = (size_t)(colon - arg);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (!n || n >= host_len)
		return -1;
	memcpy(host, h, n);
	host[n] = 0;
	*port = (int)p;
	return 0;
}

static int parse_range(const char *arg, long *lo, long *hi)
{
	const char *dash = strchr(arg, '-');
	char buf[64];

	if (!dash) {
		if (cmd_parse_long(arg, lo) || *lo < 0)
			return -1;
		*hi = *lo;
		return 0;
	}
	if ((size_t)(dash - arg) >= sizeof(buf))
		return -1;
	memcpy(buf, arg, (size_t)(dash - arg));
	buf[dash - arg] = 0;
	if (cmd_parse_long(buf, lo) || cmd_parse_long(dash + 1, hi) || *lo < 0 || *hi < *lo)
		return -1;
	return 0;
}

static int parse_fault(const char *arg, struct sim_config *cfg)
{
	char kind[64];
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : strlen(arg);
	double rate = 1, sum = 0;
	enum sim_fault f;
	size_t i;

	if (n >= sizeof(kind))
		n = sizeof(kind) - 1;
	memcpy(kind, arg, n);
	kind[n] = 0;
	f = sim_fault_find(kind);
	if (f == SIM_FAULT_NONE)
		return cmd_usage_error("sim", "unknown fault kind '%s' in --fault (valid: %s)",
				       kind, sim_fault_list());
	if (colon && (cmd_parse_double(colon + 1, &rate) || rate < 0 || rate > 1))
		return cmd_usage_error("sim", "--fault %s: rate '%s' must be a number from 0 to 1",
				       kind, colon + 1);
	if (cfg->n_faults >= SIM_MAX_FAULT_RATES)
		return cmd_usage_error("sim", "at most %d --fault options", SIM_MAX_FAULT_RATES);
	for (i = 0; i < cfg->n_faults; i++)
		sum += cfg->faults[i].rate;
	if (sum + rate > 1 + 1e-9)
		return cmd_usage_error("sim",
				       "--fault rates add up to %g; they must add up to at most 1",
				       sum + rate);
	cfg->faults[cfg->n_faults].kind = f;
	cfg->faults[cfg->n_faults++].rate = rate;
	return 0;
}

static int write_port_file(const char *path, int port, struct lb_error *err)
{
	FILE *f;
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "--port-file: cannot write '%s': %s", path,
				    strerror(errno));
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path))
		return lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	return 0;
}

static long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

/* A real number >= min (or > min when strict) for option name. */
static int opt_double(const char *name, const char *arg, double min, bool strict, double *out)
{
	if (cmd_parse_double(arg, out) || *out < min || (strict && *out == min))
		return cmd_usage_error("sim", "--%s: '%s' is not a number %s %g", name, arg,
				       strict ? ">" : ">=", min);
	return 0;
}

static int opt_long(const char *name, const char *arg, long min, long *out)
{
	if (cmd_parse_long(arg, out) || *out < min)
		return cmd_usage_error("sim", "--%s: '%s' is not a whole number >= %ld", name, arg,
				       min);
	return 0;
}

int cmd_sim(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "ttft-ms", required_argument, NULL, 't' },
		{ "itl-ms", required_argument, NULL, 'i' },
		{ "jitter-ms", required_argument, NULL, 'j' },
		{ "prompt-ms-per-token", required_argument, NULL, 'p' },
		{ "output-tokens", required_argument, NULL, 'o' },
		{ "tokens-per-chunk", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "slowdown", required_argument, NULL, 'S' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'L' },
		{ "answers", required_argument, NULL, 'a' },
		{ "fault", required_argument, NULL, 'f' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "model", required_argument, NULL, 'M' },
		{ "prefix-cache-ms-per-block", required_argument, NULL, 1001 },
		{ "prefix-block-tokens", required_argument, NULL, 1002 },
		{ "prefix-cache-blocks", required_argument, NULL, 1003 },
		{ "kv-cache-tokens", required_argument, NULL, 1004 },
		{ "no-echo", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_config cfg;
	struct sim_stats st;
	struct lb_error err = LB_ERROR_INIT;
	struct sigaction sa;
	struct sim *s = NULL;
	const char *port_file = NULL;
	char host[256] = "127.0.0.1";
	long nofile, v;
	int opt, rc;

	(void)ctx;
	sim_config_init(&cfg);
	opterr = 0;
	optind = 1;
	while ((opt = cmd_getopt(argc, argv, "sim", "h", longopts)) != -1) {
		switch (opt) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 'l':
			if (parse_listen(optarg, host, sizeof(host), &cfg.port))
				return cmd_usage_error("sim",
						       "--listen: '%s' is not HOST:PORT "
						       "(PORT 0-65535, 0 picks a free one)",
						       optarg);
			break;
		case 'P': port_file = optarg; break;
		case 't':
			if (opt_double("ttft-ms", optarg, 0, false, &cfg.ttft_ms))
				return 2;
			break;
		case 'i':
			if (opt_double("itl-ms", optarg, 0, false, &cfg.itl_ms))
				return 2;
			break;
		case 'j':
			if (opt_double("jitter-ms", optarg, 0, false, &cfg.jitter_ms))
				return 2;
			break;
		case 'p':
			if (opt_double("prompt-ms-per-token", optarg, 0, false,
				       &cfg.prompt_ms_per_token))
				return 2;
			break;
		case 'o':
			if (parse_range(optarg, &cfg.out_min, &cfg.out_max) ||
			    cfg.out_max > 100000000)
				return cmd_usage_error("sim",
						       "--output-tokens: '%s' is not N or N-M "
						       "(whole numbers, 0 <= N <= M <= 100000000)",
						       optarg);
			break;
		case 'k':
			if (opt_long("tokens-per-chunk", optarg, 1, &cfg.tokens_per_chunk))
				return 2;
			break;
		case 's': {
			char *end;

			errno = 0;
			cfg.seed = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || *optarg == '-')
				return cmd_usage_error(
					"sim", "--seed: '%s' is not a whole number >= 0", optarg);
			break;
		}
		case 'S':
			if (opt_double("slowdown", optarg, 0, true, &cfg.slowdown))
				return 2;
			break;
		case 'c':
			if (opt_long("capacity", optarg, 1, &cfg.capacity))
				return 2;
			break;
		case 'd':
			if (opt_double("duration", optarg, 0, true, &cfg.duration_s))
				return 2;
			break;
		case 'L': cfg.log_path = optarg; break;
		case 'a': cfg.answers_path = optarg; break;
		case 'f':
			if (parse_fault(optarg, &cfg))
				return 2;
			break;
		case 'm':
			if (opt_long("max-conns", optarg, 1, &cfg.max_conns))
				return 2;
			break;
		case 'b':
			if (opt_long("max-body", optarg, 1, &v))
				return 2;
			cfg.max_body = (size_t)v;
			break;
		case 'M':
			if (!*optarg)
				return cmd_usage_error("sim", "--model: the name is empty");
			cfg.model = optarg;
			break;
		case 1001:
			if (opt_double("prefix-cache-ms-per-block", optarg, 0, false,
				       &cfg.prefix_ms_per_block))
				return 2;
			break;
		case 1002:
			if (opt_long("prefix-block-tokens", optarg, 1, &cfg.prefix_block_tokens))
				return 2;
			break;
		case 1003:
			if (opt_long("prefix-cache-blocks", optarg, 1, &cfg.prefix_cache_blocks))
				return 2;
			break;
		case 1004:
			if (opt_long("kv-cache-tokens", optarg, 1, &cfg.kv_cache_tokens))
				return 2;
			break;
		case 'E': cfg.no_echo = true; break;
		default: return 2;
		}
	}
	if (optind < argc)
		return cmd_usage_error("sim", "unexpected argument '%s'", argv[optind]);
	cfg.host = host;

	nofile = raise_nofile();
	if (nofile > 0 && cfg.max_conns > nofile - 32) {
		cmd_warn("--max-conns %ld is more than the open-file limit allows "
			 "(%ld descriptors); using %ld",
			 cfg.max_conns, nofile, nofile - 32 > 1 ? nofile - 32 : 1);
		cfg.max_conns = nofile - 32 > 1 ? nofile - 32 : 1;
	}
	if (sim_open(&s, &cfg, &err))
		return cmd_fail(&err);
	if (port_file && write_port_file(port_file, sim_port(s), &err)) {
		sim_close(s);
		return cmd_fail(&err);
	}
	the_sim = s;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr,
		strchr(sim_host(s), ':') ? "llmbench sim: listening on [%s]:%d\n"
					 : "llmbench sim: listening on %s:%d\n",
		sim_host(s), sim_port(s));
	fflush(stderr);
	rc = sim_run(s, &err);
	sim_get_stats(s, &st);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	the_sim = NULL;
	sim_close(s);
	fprintf(stderr,
		"llmbench sim: %llu requests served (%llu streamed, %llu completed), %llu chunks "
		"(%llu tokens) sent, %llu faults injected, %llu bad requests, %llu clients gone; "
		"peak %llu connections, %llu requests in progress, %llu queued\n",
		(unsigned long long)st.requests, (unsigned long long)st.streamed,
		(unsigned long long)st.completed, (unsigned long long)st.chunks,
		(unsigned long long)st.tokens, (unsigned long long)st.faults,
		(unsigned long long)st.bad_requests, (unsigned long long)st.client_gone,
		(unsigned long long)st.peak_conns, (unsigned long long)st.peak_streams,
		(unsigned long long)st.peak_queued);
	if (st.accept_paused)
		cmd_warn("accepting paused %llu times at the connection limit (--max-conns or "
			 "RLIMIT_NOFILE %ld)",
			 (unsigned long long)st.accept_paused, nofile);
	if (rc)
		return cmd_fail(&err);
	return 0;
}
