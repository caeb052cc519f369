#include "config.h"

#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum burrow_log_level burrow_log_level = BURROW_LOG_WARN;

int burrow_log_level_parse(const char *name, enum burrow_log_level *out)
{
        static const struct {
                const char *name;
                enum burrow_log_level level;
        } names[] = {
                { "error", BURROW_LOG_ERROR }, { "warn", BURROW_LOG_WARN }, { "warning", BURROW_LOG_WARN },
                { "info", BURROW_LOG_INFO },   { "debug", BURROW_LOG_DEBUG },
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(name, names[i].name) == 0) {
                        *out = names[i].level;
                        return 0;
                }
        return -1;
}

void burrow_log(enum burrow_log_level level, const char *fmt, ...)
{
        static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
        if (level > burrow_log_level)
                return;
        char buf[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        /* One write, so lines from the parent and the container's setup do not interleave. */
        fprintf(stderr, "burrow: %s%s\n", prefix[level], buf);
}
