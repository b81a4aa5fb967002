/* Pixel size, image height and scan timing from SEM vendors' TIFF metadata
 * (see vendor_meta.h for where each vendor keeps them).
 *
 * All text handling works on spans (pointer + length) inside the tag's bytes:
 * nothing is assumed NUL-terminated, and every loop is bounded by the span.
 * Numbers are parsed here rather than with strtod, whose decimal separator
 * follows the process locale. */
#include <math.h>
#include <string.h>

#include "io/vendor_meta.h"

typedef struct span {
	const uint8_t *p;
	size_t n;
} span;

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static span trim(span s)
{
	while (s.n > 0 && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of a span with a C string. */
static int span_is(span s, const char *word)
{
	size_t n = strlen(word);
	if (s.n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower(s.p[i]) != lower((uint8_t)word[i]))
			return 0;
	return 1;
}

/* Splits off the next line of *rest: lines end at CR, LF or NUL. Returns 0
 * when *rest is empty. */
static int next_line(span *rest, span *line)
{
	if (rest->n == 0)
		return 0;
	size_t i = 0;
	while (i < rest->n && rest->p[i] != '\r' && rest->p[i] != '\n' && rest->p[i] != 0)
		i++;
	*line = (span){rest->p, i};
	size_t skip = i < rest->n ? i + 1 : i;
	rest->p += skip;
	rest->n -= skip;
	return 1;
}

/* Parses a decimal number with optional sign, fraction and exponent at the
 * start of s; *used gets the number of bytes taken. Returns 0 when s does not
 * start with a number. */
static int parse_number(span s, double *out, size_t *used)
{
	size_t i = 0;
	int negative = 0;
	if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
		negative = s.p[i++] == '-';
	double mantissa = 0;
	int scale = 0, digits = 0;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, digits++) {
		if (mantissa < 1e17)
			mantissa = mantissa * 10 + (s.p[i] - '0');
		else
			scale++;
	}
	if (i < s.n && s.p[i] == '.') {
		for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, digits++) {
			if (mantissa < 1e17) {
				mantissa = mantissa * 10 + (s.p[i] - '0');
				scale--;
			}
		}
	}
	if (digits == 0)
		return 0;
	if (i < s.n && (s.p[i] == 'e' || s.p[i] == 'E')) {
		size_t j = i + 1;
		int exp_negative = 0, exponent = 0, exp_digits = 0;
		if (j < s.n && (s.p[j] == '+' || s.p[j] == '-'))
			exp_negative = s.p[j++] == '-';
		for (; j < s.n && s.p[j] >= '0' && s.p[j] <= '9'; j++, exp_digits++)
			if (exponent < 10000)
				exponent = exponent * 10 + (s.p[j] - '0');
		if (exp_digits > 0) {
			scale += exp_negative ? -exponent : exponent;
			i = j;
		}
	}
	double v = mantissa * pow(10, scale);
	*out = negative ? -v : v;
	*used = i;
	return 1;
}

/* A whole span that is one number (surrounding whitespace allowed). */
static int span_number(span s, double *out)
{
	size_t used;
	s = trim(s);
	return parse_number(s, out, &used) && used == s.n;
}

/* Pixel sizes beyond this range (1 pm .. 1 m) are taken as garbage. */
static int plausible_nm(double nm)
{
	return isfinite(nm) && nm >= 1e-3 && nm <= 1e9;
}

/* A unit name and what one of it is worth in the quantity's base unit. */
typedef struct unit {
	const char *name;
	double scale;
} unit;

/* Lengths in nanometres; the micro sign in UTF-8 or Latin-1. */
static const unit length_units[] = {{"pm", 1e-3},       {"nm", 1},      {"um", 1e3},
                                    {"\xc2\xb5m", 1e3}, {"\xb5m", 1e3}, {"mm", 1e6}};
