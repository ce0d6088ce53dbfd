/* cmd_report.c: placeholder until its issue lands; says so instead of pretending. */
#include "cmd.h"

int cmd_report(int argc, char **argv, struct lb_ctx *ctx)
{
	(void)argc;
	(void)argv;
	(void)ctx;
	fprintf(stderr, "llmbench: error: 'report' is not implemented in this build yet\n");
	return 3;
}
