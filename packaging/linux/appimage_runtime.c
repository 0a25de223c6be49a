/*
 * Softphone's AppImage type-2 runtime: the ELF program at the front of the .AppImage file.
 *
 * An AppImage is this program followed by a squashfs image of the AppDir. At start it finds
 * where its own ELF bytes end (that is where the image starts), then either mounts the image
 * with FUSE (libfuse3 + squashfuse's low-level operations) or, when FUSE is not usable or the
 * user asks for it, extracts it to a temporary folder with squashfuse's library. Either way it
 * runs AppRun with the caller's arguments and environment plus APPIMAGE, APPDIR, ARGV0 and OWD,
 * cleans up (unmounts or deletes the copy) and exits with AppRun's exit status.
 *
 * The project's own code, written from the AppImage specification (type 2 image format); the
 * build writes the magic "AI" 0x02 into the ELF identification padding (offset 8) after linking.
 * Options, recognised only as the first argument:
 *   --appimage-offset             print the image's offset (the ELF size) and exit
 *   --appimage-extract            extract the image to ./squashfs-root
 *   --appimage-extract-and-run    extract to a temporary folder, run, delete (also
 *                                 APPIMAGE_EXTRACT_AND_RUN=1)
 *   --appimage-help               list these options
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 32

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <squashfuse/ll.h>
#include <squashfuse/squashfuse.h>

#define EXIT_RUNTIME_ERROR 127 /* like a shell's "command not found": AppRun never ran */

static volatile sig_atomic_t app_pid;

__attribute__((noreturn)) static void die(const char *what)
{
	fprintf(stderr, "appimage: %s: %s\n", what, strerror(errno));
	exit(EXIT_RUNTIME_ERROR);
}

static int read_at(int fd, void *buf, size_t size, off_t offset)
{
	return pread(fd, buf, size, offset) == (ssize_t)size ? 0 : -1;
}

/* The end of this ELF file: past its headers, segments, sections and section header table.
 * The runtime only reads itself, so the headers are in its own class and byte order. */
static off_t elf_end(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	ElfW(Ehdr) eh;
	if (read_at(fd, &eh, sizeof eh, 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_phentsize != sizeof(ElfW(Phdr)) ||
	    (eh.e_shnum && eh.e_shentsize != sizeof(ElfW(Shdr)))) {
		fprintf(stderr, "appimage: %s: not an ELF file of this runtime's class\n", path);
		exit(EXIT_RUNTIME_ERROR);
	}
	size_t shnum = eh.e_shnum;
	if (shnum == 0 && eh.e_shoff) { /* extended numbering: the count is in section 0 */
		ElfW(Shdr) first;
		if (read_at(fd, &first, sizeof first, (off_t)eh.e_shoff) < 0)
			die(path);
		shnum = first.sh_size;
	}
	off_t end = eh.e_ehsize;
	off_t table_end = (off_t)(eh.e_phoff + (off_t)eh.e_phnum * eh.e_phentsize);
	if (table_end > end)
		end = table_end;
	table_end = (off_t)(eh.e_shoff + (off_t)shnum * sizeof(ElfW(Shdr)));
	if (table_end > end)
		end = table_end;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		ElfW(Phdr) ph;
		if (read_at(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) < 0)
			die(path);
		if ((off_t)(ph.p_offset + ph.p_filesz) > end)
			end = (off_t)(ph.p_offset + ph.p_filesz);
	}
	for (size_t i = 0; i < shnum; i++) {
		ElfW(Shdr) sh;
		if (read_at(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + i * sizeof sh)) < 0)
			die(path);
		if (sh.sh_type != SHT_NOBITS && (off_t)(sh.sh_offset + sh.sh_size) > end)
			end = (off_t)(sh.sh_offset + sh.sh_size);
	}
	close(fd);
	return end;
}