/* Times in seconds (SmartSEM writes "Secs"). */
static const unit time_units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xb5s", 1e-6},
                                  {"ms", 1e-3}, {"s", 1},     {"sec", 1},          {"secs", 1}};

#define UNITS(table) table, sizeof table / sizeof table[0]

/* The scale of the unit named by s (without case) among units[0..n-1]. */
static int unit_scale(span s, const unit *units, size_t n, double *scale)
{
	for (size_t i = 0; i < n; i++) {
		if (span_is(s, units[i].name)) {
			*scale = units[i].scale;
			return 1;
		}
	}
	return 0;
}

/* ---- scan timing -------------------------------------------------------- */

/* Scan times beyond this range (1 ps .. 1 day) are taken as garbage. */
static int plausible_s(double s)
{
	return isfinite(s) && s >= 1e-12 && s <= 86400;
}

enum { FRAME_TIME, LINE_TIME, DWELL };

/* The field of time i (FRAME_TIME, LINE_TIME or DWELL). */
static double *time_field(semqr__vendor_meta *m, int i)
{
	return i == FRAME_TIME ? &m->frame_time_s : i == LINE_TIME ? &m->line_time_s : &m->dwell_s;
}

/* Appends the constant text to m->timing_source. The texts fit
 * (SEMQR__TIMING_SOURCE_MAX is sized for the longest combination); a longer
 * one would be cut, never written past the buffer. */
static void timing_note(semqr__vendor_meta *m, const char *text)
{
	size_t n = strlen(m->timing_source), k = strlen(text);
	size_t room = sizeof m->timing_source - 1 - n;
	if (k > room)
		k = room;
	memcpy(m->timing_source + n, text, k);
	m->timing_source[n + k] = '\0';
}

/* Stores time i = v seconds unless implausible, and names its key in the
 * timing source, after `head` for the first key found, else after ", ". */
static void set_time(semqr__vendor_meta *m, int i, double v, const char *head, const char *key)
{
	if (!plausible_s(v))
		return;
	*time_field(m, i) = v;
	timing_note(m, m->timing_source[0] ? ", " : head);
	timing_note(m, key);
}

/* ---- INI text (FEI, Tescan) --------------------------------------------- */

/* Finds key in [section] of INI text: "[Section]" lines open sections,
 * "Key=Value" lines (whitespace around both allowed) hold values; names are
 * compared without case. The first match wins. */
static int ini_get(span text, const char *section, const char *key, span *value)
{
	span line;
	int in_section = 0;
	while (next_line(&text, &line)) {
		line = trim(line);
		/* "[Section]", possibly after binary bytes (Tescan), but not
		 * "Key=[value]". */
		if (line.n >= 2 && line.p[line.n - 1] == ']') {
			size_t open = line.n - 1;
			while (open > 0 && line.p[open - 1] != '[' && line.p[open - 1] != '=')
				open--;
			if (open > 0 && line.p[open - 1] == '[' && !memchr(line.p, '=', open)) {
				in_section = span_is((span){line.p + open, line.n - 1 - open}, section);
				continue;
			}
		}
		if (!in_section)
			continue;
		const uint8_t *eq = memchr(line.p, '=', line.n);
		if (!eq)
			continue;
		if (span_is(trim((span){line.p, (size_t)(eq - line.p)}), key)) {
			*value = trim((span){eq + 1, line.n - (size_t)(eq - line.p) - 1});
			return 1;
		}
	}
	return 0;
}

static int ini_number(span text, const char *section, const char *key, double *out)
{
	span v;
	return ini_get(text, section, key, &v) && span_number(v, out);
}

/* A positive whole number of pixels, at most 2^31 - 1. */
static int ini_count(span text, const char *section, const char *key, uint32_t *out)
{
	double v;
	if (!ini_number(text, section, key, &v) || !(v >= 1 && v <= 2147483647.0) || v != floor(v))
		return 0;
	*out = (uint32_t)v;
	return 1;
}

