/* Vendor metadata parsers (pixel size, image size, scan timing) and the
 * data-zone heuristic (host/io/vendor_meta.c).
 *
 * Every parser is given its bytes in an exactly sized heap copy without a
 * terminating NUL, so that reading past the end shows under ASan. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/vendor_meta.h"

typedef int (*parser)(const uint8_t *, size_t, semqr__vendor_meta *);

static int fei_34682(const uint8_t *p, size_t n, semqr__vendor_meta *m)
{
	return semqr__meta_fei(p, n, SEMQR__TAG_FEI_HELIOS, m);
}

/* Runs parser on an exact copy of bytes [0, n). */
static int run(parser f, const void *bytes, size_t n, semqr__vendor_meta *m)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, bytes, n);
	memset(m, 0, sizeof *m);
	int found = f(copy, n, m);
	free(copy);
	return found;
}

static int run_str(parser f, const char *text, semqr__vendor_meta *m)
{
	return run(f, text, strlen(text), m);
}

static const char fei_text[] =
	"[User]\r\nDate=12/14/2022\r\n\r\n"
	"[IScan]\r\nPixelWidth=1e-006\r\nPixelHeight=1e-006\r\n\r\n"
	"[Scan]\r\nInternalScan=true\r\nDwelltime=1e-006\r\nPixelWidth=9.76562e-008\r\n"
	"PixelHeight=9.8e-008\r\nHorFieldsize=0.00015\r\n\r\n"
	"[Image]\r\nDigitalContrast=1\r\nResolutionX=1536\r\nResolutionY=1024\r\n";

static void test_fei(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	assert_int_equal(run_str(fei_34682, fei_text, &m), 1);
	/* [Scan], not the [IScan] section before it. */
	assert_true(fabs(m.pixel_nm_x - 97.6562) < 1e-6);
	assert_true(fabs(m.pixel_nm_y - 98.0) < 1e-6);
	assert_string_equal(m.vendor, "FEI/Thermo Fisher");
	assert_string_equal(m.pixel_source, "FEI tag 34682 [Scan] PixelWidth, PixelHeight");
	assert_int_equal(m.image_width, 1536);
	assert_int_equal(m.image_height, 1024);
	assert_non_null(strstr(m.size_source, "ResolutionY"));

	/* The older tag is named as such. */
	memset(&m, 0, sizeof m);
	assert_int_equal(semqr__meta_fei((const uint8_t *)fei_text, strlen(fei_text),
	                                 SEMQR__TAG_FEI_SFEG, &m), 1);
	assert_non_null(strstr(m.pixel_source, "34680"));

	/* Spaces around names and values, LF line ends, other case. */
	assert_int_equal(run_str(fei_34682, "[scan]\n pixelwidth = 2E-9 \nPIXELHEIGHT=3e-9\n", &m),
	                 1);
	assert_true(fabs(m.pixel_nm_x - 2) < 1e-9 && fabs(m.pixel_nm_y - 3) < 1e-9);

	/* Only [IScan]: no pixel size; an image size without a pixel size is kept. */
	assert_int_equal(run_str(fei_34682, "[IScan]\r\nPixelWidth=1e-9\r\nPixelHeight=1e-9\r\n"
	                                    "[Image]\r\nResolutionX=10\r\nResolutionY=7\r\n", &m),
	                 0);
	assert_true(m.pixel_nm_x == 0);
	assert_int_equal(m.image_height, 7);

	/* Garbage values are refused: not a number, zero, negative, absurd. */
	assert_int_equal(run_str(fei_34682, "[Scan]\nPixelWidth=abc\nPixelHeight=1e-9\n", &m), 0);
	assert_int_equal(run_str(fei_34682, "[Scan]\nPixelWidth=0\nPixelHeight=1e-9\n", &m), 0);
	assert_int_equal(run_str(fei_34682, "[Scan]\nPixelWidth=-1e-9\nPixelHeight=1e-9\n", &m), 0);
	assert_int_equal(run_str(fei_34682, "[Scan]\nPixelWidth=5\nPixelHeight=1e-9\n", &m), 0);
	assert_int_equal(run_str(fei_34682, "[Scan]\nPixelWidth=1e-9x\nPixelHeight=1e-9\n", &m), 0);
	assert_int_equal(run_str(fei_34682, "[Image]\nResolutionX=1.5\nResolutionY=-3\n", &m), 0);
	assert_int_equal(m.image_height, 0);
}

