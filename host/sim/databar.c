/* The data bar real FEI/Thermo files carry below the image: a black band with
 * the acquisition parameters in white text and a scale bar. Drawn with a
 * built-in 5 x 7 pixel font (upper case, digits, a little punctuation),
 * scaled by whole pixels to the band's height; what does not fit the width is
 * cut off. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim_internal.h"

typedef struct glyph {
	char c;
	uint8_t rows[7]; /* bit 4 = leftmost column */
} glyph;

static const glyph font[] = {
	{'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
	{'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
	{'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
	{'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
	{'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
	{'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
	{'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
	{'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
	{'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
	{'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
	{':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
	{'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
	{'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
	{'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
	{'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
	{'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
	{'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
	{'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
	{'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
	{'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
	{'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
	{'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
	{'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
	{'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
	{'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
	{'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
	{'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
	{'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
	{'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
	{'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
	{'Y', {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}},
};

static const glyph *find_glyph(char c)
{
	for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
		if (font[i].c == c)
			return &font[i];
	return NULL; /* a space, or a character the font lacks: left blank */
}

typedef struct canvas {
	void *px;
	int width, height, bits;
} canvas;

static void set(const canvas *cv, int x, int y)
{
	if (x < 0 || y < 0 || x >= cv->width || y >= cv->height)
		return;
	size_t i = (size_t)y * cv->width + x;
	if (cv->bits == 8)
		((uint8_t *)cv->px)[i] = 255;
	else
		((uint16_t *)cv->px)[i] = 65535;
}

/* Draws the characters of s that fit whole before x_end, from (x, y)
 * (top-left), each font pixel scale x scale. */
static void draw_text(const canvas *cv, int x, int y, int scale, const char *s, int x_end)
{
	for (; *s && x + 5 * scale <= x_end; s++, x += 6 * scale) {
		const glyph *g = find_glyph(*s);
		if (!g)
			continue;
		for (int r = 0; r < 7; r++)
			for (int c = 0; c < 5; c++)
				if (g->rows[r] >> (4 - c) & 1)
					for (int a = 0; a < scale; a++)
						for (int b = 0; b < scale; b++)
							set(cv, x + c * scale + b, y + r * scale + a);
	}
}

/* The longest of 1, 2, 5 x 10^k nm not above `most` nm. */
static double scale_bar_nm(double most)
{
	double p = pow(10, floor(log10(most)));
	return most >= 5 * p ? 5 * p : most >= 2 * p ? 2 * p : p;
}

/* Layout, left to right with gaps of 2 font pixels: the parameters, the
 * scale bar (the longest 1-2-5 length within a fifth of the width), its
 * label. The font scale is the largest the band's height allows (7 rows of
 * glyph and a margin) for which everything fits the width, else 1, and then
 * the parameters are cut after the last whole field that fits. */
void semqr__sim_databar(const semqr__sim *sim, void *out)
{
	const semqr_sim_options *o = &sim->o;
	canvas cv = {out, sim->width, o->databar_rows, o->bits};
	memset(out, 0, (size_t)cv.width * cv.height * (o->bits / 8));
	char line[256], label[32];
	snprintf(line, sizeof line, "HV %.2f KV  PIXEL %.2f NM  DWELL %.2f US  HFW %.3f UM  "
	         "FRAMES %d  SEMQR SIMULATE", o->hv_kv, o->pixel_nm, o->dwell_us,
	         sim->width * o->pixel_nm / 1000, o->frames);
	double bar_nm = scale_bar_nm(sim->width * o->pixel_nm / 5);
	int bar_px = (int)lround(bar_nm / o->pixel_nm);
	if (bar_nm >= 1000)
		snprintf(label, sizeof label, "%g UM", bar_nm / 1000);
	else
		snprintf(label, sizeof label, "%g NM", bar_nm);
	int chars = (int)(strlen(line) + strlen(label));
	int scale = (cv.height - 2) / 9;
	while (scale > 1 && (6 * chars + 8) * scale + bar_px > cv.width)
		scale--;
	if (scale < 1)
		return;
	int y = (cv.height - 7 * scale) / 2;
	int label_x = cv.width - 2 * scale - (int)strlen(label) * 6 * scale;
	int bar_x = label_x - 2 * scale - bar_px;
	/* Whole fields only: cut at the last double space that fits. */
	int fit = (bar_x - 4 * scale + scale) / (6 * scale);
	if (fit < (int)strlen(line)) {
		line[fit > 0 ? fit : 0] = 0;
		char *gap = strstr(line, "  "), *last = NULL;
		for (; gap; gap = strstr(gap + 1, "  "))
			last = gap;
		*(last ? last : line) = 0;
	}
	draw_text(&cv, 2 * scale, y, scale, line, bar_x - 2 * scale);
	for (int j = y + 2 * scale; j < y + 5 * scale; j++)
		for (int i = 0; i < bar_px; i++)
			set(&cv, bar_x + i, j);
	draw_text(&cv, label_x, y, scale, label, cv.width);
}
