/* openai_h1.c: the OpenAI backend's own HTTP/1.1 client (backend option http_client "native").
 *
 * libcurl is the backend's HTTP and TLS layer. For plain http:// it can instead use this
 * client, built for the one job a load generator has: many POSTs to one server, each answer
 * read as it comes. Per request it costs one sendmsg, one recv per readable wake-up (plus the
 * kernel-time peek) and no allocation once warm; libcurl adds a poll per read, its transfer
 * state machine and its own allocations (docs/performance.md, "The native client").
 *
 * Kept-alive connections are reused, newest idle first; a request sent on a kept-alive
 * connection that the server closed before answering is sent once more on a new one (as
 * libcurl does). max_connections queues requests beyond the bound. timeout_ms and
 * connect_timeout_ms are checked every 10 ms. Responses are parsed by http1.c; their bodies go
 * to the same code as libcurl's (xfer_set_mode, xfer_body, xfer_complete in openai.c), so
 * events, timings and failure categories are the same. Not handled here, refused at open:
 * https, credentials in the URL, a proxy from the environment. */
#include "openai_int.h"

#include "../base/alloc.h"
#include "../base/clock.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define H1_MAX_ADDR 8
#define H1_SCAN_NS 10000000ull /* how often timeouts are checked */

struct h1_conn {
	int fd;
	int addr;                    /* index of the address it connects to */
	int tries;                   /* addresses tried for this connection */
	bool connecting;             /* connect() in progress */
	bool out;                    /* EPOLLOUT watched */
	bool used;                   /* a response was read on it: a kept-alive connection */
	uint64_t t_open;             /* when connect() was called */
	size_t sent;                 /* bytes of the request written */
	struct xfer *x;              /* its transfer; NULL when idle */
	struct h1_conn *prev, *next; /* idle list */
	struct h1_resp resp;
};

struct h1_client {
	struct sockaddr_storage addr[H1_MAX_ADDR];
	socklen_t addr_len[H1_MAX_ADDR];
	int n_addr, good;                  /* resolved addresses; the one that last connected */
	char resolve_err[CURL_ERROR_SIZE]; /* why there are none */
	struct strbuf fixed;               /* the request head up to the per-request headers */
	struct h1_conn **by_fd;            /* the connection on each socket */
	int n_by_fd;
	struct h1_conn *idle;            /* idle connections, newest first */
	int n_conns;                     /* open connections */
	struct xfer *queue, *queue_tail; /* waiting for a connection (x->next) */
	struct xfer *dead;               /* ended before reaching the wire, told in the next poll */
	struct xfer *act_head, *act_tail;
	uint64_t next_scan;
	bool in_submit; /* inside submit: a failure waits for the next poll (dead list) */
	char buf[OAI_PEEK_BYTES];
};

/* ---- opening: the URL, the address, the fixed head -------------------------------------- */

static bool proxied(const char *host)
{
	static const char *const vars[] = { "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY" };
	const char *np = getenv("no_proxy");
	size_t i;

	if (!np || !*np)
		np = getenv("NO_PROXY");
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return !np || (!strstr(np, host) && strcmp(np, "*"));
	}
	return false;
}

bool h1_can(const struct openai *o)
{
	const char *auth = o->url + 7;
	size_t n = strcspn(auth, "/?#");
	char host[256];
	const char *e;

	if (strncasecmp(o->url, "http://", 7) || memchr(auth, '@', n))
		return false;
	e = *auth == '[' ? memchr(auth, ']', n) : memchr(auth, ':', n);
	if (!e)
		e = auth + n;
	snprintf(host, sizeof(host), "%.*s", (int)(e - auth), auth);
	return !proxied(host[0] == '[' ? host + 1 : host);
}

static bool is_localhost(const char *host)
{
	size_t n = strlen(host);

	if (n && host[n - 1] == '.') /* "localhost." */
		n--;
	return (n == 9 && !strncasecmp(host, "localhost", 9)) ||
	       (n > 10 && !strncasecmp(host + n - 10, ".localhost", 10));
}

