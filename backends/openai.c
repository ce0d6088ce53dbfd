/* openai.c: the OpenAI-compatible HTTP backend (vLLM, TGI, llama-server, Ollama, SGLang, OpenAI).
 *
 * Requests, responses and events for both HTTP clients, and the libcurl one; the native
 * HTTP/1.1 client (http_client "native", the default for http://) is openai_h1.c, which feeds
 * response bodies to the same xfer_set_mode / xfer_body / xfer_complete.
 *
 * With libcurl, one multi handle drives every request of the backend from the harness's thread: no
 * thread per request. Sockets are watched with epoll through curl's multi_socket interface, so
 * the cost of one poll grows with the sockets that have work, not with the streams open (10,000
 * concurrent streams on loopback). Each request is a `struct xfer` holding an easy handle; ended
 * transfers go back to a free list and are reused, keeping their connection cache.
 *
 * Events are emitted from inside curl's write callback; a sink must therefore not call back into
 * this backend (submit/poll/cancel). Their time is taken as early as the data is known to be
 * there: when epoll_wait returned the socket as readable (one clock read per wake-up, shared by
 * every socket of the batch), or, for bytes read outside an epoll batch (curl's timer actions),
 * when they reached the write callback. Streamed chunks go through the lean scan
 * (oai_chunk_read: no JSON tree unless the scan is unsure).
 *
 * Over 800 lines on purpose: submit, the curl callbacks, cancel and poll all work on one private
 * transfer state (struct xfer, the free list, the epoll set); request building and response
 * parsing are already apart (openai_json.c, openai_scan.c). */
#include "backend.h"
#include "openai_int.h"
#include "openai_json.h"
#include "redact.h"
#include "sse.h"

