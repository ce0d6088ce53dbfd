/* store_dump.c: CREATE TABLE / INSERT text for rows written as an SQL script (store_dump.h). */
#include "store_dump.h"

void store_dump_create(FILE *f, const char *table, const char *const *cols,
		       const char *const *types, size_t n)
{
	size_t k;

	fprintf(f, "CREATE TABLE IF NOT EXISTS %s (\n", table);
	for (k = 0; k < n; k++)
		fprintf(f, "  %s %s%s\n", cols[k], types[k], k + 1 < n ? "," : "");
	fputs(");\n\n", f);
}

void store_dump_insert(FILE *f, const char *table, const char *const *cols, const char *const *vals,
		       const bool *is_text, size_t n)
{
	const char *s;
	size_t k;

	fprintf(f, "INSERT INTO %s (", table);
	for (k = 0; k < n; k++)
		fprintf(f, "%s%s", cols[k], k + 1 < n ? ", " : "");
	fputs(") VALUES (", f);
	for (k = 0; k < n; k++) {
		if (!vals[k] || !vals[k][0]) {
			fputs("NULL", f);
		} else if (is_text[k]) {
			putc('\'', f);
			for (s = vals[k]; *s; s++) {
				if (*s == '\'')
					putc('\'', f);
				putc(*s, f);
			}
			putc('\'', f);
		} else {
			fputs(vals[k], f);
		}
		fputs(k + 1 < n ? ", " : ");\n", f);
	}
}
