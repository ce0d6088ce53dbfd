#!/usr/bin/env bash
# check-src.sh [ROOT]: the house rules the compiler cannot see (curl's checksrc in spirit).
#  1. Layers: a folder includes only the folders below it (docs/DESIGN.md):
#       base <- metrics <- backends <- datasets;  reports on base and metrics;  harness on all.
#  2. <sqlite3.h> only in metrics/store*.c; SQL text only in the store (metrics/store*.c,
#     metrics/schema.sql) and the report queries (reports/query*.c).
#  3. No banned function (base/banned.h) in the project's own C sources.
# Prints one line per violation ("file:line: what") and exits 1 if there is any.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
bad=0
allowed() { # folder -> folders it may include
	case $1 in
	base) echo "" ;;
	metrics) echo "base" ;;
	backends) echo "base metrics" ;;
	datasets) echo "base metrics backends" ;;
	reports) echo "base metrics" ;;
	harness) echo "base metrics backends datasets reports" ;;
	esac
}
for dir in base metrics backends datasets reports harness; do
	[ -d "$dir" ] || continue
	ok=" $(allowed "$dir") "
	while IFS=: read -r file line text; do
		target=$(printf '%s' "$text" | sed -n 's|.*#include "\.\./\([a-z_]*\)/.*|\1|p')
		[ -n "$target" ] || continue
		case $ok in *" $target "*) ;; *)
			echo "$file:$line: layer: $dir/ may not include $target/ ($(printf '%s' "$text" | tr -d '\t'))"
			bad=1 ;;
		esac
	done < <(grep -Hn '#include "\.\./' "$dir"/*.c "$dir"/*.h 2>/dev/null)
done
while IFS=: read -r file line _; do
	case $file in metrics/store*.c) ;; *)
		echo "$file:$line: <sqlite3.h> outside metrics/store*.c"; bad=1 ;;
	esac
done < <(grep -Hn '#include <sqlite3.h>' base/*.[ch] metrics/*.[ch] backends/*.[ch] \
	datasets/*.[ch] reports/*.[ch] harness/*.[ch] 2>/dev/null)
sql='"[^"]*\b(SELECT [a-zA-Z_*]|INSERT (OR [A-Z]+ )?INTO|CREATE (TABLE|VIEW|INDEX|TRIGGER)|DELETE FROM|UPDATE [a-z_]+ SET|DROP (TABLE|VIEW))'
while IFS=: read -r file line _; do
	case $file in metrics/store*.c|reports/query*.c|reports/*_load.c) ;; *)
		echo "$file:$line: SQL text outside the store and the report queries"; bad=1 ;;
	esac
done < <(grep -HnE "$sql" base/*.[ch] metrics/*.[ch] backends/*.[ch] datasets/*.[ch] \
	reports/*.[ch] harness/*.[ch] 2>/dev/null)
banned='\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|atoi|atol|atoll|atof|strtok)[[:space:]]*\('
while IFS=: read -r file line _; do
	echo "$file:$line: banned function (base/banned.h)"; bad=1
done < <(grep -HnE "$banned" base/*.[ch] metrics/*.[ch] backends/*.[ch] datasets/*.[ch] \
	reports/*.[ch] harness/*.[ch] tests/unit/*.c tests/fuzz/*.c tests/bench/*.c 2>/dev/null |
	grep -v 'base/banned.h:' | grep -vE ':[[:space:]]*(/\*|//|\*( |$))')
exit $bad