#include "../base/alloc.h"
#include "../base/clock.h"
#include "../base/strbuf.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The time of the next SSE event of the socket being handled: its mark; past the marks, the
 * newest peeked time when the marks ran out before the peeked events did or none could be
 * seen, else now (the event's bytes came after the peek). */
static uint64_t rx_event_time(struct openai *o, enum lb_tsrc *src)
{
	int i = o->mark_next++;

	if (i < o->n_marks) {
		*src = LB_TSRC_KERNEL_OWN;
		return o->marks[i];
	}
	/* an event seen in the peeked bytes, or none seen (TLS records, CRLF line ends): the
	 * newest time; past the peeked events, bytes that came after the peek: now */
	if (i < o->n_events || !o->n_events) {
		*src = LB_TSRC_KERNEL_READ;
		return o->t_ready;
	}
	*src = LB_TSRC_HARNESS;
	return lb_now_ns();
}

/* ---- events ---------------------------------------------------------------------------- */

/* Hand the request its last event and forget it. */
static void xfer_end(struct xfer *x, struct lb_event *ev)
{
	struct request *r = x->req;

	if (!r)
		return;
	x->req = NULL;
	if (x->fl_prev)
		x->fl_prev->fl_next = x->fl_next;
	else
		x->o->flying = x->fl_next;
	if (x->fl_next)
		x->fl_next->fl_prev = x->fl_prev;
	x->fl_prev = x->fl_next = NULL;
	x->o->inflight--;
	lb_sink_emit(&r->sink, ev);
}

void xfer_fail(struct xfer *x, uint64_t t, enum lb_fail fail, int status, const char *fmt, ...)
{
	struct lb_event ev;
	va_list ap;

	if (!x->req)
		return;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	lb_event_init(&ev, LB_EV_ERROR, x->req->id, t);
	ev.fail = fail;
	ev.http_status = status;
	ev.text = x->msg;
	ev.text_len = strlen(x->msg);
	xfer_end(x, &ev);
}

static void xfer_done(struct xfer *x, uint64_t t, const char *text, size_t text_len)
{
	struct lb_event ev;

	if (!x->req)
		return;
	lb_event_init(&ev, LB_EV_DONE, x->req->id, t);
	ev.text = text;
	ev.text_len = text_len;
	ev.usage_prompt_tokens = x->usage_prompt;
	ev.usage_completion_tokens = x->usage_completion;
	ev.finish_reason = x->finish[0] ? x->finish : NULL;
	ev.server_prompt_ms = x->prompt_ms;
	ev.server_predicted_ms = x->predicted_ms;
	xfer_end(x, &ev);
}

/* Take what a chunk (or a whole body) says about usage, timings and the finish. */
static void xfer_take_meta(struct xfer *x, const struct oai_chunk *c)
{
	if (c->usage_prompt >= 0)
		x->usage_prompt = c->usage_prompt;
	if (c->usage_completion >= 0)
		x->usage_completion = c->usage_completion;
	if (c->prompt_ms >= 0)
		x->prompt_ms = c->prompt_ms;
	if (c->predicted_ms >= 0)
		x->predicted_ms = c->predicted_ms;
	if (c->finish_reason) {
		snprintf(x->finish, sizeof(x->finish), "%s", c->finish_reason);
		x->finished = true;
	}
}

/* Copy at most max bytes of s into buf as printable text. */
static void printable(char *buf, size_t len, const char *s, size_t n, size_t max)
{
	size_t i, j = 0;

	if (n > max)
		n = max;
	for (i = 0; i < n && j + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	buf[j] = 0;
}

/* ---- the response stream ---------------------------------------------------------------- */

static int on_sse(void *ctx, const struct sse_event *sev)
{
	struct xfer *x = ctx;
	struct oai_chunk c;
	struct lb_error e = LB_ERROR_INIT;
	char head[128];

	if (!x->req)
		return 1;
	if (x->o->rx_kernel && x->fd == x->o->ready_fd) /* in its own socket's read */
		x->t_now = rx_event_time(x->o, &x->t_src);
	if (sev->data_len == 6 && !memcmp(sev->data, "[DONE]", 6)) {
		/* a stream that gave nothing and no reason is no answer (a real empty completion
		 * still ends with a finish_reason) */
		if (!x->n_chunks && !x->finished)
			xfer_fail(x, x->t_now, LB_FAIL_STREAM, 0,
				  "the stream ended at [DONE] with no chunk and no finish_reason");
		else
			xfer_done(x, x->t_now, NULL, 0);
		return 1;
	}
	if (sev->event && sev->event_len == 5 && !memcmp(sev->event, "error", 5)) {
		printable(head, sizeof(head), sev->data, sev->data_len, 120);
		xfer_fail(x, x->t_now, LB_FAIL_STREAM, 0, "error event in the stream: %s", head);
		return 1;
	}
	if (oai_chunk_read(&c, x->o->api, sev->data, sev->data_len, &e)) {
		printable(head, sizeof(head), sev->data, sev->data_len, 80);
		xfer_fail(x, x->t_now, LB_FAIL_STREAM, 0, "%s (data: '%s')", e.msg, head);
		oai_chunk_release(&c);
		return 1;
	}
	if (c.is_error) {
		xfer_fail(x, x->t_now, LB_FAIL_STREAM, 0, "error object in the stream: %.300s",
			  c.error_msg);
		oai_chunk_release(&c);
		return 1;
	}
	if (c.text && c.text_len) {
		struct lb_event ev;

		lb_event_init(&ev, x->got_first ? LB_EV_TOKENS : LB_EV_FIRST_TOKEN, x->req->id,
			      x->t_now);
		ev.t_src = x->t_src;
		ev.text = c.text;
		ev.text_len = c.text_len;
		/* vLLM's continuous_usage_stats: cumulative completion tokens in every chunk */
		if (c.usage_completion > x->cum_completion && x->cum_completion >= 0) {
			ev.n_tokens = c.usage_completion - x->cum_completion;
			x->cum_completion = c.usage_completion;
		}
		x->got_first = true;
		x->n_chunks++;
		lb_sink_emit(&x->req->sink, &ev);
	}
	xfer_take_meta(x, &c);
	oai_chunk_release(&c);
	return 0;
}

/* The response's status and Content-Type (NULL: none) decide how its body is read. */
void xfer_set_mode(struct xfer *x, long status, const char *ct)
{
	x->status = status;
	if (x->status >= 400) {
		x->mode = MODE_HTTP_ERROR;
		return;
	}
	if (ct && strstr(ct, "event-stream"))
		x->mode = MODE_SSE;
	else if (ct && strstr(ct, "json"))
		x->mode = MODE_BODY;
	else
		x->mode = x->o->cfg.stream ? MODE_SSE : MODE_BODY;
}

int xfer_body(struct xfer *x, const char *ptr, size_t n, uint64_t t)
{
	struct lb_error e = LB_ERROR_INIT;
	int rc;

	if (t < x->t_sent)
		t = x->t_sent;
	x->t_last = t;
	if (!x->req)
		return 0; /* ended at [DONE]: drain the rest so the connection can be reused */
	switch (x->mode) {
	case MODE_HTTP_ERROR:
		if (x->resp.len < OAI_ERRBODY_MAX)
			strbuf_add(&x->resp, ptr,
				   n < OAI_ERRBODY_MAX - x->resp.len
					   ? n
					   : OAI_ERRBODY_MAX - x->resp.len);
		return 0;
	case MODE_BODY:
		if (x->resp.len + n > x->o->cfg.max_body_bytes) {
			xfer_fail(
				x, t, LB_FAIL_STREAM, 0,
				"response body longer than the bound of %zu bytes (max_body_bytes)",
				x->o->cfg.max_body_bytes);
			return -1;
		}
		if (strbuf_add(&x->resp, ptr, n)) {
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "out of memory for the response body");
			return -1;
		}
		return 0;
	default: break;
	}
	x->t_now = t;
	x->t_src = LB_TSRC_HARNESS; /* unless its own read's kernel time comes (on_sse) */
	rc = sse_parser_feed(&x->sse, ptr, n, &e);
	if (rc < 0)
		xfer_fail(x, t, LB_FAIL_STREAM, 0, "%s%s", e.msg,
			  rc == LB_ERR_LIMIT ? " (max_body_bytes)" : "");
	return x->msg[0] ? -1 : 0; /* a failure aborts the transfer */
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;
	/* the time of its own socket's bytes: curl also runs other transfers (timers) while
	 * handling a socket, and reads their bytes now */
	uint64_t t = x->o->t_ready && x->fd == x->o->ready_fd ? x->o->t_ready : lb_now_ns();

	if (x->req && x->mode == MODE_UNKNOWN) {
		long status = 0;
		char *ct = NULL;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		xfer_set_mode(x, status, ct);
	}
	return xfer_body(x, ptr, n, t) ? 0 : n;
}

/* ---- transfers --------------------------------------------------------------------------- */

static void xfer_free(struct xfer *x)
{
	if (x->easy)
		curl_easy_cleanup(x->easy);
	if (x->head.alloc) /* the native client's request head holds the key's header */
		memset(x->head.buf, 0, x->head.alloc);
	strbuf_release(&x->head);
	strbuf_release(&x->body);
	strbuf_release(&x->resp);
	sse_parser_release(&x->sse);
	lb_free(x);
}

/* Each connection asks the kernel for its receive times (SO_TIMESTAMPNS): the time a
 * response's bytes arrived, whatever the harness was doing then (docs/performance.md). */
static int on_sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int one = 1;

	(void)clientp;
	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	return CURL_SOCKOPT_OK;
}

