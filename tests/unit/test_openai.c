/* test_openai.c: request bodies, chunk parsing and log-probability scoring of the OpenAI API
 * (openai_json), URL/header redaction, and the backend itself against a canned HTTP server on
 * 127.0.0.1 (a forked process; every response is scripted below). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../backends/backend.h"
#include "../../backends/openai_json.h"
#include "../../backends/redact.h"
#include "../../base/clock.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct backend_ops openai_backend_ops;

/* ---- request bodies ----------------------------------------------------------------------- */

/* Append len bytes of t to the NUL-terminated buf of size cap (truncating). */
static void append_text(char *buf, size_t cap, const char *t, size_t len)
{
	size_t have = strlen(buf);

	if (have + 1 >= cap)
		return;
	if (len > cap - 1 - have)
		len = cap - 1 - have;
	memcpy(buf + have, t, len);
	buf[have + len] = '\0';
}

static cJSON *body_of(enum oai_api api, const char *model, bool stream, const struct request *req)
{
	struct strbuf sb = STRBUF_INIT;
	struct lb_error err = LB_ERROR_INIT;
	cJSON *j;

	assert_int_equal(oai_build_body(&sb, api, model, stream, req, &err), 0);
	j = cJSON_Parse(sb.buf);
	if (!j)
		fail_msg("body is not JSON: %s", sb.buf);
	strbuf_release(&sb);
	return j;
}

static void completions_body_has_only_the_fields_set(void **state)
{
	struct request req = { .id = 1, .prompt = "Hi \"you\"\n", .prompt_len = 9 };
	cJSON *j, *so;

	(void)state;
	lb_gen_defaults(&req.gen);
	j = body_of(OAI_API_COMPLETIONS, "m1", true, &req);
	assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m1");
	assert_string_equal(cJSON_GetObjectItem(j, "prompt")->valuestring, "Hi \"you\"\n");
	assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 128);
	assert_null(cJSON_GetObjectItem(j, "temperature"));
	assert_null(cJSON_GetObjectItem(j, "top_p"));
	assert_null(cJSON_GetObjectItem(j, "top_k"));
	assert_null(cJSON_GetObjectItem(j, "seed"));
	assert_null(cJSON_GetObjectItem(j, "ignore_eos"));
	assert_null(cJSON_GetObjectItem(j, "stop"));
	assert_null(cJSON_GetObjectItem(j, "logprobs"));
	assert_null(cJSON_GetObjectItem(j, "messages"));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
	so = cJSON_GetObjectItem(j, "stream_options");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(so, "include_usage")));
	cJSON_Delete(j);
}

static void completions_body_carries_every_set_field(void **state)
{
	struct request req = { .id = 2, .prompt = "p", .prompt_len = 1 };
	cJSON *j, *stop;

	(void)state;
	lb_gen_defaults(&req.gen);
	req.gen.temperature = 0; /* 0 is set: greedy */
	req.gen.top_p = 0.9;
	req.gen.top_k = 40;
	req.gen.seed = 0;
	req.gen.ignore_eos = true;
	req.gen.stop[0] = "\n";
	req.gen.stop[1] = "END";
	req.gen.n_stop = 2;
	req.gen.max_tokens = 0; /* server default: omitted */
	j = body_of(OAI_API_COMPLETIONS, NULL, false, &req);
	assert_null(cJSON_GetObjectItem(j, "model"));
	assert_null(cJSON_GetObjectItem(j, "max_tokens"));
	assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0);
	assert_true(cJSON_GetObjectItem(j, "top_p")->valuedouble == 0.9);
	assert_int_equal(cJSON_GetObjectItem(j, "top_k")->valueint, 40);
	assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "ignore_eos")));
	stop = cJSON_GetObjectItem(j, "stop");
	assert_int_equal(cJSON_GetArraySize(stop), 2);
	assert_string_equal(cJSON_GetArrayItem(stop, 0)->valuestring, "\n");
	assert_string_equal(cJSON_GetArrayItem(stop, 1)->valuestring, "END");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "stream")));
	assert_null(cJSON_GetObjectItem(j, "stream_options"));
	cJSON_Delete(j);
}

static void token_id_prompt_is_an_array(void **state)
{
	static const int32_t ids[] = { 1, 15043, -0 + 2 };
	struct request req = { .id = 3, .prompt = "ignored", .prompt_len = 7, .prompt_ids = ids,
			       .n_prompt_ids = 3 };
	struct strbuf sb = STRBUF_INIT;
	struct lb_error err = LB_ERROR_INIT;
	cJSON *j, *p;

	(void)state;
	lb_gen_defaults(&req.gen);
	j = body_of(OAI_API_COMPLETIONS, "m", true, &req);
	p = cJSON_GetObjectItem(j, "prompt");
	assert_true(cJSON_IsArray(p));
	assert_int_equal(cJSON_GetArraySize(p), 3);
	assert_int_equal(cJSON_GetArrayItem(p, 1)->valueint, 15043);
	cJSON_Delete(j);
	/* the chat API has no token-id prompts */
	assert_int_equal(oai_build_body(&sb, OAI_API_CHAT, "m", true, &req, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "completions"));
	strbuf_release(&sb);
}

static void chat_body_has_messages(void **state)
{
	struct request req = { .id = 4, .prompt = "what?", .prompt_len = 5 };
	cJSON *j, *m;

	(void)state;
	lb_gen_defaults(&req.gen);
	j = body_of(OAI_API_CHAT, "m", true, &req);
	assert_null(cJSON_GetObjectItem(j, "prompt"));
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0);
	assert_string_equal(cJSON_GetObjectItem(m, "role")->valuestring, "user");
	assert_string_equal(cJSON_GetObjectItem(m, "content")->valuestring, "what?");
	cJSON_Delete(j);

	req.messages_json = " [{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"u\"}]";
	j = body_of(OAI_API_CHAT, "m", true, &req);
	m = cJSON_GetObjectItem(j, "messages");
	assert_int_equal(cJSON_GetArraySize(m), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "role")->valuestring,
			    "system");
	cJSON_Delete(j);
}

