/* semqr — status codes and error detail.
 *
 * Every fallible library call returns a semqr_status and, when the caller
 * passes a non-NULL semqr_error, fills it with the same code and a message
 * naming what failed, where and why ("input.tif: strip 12: LZW data truncated").
 * The error belongs to the caller, never to the process: the library keeps no
 * global error state, so calls on different threads never interfere.
 */
#ifndef SEMQR_ERROR_H
#define SEMQR_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum semqr_status {
	SEMQR_OK = 0,
	SEMQR_ERR_INVALID_ARGUMENT, /* an option or parameter is out of range */
	SEMQR_ERR_NO_MEMORY,        /* an allocation failed */
	SEMQR_ERR_IO,               /* a file could not be opened, read or written */
	SEMQR_ERR_FORMAT,           /* a file is not a valid image of a supported kind */
	SEMQR_ERR_UNSUPPORTED,      /* valid input that semqr does not handle */
	SEMQR_ERR_DATA_TOO_LONG,    /* the payload does not fit the allowed versions */
	SEMQR_ERR_DECODE,           /* no valid symbol could be decoded */
	SEMQR_ERR_NO_PLATFORM,      /* no OpenCL platform or device is available */
	SEMQR_ERR_OPENCL            /* an OpenCL call or a kernel build failed */
} semqr_status;

#define SEMQR_ERROR_MESSAGE_MAX 1024

typedef struct semqr_error {
	semqr_status code;
	char message[SEMQR_ERROR_MESSAGE_MAX]; /* NUL-terminated; empty when code is SEMQR_OK */
} semqr_error;

/* A short constant English description of a status code ("invalid argument").
 * Never returns NULL; unknown codes give "unknown status". */
const char *semqr_strerror(semqr_status code);

#ifdef __cplusplus
}
#endif
#endif