static struct xfer *xfer_new(struct openai *o)
{
	const struct backend_config *c = &o->cfg;
	struct xfer *x = lb_calloc(1, sizeof(*x));
	CURL *h;

	if (!x)
		return NULL;
	x->o = o;
	strbuf_init(&x->body, 0);
	strbuf_init(&x->resp, 0);
	strbuf_init(&x->head, 0);
	sse_parser_init(&x->sse, c->max_body_bytes, on_sse, x);
	if (o->h1) {
		x->all_next = o->all;
		o->all = x;
		return x;
	}
	h = x->easy = curl_easy_init();
	if (!h) {
		xfer_free(x);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, o->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (o->rx_kernel_on)
		curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	/* one stream per connection, as the usual benchmark clients do; predictable queueing */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	x->all_next = o->all;
	o->all = x;
	return x;
}

void xfer_recycle(struct xfer *x)
{
	struct openai *o = x->o;

	if (x->active) {
		curl_multi_remove_handle(o->multi, x->easy);
		x->active = false;
		o->n_active--;
	}
	x->req = NULL;
	if (x->body.alloc > OAI_KEEP_BUF)
		strbuf_release(&x->body);
	if (x->resp.alloc > OAI_KEEP_BUF)
		strbuf_release(&x->resp);
	if (x->sse.line.alloc > OAI_KEEP_BUF || x->sse.data.alloc > OAI_KEEP_BUF)
		sse_parser_release(&x->sse);
	x->next = o->free;
	o->free = x;
}

static void xfer_start_state(struct xfer *x, struct request *req)
{
	x->req = req;
	x->fd = -1; /* until curl says which socket it uses */
	x->mode = MODE_UNKNOWN;
	x->status = 0;
	x->got_first = x->finished = false;
	x->n_chunks = 0;
	x->usage_prompt = x->usage_completion = -1;
	x->cum_completion = 0;
	x->prompt_ms = x->predicted_ms = -1;
	x->finish[0] = 0;
	x->msg[0] = 0;
	x->errbuf[0] = 0;
	x->t_now = x->t_last = 0;
	strbuf_reset(&x->body);
	strbuf_reset(&x->resp);
	sse_parser_reset(&x->sse);
}

/* The transfer ended as end says (why: the transport's words, for end != XFER_OK); end its
 * request if still open. x->status: the response's, 0 when none came. */
void xfer_complete(struct xfer *x, enum xfer_end end, const char *why)
{
	uint64_t t = x->t_last ? x->t_last : lb_now_ns();
	struct lb_error e = LB_ERROR_INIT;
	bool ok = end == XFER_OK;
	char head[OAI_ERRBODY_MAX + 1];

	if (!x->req)
		return;
	if (!why)
		why = "";
	if (end == XFER_TIMEOUT && !(x->mode == MODE_SSE && x->finished)) {
		xfer_fail(x, lb_now_ns(), LB_FAIL_TIMEOUT, 0, "timed out: %s", why);
		return;
	}
	if (x->mode == MODE_HTTP_ERROR || (x->mode == MODE_UNKNOWN && x->status >= 400)) {
		printable(head, sizeof(head), x->resp.buf, x->resp.len, OAI_ERRBODY_MAX);
		xfer_fail(x, t, LB_FAIL_HTTP, (int)x->status, "HTTP %ld from '%s': %s", x->status,
			  x->o->shown_url, x->resp.len ? head : "(empty body)");
		return;
	}
	if (!ok && x->mode == MODE_UNKNOWN && x->status <= 0) {
		xfer_fail(x, lb_now_ns(), LB_FAIL_CONNECT, 0, "cannot reach '%s': %s",
			  x->o->shown_url, why);
		return;
	}
	if (x->mode == MODE_BODY) {
		struct oai_chunk c;

		if (!ok) {
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "response cut off: %s", why);
			return;
		}
		if (oai_chunk_parse(&c, x->o->api, x->resp.buf, x->resp.len, &e)) {
			printable(head, sizeof(head), x->resp.buf, x->resp.len, 80);
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "%s (body: '%s')", e.msg, head);
		} else if (c.is_error) {
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "error object in the response: %.300s",
				  c.error_msg);
		} else if (!c.has_choice) {
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "response without choices");
		} else {
			xfer_take_meta(x, &c);
			xfer_done(x, t, c.text ? c.text : "", c.text ? c.text_len : 0);
		}
		oai_chunk_release(&c);
		return;
	}
	if (x->mode == MODE_SSE) {
		bool partial = false;
		int rc;

		x->t_now = t;
		x->t_src = LB_TSRC_HARNESS;
		rc = sse_parser_finish(&x->sse, &partial, &e);
		if (rc < 0)
			xfer_fail(x, t, LB_FAIL_STREAM, 0, "%s", e.msg);
		if (!x->req)
			return;
		if (x->finished) {
			xfer_done(x, t, NULL, 0); /* finish_reason seen; no [DONE] is fine */
			return;
		}
		xfer_fail(x, t, LB_FAIL_STREAM, 0,
			  "stream cut off after %zu chunks (no [DONE] and no finish_reason)%s%s%s",
			  x->n_chunks, partial ? " in the middle of a line" : "", !ok ? ": " : "",
			  !ok ? why : "");
		return;
	}
	/* a status line but no body at all */
	xfer_fail(x, t, LB_FAIL_STREAM, 0, "empty response (HTTP %ld, %s)", x->status,
		  ok ? "no body" : why);
}

