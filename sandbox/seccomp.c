#include "config.h"

#include "sandbox/seccomp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fsutil.h"
#include "util/log.h"

static void cleanup_ctxp(scmp_filter_ctx *c)
{
        if (*c)
                seccomp_release(*c);
}

static void cleanup_jsonp(json_t **j)
{
        json_decref(*j);
}
#define cleanup_json __attribute__((cleanup(cleanup_jsonp)))

/* Go's name for this machine's architecture, which profiles use in includes/excludes. */
static const char *go_arch(uint32_t native)
{
        switch (native) {
        case SCMP_ARCH_X86_64:
                return "amd64";
        case SCMP_ARCH_X86:
                return "386";
        case SCMP_ARCH_AARCH64:
                return "arm64";
        case SCMP_ARCH_ARM:
                return "arm";
        case SCMP_ARCH_PPC64LE:
                return "ppc64le";
        case SCMP_ARCH_S390X:
                return "s390x";
        case SCMP_ARCH_RISCV64:
                return "riscv64";
        default:
                return "";
        }
}

/* Whether this kernel runs x32 syscalls (CONFIG_X86_X32_ABI; Debian's kernels do not): rules for
 * an ABI that cannot make calls only lengthen the filter, and the kernel compiles every
 * instruction of it at each start. */
static bool kernel_runs_x32(void)
{
#if defined(__x86_64__)
        static int cached = -1;
        if (cached < 0)
                cached = !(syscall(0x40000000 | SYS_getpid) < 0 && errno == ENOSYS);
        return cached;
#else
        return false;
#endif
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token (0 if unknown to it). */
static uint32_t arch_token(const char *name)
{
        if (name == NULL)
                return 0;
        char lower[32];
        const char *bare = strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
        size_t i;
        for (i = 0; bare[i] && i + 1 < sizeof(lower); i++)
                lower[i] = (char)tolower((unsigned char)bare[i]);
        lower[i] = '\0';
        return seccomp_arch_resolve_name(lower);
}

static int parse_action(const char *name, json_t *errno_ret, int default_errno, uint32_t *out)
{
        int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : default_errno;
        if (name == NULL)
                return -1;
        if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
                *out = SCMP_ACT_ALLOW;
        else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
                *out = SCMP_ACT_ERRNO((uint16_t)e);
        else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
                *out = SCMP_ACT_KILL_THREAD;
        else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
                *out = SCMP_ACT_KILL_PROCESS;
        else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
                *out = SCMP_ACT_TRAP;
        else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
                *out = SCMP_ACT_TRACE((uint16_t)e);
        else if (strcmp(name, "SCMP_ACT_LOG") == 0)
                *out = SCMP_ACT_LOG;
        else
                return -1;
        return 0;
}

static int parse_op(const char *name, enum scmp_compare *out)
{
        static const struct {
                const char *name;
                enum scmp_compare op;
        } ops[] = { { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
                    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
                    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ } };
        for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
                if (strcmp(name, ops[i].name) == 0) {
                        *out = ops[i].op;
                        return 0;
                }
        return -1;
}

static bool string_in(json_t *arr, const char *s)
{
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
                if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
                        return true;
        return false;
}

static bool kernel_at_least(const char *want)
{
        struct utsname u;
        unsigned have_major = 0, have_minor = 0, want_major = 0, want_minor = 0;
        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &have_major, &have_minor) < 1 ||
            sscanf(want, "%u.%u", &want_major, &want_minor) < 1)
                return true;
        return have_major > want_major || (have_major == want_major && have_minor >= want_minor);
}

/* The capabilities named in ARR; *UNKNOWN: some name is not one. */
static caps_mask caps_named(json_t *arr, bool *unknown)
{
        caps_mask mask = 0;
        size_t i;
        json_t *v;
        *unknown = false;
        json_array_foreach(arr, i, v)
        {
                caps_mask m;
                bool all;
                struct burrow_error *e = NULL;
                if (json_is_string(v) && caps_parse(json_string_value(v), &m, &all, &e) == 0)
                        mask |= m;
                else
                        *unknown = true;
                burrow_error_free(e);
        }
        return mask;
}

