/* cmd_compare.c: placeholder until its issue lands; says so instead of pretending. */
#include "cmd.h"

int cmd_compare(int argc, char **argv, struct lb_ctx *ctx)
{
	(void)argc;
	(void)argv;
	(void)ctx;
	fprintf(stderr, "llmbench: error: 'compare' is not implemented in this build yet\n");
	return 3;
}
