/* Pulls over the OCI distribution API (libcurl), streaming layers into unpacking workers. */
#include "config.h"

#include "fs/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fs/layer.h"
#include "fs/reference.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/dl.h" /* last: calls to libarchive, libcurl, libcrypto go through it */

#define ACCEPT_MANIFESTS                                                                                                   \
        "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "     \
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
#define MAX_ATTEMPTS 4

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

struct buf {
        char *data;
        size_t len;
};

static size_t buf_write(char *p, size_t size, size_t n, void *ud)
{
        struct buf *b = ud;
        size_t add = size * n;
        if (b->len + add > (64u << 20))
                return 0; /* no manifest or config is this large */
        char *bigger = realloc(b->data, b->len + add + 1);
        if (bigger == NULL)
                return 0;
        memcpy(bigger + b->len, p, add);
        b->len += add;
        bigger[b->len] = '\0';
        b->data = bigger;
        return add;
}

struct resp {
        char content_type[256];
        char digest[96];
        char www_auth[1024];
        char location[2048];
};

static size_t header_cb(char *line, size_t size, size_t n, void *ud)
{
        struct resp *r = ud;
        size_t len = size * n;
        static const struct {
                const char *name;
                size_t off, cap;
        } wanted[] = {
                { "content-type:", offsetof(struct resp, content_type), sizeof(((struct resp *)0)->content_type) },
                { "docker-content-digest:", offsetof(struct resp, digest), sizeof(((struct resp *)0)->digest) },
                { "www-authenticate:", offsetof(struct resp, www_auth), sizeof(((struct resp *)0)->www_auth) },
                { "location:", offsetof(struct resp, location), sizeof(((struct resp *)0)->location) },
        };
        for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
                size_t nl = strlen(wanted[i].name);
                if (len > nl && strncasecmp(line, wanted[i].name, nl) == 0) {
                        const char *v = line + nl;
                        size_t vl = len - nl;
                        while (vl && (*v == ' ' || *v == '\t'))
                                v++, vl--;
                        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
                                vl--;
                        char *dst = (char *)r + wanted[i].off;
                        snprintf(dst, wanted[i].cap, "%.*s", (int)vl, v);
                }
        }
        return len;
}

struct reg {
        char domain[256]; /* as in the reference ("docker.io") */
        char host[256];   /* where to connect ("registry-1.docker.io") */
        const char *path;
        bool insecure;
        bool http;
        char ca_file[PATH_MAX];
        char auth[16384];  /* "Authorization: ..." once known (tokens with an x5c chain run to kilobytes) */
        char basic[1024];  /* base64 user:pass from an auth file, or "" */
        bool auth_tried;
        char challenge[1024]; /* the last one answered: a new scope (push) asks again */
        int attempts;         /* per request; 1 while a mirror is only being tried */
};

static bool loopback(const char *host)
{
        return strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 || strncmp(host, "[::1]", 5) == 0;
}

/* Credentials as docker and podman keep them: {"auths": {"HOST": {"auth": base64(user:pass)}}}. */
static void find_credentials(struct reg *r)
{
        const char *home = getenv("HOME");
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        char files[4][PATH_MAX] = { "", "", "", "" };
        if (getenv("REGISTRY_AUTH_FILE"))
                snprintf(files[0], sizeof(files[0]), "%s", getenv("REGISTRY_AUTH_FILE"));
        if (xdg)
                snprintf(files[1], sizeof(files[1]), "%s/containers/auth.json", xdg);
        if (home) {
                snprintf(files[2], sizeof(files[2]), "%s/.config/containers/auth.json", home);
                snprintf(files[3], sizeof(files[3]), "%s/.docker/config.json", home);
        }
        for (int i = 0; i < 4; i++) {
                if (files[i][0] == '\0')
                        continue;
                json_error_t je;
                cleanup_json json_t *cfg = json_load_file(files[i], 0, &je);
                json_t *auths = json_object_get(cfg, "auths");
                const char *keys[] = { r->domain, strcmp(r->domain, "docker.io") == 0 ? "https://index.docker.io/v1/" : NULL };
                for (int k = 0; k < 2 && keys[k]; k++) {
                        const char *a = json_string_value(json_object_get(json_object_get(auths, keys[k]), "auth"));
                        if (a && *a) {
                                snprintf(r->basic, sizeof(r->basic), "%s", a);
                                return;
                        }
                }
        }
}

static void load_registry_config(struct reg *r, const struct pull_options *opts)
{
        if (opts->tls_verify == 0 || loopback(r->host))
                r->insecure = true;
        if (opts->config_dir) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/registries.json", opts->config_dir);
                json_error_t je;
                cleanup_json json_t *cfg = json_load_file(p, 0, &je);
                size_t i;
                json_t *v;
                json_array_foreach(json_object_get(cfg, "insecure"), i, v) if (json_is_string(v) &&
                                                                               strcmp(json_string_value(v), r->domain) == 0)
                        r->insecure = true;
        }
        if (opts->tls_verify == 1)
                r->insecure = false;
        char certs[PATH_MAX];
        if (opts->cert_dir)
                snprintf(certs, sizeof(certs), "%s/%s/ca.crt", opts->cert_dir, r->domain);
        else
                snprintf(certs, sizeof(certs), "%s/certs.d/%s/ca.crt", opts->config_dir ? opts->config_dir : "/nonexistent",
                         r->domain);
        if (access(certs, R_OK) == 0)
                snprintf(r->ca_file, sizeof(r->ca_file), "%s", certs);
}

static CURL *reg_easy(struct reg *r, const char *url, struct curl_slist **hdrs, const char *accept)
{
        CURL *c = curl_easy_init();
        if (c == NULL)
                return NULL;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L); /* blobs redirect to storage */
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "burrow/" BURROW_VERSION);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, r->http ? "http,https" : "https");
        if (r->insecure) {
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (r->ca_file[0])
                curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
        *hdrs = NULL;
        if (accept)
                *hdrs = curl_slist_append(*hdrs, accept);
        if (r->auth[0])
                *hdrs = curl_slist_append(*hdrs, r->auth); /* curl drops it on redirects to other hosts */
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
        return c;
}

static void reg_url(struct reg *r, const char *tail, char *buf, size_t size)
{
        if (r->path[0] == '\0') /* the API root, for login */
                snprintf(buf, size, "%s://%s/v2/", r->http ? "http" : "https", r->host);
        else
                snprintf(buf, size, "%s://%s/v2/%s/%s", r->http ? "http" : "https", r->host, r->path, tail);
}