/* Relative comparison for times. */
static int near(double got, double want)
{
	return fabs(got - want) <= 1e-9 * fabs(want);
}

/* The timing sections of the Thermo Fisher Helios G4 PFIB file in
 * datasets/real-sem/ (tag 34682), verbatim but for the keys left out. */
static const char helios_text[] =
	"[Beam]\r\nHV=30000\r\nScanRotation=0\r\nBeam=IBeam\r\nScan=IScan\r\n\r\n"
	"[Scan]\r\nInternalScan=true\r\nDwelltime=1e-006\r\nPixelWidth=9.76562e-008\r\n"
	"PixelHeight=9.76562e-008\r\nHorFieldsize=0.00015\r\nVerFieldsize=0.0001\r\n"
	"Average=0\r\nIntegrate=1\r\nFrameTime=1.59539\r\n\r\n"
	"[IScan]\r\nScan=PIA 3.0\r\nInternalScan=true\r\nDwell=1e-006\r\n"
	"PixelWidth=9.76562e-008\r\nPixelHeight=9.76562e-008\r\nFrameTime=1.59539\r\n"
	"LineTime=0.001558\r\nMainslock=\r\nLineIntegration=1\r\n\r\n"
	"[Image]\r\nResolutionX=1536\r\nResolutionY=1024\r\n";

/* As host/sim/tiff_writer.c writes it (1 us dwell, 20 us flyback, 64 x 48). */
static const char fei_sim_text[] =
	"[Beam]\r\nHV=2000\r\nBeam=EBeam\r\nScan=EScan\r\n\r\n"
	"[Scan]\r\nInternalScan=true\r\nDwelltime=1e-06\r\nPixelWidth=8e-09\r\n"
	"PixelHeight=8e-09\r\nHorFieldsize=5.12e-07\r\nVerFieldsize=3.84e-07\r\nIntegrate=1\r\n"
	"LineTime=8.4e-05\r\nFrameTime=0.004032\r\n\r\n"
	"[EScan]\r\nInternalScan=true\r\nDwell=1e-06\r\nPixelWidth=8e-09\r\n"
	"PixelHeight=8e-09\r\nHorFieldsize=5.12e-07\r\nVerFieldsize=3.84e-07\r\nIntegrate=1\r\n"
	"LineTime=8.4e-05\r\nFrameTime=0.004032\r\n\r\n"
	"[Image]\r\nResolutionX=64\r\nResolutionY=48\r\n";

