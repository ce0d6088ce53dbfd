/* fuzz_sim_http.c: libFuzzer target for the simulator's request parsing (backends/sim_http.c):
 * the HTTP/1.x head (sim_head_parse), the completion and chat bodies (sim_body_parse, and
 * echo + logprobs: sim_echo_reply) and the answers file (sim_answers_load). The sim faces whatever a client sends it.
 *
 * Input: byte 0 picks the mode (% 3: head then body, body only, answers file); the rest is the
 * bytes. In mode 0 the head is parsed and, when complete, what follows it is parsed as the body
 * of the head's endpoint (chat or completions), against a fixed answers table.
 * Needs: backends/sim_http.c harness/strbuf.c harness/alloc.c harness/error.c (or the whole
 * build-fuzz/libllmbench.a); links -lcjson. */
#include "../../backends/sim_int.h"
#include "../../base/strbuf.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* echo + logprobs (sim_logprobs.c): a reply that parses back, or a 400 that says why */
static void check_echo(const char *b, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	char msg[256];
	cJSON *j;

	msg[0] = 0;
	if (!sim_echo_asked(b, n))
		return;
	if (sim_echo_reply(b, n, &sb, msg, sizeof(msg))) {
		if (!msg[0])
			abort();
	} else {
		j = cJSON_ParseWithLength(sb.buf, sb.len);
		if (!cJSON_IsObject(j))
			abort();
		cJSON_Delete(j);
	}
	strbuf_release(&sb);
}

static void check_body(const char *b, size_t n, enum sim_api api, const struct sim_answers *ans)
{
	struct sim_body out;
	char msg[256];

	if (api == SIM_API_COMPLETIONS)
		check_echo(b, n);
	msg[0] = 0;
	if (sim_body_parse(b, n, api, ans, &out, msg, sizeof(msg))) {
		if (!msg[0])
			abort(); /* a 400 always says why */
		return;
	}
	if (out.prompt_tokens < 0 || out.max_tokens < 0 || strlen(out.model) > SIM_MODEL_MAX)
		abort();
	if (out.answer && (out.answer < ans->v || out.answer >= ans->v + ans->n))
		abort();
	{
		/* the prefix-cache blocks: same verdict and token count, whole blocks only, bounded */
		uint64_t hash[8];
		struct sim_blocks bl = { .block_tokens = 3, .hash = hash, .cap = 8 };
		struct sim_body out2;

		if (sim_body_parse_blocks(b, n, api, ans, &out2, msg, sizeof(msg), &bl) ||
		    out2.prompt_tokens != out.prompt_tokens || bl.n > bl.cap ||
		    (bl.n < bl.cap && (long)bl.n != out.prompt_tokens / 3))
			abort();
	}
}

static void check_head(const char *s, size_t n, const struct sim_answers *ans)
{
	struct sim_head h;
	long rc = sim_head_parse(s, n, &h);
	size_t i;

	if (rc > (long)n)
		abort();
	if (rc < 0 && rc != -400 && rc != -431 && rc != -505 && rc != -501 && rc != -413)
		abort();
	if (rc <= 0)
		return;
	if (strlen(h.request_id) > SIM_ID_MAX || strlen(h.fault) >= sizeof(h.fault))
		abort();
	for (i = 0; h.request_id[i]; i++)
		if ((unsigned char)h.request_id[i] <= ' ' || h.request_id[i] == '"' ||
		    h.request_id[i] == '\\')
			abort(); /* written to the log and echoed: no spaces, controls or quotes */
	if (h.api == SIM_API_CHAT || h.api == SIM_API_COMPLETIONS)
		check_body(s + rc, n - (size_t)rc, h.api, ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_answers ans;
	static int loaded;
	struct lb_error err = LB_ERROR_INIT;
	struct sim_answers a = { 0 };
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	FILE *f;

	if (!size)
		return 0;
	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/llmbench-fuzz-sim.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
	}
	if (!loaded) {
		f = fopen(path, "wb");
		if (!f)
			abort();
		fputs("{\"match\": \"capital of France\", \"answer\": \"Paris\"}\n"
		      "{\"match\": \"2+2\", \"answer\": \"4 , four\"}\n", f);
		fclose(f);
		if (sim_answers_load(&ans, path, &err))
			abort();
		loaded = 1;
	}
	switch (data[0] % 3) {
	case 0:
		check_head(s, n, &ans);
		break;
	case 1:
		check_body(s, n, data[0] & 0x80 ? SIM_API_CHAT : SIM_API_COMPLETIONS, &ans);
		break;
	default:
		f = fopen(path, "wb");
		if (!f)
			abort();
		if (n && fwrite(s, 1, n, f) != n)
			abort();
		fclose(f);
		if (sim_answers_load(&a, path, &err)) {
			if (!err.msg[0])
				abort();
		} else {
			size_t i;

			for (i = 0; i < a.n; i++)
				if (!a.v[i].match)
					abort();
		}
		sim_answers_free(&a);
		loaded = 0; /* the fixed table's file was overwritten: write it again */
		sim_answers_free(&ans);
		memset(&ans, 0, sizeof(ans));
		break;
	}
	return 0;
}