/* key="value" pairs of a WWW-Authenticate challenge. */
static void challenge_param(const char *ch, const char *key, char *out, size_t size)
{
        out[0] = '\0';
        size_t kl = strlen(key);
        for (const char *p = ch; (p = strstr(p, key)) != NULL; p += kl) {
                if ((p > ch && p[-1] != ' ' && p[-1] != ',') || p[kl] != '=')
                        continue;
                const char *v = p + kl + 1;
                if (*v == '"') {
                        const char *end = strchr(v + 1, '"');
                        if (end)
                                snprintf(out, size, "%.*s", (int)(end - v - 1), v + 1);
                } else {
                        snprintf(out, size, "%.*s", (int)strcspn(v, ", "), v);
                }
                return;
        }
}

static int reg_get(struct reg *r, const char *tail, const char *accept, struct buf *body, struct resp *resp,
                   struct burrow_error **err);

static int authenticate(struct reg *r, const char *challenge, struct burrow_error **err)
{
        if (strncasecmp(challenge, "Basic", 5) == 0) {
                if (r->basic[0] == '\0')
                        return burrow_error_set(err, 0, "registry %s wants a user name and password: run `burrow login %s` or set "
                                                        "REGISTRY_AUTH_FILE",
                                                r->domain, r->domain);
                snprintf(r->auth, sizeof(r->auth), "Authorization: Basic %s", r->basic);
                return 0;
        }
        if (strncasecmp(challenge, "Bearer", 6) != 0)
                return burrow_error_set(err, 0, "registry %s asks for `%.40s` authentication, which burrow does not speak", r->domain,
                                        challenge);
        char realm[1024], service[256], scope[512];
        challenge_param(challenge, "realm", realm, sizeof(realm));
        challenge_param(challenge, "service", service, sizeof(service));
        challenge_param(challenge, "scope", scope, sizeof(scope));
        if (scope[0] == '\0')
                snprintf(scope, sizeof(scope), "repository:%s:pull", r->path);
        if (strncmp(realm, "https://", 8) != 0 && !(r->insecure && strncmp(realm, "http://", 7) == 0))
                return burrow_error_set(err, 0, "registry %s sent a token realm `%s` that is not https", r->domain, realm);
        CURL *c = curl_easy_init();
        if (c == NULL)
                return burrow_error_set(err, ENOMEM, "curl");
        char *es = curl_easy_escape(c, service, 0), *esc = curl_easy_escape(c, scope, 0);
        char url[2048];
        snprintf(url, sizeof(url), "%s%sservice=%s&scope=%s", realm, strchr(realm, '?') ? "&" : "?", es ? es : "", esc ? esc : "");
        curl_free(es);
        curl_free(esc);
        curl_easy_cleanup(c);
        struct curl_slist *hdrs = NULL;
        char saved[sizeof(r->auth)];
        snprintf(saved, sizeof(saved), "%s", r->auth);
        if (r->basic[0])
                snprintf(r->auth, sizeof(r->auth), "Authorization: Basic %s", r->basic);
        else
                r->auth[0] = '\0';
        c = reg_easy(r, url, &hdrs, NULL);
        struct buf body = { 0 };
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        curl_slist_free_all(hdrs);
        snprintf(r->auth, sizeof(r->auth), "%s", saved);
        cleanup_free char *data = body.data;
        if (rc != CURLE_OK || status != 200)
                return burrow_error_set(err, 0, "getting a token for %s from `%s` failed (%s)", r->domain, realm,
                                        rc != CURLE_OK ? curl_easy_strerror(rc) : status == 401 ? "401: wrong credentials?" : "HTTP error");
        json_error_t je;
        cleanup_json json_t *j = json_loadb(data ? data : "", body.len, 0, &je);
        const char *token = json_string_value(json_object_get(j, "token"));
        if (token == NULL)
                token = json_string_value(json_object_get(j, "access_token"));
        if (token == NULL)
                return burrow_error_set(err, 0, "the token service `%s` of %s answered without a token", realm, r->domain);
        if ((size_t)snprintf(r->auth, sizeof(r->auth), "Authorization: Bearer %s", token) >= sizeof(r->auth))
                return burrow_error_set(err, 0, "the token of %s is too long", r->domain);
        return 0;
}

/* A 401 with a challenge we have not answered yet (a new scope, for push, asks again): get the
 * credentials it wants. 1: answered, retry; 0: nothing to answer; -1: error. */
static int answer_challenge(struct reg *r, const struct resp *resp, struct burrow_error **err)
{
        if (resp->www_auth[0] == '\0' || (r->auth_tried && strcmp(r->challenge, resp->www_auth) == 0))
                return 0;
        r->auth_tried = true;
        snprintf(r->challenge, sizeof(r->challenge), "%s", resp->www_auth);
        return authenticate(r, resp->www_auth, err) < 0 ? -1 : 1;
}

static int reg_get(struct reg *r, const char *tail, const char *accept, struct buf *body, struct resp *resp,
                   struct burrow_error **err)
{
        int attempts = r->attempts > 0 ? r->attempts : MAX_ATTEMPTS;
        for (int attempt = 0; attempt < attempts; attempt++) {
                char url[2048];
                reg_url(r, tail, url, sizeof(url));
                struct curl_slist *hdrs;
                CURL *c = reg_easy(r, url, &hdrs, accept);
                if (c == NULL)
                        return burrow_error_set(err, ENOMEM, "curl");
                free(body->data);
                *body = (struct buf){ 0 };
                memset(resp, 0, sizeof(*resp));
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
                curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
                curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
                CURLcode rc = curl_easy_perform(c);
                long status = 0;
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_cleanup(c);
                curl_slist_free_all(hdrs);
                if (rc != CURLE_OK) {
                        if (r->insecure && !r->http && (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR ||
                                                        rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_CONNECT)) {
                                r->http = true; /* an insecure registry may speak plain HTTP */
                                attempt--;
                                continue;
                        }
                        if (attempt + 1 < attempts && rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_COULDNT_RESOLVE_HOST) {
                                usleep(200000u << attempt);
                                continue;
                        }
                        if (rc == CURLE_PEER_FAILED_VERIFICATION)
                                return burrow_error_set(err, 0, "%s: the TLS certificate is not trusted (%s); put the registry's CA in "
                                                                "certs.d/%s/ca.crt under burrow's config directory or --cert-dir, or "
                                                                "use --tls-verify=false",
                                                        url, curl_easy_strerror(rc), r->domain);
                        return burrow_error_set(err, 0, "%s: %s", url, curl_easy_strerror(rc));
                }
                if (status == 400 && !r->http && body->data && strstr(body->data, "HTTP request to an HTTPS server"))
                        continue;
                int answered = status == 401 ? answer_challenge(r, resp, err) : 0;
                if (answered < 0)
                        return -1;
                if (answered) {
                        attempt--;
                        continue;
                }
                if (status >= 500 && attempt + 1 < attempts) {
                        usleep(200000u << attempt);
                        continue;
                }
                return (int)status;
        }
        return burrow_error_set(err, 0, "%s: no answer after %d attempts", r->domain, attempts);
}

