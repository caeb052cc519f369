#include "config.h"

#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

static int error_vset(struct burrow_error **err, int exit_code, int errnum, const char *fmt, va_list ap)
{
        if (err == NULL || *err != NULL)
                return -1; /* keep the first, deepest cause */
        struct burrow_error *e = calloc(1, sizeof(*e));
        if (e == NULL)
                return -1;
        cleanup_free char *text = vformat(fmt, ap);
        e->errnum = errnum;
        e->exit_code = exit_code;
        if (errnum != 0) {
                if (asprintf(&e->msg, "%s: %s", text ? text : "(out of memory)", strerror(errnum)) < 0)
                        e->msg = NULL;
        } else {
                e->msg = steal_pointer(&text);
        }
        *err = e;
        return -1;
}

int burrow_error_set(struct burrow_error **err, int errnum, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        error_vset(err, BURROW_EXIT_FAILURE, errnum, fmt, ap);
        va_end(ap);
        return -1;
}

int burrow_error_set_code(struct burrow_error **err, int exit_code, int errnum, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        error_vset(err, exit_code, errnum, fmt, ap);
        va_end(ap);
        return -1;
}

static int error_rewrite(struct burrow_error **err, int prefix, const char *fmt, va_list ap)
{
        if (err == NULL || *err == NULL)
                return -1;
        cleanup_free char *text = vformat(fmt, ap);
        char *joined = NULL;
        int r = prefix ? asprintf(&joined, "%s: %s", text ? text : "", (*err)->msg ? (*err)->msg : "")
                       : asprintf(&joined, "%s (%s)", (*err)->msg ? (*err)->msg : "", text ? text : "");
        if (r >= 0) {
                free((*err)->msg);
                (*err)->msg = joined;
        }
        return -1;
}

int burrow_error_wrap(struct burrow_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        error_rewrite(err, 1, fmt, ap);
        va_end(ap);
        return -1;
}

int burrow_error_hint(struct burrow_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        error_rewrite(err, 0, fmt, ap);
        va_end(ap);
        return -1;
}

void burrow_error_free(struct burrow_error *err)
{
        if (err == NULL)
                return;
        free(err->msg);
        free(err);
}