/* Joins a traversal path to the destination, refusing names that would leave it. */
static int join_inside(char *out, size_t size, const char *dest, const char *relative)
{
	const char *part = relative;
	while (*part) {
		size_t len = strcspn(part, "/");
		if (len == 0 || (len == 1 && part[0] == '.') ||
		    (len == 2 && part[0] == '.' && part[1] == '.'))
			return -1;
		part += len;
		part += *part == '/';
	}
	int written = snprintf(out, size, "%s/%s", dest, relative);
	return written > 0 && (size_t)written < size ? 0 : -1;
}

static int extract_file(sqfs *fs, sqfs_inode *inode, const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	static char buf[1 << 17];
	sqfs_off_t done = 0;
	while ((uint64_t)done < inode->xtra.reg.file_size) {
		sqfs_off_t chunk = sizeof buf;
		if (sqfs_read_range(fs, inode, done, &chunk, buf) != SQFS_OK || chunk <= 0) {
			close(fd);
			errno = EIO;
			return -1;
		}
		for (sqfs_off_t off = 0; off < chunk;) {
			ssize_t n = write(fd, buf + off, (size_t)(chunk - off));
			if (n < 0) {
				close(fd);
				return -1;
			}
			off += n;
		}
		done += chunk;
	}
	return close(fd);
}

static int extract_symlink(sqfs *fs, sqfs_inode *inode, const char *path)
{
	size_t size = 0;
	if (sqfs_readlink(fs, inode, NULL, &size) != SQFS_OK)
		return errno = EIO, -1;
	char *target = malloc(size + 1);
	if (!target)
		return -1;
	size += 1;
	int rc = sqfs_readlink(fs, inode, target, &size) == SQFS_OK ? symlink(target, path)
								      : (errno = EIO, -1);
	free(target);
	return rc;
}

/* Extracts the image at `offset` of `image` into `dest`, a folder the caller has just created
 * (so nothing already there is followed or overwritten: every entry is created exclusively).
 * Owners can always write what they extracted, so the copy can be deleted again; devices,
 * FIFOs and sockets are skipped. */
static int extract(const char *image, off_t offset, const char *dest)
{
	sqfs fs;
	if (sqfs_open_image(&fs, image, (size_t)offset) != SQFS_OK) {
		fprintf(stderr, "appimage: %s has no readable image at offset %lld "
				"(damaged or incomplete download?)\n", image, (long long)offset);
		return -1;
	}
	sqfs_traverse trv;
	sqfs_err err = sqfs_traverse_open(&trv, &fs, sqfs_inode_root(&fs));
	int rc = err == SQFS_OK ? 0 : -1;
	char path[PATH_MAX];
	while (rc == 0 && sqfs_traverse_next(&trv, &err)) {
		if (trv.dir_end)
			continue;
		sqfs_inode inode;
		if (join_inside(path, sizeof path, dest, trv.path) < 0) {
			fprintf(stderr, "appimage: refusing entry %s\n", trv.path);
			rc = -1;
			break;
		}
		if (sqfs_inode_get(&fs, &inode, trv.entry.inode) != SQFS_OK) {
			errno = EIO;
			rc = -1;
		} else {
			mode_t mode = (inode.base.mode & 07777) | S_IRUSR | S_IWUSR;
			switch (sqfs_mode(inode.base.inode_type) & S_IFMT) {
			case S_IFDIR:
				rc = mkdir(path, mode | S_IXUSR);
				break;
			case S_IFREG:
				rc = extract_file(&fs, &inode, path, mode & ~(mode_t)(S_ISUID | S_ISGID));
				break;
			case S_IFLNK:
				rc = extract_symlink(&fs, &inode, path);
				break;
			default:
				fprintf(stderr, "appimage: skipping special file %s\n", trv.path);
			}
		}
		if (rc < 0)
			fprintf(stderr, "appimage: %s: %s\n", path, strerror(errno));
	}
	if (err != SQFS_OK && rc == 0) {
		fprintf(stderr, "appimage: reading the image failed (error %d)\n", err);
		rc = -1;
	}
	sqfs_traverse_close(&trv);
	sqfs_destroy(&fs);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "appimage: cannot delete %s: %s\n", path, strerror(errno));
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void forward_signal(int sig)
{
	if (app_pid > 0)
		kill(app_pid, sig);
}