/* Start talking to DOMAIN about repository PATH ("" for the API root). */
static int reg_open(struct reg *r, const char *domain, const char *path, const struct pull_options *opts, struct burrow_error **err)
{
        static bool curl_ready;
        if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
                return burrow_error_set(err, 0, "libcurl failed to start");
        curl_ready = true;
        memset(r, 0, sizeof(*r));
        snprintf(r->domain, sizeof(r->domain), "%s", domain);
        snprintf(r->host, sizeof(r->host), "%s", strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain);
        r->path = path;
        load_registry_config(r, opts);
        find_credentials(r);
        return 0;
}

static const char *media_type(json_t *m, const struct resp *resp)
{
        const char *t = json_string_value(json_object_get(m, "mediaType"));
        return t ? t : resp->content_type;
}

static bool is_index(const char *t)
{
        return t && (strstr(t, "image.index") || strstr(t, "manifest.list"));
}

static void platform_want(const struct pull_options *opts, char *os, char *arch, char *variant, size_t size)
{
        snprintf(os, size, "linux");
        struct utsname u;
        const char *a = "amd64";
        if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
                a = "arm64";
        snprintf(arch, size, "%s", a);
        variant[0] = '\0';
        if (opts->platform) {
                char copy[128];
                snprintf(copy, sizeof(copy), "%s", opts->platform);
                char *save = NULL, *p1 = strtok_r(copy, "/", &save), *p2 = strtok_r(NULL, "/", &save), *p3 = strtok_r(NULL, "/", &save);
                if (p1)
                        snprintf(os, size, "%s", p1);
                if (p2)
                        snprintf(arch, size, "%s", p2);
                if (p3)
                        snprintf(variant, size, "%s", p3);
        }
}

/* The manifest at REF (a tag or digest), checked against want_digest when given. */
static int fetch_manifest(struct reg *r, const char *ref, const char *want_digest, struct buf *body, struct resp *resp,
                          char digest[DIGEST_STR_LEN + 1], struct burrow_error **err)
{
        char tail[512];
        snprintf(tail, sizeof(tail), "manifests/%s", ref);
        int status = reg_get(r, tail, ACCEPT_MANIFESTS, body, resp, err);
        if (status < 0)
                return -1;
        if (status == 404)
                return burrow_error_set(err, 0, "%s/%s:%s: no such image in the registry (manifest unknown)", r->domain, r->path, ref);
        if (status == 401 || status == 403)
                return burrow_error_set(err, 0, "%s/%s: access denied (HTTP %d); log in with `burrow login %s`", r->domain, r->path,
                                        status, r->domain);
        if (status != 200)
                return burrow_error_set(err, 0, "%s/%s manifest %s: HTTP %d", r->domain, r->path, ref, status);
        digest_buffer(body->data ? body->data : "", body->len, digest);
        if (want_digest && strcmp(want_digest, digest) != 0)
                return burrow_error_set(err, 0, "%s/%s: the manifest %s arrived with digest %s: refusing it", r->domain, r->path,
                                        want_digest, digest);
        if (resp->digest[0] && strncmp(resp->digest, "sha256:", 7) == 0 && strcmp(resp->digest, digest) != 0)
                return burrow_error_set(err, 0, "%s/%s: the registry says the manifest is %s but it hashes to %s", r->domain, r->path,
                                        resp->digest, digest);
        return 0;
}

struct transfer {
        CURL *easy;
        struct curl_slist *hdrs;
        char url[2048];
        const char *digest;
        const char *diff_id;
        json_int_t size;
        int fd;          /* pipe to the unpacking worker */
        uint64_t written;
        uint64_t skip;   /* bytes of a repeated response to drop (server ignored Range) */
        bool resumed;    /* the current response answers a Range request */
        int attempts;
        bool done, failed;
        char error[512];
        struct store_op op;
        struct store_ns_worker worker;
        struct image_unpack_job job;
        struct layer_stats stats;
        bool started;
};

static size_t transfer_write(char *p, size_t size, size_t n, void *ud)
{
        struct transfer *t = ud;
        size_t len = size * n;
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 && status != 206)
                return len; /* an error page: not layer data */
        size_t off = 0;
        if (t->resumed) {
                t->resumed = false;
                if (status == 200)
                        t->skip = t->written; /* the whole blob again: drop what the worker has */
        }
        if (t->skip) {
                size_t drop = t->skip < len ? (size_t)t->skip : len;
                t->skip -= drop;
                off = drop;
        }
        while (off < len) {
                ssize_t w = write(t->fd, p + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return 0; /* the worker is gone: abort this transfer */
                off += (size_t)w;
                t->written += (uint64_t)w;
        }
        return len;
}

static void transfer_setup(struct reg *r, struct transfer *t)
{
        if (t->easy) {
                curl_easy_cleanup(t->easy);
                curl_slist_free_all(t->hdrs);
        }
        t->easy = reg_easy(r, t->url, &t->hdrs, NULL);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, transfer_write);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        if (t->written) {
                /* resume where the stream stopped: the worker sees one continuous stream */
                char range[64];
                snprintf(range, sizeof(range), "%llu-", (unsigned long long)t->written);
                curl_easy_setopt(t->easy, CURLOPT_RANGE, range);
                t->resumed = true;
        }
}

/* On a terminal: one line per layer, redrawn in place at most ten times a second. */
struct progress {
        struct timespec last;
        size_t lines; /* drawn last time, to move back over */
};

static void human_size(uint64_t bytes, char *buf, size_t size)
{
        if (bytes >= 1000000000ull)
                snprintf(buf, size, "%.2f GB", (double)bytes / 1e9);
        else if (bytes >= 1000000)
                snprintf(buf, size, "%.1f MB", (double)bytes / 1e6);
        else
                snprintf(buf, size, "%.1f kB", (double)bytes / 1e3);
}