static void test_fei_timing(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	/* The real file: LineTime only in the beam's scan section. */
	assert_int_equal(run_str(fei_34682, helios_text, &m), 1);
	assert_true(near(m.frame_time_s, 1.59539));
	assert_true(near(m.line_time_s, 0.001558));
	assert_true(near(m.dwell_s, 1e-6));
	assert_string_equal(m.timing_source,
	                    "FEI tag 34682 [Scan] FrameTime, Dwelltime; [IScan] LineTime");
	assert_true(near(m.pixel_nm_x, 97.6562));

	/* The simulator's text: everything in [Scan]. */
	assert_int_equal(run_str(fei_34682, fei_sim_text, &m), 1);
	assert_true(near(m.frame_time_s, 0.004032));
	assert_true(near(m.line_time_s, 8.4e-5));
	assert_true(near(m.dwell_s, 1e-6));
	assert_string_equal(m.timing_source, "FEI tag 34682 [Scan] FrameTime, LineTime, Dwelltime");

	/* The older tag is named as such. */
	memset(&m, 0, sizeof m);
	assert_int_equal(semqr__meta_fei((const uint8_t *)helios_text, strlen(helios_text),
	                                 SEMQR__TAG_FEI_SFEG, &m), 1);
	assert_string_equal(m.timing_source,
	                    "FEI tag 34680 [Scan] FrameTime, Dwelltime; [IScan] LineTime");

	/* Times without a pixel size: kept, and the parser says no pixel size. */
	assert_int_equal(run_str(fei_34682, "[Scan]\nFrameTime=2.5\n", &m), 0);
	assert_true(near(m.frame_time_s, 2.5) && m.line_time_s == 0 && m.dwell_s == 0);
	assert_string_equal(m.timing_source, "FEI tag 34682 [Scan] FrameTime");

	/* The beam's section is read only when [Beam] Scan names it, and only
	 * EScan or IScan; a section of another beam is not. */
	assert_int_equal(run_str(fei_34682, "[IScan]\nLineTime=0.001\n", &m), 0);
	assert_true(m.line_time_s == 0);
	assert_string_equal(m.timing_source, "");
	assert_int_equal(run_str(fei_34682, "[Beam]\nScan=EScan\n[IScan]\nLineTime=0.001\n"
	                                    "[EScan]\nDwell=2e-7\n", &m), 0);
	assert_true(m.line_time_s == 0 && near(m.dwell_s, 2e-7));
	assert_string_equal(m.timing_source, "FEI tag 34682 [EScan] Dwell");
	assert_int_equal(run_str(fei_34682, "[Beam]\nScan=Scan\n[Other]\nLineTime=0.001\n", &m),
	                 0);
	assert_string_equal(m.timing_source, "");

	/* Garbage: not a number, zero, negative, overflow, over a day, under a
	 * picosecond, trailing junk. Each is left 0, the others still read. */
	static const char *const bad[] = {"abc", "0", "-1.5", "1e400", "86401", "1e-13", "2 s",
	                                  "", "nan", "inf", "1.5.2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "[Scan]\nFrameTime=%s\nLineTime=%s\nDwelltime=1e-6\n",
		         bad[i], bad[i]);
		assert_int_equal(run_str(fei_34682, text, &m), 0);
		assert_true(m.frame_time_s == 0 && m.line_time_s == 0);
		assert_true(near(m.dwell_s, 1e-6));
		assert_string_equal(m.timing_source, "FEI tag 34682 [Scan] Dwelltime");
	}
	/* A day exactly is accepted. */
	assert_int_equal(run_str(fei_34682, "[Scan]\nFrameTime=86400\n", &m), 0);
	assert_true(m.frame_time_s == 86400);

	/* Truncated inside the last value: what is left is read (1.5 of 1.59539),
	 * cut inside a key: nothing. */
	assert_int_equal(run(fei_34682, "[Scan]\nFrameTime=1.59539", 20, &m), 0);
	assert_true(near(m.frame_time_s, 1.5));
	assert_int_equal(run(fei_34682, "[Scan]\nFrameTime=1.59539", 12, &m), 0);
	assert_true(m.frame_time_s == 0);
	assert_string_equal(m.timing_source, "");
}

static const char zeiss_text[] =
	"0\r\n0\r\n0\r\n1.116500e-008\r\n1.000000e+004\r\n724\r\n"
	"DP_ZONE\r\nZone = 0\r\n"
	"AP_PIXEL_SIZE\r\nPixel Size = 20.00 nm\r\n"
	"AP_AR_PIXEL_SIZE\r\nArgon Pixel Size = 0.0 fm\r\n"
	"AP_IMAGE_PIXEL_SIZE\r\nImage Pixel Size = 11.16 nm\r\n"
	"AP_WD\r\nWD = 5.0 mm\r\n";