static void drain_done(struct openai *o)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(o->multi, &left))) {
		struct xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		if (x->req && x->mode == MODE_UNKNOWN)
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
		xfer_complete(x,
			      m->data.result == CURLE_OK                   ? XFER_OK
			      : m->data.result == CURLE_OPERATION_TIMEDOUT ? XFER_TIMEOUT
									   : XFER_TRANSPORT,
			      x->errbuf[0] ? x->errbuf : curl_easy_strerror(m->data.result));
		xfer_recycle(x);
	}
}

/* ---- curl's multi_socket callbacks ------------------------------------------------------ */

/* recv(fd, buf, len, flags) that also gives *t: the kernel's receive time of the newest segment
 * read (flags MSG_PEEK: the bytes stay unread), on the monotonic clock (the kernel stamps in
 * CLOCK_REALTIME; off: realtime - monotonic); 0 when it gave none. Returns what recv does. */
ssize_t recv_stamped(int fd, char *buf, size_t len, int flags, int64_t off, uint64_t *t)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;

	*t = 0;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(fd, &msg, flags);
	if (n <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;
			int64_t real;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			real = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
			*t = real > off ? (uint64_t)(real - off) : 0;
		}
	return n;
}

/* Whether a block of an event stream holds a "data:" field. */
static bool has_data_field(const char *p, size_t len)
{
	const char *e = p + len, *d;

	while (p < e && (d = memchr(p, 'd', (size_t)(e - p))) != NULL) {
		if (e - d >= 5 && !memcmp(d, "data:", 5))
			return true;
		p = d + 1;
	}
	return false;
}

/* When the unread bytes of socket fd arrived, from the kernel's receive times (each segment
 * is stamped as it is received; a read reports its newest segment): the newest of them is
 * returned (0: the kernel gave none), and the SSE events they complete are counted
 * (o->n_events). The first OAI_MARKS events of a response that has no first token yet get the
 * time of the segment that completed each (o->marks, one more peek each), so that a first
 * chunk that waited behind a later one is timed when it arrived; the other events share the
 * newest time. A response's head that was still unread does not make its first chunk early:
 * the head is no event. An event ends at a blank line ("\n\n", as the usual servers write
 * them); a block without a "data:" field (a comment) is no event, except the first when the
 * parser holds the start of an event. With CRLF line ends no event is seen: every event of the
 * read gets the newest time. */