static void progress(struct progress *pg, struct transfer *ts, size_t n, bool final)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!final && pg->lines && (now.tv_sec - pg->last.tv_sec) * 1000 + (now.tv_nsec - pg->last.tv_nsec) / 1000000 < 100)
                return;
        pg->last = now;
        struct winsize ws = { 0 };
        unsigned cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 80;
        unsigned rows = ws.ws_row ? ws.ws_row : 24;
        if (n + 1 >= rows) {
                /* more layers than the terminal has lines: one summary line */
                uint64_t got = 0, total = 0;
                size_t done = 0;
                for (size_t i = 0; i < n; i++) {
                        got += ts[i].written;
                        total += (uint64_t)ts[i].size;
                        done += ts[i].done;
                }
                char g[32], t[32];
                human_size(got, g, sizeof(g));
                human_size(total, t, sizeof(t));
                fprintf(stderr, "\r\033[Kpulling %zu layers: %zu done, %s of %s%s", n, done, g, t, final ? "\n" : "");
                fflush(stderr);
                return;
        }
        if (pg->lines)
                fprintf(stderr, "\033[%zuA", pg->lines);
        /* "  HEX12  [bar]  got / total" */
        int bar = (int)cols - 44;
        if (bar > 40)
                bar = 40;
        for (size_t i = 0; i < n; i++) {
                const struct transfer *t = &ts[i];
                char g[32], tot[32], line[512];
                human_size(t->written, g, sizeof(g));
                human_size(t->size > 0 ? (uint64_t)t->size : 0, tot, sizeof(tot));
                int used = snprintf(line, sizeof(line), "  %.12s  ", digest_hex(t->digest));
                if (t->done && t->failed) {
                        snprintf(line + used, sizeof(line) - (size_t)used, "failed: %s", t->error);
                } else if (t->done) {
                        snprintf(line + used, sizeof(line) - (size_t)used, "done %s", tot);
                } else {
                        if (bar >= 10) {
                                int fill = t->size > 0 ? (int)((double)t->written / (double)t->size * bar) : 0;
                                if (fill > bar)
                                        fill = bar;
                                line[used++] = '[';
                                for (int k = 0; k < bar; k++)
                                        line[used++] = k < fill ? '=' : k == fill ? '>' : ' ';
                                line[used++] = ']';
                                line[used++] = ' ';
                        }
                        snprintf(line + used, sizeof(line) - (size_t)used, "%s / %s", g, tot);
                }
                if (strlen(line) >= cols)
                        line[cols - 1] = '\0';
                fprintf(stderr, "\033[K%s\n", line);
        }
        pg->lines = n;
        fflush(stderr);
}

/* Fetch the layers in parallel, each streamed into its unpacking worker. */
static int fetch_layers(struct store *s, const struct store_ns *ns, struct reg *r, struct transfer *ts, size_t n, bool show,
                        struct burrow_error **err)
{
        struct store_ns_plan *plan = store_ns_plan_new(ns, err);
        if (plan == NULL)
                return -1;
        if (store_ns_plan_check(plan, s, err) < 0) {
                store_ns_plan_free(plan);
                return -1;
        }
        int ret = 0;
        int *writers = calloc(n + 1, sizeof(int));
        CURLM *multi = curl_multi_init();
        if (writers == NULL || multi == NULL) {
                ret = burrow_error_set(err, ENOMEM, "transfers");
                goto out;
        }
        /* Workers first, all of them, before any transfer runs: they are forked from a process
         * with no other thread, and each closes the other workers' pipe ends. */
        for (size_t i = 0; i < n && ret == 0; i++) {
                struct transfer *t = &ts[i];
                int p[2];
                if (store_op_begin(s, "pull", &t->op, err) < 0 || pipe2(p, O_CLOEXEC) < 0) {
                        ret = err && *err ? -1 : burrow_error_set(err, errno, "pipe");
                        break;
                }
                fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
                writers[i] = p[1];
                t->fd = p[1];
                t->job = (struct image_unpack_job){ .s = s, .op = &t->op, .src = p[0], .want_blob = t->digest, .want_diff_id = t->diff_id };
                ret = store_ns_start(plan, image_unpack_worker, &t->job, sizeof(t->stats), writers, i + 1, &t->worker, err);
                close(p[0]);
                t->started = ret == 0;
        }
        for (size_t i = 0; i < n && ret == 0; i++) {
                transfer_setup(r, &ts[i]);
                curl_multi_add_handle(multi, ts[i].easy);
        }
        int running = ret == 0 ? 1 : 0;
        struct progress pg = { 0 };
        while (running) {
                if (curl_multi_perform(multi, &running) != CURLM_OK)
                        break;
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(multi, &left)) != NULL) {
                        if (m->msg != CURLMSG_DONE)
                                continue;
                        struct transfer *t;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                        long status = 0;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
                        CURLcode rc = m->data.result;
                        curl_multi_remove_handle(multi, m->easy_handle);
                        bool ok = rc == CURLE_OK && (status == 200 || status == 206);
                        bool transient = rc != CURLE_OK ? rc != CURLE_WRITE_ERROR : status >= 500 || status == 429;
                        if (!ok && transient && ++t->attempts < MAX_ATTEMPTS) {
                                /* a dropped connection: ask for the rest; if the server ignores
                                 * Range it resends all, and what we already passed on is dropped */
                                burrow_info("layer %s: %s after %llu bytes, resuming", t->digest,
                                            rc != CURLE_OK ? curl_easy_strerror(rc) : "server error", (unsigned long long)t->written);
                                usleep(200000u << t->attempts);
                                t->skip = 0;
                                transfer_setup(r, t);
                                curl_multi_add_handle(multi, t->easy);
                                running = 1;
                                continue;
                        }
                        t->done = true;
                        t->failed = !ok;
                        if (!ok)
                                snprintf(t->error, sizeof(t->error), "%s", rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error");
                        if (!ok && status)
                                snprintf(t->error + strlen(t->error), sizeof(t->error) - strlen(t->error), " %ld", status);
                        close(t->fd); /* end of stream for the worker */
                        t->fd = -1;
                        writers[t - ts] = -1;
                }
                if (show)
                        progress(&pg, ts, n, false);
                if (running)
                        curl_multi_poll(multi, NULL, 0, 200, NULL);
        }
        if (show && ret == 0)
                progress(&pg, ts, n, true);