static void test_zeiss(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	/* ap_image_pixel_size wins even though ap_pixel_size comes first. */
	assert_int_equal(run_str(semqr__meta_zeiss, zeiss_text, &m), 1);
	assert_true(fabs(m.pixel_nm_x - 11.16) < 1e-9 && fabs(m.pixel_nm_y - 11.16) < 1e-9);
	assert_string_equal(m.pixel_source, "Zeiss tag 34118 AP_IMAGE_PIXEL_SIZE");
	assert_string_equal(m.vendor, "Zeiss SmartSEM");

	/* Fallback to ap_pixel_size. */
	assert_int_equal(run_str(semqr__meta_zeiss, "AP_PIXEL_SIZE\r\nPixel Size = 3.5 um\r\n", &m),
	                 1);
	assert_true(fabs(m.pixel_nm_x - 3500) < 1e-9);
	assert_string_equal(m.pixel_source, "Zeiss tag 34118 AP_PIXEL_SIZE");

	/* Units: pm, µm in UTF-8 and Latin-1, mm. */
	static const struct {
		const char *text;
		double nm;
	} units[] = {
		{"AP_IMAGE_PIXEL_SIZE\nImage Pixel Size = 750 pm\n", 0.75},
		{"AP_IMAGE_PIXEL_SIZE\nImage Pixel Size = 1.25 \xc2\xb5m\n", 1250},
		{"AP_IMAGE_PIXEL_SIZE\nImage Pixel Size = 2 \xb5m\n", 2000},
		{"AP_IMAGE_PIXEL_SIZE\nImage Pixel Size = 0.001 mm\n", 1000},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		assert_int_equal(run_str(semqr__meta_zeiss, units[i].text, &m), 1);
		assert_true(fabs(m.pixel_nm_x - units[i].nm) < 1e-9);
	}
	/* Unknown unit, no unit, no value line, key only as a label. */
	assert_int_equal(run_str(semqr__meta_zeiss, "AP_IMAGE_PIXEL_SIZE\nX = 2 fm\n", &m), 0);
	assert_int_equal(run_str(semqr__meta_zeiss, "AP_IMAGE_PIXEL_SIZE\nX = 2\n", &m), 0);
	assert_int_equal(run_str(semqr__meta_zeiss, "AP_IMAGE_PIXEL_SIZE\r\n", &m), 0);
	assert_int_equal(run_str(semqr__meta_zeiss, "X AP_IMAGE_PIXEL_SIZE\nX = 2 nm\n", &m), 0);
}

/* Timing lines of the two real Zeiss files in datasets/real-sem/ (Auriga,
 * Merlin) and of the simulator's writer (host/sim/tiff_writer.c). */
