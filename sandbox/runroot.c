#include "config.h"

#include "sandbox/runroot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"

char *runroot_default(void)
{
        char *out = NULL;
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        /* Slurm jobs and `su` sessions often carry another user's XDG_RUNTIME_DIR, or none. */
        if (xdg && xdg[0] == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) {
                if (asprintf(&out, "%s/burrow", xdg) < 0)
                        return NULL;
                return out;
        }
        if (asprintf(&out, "/tmp/burrow-%u", (unsigned)getuid()) < 0)
                return NULL;
        return out;
}

static int check_private_dir(const char *dir, const char *what, struct burrow_error **err)
{
        struct stat st;
        if (lstat(dir, &st) < 0)
                return burrow_error_set(err, errno, "%s `%s`", what, dir);
        if (!S_ISDIR(st.st_mode))
                return burrow_error_set(err, 0, "%s `%s` is not a directory (remove it, or choose another with --runroot)", what, dir);
        if (st.st_uid != getuid())
                return burrow_error_set(err, 0, "%s `%s` belongs to uid %u, not to you (uid %u): refusing to use it; remove it or "
                                                "choose another with --runroot",
                                        what, dir, (unsigned)st.st_uid, (unsigned)getuid());
        if (st.st_mode & 022)
                return burrow_error_set(err, 0, "%s `%s` is writable by others (mode %04o): refusing to use it; run chmod 700 on it",
                                        what, dir, (unsigned)(st.st_mode & 07777));
        return 0;
}

int runroot_ensure(const char *dir, struct burrow_error **err)
{
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "creating runroot `%s`%s", dir,
                                        errno == ENOENT ? " (its parent directory is missing)" : "");
        return check_private_dir(dir, "runroot", err);
}

int runroot_state_write(const char *runroot, const char *id, pid_t pid, const char *rootfs, struct burrow_error **err)
{
        cleanup_free char *containers = NULL, *dir = NULL, *building = NULL, *tmp = NULL, *final = NULL;
        if (asprintf(&containers, "%s/containers", runroot) < 0 || asprintf(&dir, "%s/%s", containers, id) < 0 ||
            asprintf(&building, "%s/.%s", containers, id) < 0 || asprintf(&tmp, "%s/state.json.tmp", building) < 0 ||
            asprintf(&final, "%s/state.json", building) < 0)
                return burrow_error_set(err, ENOMEM, "state path");
        if (mkdir(containers, 0700) < 0 && errno != EEXIST)
                return burrow_error_set(err, errno, "creating `%s`", containers);
        /* made under a dot name (which runroot_prune_stale passes over) and locked before it
         * gets its real name: a concurrent prune never sees it unlocked */
        if (mkdir(building, 0700) < 0)
                return burrow_error_set(err, errno, "creating `%s`", building);
        cleanup_close int lock = open(building, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                rmdir(building);
                return burrow_error_set(err, e, "locking `%s`", building);
        }
        json_t *state = json_pack("{s:s, s:I, s:s, s:s, s:I}", "id", id, "pid", (json_int_t)pid, "rootfs", rootfs,
                                  "status", "running", "started", (json_int_t)time(NULL));
        if (state == NULL)
                return burrow_error_set(err, ENOMEM, "building `%s`", final);
        cleanup_free char *text = json_dumps(state, JSON_COMPACT);
        json_decref(state);
        if (text == NULL)
                return burrow_error_set(err, ENOMEM, "building `%s`", final);
        if (write_file_at(AT_FDCWD, tmp, text, strlen(text), 0600, err) < 0)
                return -1;
        if (rename(tmp, final) < 0 || rename(building, dir) < 0)
                return burrow_error_set(err, errno, "renaming `%s` into place", building);
        return steal_fd(&lock);
}

void runroot_state_remove(const char *runroot, const char *id)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/containers/%s/state.json", runroot, id);
        unlink(path);
        snprintf(path, sizeof(path), "%s/containers/%s", runroot, id);
        rmdir(path);
}

void runroot_prune_stale(const char *runroot)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/containers", runroot);
        cleanup_close int top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (top < 0)
                return;
        cleanup_closedir DIR *d = fdopendir(top);
        if (d == NULL)
                return;
        top = -1; /* owned by d now */
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                cleanup_close int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                struct stat st;
                /* ".ID": one being made (unlocked for a moment after mkdir), or one whose burrow
                 * was killed in that moment: only the latter is old */
                if (de->d_name[0] == '.' && (fd < 0 || fstat(fd, &st) < 0 || time(NULL) - st.st_mtime < 60))
                        continue;
                if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                        continue; /* alive, or not ours to judge */
                unlinkat(fd, "state.json", 0);
                unlinkat(fd, "state.json.tmp", 0);
                unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        }
}
