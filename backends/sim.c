/* sim.c: the simulated endpoint's event loop (epoll, edge-triggered, non-blocking sockets),
 * its timer heap (one timerfd armed at the earliest due time), the token schedule, the
 * responses and the faults, and the send log. docs/sim.md is the user-facing description. */
#include "sim.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"
#include "sim_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SIM_OUT_MAX (96u << 20)	     /* unread response bytes before a client is dropped */
#define SIM_LONG_LINE (10u << 20)     /* the long_line fault's text */
#define SIM_LINGER_NS 1000000000ull  /* wait for the client's FIN after our last response */
#define SIM_LOG_FLUSH_NS 100000000ull /* the send log reaches the file at least this often */
#define SIM_LOG_FLUSH_BYTES (256u << 10)
#define SIM_READ_BUF 65536
#define SIM_MAX_EVENTS 512

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
};

/* The sim's vocabulary: output token i is " " + words[...], one word per token. */
static const char *const words[64] = {
	"the", "model", "token", "stream", "answer", "light", "river", "stone",
	"green", "quick", "bench", "mark", "value", "north", "paper", "signal",
	"cloud", "metal", "forest", "number", "simple", "window", "garden", "silver",
	"engine", "plain", "table", "orange", "harbor", "winter", "pocket", "letter",
	"bridge", "candle", "field", "glass", "honey", "island", "jacket", "kettle",
	"ladder", "marble", "needle", "ocean", "pencil", "quiet", "rocket", "saddle",
	"ticket", "valley", "wagon", "yellow", "zebra", "umbrella", "amber", "basket",
	"copper", "desert", "eagle", "guitar", "hammer", "iron", "feather", "jungle",
};

enum conn_state {
	C_READ,	   /* waiting for (the rest of) a request */
	C_QUEUED,  /* request read, waiting for a --capacity slot */
	C_GEN,	   /* generating: the timer sends the next piece */
	C_STALLED, /* a stall fault: nothing more until the client leaves */
	C_CLOSING, /* last response queued; close once flushed and the client's FIN came */
};

struct conn {
	int fd;
	enum conn_state state;
	struct strbuf in;  /* bytes read, not yet consumed */
	struct strbuf out; /* response bytes the kernel did not take yet */
	size_t out_off;	   /* of out, already sent */
	bool shut;	   /* C_CLOSING: our write side is shut */
	bool dead;	   /* closed; freed at the end of the loop iteration (epoll may still
			    * hold an event for it in this batch) */
	/* the timer */
	uint64_t due;
	size_t heap_idx; /* SIZE_MAX: not in the heap */
	struct conn *prev, *next; /* every open connection */
	/* the --capacity queue */
	struct conn *qprev, *qnext;
	bool holds_slot;
	/* the current completion request */
	bool active;
	bool keep_alive, http11, stream, include_usage;
	enum sim_api api;
	enum sim_fault fault;
	uint64_t seq;
	char id[SIM_ID_MAX + 1];
	char model[SIM_MODEL_MAX + 1];
	const struct sim_answer *answer;
	long prompt_tokens, max_tokens, n_out, sent, n_chunks, k, fault_at;
	uint64_t rng_words, rng_time;
	uint64_t t_start, ttft_ns, itl_chunk_ns, last_due;
	long long created;
};

struct sim {
	struct sim_config cfg;
	struct sim_answers answers;
	int listen_fd, ep_fd, timer_fd, stop_fd, log_fd;
	char host[64];
	int port;
	bool accept_paused;
	uint64_t accept_retry_ns;
	volatile sig_atomic_t stop;
	bool closing; /* sim_close: start nothing new */
	struct conn *conns; /* every open connection */
	struct conn *dead;  /* closed, to be freed (linked through next) */
	/* the timer heap, min on due */
	struct conn **heap;
	size_t heap_len, heap_cap;
	uint64_t armed;
	/* the capacity queue */
	struct conn *q_head, *q_tail;
	uint64_t n_queued, n_generating, n_active, n_conns;
	long max_conns;
	uint64_t seq;
	uint64_t ttft_ns, prompt_ns_per_token, itl_ns, jitter_ns;
	struct strbuf log;
	uint64_t log_flushed_ns;
	int log_errno;
	struct strbuf scratch;
	char rbuf[SIM_READ_BUF];
	struct sim_stats st;
};

/* Tags in epoll data for the non-connection descriptors (connections carry their pointer). */
static char tag_listen, tag_timer, tag_stop;

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

void sim_config_init(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = "127.0.0.1";
	cfg->ttft_ms = 50;
	cfg->itl_ms = 10;
	cfg->slowdown = 1;
	cfg->out_min = cfg->out_max = 32;
	cfg->tokens_per_chunk = 1;
	cfg->seed = 1;
	cfg->model = "llmbench-sim";
}

