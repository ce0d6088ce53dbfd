/* backend.c: the registry of backend types and helpers shared by every backend. */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct backend_ops openai_backend_ops;
extern const struct backend_ops llamacpp_backend_ops;

static const struct backend_ops *const registry[] = {
	&llamacpp_backend_ops,
	&openai_backend_ops,
};

const struct backend_ops *backend_find(const char *type)
{
	size_t i;

	if (!type)
		return NULL;
	for (i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (!strcmp(registry[i]->type, type))
			return registry[i];
	return NULL;
}

const char *backend_types(void)
{
	return "llamacpp, openai";
}

void backend_config_defaults(struct backend_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->api = "completions";
	cfg->stream = true;
	cfg->tls_verify = true;
	cfg->rx_timestamps = "kernel";
	/* LLMBENCH_HTTP_CLIENT: another default, for running every suite with one client */
	cfg->http_client = getenv("LLMBENCH_HTTP_CLIENT") ? getenv("LLMBENCH_HTTP_CLIENT") : "auto";
	cfg->connect_timeout_ms = 10000;
	cfg->timeout_ms = 600000;
	cfg->max_body_bytes = 16u << 20;
}

void lb_gen_defaults(struct lb_gen *gen)
{
	memset(gen, 0, sizeof(*gen));
	gen->max_tokens = 128;
	gen->temperature = -1;
	gen->top_p = -1;
	gen->top_k = 0;
	gen->seed = -1;
}

int backend_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err)
{
	const struct backend_ops *ops = backend_find(cfg->type);
	int rc;

	b->ops = NULL;
	b->priv = NULL;
	b->name = cfg->name;
	if (!ops)
		return lb_error_set(err, LB_ERR_USAGE,
				    "backend '%s': unknown type '%s' (known: %s)",
				    cfg->name ? cfg->name : "?", cfg->type ? cfg->type : "",
				    backend_types());
	rc = ops->open(b, cfg, err);
	if (rc) {
		if (ops->close)
			ops->close(b);
		b->priv = NULL;
		return rc;
	}
	b->ops = ops;
	return 0;
}

void backend_close(struct backend *b)
{
	if (!b || !b->ops)
		return;
	if (b->ops->close)
		b->ops->close(b);
	b->ops = NULL;
	b->priv = NULL;
}