/* Pixel width and height in metres from [section]; both must be plausible. */
static int ini_pixel_m(span text, const char *section, const char *kx, const char *ky,
                       double *x_nm, double *y_nm)
{
	double x, y;
	if (!ini_number(text, section, kx, &x) || !ini_number(text, section, ky, &y))
		return 0;
	x *= 1e9;
	y *= 1e9;
	if (!plausible_nm(x) || !plausible_nm(y))
		return 0;
	*x_nm = x;
	*y_nm = y;
	return 1;
}

/* The times of one FEI section: each of keys[FRAME_TIME, LINE_TIME, DWELL]
 * not found yet is read in seconds. The keys found are named after "head" as
 * "[section] key, key", or after "; " when an earlier section gave some. */
static void fei_times(span t, const char *head, const char *section, const char *const keys[3],
                      semqr__vendor_meta *m)
{
	int listed = 0;
	for (int i = 0; i < 3; i++) {
		double v;
		if (*time_field(m, i) > 0 || !ini_number(t, section, keys[i], &v) ||
		    !plausible_s(v))
			continue;
		*time_field(m, i) = v;
		if (!listed) {
			timing_note(m, m->timing_source[0] ? "; [" : head);
			timing_note(m, section);
			timing_note(m, "] ");
		} else {
			timing_note(m, ", ");
		}
		timing_note(m, keys[i]);
		listed = 1;
	}
}

int semqr__meta_fei(const uint8_t *text, size_t len, int tag, semqr__vendor_meta *m)
{
	span t = {text, len};
	int sfeg = tag == SEMQR__TAG_FEI_SFEG;
	m->vendor = "FEI/Thermo Fisher";
	/* [Scan], then the scan section of the beam that took the image. */
	static const char *const scan_keys[3] = {"FrameTime", "LineTime", "Dwelltime"};
	static const char *const beam_keys[3] = {"FrameTime", "LineTime", "Dwell"};
	const char *head = sfeg ? "FEI tag 34680 [" : "FEI tag 34682 [";
	fei_times(t, head, "Scan", scan_keys, m);
	span beam;
	if (ini_get(t, "Beam", "Scan", &beam)) {
		if (span_is(beam, "EScan"))
			fei_times(t, head, "EScan", beam_keys, m);
		else if (span_is(beam, "IScan"))
			fei_times(t, head, "IScan", beam_keys, m);
	}
	uint32_t w, h;
	if (ini_count(t, "Image", "ResolutionX", &w) && ini_count(t, "Image", "ResolutionY", &h)) {
		m->image_width = w;
		m->image_height = h;
		m->size_source = sfeg ? "FEI tag 34680 [Image] ResolutionX, ResolutionY"
		                      : "FEI tag 34682 [Image] ResolutionX, ResolutionY";
	}
	if (!ini_pixel_m(t, "Scan", "PixelWidth", "PixelHeight", &m->pixel_nm_x, &m->pixel_nm_y))
		return 0;
	m->pixel_source = sfeg ? "FEI tag 34680 [Scan] PixelWidth, PixelHeight"
	                       : "FEI tag 34682 [Scan] PixelWidth, PixelHeight";
	return 1;
}

int semqr__meta_tescan(const uint8_t *text, size_t len, semqr__vendor_meta *m)
{
	span t = {text, len};
	m->vendor = "Tescan";
	double dwell;
	if (ini_number(t, "SEM", "DwellTime", &dwell))
		set_time(m, DWELL, dwell, "Tescan tag 50431 [SEM] ", "DwellTime");
	if (ini_pixel_m(t, "MAIN", "PixelSizeX", "PixelSizeY", &m->pixel_nm_x, &m->pixel_nm_y)) {
		m->pixel_source = "Tescan tag 50431 [MAIN] PixelSizeX, PixelSizeY";
		return 1;
	}
	if (ini_pixel_m(t, "SEM", "PixelSizeX", "PixelSizeY", &m->pixel_nm_x, &m->pixel_nm_y)) {
		m->pixel_source = "Tescan tag 50431 [SEM] PixelSizeX, PixelSizeY";
		return 1;
	}
	return 0;
}