out:
        for (size_t i = 0; i < n; i++) {
                struct transfer *t = &ts[i];
                if (t->fd >= 0) {
                        close(t->fd);
                        t->fd = -1;
                }
                if (t->easy) {
                        curl_multi_remove_handle(multi, t->easy);
                        curl_easy_cleanup(t->easy);
                        curl_slist_free_all(t->hdrs);
                        t->easy = NULL;
                }
                if (t->started) {
                        struct burrow_error *werr = NULL;
                        int wr = store_ns_finish(&t->worker, &t->stats, &werr);
                        if (ret == 0 && t->failed) {
                                ret = burrow_error_set(err, 0, "layer %s of %s/%s: download failed: %s", t->digest, r->domain, r->path,
                                                       t->error);
                        } else if (ret == 0 && wr < 0) {
                                *err = werr;
                                werr = NULL;
                                ret = burrow_error_wrap(err, "layer %s of %s/%s", t->digest, r->domain, r->path);
                        }
                        burrow_error_free(werr);
                        if (ret == 0 && wr == 0 && !store_blob_exists(s, t->stats.blob_digest))
                                ret = store_blob_commit(s, &t->op, "blob", t->stats.blob_digest, err);
                }
                if (t->op.fd > 0)
                        store_op_end(s, &t->op);
        }
        if (multi)
                curl_multi_cleanup(multi);
        free(writers);
        store_ns_plan_free(plan);
        return ret;
}

/* Where an image can come from: mirrors first, in order, then the registry itself. */
struct source {
        char domain[256];
        char path[1024];
        bool insecure;
        bool mirror;
};
#define MAX_SOURCES 9

/* registries.json "mirrors": {"docker.io": ["HOST[:PORT][/PREFIX]", {"location": ..., "insecure": true,
 * "digest_only": true}, ...], "REGISTRY/REPO-PREFIX": [...]}. The longest key that is the
 * reference's domain, or a path prefix of domain/path, applies; a location's PREFIX replaces the
 * matched part of the path (as in podman's registries.conf). */
static size_t pull_sources(const struct image_ref *ref, const struct pull_options *opts, struct source *out,
                           struct burrow_error **err)
{
        size_t n = 0;
        char full[1024];
        snprintf(full, sizeof(full), "%s/%s", ref->domain, ref->path);
        cleanup_json json_t *cfg = NULL;
        if (opts->config_dir) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/registries.json", opts->config_dir);
                json_error_t je;
                cfg = json_load_file(p, 0, &je);
                if (cfg == NULL && access(p, F_OK) == 0)
                        burrow_warn("`%s` is not valid JSON (line %d: %s): no mirrors or insecure registries from it", p, je.line,
                                    je.text);
        }
        const char *best = NULL;
        json_t *entries = NULL;
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(cfg, "mirrors"), key, v)
        {
                size_t len = strlen(key);
                bool match = strcmp(key, ref->domain) == 0 ||
                             (strncmp(full, key, len) == 0 && (full[len] == '/' || full[len] == '\0') && strchr(key, '/'));
                if (match && json_is_array(v) && (best == NULL || len > strlen(best))) {
                        best = key;
                        entries = v;
                }
        }
        size_t i;
        json_t *e;
        json_array_foreach(entries, i, e)
        {
                const char *loc = json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "location"));
                if (loc == NULL || *loc == '\0') {
                        burrow_warn("registries.json: mirror %zu of `%s` has no location: skipped", i + 1, best);
                        continue;
                }
                if (json_is_true(json_object_get(e, "digest_only")) && ref->digest[0] == '\0')
                        continue; /* only for pulls by digest, whose content the digest proves */
                if (n + 1 >= MAX_SOURCES)
                        break;
                struct source *src = &out[n];
                memset(src, 0, sizeof(*src));
                const char *slash = strchr(loc, '/');
                size_t dlen = slash ? (size_t)(slash - loc) : strlen(loc);
                if (dlen == 0 || dlen >= sizeof(src->domain))
                        return burrow_error_set(err, 0, "registries.json: the mirror location `%s` has no registry host", loc);
                memcpy(src->domain, loc, dlen);
                /* the path below the matched key, under the location's prefix */
                const char *rest = strchr(best, '/') ? full + strlen(best) : full + strlen(ref->domain);
                if (*rest == '/')
                        rest++;
                snprintf(src->path, sizeof(src->path), "%s%s%s", slash ? slash + 1 : "", slash && *rest ? "/" : "", rest);
                if (src->path[0] == '\0')
                        return burrow_error_set(err, 0, "registries.json: mirror `%s` for `%s` leaves no repository path", loc, best);
                src->insecure = json_is_true(json_object_get(e, "insecure"));
                src->mirror = true;
                n++;
        }
        memset(&out[n], 0, sizeof(out[n]));
        snprintf(out[n].domain, sizeof(out[n].domain), "%s", ref->domain);
        snprintf(out[n].path, sizeof(out[n].path), "%s", ref->path);
        return n + 1;
}

