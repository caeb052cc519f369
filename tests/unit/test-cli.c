#include "config.h"

#include <stdlib.h>

#include "sandbox/cli.h"
#include "tests/unit/tap.h"
#include "util/log.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))

int main(void)
{
        struct burrow_error *err = NULL;
        struct burrow_global g = { 0 };
        int vi, done;
        char **a = ARGV("burrow", "--root", "/s", "--runroot=/r", "--log-level", "debug", "run", "--root", "x");
        ok(cli_parse_global(9, a, &g, &vi, &done, &err) == 0 && vi == 6 && !done, "global options stop at the verb");
        is_str(g.root, "/s", "--root value");
        is_str(g.runroot, "/r", "--runroot=value form");
        ok(burrow_log_level == BURROW_LOG_DEBUG, "--log-level debug");
        burrow_log_level = BURROW_LOG_WARN;
        free(g.root);
        free(g.runroot);
        g = (struct burrow_global){ 0 };
        a = ARGV("burrow", "--bogus", "run");
        ok(cli_parse_global(3, a, &g, &vi, &done, &err) < 0 && err && strstr(err->msg, "`--bogus`"), "unknown global option named");
        burrow_error_free(err);
        err = NULL;
        a = ARGV("burrow", "--log-level", "loud", "run");
        ok(cli_parse_global(4, a, &g, &vi, &done, &err) < 0 && err && strstr(err->msg, "loud"), "bad log level named");
        burrow_error_free(err);
        err = NULL;

        struct burrow_run_config cfg;
        int help;
        burrow_run_config_init(&cfg);
        a = ARGV("run", "--rootfs", "/r", "-it", "--net=host", "-e", "A=1", "-e", "B", "-w", "/w", "--hostname", "h",
                 "-u", "1000:100", "--no-init", "ls", "-l", "--rootfs", "x");
        ok(cli_parse_run(ARGC("run", "--rootfs", "/r", "-it", "--net=host", "-e", "A=1", "-e", "B", "-w", "/w", "--hostname", "h",
                              "-u", "1000:100", "--no-init", "ls", "-l", "--rootfs", "x"),
                         a, &cfg, &help, &err) == 0,
           "run parses");
        is_str(cfg.rootfs, "/r", "--rootfs");
        ok(cfg.interactive && cfg.tty, "-it combines -i and -t");
        ok(cfg.net == BURROW_NET_HOST, "--net=host");
        ok(cfg.n_env == 2, "two -e");
        is_str(cfg.env[1], "B", "-e KEY kept for lookup");
        is_str(cfg.workdir, "/w", "-w");
        is_str(cfg.hostname, "h", "--hostname");
        ok(cfg.has_user && cfg.uid == 1000 && cfg.has_gid && cfg.gid == 100, "-u UID:GID");
        ok(!cfg.init, "--no-init");
        ok(cfg.argv && strcmp(cfg.argv[0], "ls") == 0 && strcmp(cfg.argv[1], "-l") == 0 && strcmp(cfg.argv[2], "--rootfs") == 0 &&
                   cfg.argv[4] == NULL,
           "options stop at the first positional; the rest is the command");
        burrow_run_config_free(&cfg);

        burrow_run_config_init(&cfg);
        a = ARGV("run", "--rootfs", "/r", "--network", "none", "--", "-x");
        ok(cli_parse_run(7, a, &cfg, &help, &err) == 0 && cfg.net == BURROW_NET_NONE && cfg.argv && strcmp(cfg.argv[0], "-x") == 0,
           "--network alias and -- ends options");
        ok(cfg.init, "init is on by default");
        burrow_run_config_free(&cfg);

        burrow_run_config_init(&cfg);
        char **img = ARGV("run", "-u", "bob:staff", "--name", "web", "debian:12", "ls", "-l");
        ok(cli_parse_run(8, img, &cfg, &help, &err) == 0 && cfg.image && strcmp(cfg.image, "debian:12") == 0 &&
                   strcmp(cfg.argv[0], "ls") == 0 && strcmp(cfg.name, "web") == 0 && cfg.user_name &&
                   strcmp(cfg.user_name, "bob:staff") == 0 && !cfg.has_user,
           "run IMAGE CMD: the first argument is the image; -u by name kept for the rootfs");
        burrow_run_config_free(&cfg);

        const struct {
                int argc;
                char **argv;
                const char *want;
        } bad[] = {
                { 3, ARGV("run", "--frob", "x"), "unknown option `--frob`" },
                { 3, ARGV("run", "-Z", "x"), "unknown option `-Z`" },
                { 2, ARGV("run", "--rootfs"), "needs a value" },
                { 3, ARGV("run", "--net=slurp", "x"), "unknown network mode `slurp`" },
                { 3, ARGV("run", "-u", ""), "expected USER[:GROUP]" },
                { 3, ARGV("run", "-u", "a/b"), "expected USER[:GROUP]" },
                { 3, ARGV("run", "-u", "bob:"), "expected USER[:GROUP]" },
                { 5, ARGV("run", "--name", "n", "--rootfs", "x"), "--name is for image containers" },
                { 3, ARGV("run", "-w", "rel"), "absolute" },
                { 3, ARGV("run", "-e", "=x"), "KEY=VALUE" },
                { 3, ARGV("run", "-v", "/tmp"), "HOST-PATH:CONTAINER-PATH" },
                { 3, ARGV("run", "-v", "/tmp:rel"), "must be absolute" },
                { 3, ARGV("run", "-v", "/tmp:/x:rx"), "unknown option `rx`" },
                { 3, ARGV("run", "-v", "na/me:/x"), "neither a host path" },
                { 3, ARGV("run", "-v", "/does/not/exist:/x"), "bind source `/does/not/exist`" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                burrow_run_config_init(&cfg);
                int r = cli_parse_run(bad[i].argc, bad[i].argv, &cfg, &help, &err);
                ok(r < 0 && err && strstr(err->msg, bad[i].want), "rejects `%s %s`: %s", bad[i].argv[1],
                   bad[i].argc > 2 ? bad[i].argv[2] : "", err ? err->msg : "(no error)");
                burrow_error_free(err);
                err = NULL;
                burrow_run_config_free(&cfg);
        }

        struct burrow_bind b;
        ok(burrow_bind_parse("/tmp/:/data/./x/:ro", &b, &err) == 0 && b.readonly, "bind :ro");
        is_str(b.source, "/tmp", "bind source resolved");
        is_str(b.dest, "/data/x", "bind dest cleaned");
        burrow_bind_free(&b);
        ok(burrow_bind_parse("/tmp:/d:rw", &b, &err) == 0 && !b.readonly, "bind :rw");
        burrow_bind_free(&b);

        burrow_run_config_init(&cfg);
        setenv("BURROW_TEST_FROM_HOST", "hv", 1);
        unsetenv("BURROW_TEST_UNSET");
        char *envs[] = { "PATH=/x", "A=1", "A=2", "BURROW_TEST_FROM_HOST", "BURROW_TEST_UNSET" };
        cfg.env = envs;
        cfg.n_env = 5;
        cfg.tty = true;
        char **env = burrow_build_env(&cfg, "hn", &err);
        ok(env != NULL, "env builds");
        is_str(env_lookup(env, "PATH"), "/x", "-e PATH overrides the default");
        is_str(env_lookup(env, "HOSTNAME"), "hn", "HOSTNAME set");
        is_str(env_lookup(env, "HOME"), "/root", "HOME=/root for uid 0");
        is_str(env_lookup(env, "TERM"), "xterm", "TERM with -t");
        is_str(env_lookup(env, "A"), "2", "later -e wins");
        is_str(env_lookup(env, "BURROW_TEST_FROM_HOST"), "hv", "-e KEY copies burrow's value");
        ok(env_lookup(env, "BURROW_TEST_UNSET") == NULL, "-e KEY of an unset variable is dropped");
        int count = 0;
        for (char **e = env; *e; e++)
                count++;
        ok(count == 6, "no duplicates (got %d entries)", count);
        for (char **e = env; *e; e++)
                free(*e);
        free(env);

        ok(cli_help("run", stdout) == 0 && cli_help("nope", stdout) < 0, "help knows run, not nope");
        return tap_done();
}