/* Random numbers: splitmix64, seeded per request from --seed and the request id. */

static uint64_t rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(uint64_t *x)
{
	return (double)(rng_next(x) >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The send log */

static void log_flush(struct sim *s)
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

static void log_event(struct sim *s, uint64_t t, const struct conn *c, const char *ev, long n,
		      const char *extra)
{
	if (s->log_fd < 0)
		return;
	strbuf_addf(&s->log, "%llu %s %s %ld%s%s\n", (unsigned long long)t, c->id, ev, n,
		    extra ? " " : "", extra ? extra : "");
	if (s->log.len >= SIM_LOG_FLUSH_BYTES)
		log_flush(s);
}

static void log_fault(struct sim *s, uint64_t t, struct conn *c)
{
	s->st.faults++;
	log_event(s, t, c, "fault", c->sent, fault_names[c->fault]);
}

/* The timer heap */

static bool heap_less(const struct conn *a, const struct conn *b) { return a->due < b->due; }

static void heap_set(struct sim *s, size_t i, struct conn *c)
{
	s->heap[i] = c;
	c->heap_idx = i;
}

static void heap_up(struct sim *s, size_t i)
{
	struct conn *c = s->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!heap_less(c, s->heap[p]))
			break;
		heap_set(s, i, s->heap[p]);
		i = p;
	}
	heap_set(s, i, c);
}

static void heap_down(struct sim *s, size_t i)
{
	struct conn *c = s->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct conn *best = c;

		if (l < s->heap_len && heap_less(s->heap[l], best))
			best = s->heap[m = l];
		if (l + 1 < s->heap_len && heap_less(s->heap[l + 1], best))
			best = s->heap[m = l + 1];
		if (m == i)
			break;
		heap_set(s, i, best);
		i = m;
	}
	heap_set(s, i, c);
}

static void timer_cancel(struct sim *s, struct conn *c)
{
	size_t i = c->heap_idx;
	struct conn *last;

	if (i == SIZE_MAX)
		return;
	c->heap_idx = SIZE_MAX;
	last = s->heap[--s->heap_len];
	if (i == s->heap_len)
		return;
	heap_set(s, i, last);
	heap_up(s, i);
	heap_down(s, last->heap_idx);
}

/* 0, or -1 when out of memory. */
static int timer_set(struct sim *s, struct conn *c, uint64_t due)
{
	if (c->heap_idx != SIZE_MAX) {
		c->due = due;
		heap_up(s, c->heap_idx);
		heap_down(s, c->heap_idx);
		return 0;
	}
	if (s->heap_len == s->heap_cap) {
		size_t ncap = s->heap_cap ? s->heap_cap * 2 : 1024;
		struct conn **nh = lb_realloc(s->heap, ncap * sizeof(*nh));

		if (!nh)
			return -1;
		s->heap = nh;
		s->heap_cap = ncap;
	}
	c->due = due;
	s->heap[s->heap_len] = c;
	c->heap_idx = s->heap_len++;
	heap_up(s, c->heap_idx);
	return 0;
}

static void timer_arm(struct sim *s)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t due;

	if (!s->heap_len || s->heap[0]->due == s->armed)
		return;
	due = s->heap[0]->due;
	if (!due)
		due = 1;
	its.it_value.tv_sec = (time_t)(due / 1000000000u);
	its.it_value.tv_nsec = (long)(due % 1000000000u);
	if (!timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		s->armed = s->heap[0]->due;
}

/* Connections */

static void accept_resume(struct sim *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &tag_listen };

	if (s->accept_paused && !epoll_ctl(s->ep_fd, EPOLL_CTL_MOD, s->listen_fd, &ev))
		s->accept_paused = false;
}

static void accept_pause(struct sim *s, uint64_t now)
{
	struct epoll_event ev = { .events = 0, .data.ptr = &tag_listen };

	if (!s->accept_paused && !epoll_ctl(s->ep_fd, EPOLL_CTL_MOD, s->listen_fd, &ev)) {
		s->accept_paused = true;
		s->st.accept_paused++;
	}
	s->accept_retry_ns = now + 100000000ull;
}

static void queue_remove(struct sim *s, struct conn *c)
{
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else if (s->q_head == c)
		s->q_head = c->qnext;
	else
		return; /* not queued */
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		s->q_tail = c->qprev;
	c->qprev = c->qnext = NULL;
	s->n_queued--;
}

static int start_gen(struct sim *s, struct conn *c, uint64_t now);

static void slot_release(struct sim *s, struct conn *c)
{
	if (!c->holds_slot)
		return;
	c->holds_slot = false;
	s->n_generating--;
	while (!s->closing && s->q_head &&
	       (!s->cfg.capacity || s->n_generating < (uint64_t)s->cfg.capacity)) {
		struct conn *q = s->q_head;

		queue_remove(s, q);
		start_gen(s, q, lb_now_ns());
	}
}