static void bad_requests_are_refused(void **state)
{
	struct request req = { .id = 5 };
	struct strbuf sb = STRBUF_INIT;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	lb_gen_defaults(&req.gen);
	assert_int_equal(oai_build_body(&sb, OAI_API_COMPLETIONS, "m", true, &req, &err),
			 LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "no prompt"));
	strbuf_reset(&sb);
	req.messages_json = "{\"role\":\"user\"}";
	assert_int_equal(oai_build_body(&sb, OAI_API_CHAT, "m", true, &req, &err), LB_ERR_USAGE);
	strbuf_release(&sb);
	assert_int_equal(oai_api_parse("embeddings", &(enum oai_api){ 0 }, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "'embeddings'"));
}

static void loglik_body_asks_for_echo(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct lb_error err = LB_ERROR_INIT;
	cJSON *j;

	(void)state;
	assert_int_equal(oai_build_loglik_body(&sb, "m", "ab", 2, 0, &err), 0);
	j = cJSON_Parse(sb.buf);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "echo")));
	assert_int_equal(cJSON_GetObjectItem(j, "logprobs")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 0);
	cJSON_Delete(j);
	strbuf_release(&sb);
}

/* ---- chunk parsing ------------------------------------------------------------------------- */

static void parse(struct oai_chunk *c, enum oai_api api, const char *json)
{
	struct lb_error err = LB_ERROR_INIT;

	if (oai_chunk_parse(c, api, json, strlen(json), &err))
		fail_msg("cannot parse %s: %s", json, err.msg);
}

static void completions_chunk_text(void **state)
{
	struct oai_chunk c;

	(void)state;
	parse(&c, OAI_API_COMPLETIONS,
	      "{\"id\":\"x\",\"choices\":[{\"index\":0,\"text\":\" world\",\"finish_reason\":null}]}");
	assert_true(c.has_choice);
	assert_int_equal(c.text_len, 6);
	assert_memory_equal(c.text, " world", 6);
	assert_null(c.finish_reason);
	assert_int_equal(c.usage_prompt, -1);
	assert_int_equal(c.usage_completion, -1);
	assert_true(c.prompt_ms < 0);
	oai_chunk_release(&c);
}

static void chat_chunks_role_only_content_and_finish(void **state)
{
	struct oai_chunk c;

	(void)state;
	parse(&c, OAI_API_CHAT,
	      "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
	assert_true(c.has_choice);
	assert_int_equal(c.text_len, 0); /* an empty or role-only chunk is not a token */
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}");
	assert_null(c.text);
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
	assert_string_equal(c.text, "Hi");
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}");
	assert_null(c.text);
	assert_string_equal(c.finish_reason, "length");
	oai_chunk_release(&c);
	/* a whole (non-streamed) chat response */
	parse(&c, OAI_API_CHAT,
	      "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"All of it\"},"
	      "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}");
	assert_string_equal(c.text, "All of it");
	assert_int_equal(c.usage_prompt, 3);
	assert_int_equal(c.usage_completion, 4);
	oai_chunk_release(&c);
}

static void usage_only_chunk_and_timings(void **state)
{
	struct oai_chunk c;

	(void)state;
	parse(&c, OAI_API_CHAT,
	      "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":32,"
	      "\"total_tokens\":44},\"timings\":{\"prompt_n\":12,\"prompt_ms\":8.5,"
	      "\"predicted_n\":32,\"predicted_ms\":480.25}}");
	assert_false(c.has_choice);
	assert_null(c.text);
	assert_int_equal(c.usage_prompt, 12);
	assert_int_equal(c.usage_completion, 32);
	assert_true(c.prompt_ms == 8.5);
	assert_true(c.predicted_ms == 480.25);
	oai_chunk_release(&c);
	/* counts that are not counts are "not given" */
	parse(&c, OAI_API_COMPLETIONS,
	      "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":1.5},\"timings\":{\"prompt_ms\":\"x\"}}");
	assert_int_equal(c.usage_prompt, -1);
	assert_int_equal(c.usage_completion, -1);
	assert_true(c.prompt_ms < 0);
	oai_chunk_release(&c);
}

static void error_objects_are_recognised(void **state)
{
	struct oai_chunk c;

	(void)state;
	parse(&c, OAI_API_COMPLETIONS,
	      "{\"error\":{\"code\":500,\"message\":\"out of KV cache\",\"type\":\"server_error\"}}");
	assert_true(c.is_error);
	assert_string_equal(c.error_msg, "out of KV cache");
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"error\":\"plain\"}");
	assert_true(c.is_error);
	assert_string_equal(c.error_msg, "plain");
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"error\":{\"code\":1}}");
	assert_true(c.is_error);
	assert_non_null(c.error_msg);
	oai_chunk_release(&c);
	parse(&c, OAI_API_CHAT, "{\"error\":null,\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}");
	assert_false(c.is_error);
	oai_chunk_release(&c);
}

static void malformed_chunks_are_parse_errors(void **state)
{
	static const char *const bad[] = { "{\"choices\":[{\"text\":\"x\"}", "not json", "",
					   "[1,2]", "\"str\"", "{} trailing", "{\"a\":1}{\"b\":2}" };
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct lb_error)LB_ERROR_INIT;
		if (oai_chunk_parse(&c, OAI_API_COMPLETIONS, bad[i], strlen(bad[i]), &err) !=
		    LB_ERR_PARSE)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err.msg, "malformed JSON"));
		oai_chunk_release(&c);
	}
	/* the length bounds the parse: a valid prefix of a longer buffer */
	assert_int_equal(oai_chunk_parse(&c, OAI_API_COMPLETIONS, "{}xyz", 2, &err), 0);
	oai_chunk_release(&c);
}

/* ---- log-likelihood scoring ------------------------------------------------------------- */

static const char ll_text[] = "The capital is Paris";
static const char ll_resp[] =
	"{\"choices\":[{\"text\":\"The capital is Paris,\",\"logprobs\":{"
	"\"tokens\":[\"The\",\" capital\",\" is\",\" Par\",\"is\",\",\"],"
	"\"token_logprobs\":[null,-1.0,-2.0,-0.5,-0.25,-3.0],"
	"\"text_offset\":[0,3,11,14,18,20],"
	"\"top_logprobs\":[null,{\" capital\":-1.0},{\" is\":-2.0},{\" Par\":-0.5},{\"is\":-0.25},"
	"{\",\":-3.0}]}}]}";

