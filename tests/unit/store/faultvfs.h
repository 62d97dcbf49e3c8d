/*
 * faultvfs.h — fault injection under SQLite for the store's tests, after
 * SQLite's own test_malloc.c and its fault-simulating VFS.
 *
 * faultvfs_install() puts two shims under every SQLite connection of the
 * process: a VFS registered as the default, which forwards every method
 * to the real default VFS and counts the xWrite, xSync and xTruncate calls
 * of all files, and allocation methods (SQLITE_CONFIG_MALLOC) that wrap
 * SQLite's default ones and count xMalloc and xRealloc. A test arms one
 * kind of fault with a number N: the N-th call of that kind after arming
 * fails (and only that one), a failed write writing nothing and a failed
 * sync syncing nothing. Counters are global and atomic, so the calls of
 * every thread (the store's writer thread above all) are counted.
 */
#ifndef CMR_TESTS_FAULTVFS_H
#define CMR_TESTS_FAULTVFS_H

#include <stdbool.h>
#include <stdint.h>

enum faultvfs_kind {
	FAULTVFS_WRITE,	   /* xWrite fails with SQLITE_IOERR_WRITE */
	FAULTVFS_FULL,	   /* xWrite fails with SQLITE_FULL (disk full) */
	FAULTVFS_FSYNC,	   /* xSync fails with SQLITE_IOERR_FSYNC */
	FAULTVFS_TRUNCATE, /* xTruncate fails with SQLITE_IOERR_TRUNCATE */
	FAULTVFS_ALLOC,	   /* xMalloc or xRealloc returns NULL */
	FAULTVFS_KINDS
};

/* Installs both shims. Must run before any other sqlite3 call of the
 * process (SQLITE_CONFIG_MALLOC is refused once SQLite is initialised);
 * returns false, with a reason on stderr, when it could not. Calling it
 * again does nothing. */
bool faultvfs_install(void);

/* Makes the n-th call (1-based) of kind from now on fail; the counter of
 * kind starts again at 0. One fault is armed at a time. */
void faultvfs_arm(enum faultvfs_kind kind, uint64_t n);

/* Disarms; returns whether the armed fault was hit. */
bool faultvfs_disarm(void);

/* Calls of kind since the process started (or since faultvfs_arm of the
 * same kind). */
uint64_t faultvfs_calls(enum faultvfs_kind kind);

/* A short name for kind: "write", "full", "fsync", "truncate", "alloc". */
const char *faultvfs_kind_name(enum faultvfs_kind kind);

#endif
