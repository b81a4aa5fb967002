/* Status names and the error-filling helpers. */
#include <stdarg.h>
#include <stdio.h>

#include "common/error_internal.h"

static const char *const status_names[] = {
	[SEMQR_OK] = "success",
	[SEMQR_ERR_INVALID_ARGUMENT] = "invalid argument",
	[SEMQR_ERR_NO_MEMORY] = "out of memory",
	[SEMQR_ERR_IO] = "input/output error",
	[SEMQR_ERR_FORMAT] = "invalid file format",
	[SEMQR_ERR_UNSUPPORTED] = "unsupported input",
	[SEMQR_ERR_DATA_TOO_LONG] = "data too long",
	[SEMQR_ERR_DECODE] = "decoding failed",
	[SEMQR_ERR_NO_PLATFORM] = "no OpenCL platform",
	[SEMQR_ERR_OPENCL] = "OpenCL error",
};

const char *semqr_strerror(semqr_status code)
{
	if ((unsigned)code < sizeof status_names / sizeof status_names[0] && status_names[code])
		return status_names[code];
	return "unknown status";
}

semqr_status semqr__fail(semqr_error *err, semqr_status code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return code;
}

void semqr__clear(semqr_error *err)
{
	if (err) {
		err->code = SEMQR_OK;
		err->message[0] = '\0';
	}
}