static void test_zeiss_timing(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		double frame_s, line_s, dwell_s;
	} cases[] = {
		{"AP_PIXEL_SIZE\r\nPixel Size = 11.16 nm\r\nDP_DWELL_TIME\r\nDwell Time = 100 ns\r\n"
		 "AP_LINE_TIME\r\nLine Time = 63.43 ms\r\n"
		 "AP_MILL_LIST_ELAPSED_TIME\r\nMill List Elapsed Time = 0    ms\r\n"
		 "AP_BEAM_TIME\r\nBeam Time = 11554.21 Hours\r\n"
		 "AP_FRAME_TIME\r\nCycle Time = 48.7 Secs\r\nAP_TIME\r\nTime :11:18:36\r\n",
		 48.7, 63.43e-3, 100e-9},
		{"DP_DWELL_TIME\r\nDwell Time = 200 ns\r\nAP_LINE_TIME\r\nLine Time = 14.08 ms\r\n"
		 "AP_FRAME_TIME\r\nCycle Time = 10.8 Secs\r\n",
		 10.8, 14.08e-3, 200e-9},
		/* The simulator: 1 us dwell as ns, %.4g ms and %.4g Secs. */
		{"DP_DWELL_TIME\r\nDwell Time = 1000 ns\r\nAP_LINE_TIME\r\nLine Time = 0.084 ms\r\n"
		 "AP_FRAME_TIME\r\nCycle Time = 0.004032 Secs\r\n",
		 0.004032, 84e-6, 1e-6},
		/* Other units: us, µs in Latin-1 and UTF-8, s, Sec, ms for a frame. */
		{"DP_DWELL_TIME\nDwell Time = 1.5 us\nAP_LINE_TIME\nLine Time = 2 s\n"
		 "AP_FRAME_TIME\nCycle Time = 900 ms\n", 0.9, 2, 1.5e-6},
		{"DP_DWELL_TIME\nDwell Time = 2.5 \xb5s\nAP_FRAME_TIME\nCycle Time = 3 Sec\n", 3, 0,
		 2.5e-6},
		{"DP_DWELL_TIME\nDwell Time = 50 \xc2\xb5s\n", 0, 0, 50e-6},
	};
	semqr__vendor_meta m;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_str(semqr__meta_zeiss, cases[i].text, &m);
		if (!near(m.frame_time_s, cases[i].frame_s) || !near(m.line_time_s, cases[i].line_s) ||
		    !near(m.dwell_s, cases[i].dwell_s))
			fail_msg("case %zu: frame %g, line %g, dwell %g", i, m.frame_time_s,
			         m.line_time_s, m.dwell_s);
	}
	run_str(semqr__meta_zeiss, cases[0].text, &m);
	assert_string_equal(m.timing_source,
	                    "Zeiss tag 34118 AP_FRAME_TIME, AP_LINE_TIME, DP_DWELL_TIME");
	run_str(semqr__meta_zeiss, cases[5].text, &m);
	assert_string_equal(m.timing_source, "Zeiss tag 34118 DP_DWELL_TIME");

	/* Refused: unknown unit, no unit, negative, over a day, empty value,
	 * the value line cut inside the unit. */
	static const char *const bad[] = {
		"AP_FRAME_TIME\nCycle Time = 2 Hours\n", "AP_FRAME_TIME\nCycle Time = 2\n",
		"AP_FRAME_TIME\nCycle Time = -2 Secs\n", "AP_FRAME_TIME\nCycle Time = 2e6 Secs\n",
		"AP_FRAME_TIME\nCycle Time = Secs\n",     "AP_FRAME_TIME\r\n",
		"AP_FRAME_TIME\nCycle Time = 48.7 Se",     "AP_FRAME_TIME Cycle Time = 1 s\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(run_str(semqr__meta_zeiss, bad[i], &m), 0);
		assert_true(m.frame_time_s == 0);
		assert_string_equal(m.timing_source, "");
	}
}

static void test_fibics(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	/* Unrotated: U = (Ux, 0), V = (0, -Vy). Elements outside <Scan> (the
	 * stage's) and elements whose name only starts with Ux are ignored. */
	const char *xml =
		"<?xml version=\"1.0\"?><Fibics><Stage><Ux>9</Ux></Stage>"
		"<Scan><Dwell units=\"ns\">1000</Dwell><Uxx>7</Uxx><Ux>0.0447154077316689</Ux>"
		"<Uy>0</Uy><Vx>0</Vx><Vy>-0.0447154077316689</Vy></Scan><After><Vy>5</Vy></After>"
		"</Fibics>";
	assert_int_equal(run_str(semqr__meta_fibics, xml, &m), 1);
	assert_true(fabs(m.pixel_nm_x - 44.7154077) < 1e-6);
	assert_true(fabs(m.pixel_nm_y - 44.7154077) < 1e-6);
	assert_string_equal(m.vendor, "Fibics");
	assert_non_null(strstr(m.pixel_source, "51023"));

	/* Rotated scan: |(0.03, 0.04)| = 0.05 um, |(-0.08, 0.06)| = 0.1 um. */
	assert_int_equal(run_str(semqr__meta_fibics,
	                         "<Scan><Ux units=\"um\">0.03</Ux><Uy>0.04</Uy><Vx>-0.08</Vx>"
	                         "<Vy>0.06</Vy></Scan>", &m), 1);
	assert_true(fabs(m.pixel_nm_x - 50) < 1e-9 && fabs(m.pixel_nm_y - 100) < 1e-9);

	/* A pixel vector only in the stage, none in the scan; empty values. */
	assert_int_equal(run_str(semqr__meta_fibics, "<Scan><Dwell>1</Dwell></Scan><Ux>1</Ux>", &m),
	                 0);
	assert_int_equal(run_str(semqr__meta_fibics, "<Scan><Ux></Ux></Scan>", &m), 0);
	assert_int_equal(run_str(semqr__meta_fibics, "<Scan><Ux>0</Ux></Scan>", &m), 0);
}