uint64_t kernel_rx(struct openai *o, int fd, int64_t off)
{
	char buf[OAI_PEEK_BYTES];
	struct xfer *x = fd >= 0 && fd < o->n_by_fd ? o->by_fd[fd] : NULL;
	uint64_t newest;
	ssize_t n = recv_stamped(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT, off, &newest);
	size_t from = 0, at;
	bool open = x && (x->sse.has_data || x->sse.line.len);

	if (n <= 0 || !newest || !x || !o->cfg.stream)
		return n > 0 ? newest : 0;
	for (at = 0; at + 1 < (size_t)n; at++) {
		uint64_t t;
		bool event;

		if (buf[at] != '\n' || buf[at + 1] != '\n')
			continue;
		event = (from == 0 && open) || has_data_field(buf + from, at - from);
		from = at + 2;
		at++;
		if (!event)
			continue;
		o->n_events++;
		/* an own time for the first events of a response still waiting for its first
		 * token (TTFT), when more bytes follow them; the others share the newest (mostly
		 * the same: TCP merges segments that wait together, and keeps the newest time) */
		if (x->got_first || o->n_marks != o->n_events - 1 || o->n_marks == OAI_MARKS)
			continue;
		/* bytes at the end, or after an event that arrived with the newest segment
		 * (times grow along the stream, so those between share it): no peek */
		if (from == (size_t)n || (o->n_marks && o->marks[o->n_marks - 1] == newest))
			t = newest;
		else if (recv_stamped(fd, buf, from, MSG_PEEK | MSG_DONTWAIT, off, &t) !=
				 (ssize_t)from ||
			 !t)
			continue;
		o->marks[o->n_marks++] = t;
	}
	return newest;
}

int64_t realtime_offset_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return ((int64_t)r.tv_sec - (int64_t)m.tv_sec) * 1000000000 + (r.tv_nsec - m.tv_nsec);
}