static int pull_once(struct store *s, const struct store_ns *ns, const char *text, const struct pull_options *opts, FILE *out,
                     struct burrow_error **err)
{
        struct image_ref ref;
        if (image_ref_parse(text, "docker.io", &ref, err) < 0)
                return -1;
        struct source sources[MAX_SOURCES];
        struct burrow_error *serr = NULL;
        size_t n_sources = pull_sources(&ref, opts, sources, &serr);
        if (serr) {
                *err = serr;
                return -1;
        }
        struct reg r;
        struct buf body = { 0 };
        struct resp resp;
        char digest[DIGEST_STR_LEN + 1];
        int ret = -1;
        char tried[2048] = "";
        for (size_t k = 0; k < n_sources && ret < 0; k++) {
                struct source *src = &sources[k];
                struct burrow_error *merr = NULL;
                if (reg_open(&r, src->domain, src->path, opts, &merr) == 0) {
                        if (src->insecure && opts->tls_verify != 1)
                                r.insecure = true;
                        r.attempts = src->mirror ? 1 : 0;
                        ret = fetch_manifest(&r, ref.digest[0] ? ref.digest : ref.tag, ref.digest[0] ? ref.digest : NULL, &body,
                                             &resp, digest, &merr);
                        r.attempts = 0;
                }
                if (ret == 0 && src->mirror && !opts->quiet)
                        fprintf(stderr, "%s: from the mirror %s/%s\n", text, src->domain, src->path);
                if (ret < 0 && src->mirror) {
                        size_t used = strlen(tried);
                        snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? "; " : "", merr ? merr->msg : "failed");
                        burrow_error_free(merr);
                } else if (ret < 0) {
                        *err = merr;
                        if (tried[0])
                                burrow_error_hint(err, "the mirrors failed first: %s", tried);
                }
        }
        cleanup_json json_t *m = NULL;
        json_error_t je;
        if (ret == 0 && (m = json_loadb(body.data ? body.data : "", body.len, 0, &je)) == NULL)
                ret = burrow_error_set(err, 0, "%s: the manifest is not valid JSON (line %d: %s)", text, je.line, je.text);
        if (ret == 0 && is_index(media_type(m, &resp))) {
                char os[64], arch[64], variant[64];
                platform_want(opts, os, arch, variant, sizeof(os));
                const char *pick = NULL;
                size_t i;
                json_t *d;
                json_array_foreach(json_object_get(m, "manifests"), i, d)
                {
                        json_t *p = json_object_get(d, "platform");
                        const char *v = json_string_value(json_object_get(p, "variant"));
                        if (strcmp(json_string_value(json_object_get(p, "os")) ?: "", os) == 0 &&
                            strcmp(json_string_value(json_object_get(p, "architecture")) ?: "", arch) == 0 &&
                            (!variant[0] || (v && strcmp(v, variant) == 0))) {
                                pick = json_string_value(json_object_get(d, "digest"));
                                break;
                        }
                }
                if (pick == NULL || !digest_valid(pick)) {
                        ret = burrow_error_set(err, 0, "%s has no image for %s/%s%s%s (see --platform)", text, os, arch, variant[0] ? "/" : "",
                                               variant);
                } else {
                        char want[DIGEST_STR_LEN + 1];
                        snprintf(want, sizeof(want), "%s", pick);
                        json_decref(m);
                        m = NULL;
                        ret = fetch_manifest(&r, want, want, &body, &resp, digest, err);
                        if (ret == 0 && (m = json_loadb(body.data ? body.data : "", body.len, 0, &je)) == NULL)
                                ret = burrow_error_set(err, 0, "%s: the manifest is not valid JSON (line %d: %s)", text, je.line, je.text);
                }
        }
        if (ret == 0 && json_integer_value(json_object_get(m, "schemaVersion")) != 2)
                ret = burrow_error_set(err, 0, "%s: manifest schema version %lld is not supported (only schema 2 / OCI)", text,
                                       (long long)json_integer_value(json_object_get(m, "schemaVersion")));
        const char *config_digest = ret == 0 ? json_string_value(json_object_get(json_object_get(m, "config"), "digest")) : NULL;
        if (ret == 0 && !digest_valid(config_digest))
                ret = burrow_error_set(err, 0, "%s: the manifest has no valid config digest", text);
        /* the config, checked and stored */
        struct buf cbody = { 0 };
        cleanup_json json_t *config = NULL;
        if (ret == 0) {
                char tail[128];
                snprintf(tail, sizeof(tail), "blobs/%s", config_digest);
                int status = reg_get(&r, tail, NULL, &cbody, &resp, err);
                char got[DIGEST_STR_LEN + 1];
                if (status < 0)
                        ret = -1;
                else if (status != 200)
                        ret = burrow_error_set(err, 0, "%s: config blob %s: HTTP %d", text, config_digest, status);
                else if (digest_buffer(cbody.data ? cbody.data : "", cbody.len, got), strcmp(got, config_digest) != 0)
                        ret = burrow_error_set(err, 0, "%s: config blob %s arrived with digest %s: refusing it", text, config_digest, got);
                else if ((config = json_loadb(cbody.data, cbody.len, 0, &je)) == NULL)
                        ret = burrow_error_set(err, 0, "%s: the config is not valid JSON", text);
        }
        json_t *layers = ret == 0 ? json_object_get(m, "layers") : NULL;
        json_t *diff_ids = ret == 0 ? json_object_get(json_object_get(config, "rootfs"), "diff_ids") : NULL;
        size_t n = json_array_size(layers);
        if (ret == 0 && json_array_size(diff_ids) != n)
                ret = burrow_error_set(err, 0, "%s: %zu layers but %zu diffIDs in the config", text, n, json_array_size(diff_ids));
        struct transfer *ts = calloc(n ? n : 1, sizeof(*ts));
        size_t want = 0;
        cleanup_json json_t *records = json_array();
        json_int_t size = 0;
        for (size_t i = 0; ret == 0 && i < n; i++) {
                json_t *l = json_array_get(layers, i);
                const char *ld = json_string_value(json_object_get(l, "digest"));
                const char *diff = json_string_value(json_array_get(diff_ids, i));
                if (!digest_valid(ld) || !digest_valid(diff)) {
                        ret = burrow_error_set(err, 0, "%s: layer %zu has no valid sha256 digest", text, i + 1);
                        break;
                }
                json_int_t lsize = json_integer_value(json_object_get(l, "size"));
                const char *media = json_string_value(json_object_get(l, "mediaType"));
                json_array_append_new(records, json_pack("{s:s, s:s, s:I, s:s}", "diff_id", diff, "digest", ld, "size", lsize,
                                                         "media_type", media ? media : "application/vnd.oci.image.layer.v1.tar+gzip"));
                size += lsize;
                if (store_layer_exists(s, diff) && store_blob_exists(s, ld))
                        continue; /* have it: not fetched again */
                struct transfer *t = &ts[want++];
                t->digest = ld;
                t->diff_id = diff;
                t->size = lsize;
                t->fd = -1;
                t->op.fd = -1;
                char tail[128];
                snprintf(tail, sizeof(tail), "blobs/%s", ld);
                reg_url(&r, tail, t->url, sizeof(t->url));
        }
        bool show = !opts->quiet && isatty(STDERR_FILENO);
        if (ret == 0 && want) {
                /* A worker that refuses its layer closes its pipe: EPIPE, not death by SIGPIPE. */
                struct sigaction ign = { .sa_handler = SIG_IGN }, old;
                sigaction(SIGPIPE, &ign, &old);
                ret = fetch_layers(s, ns, &r, ts, want, show, err);
                sigaction(SIGPIPE, &old, NULL);
        }
        free(ts);
        if (ret == 0) {
                char cd[DIGEST_STR_LEN + 1];
                ret = store_blob_put(s, cbody.data, cbody.len, cd, err);
                char md[DIGEST_STR_LEN + 1];
                if (ret == 0)
                        ret = store_blob_put(s, body.data, body.len, md, err);
                char name[1024];
                const char *names[1] = { name };
                image_ref_format(&ref, name, sizeof(name));
                if (ret == 0)
                        ret = image_commit(s, cd, md, records, size, json_string_value(json_object_get(config, "created")), names,
                                           ref.digest[0] ? 0 : 1, err);
                if (ret == 0) {
                        if (!opts->quiet)
                                fprintf(stderr, "%s: %zu of %zu layers fetched\n", name, want, n);
                        fprintf(out, "%s\n", cd);
                }
        }
        free(body.data);
        free(cbody.data);
        return ret;
}

