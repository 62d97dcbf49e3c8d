/*
 * faultvfs.c — the fault-injecting VFS and allocator of the store's tests
 * (see faultvfs.h).
 *
 * The VFS is a pass-through shim in the manner of SQLite's test_vfstrace.c:
 * each file it opens carries the real VFS's file right behind its own
 * header, and every method forwards to the real one. Only xWrite, xSync
 * and xTruncate look at the armed fault first. The allocator wraps the
 * methods SQLITE_CONFIG_GETMALLOC returns, so that SQLite's own
 * bookkeeping (memory status, xSize) stays exactly as without the shim.
 */
#include "faultvfs.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The kinds of call that are counted; a fault kind fails one of them. */
enum faultvfs_call { CALL_WRITE, CALL_SYNC, CALL_TRUNCATE, CALL_ALLOC, CALLS };

/* Per fault kind: the call it fails, the code it fails with and a name. */
static const struct {
	enum faultvfs_call call;
	int rc;
	const char *name;
} faultvfs_kinds[FAULTVFS_KINDS] = {
	[FAULTVFS_WRITE] = { CALL_WRITE, SQLITE_IOERR_WRITE, "write" },
	[FAULTVFS_FULL] = { CALL_WRITE, SQLITE_FULL, "full" },
	[FAULTVFS_FSYNC] = { CALL_SYNC, SQLITE_IOERR_FSYNC, "fsync" },
	[FAULTVFS_TRUNCATE] = { CALL_TRUNCATE, SQLITE_IOERR_TRUNCATE,
				"truncate" },
	[FAULTVFS_ALLOC] = { CALL_ALLOC, SQLITE_NOMEM, "alloc" },
};

static _Atomic uint64_t faultvfs_count[CALLS];
static _Atomic int faultvfs_armed = -1;	  /* a kind, or -1 */
static _Atomic uint64_t faultvfs_armed_n; /* the call that fails */
static _Atomic bool faultvfs_fired;

static sqlite3_vfs *faultvfs_real; /* the default VFS below */
static sqlite3_mem_methods faultvfs_real_mem;
static bool faultvfs_installed;

/* Counts a call; true when it is the one that must fail, and then *rc
 * (may be NULL) is the code to fail with. */
static bool faultvfs_hit(enum faultvfs_call call, int *rc)
{
	uint64_t k = atomic_fetch_add(&faultvfs_count[call], 1) + 1;
	int kind = atomic_load(&faultvfs_armed);

	if (kind < 0 || faultvfs_kinds[kind].call != call ||
	    k != atomic_load(&faultvfs_armed_n))
		return false;
	atomic_store(&faultvfs_fired, true);
	if (rc)
		*rc = faultvfs_kinds[kind].rc;
	return true;
}

void faultvfs_arm(enum faultvfs_kind kind, uint64_t n)
{
	atomic_store(&faultvfs_armed, -1);
	atomic_store(&faultvfs_fired, false);
	atomic_store(&faultvfs_count[faultvfs_kinds[kind].call], 0);
	atomic_store(&faultvfs_armed_n, n);
	atomic_store(&faultvfs_armed, (int)kind);
}

bool faultvfs_disarm(void)
{
	atomic_store(&faultvfs_armed, -1);
	return atomic_load(&faultvfs_fired);
}

uint64_t faultvfs_calls(enum faultvfs_kind kind)
{
	return atomic_load(&faultvfs_count[faultvfs_kinds[kind].call]);
}

const char *faultvfs_kind_name(enum faultvfs_kind kind)
{
	return faultvfs_kinds[kind].name;
}

/* ---- The allocator ---- */

static void *faultvfs_malloc(int n)
{
	if (faultvfs_hit(CALL_ALLOC, NULL))
		return NULL;
	return faultvfs_real_mem.xMalloc(n);
}

static void *faultvfs_realloc(void *p, int n)
{
	if (faultvfs_hit(CALL_ALLOC, NULL))
		return NULL;
	return faultvfs_real_mem.xRealloc(p, n);
}

/* ---- Files ---- */

struct faultvfs_file {
	sqlite3_file base;  /* pMethods: faultvfs_io */
	sqlite3_file *real; /* the real VFS's file, right behind this */
};

#define REAL(f) (((struct faultvfs_file *)(f))->real)