static void loglik_sums_the_continuation_tokens(void **state)
{
	struct loglik_result r;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(oai_loglik_parse(ll_resp, strlen(ll_resp), ll_text, strlen(ll_text), 14, &r,
					  &err),
			 0);
	assert_true(r.sum_logprob == -0.75); /* " Par" + "is"; the generated "," is not counted */
	assert_int_equal(r.n_tokens, 2);
	assert_int_equal(r.n_bytes, 6);
	assert_true(r.greedy);
	/* the context's last token starts before the continuation: not counted */
	assert_int_equal(oai_loglik_parse(ll_resp, strlen(ll_resp), ll_text, strlen(ll_text), 15,
					  &r, &err),
			 0);
	assert_true(r.sum_logprob == -0.25);
}

/* Non-ASCII text: "Q: Café?" is 8 characters but 9 bytes. vLLM (and the OpenAI API) report
 * text_offset in characters: the continuation " Paris" starts at character 8, byte 9. */
static const char ll_cafe[] = "Q: Caf\xc3\xa9? Paris";
static const char ll_cafe_chars[] =
	"{\"choices\":[{\"text\":\"Q: Caf\xc3\xa9? Paris!\",\"logprobs\":{"
	"\"tokens\":[\"Q\",\":\",\" Caf\",\"\xc3\xa9\",\"?\",\" Par\",\"is\",\"!\"],"
	"\"token_logprobs\":[null,-1,-2,-3,-4,-0.5,-0.25,-9],"
	"\"text_offset\":[0,1,2,6,7,8,12,14]}}]}";
/* the same with byte offsets (a server that counts bytes): recognised through the tokens */
static const char ll_cafe_bytes[] =
	"{\"choices\":[{\"text\":\"Q: Caf\xc3\xa9? Paris!\",\"logprobs\":{"
	"\"tokens\":[\"Q\",\":\",\" Caf\",\"\xc3\xa9\",\"?\",\" Par\",\"is\",\"!\"],"
	"\"token_logprobs\":[null,-1,-2,-3,-4,-0.5,-0.25,-9],"
	"\"text_offset\":[0,1,2,6,8,9,13,15]}}]}";

static void loglik_offsets_are_characters_for_non_ascii_text(void **state)
{
	struct loglik_result r;
	struct lb_error err = LB_ERROR_INIT;
	const char *no_tokens;

	(void)state;
	assert_int_equal(strlen(ll_cafe), 15);
	/* context "Q: Café?" (9 bytes), continuation " Paris" */
	assert_int_equal(oai_loglik_parse(ll_cafe_chars, strlen(ll_cafe_chars), ll_cafe, 15, 9, &r,
					  &err),
			 0);
	assert_true(r.sum_logprob == -0.75); /* " Par" + "is": neither dropped, "!" not counted */
	assert_int_equal(r.n_tokens, 2);
	assert_int_equal(r.n_bytes, 6);
	assert_int_equal(oai_loglik_parse(ll_cafe_bytes, strlen(ll_cafe_bytes), ll_cafe, 15, 9, &r,
					  &err),
			 0);
	assert_true(r.sum_logprob == -0.75);
	assert_int_equal(r.n_tokens, 2);
	/* character offsets without the tokens array: still characters */
	no_tokens = "{\"choices\":[{\"text\":\"Q: Caf\xc3\xa9? Paris!\",\"logprobs\":{"
		    "\"token_logprobs\":[null,-1,-2,-3,-4,-0.5,-0.25,-9],"
		    "\"text_offset\":[0,1,2,6,7,8,12,14]}}]}";
	assert_int_equal(oai_loglik_parse(no_tokens, strlen(no_tokens), ll_cafe, 15, 9, &r, &err), 0);
	assert_true(r.sum_logprob == -0.75);
	/* an offset past the echoed text's characters */
	no_tokens = "{\"choices\":[{\"text\":\"Q: Caf\xc3\xa9? Paris\",\"logprobs\":{"
		    "\"token_logprobs\":[null,-1],\"text_offset\":[0,17]}}]}";
	assert_int_equal(oai_loglik_parse(no_tokens, strlen(no_tokens), ll_cafe, 15, 9, &r, &err),
			 LB_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "past the 14 characters"));
}

static void loglik_without_echo_is_unsupported(void **state)
{
	static const char *const resp[] = {
		/* llama-server style: no echo, only generated text */
		"{\"choices\":[{\"text\":\" Paris\",\"logprobs\":null}]}",
		/* echoed text but no offsets */
		"{\"choices\":[{\"text\":\"The capital is Paris\",\"logprobs\":{\"token_logprobs\":[-1]}}]}",
		/* offsets that do not start at the prompt */
		"{\"choices\":[{\"text\":\"The capital is Paris\",\"logprobs\":{\"token_logprobs\":"
		"[-1,-2],\"text_offset\":[4,15]}}]}",
	};
	struct loglik_result r;
	struct lb_error err = LB_ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(resp) / sizeof(resp[0]); i++)
		assert_int_equal(oai_loglik_parse(resp[i], strlen(resp[i]), ll_text, strlen(ll_text),
						  14, &r, &err),
				 LB_ERR_UNSUPPORTED);
	assert_int_equal(oai_loglik_parse("{", 1, ll_text, strlen(ll_text), 14, &r, &err),
			 LB_ERR_PARSE);
}

/* ---- redaction ------------------------------------------------------------------------------ */

