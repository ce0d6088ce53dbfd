/* banned.h: functions llmbench code never calls (git's banned.h), with what to use instead:
 *   strcpy, strcat, strncpy, strncat, sprintf, vsprintf -> snprintf / strbuf (bounded)
 *   atoi, atol, atoll, atof                             -> strtol / strtod with checks
 *   strtok                                              -> strtok_r or a hand scan
 *   gets                                                -> fgets / getline
 * Include it last in a .c file (after the system headers): a use then fails to compile.
 * scripts/check-src.sh (part of `make test`) finds a use in any file, included or not. */
#ifndef LB_BANNED_H
#define LB_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef atoll
#define atoll(x) BANNED(atoll)
#undef atof
#define atof(x) BANNED(atof)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gets
#define gets(x) BANNED(gets)

#endif
