/* error.h: the error every fallible function below the command layer fills.
 *
 * Functions return 0 or a negative enum lb_errc and describe the failure in a
 * caller-owned struct lb_error; only harness/main.c and cmd_*.c print it. */
#ifndef LB_ERROR_H
#define LB_ERROR_H

enum lb_errc {
	LB_OK = 0,
	LB_ERR_NOMEM = -1,
	LB_ERR_USAGE = -2, /* bad flag, bad workload field: the user must fix input */
	LB_ERR_IO = -3,
	LB_ERR_PARSE = -4,       /* malformed JSON, SSE, dataset line */
	LB_ERR_BACKEND = -5,     /* backend refused or failed to start */
	LB_ERR_UNSUPPORTED = -6, /* capability missing: report "unsupported", never a number */
	LB_ERR_STORE = -7,       /* SQLite failure */
	LB_ERR_LIMIT = -8,       /* a bounded buffer fed from outside input overflowed */
	LB_ERR_INTERRUPTED = -9, /* a signal stopped the work */
};

#define LB_ERROR_MSG_MAX 1024

struct lb_error {
	int code;                   /* enum lb_errc, LB_OK when nothing failed */
	char msg[LB_ERROR_MSG_MAX]; /* lower case, no final full stop, git style */
};

#define LB_ERROR_INIT     \
	{                 \
		0,        \
		{         \
			0 \
		}         \
	}

/* Fill err (may be NULL) and return code, so that `return lb_error_set(...)` reads well. */
int lb_error_set(struct lb_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "context: old message". Returns err->code. */
int lb_error_prefix(struct lb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Short name of a code ("usage", "io", ...). This function can't fail. */
const char *lb_strerror(int code);

/* Exit code for a failure code: usage/parse/unsupported input -> 2, the rest -> 3. */
int lb_exit_code(int code);

/* Invariant violated: print file:line and abort. Never for input. */
#define LB_BUG(...) lb_bug(__FILE__, __LINE__, __VA_ARGS__)
void lb_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