static void add_addrs(struct h1_client *c, const struct addrinfo *res)
{
	for (; res && c->n_addr < H1_MAX_ADDR; res = res->ai_next) {
		if (res->ai_addrlen > sizeof(c->addr[0]))
			continue;
		memcpy(&c->addr[c->n_addr], res->ai_addr, res->ai_addrlen);
		c->addr_len[c->n_addr++] = res->ai_addrlen;
	}
}

int h1_open(struct openai *o, struct lb_error *err)
{
	const char *name = o->cfg.name ? o->cfg.name : "openai";
	const char *u = o->url, *auth, *auth_end, *path, *hs, *he, *ps;
	char host[256], port[16];
	struct addrinfo hints = { 0 }, *res = NULL;
	struct h1_client *c;
	struct curl_slist *l;
	bool own_host = true;
	int rc;

	if (strncasecmp(u, "http://", 7))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"backend '%s': http_client \"native\" speaks plain http:// only "
			"(base_url '%s'); use http_client \"libcurl\" for https",
			name, o->shown_url);
	auth = u + 7;
	auth_end = auth + strcspn(auth, "/?#");
	path = *auth_end ? auth_end : "/";
	if (memchr(auth, '@', (size_t)(auth_end - auth)))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"backend '%s': http_client \"native\" takes no credentials in "
			"base_url; use api_key_env or headers, or http_client \"libcurl\"",
			name);
	if (*auth == '[') {
		hs = auth + 1;
		he = memchr(hs, ']', (size_t)(auth_end - hs));
		ps = he && he + 1 < auth_end && he[1] == ':' ? he + 2 : NULL;
	} else {
		hs = auth;
		he = memchr(hs, ':', (size_t)(auth_end - hs));
		ps = he ? he + 1 : NULL;
		if (!he)
			he = auth_end;
	}
	if (!he || he == hs || (size_t)(he - hs) >= sizeof(host) ||
	    (ps && ((size_t)(auth_end - ps) >= sizeof(port) || ps == auth_end)))
		return lb_error_set(err, LB_ERR_USAGE, "backend '%s': cannot read the host of '%s'",
				    name, o->shown_url);
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = 0;
	snprintf(port, sizeof(port), "%.*s", ps ? (int)(auth_end - ps) : 2, ps ? ps : "80");
	if (proxied(host))
		return lb_error_set(
			err, LB_ERR_USAGE,
			"backend '%s': a proxy is set in the environment (http_proxy, "
			"all_proxy) and http_client \"native\" does not use proxies; use "
			"http_client \"libcurl\", or add '%s' to no_proxy",
			name, host);
	c = lb_calloc(1, sizeof(*c));
	if (!c)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory opening backend '%s'", name);
	o->h1 = c;
	strbuf_init(&c->fixed, 0);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (is_localhost(host)) { /* libcurl's rule (RFC 6761): the loopback of both families,
				   * whatever /etc/hosts says, so a server on [::1] alone is found */
		hints.ai_flags = AI_NUMERICHOST;
		rc = getaddrinfo("127.0.0.1", port, &hints, &res);
		if (!rc) {
			add_addrs(c, res);
			freeaddrinfo(res);
			res = NULL;
			if (getaddrinfo("::1", port, &hints, &res)) /* no IPv6 here */
				res = NULL;
		}
	} else {
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc) /* told per request, as libcurl does: the server may come up later */
		snprintf(c->resolve_err, sizeof(c->resolve_err), "cannot resolve '%.120s': %s",
			 host, gai_strerror(rc));
	else
		add_addrs(c, res);
	if (res)
		freeaddrinfo(res);
	for (l = o->headers; l; l = l->next)
		if (!strncasecmp(l->data, "Host:", 5))
			own_host = false;
	rc = strbuf_addf(&c->fixed, "POST %s HTTP/1.1\r\n", path);
	if (!rc && own_host)
		rc = strbuf_addf(&c->fixed, "Host: %.*s\r\n", (int)(auth_end - auth), auth);
	if (!rc)
		rc = strbuf_adds(&c->fixed, "Accept: */*\r\n");
	for (l = o->headers; !rc && l; l = l->next) {
		const char *colon = strchr(l->data, ':');

		/* "Name:" with no value removes a header (libcurl's rule): none is sent */
		if (!colon || !colon[1 + strspn(colon + 1, " \t")])
			continue;
		rc = strbuf_addf(&c->fixed, "%s\r\n", l->data);
	}
	if (rc)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory opening backend '%s'", name);
	return 0;
}

