#include "config.h"

#include "fs/reference.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fs/digest.h"

/* Path components: lowercase alphanumerics with single separators (., _, __, -), per the
 * distribution spec's grammar. */
static bool valid_component(const char *s, size_t len)
{
        if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (isupper(c))
                        return false;
                if (!isalnum(c) && c != '.' && c != '_' && c != '-')
                        return false;
        }
        return true;
}

static bool valid_tag(const char *s)
{
        size_t len = strlen(s);
        if (len == 0 || len > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

/* Copy PREFIX+SRC into DST (of SIZE) or fail: names longer than the fields are refused. */
static int set_field(char *dst, size_t size, const char *prefix, const char *src)
{
        size_t pl = strlen(prefix), sl = strlen(src);
        if (pl + sl + 1 > size)
                return -1;
        memcpy(dst, prefix, pl);
        memcpy(dst + pl, src, sl + 1);
        return 0;
}

int image_ref_parse(const char *ref, const char *default_domain, struct image_ref *out, struct burrow_error **err)
{
        memset(out, 0, sizeof(*out));
        char buf[1024];
        if (ref == NULL || *ref == '\0')
                return burrow_error_set(err, 0, "empty image reference");
        if (snprintf(buf, sizeof(buf), "%s", ref) >= (int)sizeof(buf))
                return burrow_error_set(err, 0, "image reference `%.64s...` is too long", ref);
        char *at = strchr(buf, '@');
        if (at) {
                *at = '\0';
                if (!digest_valid(at + 1))
                        return burrow_error_set(err, 0, "image reference `%s`: `%s` is not a sha256 digest", ref, at + 1);
                snprintf(out->digest, sizeof(out->digest), "%s", at + 1);
        }
        /* The tag is after the last ':' that follows the last '/' (a ':' before it is a port). */
        char *slash = strrchr(buf, '/');
        char *colon = strrchr(slash ? slash : buf, ':');
        if (colon) {
                *colon = '\0';
                if (!valid_tag(colon + 1))
                        return burrow_error_set(err, 0, "image reference `%s`: bad tag `%s` (letters, digits, _ . -; at most 128)", ref,
                                                colon + 1);
                set_field(out->tag, sizeof(out->tag), "", colon + 1); /* valid_tag bounds it */
        }
        char *rest = buf;
        char *first_slash = strchr(buf, '/');
        if (first_slash) {
                size_t dlen = (size_t)(first_slash - buf);
                /* docker's rule: a first component with '.' or ':', or "localhost", is a domain */
                if (memchr(buf, '.', dlen) || memchr(buf, ':', dlen) || (dlen == 9 && strncmp(buf, "localhost", 9) == 0)) {
                        if (dlen >= sizeof(out->domain))
                                return burrow_error_set(err, 0, "image reference `%s`: domain too long", ref);
                        memcpy(out->domain, buf, dlen);
                        rest = first_slash + 1;
                }
        }
        if (out->domain[0] == '\0' && default_domain)
                set_field(out->domain, sizeof(out->domain), "", default_domain);
        for (const char *p = rest;;) {
                const char *end = strchrnul(p, '/');
                if (!valid_component(p, (size_t)(end - p)))
                        return burrow_error_set(err, 0, "image reference `%s`: `%.*s` is not a valid name component (lowercase letters, "
                                                        "digits and . _ - between them)",
                                                ref, (int)(end - p), p);
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        if (set_field(out->path, sizeof(out->path),
                      strcmp(out->domain, "docker.io") == 0 && strchr(rest, '/') == NULL ? "library/" : "", rest) < 0)
                return burrow_error_set(err, 0, "image reference `%.64s...` is too long", ref);
        if (out->tag[0] == '\0' && out->digest[0] == '\0')
                snprintf(out->tag, sizeof(out->tag), "latest");
        return 0;
}

const char *image_ref_format(const struct image_ref *ref, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s%s%s%s", ref->domain, ref->domain[0] ? "/" : "", ref->path,
                 ref->digest[0] ? "@" : ":", ref->digest[0] ? ref->digest : ref->tag);
        return buf;
}
