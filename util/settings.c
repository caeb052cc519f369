#include "config.h"

#include "util/settings.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wordexp.h>

#include "util/cleanup.h"

static int expand(const char *file, const char *key, const char *value, char **out, struct burrow_error **err)
{
        wordexp_t we;
        int r = wordexp(value, &we, WRDE_NOCMD | WRDE_UNDEF);
        if (r != 0 || we.we_wordc != 1) {
                if (r == 0)
                        wordfree(&we);
                return burrow_error_set(err, 0, "`%s`: \"%s\" is `%s`, which does not expand to one path (%s)", file, key, value,
                                        r == WRDE_BADVAL ? "an unset variable" : r == WRDE_CMDSUB ? "command substitution is not allowed"
                                        : r == 0          ? "it has spaces or no words: quote nothing, escape nothing"
                                                          : "bad syntax");
        }
        char *copy = strdup(we.we_wordv[0]);
        wordfree(&we);
        if (copy == NULL)
                return burrow_error_set(err, ENOMEM, "%s", file);
        if (copy[0] != '/') {
                free(copy);
                return burrow_error_set(err, 0, "`%s`: \"%s\" must be an absolute path, not `%s`", file, key, value);
        }
        free(*out);
        *out = copy;
        return 0;
}

static int load_one(const char *file, struct burrow_settings *out, struct burrow_error **err)
{
        if (file == NULL || access(file, F_OK) < 0)
                return 0;
        json_error_t je;
        json_t *cfg = json_load_file(file, 0, &je);
        if (cfg == NULL)
                return burrow_error_set(err, 0, "`%s` is not valid JSON (line %d: %s); fix or remove it", file, je.line, je.text);
        int r = 0;
        if (!json_is_object(cfg))
                r = burrow_error_set(err, 0, "`%s` must hold a JSON object such as {\"root\": \"/scratch/$USER/burrow\"}", file);
        const char *key;
        json_t *v;
        json_object_foreach(cfg, key, v)
        {
                if (r < 0)
                        break;
                char **slot = strcmp(key, "root") == 0 ? &out->root : strcmp(key, "runroot") == 0 ? &out->runroot : NULL;
                if (slot == NULL) {
                        r = burrow_error_set(err, 0, "`%s`: unknown setting \"%s\" (burrow knows \"root\" and \"runroot\")", file, key);
                } else if (!json_is_string(v)) {
                        r = burrow_error_set(err, 0, "`%s`: \"%s\" must be a string (a path)", file, key);
                } else if ((r = expand(file, key, json_string_value(v), slot, err)) == 0 && slot == &out->root) {
                        free(out->root_from);
                        if ((out->root_from = strdup(file)) == NULL)
                                r = burrow_error_set(err, ENOMEM, "%s", file);
                }
        }
        json_decref(cfg);
        return r;
}

int burrow_settings_load(const char *system_file, const char *user_file, struct burrow_settings *out,
                         struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        if (load_one(system_file, out, err) < 0 || load_one(user_file, out, err) < 0) {
                burrow_settings_free(out);
                return -1;
        }
        return 0;
}

void burrow_settings_free(struct burrow_settings *s)
{
        free(s->root);
        free(s->runroot);
        free(s->root_from);
        memset(s, 0, sizeof(*s));
}