/* The transfer on socket fd, for kernel_rx (a socket it cannot record is timed without). */
void by_fd_set(struct openai *o, int fd, struct xfer *x)
{
	if (fd < 0)
		return;
	if (fd >= o->n_by_fd) {
		int n = o->n_by_fd ? o->n_by_fd : 256;
		struct xfer **m;

		if (!x)
			return;
		while (n <= fd)
			n *= 2;
		m = lb_realloc(o->by_fd, (size_t)n * sizeof(*m));
		if (!m)
			return;
		memset(m + o->n_by_fd, 0, (size_t)(n - o->n_by_fd) * sizeof(*m));
		o->by_fd = m;
		o->n_by_fd = n;
	}
	o->by_fd[fd] = x;
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct openai *o = userp;
	struct epoll_event ev = { 0 };

	if (what == CURL_POLL_REMOVE) {
		by_fd_set(o, s, NULL);
		epoll_ctl(o->epfd, EPOLL_CTL_DEL, s, NULL); /* may already be gone with the fd */
		curl_multi_assign(o->multi, s, NULL);
		return 0;
	}
	if (easy) {
		struct xfer *x = NULL;

		if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x) == CURLE_OK && x) {
			x->fd = s;
			by_fd_set(o, s, x);
		}
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	ev.data.fd = s;
	if (!socketp) {
		if (epoll_ctl(o->epfd, EPOLL_CTL_ADD, s, &ev) && errno == EEXIST)
			epoll_ctl(o->epfd, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(o->multi, s, o);
	} else if (epoll_ctl(o->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT) {
		epoll_ctl(o->epfd, EPOLL_CTL_ADD, s, &ev);
	}
	return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct openai *o = userp;

	(void)multi;
	if (timeout_ms < 0) {
		o->timer_set = false;
		return 0;
	}
	o->timer_set = true;
	o->timer_at_ns = lb_now_ns() + (uint64_t)timeout_ms * 1000000u;
	return 0;
}

/* ---- backend_ops ------------------------------------------------------------------------- */

static char *join_url(const char *base, const char *path)
{
	size_t n = strlen(base);
	struct strbuf sb = STRBUF_INIT;

	while (n && base[n - 1] == '/')
		n--;
	if (strbuf_add(&sb, base, n) || strbuf_adds(&sb, path)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

static int add_header(struct openai *o, const char *h, struct lb_error *err)
{
	struct curl_slist *l = curl_slist_append(o->headers, h);

	if (!l)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for HTTP headers");
	o->headers = l;
	return 0;
}

static int oai_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err)
{
	struct openai *o;
	const char *name = cfg->name ? cfg->name : "openai";
	struct strbuf auth = STRBUF_INIT;
	size_t i;
	int rc;

	o = lb_calloc(1, sizeof(*o));
	if (!o)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory opening backend '%s'", name);
	b->priv = o;
	o->epfd = -1;
	o->ready_fd = -1;
	o->wake_fd[0] = o->wake_fd[1] = -1;
	o->cfg = *cfg;
	o->rx_kernel_on = !o->cfg.rx_timestamps || !strcmp(o->cfg.rx_timestamps, "kernel");
	if (!o->cfg.max_body_bytes)
		o->cfg.max_body_bytes = 16u << 20;
	rc = oai_api_parse(cfg->api, &o->api, err);
	if (rc) {
		lb_error_prefix(err, "backend '%s'", name);
		goto out;
	}
	if (!cfg->base_url || !*cfg->base_url) {
		rc = lb_error_set(err, LB_ERR_USAGE, "backend '%s': base_url is required", name);
		goto out;
	}
	o->url = join_url(cfg->base_url, oai_api_path(o->api));
	o->ll_url = join_url(cfg->base_url, "/completions");
	if (!o->url || !o->ll_url) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory opening backend '%s'", name);
		goto out;
	}
	redact_url(o->url, o->shown_url, sizeof(o->shown_url));
	rc = add_header(o, "Content-Type: application/json", err);
	if (!rc)
		rc = add_header(o, "Expect:", err); /* no 100-continue round trip for big prompts */
	if (rc)
		goto out;
	if (cfg->api_key_env) {
		const char *key = getenv(cfg->api_key_env);

		if (!key || !*key) {
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"backend '%s': environment variable '%s' (api_key_env) is not set",
				name, cfg->api_key_env);
			goto out;
		}
		if (strbuf_addf(&auth, "Authorization: Bearer %s", key)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory for HTTP headers");
			goto out;
		}
		rc = add_header(o, auth.buf, err);
		if (rc)
			goto out;
	}
	for (i = 0; i < cfg->n_headers && i < BACKEND_MAX_HEADERS; i++) {
		const char *h = cfg->headers[i];

		if (!h || !strchr(h, ':') || strchr(h, '\n') || strchr(h, '\r')) {
			rc = lb_error_set(err, LB_ERR_USAGE,
					  "backend '%s': header %zu must be one 'Name: value' line",
					  name, i + 1);
			goto out;
		}
		rc = add_header(o, h, err);
		if (rc)
			goto out;
	}
	if (o->cfg.http_client && !strcmp(o->cfg.http_client, "auto"))
		o->cfg.http_client = h1_can(o) ? "native" : "libcurl";
	if (o->cfg.http_client && !strcmp(o->cfg.http_client, "native")) {
		rc = h1_open(o, err);
		if (rc)
			goto out;
	} else {
		o->multi = curl_multi_init();
	}
	o->epfd = epoll_create1(EPOLL_CLOEXEC);
	if ((!o->multi && !o->h1) || o->epfd < 0) {
		rc = lb_error_set(err, LB_ERR_BACKEND,
				  "backend '%s': cannot create the event loop: %s", name,
				  o->epfd < 0 ? strerror(errno) : "curl_multi_init failed");
		goto out;
	}
	if (o->h1) {
		rc = 0;
		goto out;
	}
	curl_multi_setopt(o->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(o->multi, CURLMOPT_SOCKETDATA, o);
	curl_multi_setopt(o->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(o->multi, CURLMOPT_TIMERDATA, o);
	if (cfg->max_connections > 0)
		curl_multi_setopt(o->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
				  (long)cfg->max_connections);
	rc = 0;
out:
	if (auth.alloc)
		memset(auth.buf, 0, auth.alloc);
	strbuf_release(&auth);
	return rc;
}

/* x is in flight from t (its SENT event). */
static void xfer_fly(struct xfer *x, uint64_t t)
{
	struct openai *o = x->o;
	struct lb_event ev;

	x->t_sent = t;
	o->inflight++;
	x->fl_prev = NULL;
	x->fl_next = o->flying;
	if (o->flying)
		o->flying->fl_prev = x;
	o->flying = x;
	lb_event_init(&ev, LB_EV_SENT, x->req->id, t);
	lb_sink_emit(&x->req->sink, &ev);
}

static int oai_submit(struct backend *b, struct request *req, struct lb_error *err)
{
	struct openai *o = b->priv;
	struct xfer *x = o->free;
	uint64_t t;
	CURLMcode mc;
	int rc;

	if (x)
		o->free = x->next;
	else
		x = xfer_new(o);
	if (!x)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for request %llu",
				    (unsigned long long)req->id);
	xfer_start_state(x, req);
	rc = oai_build_body(&x->body, o->api, o->cfg.model, o->cfg.stream, req, err);
	if (rc) {
		x->req = NULL;
		xfer_recycle(x);
		return rc;
	}
	if (o->h1) {
		rc = h1_submit(o, x, err);
		if (rc) {
			x->req = NULL;
			xfer_recycle(x);
			return rc;
		}
		xfer_fly(x, lb_now_ns());
		h1_send(o, x);
		return 0;
	}
	snprintf(x->idhdr, sizeof(x->idhdr), "X-LLMBench-Request-Id: %llu",
		 (unsigned long long)req->id);
	x->idnode.data = x->idhdr;
	x->idnode.next = o->headers;
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body.buf);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, &x->idnode);
	t = lb_now_ns();
	x->t_sent = t;
	mc = curl_multi_add_handle(o->multi, x->easy);
	if (mc != CURLM_OK) {
		x->req = NULL;
		xfer_recycle(x);
		return lb_error_set(err, LB_ERR_BACKEND, "cannot queue request %llu: %s",
				    (unsigned long long)req->id, curl_multi_strerror(mc));
	}
	x->active = true;
	o->n_active++;
	xfer_fly(x, t);
	return 0;
}