/* ---- connections ------------------------------------------------------------------------ */

static int conn_watch(struct openai *o, struct h1_conn *k, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0),
				  .data.fd = k->fd };

	if (k->out == out)
		return 0;
	k->out = out;
	return epoll_ctl(o->epfd, EPOLL_CTL_MOD, k->fd, &ev);
}

static void idle_unlink(struct h1_client *c, struct h1_conn *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else if (c->idle == k)
		c->idle = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

static void conn_close(struct openai *o, struct h1_conn *k)
{
	struct h1_client *c = o->h1;

	if (!k->x)
		idle_unlink(c, k);
	else
		k->x->conn = NULL;
	if (k->fd >= 0) {
		if (k->fd < c->n_by_fd)
			c->by_fd[k->fd] = NULL;
		by_fd_set(o, k->fd, NULL);
		close(k->fd); /* leaves the epoll set with it */
	}
	h1_resp_release(&k->resp);
	c->n_conns--;
	lb_free(k);
}

static int conn_map(struct h1_client *c, struct h1_conn *k)
{
	if (k->fd >= c->n_by_fd) {
		int n = c->n_by_fd ? c->n_by_fd : 256;
		struct h1_conn **m;

		while (n <= k->fd)
			n *= 2;
		m = lb_realloc(c->by_fd, (size_t)n * sizeof(*m));
		if (!m)
			return -1;
		memset(m + c->n_by_fd, 0, (size_t)(n - c->n_by_fd) * sizeof(*m));
		c->by_fd = m;
		c->n_by_fd = n;
	}
	c->by_fd[k->fd] = k;
	return 0;
}

/* Start connecting k to address k->addr; -1 with errno when that failed at once. */
static int conn_connect(struct openai *o, struct h1_conn *k)
{
	struct h1_client *c = o->h1;
	const struct sockaddr *sa = (const struct sockaddr *)&c->addr[k->addr];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLOUT };
	int one = 1, e;

	k->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return -1;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->rx_kernel_on)
		(void)setsockopt(k->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	k->t_open = lb_now_ns();
	k->tries++;
	if (connect(k->fd, sa, c->addr_len[k->addr]) && errno != EINPROGRESS)
		goto fail;
	k->connecting = true;
	k->out = true;
	ev.data.fd = k->fd;
	if (conn_map(c, k) || epoll_ctl(o->epfd, EPOLL_CTL_ADD, k->fd, &ev))
		goto fail;
	return 0;
fail:
	e = errno;
	if (k->fd < c->n_by_fd)
		c->by_fd[k->fd] = NULL;
	close(k->fd);
	k->fd = -1;
	errno = e;
	return -1;
}