static void test_fibics_timing(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	/* The Atlas 5 file in datasets/real-sem/: 1 us dwell, no frame time. */
	const char *atlas = "<Fibics version=\"1.0\"><Image><Width>1023</Width></Image>"
	                    "<Scan><Dwell units=\"ns\">1000</Dwell><LineAvg>1</LineAvg>"
	                    "<FOV_X units=\"um\">45.7438621094973</FOV_X>"
	                    "<Ux>0.0447154077316689</Ux><Uy>0</Uy><Vx>0</Vx>"
	                    "<Vy>-0.0447154077316689</Vy></Scan></Fibics>";
	assert_int_equal(run_str(semqr__meta_fibics, atlas, &m), 1);
	assert_true(near(m.dwell_s, 1e-6));
	assert_true(m.frame_time_s == 0 && m.line_time_s == 0);
	assert_string_equal(m.timing_source, "Fibics tag 51023 Scan/Dwell");

	/* Units, quoting and spacing; a dwell without a pixel size is kept. */
	static const struct {
		const char *xml;
		double s;
	} ok[] = {
		{"<Scan><Dwell units=\"us\">2.5</Dwell></Scan>", 2.5e-6},
		{"<Scan><Dwell units='\xb5s'>3</Dwell></Scan>", 3e-6},
		{"<Scan><Dwell id=\"1\" units = \"\xc2\xb5s\" >4</Dwell></Scan>", 4e-6},
		{"<Scan><Dwell units=\"ms\">0.5</Dwell></Scan>", 5e-4},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(run_str(semqr__meta_fibics, ok[i].xml, &m), 0);
		assert_true(near(m.dwell_s, ok[i].s));
	}
	/* Refused: no units, an unknown one, a name only ending in "units", an
	 * unclosed quote, a negative value, a dwell outside <Scan>. */
	static const char *const bad[] = {
		"<Scan><Dwell>1000</Dwell></Scan>",
		"<Scan><Dwell units=\"fortnights\">1</Dwell></Scan>",
		"<Scan><Dwell xunits=\"ns\">1000</Dwell></Scan>",
		"<Scan><Dwell units=\"ns>1000</Dwell></Scan>",
		"<Scan><Dwell units=\"ns\">-1000</Dwell></Scan>",
		"<Stage><Dwell units=\"ns\">1000</Dwell></Stage><Scan></Scan>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		run_str(semqr__meta_fibics, bad[i], &m);
		assert_true(m.dwell_s == 0);
		assert_string_equal(m.timing_source, "");
	}
}