static void redact_cases(void **state)
{
	static const char *const cases[][2] = {
		{ "http://user:pass@host:8000/v1", "http://***@host:8000/v1" },
		{ "https://tok@api.example.com/v1", "https://***@api.example.com/v1" },
		{ "http://127.0.0.1:8089/v1", "http://127.0.0.1:8089/v1" },
		{ "http://host/p@th", "http://host/p@th" },
		{ "https://h/v1?key=abc&model=m&api_key=zz#frag",
		  "https://h/v1?key=***&model=m&api_key=***#frag" },
		{ "http://h/?Token=1;access_token=2&keys=3", "http://h/?Token=***;access_token=***&keys=3" },
		{ "http://u:p@h/?token=t", "http://***@h/?token=***" },
		{ "http://h/#?key=x", "http://h/#?key=x" },
		{ "", "" },
	};
	char out[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(redact_url(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(redact_url("http://user:secret@host/very/long/path", out, 12), -1);
	assert_int_equal(strlen(out), 11);
	assert_null(strstr(out, "secret"));

	assert_int_equal(redact_header("Authorization: Bearer sk-123", out, sizeof(out)), 0);
	assert_string_equal(out, "Authorization: ***");
	assert_int_equal(redact_header("X-Api-Key: abc", out, sizeof(out)), 0);
	assert_string_equal(out, "X-Api-Key: ***");
	assert_int_equal(redact_header("X-Trace: 1", out, sizeof(out)), 0);
	assert_string_equal(out, "X-Trace: 1");
}

/* ---- the backend against a scripted server ------------------------------------------------ */

static pid_t server_pid;
static int server_port;

#define SSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void say(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

/* One connection: read the request, answer by the "case=" word in its body. "case=keep" is
 * answered in chunked transfer coding on a kept-alive connection, twice (its text says which
 * request of the connection it was), and the connection is then closed by the server. */
static void serve(int fd)
{
	char req[65536], *body, *p, out[512];
	size_t got, need;
	int kept = 0;

next:
	got = need = 0;
	for (;;) {
		ssize_t r = read(fd, req + got, sizeof(req) - 1 - got);

		if (r <= 0)
			return;
		got += (size_t)r;
		req[got] = 0;
		body = strstr(req, "\r\n\r\n");
		if (body) {
			p = strcasestr(req, "\r\ncontent-length:");
			need = (size_t)(body + 4 - req) + (p ? strtoul(p + 17, NULL, 10) : 0);
			if (got >= need)
				break;
		}
	}
	body += 4;
	if (strstr(body, "\"echo\":true")) {
		if (strstr(body, "case=noecho")) {
			say(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
				"Connection: close\r\n\r\n{\"error\":{\"code\":500,\"message\":\"Only no echo "
				"is supported\"}}");
		} else if (strstr(body, "\"max_tokens\":0")) {
			say(fd, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nmax_tokens must be "
				"at least 1");
		} else {
			/* context "case=ll A" + continuation " B": tokens "case=ll", " A", " B", "!" */
			say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
				"close\r\n\r\n{\"choices\":[{\"text\":\"case=ll A B!\",\"logprobs\":{"
				"\"token_logprobs\":[null,-1.5,-0.5,-9],\"text_offset\":[0,7,9,11]}}]}");
		}
	} else if (strstr(body, "case=keep")) {
		char ev[160];
		size_t half;

		snprintf(ev, sizeof(ev),
			 "data: {\"choices\":[{\"text\":\"n=%d\",\"finish_reason\":\"stop\"}]}\n\n"
			 "data: [DONE]\n\n",
			 ++kept);
		half = strlen(ev) / 2;
		snprintf(out, sizeof(out),
			 "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
			 half, (int)half, ev, strlen(ev) - half, ev + half);
		say(fd, out);
		if (kept < 2)
			goto next;
		return; /* closed without a word: the next request needs a new connection */
	} else if (strstr(body, "case=sse")) {
		say(fd, SSE_HEAD ": ping\n\n"
			"data: {\"choices\":[{\"text\":\"Hel\",\"finish_reason\":null}]}\n\n");
		usleep(30000);
		say(fd, "data: {\"choices\":[{\"text\":\"\",\"finish_reason\":null}]}\r\n\r\n"
			"data: {\"choices\":[{\"text\":\"lo\",\"finish_reason\":null}]}\n");
		usleep(20000);
		say(fd, "\ndata: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"stop\"}]}\n\n"
			"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2},"
			"\"timings\":{\"prompt_ms\":1.5,\"predicted_ms\":2.5}}\n\n"
			"data: [DONE]\n\n");
	} else if (strstr(body, "case=late")) {
		/* the head at once, a token 40 ms later, the end 600 ms after that */
		say(fd, SSE_HEAD);
		usleep(40000);
		say(fd, "data: {\"choices\":[{\"text\":\"A\",\"finish_reason\":null}]}\n\n");
		usleep(600000);
		say(fd, "data: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"stop\"}]}\n\n"
			"data: [DONE]\n\n");
	} else if (strstr(body, "case=chat")) {
		say(fd, SSE_HEAD
		    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n");
		usleep(30000);
		say(fd, "data: {\"choices\":[{\"delta\":{\"content\":\"Yes\"}}]}\n\n"
			"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n");
		/* no usage chunk, no [DONE]: the finish_reason is enough */
	} else if (strstr(body, "case=hdr")) {
		const char *id = strcasestr(req, "\r\nX-LLMBench-Request-Id: ");
		const char *auth = strcasestr(req, "\r\nAuthorization: Bearer sk-test\r\n");

		snprintf(out, sizeof(out),
			 SSE_HEAD "data: {\"choices\":[{\"text\":\"id=%lu auth=%d\"}]}\n\ndata: [DONE]\n\n",
			 id ? strtoul(id + 25, NULL, 10) : 0ul, auth != NULL);
		say(fd, out);
	} else if (strstr(body, "case=http500")) {
		say(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
			"Connection: close\r\n\r\n{\"error\":{\"message\":\"overloaded\"}}");
	} else if (strstr(body, "case=cutoff")) {
		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choi");
	} else if (strstr(body, "case=malformed")) {
		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {oops}\n\n"
			"data: [DONE]\n\n");
	} else if (strstr(body, "case=errobj")) {
		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"a\"}]}\n\n"
			"data: {\"error\":{\"message\":\"boom\"}}\n\n");
	} else if (strstr(body, "case=longline")) {
		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"");
		memset(out, 'x', 300);
		write_all(fd, out, 300);
		say(fd, "\"}]}\n\ndata: [DONE]\n\n");
	} else if (strstr(body, "case=whole")) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
			"{\"choices\":[{\"text\":\"entire answer\",\"finish_reason\":\"stop\"}],"
			"\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}");
	} else if (strstr(body, "case=finhang")) {
		struct timeval tv = { 0, 100000 };

		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"a\",\"finish_reason\":\"stop\"}]}\n\n");
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (int i = 0; i < 50; i++)
			if (!read(fd, req, sizeof(req)))
				break;
	} else if (strstr(body, "case=hang")) {
		say(fd, SSE_HEAD "data: {\"choices\":[{\"text\":\"a\"}]}\n\n");
		/* hold the stream open until the client goes away (at most 5 s) */
		struct timeval tv = { 0, 100000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (int i = 0; i < 50; i++)
			if (!read(fd, req, sizeof(req)))
				break;
	} else {
		say(fd, "HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nno case");
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, req, sizeof(req)) > 0)
		;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 512) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static int server_start(void **state)
{
	int lfd = listen_loopback(&server_port);

	(void)state;
	if (lfd < 0)
		return -1;
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		/* keep no pipe of the test runner open in the server's processes */
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		signal(SIGCHLD, SIG_IGN);
		alarm(60); /* never outlive a hung test */
		for (;;) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0)
				continue;
			if (fork() == 0) {
				alarm(10);
				close(lfd);
				serve(fd);
				_exit(0);
			}
			close(fd);
		}
	}
	close(lfd);
	return 0;
}

