/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(log_store, "qubes.store");

#define MAX_WATCHES 8
#define VALUE_MAX 256

struct watch {
	int wd;
	char key[PATH_MAX];
	char dir_path[PATH_MAX]; /* the watched directory */
	const char *base;        /* file name inside it (points into key) */
};

struct dir_store {
	struct qubes_store base;
	char root[PATH_MAX];
	int inotify_fd;
	struct watch watches[MAX_WATCHES];
	int n_watches;
};

bool qubes_store_key_valid(const char *key)
{
	if (!key || key[0] != '/' || strlen(key) >= 200)
		return false;
	const char *c = key + 1;
	while (*c) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++) {
			char ch = c[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
				return false;
		}
		c += n;
		if (*c == '/')
			c++;
	}
	return key[strlen(key) - 1] != '/';
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int key_path(struct dir_store *d, const char *key, char *out, size_t len)
{
	if (!qubes_store_key_valid(key)) {
		vsnd_error(&log_store, "invalid key '%s'", key ? key : "(null)");
		return -EINVAL;
	}
	if ((size_t)snprintf(out, len, "%s%s", d->root, key) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int parent_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= len)
		return -EINVAL;
	memcpy(out, path, (size_t)(slash - path));
	out[slash - path] = '\0';
	return 0;
}

static int dir_write(struct qubes_store *st, const char *key, const char *value)
{
	struct dir_store *d = (struct dir_store *)st;
	char path[PATH_MAX], parent[PATH_MAX], tmp[PATH_MAX + 16];
	int ret = key_path(d, key, path, sizeof(path));
	if (ret < 0)
		return ret;
	if ((ret = parent_of(path, parent, sizeof(parent))) < 0)
		return ret;
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	/* The directories are made when missing, not tried at every write (the status line: every second). */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT) {
		if ((ret = mkdir_p(parent)) < 0)
			return ret;
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -errno;
	size_t n = strlen(value);
	ssize_t w = write(fd, value, n);
	ret = w == (ssize_t)n ? 0 : -EIO;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	/* rename: a reader sees the old or the new value, never half of one. */
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int dir_remove(struct qubes_store *st, const char *key)
{
	struct dir_store *d = (struct dir_store *)st;
	char path[PATH_MAX];
	int ret = key_path(d, key, path, sizeof(path));
	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	return (int)n;
}

static int dir_read(struct qubes_store *st, const char *key, char *buf, size_t len)
{
	struct dir_store *d = (struct dir_store *)st;
	char path[PATH_MAX];
	int ret = key_path(d, key, path, sizeof(path));
	if (ret < 0)
		return ret;
	if (len == 0)
		return -EINVAL;
	return read_file(path, buf, len);
}

static int dir_watch(struct qubes_store *st, const char *key)
{
	struct dir_store *d = (struct dir_store *)st;
	if (d->n_watches == MAX_WATCHES)
		return -ENOSPC;
	struct watch *w = &d->watches[d->n_watches];
	char path[PATH_MAX];
	int ret = key_path(d, key, path, sizeof(path));
	if (ret < 0)
		return ret;
	if ((ret = parent_of(path, w->dir_path, sizeof(w->dir_path))) < 0 ||
	    (ret = mkdir_p(w->dir_path)) < 0)
		return ret;
	/* Watch the directory: the file may not exist yet, and writers replace it by rename. */
	w->wd = inotify_add_watch(d->inotify_fd, w->dir_path,
				  IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM);
	if (w->wd < 0)
		return -errno;
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->base = strrchr(w->key, '/') + 1;
	d->n_watches++;
	return 0;
}

static int dir_fd(struct qubes_store *st)
{
	return ((struct dir_store *)st)->inotify_fd;
}

static int dir_dispatch(struct qubes_store *st)
{
	struct dir_store *d = (struct dir_store *)st;
	_Alignas(struct inotify_event) char buf[4096];
	int events = 0;
	for (;;) {
		ssize_t n = read(d->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return n == 0 || errno == EAGAIN ? events : -errno;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (!ev->len)
				continue;
			for (int i = 0; i < d->n_watches; i++) {
				struct watch *w = &d->watches[i];
				if (w->wd != ev->wd || strcmp(ev->name, w->base) != 0)
					continue;
				char path[PATH_MAX * 2], value[VALUE_MAX];
				snprintf(path, sizeof(path), "%s/%s", w->dir_path, w->base);
				int r = (ev->mask & (IN_DELETE | IN_MOVED_FROM)) ? -ENOENT :
					read_file(path, value, sizeof(value));
				events++;
				if (st->watch_fn)
					st->watch_fn(st->watch_data, w->key, r < 0 ? NULL : value);
			}
		}
	}
}

static void dir_destroy(struct qubes_store *st)
{
	struct dir_store *d = (struct dir_store *)st;
	close(d->inotify_fd);
	free(d);
}

static const struct qubes_store_ops dir_ops = {
	.name = "directory",
	.write = dir_write,
	.remove = dir_remove,
	.read = dir_read,
	.watch = dir_watch,
	.fd = dir_fd,
	.dispatch = dir_dispatch,
	.destroy = dir_destroy,
};

struct qubes_store *qubes_store_dir_new(const char *dir, qubes_store_watch_fn fn, void *data)
{
	if (!dir || !*dir || strlen(dir) >= PATH_MAX - 256) {
		errno = EINVAL;
		return NULL;
	}
	struct dir_store *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->base.ops = &dir_ops;
	d->base.watch_fn = fn;
	d->base.watch_data = data;
	snprintf(d->root, sizeof(d->root), "%s", dir);
	int ret = mkdir_p(d->root);
	if (ret < 0) {
		free(d);
		errno = -ret;
		return NULL;
	}
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd < 0) {
		int err = errno;
		free(d);
		errno = err;
		return NULL;
	}
	return &d->base;
}