/* End the current request's bookkeeping (slot, queue, counters). */
static void req_end(struct sim *s, struct conn *c)
{
	if (!c->active)
		return;
	c->active = false;
	s->n_active--;
	queue_remove(s, c);
	slot_release(s, c);
}

/* Close and free c. `gone`: the client left (or misbehaved) before its response was done. */
static void conn_close(struct sim *s, struct conn *c, bool gone)
{
	if (c->dead)
		return;
	if (c->active && gone) {
		s->st.client_gone++;
		log_event(s, lb_now_ns(), c, "gone", c->sent, NULL);
	}
	timer_cancel(s, c);
	close(c->fd);
	s->n_conns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead = true;
	c->fd = -1;
	c->prev = NULL;
	c->next = s->dead;
	s->dead = c;
	req_end(s, c);
	strbuf_release(&c->in);
	strbuf_release(&c->out);
	if (s->accept_paused && s->n_conns < (uint64_t)s->max_conns)
		accept_resume(s);
}

/* Write iov to c, queueing what the kernel does not take. 0, or -1 when c was closed. */
static int conn_writev(struct sim *s, struct conn *c, struct iovec *iov, int n_iov)
{
	size_t total = 0, done = 0;
	ssize_t w;
	int i;

	for (i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	if (c->out.len == c->out_off) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n_iov };

		do
			w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			conn_close(s, c, true);
			return -1;
		}
		done = w > 0 ? (size_t)w : 0;
		if (done == total)
			return 0;
	}
	if (c->out.len - c->out_off + (total - done) > SIM_OUT_MAX) {
		conn_close(s, c, true); /* the client stopped reading */
		return -1;
	}
	for (i = 0; i < n_iov; i++) {
		size_t len = iov[i].iov_len;

		if (done >= len) {
			done -= len;
			continue;
		}
		if (strbuf_add(&c->out, (const char *)iov[i].iov_base + done, len - done)) {
			conn_close(s, c, true);
			return -1;
		}
		done = 0;
	}
	return 0;
}

static int conn_write(struct sim *s, struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return conn_writev(s, c, &iov, 1);
}

/* After the last response of a connection: shut our side once flushed, wait for the FIN. */
static int conn_closing(struct sim *s, struct conn *c)
{
	c->state = C_CLOSING;
	if (c->out.len > c->out_off || c->shut)
		return 0;
	shutdown(c->fd, SHUT_WR);
	c->shut = true;
	if (timer_set(s, c, lb_now_ns() + SIM_LINGER_NS)) {
		conn_close(s, c, false);
		return -1;
	}
	return 0;
}

static int conn_flush(struct sim *s, struct conn *c)
{
	while (c->out.len > c->out_off) {
		ssize_t w = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0) {
			conn_close(s, c, true);
			return -1;
		}
		c->out_off += (size_t)w;
	}
	if (c->out.alloc > 65536)
		strbuf_release(&c->out);
	else
		strbuf_reset(&c->out);
	c->out_off = 0;
	if (c->state == C_CLOSING)
		return conn_closing(s, c);
	return 0;
}

/* Responses */

static const char *status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Send a whole response; the connection stays open when keep_alive. 0, or -1 when c closed. */
static int send_response(struct sim *s, struct conn *c, int status, const char *ctype,
			 const char *body, size_t len, const char *extra, bool keep_alive)
{
	char head[512];
	struct iovec iov[2];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nServer: llmbench-sim\r\nContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n%sConnection: %s\r\n\r\n",
		     status, status_text(status), ctype, len, extra ? extra : "",
		     keep_alive ? "keep-alive" : "close");
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	if (conn_writev(s, c, iov, 2))
		return -1;
	if (!keep_alive)
		return conn_closing(s, c);
	return 0;
}

static void error_json(struct strbuf *sb, int status, const char *msg)
{
	const char *type = status == 401   ? "authentication_error"
			   : status == 404 ? "not_found_error"
			   : status == 429 ? "rate_limit_error"
			   : status >= 500 ? "server_error"
					   : "invalid_request_error";

	strbuf_adds(sb, "{\"error\":{\"message\":");
	strbuf_add_json_str(sb, msg, strlen(msg));
	strbuf_addf(sb, ",\"type\":\"%s\",\"param\":null,\"code\":%d}}", type, status);
}

static int send_error(struct sim *s, struct conn *c, int status, const char *msg, bool keep_alive)
{
	struct strbuf *sb = &s->scratch;

	strbuf_reset(sb);
	error_json(sb, status, msg);
	return send_response(s, c, status, "application/json", sb->buf, sb->len, NULL, keep_alive);
}

