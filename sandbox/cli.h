/* burrow's command line: docker-style grammar, parsing only. */
#ifndef BURROW_SANDBOX_CLI_H
#define BURROW_SANDBOX_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "sandbox/runconfig.h"
#include "util/error.h"

/* Global options before the verb. On success *verb_index is the verb's position in argv
 * (argc if none). *done is set when the options answered by themselves (--version, --help). */
int cli_parse_global(int argc, char **argv, struct burrow_global *global, int *verb_index, int *done,
                     struct burrow_error **err);

/* `run` options (argv[0] is "run"); options stop at the first positional argument. */
int cli_parse_run(int argc, char **argv, struct burrow_run_config *cfg, int *help, struct burrow_error **err);

/* Print help for VERB (NULL: the overview). Returns -1 for an unknown verb. */
int cli_help(const char *verb, FILE *out);

/* The whole program; returns the exit status. */
int cli_main(int argc, char **argv);

/* Shared by the verb files. */
struct option;
int cli_next_option(int argc, char **argv, const char *shorts, const struct option *longs, int *token);
int cli_option_error(const char *verb, const char *token, int opt, struct burrow_error **err);
/* Print err as "burrow: MESSAGE", free it, return its exit code. */
int cli_fail(struct burrow_error *err);

/* Image verbs (cli_image.c). */
bool cli_image_verb(const char *verb);
int cli_image_main(const struct burrow_global *global, int argc, char **argv);
bool cli_container_verb(const char *verb);
/* The store of GLOBAL (or the default) and the runroot, made if missing; *ns filled to enter
 * the store's namespace (its runroot points into *runroot, which the caller frees). */
struct store;
struct store_ns;
int cli_open_store(const struct burrow_global *global, struct store **s, char **runroot, struct store_ns *ns,
                   struct burrow_error **err);
/* burrow volume SUBCOMMAND (sandbox/cli_volume.c) */
int cli_volume_main(const struct burrow_global *global, int argc, char **argv);
int cli_volume_help(FILE *out);
int cli_container_main(const struct burrow_global *global, int argc, char **argv);
int cli_container_help(const char *verb, FILE *out);
/* burrow inspect: REF as a container (0), or 1 when no container has that name or ID. */
struct store;
int cli_container_inspect(struct store *s, const char *ref, FILE *out, struct burrow_error **err);
int cli_image_help(const char *verb, FILE *out);

#endif
