#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/attach.h"
#include "sandbox/runconfig.h"
#include "tests/unit/tap.h"
#include "util/template.h"

static void drop(struct burrow_error **err)
{
        burrow_error_free(*err);
        *err = NULL;
}

int main(void)
{
        struct burrow_error *err = NULL;

        /* -v NAME:CTR is a volume; a name with a slash is neither a path nor a name */
        struct burrow_bind b;
        ok(burrow_bind_parse("data:/srv/./x:ro", &b, &err) == 0 && b.volume && b.source == NULL && b.readonly, "-v NAME:CTR:ro");
        is_str(b.volume, "data", "volume name kept");
        is_str(b.dest, "/srv/x", "volume target cleaned");
        burrow_bind_free(&b);
        ok(burrow_bind_parse("da/ta:/x", &b, &err) < 0 && strstr(err->msg, "neither a host path"), "a/b is refused");
        drop(&err);
        ok(burrow_volume_name_valid("a.b_c-1") && !burrow_volume_name_valid("-a") && !burrow_volume_name_valid("a b") &&
                   !burrow_volume_name_valid(""),
           "volume names as docker allows them");

        /* --mount */
        struct burrow_run_config cfg;
        burrow_run_config_init(&cfg);
        ok(burrow_mount_parse("type=bind,source=/tmp,target=/b,readonly", &cfg, &err) == 0 && cfg.n_binds == 1 &&
                   cfg.binds[0].readonly && strcmp(cfg.binds[0].source, "/tmp") == 0,
           "--mount type=bind");
        ok(burrow_mount_parse("type=volume,src=v,dst=/v,volume-nocopy", &cfg, &err) == 0 && cfg.n_binds == 2 &&
                   strcmp(cfg.binds[1].volume, "v") == 0 && cfg.binds[1].nocopy && !cfg.binds[1].readonly,
           "--mount type=volume with docker's short keys");
        ok(burrow_mount_parse("type=volume,target=/anon", &cfg, &err) == 0 && cfg.n_binds == 3 && cfg.binds[2].anonymous &&
                   cfg.binds[2].volume == NULL,
           "--mount type=volume without a source is anonymous");
        ok(burrow_mount_parse("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=700", &cfg, &err) == 0 && cfg.n_tmpfs == 1 &&
                   strcmp(cfg.tmpfs[0].options, "size=1m,mode=700") == 0,
           "--mount type=tmpfs with size and mode");
        ok(burrow_mount_parse("type=bind,target=/x", &cfg, &err) < 0 && strstr(err->msg, "source=PATH is required"),
           "a bind needs a source");
        drop(&err);
        ok(burrow_mount_parse("type=tmpfs,source=/a,target=/x", &cfg, &err) < 0 && strstr(err->msg, "no source"),
           "a tmpfs has no source");
        drop(&err);
        ok(burrow_mount_parse("target=/x", &cfg, &err) < 0 && strstr(err->msg, "give type="), "type is required");
        drop(&err);
        ok(burrow_mount_parse("type=bind,source=/tmp,target=/x,colour=red", &cfg, &err) < 0 && strstr(err->msg, "colour"),
           "unknown keys are named");
        drop(&err);

        /* --device */
        ok(burrow_device_parse("/dev/null:/dev/n:rw", &b, &err) == 0 && b.device, "--device HOST:CTR:PERMS");
        is_str(b.dest, "/dev/n", "device target");
        burrow_bind_free(&b);
        ok(burrow_device_parse("/dev/null:rwm", &b, &err) == 0 && strcmp(b.dest, "/dev/null") == 0, "--device HOST:PERMS");
        burrow_bind_free(&b);
        ok(burrow_device_parse("/tmp", &b, &err) < 0 && strstr(err->msg, "not a device node"), "a directory is no device");
        drop(&err);
        ok(burrow_device_parse("/dev/null:/x:rwz", &b, &err) < 0 && strstr(err->msg, "letters of rwm"), "bad permissions");
        drop(&err);

        /* the stored config of a container round-trips (volumes have their paths by then) */
        cfg.binds[1].source = strdup("/store/volumes/v/_data");
        cfg.binds[2].source = strdup("/store/volumes/anon/_data");
        cfg.binds[2].volume = strdup("anon");
        cfg.tty = true;
        cfg.pid_host = true;
        cfg.workdir = strdup("/w");
        cfg.user_name = strdup("app:staff");
        char *argv[] = { "sh", "-c", "true", NULL };
        cfg.argv = calloc(4, sizeof(char *));
        for (int i = 0; i < 3; i++)
                cfg.argv[i] = strdup(argv[i]);
        setenv("BURROW_UNIT_KEY", "from-env", 1);
        cfg.env = calloc(3, sizeof(char *));
        cfg.env[0] = strdup("A=1");
        cfg.env[1] = strdup("BURROW_UNIT_KEY");
        cfg.n_env = 2;
        cfg.ulimits[0] = (struct burrow_ulimit){ .resource = 7, .soft = 100, .hard = ~0ULL };
        cfg.n_ulimits = 1;
        json_t *j = burrow_run_config_to_json(&cfg);
        struct burrow_run_config back;
        burrow_run_config_init(&back);
        ok(j && burrow_run_config_from_json(j, &back, &err) == 0, "stored config reads back%s%s", err ? ": " : "",
           err ? err->msg : "");
        ok(back.tty && back.pid_host && back.n_binds == 3 && back.n_tmpfs == 1 && back.binds[1].nocopy &&
                   strcmp(back.binds[1].volume, "v") == 0 && back.binds[2].anonymous && back.binds[0].readonly,
           "flags and mounts kept");
        ok(back.n_env == 2 && strcmp(back.env[1], "BURROW_UNIT_KEY=from-env") == 0, "-e KEY resolved when stored");
        is_str(back.user_name, "app:staff", "user name kept");
        ok(back.argv && strcmp(back.argv[2], "true") == 0 && back.argv[3] == NULL, "argv kept");
        ok(back.n_ulimits == 1 && back.ulimits[0].hard == ~0ULL && back.ulimits[0].soft == 100, "unlimited stays unlimited");
        json_decref(j);
        burrow_run_config_free(&back);
        burrow_run_config_free(&cfg);
        burrow_run_config_init(&back);
        j = json_pack("{s:s}", "argv", "not-an-array");
        ok(burrow_run_config_from_json(j, &back, &err) < 0 && strstr(err->msg, "no \"run\" section"), "a broken record is refused");
        drop(&err);
        json_decref(j);
        burrow_run_config_free(&back);

        /* --detach-keys */
        unsigned char keys[8];
        size_t n;
        ok(attach_parse_keys("ctrl-p,ctrl-q", keys, &n, &err) == 0 && n == 2 && keys[0] == 0x10 && keys[1] == 0x11,
           "docker's default detach keys");
        ok(attach_parse_keys("ctrl-X,a", keys, &n, &err) == 0 && n == 2 && keys[0] == 0x18 && keys[1] == 'a', "ctrl-X and a plain key");
        ok(attach_parse_keys("ctrl-1", keys, &n, &err) < 0 && strstr(err->msg, "not a control key"), "ctrl-1 is refused");
        drop(&err);
        ok(attach_parse_keys("alt-x", keys, &n, &err) < 0, "alt-x is refused");
        drop(&err);

        /* --format templates */
        static const struct template_field f[] = { { "ID", "ID" }, { "Names", "NAMES" } };
        ok(template_check("{{.ID}} {{ .Names }}", f, 2, &err) == 0, "fields with and without spaces");
        ok(template_check("{{.Nope}}", f, 2, &err) < 0 && strstr(err->msg, "{{.Nope}}"), "unknown field named");
        drop(&err);
        char *out = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&out, &len);
        const char *values[] = { "abc", "web" };
        template_header(m, "table {{.ID}}\\t{{.Names}}", f, 2);
        template_row(m, "table {{.ID}}\\t{{.Names}}", f, values, 2);
        template_row(m, "json", f, values, 2);
        fclose(m);
        is_str(out, "ID\tNAMES\nabc\tweb\n{\"ID\":\"abc\",\"Names\":\"web\"}\n", "table header, row and json");
        free(out);
        return tap_done();
}