static int fv_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int fv_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int fv_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	int rc;

	if (faultvfs_hit(CALL_WRITE, &rc))
		return rc;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int fv_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc;

	if (faultvfs_hit(CALL_TRUNCATE, &rc))
		return rc;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int fv_sync(sqlite3_file *f, int flags)
{
	int rc;

	/* Like a failed fsync(2): what was written stays in the file (the
	 * page cache has it), only its durability is unknown. */
	if (faultvfs_hit(CALL_SYNC, &rc))
		return rc;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int fv_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int fv_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int fv_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int fv_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int fv_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int fv_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int fv_device_characteristics(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int fv_shm_map(sqlite3_file *f, int region, int size, int extend,
		      void volatile **out)
{
	if (REAL(f)->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}

static int fv_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void fv_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int fv_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

static int fv_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	if (REAL(f)->pMethods->iVersion < 3) {
		*out = NULL;
		return SQLITE_OK;
	}
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int fv_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	if (REAL(f)->pMethods->iVersion < 3)
		return SQLITE_OK;
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods faultvfs_io = {
	.iVersion = 3,
	.xClose = fv_close,
	.xRead = fv_read,
	.xWrite = fv_write,
	.xTruncate = fv_truncate,
	.xSync = fv_sync,
	.xFileSize = fv_file_size,
	.xLock = fv_lock,
	.xUnlock = fv_unlock,
	.xCheckReservedLock = fv_check_reserved,
	.xFileControl = fv_file_control,
	.xSectorSize = fv_sector_size,
	.xDeviceCharacteristics = fv_device_characteristics,
	.xShmMap = fv_shm_map,
	.xShmLock = fv_shm_lock,
	.xShmBarrier = fv_shm_barrier,
	.xShmUnmap = fv_shm_unmap,
	.xFetch = fv_fetch,
	.xUnfetch = fv_unfetch,
};

/* ---- The VFS ---- */

static int fv_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file,
		   int flags, int *out_flags)
{
	struct faultvfs_file *f = (struct faultvfs_file *)file;

	(void)vfs;
	f->real = (sqlite3_file *)(f + 1);
	int rc = faultvfs_real->xOpen(faultvfs_real, name, f->real, flags,
				      out_flags);
	/* The real file may have methods even when xOpen failed, and then
	 * SQLite still calls xClose: mirror them. */
	f->base.pMethods = f->real->pMethods ? &faultvfs_io : NULL;
	return rc;
}

static int fv_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return faultvfs_real->xDelete(faultvfs_real, name, sync_dir);
}

static int fv_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return faultvfs_real->xAccess(faultvfs_real, name, flags, out);
}

static int fv_full_pathname(sqlite3_vfs *vfs, const char *name, int n,
			    char *out)
{
	(void)vfs;
	return faultvfs_real->xFullPathname(faultvfs_real, name, n, out);
}

static void *fv_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return faultvfs_real->xDlOpen(faultvfs_real, name);
}

static void fv_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	faultvfs_real->xDlError(faultvfs_real, n, msg);
}

static void (*fv_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return faultvfs_real->xDlSym(faultvfs_real, h, sym);
}

static void fv_dl_close(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	faultvfs_real->xDlClose(faultvfs_real, h);
}

static int fv_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return faultvfs_real->xRandomness(faultvfs_real, n, out);
}

static int fv_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return faultvfs_real->xSleep(faultvfs_real, us);
}

static int fv_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return faultvfs_real->xCurrentTime(faultvfs_real, out);
}

static int fv_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return faultvfs_real->xGetLastError(faultvfs_real, n, out);
}

static int fv_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	(void)vfs;
	return faultvfs_real->xCurrentTimeInt64(faultvfs_real, out);
}

static int fv_set_system_call(sqlite3_vfs *vfs, const char *name,
			      sqlite3_syscall_ptr fn)
{
	(void)vfs;
	return faultvfs_real->xSetSystemCall(faultvfs_real, name, fn);
}

static sqlite3_syscall_ptr fv_get_system_call(sqlite3_vfs *vfs,
					      const char *name)
{
	(void)vfs;
	return faultvfs_real->xGetSystemCall(faultvfs_real, name);
}

static const char *fv_next_system_call(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return faultvfs_real->xNextSystemCall(faultvfs_real, name);
}

static sqlite3_vfs faultvfs_vfs = {
	.iVersion = 3,
	.zName = "faultvfs",
	.xOpen = fv_open,
	.xDelete = fv_delete,
	.xAccess = fv_access,
	.xFullPathname = fv_full_pathname,
	.xDlOpen = fv_dl_open,
	.xDlError = fv_dl_error,
	.xDlSym = fv_dl_sym,
	.xDlClose = fv_dl_close,
	.xRandomness = fv_randomness,
	.xSleep = fv_sleep,
	.xCurrentTime = fv_current_time,
	.xGetLastError = fv_get_last_error,
	.xCurrentTimeInt64 = fv_current_time_int64,
	.xSetSystemCall = fv_set_system_call,
	.xGetSystemCall = fv_get_system_call,
	.xNextSystemCall = fv_next_system_call,
};

bool faultvfs_install(void)
{
	static sqlite3_mem_methods mem;

	if (faultvfs_installed)
		return true;
	/* The allocator first: sqlite3_vfs_find() initialises SQLite, after
	 * which SQLITE_CONFIG_MALLOC is refused. */
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &faultvfs_real_mem) !=
	    SQLITE_OK) {
		fprintf(stderr, "faultvfs: SQLITE_CONFIG_GETMALLOC failed\n");
		return false;
	}
	mem = faultvfs_real_mem;
	mem.xMalloc = faultvfs_malloc;
	mem.xRealloc = faultvfs_realloc;
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK) {
		fprintf(stderr, "faultvfs: SQLITE_CONFIG_MALLOC failed (was "
				"SQLite initialised already?)\n");
		return false;
	}
	faultvfs_real = sqlite3_vfs_find(NULL);
	if (faultvfs_real == NULL || faultvfs_real->iVersion < 3) {
		fprintf(stderr, "faultvfs: no default VFS of version 3\n");
		return false;
	}
	faultvfs_vfs.szOsFile =
		(int)sizeof(struct faultvfs_file) + faultvfs_real->szOsFile;
	faultvfs_vfs.mxPathname = faultvfs_real->mxPathname;
	if (sqlite3_vfs_register(&faultvfs_vfs, 1) != SQLITE_OK) {
		fprintf(stderr, "faultvfs: cannot register the VFS\n");
		return false;
	}
	faultvfs_installed = true;
	return true;
}
