/*
 * qr.h — a QR code as SVG, made with libqrencode: text in, an SVG
 * document out. The web app shows a person's connect code this way
 * (POST /v1/me/connect-codes, `qr_svg`), so that a brand's counter can
 * scan what the person would otherwise read out.
 *
 * The symbol has error correction level M and a quiet zone of 4 modules
 * (ISO/IEC 18004 §6.3.8). The SVG is one <rect> of white under one
 * <path> of black, each row's runs of dark modules a rectangle, in a
 * viewBox one unit per module, with shape-rendering="crispEdges",
 * role="img" and an aria-label; it holds no script, no style sheet, no
 * link and no reference to anything outside itself, so it is safe to
 * inline in a page.
 *
 * Pure: no I/O, no globals. Thread-safe (libqrencode 4 is reentrant).
 */
#ifndef CMR_BASE_QR_H
#define CMR_BASE_QR_H

#include <stddef.h>

#define QR_QUIET_ZONE 4	  /* modules of white around the symbol */
#define QR_TEXT_MAX   256 /* longest text encoded (bytes) */

/* The SVG of a QR code that encodes `text` (bytes, as given; at most
 * QR_TEXT_MAX, not empty), labelled `label` (UTF-8; XML-escaped here)
 * for screen readers. A new NUL-terminated string the caller frees with
 * free(); NULL when text is empty or too long, or out of memory. When
 * `width` is not NULL it gets the symbol's width in modules, without the
 * quiet zone. */
char *qr_svg(const char *text, const char *label, int *width);

#endif