/* Docker's rule for which entries apply: includes must all hold, excludes must not. */
static bool entry_applies(json_t *entry, caps_mask caps, const char *arch)
{
        json_t *inc = json_object_get(entry, "includes"), *exc = json_object_get(entry, "excludes");
        json_t *v;
        if (json_array_size(v = json_object_get(inc, "arches")) && !string_in(v, arch))
                return false;
        bool unknown;
        caps_mask named;
        /* includes: every capability named, and none unknown to us */
        if (json_array_size(v = json_object_get(inc, "caps")) &&
            ((named = caps_named(v, &unknown)), unknown || (caps & named) != named))
                return false;
        if (json_is_string(v = json_object_get(inc, "minKernel")) && !kernel_at_least(json_string_value(v)))
                return false;
        if (json_array_size(v = json_object_get(exc, "arches")) && string_in(v, arch))
                return false;
        /* excludes: any capability named */
        if (json_array_size(v = json_object_get(exc, "caps")) && (caps & caps_named(v, &unknown)) != 0)
                return false;
        if (json_is_string(v = json_object_get(exc, "minKernel")) && kernel_at_least(json_string_value(v)))
                return false;
        return true;
}

struct arch_max {
        uint32_t token;
        int max; /* the highest syscall number the profile names on it, -1: none */
};