/* ---- Zeiss SmartSEM ----------------------------------------------------- */

/* Parses "Label = 11.16 nm": the number times its unit's scale. */
static int zeiss_quantity(span line, const unit *units, size_t n_units, double *out)
{
	const uint8_t *eq = memchr(line.p, '=', line.n);
	if (!eq)
		return 0;
	span v = trim((span){eq + 1, line.n - (size_t)(eq - line.p) - 1});
	double x, scale;
	size_t used;
	if (!parse_number(v, &x, &used) ||
	    !unit_scale(trim((span){v.p + used, v.n - used}), units, n_units, &scale))
		return 0;
	*out = x * scale;
	return 1;
}

/* The value on the line after the key line `key`, scaled by its unit. */
static int zeiss_get(span text, const char *key, const unit *units, size_t n_units, double *out)
{
	span line;
	while (next_line(&text, &line)) {
		if (!span_is(trim(line), key))
			continue;
		/* The value is on the next non-empty line (CR LF gives an empty one). */
		while (next_line(&text, &line)) {
			line = trim(line);
			if (line.n > 0)
				return zeiss_quantity(line, units, n_units, out);
		}
		return 0;
	}
	return 0;
}

int semqr__meta_zeiss(const uint8_t *text, size_t len, semqr__vendor_meta *m)
{
	span t = {text, len};
	m->vendor = "Zeiss SmartSEM";
	static const char *const time_keys[3] = {"AP_FRAME_TIME", "AP_LINE_TIME", "DP_DWELL_TIME"};
	for (int i = 0; i < 3; i++) {
		double v;
		if (zeiss_get(t, time_keys[i], UNITS(time_units), &v))
			set_time(m, i, v, "Zeiss tag 34118 ", time_keys[i]);
	}
	double nm;
	if (zeiss_get(t, "AP_IMAGE_PIXEL_SIZE", UNITS(length_units), &nm) && plausible_nm(nm))
		m->pixel_source = "Zeiss tag 34118 AP_IMAGE_PIXEL_SIZE";
	else if (zeiss_get(t, "AP_PIXEL_SIZE", UNITS(length_units), &nm) && plausible_nm(nm))
		m->pixel_source = "Zeiss tag 34118 AP_PIXEL_SIZE";
	else
		return 0;
	m->pixel_nm_x = m->pixel_nm_y = nm;
	return 1;
}

/* ---- Fibics XML --------------------------------------------------------- */

/* Finds the byte range of the content of the first element <name ...>...<
 * within s: after the start tag's '>', up to the next '<'. *attrs, unless
 * attrs is NULL, gets the start tag's bytes between the name and the '>'. */
static int xml_element(span s, const char *name, span *content, span *attrs)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n + 1 < s.n; i++) {
		if (s.p[i] != '<' || memcmp(s.p + i + 1, name, n) != 0)
			continue;
		uint8_t after = s.p[i + 1 + n];
		if (after != '>' && !is_space(after))
			continue;
		const uint8_t *gt = memchr(s.p + i + 1 + n, '>', s.n - i - 1 - n);
		if (!gt)
			return 0;
		size_t start = (size_t)(gt + 1 - s.p);
		if (attrs)
			*attrs = (span){s.p + i + 1 + n, (size_t)(gt - (s.p + i + 1 + n))};
		const uint8_t *lt = memchr(gt + 1, '<', s.n - start);
		size_t end = lt ? (size_t)(lt - s.p) : s.n;
		*content = (span){s.p + start, end - start};
		return 1;
	}
	return 0;
}

static int xml_number(span s, const char *name, double *out)
{
	span c;
	return xml_element(s, name, &c, NULL) && span_number(c, out);
}

