/* Diagnostics to stderr, filtered by --log-level. Only for warnings and debug output:
 * fatal errors travel up as struct burrow_error and the CLI prints them. */
#ifndef BURROW_UTIL_LOG_H
#define BURROW_UTIL_LOG_H

#include "util/cleanup.h"

enum burrow_log_level { BURROW_LOG_ERROR, BURROW_LOG_WARN, BURROW_LOG_INFO, BURROW_LOG_DEBUG };

extern enum burrow_log_level burrow_log_level;

/* Returns 0 and sets *out for "error", "warn"/"warning", "info", "debug"; -1 otherwise. */
int burrow_log_level_parse(const char *name, enum burrow_log_level *out);
void burrow_log(enum burrow_log_level level, const char *fmt, ...) BURROW_PRINTF(2, 3);

#define burrow_warn(...) burrow_log(BURROW_LOG_WARN, __VA_ARGS__)
#define burrow_info(...) burrow_log(BURROW_LOG_INFO, __VA_ARGS__)
#define burrow_debug(...) burrow_log(BURROW_LOG_DEBUG, __VA_ARGS__)

#endif