int image_pull(struct store *s, const struct store_ns *ns, const char *text, const struct pull_options *opts, FILE *out,
               struct burrow_error **err)
{
        /* A concurrent rmi may prune a layer this pull found in the store and did not fetch:
         * the commit notices (EAGAIN) and the next round fetches it. */
        for (int round = 0;; round++) {
                struct burrow_error *perr = NULL;
                if (pull_once(s, ns, text, opts, out, &perr) == 0)
                        return 0;
                if (perr == NULL || perr->errnum != EAGAIN || round == 2) {
                        *err = perr;
                        return -1;
                }
                burrow_info("%s", perr->msg);
                burrow_error_free(perr);
        }
}

/* Where `burrow login` keeps credentials: $REGISTRY_AUTH_FILE, else podman's places. */
static int auth_file_path(char *buf, size_t size, struct burrow_error **err)
{
        const char *env = getenv("REGISTRY_AUTH_FILE");
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        const char *home = getenv("HOME");
        struct stat st;
        if (env && *env)
                snprintf(buf, size, "%s", env);
        else if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && st.st_uid == getuid())
                snprintf(buf, size, "%s/containers/auth.json", xdg);
        else if (home && *home)
                snprintf(buf, size, "%s/.config/containers/auth.json", home);
        else
                return burrow_error_set(err, 0, "no place for credentials: set REGISTRY_AUTH_FILE");
        return 0;
}

static int write_auth_file(const char *path, json_t *cfg, struct burrow_error **err)
{
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir_parents(dir, 0700) < 0)
                        return burrow_error_set(err, errno, "creating `%s`", dir);
        }
        cleanup_free char *text = json_dumps(cfg, JSON_INDENT(8));
        char tmp[PATH_MAX + 16];
        snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
        if (text == NULL || write_file_at(AT_FDCWD, tmp, text, strlen(text), 0600, err) < 0)
                return err && *err ? -1 : burrow_error_set(err, ENOMEM, "credentials");
        if (rename(tmp, path) < 0) {
                unlink(tmp);
                return burrow_error_set(err, errno, "writing `%s`", path);
        }
        return 0;
}

static int registry_domain(const char *text, char *domain, size_t size, struct burrow_error **err)
{
        /* "https://host:port/..." and "host:port" both name a registry */
        const char *p = strstr(text, "://") ? strstr(text, "://") + 3 : text;
        size_t len = strcspn(p, "/");
        if (len == 0 || len >= size)
                return burrow_error_set(err, 0, "`%s` is not a registry name (HOST[:PORT])", text);
        snprintf(domain, size, "%.*s", (int)len, p);
        if (strcmp(domain, "index.docker.io") == 0 || strcmp(domain, "registry-1.docker.io") == 0)
                snprintf(domain, size, "docker.io");
        return 0;
}

int registry_login(const char *registry, const char *user, const char *password, const struct pull_options *opts, FILE *out,
                   struct burrow_error **err)
{
        char domain[256];
        if (registry_domain(registry, domain, sizeof(domain), err) < 0)
                return -1;
        if (user == NULL || *user == '\0' || strchr(user, ':') || password == NULL)
                return burrow_error_set(err, 0, "login needs a user name (without `:`) and a password: -u USER -p PASS, or --password-stdin");
        struct reg r;
        if (reg_open(&r, domain, "", opts, err) < 0)
                return -1;
        r.basic[0] = '\0'; /* the credentials being checked, not stored ones */
        char plain[1024];
        int pl = snprintf(plain, sizeof(plain), "%s:%s", user, password);
        if (pl < 0 || (size_t)pl >= sizeof(plain))
                return burrow_error_set(err, 0, "user name and password are too long");
        EVP_EncodeBlock((unsigned char *)r.basic, (const unsigned char *)plain, pl);
        explicit_bzero(plain, sizeof(plain));
        struct buf body = { 0 };
        struct resp resp;
        int status = reg_get(&r, "", NULL, &body, &resp, err);
        free(body.data);
        if (status < 0)
                return -1;
        if (status == 401 || status == 403)
                return burrow_error_set(err, 0, "login to %s failed: wrong user name or password", r.domain);
        if (status != 200)
                return burrow_error_set(err, 0, "login to %s: the registry answered HTTP %d", r.domain, status);
        char path[PATH_MAX];
        if (auth_file_path(path, sizeof(path), err) < 0)
                return -1;
        json_error_t je;
        cleanup_json json_t *cfg = json_load_file(path, 0, &je);
        if (cfg == NULL)
                cfg = json_object();
        json_t *auths = json_object_get(cfg, "auths");
        if (!json_is_object(auths))
                json_object_set_new(cfg, "auths", auths = json_object());
        json_object_set_new(auths, r.domain, json_pack("{s:s}", "auth", r.basic));
        if (write_auth_file(path, cfg, err) < 0)
                return -1;
        fprintf(out, "Login Succeeded! (credentials in %s)\n", path);
        return 0;
}

int registry_logout(const char *registry, FILE *out, struct burrow_error **err)
{
        char domain[256], path[PATH_MAX];
        if (registry_domain(registry, domain, sizeof(domain), err) < 0 || auth_file_path(path, sizeof(path), err) < 0)
                return -1;
        json_error_t je;
        cleanup_json json_t *cfg = json_load_file(path, 0, &je);
        json_t *auths = json_object_get(cfg, "auths");
        if (!json_object_get(auths, domain))
                return burrow_error_set(err, 0, "not logged in to %s (no credentials in %s)", domain, path);
        json_object_del(auths, domain);
        if (write_auth_file(path, cfg, err) < 0)
                return -1;
        fprintf(out, "Removed login credentials for %s\n", domain);
        return 0;
}

struct upload {
        const char *data;
        size_t len, off;
        int fd;
};

static size_t upload_read(char *p, size_t size, size_t n, void *ud)
{
        struct upload *u = ud;
        size_t want = size * n;
        if (u->fd >= 0) {
                ssize_t got = read(u->fd, p, want);
                return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
        }
        size_t left = u->len - u->off;
        size_t take = left < want ? left : want;
        memcpy(p, u->data + u->off, take);
        u->off += take;
        return take;
}

