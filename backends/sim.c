/* sim.c: the simulated endpoint's connections and requests on base/ev.h's event loop (epoll,
 * edge-triggered, non-blocking sockets, one timer per connection): accepting, reading and
 * dispatching requests, the --capacity queue, setup and shutdown. What is sent and when is
 * sim_sched.c's; parsing and response framing sim_http.c's. docs/sim.md is the user-facing
 * description. */
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

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
	cfg->prefix_block_tokens = 16;
	cfg->prefix_cache_blocks = 65536;
	cfg->kv_cache_tokens = 100000;
}

/* Connections */

static void accept_resume(struct sim *s)
{
	if (s->accept_paused && !lb_ev_io_mod(s->ev, &s->listen_io, LB_EV_READ))
		s->accept_paused = false;
}

static void accept_pause(struct sim *s, uint64_t now)
{
	if (!s->accept_paused && !lb_ev_io_mod(s->ev, &s->listen_io, 0)) {
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
		sim_start_gen(s, q, lb_now_ns());
	}
}

/* End the current request's bookkeeping (slot, queue, counters). */
void sim_req_end(struct sim *s, struct conn *c)
{
	if (!c->active)
		return;
	c->active = false;
	s->n_active--;
	queue_remove(s, c);
	slot_release(s, c);
}

/* Close and free c. `gone`: the client left (or misbehaved) before its response was done. */
void sim_conn_close(struct sim *s, struct conn *c, bool gone)
{
	if (c->dead)
		return;
	if (c->active && gone) {
		s->st.client_gone++;
		s->m.fin_abort++;
		sim_log_event(s, lb_now_ns(), c, "gone", c->sent, NULL);
	}
	lb_ev_timer_cancel(s->ev, &c->timer);
	close(c->io.fd);
	s->n_conns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead = true;
	c->io.fd = -1;
	c->prev = NULL;
	c->next = s->dead;
	s->dead = c;
	sim_req_end(s, c);
	strbuf_release(&c->in);
	strbuf_release(&c->out);
	if (s->accept_paused && s->n_conns < (uint64_t)s->max_conns)
		accept_resume(s);
}

/* Write iov to c, queueing what the kernel does not take. 0, or -1 when c was closed. */
int sim_conn_writev(struct sim *s, struct conn *c, struct iovec *iov, int n_iov)
{
	size_t total = 0, done = 0;
	ssize_t w;
	int i;

	for (i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	if (c->out.len == c->out_off) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n_iov };

		do
			w = sendmsg(c->io.fd, &mh, MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			sim_conn_close(s, c, true);
			return -1;
		}
		done = w > 0 ? (size_t)w : 0;
		if (done == total)
			return 0;
	}
	if (c->out.len - c->out_off + (total - done) > SIM_OUT_MAX) {
		sim_conn_close(s, c, true); /* the client stopped reading */
		return -1;
	}
	for (i = 0; i < n_iov; i++) {
		size_t len = iov[i].iov_len;

		if (done >= len) {
			done -= len;
			continue;
		}
		if (strbuf_add(&c->out, (const char *)iov[i].iov_base + done, len - done)) {
			sim_conn_close(s, c, true);
			return -1;
		}
		done = 0;
	}
	return 0;
}

static int conn_write(struct sim *s, struct conn *c, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return sim_conn_writev(s, c, &iov, 1);
}

/* After the last response of a connection: shut our side once flushed, wait for the FIN. */
int sim_conn_closing(struct sim *s, struct conn *c)
{
	c->state = C_CLOSING;
	if (c->out.len > c->out_off || c->shut)
		return 0;
	shutdown(c->io.fd, SHUT_WR);
	c->shut = true;
	if (lb_ev_timer_set(s->ev, &c->timer, lb_now_ns() + SIM_LINGER_NS)) {
		sim_conn_close(s, c, false);
		return -1;
	}
	return 0;
}