/* Why connecting failed, in libcurl's words (so that messages read the same), with errno's. */
static void conn_refused(const struct h1_client *c, const struct h1_conn *k, int e, char *why,
			 size_t len)
{
	char host[64] = "?", port[16] = "?";

	getnameinfo((const struct sockaddr *)&c->addr[k->addr], c->addr_len[k->addr], host,
		    sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(why, len, "Failed to connect to %s port %s (%s): Couldn't connect to server", host,
		 port, strerror(e));
}

/* ---- transfers -------------------------------------------------------------------------- */

static void act_unlink(struct openai *o, struct xfer *x)
{
	struct h1_client *c = o->h1;

	if (x->act_prev)
		x->act_prev->act_next = x->act_next;
	else if (c->act_head == x)
		c->act_head = x->act_next;
	else
		return; /* not in the list */
	if (x->act_next)
		x->act_next->act_prev = x->act_prev;
	else
		c->act_tail = x->act_prev;
	x->act_prev = x->act_next = NULL;
	o->n_active--;
}

static void list_remove(struct xfer **head, struct xfer **tail, struct xfer *x)
{
	struct xfer *p = NULL, *q;

	for (q = *head; q && q != x; q = q->next)
		p = q;
	if (!q)
		return;
	if (p)
		p->next = x->next;
	else
		*head = x->next;
	if (tail && *tail == x)
		*tail = p;
	x->next = NULL;
}

/* x ended (its events sent, or none due): off every list, back to the free list. */
static void xfer_retire(struct openai *o, struct xfer *x)
{
	act_unlink(o, x);
	x->conn = NULL;
	x->fd = -1;
	xfer_recycle(x);
}

/* End x as end/why and drop its connection (not reusable). */
static void xfer_abort(struct openai *o, struct xfer *x, enum xfer_end end, const char *why)
{
	if (x->conn)
		conn_close(o, x->conn);
	xfer_complete(x, end, why);
	xfer_retire(o, x);
}

/* x never reached a server: told in the next poll (not inside submit). */
static void xfer_dead(struct openai *o, struct xfer *x, const char *fmt, const char *detail)
{
	snprintf(x->errbuf, sizeof(x->errbuf), fmt, detail);
	x->next = o->h1->dead;
	o->h1->dead = x;
}

static int conn_send(struct openai *o, struct h1_conn *k)
{
	struct xfer *x = k->x;
	size_t hl = x->head.len, total = hl + x->body.len;
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t w;

	if (k->sent < hl) {
		iov[0].iov_base = x->head.buf + k->sent;
		iov[0].iov_len = hl - k->sent;
		iov[1].iov_base = x->body.buf;
		iov[1].iov_len = x->body.len;
		msg.msg_iovlen = 2;
	} else {
		iov[0].iov_base = x->body.buf + (k->sent - hl);
		iov[0].iov_len = total - k->sent;
		msg.msg_iovlen = 1;
	}
	w = sendmsg(k->fd, &msg, MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR ? conn_watch(o, k, true) : -1;
	k->sent += (size_t)w;
	return conn_watch(o, k, k->sent < total);
}

static void xfer_start(struct openai *o, struct xfer *x);

/* The connection failed before any byte of its response: a kept-alive one that the server
 * closed is replaced once; else the transfer fails (no response: a connect failure). */
static void conn_lost(struct openai *o, struct h1_conn *k, const char *why)
{
	struct xfer *x = k->x;

	if (x && k->used && !k->resp.got_bytes && !x->retried) {
		x->retried = true;
		conn_close(o, k);
		xfer_start(o, x);
		return;
	}
	if (x && o->h1->in_submit) { /* no event inside submit: the next poll tells it */
		conn_close(o, k);
		xfer_dead(o, x, "%s", why);
	} else if (x) {
		xfer_abort(o, x, XFER_TRANSPORT, why);
	} else {
		conn_close(o, k);
	}
}

static void conn_begin(struct openai *o, struct h1_conn *k, struct xfer *x)
{
	k->x = x;
	k->sent = 0;
	h1_resp_reset(&k->resp);
	x->conn = k;
	x->fd = k->fd;
	by_fd_set(o, k->fd, x);
	if (!k->connecting && conn_send(o, k))
		conn_lost(o, k, strerror(errno));
}

/* Put x on a connection: an idle one, a new one, or the queue. */
static void xfer_start(struct openai *o, struct xfer *x)
{
	struct h1_client *c = o->h1;
	/* a request sent again goes on a new connection: the other idle ones may have been
	 * closed by the server at the same time (llama-server closes each after 5 requests) */
	struct h1_conn *k = x->retried ? NULL : c->idle;
	int first;

	if (k) {
		idle_unlink(c, k);
		conn_begin(o, k, x);
		return;
	}
	if (c->idle && o->cfg.max_connections > 0 && c->n_conns >= o->cfg.max_connections)
		conn_close(o, c->idle); /* a request sent again: room for its new connection */
	if (!c->n_addr) {
		xfer_dead(o, x, "%s", c->resolve_err);
		return;
	}
	if (o->cfg.max_connections > 0 && c->n_conns >= o->cfg.max_connections) {
		x->queued = true;
		x->next = NULL;
		if (c->queue_tail)
			c->queue_tail->next = x;
		else
			c->queue = x;
		c->queue_tail = x;
		return;
	}
	k = lb_calloc(1, sizeof(*k));
	if (!k) {
		xfer_dead(o, x, "%s", "out of memory for a connection");
		return;
	}
	h1_resp_init(&k->resp);
	c->n_conns++;
	first = c->good;
	for (k->addr = first;;) {
		if (!conn_connect(o, k))
			break;
		k->addr = (k->addr + 1) % c->n_addr;
		if (k->addr == first) {
			char why[160];

			conn_refused(c, k, errno, why, sizeof(why));
			h1_resp_release(&k->resp);
			c->n_conns--;
			lb_free(k);
			xfer_dead(o, x, "%s", why);
			return;
		}
	}
	conn_begin(o, k, x);
}

int h1_submit(struct openai *o, struct xfer *x, struct lb_error *err)
{
	struct h1_client *c = o->h1;

	strbuf_reset(&x->head);
	if (strbuf_add(&x->head, c->fixed.buf, c->fixed.len) ||
	    strbuf_addf(&x->head, "X-LLMBench-Request-Id: %llu\r\nContent-Length: %zu\r\n\r\n",
			(unsigned long long)x->req->id, x->body.len))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for request %llu",
				    (unsigned long long)x->req->id);
	x->conn = NULL;
	x->queued = x->retried = false;
	x->act_next = NULL;
	x->act_prev = c->act_tail;
	if (c->act_tail)
		c->act_tail->act_next = x;
	else
		c->act_head = x;
	c->act_tail = x;
	o->n_active++;
	if (!c->next_scan)
		c->next_scan = lb_now_ns() + H1_SCAN_NS;
	return 0;
}

void h1_send(struct openai *o, struct xfer *x)
{
	o->h1->in_submit = true;
	xfer_start(o, x);
	o->h1->in_submit = false;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* The status is known at the head; how the body is read is decided at its first byte (as
 * with libcurl: a response without a body ends by its status alone). */
static int on_head(void *ctx, const struct h1_resp *r)
{
	struct h1_conn *k = ctx;

	k->x->status = r->status;
	return 0;
}

static int on_body(void *ctx, const char *p, size_t n)
{
	struct h1_conn *k = ctx;
	struct xfer *x = k->x;
	struct openai *o = x->o;
	uint64_t t = o->t_ready && x->fd == o->ready_fd ? o->t_ready : lb_now_ns();

	if (x->req && x->mode == MODE_UNKNOWN)
		xfer_set_mode(x, k->resp.status, k->resp.ctype[0] ? k->resp.ctype : NULL);
	return xfer_body(x, p, n, t) ? 1 : 0;
}

/* The response ended: the transfer's last event, the connection back to the idle list. */
static void resp_done(struct openai *o, struct h1_conn *k)
{
	struct h1_client *c = o->h1;
	struct xfer *x = k->x, *q;
	/* answered before its request was all sent (an early error), or followed by bytes of
	 * no response: not reusable */
	bool whole = k->sent == x->head.len + x->body.len;

	xfer_complete(x, XFER_OK, NULL);
	k->x = NULL;
	x->conn = NULL;
	by_fd_set(o, k->fd, NULL);
	xfer_retire(o, x);
	if (!k->resp.keep_alive || !whole || k->resp.excess) {
		conn_close(o, k);
		return;
	}
	k->used = true;
	if ((q = c->queue) != NULL) { /* the oldest waiting request takes it */
		c->queue = q->next;
		if (!c->queue)
			c->queue_tail = NULL;
		q->queued = false;
		conn_begin(o, k, q);
		return;
	}
	k->next = c->idle;
	k->prev = NULL;
	if (c->idle)
		c->idle->prev = k;
	c->idle = k;
}

static void conn_readable(struct openai *o, struct h1_conn *k, int64_t off)
{
	struct h1_client *c = o->h1;
	struct xfer *x = k->x;
	ssize_t n;
	int rc;

	if (!x) { /* an idle connection: the server closed it (or spoke out of turn) */
		conn_close(o, k);
		return;
	}
	if (o->rx_kernel_on && !o->rx_kernel) {
		/* the read itself brings the kernel's time of its newest segment: every event
		 * it completes gets it (a response still waiting for its first token was
		 * peeked at before, for its first events' own times: kernel_rx) */
		uint64_t kt, now;

		n = recv_stamped(k->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT, off, &kt);
		if (n > 0 && kt) {
			now = lb_now_ns();
			o->t_ready = kt < now ? kt : now;
			o->rx_kernel = true;
		}
	} else {
		n = recv(k->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		char why[160];

		if (h1_resp_eof(&k->resp)) { /* a body that ends with the connection */
			resp_done(o, k);
			return;
		}
		/* libcurl's words where it has them, so that messages read the same */
		snprintf(why, sizeof(why), "%s",
			 n                    ? strerror(errno)
			 : !k->resp.got_bytes ? "Empty reply from server"
					      : "the server closed the connection before the "
						"response ended");
		conn_lost(o, k, why);
		return;
	}
	rc = h1_resp_feed(&k->resp, c->buf, (size_t)n, on_head, on_body, k);
	if (rc > 0) { /* the body was refused: its failure is told */
		xfer_abort(o, x, XFER_TRANSPORT, "aborted");
		return;
	}
	if (rc < 0) {
		char why[200];

		snprintf(why, sizeof(why), "bad HTTP response: %s", k->resp.err);
		xfer_abort(o, x, XFER_TRANSPORT, why);
		return;
	}
	if (k->resp.state == H1_DONE)
		resp_done(o, k);
}

static void conn_writable(struct openai *o, struct h1_conn *k)
{
	struct h1_client *c = o->h1;
	int e = 0;
	socklen_t len = sizeof(e);

	if (!k->connecting) {
		if (k->x && conn_send(o, k))
			conn_lost(o, k, strerror(errno));
		return;
	}
	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &len))
		e = errno;
	if (e) {
		struct xfer *x = k->x;
		char why[160];

		/* the next address, if any is left */
		if (k->tries < c->n_addr) {
			if (k->fd < c->n_by_fd)
				c->by_fd[k->fd] = NULL;
			by_fd_set(o, k->fd, NULL);
			close(k->fd);
			k->addr = (k->addr + 1) % c->n_addr;
			if (!conn_connect(o, k)) {
				x->fd = k->fd;
				by_fd_set(o, k->fd, x);
				return;
			}
			e = errno;
		}
		conn_refused(c, k, e, why, sizeof(why));
		xfer_abort(o, x, XFER_TRANSPORT, why);
		return;
	}
	k->connecting = false;
	c->good = k->addr;
	if (k->x && conn_send(o, k))
		conn_lost(o, k, strerror(errno));
}

/* ---- time ------------------------------------------------------------------------------- */

static void scan_timeouts(struct openai *o, uint64_t now)
{
	struct h1_client *c = o->h1;
	uint64_t to = (uint64_t)o->cfg.timeout_ms * 1000000u;
	uint64_t cto = (uint64_t)o->cfg.connect_timeout_ms * 1000000u;
	uint64_t least = to < cto ? to : cto;
	struct xfer *x = c->act_head, *next;

	for (; x && x->t_sent + least <= now; x = next) {
		struct h1_conn *k = x->conn;
		char why[96];

		next = x->act_next;
		if (!k && !x->queued)
			continue; /* ended before the wire: told next (dead list) */
		if (x->t_sent + to <= now) {
			snprintf(why, sizeof(why), "after %ld ms (timeout_ms)", o->cfg.timeout_ms);
		} else if (k && k->connecting && k->t_open + cto <= now) {
			snprintf(why, sizeof(why),
				 "connecting took over %ld ms (connect_timeout_ms)",
				 o->cfg.connect_timeout_ms);
		} else {
			continue;
		}
		if (x->queued) {
			list_remove(&c->queue, &c->queue_tail, x);
			x->queued = false;
		}
		xfer_abort(o, x, XFER_TIMEOUT, why);
	}
}

/* Open connections for queued requests while the bound allows. */
static void start_queued(struct openai *o)
{
	struct h1_client *c = o->h1;

	while (c->queue &&
	       (c->idle || o->cfg.max_connections <= 0 || c->n_conns < o->cfg.max_connections)) {
		struct xfer *x = c->queue;

		c->queue = x->next;
		if (!c->queue)
			c->queue_tail = NULL;
		x->queued = false;
		xfer_start(o, x);
	}
}

int h1_poll(struct openai *o, int timeout_ms, struct lb_error *err)
{
	struct h1_client *c = o->h1;
	struct epoll_event evs[OAI_EPOLL_BATCH];
	int n, i;
	uint64_t now, t_batch;
	int64_t off;

	if (!o->n_active && (o->wake_fd[0] < 0 || timeout_ms <= 0))
		return o->inflight;
	/* the dead are told at once; timeouts are checked every H1_SCAN_NS */
	n = oai_wait(o, c->dead ? 0 : timeout_ms, o->n_active ? c->next_scan : 0, evs, &t_batch,
		     &off, err);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		uint32_t ev = evs[i].events;
		struct h1_conn *k;

		k = fd < c->n_by_fd ? c->by_fd[fd] : NULL;
		if (!k)
			continue; /* closed earlier in this batch */
		if (k->connecting || (ev & EPOLLOUT)) {
			conn_writable(o, k);
			if (fd >= c->n_by_fd || c->by_fd[fd] != k || k->connecting)
				continue;
		}
		if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
			continue;
		/* a response still waiting for its first token is peeked at first, for its
		 * first events' own times (kernel_rx); else the read brings its time */
		oai_ready(o, fd, t_batch,
			  (ev & EPOLLIN) && o->rx_kernel_on && k->x && !k->x->got_first, off);
		conn_readable(o, k, off);
	}
	o->t_ready = 0;
	o->rx_kernel = false;
	o->ready_fd = -1;
	while (c->dead) {
		struct xfer *x = c->dead;

		c->dead = x->next;
		x->next = NULL;
		xfer_complete(x, XFER_TRANSPORT, x->errbuf);
		xfer_retire(o, x);
	}
	now = lb_now_ns();
	if (c->next_scan && c->next_scan <= now) {
		scan_timeouts(o, now);
		c->next_scan = o->n_active ? now + H1_SCAN_NS : 0;
	}
	start_queued(o);
	return o->inflight;
}

void h1_cancel(struct openai *o, struct xfer *x)
{
	struct h1_client *c = o->h1;

	if (x->queued) {
		list_remove(&c->queue, &c->queue_tail, x);
		x->queued = false;
	} else if (!x->conn) {
		list_remove(&c->dead, NULL, x);
	}
	if (x->conn)
		conn_close(o, x->conn);
	act_unlink(o, x);
	x->fd = -1;
}

void h1_close(struct openai *o)
{
	struct h1_client *c = o->h1;
	struct xfer *x;

	if (!c)
		return;
	for (x = c->act_head; x; x = x->act_next)
		if (x->conn)
			conn_close(o, x->conn);
	while (c->idle)
		conn_close(o, c->idle);
	if (c->fixed.alloc) /* it holds the key's header */
		memset(c->fixed.buf, 0, c->fixed.alloc);
	strbuf_release(&c->fixed);
	lb_free(c->by_fd);
	lb_free(c);
	o->h1 = NULL;
}