static int server_stop(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
	return 0;
}

struct seen {
	int n_events, n_sent, n_first, n_tokens, n_done, n_error, n_after_end;
	bool ended;
	char text[1024];
	enum lb_fail fail;
	int http_status;
	char msg[512];
	char finish[32];
	int32_t usage_prompt, usage_completion;
	double prompt_ms, predicted_ms;
	uint64_t t_sent, t_first, t_end;
	int first_src;         /* the first token's enum lb_tsrc */
	int n_src[LB_TSRC_N];  /* chunks by time source */
};

static void on_ev(void *ctx, const struct lb_event *ev)
{
	struct seen *s = ctx;

	s->n_events++;
	if (s->ended)
		s->n_after_end++;
	switch (ev->kind) {
	case LB_EV_SENT:
		s->n_sent++;
		s->t_sent = ev->t_ns;
		break;
	case LB_EV_FIRST_TOKEN:
		s->n_first++;
		s->t_first = ev->t_ns;
		s->first_src = (int)ev->t_src;
		/* fall through */
	case LB_EV_TOKENS:
		if (ev->kind == LB_EV_TOKENS)
			s->n_tokens++;
		assert_true((unsigned)ev->t_src < LB_TSRC_N);
		s->n_src[ev->t_src]++;
		assert_true(ev->text_len > 0);
		append_text(s->text, sizeof(s->text), ev->text, ev->text_len);
		break;
	case LB_EV_DONE:
		s->n_done++;
		s->ended = true;
		s->t_end = ev->t_ns;
		if (ev->text)
			append_text(s->text, sizeof(s->text), ev->text, ev->text_len);
		s->usage_prompt = ev->usage_prompt_tokens;
		s->usage_completion = ev->usage_completion_tokens;
		snprintf(s->finish, sizeof(s->finish), "%s", ev->finish_reason ? ev->finish_reason : "");
		s->prompt_ms = ev->server_prompt_ms;
		s->predicted_ms = ev->server_predicted_ms;
		break;
	case LB_EV_ERROR:
		s->n_error++;
		s->ended = true;
		s->t_end = ev->t_ns;
		s->fail = ev->fail;
		s->http_status = ev->http_status;
		snprintf(s->msg, sizeof(s->msg), "%.*s", (int)ev->text_len, ev->text);
		break;
	}
}

static const char *rx_timestamps = "kernel";
static const char *http_client = "libcurl"; /* the second group: "native" */

