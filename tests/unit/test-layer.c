/* layer_unpack against tarballs made here with libarchive's writer: good ones and evil ones. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/digest.h"
#include "fs/layer.h"
#include "tests/unit/tap.h"

struct tarball {
        struct archive *a;
        char *buf;
        size_t cap, used;
};

static void tb_open(struct tarball *t, int filter)
{
        t->cap = 4 << 20;
        t->buf = malloc(t->cap);
        t->a = archive_write_new();
        archive_write_set_format_pax_restricted(t->a);
        if (filter == 'g')
                archive_write_add_filter_gzip(t->a);
        else if (filter == 'z')
                archive_write_add_filter_zstd(t->a);
        archive_write_open_memory(t->a, t->buf, t->cap, &t->used);
}

static void tb_add(struct tarball *t, const char *name, mode_t type, mode_t perm, const char *data, const char *link,
                   const char *hardlink)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, 1000);
        archive_entry_set_gid(e, 1000);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (link)
                archive_entry_set_symlink(e, link);
        if (hardlink) {
                archive_entry_set_hardlink(e, hardlink);
                archive_entry_set_size(e, 0);
        } else {
                archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
        }
        if (type == AE_IFCHR)
                archive_entry_set_rdev(e, makedev(1, 3));
        if (data && strcmp(name, "xattr-file") == 0)
                archive_entry_xattr_add_entry(e, "user.burrow.test", "v1", 2);
        archive_write_header(t->a, e);
        if (data && !hardlink)
                archive_write_data(t->a, data, strlen(data));
        archive_entry_free(e);
}

/* Close the writer and put the stream, or its first keep_percent %, in an unlinked file. */
static int tb_fd(struct tarball *t, size_t keep_percent)
{
        archive_write_close(t->a);
        archive_write_free(t->a);
        char path[] = "/tmp/burrow-layer-XXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        size_t len = keep_percent ? t->used * keep_percent / 100 : t->used;
        if (write(fd, t->buf, len) != (ssize_t)len)
                return -1;
        lseek(fd, 0, SEEK_SET);
        return fd;
}

static char top[] = "/tmp/burrow-test-layer-XXXXXX";

static int fresh_dir(const char *name)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", top, name);
        mkdir(p, 0755);
        return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int unpack(struct tarball *t, const char *dir, struct layer_stats *st, struct burrow_error **err, size_t keep_percent)
{
        int fd = tb_fd(t, keep_percent);
        int d = fresh_dir(dir);
        int r = layer_unpack(fd, d, -1, st, err);
        close(fd);
        close(d);
        free(t->buf);
        return r;
}

static char *slurp(const char *dir, const char *name)
{
        static char buf[256];
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s/%s", top, dir, name);
        int fd = open(p, O_RDONLY | O_NOFOLLOW);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (fd >= 0)
                close(fd);
        buf[n < 0 ? 0 : n] = '\0';
        return n < 0 ? NULL : buf;
}

static int lstat_in(const char *dir, const char *name, struct stat *st)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s/%s", top, dir, name);
        return lstat(p, st);
}