static int add_entry(scmp_filter_ctx ctx, json_t *entry, size_t index, uint32_t default_action, int default_errno,
                     struct arch_max *arches, size_t n_arches, const char *source, struct burrow_error **err)
{
        uint32_t action;
        if (parse_action(json_string_value(json_object_get(entry, "action")), json_object_get(entry, "errnoRet"),
                         default_errno, &action) < 0)
                return burrow_error_set(err, 0, "seccomp profile `%s`: syscalls[%zu] has an action burrow does not know "
                                                "(`%s`; SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _TRAP, _TRACE or _LOG)",
                                        source, index, json_string_value(json_object_get(entry, "action")) ?: "none");
        json_t *args = json_object_get(entry, "args");
        size_t n_args = json_array_size(args);
        if (n_args > 6)
                return burrow_error_set(err, 0, "seccomp profile `%s`: syscalls[%zu] has more than 6 args", source, index);
        struct scmp_arg_cmp conds[6];
        bool same_index = false;
        for (size_t i = 0; i < n_args; i++) {
                json_t *a = json_array_get(args, i);
                enum scmp_compare op;
                json_int_t argi = json_integer_value(json_object_get(a, "index"));
                if (!json_is_integer(json_object_get(a, "index")) || argi < 0 || argi > 5 ||
                    parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
                        return burrow_error_set(err, 0, "seccomp profile `%s`: syscalls[%zu].args[%zu] needs an index 0-5 and an "
                                                        "op (SCMP_CMP_EQ, _NE, _LT, _LE, _GE, _GT, _MASKED_EQ)",
                                                source, index, i);
                conds[i] = (struct scmp_arg_cmp){ .arg = (unsigned)argi,
                                                  .op = op,
                                                  .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
                                                  .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo")) };
                for (size_t k = 0; k < i; k++)
                        if (conds[k].arg == conds[i].arg)
                                same_index = true;
        }
        json_t *names = json_object_get(entry, "names");
        json_t *one = json_object_get(entry, "name"); /* the older format's */
        size_t n_names = json_is_array(names) ? json_array_size(names) : json_is_string(one) ? 1 : 0;
        for (size_t i = 0; i < n_names; i++) {
                const char *name = json_is_array(names) ? json_string_value(json_array_get(names, i)) : json_string_value(one);
                if (name == NULL)
                        return burrow_error_set(err, 0, "seccomp profile `%s`: syscalls[%zu].names[%zu] is not a string", source,
                                                index, i);
                int nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* a syscall this libseccomp does not know: as Docker, skip it */
                for (size_t a = 0; a < n_arches; a++) {
                        int anr = seccomp_syscall_resolve_name_arch(arches[a].token, name);
                        if (anr >= 0 && anr > arches[a].max)
                                arches[a].max = anr;
                }
                if (action == default_action)
                        continue; /* what the default does anyway (libseccomp refuses such rules) */
                int r;
                if (!same_index) {
                        r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n_args, n_args ? conds : NULL);
                } else {
                        /* libseccomp cannot test one argument twice in a rule: a rule each, as runc does */
                        r = 0;
                        for (size_t k = 0; r == 0 && k < n_args; k++)
                                r = seccomp_rule_add_array(ctx, action, nr, 1, &conds[k]);
                }
                if (r < 0 && r != -EEXIST)
                        return burrow_error_set(err, -r, "seccomp profile `%s`: the rule for `%s` (syscalls[%zu])", source, name,
                                                index);
        }
        return 0;
}

/* Syscalls newer than the profile get ENOSYS, not its default: libc then falls back to an older
 * call (clone3 -> clone, fchmodat2 -> fchmodat), as runc and crun arrange. A few instructions
 * in front of libseccomp's program: for each architecture, a number above the highest one the
 * profile names returns ENOSYS. (x32's numbers carry bit 30 under x86_64's audit token.) */
static int prepend_enosys(struct seccomp_program *p, const struct arch_max *arches, size_t n_arches)
{
        enum { MAX_STUB = 64 };
        struct sock_filter stub[MAX_STUB];
        size_t n = 0;
        int max64 = -1, maxx32 = -1;
        bool have64 = false;
        for (size_t a = 0; a < n_arches; a++) {
                if (arches[a].token == SCMP_ARCH_X86_64) {
                        have64 = true;
                        max64 = arches[a].max;
                } else if (arches[a].token == SCMP_ARCH_X32) {
                        maxx32 = arches[a].max;
                }
        }
        /* Jumps are filled once the stub's length is known: ENOSYS is at STUB_LEN - 1, libseccomp's
         * program at STUB_LEN. Each block: load the arch, skip the block unless it matches, load the
         * number, compare. */
        struct {
                size_t at;
                bool to_enosys_true;
        } fix[MAX_STUB];
        size_t n_fix = 0;
        for (size_t a = 0; a < n_arches; a++) {
                uint32_t token = arches[a].token;
                if (token == SCMP_ARCH_X32 && have64)
                        continue; /* in x86_64's block */
                if (arches[a].max < 0 && !(token == SCMP_ARCH_X86_64 && maxx32 >= 0))
                        continue;
                bool with_x32 = token == SCMP_ARCH_X86_64 && maxx32 >= 0;
                size_t block = with_x32 ? 6 : 4;
                if (n + block + 2 > MAX_STUB)
                        return -1;
                stub[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
                stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, token, 0, (uint8_t)(block - 2));
                stub[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
                if (with_x32) {
                        /* x32: bit 30 set */
                        stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000u, 1, 0);
                        fix[n_fix++] = (typeof(fix[0])){ n, true };
                        stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)(max64 < 0 ? 0 : max64), 0, 0);
                        fix[n_fix++] = (typeof(fix[0])){ n, true };
                        stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)maxx32, 0, 0);
                } else {
                        fix[n_fix++] = (typeof(fix[0])){ n, true };
                        stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)arches[a].max, 0, 0);
                }
        }
        if (n == 0)
                return 0;
        size_t enosys = n + 1; /* after the jump to the program below */
        stub[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA | BPF_K, 1, 0, 0); /* no block matched */
        stub[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
        size_t program = n;
        for (size_t i = 0; i < n_fix; i++) {
                size_t at = fix[i].at;
                stub[at].jt = (uint8_t)(enosys - at - 1);
                stub[at].jf = (uint8_t)(program - at - 1);
        }
        if (p->len + n > BPF_MAXINSNS)
                return -1;
        struct sock_filter *all = malloc((p->len + n) * sizeof(*all));
        if (all == NULL)
                return -1;
        memcpy(all, stub, n * sizeof(*all));
        memcpy(all + n, p->insns, p->len * sizeof(*all));
        free(p->insns);
        p->insns = all;
        p->len += n;
        return 0;
}