int oai_wait(struct openai *o, int timeout_ms, uint64_t at, struct epoll_event *evs,
	     uint64_t *t_batch, int64_t *off, struct lb_error *err)
{
	int wait = timeout_ms < 0 ? 0 : timeout_ms, n, i, k = 0;

	if (at) {
		uint64_t now = lb_now_ns();

		if (at <= now)
			wait = 0;
		else if ((at - now + 999999u) / 1000000u < (uint64_t)wait)
			wait = (int)((at - now + 999999u) / 1000000u);
	}
	n = epoll_wait(o->epfd, evs, OAI_EPOLL_BATCH, wait);
	if (n < 0 && errno != EINTR)
		return lb_error_set(err, LB_ERR_BACKEND, "epoll_wait: %s", strerror(errno));
	*t_batch = n > 0 ? lb_now_ns() : 0;
	*off = n > 0 && o->rx_kernel_on ? realtime_offset_ns() : 0;
	for (i = 0; i < n; i++) {
		if (evs[i].data.fd == o->wake_fd[0] || evs[i].data.fd == o->wake_fd[1]) {
			uint64_t v;

			if (read(evs[i].data.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return lb_error_set(err, LB_ERR_BACKEND, "wake descriptor: %s",
						    strerror(errno));
			continue;
		}
		evs[k++] = evs[i];
	}
	return k;
}

void oai_ready(struct openai *o, int fd, uint64_t t_batch, bool peek, int64_t off)
{
	/* the bytes' own arrival, however long the sockets before this one took */
	o->t_ready = t_batch;
	o->ready_fd = fd;
	o->n_marks = o->n_events = o->mark_next = 0;
	o->rx_kernel = false;
	if (peek) {
		uint64_t k = kernel_rx(o, fd, off), now = lb_now_ns();

		if (k) {
			o->t_ready = k < now ? k : now;
			o->rx_kernel = true;
		}
	}
}

static int oai_poll(struct backend *b, int timeout_ms, struct lb_error *err)
{
	struct openai *o = b->priv;
	struct epoll_event evs[OAI_EPOLL_BATCH];
	int n, i, running;
	uint64_t t_batch;
	int64_t off;

	if (o->h1)
		return h1_poll(o, timeout_ms, err);
	if (!o->n_active && (o->wake_fd[0] < 0 || timeout_ms <= 0))
		return o->inflight;
	n = oai_wait(o, timeout_ms, o->timer_set ? o->timer_at_ns : 0, evs, &t_batch, &off, err);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		int flags = 0;

		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & EPOLLERR)
			flags |= CURL_CSELECT_ERR;
		oai_ready(o, evs[i].data.fd, t_batch, (evs[i].events & EPOLLIN) && o->rx_kernel_on,
			  off);
		curl_multi_socket_action(o->multi, evs[i].data.fd, flags, &running);
	}
	o->t_ready = 0;
	o->rx_kernel = false;
	o->ready_fd = -1;
	if (o->timer_set && o->timer_at_ns <= lb_now_ns()) {
		o->timer_set = false;
		curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	drain_done(o);
	return o->inflight;
}

static void oai_cancel(struct backend *b, struct request *req)
{
	struct openai *o = b->priv;
	struct xfer *x;

	for (x = o->flying; x; x = x->fl_next)
		if (x->req == req)
			break;
	if (!x)
		return;
	if (o->h1)
		h1_cancel(o, x);
	xfer_fail(x, lb_now_ns(), LB_FAIL_CANCELLED, 0, "cancelled");
	xfer_recycle(x);
}

static int oai_set_wake_fd(struct backend *b, int fd, struct lb_error *err)
{
	struct openai *o = b->priv;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	int k = o->wake_fd[0] < 0 ? 0 : 1;

	if (o->wake_fd[k] >= 0)
		return lb_error_set(err, LB_ERR_BACKEND, "at most two wake descriptors");
	if (epoll_ctl(o->epfd, EPOLL_CTL_ADD, fd, &ev))
		return lb_error_set(err, LB_ERR_BACKEND, "cannot watch the wake descriptor: %s",
				    strerror(errno));
	o->wake_fd[k] = fd;
	return 0;
}

static size_t on_write_buf(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct strbuf *sb = userdata;
	size_t n = size * nmemb;

	return strbuf_add(sb, ptr, n) ? 0 : n;
}

/* POST body to url and wait for the whole answer; 0 with *status, or a transport error. */
static int post_blocking(struct openai *o, const char *url, const struct strbuf *body,
			 struct strbuf *resp, long *status, struct lb_error *err)
{
	CURL *h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	char shown[512];
	CURLcode cc;
	int rc = 0;

	if (!h)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for a request");
	strbuf_reset(resp);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->buf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, o->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->cfg.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->cfg.timeout_ms);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o->cfg.tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o->cfg.tls_verify ? 2L : 0L);
	cc = curl_easy_perform(h);
	redact_url(url, shown, sizeof(shown));
	if (cc == CURLE_WRITE_ERROR)
		rc = lb_error_set(err, LB_ERR_LIMIT,
				  "response of '%s' longer than the bound of %zu bytes", shown,
				  o->cfg.max_body_bytes);
	else if (cc != CURLE_OK)
		rc = lb_error_set(err, LB_ERR_BACKEND, "cannot reach '%s': %s", shown,
				  errbuf[0] ? errbuf : curl_easy_strerror(cc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	return rc;
}

static int oai_loglik(struct backend *b, const struct loglik_query *q, struct loglik_result *out,
		      struct lb_error *err)
{
	struct openai *o = b->priv;
	struct strbuf text = STRBUF_INIT, body = STRBUF_INIT, resp = STRBUF_INIT;
	char shown[512], head[OAI_ERRBODY_MAX + 1];
	struct lb_error e = LB_ERROR_INIT;
	long status = 0;
	int rc, attempt;

	strbuf_init(&resp, o->cfg.max_body_bytes);
	redact_url(o->ll_url, shown, sizeof(shown));
	if (strbuf_add(&text, q->context, q->context_len) ||
	    strbuf_add(&text, q->continuation, q->continuation_len)) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory for a log-likelihood query");
		goto out;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		strbuf_reset(&body);
		rc = oai_build_loglik_body(&body, o->cfg.model, text.buf, text.len, attempt, err);
		if (rc)
			goto out;
		rc = post_blocking(o, o->ll_url, &body, &resp, &status, err);
		if (rc)
			goto out;
		if (status < 400)
			break; /* max_tokens 0 accepted */
	}
	if (status >= 400) {
		printable(head, sizeof(head), resp.buf, resp.len, OAI_ERRBODY_MAX);
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED,
				  "endpoint '%s' did not echo prompt log-probabilities (needs "
				  "echo+logprobs on /v1/completions, as vLLM does): HTTP %ld: %s",
				  shown, status, head);
		goto out;
	}
	rc = oai_loglik_parse(resp.buf, resp.len, text.buf, text.len, q->context_len, out, &e);
	if (rc == LB_ERR_UNSUPPORTED)
		rc = lb_error_set(err, rc,
				  "endpoint '%s' did not echo prompt log-probabilities (needs "
				  "echo+logprobs on /v1/completions, as vLLM does): %s",
				  shown, e.msg);
	else if (rc)
		rc = lb_error_set(err, LB_ERR_BACKEND, "endpoint '%s': %s", shown, e.msg);
