/* fuzz_openai_json.c: libFuzzer target for the OpenAI JSON functions (backends/openai_json.c):
 * chunk/response parsing for both APIs, echoed log-probability scoring, and request bodies.
 *
 * Input: the bytes are parsed as a streamed chunk (completions and chat; by the full parse and
 * by oai_chunk_read, which scans first) and as a log-probability response; then they are used as
 * a prompt, and the body built from it must parse back (cJSON) to the same prompt when it holds
 * no NUL byte.
 * Needs: backends/openai_json.c harness/strbuf.c harness/alloc.c harness/error.c (or the whole
 * build-fuzz/libllmbench.a); links -lcjson -lm. */
#include "../../backends/openai_json.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_chunk(const struct oai_chunk *c)
{
	if (c->text && strlen(c->text) != c->text_len)
		abort();
	if (c->is_error && !c->error_msg)
		abort();
	if (c->usage_prompt < -1 || c->usage_completion < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk c;
	struct loglik_result r;
	struct strbuf sb = STRBUF_INIT;
	struct request req = { 0 };
	cJSON *j;

	if (!oai_chunk_parse(&c, OAI_API_COMPLETIONS, s, size, &err))
		check_chunk(&c);
	oai_chunk_release(&c);
	if (!oai_chunk_parse(&c, OAI_API_CHAT, s, size, &err))
		check_chunk(&c);
	oai_chunk_release(&c);
	/* the lean path (openai_scan.c; fuzz_openai_scan.c compares it with the full parse) */
	if (!oai_chunk_read(&c, OAI_API_COMPLETIONS, s, size, &err) && !c.scanned)
		check_chunk(&c);
	oai_chunk_release(&c);
	if (!oai_chunk_read(&c, OAI_API_CHAT, s, size, &err) && !c.scanned)
		check_chunk(&c);
	oai_chunk_release(&c);
	/* score as if the prompt were the first 8 bytes (or fewer), continuation from byte 3 */
	oai_loglik_parse(s, size, s, size < 8 ? size : 8, size < 3 ? size : 3, &r, &err);

	if (size > 4096 || memchr(data, 0, size))
		return 0;
	req.id = 1;
	req.prompt = s;
	req.prompt_len = size;
	req.gen.max_tokens = 16; /* as lb_gen_defaults, without linking backend.c */
	req.gen.temperature = req.gen.top_p = -1;
	req.gen.seed = -1;
	if (oai_build_body(&sb, size % 2 ? OAI_API_CHAT : OAI_API_COMPLETIONS, "m", true, &req, &err))
		abort();
	j = cJSON_ParseWithLength(sb.buf, sb.len);
	if (!j)
		abort();
	{
		const cJSON *p = cJSON_GetObjectItem(j, "prompt");

		if (size % 2)
			p = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0),
						"content");
		if (!cJSON_IsString(p) || strlen(p->valuestring) != size ||
		    memcmp(p->valuestring, s, size))
			abort();
	}
	cJSON_Delete(j);
	strbuf_release(&sb);
	return 0;
}
