/*
 * log.h — the one logging interface. Lines go to stderr as
 * "<level> <subsystem>: <operation> …", one line per call, and never carry a
 * secret or the value of a personal field (log ids, not values).
 */
#ifndef CMR_BASE_LOG_H
#define CMR_BASE_LOG_H

#include <stdnoreturn.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN };

/* Messages below `level` are dropped. Set once at start-up. */
void log_set_level(enum log_level level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs and exits with status 1. Start-up and impossible states only. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