out:
	strbuf_release(&text);
	strbuf_release(&body);
	strbuf_release(&resp);
	return rc;
}

static void oai_close(struct backend *b)
{
	struct openai *o = b ? b->priv : NULL;
	struct curl_slist *l;
	struct xfer *x, *n;

	if (!o)
		return;
	h1_close(o);
	for (x = o->all; x; x = x->all_next)
		if (x->active) {
			curl_multi_remove_handle(o->multi, x->easy);
			x->active = false;
		}
	for (x = o->all; x; x = n) {
		n = x->all_next;
		xfer_free(x);
	}
	if (o->multi)
		curl_multi_cleanup(o->multi);
	if (o->epfd >= 0)
		close(o->epfd);
	for (l = o->headers; l; l = l->next)
		if (!strncmp(l->data, "Authorization:", 14))
			memset(l->data, 0, strlen(l->data));
	curl_slist_free_all(o->headers);
	lb_free(o->by_fd);
	lb_free(o->url);
	lb_free(o->ll_url);
	lb_free(o);
	b->priv = NULL;
}

const struct backend_ops openai_backend_ops = {
	.type = "openai",
	.caps = BACKEND_CAP_STREAM | BACKEND_CAP_USAGE,
	.open = oai_open,
	.submit = oai_submit,
	.poll = oai_poll,
	.cancel = oai_cancel,
	.loglik = oai_loglik,
	.tokenize_count = NULL,
	.close = oai_close,
	.set_wake_fd = oai_set_wake_fd,
};
