/*
 * log.c — stderr logging with a level and a timestamp (see log.h). Each
 * line is written with one write(2) so that lines from threads do not mix.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	log_level = level;
}

static void log_line(const char *tag, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(
		line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, tag);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

#define LOG_AT(level, tag)                                                     \
	do {                                                                   \
		if (log_level > (level))                                       \
			return;                                                \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_line(tag, fmt, ap);                                        \
		va_end(ap);                                                    \
	} while (0)

void log_debug(const char *fmt, ...)
{
	LOG_AT(LOG_DEBUG, "debug");
}

void log_info(const char *fmt, ...)
{
	LOG_AT(LOG_INFO, "info");
}

void log_warn(const char *fmt, ...)
{
	LOG_AT(LOG_WARN, "warn");
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
