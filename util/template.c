#include "config.h"

#include "util/template.h"

#include <jansson.h>
#include <string.h>

/* FMT without a leading "table" and its separating whitespace. */
static const char *body(const char *fmt, bool *table)
{
        *table = strncmp(fmt, "table", 5) == 0 && (fmt[5] == '\0' || fmt[5] == ' ' || fmt[5] == '\t');
        if (!*table)
                return fmt;
        fmt += 5;
        while (*fmt == ' ' || *fmt == '\t')
                fmt++;
        return fmt;
}

/* At "{{": the field's index and the length of the whole placeholder, or -1. */
static long placeholder(const char *p, const struct template_field *fields, size_t n, size_t *len)
{
        if (strncmp(p, "{{", 2) != 0)
                return -1;
        const char *q = p + 2;
        while (*q == ' ')
                q++;
        if (*q != '.')
                return -1;
        q++;
        size_t name_len = strspn(q, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        const char *end = q + name_len;
        while (*end == ' ')
                end++;
        if (strncmp(end, "}}", 2) != 0)
                return -1;
        *len = (size_t)(end + 2 - p);
        for (size_t i = 0; i < n; i++)
                if (strlen(fields[i].name) == name_len && strncmp(fields[i].name, q, name_len) == 0)
                        return (long)i;
        return -2;
}

int template_check(const char *fmt, const struct template_field *fields, size_t n, struct burrow_error **err)
{
        bool table;
        if (strcmp(fmt, "json") == 0)
                return 0;
        for (const char *p = body(fmt, &table); *p; p++) {
                size_t len;
                if (strncmp(p, "{{", 2) != 0)
                        continue;
                long i = placeholder(p, fields, n, &len);
                if (i < 0) {
                        char known[512] = "";
                        for (size_t k = 0; k < n; k++) {
                                size_t used = strlen(known);
                                snprintf(known + used, sizeof(known) - used, "%s{{.%s}}", k ? " " : "", fields[k].name);
                        }
                        const char *close = strstr(p, "}}");
                        return burrow_error_set(err, 0, "--format: `%.*s` is not a field I know; use %s", close ? (int)(close + 2 - p) : (int)strlen(p),
                                                p, known);
                }
                p += len - 1;
        }
        return 0;
}

static void expand(FILE *out, const char *p, const struct template_field *fields, const char *const *values, size_t n)
{
        while (*p) {
                size_t len;
                long i = placeholder(p, fields, n, &len);
                if (i >= 0) {
                        fputs(values ? (values[i] ? values[i] : "") : fields[i].header, out);
                        p += len;
                } else if (p[0] == '\\' && p[1] == 't') {
                        fputc('\t', out);
                        p += 2;
                } else if (p[0] == '\\' && p[1] == 'n') {
                        fputc('\n', out);
                        p += 2;
                } else {
                        fputc(*p++, out);
                }
        }
        fputc('\n', out);
}

void template_header(FILE *out, const char *fmt, const struct template_field *fields, size_t n)
{
        bool table;
        const char *b = body(fmt, &table);
        if (table)
                expand(out, b, fields, NULL, n);
}

void template_row(FILE *out, const char *fmt, const struct template_field *fields, const char *const *values, size_t n)
{
        if (strcmp(fmt, "json") == 0) {
                json_t *o = json_object();
                for (size_t i = 0; i < n; i++)
                        json_object_set_new(o, fields[i].name, json_string(values[i] ? values[i] : ""));
                json_dumpf(o, out, JSON_COMPACT);
                fputc('\n', out);
                json_decref(o);
                return;
        }
        bool table;
        expand(out, body(fmt, &table), fields, values, n);
}
