/* cmd_scale.h: helpers shared by the scale-out verbs (cmd_slurm.c, cmd_k8s.c). */
#ifndef LB_CMD_SCALE_H
#define LB_CMD_SCALE_H

#include "../base/strbuf.h"

/* Append s to sb in single quotes for the shell. This function can't fail (strbuf notes OOM). */
void cmd_shell_quote(struct strbuf *sb, const char *s);
/* An absolute form of path (from the cwd when relative; need not exist); malloc'd, or NULL. */
char *cmd_abs_path(const char *path);

#endif
