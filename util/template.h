/* The part of Go's text/template that `--format` users write: {{.Field}} (spaces allowed inside
 * the braces), \t and \n escapes; "table TEMPLATE" adds a header line of the field names, and
 * "json" prints each row as a JSON object. */
#ifndef BURROW_UTIL_TEMPLATE_H
#define BURROW_UTIL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

struct template_field {
        const char *name;   /* "ID" */
        const char *header; /* "CONTAINER ID" */
};

/* Every {{.X}} in FMT names one of FIELDS: checked before anything is printed. */
int template_check(const char *fmt, const struct template_field *fields, size_t n, struct burrow_error **err);
/* The header line for "table ..." formats (nothing for others). */
void template_header(FILE *out, const char *fmt, const struct template_field *fields, size_t n);
/* One row: VALUES[i] for FIELDS[i] (NULL prints as empty). */
void template_row(FILE *out, const char *fmt, const struct template_field *fields, const char *const *values, size_t n);

#endif