/* An error for a request the sim could not serve (malformed, unknown path, too large). */
static int reject(struct sim *s, struct conn *c, int status, const char *msg, bool keep_alive)
{
	s->st.bad_requests++;
	if (c->active) {
		char code[16];

		snprintf(code, sizeof(code), "%d", status);
		log_event(s, lb_now_ns(), c, "error", 0, code);
		req_end(s, c);
	}
	return send_error(s, c, status, msg, keep_alive);
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
			strbuf_adds(sb, words[rng_next(&c->rng_words) & 63]);
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
		log_fault(s, t, c);
	}
	strbuf_addf(sb, "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,",
		    c->prompt_tokens, comp);
	strbuf_addf(sb, "\"total_tokens\":%ld}", c->prompt_tokens + comp);
}

static const char *finish_reason(const struct conn *c)
{
	return c->max_tokens > 0 && c->n_out >= c->max_tokens ? "length" : "stop";
}

/* Send payload as one HTTP chunk (HTTP/1.1) or raw (HTTP/1.0), after head when given, and the
 * last-chunk marker when last. 0, or -1 when c was closed. */
static int send_stream(struct sim *s, struct conn *c, const char *head, size_t head_len,
		       const char *payload, size_t len, bool last)
{
	struct iovec iov[5];
	char hex[24];
	int n = 0;

	if (head_len) {
		iov[n].iov_base = (void *)head;
		iov[n++].iov_len = head_len;
	}
	if (c->http11 && len) {
		iov[n].iov_base = hex;
		iov[n++].iov_len = (size_t)snprintf(hex, sizeof(hex), "%zx\r\n", len);
	}
	if (len) {
		iov[n].iov_base = (void *)payload;
		iov[n++].iov_len = len;
		if (c->http11) {
			iov[n].iov_base = (void *)"\r\n";
			iov[n++].iov_len = 2;
		}
	}
	if (last && c->http11) {
		iov[n].iov_base = (void *)"0\r\n\r\n";
		iov[n++].iov_len = 5;
	}
	if (!n)
		return 0;
	return conn_writev(s, c, iov, n);
}

/* The request is answered: free its slot; serve what the client pipelined, or close. */
static int conn_process(struct sim *s, struct conn *c);

static int req_finish(struct sim *s, struct conn *c)
{
	s->st.completed++;
	req_end(s, c);
	if (!c->keep_alive)
		return conn_closing(s, c);
	c->state = C_READ;
	if (c->in.len)
		return conn_process(s, c);
	return 0;
}

/* A close or stall fault acts now. */
static int fault_cut(struct sim *s, struct conn *c, uint64_t t)
{
	log_fault(s, t, c);
	if (c->fault == SIM_FAULT_STALL_FIRST || c->fault == SIM_FAULT_STALL_MID) {
		c->state = C_STALLED;
		return 0;
	}
	conn_close(s, c, false);
	return -1;
}