/* Runs APPDIR/AppRun with our arguments; returns its exit status (128 + signal if killed).
 * SIGINT, SIGTERM and SIGHUP go to AppRun, so the caller still cleans up after it. */
static int run_app(const char *appdir, const char *appimage, char **argv, int argc)
{
	char apprun[PATH_MAX], owd[PATH_MAX];
	if (snprintf(apprun, sizeof apprun, "%s/AppRun", appdir) >= (int)sizeof apprun) {
		errno = ENAMETOOLONG;
		die(appdir);
	}
	setenv("APPIMAGE", appimage, 1);
	setenv("APPDIR", appdir, 1);
	setenv("ARGV0", argc > 0 ? argv[0] : appimage, 1); /* execve may pass no argv[0] */
	if (getcwd(owd, sizeof owd))
		setenv("OWD", owd, 1);
	char **args = calloc((size_t)argc + 2, sizeof *args); /* AppRun, arguments, NULL */
	if (!args)
		die("memory");
	args[0] = apprun;
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];

	struct sigaction forward = {.sa_handler = forward_signal};
	sigemptyset(&forward.sa_mask);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execv(apprun, args);
		fprintf(stderr, "appimage: cannot run %s: %s\n", apprun, strerror(errno));
		_exit(EXIT_RUNTIME_ERROR);
	}
	app_pid = pid;
	sigaction(SIGINT, &forward, NULL);
	sigaction(SIGTERM, &forward, NULL);
	sigaction(SIGHUP, &forward, NULL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	app_pid = 0;
	free(args);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp && *tmp ? tmp : "/tmp";
}

static int extract_and_run(const char *appimage, off_t offset, char **argv, int argc)
{
	char dest[PATH_MAX];
	snprintf(dest, sizeof dest, "%s/appimage_extracted_XXXXXX", temp_dir());
	if (!mkdtemp(dest)) /* mode 0700: only this user sees the copy */
		die(dest);
	int status = EXIT_RUNTIME_ERROR;
	if (extract(appimage, offset, dest) == 0)
		status = run_app(dest, appimage, argv, argc);
	remove_tree(dest);
	return status;
}