static int compile(const char *profile, const char *source, caps_mask caps, struct seccomp_program *out,
                   struct burrow_error **err)
{
        json_error_t je;
        cleanup_json json_t *j = json_loads(profile, 0, &je);
        if (j == NULL)
                return burrow_error_set(err, 0, "seccomp profile `%s` is not valid JSON (line %d: %s)", source, je.line, je.text);
        if (!json_is_object(j))
                return burrow_error_set(err, 0, "seccomp profile `%s` is not a JSON object (Docker's format: {\"defaultAction\": "
                                                "..., \"syscalls\": [...]})",
                                        source);
        int default_errno = json_is_integer(json_object_get(j, "defaultErrnoRet"))
                                    ? (int)json_integer_value(json_object_get(j, "defaultErrnoRet"))
                                    : EPERM;
        uint32_t default_action;
        if (parse_action(json_string_value(json_object_get(j, "defaultAction")), NULL, default_errno, &default_action) < 0)
                return burrow_error_set(err, 0, "seccomp profile `%s`: defaultAction `%s` is not one burrow knows (SCMP_ACT_ERRNO, "
                                                "_ALLOW, _KILL, _KILL_PROCESS, _TRAP, _TRACE, _LOG)",
                                        source, json_string_value(json_object_get(j, "defaultAction")) ?: "(missing)");
        __attribute__((cleanup(cleanup_ctxp))) scmp_filter_ctx ctx = seccomp_init(default_action);
        if (ctx == NULL)
                return burrow_error_set(err, ENOMEM, "seccomp");
        /* burrow sets no_new_privs itself, or deliberately not */
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        /* A binary tree over syscall numbers rather than a list: when the filter is attached the
         * kernel runs it for every syscall number to find the always-allowed ones; through a
         * list of ~1000 instructions that took 1.3 ms of every start. */
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        uint32_t native = seccomp_arch_native();
        struct arch_max arches[8] = { { native, -1 } };
        size_t n_arches = 1;
        json_t *map = json_object_get(j, "archMap");
        size_t i;
        json_t *v;
        json_array_foreach(map, i, v)
        {
                if (arch_token(json_string_value(json_object_get(v, "architecture"))) != native)
                        continue;
                size_t k;
                json_t *sub;
                json_array_foreach(json_object_get(v, "subArchitectures"), k, sub)
                {
                        uint32_t t = arch_token(json_string_value(sub));
                        if (t == SCMP_ARCH_X32 && !kernel_runs_x32())
                                continue;
                        if (t && t != native && n_arches < 8)
                                arches[n_arches++] = (struct arch_max){ t, -1 };
                }
        }
        if (!json_is_array(map)) {
                json_array_foreach(json_object_get(j, "architectures"), i, v)
                {
                        uint32_t t = arch_token(json_string_value(v));
                        if (t == SCMP_ARCH_X32 && !kernel_runs_x32())
                                continue;
                        if (t && t != native && n_arches < 8)
                                arches[n_arches++] = (struct arch_max){ t, -1 };
                }
        }
        for (size_t a = 1; a < n_arches; a++) {
                int r = seccomp_arch_add(ctx, arches[a].token);
                if (r < 0 && r != -EEXIST)
                        return burrow_error_set(err, -r, "seccomp profile `%s`: adding an architecture", source);
        }
        const char *arch = go_arch(native);
        json_t *calls = json_object_get(j, "syscalls");
        if (calls && !json_is_array(calls))
                return burrow_error_set(err, 0, "seccomp profile `%s`: \"syscalls\" is not a list", source);
        json_array_foreach(calls, i, v)
        {
                if (!json_is_object(v))
                        return burrow_error_set(err, 0, "seccomp profile `%s`: syscalls[%zu] is not an object", source, i);
                if (!entry_applies(v, caps, arch))
                        continue;
                if (add_entry(ctx, v, i, default_action, default_errno, arches, n_arches, source, err) < 0)
                        return -1;
        }
        /* export: libseccomp writes the BPF to a descriptor */
        cleanup_close int fd = memfd_create("burrow-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return burrow_error_set(err, errno, "seccomp: memfd_create");
        int r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return burrow_error_set(err, -r, "seccomp profile `%s`: compiling the filter", source);
        off_t size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0)
                return burrow_error_set(err, EINVAL, "seccomp profile `%s`: libseccomp produced no filter", source);
        out->len = (size_t)size / sizeof(struct sock_filter);
        out->insns = malloc((size_t)size);
        if (out->insns == NULL)
                return burrow_error_set(err, ENOMEM, "seccomp");
        if (pread(fd, out->insns, (size_t)size, 0) != size) {
                seccomp_program_free(out);
                return burrow_error_set(err, errno, "seccomp: reading the filter back");
        }
        bool enosys_default = default_action == SCMP_ACT_ERRNO(ENOSYS);
        if (default_action != SCMP_ACT_ALLOW && default_action != SCMP_ACT_LOG && !enosys_default &&
            prepend_enosys(out, arches, n_arches) < 0) {
                seccomp_program_free(out);
                return burrow_error_set(err, E2BIG, "seccomp profile `%s`: the filter is too long", source);
        }
        if (out->len > BPF_MAXINSNS) {
                seccomp_program_free(out);
                return burrow_error_set(err, E2BIG, "seccomp profile `%s`: the filter has %zu instructions, more than the "
                                                    "kernel's %d",
                                        source, out->len, BPF_MAXINSNS);
        }
        return 0;
}