static uint64_t chunk_due(struct sim *s, struct conn *c, long k)
{
	uint64_t t = c->t_start + c->ttft_ns + (uint64_t)(k - 1) * c->itl_chunk_ns;

	if (s->jitter_ns) {
		double j = (rng_unit(&c->rng_time) * 2 - 1) * (double)s->jitter_ns;

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
static int start_gen(struct sim *s, struct conn *c, uint64_t now)
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
	if (send_stream(s, c, head, head_len, sb->buf, sb->len, false))
		return -1;
schedule:
	if (timer_set(s, c, chunk_due(s, c, c->stream || !c->n_chunks ? 1 : c->n_chunks))) {
		conn_close(s, c, false);
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
	case SIM_FAULT_STALL_MID:
		return fault_cut(s, c, t);
	case SIM_FAULT_ERROR_MID:
		log_fault(s, t, c);
		strbuf_reset(sb);
		error_json(sb, 500, "simulated error (error_mid)");
		if (send_response(s, c, 200, "application/json", sb->buf, sb->len, NULL,
				  c->keep_alive))
			return -1;
		log_event(s, t, c, "done", 0, NULL);
		return req_finish(s, c);
	default:
		break;
	}
	strbuf_reset(sb);
	add_json_head(s, c, sb, chat ? "chat.completion" : "text_completion");
	strbuf_adds(sb, chat ? "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
			       "\"content\":\""
			     : "\"choices\":[{\"index\":0,\"text\":\"");
	if (f == SIM_FAULT_TRUNC_UTF8 || f == SIM_FAULT_LONG_LINE)
		log_fault(s, t, c);
	add_text(c, sb, c->n_out, f);
	strbuf_addf(sb, "\"%s,\"logprobs\":null,\"finish_reason\":\"%s\"}]", chat ? "}" : "",
		    finish_reason(c));
	if (f == SIM_FAULT_NO_USAGE) {
		log_fault(s, t, c);
	} else {
		strbuf_addch(sb, ',');
		add_usage_fields(s, c, sb, t);
	}
	strbuf_adds(sb, "}");
	len = sb->len;
	if (f == SIM_FAULT_BAD_JSON) {
		log_fault(s, t, c);
		len /= 2;
	}
	t = lb_now_ns();
	rc = send_response(s, c, 200, "application/json", sb->buf, len, NULL, c->keep_alive);
	if (rc)
		return -1;
	s->st.tokens += (uint64_t)c->sent;
	log_event(s, t, c, "done", c->sent, NULL);
	return req_finish(s, c);
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
		error_json(sb, 500, "simulated error (error_mid)");
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
	if (send_stream(s, c, NULL, 0, sb->buf, sb->len, done))
		return -1;
	if (extra_fault || mangle)
		log_fault(s, t, c);
	if (content) {
		s->st.chunks++;
		s->st.tokens += (uint64_t)ntok;
		log_event(s, t, c, k == 1 ? "first" : "chunk", ntok, NULL);
	}
	if (done) {
		if (f == SIM_FAULT_ERROR_MID)
			log_fault(s, t, c);
		else if (f == SIM_FAULT_NO_USAGE && c->include_usage)
			log_fault(s, t, c);
		log_event(s, t, c, "done", c->sent, NULL);
		return req_finish(s, c);
	}
	if (mid || (last && f == SIM_FAULT_NO_DONE))
		return fault_cut(s, c, t);
	c->k++;
	if (timer_set(s, c, chunk_due(s, c, c->k))) {
		conn_close(s, c, false);
		return -1;
	}
	return 0;
}

static void on_timer(struct sim *s, struct conn *c)
{
	if (c->state == C_CLOSING) {
		conn_close(s, c, false);
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

/* Requests */

static int serve_other(struct sim *s, struct conn *c, const struct sim_head *h)
{
	struct strbuf *sb = &s->scratch;

	if (strcmp(h->method, "GET"))
		return reject(s, c, 405, "use GET for this path", h->keep_alive);
	s->st.other_requests++;
	strbuf_reset(sb);
	if (h->api == SIM_API_HEALTH) {
		strbuf_adds(sb, "{\"status\":\"ok\"}");
	} else {
		strbuf_adds(sb, "{\"object\":\"list\",\"data\":[{\"id\":");
		strbuf_add_json_str(sb, s->cfg.model, strlen(s->cfg.model));
		strbuf_adds(sb, ",\"object\":\"model\",\"created\":0,"
				"\"owned_by\":\"llmbench-sim\"}]}");
	}
	return send_response(s, c, 200, "application/json", sb->buf, sb->len, NULL, h->keep_alive);
}

static int pick_fault(struct sim *s, struct conn *c, const struct sim_head *h, char *msg,
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
	u = rng_unit(&c->rng_time);
	for (i = 0; i < s->cfg.n_faults; i++) {
		cum += s->cfg.faults[i].rate;
		if (u < cum) {
			c->fault = s->cfg.faults[i].kind;
			break;
		}
	}
	return 0;
}

static int http_fault_status(enum sim_fault f)
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

/* A whole completion request is in c->in: head h, body [body, body + len). */
static int serve_completion(struct sim *s, struct conn *c, const struct sim_head *h,
			    const char *body, size_t len, uint64_t t_recv)
{
	struct sim_body b;
	char msg[1024];
	int status;
	uint64_t seed;

	c->seq = ++s->seq;
	if (h->request_id[0])
		memcpy(c->id, h->request_id, sizeof(c->id));
	else
		snprintf(c->id, sizeof(c->id), "sim-%llu", (unsigned long long)c->seq);
	c->keep_alive = h->keep_alive;
	c->http11 = h->http11;
	c->api = h->api;
	c->active = true;
	c->sent = 0;
	c->created = (long long)time(NULL);
	s->n_active++;
	if (s->n_active > s->st.peak_streams)
		s->st.peak_streams = s->n_active;
	s->st.requests++;
	seed = hash_str(c->id) ^ (s->cfg.seed * 0x9e3779b97f4a7c15ull);
	c->rng_time = rng_next(&seed);
	c->rng_words = rng_next(&seed);
	if (h->api == SIM_API_COMPLETIONS && sim_echo_asked(body, len)) {
		/* prompt log-probabilities, answered at once (sim_logprobs.c) */
		log_event(s, t_recv, c, "recv", 0, NULL);
		if (s->cfg.no_echo)
			return reject(s, c, 400, "Only no echo is supported", c->keep_alive);
		strbuf_reset(&s->scratch);
		if (sim_echo_reply(body, len, &s->scratch, msg, sizeof(msg)))
			return reject(s, c, 400, msg, c->keep_alive);
		log_event(s, lb_now_ns(), c, "done", 0, NULL);
		s->st.completed++;
		req_end(s, c);
		return send_response(s, c, 200, "application/json", s->scratch.buf,
				     s->scratch.len, NULL, c->keep_alive);
	}
	if (sim_body_parse(body, len, h->api, &s->answers, &b, msg, sizeof(msg))) {
		log_event(s, t_recv, c, "recv", 0, NULL);
		return reject(s, c, 400, msg, c->keep_alive);
	}
	log_event(s, t_recv, c, "recv", b.prompt_tokens, NULL);
	if (pick_fault(s, c, h, msg, sizeof(msg)))
		return reject(s, c, 400, msg, c->keep_alive);
	c->stream = b.stream;
	c->include_usage = b.include_usage;
	c->max_tokens = b.max_tokens;
	c->prompt_tokens = b.prompt_tokens;
	c->answer = b.answer;
	memcpy(c->model, b.model, sizeof(c->model));
	if (c->stream)
		s->st.streamed++;
	if (b.answer) {
		c->n_out = (long)b.answer->n_words;
	} else {
		c->n_out = s->cfg.out_min;
		if (s->cfg.out_max > s->cfg.out_min)
			c->n_out += (long)(rng_next(&c->rng_time) %
					   (uint64_t)(s->cfg.out_max - s->cfg.out_min + 1));
	}
	if (c->max_tokens > 0 && c->n_out > c->max_tokens)
		c->n_out = c->max_tokens;
	if (c->fault == SIM_FAULT_REFUSE) {
		log_fault(s, t_recv, c);
		conn_close(s, c, false);
		return -1;
	}
	status = http_fault_status(c->fault);
	if (status) {
		log_fault(s, lb_now_ns(), c);
		req_end(s, c);
		if (c->fault == SIM_FAULT_HTTP_500_TEXT)
			return send_response(s, c, 500, "text/plain", "Internal Server Error\n", 22,
					     NULL, c->keep_alive);
		snprintf(msg, sizeof(msg), "simulated %s", fault_names[c->fault]);
		strbuf_reset(&s->scratch);
		error_json(&s->scratch, status, msg);
		return send_response(
			s, c, status, "application/json", s->scratch.buf, s->scratch.len,
			c->fault == SIM_FAULT_HTTP_429_RETRY ? "Retry-After: 1\r\n" : NULL,
			c->keep_alive);
	}
	if (s->cfg.capacity && s->n_generating >= (uint64_t)s->cfg.capacity) {
		c->state = C_QUEUED;
		c->qprev = s->q_tail;
		c->qnext = NULL;
		if (s->q_tail)
			s->q_tail->qnext = c;
		else
			s->q_head = c;
		s->q_tail = c;
		if (++s->n_queued > s->st.peak_queued)
			s->st.peak_queued = s->n_queued;
		return 0;
	}
	return start_gen(s, c, t_recv);
}

static void consume(struct conn *c, size_t n)
{
	if (n >= c->in.len) {
		if (c->in.alloc > 16384)
			strbuf_release(&c->in);
		else
			strbuf_reset(&c->in);
		return;
	}
	memmove(c->in.buf, c->in.buf + n, c->in.len - n);
	c->in.len -= n;
	c->in.buf[c->in.len] = 0;
}

/* Serve the requests in c->in while c is waiting for one. 0, or -1 when c was closed. */
static int conn_process(struct sim *s, struct conn *c)
{
	while (c->state == C_READ && c->in.len) {
		struct sim_head h;
		long head_len = sim_head_parse(c->in.buf, c->in.len, &h);
		size_t need;
		int rc;

		if (!head_len)
			return 0;
		if (head_len < 0)
			return reject(s, c, (int)-head_len, "malformed HTTP request", false);
		if (h.api == SIM_API_MODELS || h.api == SIM_API_HEALTH) {
			if (h.content_length > 0) /* no bodies expected here: don't wait for one */
				return reject(s, c, 400, "unexpected request body", false);
			consume(c, (size_t)head_len);
			if (serve_other(s, c, &h))
				return -1;
			continue;
		}
		if (h.api == SIM_API_NONE)
			return reject(s, c, 404, "unknown path", false);
		if (strcmp(h.method, "POST"))
			return reject(s, c, 405, "use POST for this path", false);
		if (h.chunked)
			return reject(s, c, 501, "chunked request bodies are not supported", false);
		if (h.content_length < 0)
			return reject(s, c, 411, "Content-Length is required", false);
		if ((unsigned long long)h.content_length > s->cfg.max_body) {
			char msg[128];

			snprintf(msg, sizeof(msg), "request body of %lld bytes exceeds %zu bytes",
				 h.content_length, s->cfg.max_body);
			return reject(s, c, 413, msg, false);
		}
		need = (size_t)head_len + (size_t)h.content_length;
		if (c->in.len < need) {
			if (h.expect_continue && c->in.len == (size_t)head_len) {
				static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

				if (conn_write(s, c, cont, sizeof(cont) - 1))
					return -1;
			}
			return 0;
		}
		rc = serve_completion(s, c, &h, c->in.buf + head_len, (size_t)h.content_length,
				      lb_now_ns());
		if (rc)
			return -1;
		consume(c, need);
	}
	return 0;
}

static void on_readable(struct sim *s, struct conn *c)
{
	size_t limit = SIM_HEAD_MAX + s->cfg.max_body + 4096;

	for (;;) {
		ssize_t n = read(c->fd, s->rbuf, sizeof(s->rbuf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(s, c, c->state != C_CLOSING);
			return;
		}
		if (c->state == C_CLOSING)
			continue; /* discard what comes after our last response */
		if (c->in.len + (size_t)n > limit || strbuf_add(&c->in, s->rbuf, (size_t)n)) {
			s->st.bad_requests++;
			conn_close(s, c, true);
			return;
		}
		if (c->state == C_READ && conn_process(s, c))
			return;
	}
}

static void on_accept(struct sim *s)
{
	for (;;) {
		struct epoll_event ev;
		struct conn *c;
		int fd, one = 1;

		if (s->n_conns >= (uint64_t)s->max_conns) {
			accept_pause(s, lb_now_ns());
			return;
		}
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				accept_pause(s, lb_now_ns());
			return;
		}
		c = lb_calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			accept_pause(s, lb_now_ns());
			return;
		}
		c->fd = fd;
		c->heap_idx = SIZE_MAX;
		c->state = C_READ;
		strbuf_init(&c->in, 0);
		strbuf_init(&c->out, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep_fd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			lb_free(c);
			continue;
		}
		s->n_conns++;
		s->st.connections++;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		if (s->n_conns > s->st.peak_conns)
			s->st.peak_conns = s->n_conns;
	}
}

static void free_dead(struct sim *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next;
		lb_free(c);
	}
}

static void on_conn_event(struct sim *s, struct conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & EPOLLERR) {
		conn_close(s, c, true);
		return;
	}
	if (events & EPOLLOUT && c->out.len > c->out_off && conn_flush(s, c))
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		on_readable(s, c);
}