/* One request with a method and maybe a body (bytes, or a file), answering 401 challenges. */
static int reg_send(struct reg *r, const char *method, const char *url, const char *content_type, const char *data, size_t len,
                    int fd, struct resp *resp, struct burrow_error **err)
{
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
                struct curl_slist *hdrs;
                CURL *c = reg_easy(r, url, &hdrs, NULL);
                if (c == NULL)
                        return burrow_error_set(err, ENOMEM, "curl");
                if (content_type) {
                        char ct[300];
                        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
                        hdrs = curl_slist_append(hdrs, ct);
                        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
                }
                struct buf body = { 0 };
                struct upload up = { .data = data, .len = len, .fd = fd };
                if (fd >= 0)
                        lseek(fd, 0, SEEK_SET);
                memset(resp, 0, sizeof(*resp));
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
                curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
                curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
                curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
                if (strcmp(method, "HEAD") == 0) {
                        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
                } else if (strcmp(method, "POST") == 0) {
                        curl_easy_setopt(c, CURLOPT_POST, 1L);
                        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
                        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
                } else if (strcmp(method, "PUT") == 0) {
                        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                        curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
                        curl_easy_setopt(c, CURLOPT_READDATA, &up);
                        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
                }
                CURLcode rc = curl_easy_perform(c);
                long status = 0;
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_cleanup(c);
                curl_slist_free_all(hdrs);
                free(body.data);
                if (rc != CURLE_OK) {
                        if (attempt + 1 < MAX_ATTEMPTS) {
                                usleep(200000u << attempt);
                                continue;
                        }
                        return burrow_error_set(err, 0, "%s %s: %s", method, url, curl_easy_strerror(rc));
                }
                int answered = status == 401 ? answer_challenge(r, resp, err) : 0;
                if (answered < 0)
                        return -1;
                if (answered) {
                        attempt--;
                        continue;
                }
                return (int)status;
        }
        return burrow_error_set(err, 0, "%s %s: no answer", method, url);
}

static int push_blob(struct store *s, struct reg *r, const char *digest, struct burrow_error **err)
{
        char url[2048], tail[128];
        snprintf(tail, sizeof(tail), "blobs/%s", digest);
        reg_url(r, tail, url, sizeof(url));
        struct resp resp;
        int status = reg_send(r, "HEAD", url, NULL, NULL, 0, -1, &resp, err);
        if (status < 0)
                return -1;
        if (status == 200)
                return 0; /* the registry has it */
        reg_url(r, "blobs/uploads/", url, sizeof(url));
        status = reg_send(r, "POST", url, NULL, NULL, 0, -1, &resp, err);
        if (status < 0)
                return -1;
        if (status == 401 || status == 403)
                return burrow_error_set(err, 0, "%s/%s: not allowed to push (HTTP %d); log in with `burrow login %s`", r->domain, r->path,
                                        status, r->domain);
        if (status != 202 || resp.location[0] == '\0')
                return burrow_error_set(err, 0, "%s/%s: starting the upload of %s: HTTP %d", r->domain, r->path, digest, status);
        char put[4096];
        if (resp.location[0] == '/')
                snprintf(put, sizeof(put), "%s://%s%s%sdigest=%s", r->http ? "http" : "https", r->host, resp.location,
                         strchr(resp.location, '?') ? "&" : "?", digest);
        else
                snprintf(put, sizeof(put), "%s%sdigest=%s", resp.location, strchr(resp.location, '?') ? "&" : "?", digest);
        char path[128];
        snprintf(path, sizeof(path), "blobs/sha256/%s", digest_hex(digest));
        cleanup_close int fd = openat(s->fd, path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return burrow_error_set(err, errno, "blob %s is missing from `%s`", digest, s->root);
        status = reg_send(r, "PUT", put, "application/octet-stream", NULL, (size_t)st.st_size, fd, &resp, err);
        if (status < 0)
                return -1;
        if (status != 201)
                return burrow_error_set(err, 0, "%s/%s: uploading %s: HTTP %d", r->domain, r->path, digest, status);
        return 0;
}

int image_push(struct store *s, const char *src, const char *dest, const struct pull_options *opts, FILE *out,
               struct burrow_error **err)
{
        char id[DIGEST_STR_LEN + 1];
        if (store_resolve(s, src, id, err) < 0)
                return -1;
        struct image_ref ref;
        if (image_ref_parse(dest ? dest : src, "docker.io", &ref, err) < 0)
                return -1;
        if (ref.digest[0])
                return burrow_error_set(err, 0, "push to a tag, not a digest (`%s`)", dest ? dest : src);
        cleanup_json json_t *rec = store_image_read(s, id, err);
        if (rec == NULL)
                return -1;
        const char *mdigest = json_string_value(json_object_get(rec, "manifest"));
        cleanup_free char *manifest = NULL;
        size_t mlen;
        if (store_blob_read(s, mdigest, &manifest, &mlen, err) < 0)
                return -1;
        json_error_t je;
        cleanup_json json_t *m = json_loadb(manifest, mlen, 0, &je);
        if (m == NULL)
                return burrow_error_set(err, 0, "the stored manifest of %s is not valid JSON", src);
        struct reg r;
        if (reg_open(&r, ref.domain, ref.path, opts, err) < 0)
                return -1;
        /* Decide between HTTPS and HTTP (insecure registries) with a harmless request first. */
        struct buf probe = { 0 };
        struct resp resp;
        char tail[256];
        snprintf(tail, sizeof(tail), "tags/list");
        if (reg_get(&r, tail, NULL, &probe, &resp, err) < 0) {
                free(probe.data);
                return -1;
        }
        free(probe.data);
        size_t i;
        json_t *l;
        int ret = 0;
        json_array_foreach(json_object_get(m, "layers"), i, l) if (ret == 0) ret =
                push_blob(s, &r, json_string_value(json_object_get(l, "digest")), err);
        if (ret == 0)
                ret = push_blob(s, &r, json_string_value(json_object_get(json_object_get(m, "config"), "digest")), err);
        if (ret < 0)
                return burrow_error_wrap(err, "pushing %s", src);
        char url[2048];
        snprintf(tail, sizeof(tail), "manifests/%s", ref.tag);
        reg_url(&r, tail, url, sizeof(url));
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        int status = reg_send(&r, "PUT", url, mt ? mt : "application/vnd.oci.image.manifest.v1+json", manifest, mlen, -1, &resp, err);
        if (status < 0)
                return -1;
        if (status != 201)
                return burrow_error_set(err, 0, "%s/%s:%s: storing the manifest: HTTP %d", r.domain, r.path, ref.tag, status);
        char name[1024];
        fprintf(out, "%s\n", mdigest);
        if (!opts->quiet)
                fprintf(stderr, "pushed %s as %s\n", src, image_ref_format(&ref, name, sizeof(name)));
        return 0;
}