static void open_backend(struct backend *b, const char *api, bool stream, size_t max_body,
			 int port)
{
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	char url[64];

	backend_config_defaults(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", port);
	cfg.name = "t";
	cfg.type = "openai";
	cfg.base_url = url; /* copied into the URL at open */
	cfg.model = "m";
	cfg.api = api;
	cfg.stream = stream;
	cfg.rx_timestamps = rx_timestamps;
	cfg.http_client = http_client;
	cfg.timeout_ms = 3000;
	if (max_body)
		cfg.max_body_bytes = max_body;
	if (backend_open(b, &cfg, &err))
		fail_msg("open: %s", err.msg);
}

/* Submit one request per prompt and poll until all ended (bounded). */
static void run_all(struct backend *b, const char *const *prompts, struct seen *s, size_t n)
{
	struct request *reqs = calloc(n, sizeof(*reqs));
	struct lb_error err = LB_ERROR_INIT;
	uint64_t deadline = lb_now_ns() + 8000000000ull;
	size_t i;
	int left = 1;

	assert_non_null(reqs);
	for (i = 0; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		reqs[i].id = 100 + i;
		reqs[i].prompt = prompts[i];
		reqs[i].prompt_len = strlen(prompts[i]);
		lb_gen_defaults(&reqs[i].gen);
		reqs[i].sink.fn = on_ev;
		reqs[i].sink.ctx = &s[i];
		assert_int_equal(b->ops->submit(b, &reqs[i], &err), 0);
		assert_int_equal(s[i].n_sent, 1);
	}
	while (left > 0 && lb_now_ns() < deadline)
		left = b->ops->poll(b, 50, &err);
	assert_int_equal(left, 0);
	/* nothing more arrives for ended requests */
	for (i = 0; i < 3; i++)
		b->ops->poll(b, 10, &err);
	for (i = 0; i < n; i++) {
		assert_true(s[i].ended);
		assert_int_equal(s[i].n_after_end, 0);
		assert_int_equal(s[i].n_done + s[i].n_error, 1);
	}
	free(reqs);
}

static void stream_gives_first_token_tokens_and_done(void **state)
{
	static const char *const p[] = { "case=sse" };
	struct backend b;
	struct seen s;

	(void)state;
	open_backend(&b, "completions", true, 0, server_port);
	run_all(&b, p, &s, 1);
	assert_int_equal(s.n_done, 1);
	assert_int_equal(s.n_first, 1);
	assert_int_equal(s.n_tokens, 1); /* the empty chunk is not a token */
	assert_string_equal(s.text, "Hello");
	assert_int_equal(s.usage_prompt, 5);
	assert_int_equal(s.usage_completion, 2);
	assert_string_equal(s.finish, "stop");
	assert_true(s.prompt_ms == 1.5 && s.predicted_ms == 2.5);
	assert_true(s.t_sent < s.t_first && s.t_first < s.t_end);
	/* the server waited 30+20 ms between the first token and the end */
	assert_true(s.t_end - s.t_first >= 45000000ull);
	backend_close(&b);
}

/* The client reads 300 ms late, after the response's head and first token arrived (40 ms after
 * the request): with the kernel's receive times the first token is timed at its arrival, not
 * when it was read, and not at the head's arrival either; with rx_timestamps "harness" it is
 * timed when read. */
static void late_reader_gets_the_kernel_arrival_time(void **state)
{
	static const char *const modes[] = { "kernel", "harness" };
	struct lb_error err = LB_ERROR_INIT;
	size_t m;

	(void)state;
	for (m = 0; m < 2; m++) {
		struct backend b;
		struct seen s;
		struct request req = { .id = 7, .prompt = "case=late", .prompt_len = 9 };
		uint64_t t0, deadline;
		double first_ms;
		int left = 1;

		memset(&s, 0, sizeof(s));
		rx_timestamps = modes[m];
		open_backend(&b, "completions", true, 0, server_port);
		lb_gen_defaults(&req.gen);
		req.sink.fn = on_ev;
		req.sink.ctx = &s;
		assert_int_equal(b.ops->submit(&b, &req, &err), 0);
		/* connect and send, then look away */
		for (t0 = lb_now_ns(); lb_now_ns() - t0 < 30000000ull;)
			b.ops->poll(&b, 5, &err);
		usleep(300000);
		deadline = lb_now_ns() + 5000000000ull;
		while (left > 0 && lb_now_ns() < deadline)
			left = b.ops->poll(&b, 50, &err);
		assert_int_equal(s.n_done, 1);
		assert_int_equal(s.n_first, 1);
		first_ms = (double)(s.t_first - s.t_sent) / 1e6;
		print_message("rx_timestamps %s: first token %.3f ms after the send\n", modes[m],
			      first_ms);
		if (m == 0) { /* its arrival: after the server's 40 ms, long before the read */
			assert_true(first_ms >= 39.0 && first_ms < 250.0);
			/* the end, 600 ms later, is timed at its own arrival */
			assert_true(s.t_end - s.t_first >= 550000000ull);
			/* and the event says so: a kernel time, never the harness's clock */
			assert_true(s.first_src == LB_TSRC_KERNEL_OWN ||
				    s.first_src == LB_TSRC_KERNEL_READ);
			assert_int_equal(s.n_src[LB_TSRC_HARNESS], 0);
			assert_int_equal(s.n_src[LB_TSRC_UNSTATED], 0);
		} else {
			assert_true(first_ms >= 300.0);
			assert_int_equal(s.first_src, LB_TSRC_HARNESS);
			assert_int_equal(s.n_src[LB_TSRC_HARNESS], s.n_first + s.n_tokens);
		}
		backend_close(&b);
	}
	rx_timestamps = "kernel";
}

static void chat_role_chunk_is_not_the_first_token(void **state)
{
	static const char *const p[] = { "case=chat" };
	struct backend b;
	struct seen s;

	(void)state;
	open_backend(&b, "chat", true, 0, server_port);
	run_all(&b, p, &s, 1);
	assert_int_equal(s.n_done, 1);
	assert_int_equal(s.n_first, 1);
	assert_string_equal(s.text, "Yes");
	assert_string_equal(s.finish, "length");
	assert_int_equal(s.usage_completion, -1);
	assert_true(s.t_first - s.t_sent >= 25000000ull); /* after the 30 ms pause */
	backend_close(&b);
}

static void failures_get_their_category(void **state)
{
	static const char *const p[] = { "case=http500", "case=cutoff", "case=malformed",
					 "case=errobj", "case=nosuch" };
	struct backend b;
	struct seen s[5];

	(void)state;
	open_backend(&b, "completions", true, 0, server_port);
	run_all(&b, p, s, 5);
	assert_int_equal(s[0].fail, LB_FAIL_HTTP);
	assert_int_equal(s[0].http_status, 503);
	assert_non_null(strstr(s[0].msg, "overloaded"));
	assert_int_equal(s[1].fail, LB_FAIL_STREAM);
	assert_non_null(strstr(s[1].msg, "cut off"));
	assert_int_equal(s[1].n_first, 1);
	assert_int_equal(s[2].fail, LB_FAIL_STREAM);
	assert_non_null(strstr(s[2].msg, "malformed"));
	assert_int_equal(s[3].fail, LB_FAIL_STREAM);
	assert_non_null(strstr(s[3].msg, "boom"));
	assert_int_equal(s[4].fail, LB_FAIL_HTTP);
	assert_int_equal(s[4].http_status, 404);
	backend_close(&b);
}

static void line_over_max_body_bytes_fails_the_stream(void **state)
{
	static const char *const p[] = { "case=longline", "case=sse" };
	struct backend b;
	struct seen s[2];

	(void)state;
	open_backend(&b, "completions", true, 256, server_port);
	run_all(&b, p, s, 2);
	assert_int_equal(s[0].fail, LB_FAIL_STREAM);
	assert_non_null(strstr(s[0].msg, "256 bytes"));
	assert_int_equal(s[1].n_done, 1); /* short lines are fine */
	backend_close(&b);
}

static void not_streamed_response_is_one_done(void **state)
{
	static const char *const p[] = { "case=whole" };
	struct backend b;
	struct seen s;

	(void)state;
	open_backend(&b, "completions", false, 0, server_port);
	run_all(&b, p, &s, 1);
	assert_int_equal(s.n_done, 1);
	assert_int_equal(s.n_first, 0);
	assert_string_equal(s.text, "entire answer");
	assert_int_equal(s.usage_prompt, 7);
	backend_close(&b);
	/* a server that ignores "stream" and answers with JSON: one DONE with the text */
	open_backend(&b, "completions", true, 0, server_port);
	run_all(&b, p, &s, 1);
	assert_int_equal(s.n_done, 1);
	assert_int_equal(s.n_first, 0);
	assert_string_equal(s.text, "entire answer");
	assert_string_equal(s.finish, "stop");
	backend_close(&b);
}

static void refused_connection_is_connect_failure(void **state)
{
	static const char *const p[] = { "case=sse" };
	struct backend b;
	struct seen s;
	int port, fd = listen_loopback(&port);

	(void)state;
	close(fd); /* nothing listens there now */
	open_backend(&b, "completions", true, 0, port);
	run_all(&b, p, &s, 1);
	assert_int_equal(s.fail, LB_FAIL_CONNECT);
	backend_close(&b);
}

static void timeout_and_cancel(void **state)
{
	struct backend b;
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	struct request r1 = { .id = 1, .prompt = "case=hang", .prompt_len = 9 };
	struct request r2 = r1, r3 = { .id = 3, .prompt = "case=finhang", .prompt_len = 12 };
	struct seen s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	char url[64];
	uint64_t deadline;
	int left = 1, i;

	(void)state;
	backend_config_defaults(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", server_port);
	cfg.name = "t";
	cfg.type = "openai";
	cfg.base_url = url;
	cfg.http_client = http_client;
	cfg.timeout_ms = 400;
	assert_int_equal(backend_open(&b, &cfg, &err), 0);
	lb_gen_defaults(&r1.gen);
	r2 = r1;
	r2.id = 2;
	r1.sink = (struct lb_sink){ on_ev, &s1 };
	r2.sink = (struct lb_sink){ on_ev, &s2 };
	assert_int_equal(b.ops->submit(&b, &r1, &err), 0);
	assert_int_equal(b.ops->submit(&b, &r2, &err), 0);
	lb_gen_defaults(&r3.gen);
	r3.sink = (struct lb_sink){ on_ev, &s3 };
	assert_int_equal(b.ops->submit(&b, &r3, &err), 0);
	deadline = lb_now_ns() + 3000000000ull;
	while (s2.n_first == 0 && lb_now_ns() < deadline)
		b.ops->poll(&b, 20, &err);
	assert_int_equal(s2.n_first, 1);
	b.ops->cancel(&b, &r2);
	assert_int_equal(s2.n_error, 1);
	assert_int_equal(s2.fail, LB_FAIL_CANCELLED);
	b.ops->cancel(&b, &r2); /* already ended: nothing */
	while (left > 0 && lb_now_ns() < deadline)
		left = b.ops->poll(&b, 50, &err);
	assert_int_equal(left, 0);
	assert_int_equal(s1.fail, LB_FAIL_TIMEOUT);
	assert_non_null(strstr(s1.msg, "timed out"));
	/* a finish_reason arrived before the timeout: the answer is complete */
	assert_int_equal(s3.n_done, 1);
	assert_string_equal(s3.finish, "stop");
	assert_true(s3.t_end < s1.t_end);
	for (i = 0; i < 3; i++)
		b.ops->poll(&b, 10, &err);
	assert_int_equal(s1.n_after_end + s2.n_after_end + s3.n_after_end, 0);
	backend_close(&b);
}

static void request_id_and_key_headers_are_sent(void **state)
{
	static const char *const p[] = { "case=hdr" };
	struct backend b = { 0 };
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	struct seen s;
	char url[64];

	(void)state;
	backend_config_defaults(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", server_port);
	cfg.name = "keyed";
	cfg.type = "openai";
	cfg.base_url = url;
	cfg.http_client = http_client;
	cfg.api_key_env = "LLMBENCH_TEST_NO_SUCH_KEY";
	unsetenv("LLMBENCH_TEST_NO_SUCH_KEY");
	assert_int_equal(backend_open(&b, &cfg, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "'LLMBENCH_TEST_NO_SUCH_KEY'"));
	assert_null(b.ops);
	setenv("LLMBENCH_TEST_NO_SUCH_KEY", "sk-test", 1);
	assert_int_equal(backend_open(&b, &cfg, &err), 0);
	run_all(&b, p, &s, 1);
	assert_string_equal(s.text, "id=100 auth=1");
	backend_close(&b);
	unsetenv("LLMBENCH_TEST_NO_SUCH_KEY");
}

static void many_concurrent_streams_reuse_handles(void **state)
{
	enum { N = 64 };
	const char *p[N];
	struct seen *s = calloc(N, sizeof(*s));
	struct backend b;
	int i, round;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < N; i++)
		p[i] = "case=sse";
	open_backend(&b, "completions", true, 0, server_port);
	for (round = 0; round < 2; round++) {
		run_all(&b, p, s, N);
		for (i = 0; i < N; i++) {
			assert_int_equal(s[i].n_done, 1);
			assert_string_equal(s[i].text, "Hello");
		}
	}
	backend_close(&b);
	free(s);
}

/* Requests one after another: the second goes on the kept-alive connection (chunked answers),
 * the third, after the server closed it, on a new one; all three are answered. */
static void kept_alive_connection_is_reused_and_replaced(void **state)
{
	static const char *const p[] = { "case=keep" };
	static const char *const want[] = { "n=1", "n=2", "n=1" };
	struct backend b;
	struct seen s;
	int i;

	(void)state;
	open_backend(&b, "completions", true, 0, server_port);
	for (i = 0; i < 3; i++) {
		run_all(&b, p, &s, 1);
		assert_int_equal(s.n_done, 1);
		assert_string_equal(s.text, want[i]);
		assert_string_equal(s.finish, "stop");
		usleep(20000); /* the server's close of the first connection arrives */
	}
	backend_close(&b);
}

/* The native client speaks plain http only, without credentials in the URL or a proxy: each
 * refused at open with what to do instead. */
static void native_client_refuses_what_it_cannot_do(void **state)
{
	static const struct {
		const char *url, *proxy, *says;
	} cases[] = {
		{ "https://127.0.0.1:1/v1", NULL, "https" },
		{ "http://user:pw@127.0.0.1:1/v1", NULL, "credentials" },
		{ "http://127.0.0.1:1/v1", "http://proxy.example:3128", "proxy" },
		{ "http://:80/v1", NULL, "host" },
	};
	size_t i;

	(void)state;
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct backend b = { 0 };
		struct backend_config cfg;
		struct lb_error err = LB_ERROR_INIT;

		backend_config_defaults(&cfg);
		cfg.name = "n";
		cfg.type = "openai";
		cfg.base_url = cases[i].url;
		cfg.http_client = "native";
		if (cases[i].proxy)
			setenv("http_proxy", cases[i].proxy, 1);
		assert_int_equal(backend_open(&b, &cfg, &err), LB_ERR_USAGE);
		unsetenv("http_proxy");
		if (!strstr(err.msg, cases[i].says))
			fail_msg("'%s': '%s' does not say '%s'", cases[i].url, err.msg, cases[i].says);
		assert_non_null(strstr(err.msg, "backend 'n'"));
	}
	/* a name that does not resolve is told per request, as a connect failure */
	{
		static const char *const p[] = { "case=sse" };
		struct backend b;
		struct backend_config cfg;
		struct lb_error err = LB_ERROR_INIT;
		struct seen s;

		backend_config_defaults(&cfg);
		cfg.name = "n";
		cfg.type = "openai";
		cfg.base_url = "http://no-such-host.invalid:8000/v1";
		cfg.http_client = "native";
		assert_int_equal(backend_open(&b, &cfg, &err), 0);
		run_all(&b, p, &s, 1);
		assert_int_equal(s.fail, LB_FAIL_CONNECT);
		assert_non_null(strstr(s.msg, "no-such-host.invalid"));
		backend_close(&b);
	}
}

/* max_connections bounds the connections; the requests beyond wait their turn and are all
 * answered. */
static void max_connections_queues_the_rest(void **state)
{
	enum { N = 12 };
	const char *p[N];
	struct seen s[N];
	struct backend b;
	struct backend_config cfg;
	struct lb_error err = LB_ERROR_INIT;
	char url[64];
	int i;

	(void)state;
	for (i = 0; i < N; i++)
		p[i] = "case=sse";
	backend_config_defaults(&cfg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", server_port);
	cfg.name = "t";
	cfg.type = "openai";
	cfg.base_url = url;
	cfg.http_client = http_client;
	cfg.max_connections = 3;
	assert_int_equal(backend_open(&b, &cfg, &err), 0);
	run_all(&b, p, s, N);
	for (i = 0; i < N; i++) {
		assert_int_equal(s[i].n_done, 1);
		assert_string_equal(s[i].text, "Hello");
	}
	/* each connection answers one request (Connection: close) and takes 50 ms: four
	 * rounds of three */
	assert_true(s[N - 1].t_end - s[0].t_sent >= 150000000ull);
	backend_close(&b);
}

static void loglik_scores_or_says_unsupported(void **state)
{
	struct backend b;
	struct loglik_result r;
	struct lb_error err = LB_ERROR_INIT;
	struct loglik_query q = { "case=ll A", 9, " B", 2 };
	struct loglik_query no = { "case=noecho A", 13, " B", 2 };

	(void)state;
	open_backend(&b, "chat", true, 0, server_port);
	/* max_tokens 0 is refused with 400, the retry with 1 scores; "!" is generated */
	assert_int_equal(b.ops->loglik(&b, &q, &r, &err), 0);
	assert_true(r.sum_logprob == -0.5);
	assert_int_equal(r.n_tokens, 1);
	assert_int_equal(b.ops->loglik(&b, &no, &r, &err), LB_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "did not echo prompt log-probabilities"));
	assert_non_null(strstr(err.msg, "/v1/completions'"));
	backend_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(completions_body_has_only_the_fields_set),
		cmocka_unit_test(completions_body_carries_every_set_field),
		cmocka_unit_test(token_id_prompt_is_an_array),
		cmocka_unit_test(chat_body_has_messages),
		cmocka_unit_test(bad_requests_are_refused),
		cmocka_unit_test(loglik_body_asks_for_echo),
		cmocka_unit_test(completions_chunk_text),
		cmocka_unit_test(chat_chunks_role_only_content_and_finish),
		cmocka_unit_test(usage_only_chunk_and_timings),
		cmocka_unit_test(error_objects_are_recognised),
		cmocka_unit_test(malformed_chunks_are_parse_errors),
		cmocka_unit_test(loglik_sums_the_continuation_tokens),
		cmocka_unit_test(loglik_offsets_are_characters_for_non_ascii_text),
		cmocka_unit_test(loglik_without_echo_is_unsupported),
		cmocka_unit_test(redact_cases),
		/* the backend against the scripted server (started by the group setup) */
		cmocka_unit_test(stream_gives_first_token_tokens_and_done),
		cmocka_unit_test(chat_role_chunk_is_not_the_first_token),
		cmocka_unit_test(failures_get_their_category),
		cmocka_unit_test(line_over_max_body_bytes_fails_the_stream),
		cmocka_unit_test(not_streamed_response_is_one_done),
		cmocka_unit_test(refused_connection_is_connect_failure),
		cmocka_unit_test(timeout_and_cancel),
		cmocka_unit_test(request_id_and_key_headers_are_sent),
		cmocka_unit_test(many_concurrent_streams_reuse_handles),
		cmocka_unit_test(kept_alive_connection_is_reused_and_replaced),
		cmocka_unit_test(max_connections_queues_the_rest),
		cmocka_unit_test(loglik_scores_or_says_unsupported),
		cmocka_unit_test(late_reader_gets_the_kernel_arrival_time),
	};
	/* the same exchanges with the backend's own HTTP/1.1 client (http_client "native") */
	const struct CMUnitTest native[] = {
		cmocka_unit_test(stream_gives_first_token_tokens_and_done),
		cmocka_unit_test(chat_role_chunk_is_not_the_first_token),
		cmocka_unit_test(failures_get_their_category),
		cmocka_unit_test(line_over_max_body_bytes_fails_the_stream),
		cmocka_unit_test(not_streamed_response_is_one_done),
		cmocka_unit_test(refused_connection_is_connect_failure),
		cmocka_unit_test(timeout_and_cancel),
		cmocka_unit_test(request_id_and_key_headers_are_sent),
		cmocka_unit_test(many_concurrent_streams_reuse_handles),
		cmocka_unit_test(kept_alive_connection_is_reused_and_replaced),
		cmocka_unit_test(max_connections_queues_the_rest),
		cmocka_unit_test(late_reader_gets_the_kernel_arrival_time),
		cmocka_unit_test(native_client_refuses_what_it_cannot_do),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests_name("openai", tests, server_start, server_stop);
	http_client = "native";
	rc |= cmocka_run_group_tests_name("openai-native", native, server_start, server_stop);
	curl_global_cleanup();
	return rc;
}