/* The value of attribute `name` in a start tag's attribute bytes, written
 * name="value" or name='value' (spaces around '=' allowed). */
static int xml_attribute(span attrs, const char *name, span *value)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n < attrs.n; i++) {
		if ((i > 0 && !is_space(attrs.p[i - 1])) || memcmp(attrs.p + i, name, n) != 0)
			continue;
		size_t j = i + n;
		while (j < attrs.n && is_space(attrs.p[j]))
			j++;
		if (j == attrs.n || attrs.p[j] != '=')
			continue;
		for (j++; j < attrs.n && is_space(attrs.p[j]); j++)
			;
		if (j == attrs.n || (attrs.p[j] != '"' && attrs.p[j] != '\''))
			continue;
		const uint8_t *close = memchr(attrs.p + j + 1, attrs.p[j], attrs.n - j - 1);
		if (!close)
			return 0;
		*value = (span){attrs.p + j + 1, (size_t)(close - (attrs.p + j + 1))};
		return 1;
	}
	return 0;
}

/* <Dwell units="ns">1000</Dwell> in seconds; a dwell without units is not
 * read. */
static int fibics_dwell(span scan, double *s)
{
	span content, attrs, units;
	double v, scale;
	if (!xml_element(scan, "Dwell", &content, &attrs) || !span_number(content, &v) ||
	    !xml_attribute(attrs, "units", &units) ||
	    !unit_scale(trim(units), UNITS(time_units), &scale))
		return 0;
	*s = v * scale;
	return 1;
}

int semqr__meta_fibics(const uint8_t *text, size_t len, semqr__vendor_meta *m)
{
	span t = {text, len}, scan;
	m->vendor = "Fibics";
	if (!xml_element(t, "Scan", &scan, NULL))
		return 0;
	/* xml_element stops the content at the first child; the children are
	 * searched from there to the end of the text, bounded by </Scan>. */
	span rest = {scan.p, len - (size_t)(scan.p - text)};
	for (size_t i = 0; i + 7 <= rest.n; i++) {
		if (memcmp(rest.p + i, "</Scan>", 7) == 0) {
			rest.n = i;
			break;
		}
	}
	double dwell;
	if (fibics_dwell(rest, &dwell))
		set_time(m, DWELL, dwell, "Fibics tag 51023 ", "Scan/Dwell");
	double ux, uy = 0, vx = 0, vy;
	if (!xml_number(rest, "Ux", &ux))
		return 0;
	xml_number(rest, "Uy", &uy);
	xml_number(rest, "Vx", &vx);
	double x = hypot(ux, uy) * 1e3;
	double y = xml_number(rest, "Vy", &vy) ? hypot(vx, vy) * 1e3 : x;
	if (!plausible_nm(x) || !plausible_nm(y))
		return 0;
	m->pixel_nm_x = x;
	m->pixel_nm_y = y;
	m->pixel_source = "Fibics tag 51023 Scan/Ux, Uy, Vx, Vy";
	return 1;
}

/* ---- data zone heuristic ------------------------------------------------ */

int semqr__find_data_zone(const semqr__row_stat *rows, int n, uint32_t width)
{
	if (n <= 0 || width == 0)
		return -1;
	uint64_t w = width;
	int y = n - 1;
	/* Image rows left below the box. */
	int skipped = 0;
	while (y >= 0 && skipped < 8 &&
	       (uint64_t)(rows[y].black + rows[y].white) * 10 < w * 8) {
		y--;
		skipped++;
	}
	int bottom = y;
	while (y >= 0 && (uint64_t)(rows[y].black + rows[y].white) * 10 >= w * 8)
		y--;
	int top = y + 1;
	/* A run reaching the first row given may go on above it: no verdict. */
	if (y < 0 || bottom - top + 1 < 8)
		return -1;
	uint64_t frame = rows[top].black > rows[top].white ? rows[top].black : rows[top].white;
	return frame * 100 >= w * 98 ? top : -1;
}
