/* semqr — reading and writing nanoscale QR codes imaged by electron microscopes.
 *
 * The umbrella header: include this one. Link with -lsemqr (pkg-config semqr,
 * or find_package(semqr) in CMake).
 */
#ifndef SEMQR_SEMQR_H
#define SEMQR_SEMQR_H

#include "semqr/error.h"
#include "semqr/qr.h"
#include "semqr/image.h"
#include "semqr/sim.h"
#include "semqr/cl.h"
#include "semqr/scan.h"
#include "semqr/decode.h"
#include "semqr/truth.h"
#include "semqr/regress.h"

#define SEMQR_VERSION_STRING "0.1.0"

#endif