static int conn_flush(struct sim *s, struct conn *c)
{
	while (c->out.len > c->out_off) {
		ssize_t w = send(c->io.fd, c->out.buf + c->out_off, c->out.len - c->out_off,
				 MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0) {
			sim_conn_close(s, c, true);
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
		return sim_conn_closing(s, c);
	return 0;
}

/* An error for a request the sim could not serve (malformed, unknown path, too large). */
static int reject(struct sim *s, struct conn *c, int status, const char *msg, bool keep_alive)
{
	s->st.bad_requests++;
	if (c->active) {
		char code[16];

		snprintf(code, sizeof(code), "%d", status);
		sim_log_event(s, lb_now_ns(), c, "error", 0, code);
		sim_req_end(s, c);
	}
	return sim_send_error(s, c, status, msg, keep_alive);
}

/* The request is answered: free its slot; serve what the client pipelined, or close. */
static int sim_conn_process(struct sim *s, struct conn *c);

int sim_req_finish(struct sim *s, struct conn *c)
{
	s->st.completed++;
	sim_req_end(s, c);
	if (!c->keep_alive)
		return sim_conn_closing(s, c);
	c->state = C_READ;
	if (c->in.len)
		return sim_conn_process(s, c);
	return 0;
}

/* Requests */

static int serve_other(struct sim *s, struct conn *c, const struct sim_head *h)
{
	struct strbuf *sb = &s->scratch;

	if (strcmp(h->method, "GET"))
		return reject(s, c, 405, "use GET for this path", h->keep_alive);
	s->st.other_requests++;
	strbuf_reset(sb);
	if (h->api == SIM_API_METRICS) {
		sim_metrics_render(s, sb);
		return sim_send_response(s, c, 200, "text/plain; version=0.0.4; charset=utf-8",
					 sb->buf, sb->len, NULL, h->keep_alive);
	}
	if (h->api == SIM_API_HEALTH) {
		strbuf_adds(sb, "{\"status\":\"ok\"}");
	} else {
		strbuf_adds(sb, "{\"object\":\"list\",\"data\":[{\"id\":");
		strbuf_add_json_str(sb, s->cfg.model, strlen(s->cfg.model));
		strbuf_adds(sb, ",\"object\":\"model\",\"created\":0,"
				"\"owned_by\":\"llmbench-sim\"}]}");
	}
	return sim_send_response(s, c, 200, "application/json", sb->buf, sb->len, NULL,
				 h->keep_alive);
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
	seed = sim_hash_str(c->id) ^ (s->cfg.seed * 0x9e3779b97f4a7c15ull);
	c->rng_time = sim_rng_next(&seed);
	c->rng_words = sim_rng_next(&seed);
	c->t_recv = t_recv;
	c->cached_blocks = 0;
	if (h->api == SIM_API_COMPLETIONS && sim_echo_asked(body, len)) {
		/* prompt log-probabilities, answered at once (sim_logprobs.c) */
		sim_log_event(s, t_recv, c, "recv", 0, NULL);
		if (s->cfg.no_echo)
			return reject(s, c, 400, "Only no echo is supported", c->keep_alive);
		strbuf_reset(&s->scratch);
		if (sim_echo_reply(body, len, &s->scratch, msg, sizeof(msg)))
			return reject(s, c, 400, msg, c->keep_alive);
		sim_log_event(s, lb_now_ns(), c, "done", 0, NULL);
		s->st.completed++;
		sim_req_end(s, c);
		return sim_send_response(s, c, 200, "application/json", s->scratch.buf,
					 s->scratch.len, NULL, c->keep_alive);
	}
	if (sim_body_parse_blocks(body, len, h->api, &s->answers, &b, msg, sizeof(msg),
				  s->prefix ? &s->blocks : NULL)) {
		sim_log_event(s, t_recv, c, "recv", 0, NULL);
		return reject(s, c, 400, msg, c->keep_alive);
	}
	sim_log_event(s, t_recv, c, "recv", b.prompt_tokens, NULL);
	if (sim_pick_fault(s, c, h, msg, sizeof(msg)))
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
			c->n_out += (long)(sim_rng_next(&c->rng_time) %
					   (uint64_t)(s->cfg.out_max - s->cfg.out_min + 1));
	}
	if (c->max_tokens > 0 && c->n_out > c->max_tokens)
		c->n_out = c->max_tokens;
	if (c->fault == SIM_FAULT_REFUSE) {
		sim_log_fault(s, t_recv, c);
		sim_conn_close(s, c, false);
		return -1;
	}
	status = sim_http_fault_status(c->fault);
	if (status) {
		sim_log_fault(s, lb_now_ns(), c);
		sim_req_end(s, c);
		if (c->fault == SIM_FAULT_HTTP_500_TEXT)
			return sim_send_response(s, c, 500, "text/plain", "Internal Server Error\n",
						 22, NULL, c->keep_alive);
		snprintf(msg, sizeof(msg), "simulated %s", sim_fault_name(c->fault));
		strbuf_reset(&s->scratch);
		sim_error_json(&s->scratch, status, msg);
		return sim_send_response(
			s, c, status, "application/json", s->scratch.buf, s->scratch.len,
			c->fault == SIM_FAULT_HTTP_429_RETRY ? "Retry-After: 1\r\n" : NULL,
			c->keep_alive);
	}
	if (s->prefix) {
		c->cached_blocks = sim_prefix_lookup_insert(s->prefix, s->blocks.hash, s->blocks.n);
		s->st.prefix_queries += (uint64_t)c->prompt_tokens;
		s->st.prefix_hits +=
			(uint64_t)c->cached_blocks * (uint64_t)s->cfg.prefix_block_tokens;
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
	return sim_start_gen(s, c, t_recv);
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
static int sim_conn_process(struct sim *s, struct conn *c)
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
		if (h.api == SIM_API_MODELS || h.api == SIM_API_HEALTH ||
		    h.api == SIM_API_METRICS) {
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
		ssize_t n = read(c->io.fd, s->rbuf, sizeof(s->rbuf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			sim_conn_close(s, c, c->state != C_CLOSING);
			return;
		}
		if (c->state == C_CLOSING)
			continue; /* discard what comes after our last response */
		if (c->in.len + (size_t)n > limit || strbuf_add(&c->in, s->rbuf, (size_t)n)) {
			s->st.bad_requests++;
			sim_conn_close(s, c, true);
			return;
		}
		if (c->state == C_READ && sim_conn_process(s, c))
			return;
	}
}

static void on_conn_event(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events);

static void on_accept(struct sim *s)
{
	for (;;) {
		struct conn *c;
		int fd, one = 1;

		if (s->n_conns >= (uint64_t)s->max_conns) {
			accept_pause(s, lb_now_ns());
			return;
		}
		fd = accept4(s->listen_io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
		c->io = (struct lb_ev_io){ fd, on_conn_event, c };
		c->sim = s;
		lb_ev_timer_init(&c->timer, sim_on_timer, c);
		c->state = C_READ;
		strbuf_init(&c->in, 0);
		strbuf_init(&c->out, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (lb_ev_io_add(s->ev, &c->io,
				 LB_EV_READ | LB_EV_WRITE | LB_EV_RDHUP | LB_EV_EDGE)) {
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

static void on_listen(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	(void)ev;
	(void)events;
	on_accept(io->arg);
}

static void free_dead(struct sim *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next;
		lb_free(c);
	}
}

static void on_conn_event(struct lb_ev *ev, struct lb_ev_io *io, uint32_t events)
{
	struct conn *c = io->arg;
	struct sim *s = c->sim;

	(void)ev;
	if (c->dead)
		return;
	if (events & EPOLLERR) {
		sim_conn_close(s, c, true);
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
	s->listen_io = (struct lb_ev_io){ fd, on_listen, s };
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) ||
	    getnameinfo((struct sockaddr *)&ss, sl, s->host, sizeof(s->host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		return lb_error_set(err, LB_ERR_IO, "cannot read the listening address: %s",
				    strerror(errno));
	s->port = (int)strtol(serv, NULL, 10);
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
	s->listen_io.fd = s->log_fd = -1;
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
	if (cfg->prefix_ms_per_block > 0) {
		size_t cap = (8u << 20) / sizeof(uint64_t); /* blocks of one request, at most */

		if (s->cfg.prefix_block_tokens < 1)
			s->cfg.prefix_block_tokens = 1;
		s->prefix_ns_per_block = (uint64_t)(cfg->prefix_ms_per_block * cfg->slowdown * 1e6);
		s->blocks.block_tokens = s->cfg.prefix_block_tokens;
		s->blocks.cap = cap;
		s->blocks.hash = lb_calloc(cap, sizeof(uint64_t));
		if (!s->blocks.hash || sim_prefix_open(&s->prefix, s->cfg.prefix_cache_blocks)) {
			rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory for the prefix cache");
			goto fail;
		}
	}
	if ((rc = listen_on(s, err)))
		goto fail;
	if ((rc = lb_ev_open(&s->ev, err)))
		goto fail;
	if (lb_ev_io_add(s->ev, &s->listen_io, LB_EV_READ)) {
		rc = lb_error_set(err, LB_ERR_IO, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sim_close(s);
	return rc;
}

const char *sim_host(const struct sim *s)
{
	return s->host;
}
int sim_port(const struct sim *s)
{
	return s->port;
}

void sim_interrupt(struct sim *s)
{
	lb_ev_stop(s->ev);
}

void sim_get_stats(const struct sim *s, struct sim_stats *out)
{
	*out = s->st;
}

/* Before each wait: the --duration deadline, the send log's flush, a paused accept's retry. */
static uint64_t before_wait(struct lb_ev *ev, uint64_t now, void *arg)
{
	struct sim *s = arg;
	uint64_t wake = UINT64_MAX;

	if (s->deadline && now >= s->deadline) {
		lb_ev_stop(ev);
		return 0;
	}
	if (s->log.len && now - s->log_flushed_ns >= SIM_LOG_FLUSH_NS)
		sim_log_flush(s);
	if (s->accept_paused && s->n_conns < (uint64_t)s->max_conns && now >= s->accept_retry_ns) {
		accept_resume(s);
		on_accept(s);
	}
	if (s->deadline)
		wake = s->deadline;
	if (s->log.len && s->log_flushed_ns + SIM_LOG_FLUSH_NS < wake)
		wake = s->log_flushed_ns + SIM_LOG_FLUSH_NS;
	if (s->accept_paused && s->accept_retry_ns < wake)
		wake = s->accept_retry_ns;
	return wake;
}

static void after_batch(struct lb_ev *ev, void *arg)
{
	(void)ev;
	free_dead(arg);
}

int sim_run(struct sim *s, struct lb_error *err)
{
	uint64_t t0 = lb_now_ns();
	int rc;

	if (s->cfg.duration_s > 0)
		s->deadline = t0 + (uint64_t)(s->cfg.duration_s * 1e9);
	s->log_flushed_ns = t0;
	lb_ev_hooks(s->ev, before_wait, after_batch, s);
	rc = lb_ev_run(s->ev, err);
	if (s->log_fd >= 0) {
		sim_log_flush(s);
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
		sim_conn_close(s, s->conns, false);
	free_dead(s);
	if (s->log_fd >= 0) {
		sim_log_flush(s);
		close(s->log_fd);
	}
	if (s->listen_io.fd >= 0)
		close(s->listen_io.fd);
	lb_ev_close(s->ev);
	sim_answers_free(&s->answers);
	sim_prefix_free(s->prefix);
	lb_free(s->blocks.hash);
	strbuf_release(&s->log);
	strbuf_release(&s->scratch);
	lb_free(s);
}