static void test_tescan(void **state)
{
	(void)state;
	semqr__vendor_meta m;
	/* Binary bytes (with NULs) before the text, as Tescan writes them. */
	const char text[] = "\x01\x00\x00\x7f\xff[MAIN]\r\nDevice=MIRA\r\nPixelSizeX=5.0e-09\r\n"
	                    "PixelSizeY=6e-09\r\n[SEM]\r\nPixelSizeX=1\r\n";
	assert_int_equal(run(semqr__meta_tescan, text, sizeof text - 1, &m), 1);
	assert_true(fabs(m.pixel_nm_x - 5) < 1e-9 && fabs(m.pixel_nm_y - 6) < 1e-9);
	assert_string_equal(m.pixel_source, "Tescan tag 50431 [MAIN] PixelSizeX, PixelSizeY");

	assert_int_equal(run_str(semqr__meta_tescan, "[SEM]\nPixelSizeX=7e-9\nPixelSizeY=7e-9\n", &m),
	                 1);
	assert_string_equal(m.pixel_source, "Tescan tag 50431 [SEM] PixelSizeX, PixelSizeY");
	assert_int_equal(run_str(semqr__meta_tescan, "[OTHER]\nPixelSizeX=7e-9\nPixelSizeY=7e-9\n",
	                         &m), 0);

	/* Dwell time in seconds in [SEM]; none elsewhere, no frame time. */
	const char dwell[] = "\x01\x00[MAIN]\r\nPixelSizeX=5e-09\r\nPixelSizeY=5e-09\r\n"
	                     "[SEM]\r\nDwellTime=3.2e-06\r\nScanSpeed=5\r\n";
	assert_int_equal(run(semqr__meta_tescan, dwell, sizeof dwell - 1, &m), 1);
	assert_true(near(m.dwell_s, 3.2e-6) && m.frame_time_s == 0);
	assert_string_equal(m.timing_source, "Tescan tag 50431 [SEM] DwellTime");
	assert_int_equal(run_str(semqr__meta_tescan, "[MAIN]\nDwellTime=3e-6\n", &m), 0);
	assert_true(m.dwell_s == 0);
	assert_int_equal(run_str(semqr__meta_tescan, "[SEM]\nDwellTime=-3e-6\n", &m), 0);
	assert_true(m.dwell_s == 0);
	assert_string_equal(m.timing_source, "");
}

/* A found pixel size is plausible, whatever the input; so are the times,
 * and the timing source is a terminated string, empty exactly when no time
 * was found. */
static void check_result(int found, const semqr__vendor_meta *m)
{
	const double t[3] = {m->frame_time_s, m->line_time_s, m->dwell_s};
	int any = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(t[i] == 0 || (t[i] >= 1e-12 && t[i] <= 86400));
		any |= t[i] > 0;
	}
	assert_non_null(memchr(m->timing_source, 0, sizeof m->timing_source));
	assert_int_equal(m->timing_source[0] != 0, any);
	if (found) {
		assert_true(m->pixel_nm_x >= 1e-3 && m->pixel_nm_x <= 1e9);
		assert_true(m->pixel_nm_y >= 1e-3 && m->pixel_nm_y <= 1e9);
		assert_non_null(m->pixel_source);
	} else {
		assert_true(m->pixel_nm_x == 0 || m->pixel_nm_x >= 1e-3);
	}
}