/* Setup and the loop */

static int listen_on(struct sim *s, struct lb_error *err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[16], serv[16];
	int rc, fd = -1, one = 1, saved = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", s->cfg.port);
	rc = getaddrinfo(s->cfg.host, port, &hints, &res);
	if (rc)
		return lb_error_set(err, LB_ERR_USAGE, "cannot resolve '%s': %s", s->cfg.host,
				    gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 4096))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return lb_error_set(err, LB_ERR_IO, "cannot listen on %s:%d: %s", s->cfg.host,
				    s->cfg.port, strerror(saved));
	s->listen_fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) ||
	    getnameinfo((struct sockaddr *)&ss, sl, s->host, sizeof(s->host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return lb_error_set(err, LB_ERR_IO, "cannot read the listening address: %s",
				    strerror(errno));
	s->port = atoi(serv);
	return 0;
}

static int ep_add(struct sim *s, int fd, void *tag, struct lb_error *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (epoll_ctl(s->ep_fd, EPOLL_CTL_ADD, fd, &ev))
		return lb_error_set(err, LB_ERR_IO, "epoll_ctl: %s", strerror(errno));
	return 0;
}

int sim_open(struct sim **out, const struct sim_config *cfg, struct lb_error *err)
{
	struct sim *s;
	struct rlimit rl;
	int rc;

	*out = NULL;
	s = lb_calloc(1, sizeof(*s));
	if (!s)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	s->cfg = *cfg;
	if (!s->cfg.max_body)
		s->cfg.max_body = 8u << 20;
	if (!s->cfg.model)
		s->cfg.model = "llmbench-sim";
	if (s->cfg.tokens_per_chunk < 1)
		s->cfg.tokens_per_chunk = 1;
	s->listen_fd = s->ep_fd = s->timer_fd = s->stop_fd = s->log_fd = -1;
	strbuf_init(&s->log, 0);
	strbuf_init(&s->scratch, 0);
	s->ttft_ns = (uint64_t)(cfg->ttft_ms * cfg->slowdown * 1e6);
	s->prompt_ns_per_token = (uint64_t)(cfg->prompt_ms_per_token * cfg->slowdown * 1e6);
	s->itl_ns = (uint64_t)(cfg->itl_ms * cfg->slowdown * 1e6);
	s->jitter_ns = (uint64_t)(cfg->jitter_ms * 1e6);
	s->max_conns = cfg->max_conns;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		long fit = (long)rl.rlim_cur - 32;

		if (!s->max_conns || s->max_conns > fit)
			s->max_conns = fit > 1 ? fit : 1;
	} else if (!s->max_conns) {
		s->max_conns = 1000000;
	}
	if (cfg->answers_path && (rc = sim_answers_load(&s->answers, cfg->answers_path, err)))
		goto fail;
	if (cfg->log_path) {
		s->log_fd = open(cfg->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s->log_fd < 0) {
			rc = lb_error_set(err, LB_ERR_USAGE, "cannot open '%s': %s", cfg->log_path,
					  strerror(errno));
			goto fail;
		}
	}
	if ((rc = listen_on(s, err)))
		goto fail;
	s->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->ep_fd < 0 || s->timer_fd < 0 || s->stop_fd < 0) {
		rc = lb_error_set(err, LB_ERR_IO, "cannot set up the event loop: %s",
				  strerror(errno));
		goto fail;
	}
	if ((rc = ep_add(s, s->listen_fd, &tag_listen, err)) ||
	    (rc = ep_add(s, s->timer_fd, &tag_timer, err)) ||
	    (rc = ep_add(s, s->stop_fd, &tag_stop, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	sim_close(s);
	return rc;
}

const char *sim_host(const struct sim *s) { return s->host; }
int sim_port(const struct sim *s) { return s->port; }

void sim_interrupt(struct sim *s)
{
	uint64_t one = 1;
	ssize_t n;

	s->stop = 1;
	n = write(s->stop_fd, &one, sizeof(one));
	(void)n;
}

void sim_get_stats(const struct sim *s, struct sim_stats *out) { *out = s->st; }

static void run_timers(struct sim *s, uint64_t now)
{
	while (s->heap_len && s->heap[0]->due <= now) {
		struct conn *c = s->heap[0];

		timer_cancel(s, c);
		on_timer(s, c);
	}
}

int sim_run(struct sim *s, struct lb_error *err)
{
	struct epoll_event evs[SIM_MAX_EVENTS];
	uint64_t t0 = lb_now_ns(), deadline = 0;
	int rc = 0;

	if (s->cfg.duration_s > 0)
		deadline = t0 + (uint64_t)(s->cfg.duration_s * 1e9);
	s->log_flushed_ns = t0;
	while (!s->stop) {
		uint64_t now = lb_now_ns(), wake = UINT64_MAX;
		int n, i, timeout;

		run_timers(s, now);
		now = lb_now_ns();
		if (deadline && now >= deadline)
			break;
		if (s->log.len && now - s->log_flushed_ns >= SIM_LOG_FLUSH_NS)
			log_flush(s);
		if (s->accept_paused && s->n_conns < (uint64_t)s->max_conns &&
		    now >= s->accept_retry_ns) {
			accept_resume(s);
			on_accept(s);
		}
		timer_arm(s);
		if (deadline)
			wake = deadline;
		if (s->log.len && s->log_flushed_ns + SIM_LOG_FLUSH_NS < wake)
			wake = s->log_flushed_ns + SIM_LOG_FLUSH_NS;
		if (s->accept_paused && s->accept_retry_ns < wake)
			wake = s->accept_retry_ns;
		if (wake == UINT64_MAX)
			timeout = -1;
		else if (wake <= now)
			timeout = 0;
		else
			timeout = (int)((wake - now + 999999) / 1000000);
		n = epoll_wait(s->ep_fd, evs, SIM_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = lb_error_set(err, LB_ERR_IO, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &tag_listen) {
				on_accept(s);
			} else if (p == &tag_timer) {
				uint64_t ticks;
				ssize_t r = read(s->timer_fd, &ticks, sizeof(ticks));

				(void)r;
				s->armed = 0;
			} else if (p == &tag_stop) {
				s->stop = 1;
			} else {
				on_conn_event(s, p, evs[i].events);
			}
		}
		free_dead(s);
	}
	if (s->log_fd >= 0) {
		log_flush(s);
		if (s->log_errno && !rc)
			rc = lb_error_set(err, LB_ERR_IO, "cannot write '%s': %s", s->cfg.log_path,
					  strerror(s->log_errno));
	}
	return rc;
}

void sim_close(struct sim *s)
{
	if (!s)
		return;
	s->closing = true;
	while (s->conns)
		conn_close(s, s->conns, false);
	free_dead(s);
	if (s->log_fd >= 0) {
		log_flush(s);
		close(s->log_fd);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->ep_fd >= 0)
		close(s->ep_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	sim_answers_free(&s->answers);
	strbuf_release(&s->log);
	strbuf_release(&s->scratch);
	lb_free(s->heap);
	lb_free(s);
}
