/* Internal: filling a caller's semqr_error. */
#ifndef SEMQR_ERROR_INTERNAL_H
#define SEMQR_ERROR_INTERNAL_H

#include "semqr/error.h"

/* Sets err (if non-NULL) to code and a printf-formatted message, and returns
 * code, so that a failure path reads `return semqr__fail(err, CODE, "...", ...)`. */
semqr_status semqr__fail(semqr_error *err, semqr_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears err (if non-NULL) to SEMQR_OK and an empty message. */
void semqr__clear(semqr_error *err);

#endif