/* FUSE is usable when /dev/fuse opens; mounting as a user also needs fusermount3. */
static int fuse_usable(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* The FUSE server (a child process): mounts the image read-only at `mountpoint`, reports
 * readiness on `ready_fd`, serves until SIGTERM (or its parent's death), then unmounts.
 * Its own process group keeps a terminal's Ctrl+C away from it: the app must be able to
 * shut down (reading its files) before the mount goes. */
static int serve_image(const char *appimage, off_t offset, const char *mountpoint, int ready_fd,
		       pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent) /* the parent died before the line above */
		return EXIT_RUNTIME_ERROR;
	sqfs_ll *ll = sqfs_ll_open(appimage, (size_t)offset);
	if (!ll)
		return EXIT_RUNTIME_ERROR;
	struct fuse_lowlevel_ops ops = {
		.lookup = sqfs_ll_op_lookup,
		.forget = sqfs_ll_op_forget,
		.getattr = sqfs_ll_op_getattr,
		.readlink = sqfs_ll_op_readlink,
		.open = sqfs_ll_op_open,
		.read = sqfs_ll_op_read,
		.release = sqfs_ll_op_release,
		.opendir = sqfs_ll_op_opendir,
		.readdir = sqfs_ll_op_readdir,
		.releasedir = sqfs_ll_op_releasedir,
		.statfs = stfs_ll_op_statfs,
		.getxattr = sqfs_ll_op_getxattr,
		.listxattr = sqfs_ll_op_listxattr,
		.create = sqfs_ll_op_create,
	};
	char *fuse_argv[] = {"appimage", "-o", "ro,nosuid,nodev,subtype=appimage", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	sqfs_ll_chan chan;
	if (sqfs_ll_mount(&chan, mountpoint, &args, &ops, sizeof ops, ll) != SQFS_OK) {
		fprintf(stderr, "appimage: cannot mount the image at %s\n", mountpoint);
		return EXIT_RUNTIME_ERROR;
	}
	int rc = fuse_set_signal_handlers(chan.session);
	if (rc == 0) {
		if (write(ready_fd, "1", 1) != 1)
			rc = -1;
		close(ready_fd);
	}
	if (rc == 0)
		rc = fuse_session_loop(chan.session);
	fuse_remove_signal_handlers(chan.session);
	sqfs_ll_unmount(&chan, mountpoint);
	sqfs_ll_destroy(ll);
	return rc == 0 ? 0 : EXIT_RUNTIME_ERROR;
}

/* Mounts the image (see serve_image), runs AppRun from it, then unmounts; returns -1 without
 * running anything when the mount does not come up, so the caller can extract instead. */
static int mount_and_run(const char *appimage, off_t offset, char **argv, int argc)
{
	char mountpoint[PATH_MAX];
	const char *base = strrchr(appimage, '/');
	snprintf(mountpoint, sizeof mountpoint, "%s/.mount_%.6sXXXXXX", temp_dir(), base + 1);
	if (!mkdtemp(mountpoint))
		die(mountpoint);
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe");
	pid_t parent = getpid();
	pid_t server = fork();
	if (server < 0)
		die("fork");
	if (server == 0) {
		close(ready[0]);
		_exit(serve_image(appimage, offset, mountpoint, ready[1], parent));
	}
	close(ready[1]);
	char byte;
	ssize_t got;
	while ((got = read(ready[0], &byte, 1)) < 0 && errno == EINTR)
		;
	close(ready[0]);
	int status = -1;
	if (got == 1)
		status = run_app(mountpoint, appimage, argv, argc);
	kill(server, SIGTERM);
	while (waitpid(server, NULL, 0) < 0 && errno == EINTR)
		;
	rmdir(mountpoint);
	return status;
}

int main(int argc, char **argv)
{
	char appimage[PATH_MAX];
	if (!realpath("/proc/self/exe", appimage))
		die("/proc/self/exe");
	off_t offset = elf_end(appimage);
	const char *option = argc > 1 ? argv[1] : "";
	const char *env_extract = getenv("APPIMAGE_EXTRACT_AND_RUN");

	if (strcmp(option, "--appimage-offset") == 0) {
		printf("%lld\n", (long long)offset);
		return 0;
	}
	if (strcmp(option, "--appimage-extract") == 0) {
		if (mkdir("squashfs-root", 0755) < 0)
			die("squashfs-root (remove an earlier one first)");
		return extract(appimage, offset, "squashfs-root") == 0 ? 0 : EXIT_RUNTIME_ERROR;
	}
	if (strcmp(option, "--appimage-help") == 0) {
		printf("%s", "AppImage options (first argument only):\n"
			     "  --appimage-offset            print the image's offset and exit\n"
			     "  --appimage-extract           extract the image to ./squashfs-root\n"
			     "  --appimage-extract-and-run   run from a temporary copy, not a FUSE mount\n"
			     "                               (also APPIMAGE_EXTRACT_AND_RUN=1)\n");
		return 0;
	}
	if (strcmp(option, "--appimage-extract-and-run") == 0) {
		argv[1] = argv[0];
		return extract_and_run(appimage, offset, argv + 1, argc - 1);
	}
	if (strncmp(option, "--appimage-", 11) == 0) {
		fprintf(stderr, "appimage: unknown option %s (see --appimage-help)\n", option);
		return EXIT_RUNTIME_ERROR;
	}
	if (env_extract && strcmp(env_extract, "1") == 0)
		return extract_and_run(appimage, offset, argv, argc);
	if (fuse_usable()) {
		int status = mount_and_run(appimage, offset, argv, argc);
		if (status >= 0)
			return status;
	}
	fprintf(stderr, "appimage: FUSE is not usable here; running from a temporary copy "
			"(a slower start; APPIMAGE_EXTRACT_AND_RUN=1 skips the attempt)\n");
	return extract_and_run(appimage, offset, argv, argc);
}