int main(void)
{
        mkdtemp(top);
        struct burrow_error *err = NULL;
        struct layer_stats st;
        struct stat s1, s2;

        /* A good layer, gzip'ed, with every kind of entry. */
        struct tarball t;
        tb_open(&t, 'g');
        tb_add(&t, "./", AE_IFDIR, 0755, NULL, NULL, NULL);
        tb_add(&t, "./etc/", AE_IFDIR, 0755, NULL, NULL, NULL);
        tb_add(&t, "/etc/hostname", AE_IFREG, 0644, "layer-host\n", NULL, NULL);
        tb_add(&t, "bin/su", AE_IFREG, 04755, "#!/bin/sh\n", NULL, NULL);
        tb_add(&t, "bin/su-again", AE_IFREG, 0, NULL, NULL, "bin/su");
        tb_add(&t, "bin/sh", AE_IFLNK, 0777, NULL, "/bin/busybox", NULL);
        tb_add(&t, "pipe", AE_IFIFO, 0600, NULL, NULL, NULL);
        tb_add(&t, "dev/null", AE_IFCHR, 0666, NULL, NULL, NULL);
        tb_add(&t, "xattr-file", AE_IFREG, 0644, "x", NULL, NULL);
        tb_add(&t, "gone-dir/.wh.gone", AE_IFREG, 0, NULL, NULL, NULL);
        tb_add(&t, "opaque/.wh..wh..opq", AE_IFREG, 0, NULL, NULL, NULL);
        tb_add(&t, "opaque/kept", AE_IFREG, 0644, "k", NULL, NULL);
        ok(unpack(&t, "good", &st, &err, 0) == 0, "a good gzip layer unpacks (%s)", err ? err->msg : "ok");
        is_str(slurp("good", "etc/hostname"), "layer-host\n", "leading / stripped: etc/hostname inside the layer");
        ok(lstat_in("good", "bin/su", &s1) == 0 && (s1.st_mode & 07777) == 04755, "setuid bit kept (%o)", s1.st_mode & 07777);
        ok(lstat_in("good", "bin/su-again", &s2) == 0 && s1.st_ino == s2.st_ino, "hardlink inside the layer is a hardlink");
        char target[64] = "";
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/good/bin/sh", top);
        ssize_t tl = readlink(p, target, sizeof(target) - 1);
        target[tl < 0 ? 0 : tl] = '\0';
        is_str(target, "/bin/busybox", "absolute symlink stored as it is");
        ok(lstat_in("good", "pipe", &s1) == 0 && S_ISFIFO(s1.st_mode), "FIFO made");
        ok(lstat_in("good", "dev/null", &s1) < 0 && st.skipped_devices == 1, "device node skipped and counted");
        char xv[8] = "";
        snprintf(p, sizeof(p), "%s/good/xattr-file", top);
        ok(getxattr(p, "user.burrow.test", xv, sizeof(xv)) == 2 && memcmp(xv, "v1", 2) == 0, "user.* xattr kept");
        ok(lstat_in("good", "gone-dir/gone", &s1) == 0 && S_ISCHR(s1.st_mode) && s1.st_rdev == makedev(0, 0),
           ".wh.gone became a 0:0 character device `gone`");
        ok(lstat_in("good", "gone-dir/.wh.gone", &s1) < 0, "the .wh. file itself is not stored");
        snprintf(p, sizeof(p), "%s/good/opaque", top);
        ok(getxattr(p, "user.overlay.opaque", xv, sizeof(xv)) == 1 && xv[0] == 'y', ".wh..wh..opq: user.overlay.opaque=y");
        ok(lstat_in("good", "etc/hostname", &s1) == 0 && s1.st_mtime == 1700000000, "mtime kept");
        ok(st.whiteouts == 2 && st.entries >= 10, "stats count whiteouts (%llu) and entries (%llu)",
           (unsigned long long)st.whiteouts, (unsigned long long)st.entries);
        ok(digest_valid(st.diff_id) && digest_valid(st.blob_digest) && strcmp(st.diff_id, st.blob_digest) != 0,
           "diffID and blob digest differ for a compressed layer");

        /* The digests are those of the bytes: the same tar uncompressed has blob digest == diffID. */
        tb_open(&t, 0);
        tb_add(&t, "a", AE_IFREG, 0644, "hello", NULL, NULL);
        archive_write_close(t.a);
        archive_write_free(t.a);
        char want[DIGEST_STR_LEN + 1];
        digest_buffer(t.buf, t.used, want);
        char path[] = "/tmp/burrow-layer-plain-XXXXXX";
        int fd = mkstemp(path);
        unlink(path);
        ok(write(fd, t.buf, t.used) == (ssize_t)t.used, "plain tar written");
        lseek(fd, 0, SEEK_SET);
        int d = fresh_dir("plain");
        ok(layer_unpack(fd, d, -1, &st, &err) == 0, "plain tar unpacks");
        is_str(st.diff_id, want, "diffID is the sha256 of the tar bytes");
        is_str(st.blob_digest, want, "blob digest of an uncompressed layer equals its diffID");
        ok(st.tar_size == t.used, "tar size counted");
        close(fd);
        close(d);
        free(t.buf);

        /* zstd */
        tb_open(&t, 'z');
        tb_add(&t, "z", AE_IFREG, 0644, "zstd!", NULL, NULL);
        ok(unpack(&t, "zstd", &st, &err, 0) == 0, "a zstd layer unpacks");
        is_str(slurp("zstd", "z"), "zstd!", "its content");
        is_str(st.compression, "zstd", "compression named");

        /* Evil tarballs. */
        tb_open(&t, 'g');
        tb_add(&t, "../escape", AE_IFREG, 0644, "x", NULL, NULL);
        ok(unpack(&t, "dotdot", &st, &err, 0) < 0 && err && strstr(err->msg, "`../escape` has a `..` component"),
           "`../escape` refused: %s", err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        snprintf(p, sizeof(p), "%s/escape", top);
        ok(access(p, F_OK) < 0, "nothing written next to the layer");

        tb_open(&t, 'g');
        tb_add(&t, "a/b/../../../x", AE_IFREG, 0644, "x", NULL, NULL);
        ok(unpack(&t, "dotdot2", &st, &err, 0) < 0 && err && strstr(err->msg, ".."), "`..` in the middle refused");
        burrow_error_free(err);
        err = NULL;

        char outside[256];
        snprintf(outside, sizeof(outside), "%s/outside", top);
        mkdir(outside, 0755);
        tb_open(&t, 'g');
        tb_add(&t, "a", AE_IFLNK, 0777, NULL, outside, NULL);
        tb_add(&t, "a/x", AE_IFREG, 0644, "through the link", NULL, NULL);
        ok(unpack(&t, "symlink", &st, &err, 0) < 0 && err && strstr(err->msg, "through a symlink that leaves the layer"),
           "symlink `a -> %s` then `a/x` refused: %s", outside, err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        snprintf(p, sizeof(p), "%s/x", outside);
        ok(access(p, F_OK) < 0, "nothing written through the symlink");

        tb_open(&t, 'g');
        tb_add(&t, "root", AE_IFLNK, 0777, NULL, "/", NULL);
        tb_add(&t, "root/etc/burrow-evil", AE_IFREG, 0644, "x", NULL, NULL);
        ok(unpack(&t, "symlink2", &st, &err, 0) < 0 && err && strstr(err->msg, "leaves the layer"), "`root -> /` then `root/etc/...` refused");
        burrow_error_free(err);
        err = NULL;
        ok(access("/etc/burrow-evil", F_OK) < 0, "the host's /etc untouched");

        tb_open(&t, 'g');
        tb_add(&t, "shadow", AE_IFREG, 0, NULL, NULL, "/etc/shadow");
        ok(unpack(&t, "hardlink", &st, &err, 0) < 0 && err && strstr(err->msg, "not a file of this layer"),
           "hardlink to /etc/shadow refused: %s", err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        tb_open(&t, 'g');
        tb_add(&t, "shadow", AE_IFREG, 0, NULL, NULL, "../../../../etc/shadow");
        ok(unpack(&t, "hardlink2", &st, &err, 0) < 0 && err && strstr(err->msg, "outside the layer"), "hardlink with .. refused");
        burrow_error_free(err);
        err = NULL;

        tb_open(&t, 'g');
        tb_add(&t, "/etc/passwd", AE_IFREG, 0644, "evil:x:0:0::/:/bin/sh\n", NULL, NULL);
        struct stat before, after;
        stat("/etc/passwd", &before);
        ok(unpack(&t, "abs", &st, &err, 0) == 0, "an entry `/etc/passwd` unpacks");
        is_str(slurp("abs", "etc/passwd"), "evil:x:0:0::/:/bin/sh\n", "as etc/passwd inside the layer");
        stat("/etc/passwd", &after);
        ok(before.st_mtime == after.st_mtime && before.st_size == after.st_size, "the host's /etc/passwd untouched");

        /* Later entries of one layer replace earlier ones of the same name, whatever the types. */
        tb_open(&t, 'g');
        tb_add(&t, "a", AE_IFREG, 0644, "old\n", NULL, NULL);
        tb_add(&t, "a", AE_IFREG, 0600, "new\n", NULL, NULL);
        tb_add(&t, "b", AE_IFREG, 0644, "file\n", NULL, NULL);
        tb_add(&t, "b", AE_IFDIR, 0755, NULL, NULL, NULL);
        tb_add(&t, "b/inner", AE_IFREG, 0644, "in\n", NULL, NULL);
        tb_add(&t, "c", AE_IFDIR, 0755, NULL, NULL, NULL);
        tb_add(&t, "c/x", AE_IFREG, 0644, "x\n", NULL, NULL);
        tb_add(&t, "c", AE_IFREG, 0644, "now a file\n", NULL, NULL);
        tb_add(&t, "d", AE_IFREG, 0644, "file\n", NULL, NULL);
        tb_add(&t, "d", AE_IFLNK, 0777, NULL, "a", NULL);
        tb_add(&t, "e", AE_IFLNK, 0777, NULL, "/etc", NULL);
        tb_add(&t, "e", AE_IFDIR, 0755, NULL, NULL, NULL);
        tb_add(&t, "e/f", AE_IFREG, 0644, "beneath\n", NULL, NULL);
        tb_add(&t, "g", AE_IFDIR, 0700, NULL, NULL, NULL);
        tb_add(&t, "g", AE_IFDIR, 0750, NULL, NULL, NULL);
        ok(unpack(&t, "replace", &st, &err, 0) == 0, "entries that replace earlier ones unpack (%s)", err ? err->msg : "ok");
        is_str(slurp("replace", "a"), "new\n", "a file replaces a file");
        ok(lstat_in("replace", "a", &s1) == 0 && (s1.st_mode & 0777) == 0600, "with the new mode");
        ok(lstat_in("replace", "b", &s1) == 0 && S_ISDIR(s1.st_mode), "a directory replaces a file");
        is_str(slurp("replace", "b/inner"), "in\n", "and holds its entries");
        is_str(slurp("replace", "c"), "now a file\n", "a file replaces a directory and its contents");
        char rl[16] = "";
        snprintf(p, sizeof(p), "%s/replace/d", top);
        ok(readlink(p, rl, sizeof(rl) - 1) == 1 && rl[0] == 'a', "a symlink replaces a file");
        ok(lstat_in("replace", "e", &s1) == 0 && S_ISDIR(s1.st_mode), "a directory replaces a symlink to /etc");
        is_str(slurp("replace", "e/f"), "beneath\n", "what follows lands beneath it, not in /etc");
        ok(access("/etc/f", F_OK) < 0 || strcmp(slurp("replace", "e/f"), "beneath\n") == 0, "the host's /etc untouched");
        ok(lstat_in("replace", "g", &s1) == 0 && (s1.st_mode & 0777) == 0750, "a directory again: kept, new mode");

        tb_open(&t, 'g');
        static char big[200000];
        for (size_t i = 0; i < sizeof(big) - 1; i++)
                big[i] = (char)('a' + (i * 7919) % 26);
        tb_add(&t, "big", AE_IFREG, 0644, big, NULL, NULL);
        fd = tb_fd(&t, 50);
        d = fresh_dir("truncated");
        ok(layer_unpack(fd, d, -1, &st, &err) < 0 && err && strstr(err->msg, "truncated"), "truncated gzip: %s", err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        close(fd);
        close(d);
        free(t.buf);

        fd = open("/etc/hostname", O_RDONLY);
        d = fresh_dir("notatar");
        ok(layer_unpack(fd, d, -1, &st, &err) < 0 && err, "not a tar: error (%s)", err ? err->msg : "-");
        burrow_error_free(err);
        err = NULL;
        close(fd);
        close(d);

        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
        ok(system(cmd) == 0, "cleanup");
        return tap_done();
}
