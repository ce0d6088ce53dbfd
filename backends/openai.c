/* placeholder: replaced by the OpenAI backend */
#include "backend.h"
static int ph_open(struct backend *b, const struct backend_config *cfg, struct lb_error *err)
{
	(void)b; (void)cfg;
	return lb_error_set(err, LB_ERR_UNSUPPORTED, "openai backend not built yet");
}
const struct backend_ops openai_backend_ops = { .type = "openai", .open = ph_open };
