/* sim_sched.c: the simulator's token schedule (absolute due times from TTFT, ITL, jitter and
 * chunking), the replies it streams, the faults it injects, and the send log. The loop and the
 * connections are sim.c's; this file decides what is sent and when. docs/sim.md describes it. */
#include "../base/clock.h"
#include "../base/strbuf.h"
#include "sim_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const fault_names[SIM_FAULT_COUNT] = {
	[SIM_FAULT_NONE] = "none",
	[SIM_FAULT_REFUSE] = "refuse",
	[SIM_FAULT_CLOSE_MID] = "close_mid",
	[SIM_FAULT_STALL_FIRST] = "stall_first",
	[SIM_FAULT_STALL_MID] = "stall_mid",
	[SIM_FAULT_HTTP_400] = "http_400",
	[SIM_FAULT_HTTP_401] = "http_401",
	[SIM_FAULT_HTTP_404] = "http_404",
	[SIM_FAULT_HTTP_429] = "http_429",
	[SIM_FAULT_HTTP_429_RETRY] = "http_429_retry",
	[SIM_FAULT_HTTP_500] = "http_500",
	[SIM_FAULT_HTTP_503] = "http_503",
	[SIM_FAULT_HTTP_500_TEXT] = "http_500_text",
	[SIM_FAULT_NO_DATA] = "no_data",
	[SIM_FAULT_BAD_JSON] = "bad_json",
	[SIM_FAULT_TRUNC_UTF8] = "trunc_utf8",
	[SIM_FAULT_LONG_LINE] = "long_line",
	[SIM_FAULT_NO_DONE] = "no_done",
	[SIM_FAULT_ERROR_MID] = "error_mid",
	[SIM_FAULT_NO_USAGE] = "no_usage",
	[SIM_FAULT_WRONG_USAGE] = "wrong_usage",
	[SIM_FAULT_EMPTY] = "empty",
};

/* The sim's vocabulary: output token i is " " + words[...], one word per token. */
static const char *const words[64] = {
	"the",    "model",  "token",  "stream", "answer", "light",    "river",   "stone",
	"green",  "quick",  "bench",  "mark",   "value",  "north",    "paper",   "signal",
	"cloud",  "metal",  "forest", "number", "simple", "window",   "garden",  "silver",
	"engine", "plain",  "table",  "orange", "harbor", "winter",   "pocket",  "letter",
	"bridge", "candle", "field",  "glass",  "honey",  "island",   "jacket",  "kettle",
	"ladder", "marble", "needle", "ocean",  "pencil", "quiet",    "rocket",  "saddle",
	"ticket", "valley", "wagon",  "yellow", "zebra",  "umbrella", "amber",   "basket",
	"copper", "desert", "eagle",  "guitar", "hammer", "iron",     "feather", "jungle",
};

/* Names */

enum sim_fault sim_fault_find(const char *name)
{
	int i;

	for (i = 1; i < SIM_FAULT_COUNT; i++)
		if (!strcmp(name, fault_names[i]))
			return (enum sim_fault)i;
	return SIM_FAULT_NONE;
}

const char *sim_fault_name(enum sim_fault kind)
{
	return (unsigned)kind < SIM_FAULT_COUNT ? fault_names[kind] : "?";
}

const char *sim_fault_list(void)
{
	static char buf[320];
	size_t n = 0;
	int i;

	if (buf[0])
		return buf;
	for (i = 1; i < SIM_FAULT_COUNT; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i > 1 ? ", " : "",
				      fault_names[i]);
	return buf;
}

/* Random numbers: splitmix64, seeded per request from --seed and the request id. */