static void test_prefixes_and_garbage(void **state)
{
	(void)state;
	static const parser parsers[] = {fei_34682, semqr__meta_zeiss, semqr__meta_fibics,
	                                 semqr__meta_tescan};
	/* One sample per parser (samples[i] for parsers[i % 4]), then ones with
	 * timing. */
	const char *samples[] = {
		fei_text, zeiss_text,
		"<Scan><Ux>0.0447</Ux><Uy>0</Uy><Vx>0</Vx><Vy>-0.0447</Vy></Scan>",
		"[MAIN]\r\nPixelSizeX=5.0e-09\r\nPixelSizeY=6e-09\r\n",
		helios_text,
		"AP_LINE_TIME\r\nLine Time = 63.43 ms\r\nAP_FRAME_TIME\r\nCycle Time = 48.7 Secs\r\n"
		"DP_DWELL_TIME\r\nDwell Time = 2.5 \xb5s\r\n",
		"<Scan><Dwell units=\"ns\">1000</Dwell><Ux>0.0447</Ux></Scan>",
		"[SEM]\r\nDwellTime=3.2e-06\r\n",
	};
	enum { SAMPLES = sizeof samples / sizeof samples[0] };
	semqr__vendor_meta m;
	/* Every prefix of every sample through every parser: the text cut
	 * anywhere, including inside a number or a tag. */
	for (size_t s = 0; s < SAMPLES; s++)
		for (size_t n = 0; n <= strlen(samples[s]); n++)
			for (size_t p = 0; p < 4; p++)
				check_result(run(parsers[p], samples[s], n, &m), &m);

	/* 4000 random mutations (seeded): bytes of each sample replaced by
	 * random ones, including NUL, '=', '<', '[', quotes, newlines and digits. */
	uint32_t seed = 12345;
	static const char alphabet[] = "\0=<>[]\"'\r\n0123456789.eE-+ /umns";
	for (int trial = 0; trial < 4000; trial++) {
		const char *src = samples[trial % SAMPLES];
		size_t n = strlen(src);
		uint8_t *buf = malloc(n);
		assert_non_null(buf);
		memcpy(buf, src, n);
		for (int k = 0; k < 8; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			buf[at] = (seed >> 16) & 1 ? (uint8_t)(seed >> 8)
			                           : (uint8_t)alphabet[(seed >> 8) % (sizeof alphabet - 1)];
		}
		for (size_t p = 0; p < 4; p++)
			check_result(run(parsers[p], buf, n, &m), &m);
		free(buf);
	}
}

/* Rows of a 100-pixel-wide image, bottom window of n rows. */
static void fill_rows(semqr__row_stat *rows, int n, int top, int bottom)
{
	for (int i = 0; i < n; i++)
		rows[i] = (semqr__row_stat){3, 2};   /* an ordinary image row */
	for (int i = top; i <= bottom; i++)
		rows[i] = (semqr__row_stat){10, 80};  /* 90 % saturated text rows */
	rows[top] = (semqr__row_stat){99, 0};     /* black frame line */
	rows[bottom] = (semqr__row_stat){99, 0};
}

static void test_data_zone(void **state)
{
	(void)state;
	semqr__row_stat rows[192];
	/* The Zeiss layout: frame at 114 and 189 of 192 (2 image rows below). */
	fill_rows(rows, 192, 114, 189);
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), 114);
	/* A white frame line counts too. */
	rows[114] = (semqr__row_stat){0, 98};
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), 114);
	/* The top row of the run not a frame line (97 %): none. */
	rows[114] = (semqr__row_stat){97, 0};
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	/* Zone flush with the bottom, no image rows below. */
	fill_rows(rows, 192, 150, 191);
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), 150);
	/* 9 image rows below the zone: too many, none. */
	fill_rows(rows, 192, 150, 182);
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	/* A run of 7 saturated rows: too short. */
	fill_rows(rows, 192, 185, 191);
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	/* The run reaches the first row given: it may go on above, none. */
	fill_rows(rows, 192, 0, 191);
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	/* 79 % saturated rows break the run. */
	fill_rows(rows, 192, 114, 189);
	rows[150] = (semqr__row_stat){40, 39};
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	/* Plain image: none; degenerate arguments: none. */
	fill_rows(rows, 192, 0, 0);
	rows[0] = (semqr__row_stat){3, 2};
	assert_int_equal(semqr__find_data_zone(rows, 192, 100), -1);
	assert_int_equal(semqr__find_data_zone(rows, 0, 100), -1);
	assert_int_equal(semqr__find_data_zone(rows, 192, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fei),
		cmocka_unit_test(test_fei_timing),
		cmocka_unit_test(test_zeiss),
		cmocka_unit_test(test_zeiss_timing),
		cmocka_unit_test(test_fibics),
		cmocka_unit_test(test_fibics_timing),
		cmocka_unit_test(test_tescan),
		cmocka_unit_test(test_prefixes_and_garbage),
		cmocka_unit_test(test_data_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