/* Bumped whenever compile() would make a different program from the same inputs. */
#define SECCOMP_CACHE_FORMAT 2

/* FNV-1a: a cache key, not a defence (the cache is the user's own, on the runroot). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
        const unsigned char *p = data;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static int cache_read(int dir, const char *name, struct seccomp_program *out)
{
        cleanup_close int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size % (off_t)sizeof(struct sock_filter) != 0 || st.st_size > (off_t)(BPF_MAXINSNS * sizeof(struct sock_filter)))
                return -1;
        out->insns = malloc((size_t)st.st_size);
        if (out->insns == NULL)
                return -1;
        if (read(fd, out->insns, (size_t)st.st_size) != st.st_size) {
                seccomp_program_free(out);
                return -1;
        }
        out->len = (size_t)st.st_size / sizeof(struct sock_filter);
        return 0;
}

static void cache_write(int dir, const char *name, const struct seccomp_program *p)
{
        char tmp[64];
        snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
        cleanup_close int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        size_t size = p->len * sizeof(*p->insns);
        if (write(fd, p->insns, size) != (ssize_t)size || renameat(dir, tmp, dir, name) < 0)
                unlinkat(dir, tmp, 0);
}

int seccomp_prepare(const char *profile, const char *source, caps_mask caps, const char *cache_dir,
                    struct seccomp_program *out, struct burrow_error **err)
{
        out->insns = NULL;
        out->len = 0;
        struct utsname u;
        if (uname(&u) < 0)
                memset(&u, 0, sizeof(u));
        /* everything the program depends on: the profile, the capabilities its entries test, the
         * kernel (minKernel), libseccomp and burrow */
        char meta[256];
        int n = snprintf(meta, sizeof(meta), "burrow %s seccomp %d|libseccomp %d.%d.%d|%s %s|caps %llx", BURROW_VERSION,
                         SECCOMP_CACHE_FORMAT, SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO, u.release, u.machine, (unsigned long long)caps);
        uint64_t h = fnv1a(0xcbf29ce484222325ULL, meta, (size_t)(n > 0 ? n : 0));
        h = fnv1a(h, profile, strlen(profile));
        char name[40];
        snprintf(name, sizeof(name), "%016llx.bpf", (unsigned long long)h);
        cleanup_close int dir = -1;
        if (cache_dir) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/seccomp", cache_dir);
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        burrow_debug("seccomp cache `%s`: %s", path, strerror(errno));
                dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dir >= 0 && cache_read(dir, name, out) == 0)
                        return 0;
        }
        if (compile(profile, source, caps, out, err) < 0)
                return -1;
        if (dir >= 0)
                cache_write(dir, name, out);
        return 0;
}

int seccomp_install(const struct seccomp_program *p, struct burrow_error **err)
{
        struct sock_fprog prog = { .len = (unsigned short)p->len, .filter = p->insns };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return burrow_error_set(err, errno, "loading the seccomp filter%s",
                                        errno == EACCES ? " (without no_new_privs this needs CAP_SYS_ADMIN)" : "");
        return 0;
}

void seccomp_program_free(struct seccomp_program *p)
{
        free(p->insns);
        p->insns = NULL;
        p->len = 0;
}

int burrow_seccomp_profile_print(FILE *out, struct burrow_error **err)
{
        json_error_t je;
        cleanup_json json_t *j = json_loads(seccomp_default_profile, 0, &je);
        if (j == NULL)
                return burrow_error_set(err, 0, "the built-in seccomp profile: %s", je.text);
        if (json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
                return burrow_error_set(err, errno, "writing the seccomp profile");
        return 0;
}