uint64_t sim_rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double sim_rng_unit(uint64_t *x)
{
	return (double)(sim_rng_next(x) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

uint64_t sim_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The send log */

void sim_log_flush(struct sim *s)
{
	size_t off = 0;

	while (off < s->log.len) {
		ssize_t n = write(s->log_fd, s->log.buf + off, s->log.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->log_errno = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	strbuf_reset(&s->log);
	s->log_flushed_ns = lb_now_ns();
}

void sim_log_event(struct sim *s, uint64_t t, const struct conn *c, const char *ev, long n,
		   const char *extra)
{
	if (s->log_fd < 0)
		return;
	strbuf_addf(&s->log, "%llu %s %s %ld%s%s\n", (unsigned long long)t, c->id, ev, n,
		    extra ? " " : "", extra ? extra : "");
	if (s->log.len >= SIM_LOG_FLUSH_BYTES)
		sim_log_flush(s);
}

void sim_log_fault(struct sim *s, uint64_t t, struct conn *c)
{
	s->st.faults++;
	sim_log_event(s, t, c, "fault", c->sent, fault_names[c->fault]);
}

static const char *chunk_object(const struct conn *c)
{
	return c->api == SIM_API_CHAT ? "chat.completion.chunk" : "text_completion";
}

static void add_json_head(struct sim *s, struct conn *c, struct strbuf *sb, const char *object)
{
	strbuf_addf(sb,
		    "{\"id\":\"%s-sim-%llu\",\"object\":\"%s\",\"created\":%lld,\"model\":\"%s\",",
		    c->api == SIM_API_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)c->seq,
		    object, c->created, c->model[0] ? c->model : s->cfg.model);
}

/* The escaped text of the next n tokens (c->sent advances), mangled by a content fault. */
static void add_text(struct conn *c, struct strbuf *sb, long n, enum sim_fault mangle)
{
	long i;

	for (i = 0; i < n; i++, c->sent++) {
		if (c->answer) {
			strbuf_adds(sb, c->answer->words[c->sent]);
		} else {
			strbuf_addch(sb, ' ');
			strbuf_adds(sb, words[sim_rng_next(&c->rng_words) & 63]);
		}
	}
	if (mangle == SIM_FAULT_TRUNC_UTF8) {
		strbuf_add(sb, "\xe2\x82", 2); /* the first 2 of the 3 bytes of U+20AC */
	} else if (mangle == SIM_FAULT_LONG_LINE && !strbuf_grow(sb, SIM_LONG_LINE)) {
		memset(sb->buf + sb->len, 'x', SIM_LONG_LINE);
		sb->len += SIM_LONG_LINE;
		sb->buf[sb->len] = 0;
	}
}

/* One content chunk (or, with finish, the last chunk carrying finish_reason and no text). */
static void add_chunk(struct sim *s, struct conn *c, struct strbuf *sb, long n, const char *finish,
		      enum sim_fault mangle)
{
	strbuf_adds(sb, "data: ");
	add_json_head(s, c, sb, chunk_object(c));
	if (c->api == SIM_API_CHAT) {
		strbuf_adds(sb, finish ? "\"choices\":[{\"index\":0,\"delta\":{"
				       : "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
		if (!finish) {
			add_text(c, sb, n, mangle);
			strbuf_addch(sb, '"');
		}
		strbuf_adds(sb, "},\"logprobs\":null,\"finish_reason\":");
	} else {
		strbuf_adds(sb, "\"choices\":[{\"index\":0,\"text\":\"");
		add_text(c, sb, n, mangle);
		strbuf_adds(sb, "\",\"logprobs\":null,\"finish_reason\":");
	}
	if (finish)
		strbuf_addf(sb, "\"%s\"}]}\n\n", finish);
	else
		strbuf_adds(sb, "null}]}\n\n");
}

static void add_usage_fields(struct sim *s, struct conn *c, struct strbuf *sb, uint64_t t)
{
	long comp = c->sent;

	if (c->fault == SIM_FAULT_WRONG_USAGE) {
		comp += 5;
		sim_log_fault(s, t, c);
	}
	strbuf_addf(sb, "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,",
		    c->prompt_tokens, comp);
	strbuf_addf(sb, "\"total_tokens\":%ld}", c->prompt_tokens + comp);
}

static const char *finish_reason(const struct conn *c)
{
	return c->max_tokens > 0 && c->n_out >= c->max_tokens ? "length" : "stop";
}

/* A whole reply went out: count it by its finish reason for /metrics. */
static void count_finish(struct sim *s, const struct conn *c)
{
	if (!strcmp(finish_reason(c), "length"))
		s->m.fin_length++;
	else
		s->m.fin_stop++;
}

/* A close or stall fault acts now. */
static int fault_cut(struct sim *s, struct conn *c, uint64_t t)
{
	sim_log_fault(s, t, c);
	if (c->fault == SIM_FAULT_STALL_FIRST || c->fault == SIM_FAULT_STALL_MID) {
		c->state = C_STALLED;
		return 0;
	}
	sim_conn_close(s, c, false);
	return -1;
}

static uint64_t chunk_due(struct sim *s, struct conn *c, long k)
{
	uint64_t t = c->t_start + c->ttft_ns + (uint64_t)(k - 1) * c->itl_chunk_ns;

	if (s->jitter_ns) {
		double j = (sim_rng_unit(&c->rng_time) * 2 - 1) * (double)s->jitter_ns;

		t = j < 0 && (uint64_t)-j > t ? 0 : (uint64_t)((double)t + j);
	}
	if (t < c->t_start)
		t = c->t_start;
	if (t < c->last_due)
		t = c->last_due;
	c->last_due = t;
	return t;
}

/* Generation starts now: schedule the first piece. 0, or -1 when c was closed. */
int sim_start_gen(struct sim *s, struct conn *c, uint64_t now)
{
	struct strbuf *sb = &s->scratch;
	char head[512];
	size_t head_len;

	c->holds_slot = true;
	s->n_generating++;
	c->state = C_GEN;
	c->t_start = now;
	c->last_due = now;
	c->ttft_ns = s->ttft_ns + (uint64_t)c->prompt_tokens * s->prompt_ns_per_token;
	if (c->cached_blocks) {
		uint64_t save = (uint64_t)c->cached_blocks * s->prefix_ns_per_block;

		c->ttft_ns = save >= c->ttft_ns ? 0 : c->ttft_ns - save;
	}
	s->m.prompt_tokens += (uint64_t)c->prompt_tokens;
	c->itl_chunk_ns = s->itl_ns * (uint64_t)s->cfg.tokens_per_chunk;
	c->n_chunks = (c->n_out + s->cfg.tokens_per_chunk - 1) / s->cfg.tokens_per_chunk;
	c->fault_at = c->n_chunks >= 2 ? 2 : c->n_chunks;
	c->k = 1;
	if (!c->stream)
		goto schedule;
	if (!c->http11)
		c->keep_alive = false; /* the end of the stream is the end of the connection */
	head_len = (size_t)snprintf(head, sizeof(head),
				    "HTTP/1.1 200 OK\r\nServer: llmbench-sim\r\n"
				    "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
				    "%sConnection: %s\r\n\r\n",
				    c->http11 ? "Transfer-Encoding: chunked\r\n" : "",
				    c->keep_alive ? "keep-alive" : "close");
	strbuf_reset(sb);
	if (c->api == SIM_API_CHAT) {
		strbuf_adds(sb, "data: ");
		add_json_head(s, c, sb, "chat.completion.chunk");
		strbuf_adds(sb, "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},"
				"\"logprobs\":null,\"finish_reason\":null}]}\n\n");
	}
	if (sim_send_stream(s, c, head, head_len, sb->buf, sb->len, false))
		return -1;
schedule:
	if (lb_ev_timer_set(s->ev, &c->timer,
			    chunk_due(s, c, c->stream || !c->n_chunks ? 1 : c->n_chunks))) {
		sim_conn_close(s, c, false);
		return -1;
	}
	return 0;
}

static int tick_plain(struct sim *s, struct conn *c)
{
	struct strbuf *sb = &s->scratch;
	uint64_t t = lb_now_ns();
	bool chat = c->api == SIM_API_CHAT;
	enum sim_fault f = c->fault;
	size_t len;
	int rc;

	switch (f) {
	case SIM_FAULT_CLOSE_MID:
	case SIM_FAULT_NO_DONE:
	case SIM_FAULT_STALL_FIRST:
	case SIM_FAULT_STALL_MID: return fault_cut(s, c, t);
	case SIM_FAULT_ERROR_MID:
		sim_log_fault(s, t, c);
		strbuf_reset(sb);
		sim_error_json(sb, 500, "simulated error (error_mid)");
		if (sim_send_response(s, c, 200, "application/json", sb->buf, sb->len, NULL,
				      c->keep_alive))
			return -1;
		sim_log_event(s, t, c, "done", 0, NULL);
		return sim_req_finish(s, c);
	case SIM_FAULT_EMPTY:
		sim_log_fault(s, t, c);
		strbuf_reset(sb);
		add_json_head(s, c, sb, chat ? "chat.completion" : "text_completion");
		strbuf_adds(sb, "\"choices\":[]}");
		if (sim_send_response(s, c, 200, "application/json", sb->buf, sb->len, NULL,
				      c->keep_alive))
			return -1;
		sim_log_event(s, t, c, "done", 0, NULL);
		return sim_req_finish(s, c);
	default: break;
	}
	strbuf_reset(sb);
	add_json_head(s, c, sb, chat ? "chat.completion" : "text_completion");
	strbuf_adds(sb, chat ? "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
			       "\"content\":\""
			     : "\"choices\":[{\"index\":0,\"text\":\"");
	if (f == SIM_FAULT_TRUNC_UTF8 || f == SIM_FAULT_LONG_LINE)
		sim_log_fault(s, t, c);
	add_text(c, sb, c->n_out, f);
	strbuf_addf(sb, "\"%s,\"logprobs\":null,\"finish_reason\":\"%s\"}]", chat ? "}" : "",
		    finish_reason(c));
	if (f == SIM_FAULT_NO_USAGE) {
		sim_log_fault(s, t, c);
	} else {
		strbuf_addch(sb, ',');
		add_usage_fields(s, c, sb, t);
	}
	strbuf_adds(sb, "}");
	len = sb->len;
	if (f == SIM_FAULT_BAD_JSON) {
		sim_log_fault(s, t, c);
		len /= 2;
	}
	t = lb_now_ns();
	rc = sim_send_response(s, c, 200, "application/json", sb->buf, len, NULL, c->keep_alive);
	if (rc)
		return -1;
	s->st.tokens += (uint64_t)c->sent;
	sim_log_event(s, t, c, "done", c->sent, NULL);
	count_finish(s, c);
	return sim_req_finish(s, c);
}

/* The next piece of a stream is due. 0, or -1 when c was closed. */
static int tick_stream(struct sim *s, struct conn *c)
{
	struct strbuf *sb = &s->scratch;
	enum sim_fault f = c->fault;
	long k = c->k, ntok = 0;
	bool last = k >= c->n_chunks, content = k <= c->n_chunks;
	bool at = k == c->fault_at || !c->n_chunks; /* where chunk-2 faults act */
	bool mid = at && (f == SIM_FAULT_CLOSE_MID || f == SIM_FAULT_STALL_MID ||
			  f == SIM_FAULT_ERROR_MID);
	bool extra_fault = at && (f == SIM_FAULT_NO_DATA || f == SIM_FAULT_BAD_JSON);
	bool mangle = at && content && (f == SIM_FAULT_TRUNC_UTF8 || f == SIM_FAULT_LONG_LINE);
	bool done = false;
	uint64_t t;

	if (k == 1 && f == SIM_FAULT_STALL_FIRST)
		return fault_cut(s, c, lb_now_ns());
	if (k == 1 && f == SIM_FAULT_EMPTY) {
		static const char only_done[] = "data: [DONE]\n\n";

		t = lb_now_ns();
		if (sim_send_stream(s, c, NULL, 0, only_done, sizeof(only_done) - 1, true))
			return -1;
		sim_log_fault(s, t, c);
		sim_log_event(s, t, c, "done", 0, NULL);
		return sim_req_finish(s, c);
	}
	strbuf_reset(sb);
	if (extra_fault) {
		if (f == SIM_FAULT_NO_DATA) {
			add_json_head(s, c, sb, chunk_object(c)); /* the JSON, without "data: " */
			strbuf_adds(sb, "\"choices\":[]}\n\n");
		} else {
			strbuf_adds(sb, "data: {\"id\":\"bad-json\",\"choices\":[{\"text\":\n\n");
		}
	}
	if (content) {
		ntok = c->n_out - c->sent < s->cfg.tokens_per_chunk ? c->n_out - c->sent
								    : s->cfg.tokens_per_chunk;
		add_chunk(s, c, sb, ntok, NULL, mangle ? f : SIM_FAULT_NONE);
	}
	if (mid && f == SIM_FAULT_ERROR_MID) {
		strbuf_adds(sb, "data: ");
		sim_error_json(sb, 500, "simulated error (error_mid)");
		strbuf_adds(sb, "\n\ndata: [DONE]\n\n");
		done = true;
	} else if (last && !mid && f != SIM_FAULT_NO_DONE) {
		add_chunk(s, c, sb, 0, finish_reason(c), SIM_FAULT_NONE);
		if (c->include_usage && f != SIM_FAULT_NO_USAGE) {
			strbuf_adds(sb, "data: ");
			add_json_head(s, c, sb, chunk_object(c));
			strbuf_adds(sb, "\"choices\":[],");
			add_usage_fields(s, c, sb, lb_now_ns());
			strbuf_adds(sb, "}\n\n");
		}
		strbuf_adds(sb, "data: [DONE]\n\n");
		done = true;
	}
	t = lb_now_ns();
	if (sim_send_stream(s, c, NULL, 0, sb->buf, sb->len, done))
		return -1;
	if (extra_fault || mangle)
		sim_log_fault(s, t, c);
	if (content) {
		s->st.chunks++;
		s->st.tokens += (uint64_t)ntok;
		sim_log_event(s, t, c, k == 1 ? "first" : "chunk", ntok, NULL);
		if (k == 1)
			sim_metrics_ttft(s, t - c->t_recv);
		else
			sim_metrics_itl(s, t - c->t_prev);
		c->t_prev = t;
	}
	if (done) {
		if (f == SIM_FAULT_ERROR_MID)
			sim_log_fault(s, t, c);
		else if (f == SIM_FAULT_NO_USAGE && c->include_usage)
			sim_log_fault(s, t, c);
		sim_log_event(s, t, c, "done", c->sent, NULL);
		if (f != SIM_FAULT_ERROR_MID)
			count_finish(s, c);
		return sim_req_finish(s, c);
	}
	if (mid || (last && f == SIM_FAULT_NO_DONE))
		return fault_cut(s, c, t);
	c->k++;
	if (lb_ev_timer_set(s->ev, &c->timer, chunk_due(s, c, c->k))) {
		sim_conn_close(s, c, false);
		return -1;
	}
	return 0;
}

void sim_on_timer(struct lb_ev *ev, struct lb_ev_timer *t)
{
	struct conn *c = t->arg;
	struct sim *s = c->sim;

	(void)ev;
	if (c->state == C_CLOSING) {
		sim_conn_close(s, c, false);
		return;
	}
	if (c->state != C_GEN)
		return;
	if (c->stream)
		tick_stream(s, c);
	else
		tick_plain(s, c);
	if (s->scratch.alloc > (1u << 20)) /* after long_line */
		strbuf_release(&s->scratch);
}

int sim_pick_fault(struct sim *s, struct conn *c, const struct sim_head *h, char *msg,
		   size_t msg_len)
{
	double u, cum = 0;
	size_t i;

	c->fault = SIM_FAULT_NONE;
	if (h->fault[0]) {
		if (strcmp(h->fault, "none")) {
			c->fault = sim_fault_find(h->fault);
			if (c->fault == SIM_FAULT_NONE) {
				snprintf(msg, msg_len,
					 "unknown fault '%s' in X-LLMBench-Fault (valid: %s)",
					 h->fault, sim_fault_list());
				return -1;
			}
		}
		return 0;
	}
	if (!s->cfg.n_faults)
		return 0;
	u = sim_rng_unit(&c->rng_time);
	for (i = 0; i < s->cfg.n_faults; i++) {
		cum += s->cfg.faults[i].rate;
		if (u < cum) {
			c->fault = s->cfg.faults[i].kind;
			break;
		}
	}
	return 0;
}

int sim_http_fault_status(enum sim_fault f)
{
	switch (f) {
	case SIM_FAULT_HTTP_400: return 400;
	case SIM_FAULT_HTTP_401: return 401;
	case SIM_FAULT_HTTP_404: return 404;
	case SIM_FAULT_HTTP_429:
	case SIM_FAULT_HTTP_429_RETRY: return 429;
	case SIM_FAULT_HTTP_500:
	case SIM_FAULT_HTTP_500_TEXT: return 500;
	case SIM_FAULT_HTTP_503: return 503;
	default: return 0;
	}
}
