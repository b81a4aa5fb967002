/* Regression runs (semqr/regress.h): listing scans with their ground truth,
 * decoding each with semqr_decode_scan, and pairing decoded symbols with
 * truth symbols by payload and position. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error_internal.h"
#include "semqr/regress.h"

/* ---- matching -------------------------------------------------------------- */

/* A possible pairing: decoded symbol `found` within reach of truth symbol `truth`. */
typedef struct candidate {
	size_t found, truth;
	int same;                  /* equal payload bytes */
	double d2;                 /* squared distance of the centres */
} candidate;

typedef struct by_x {
	double x;
	size_t index;
} by_x;

static int cmp_by_x(const void *a, const void *b)
{
	const by_x *p = a, *q = b;
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	return p->index < q->index ? -1 : p->index > q->index;
}

/* Same payload first, then nearer, then lower decoded and truth index. */
static int cmp_candidate(const void *a, const void *b)
{
	const candidate *p = a, *q = b;
	if (p->same != q->same)
		return q->same - p->same;
	if (p->d2 != q->d2)
		return p->d2 < q->d2 ? -1 : 1;
	if (p->found != q->found)
		return p->found < q->found ? -1 : 1;
	return p->truth < q->truth ? -1 : p->truth > q->truth;
}

static int same_payload(const semqr_regress_found *f, const semqr_truth_symbol *t)
{
	return f->payload_len == t->payload_len &&
	       (!t->payload_len || !memcmp(f->payload, t->payload, t->payload_len));
}

/* Appends every truth symbol within reach of each decoded one to *out. Truth
 * centres sorted by x bound the search to the strip |x - fx| <= the largest
 * reach, so a plate costs about (decoded x symbols per strip), not
 * (decoded x truth). */
static semqr_status gather(const semqr_truth *truth, const semqr_regress_found *found,
                           size_t nfound, double tolerance, candidate **out, size_t *nout,
                           semqr_error *err)
{
	size_t n = truth->count, cap = 0;
	*out = NULL;
	*nout = 0;
	if (!n || !nfound)
		return SEMQR_OK;
	by_x *order = malloc(n * sizeof *order);
	if (!order)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "regress: no memory to sort %zu symbols", n);
	double reach_max = 0.0;
	for (size_t i = 0; i < n; i++) {
		order[i] = (by_x){truth->symbols[i].center_px[0], i};
		if (tolerance * truth->symbols[i].side_px > reach_max)
			reach_max = tolerance * truth->symbols[i].side_px;
	}
	qsort(order, n, sizeof *order, cmp_by_x);
	for (size_t j = 0; j < nfound; j++) {
		const double fx = found[j].center_px[0], fy = found[j].center_px[1];
		size_t lo = 0, hi = n; /* first entry with x >= fx - reach_max */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (order[mid].x < fx - reach_max)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t k = lo; k < n && order[k].x <= fx + reach_max; k++) {
			const semqr_truth_symbol *t = &truth->symbols[order[k].index];
			double dx = fx - t->center_px[0], dy = fy - t->center_px[1];
			double reach = tolerance * t->side_px, d2 = dx * dx + dy * dy;
			if (!(d2 <= reach * reach))
				continue;
			if (*nout == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				candidate *c = realloc(*out, ncap * sizeof *c);
				if (!c) {
					free(order);
					return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
					                   "regress: no memory for %zu candidate pairs", ncap);
				}
				*out = c;
				cap = ncap;
			}
			(*out)[(*nout)++] = (candidate){j, order[k].index, same_payload(&found[j], t), d2};
		}
	}
	free(order);
	return SEMQR_OK;
}

semqr_status semqr_regress_match(const semqr_truth *truth, semqr_regress_found *found,
                                 size_t found_count, double tolerance,
                                 semqr_regress_class *truth_match, long *truth_found,
                                 semqr_regress_counts *counts, semqr_error *err)
{
	if (!(tolerance > 0.0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "regress: the pairing tolerance must be > 0, not %g", tolerance);
	candidate *cand;
	size_t ncand;
	semqr_status st = gather(truth, found, found_count, tolerance, &cand, &ncand, err);
	if (st != SEMQR_OK)
		return st;
	if (ncand)
		qsort(cand, ncand, sizeof *cand, cmp_candidate);

	for (size_t j = 0; j < found_count; j++) {
		found[j].match = SEMQR_REGRESS_EXTRA;
		found[j].truth = -1;
	}
	for (size_t i = 0; i < truth->count; i++) {
		truth_match[i] = truth->symbols[i].inside ? SEMQR_REGRESS_MISSING : SEMQR_REGRESS_OUTSIDE;
		truth_found[i] = -1;
	}
	for (size_t c = 0; c < ncand; c++) {
		size_t j = cand[c].found, i = cand[c].truth;
		if (found[j].truth >= 0 || truth_found[i] >= 0)
			continue;
		semqr_regress_class cls = cand[c].same ? SEMQR_REGRESS_CORRECT : SEMQR_REGRESS_WRONG;
		found[j].match = truth_match[i] = cls;
		found[j].truth = (long)i;
		truth_found[i] = (long)j;
	}
	free(cand);

	memset(counts, 0, sizeof *counts);
	counts->decoded = (long)found_count;
	for (size_t i = 0; i < truth->count; i++) {
		bool inside = truth->symbols[i].inside;
		counts->expected += inside;
		switch (truth_match[i]) {
		case SEMQR_REGRESS_CORRECT:
			if (inside)
				counts->correct++;
			else
				counts->bonus++;
			break;
		case SEMQR_REGRESS_WRONG: counts->wrong++; break;
		case SEMQR_REGRESS_MISSING: counts->missing++; break;
		default: break;
		}
	}
	counts->extra = counts->decoded - counts->correct - counts->bonus - counts->wrong;
	counts->rate = counts->expected ? (double)counts->correct / (double)counts->expected : 1.0;
	return SEMQR_OK;
}

/* ---- one scan ----------------------------------------------------------------- */

void semqr_regress_options_init(semqr_regress_options *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->min_rate = 1.0;
	opts->tolerance = 0.5;
	semqr_scan_decode_options_init(&opts->decode);
	opts->module_nm_from_truth = true;
}

/* What the decoder's callback collects. */
typedef struct collector {
	semqr_regress_result *r;
	size_t cap;
	bool out_of_memory;
} collector;

static void collect(void *user, const semqr_scan_symbol *s)
{
	collector *c = user;
	semqr_regress_result *r = c->r;
	if (!s->decoded) {
		r->failures++;
		return;
	}
	if (c->out_of_memory)
		return;
	if (r->found_count == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 16;
		semqr_regress_found *f = realloc(r->found, ncap * sizeof *f);
		if (!f) {
			c->out_of_memory = true;
			return;
		}
		r->found = f;
		c->cap = ncap;
	}
	semqr_regress_found *f = &r->found[r->found_count];
	*f = (semqr_regress_found){NULL, s->data->payload_len, s->data->version,
	                           {s->center_px[0], s->center_px[1]}, SEMQR_REGRESS_EXTRA, -1};
	if (f->payload_len) {
		f->payload = malloc(f->payload_len);
		if (!f->payload) {
			c->out_of_memory = true;
			return;
		}
		memcpy(f->payload, s->data->payload, f->payload_len);
	}
	r->found_count++;
}

static char *copy_string(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* The module pitch every truth symbol gives, or 0 when they give none or
 * disagree. */
static double truth_module_nm(const semqr_truth *t)
{
	double nm = t->count ? t->symbols[0].module_nm : 0.0;
	for (size_t i = 1; i < t->count; i++)
		if (t->symbols[i].module_nm != nm)
			return 0.0;
	return nm;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Opens and decodes the scan into r->found; r->truth is loaded. */
static semqr_status decode(semqr_regress_result *r, const semqr_regress_options *opts,
                          semqr_error *err)
{
	semqr_scan *scan;
	semqr_status st = semqr_scan_open(r->scan_path, &opts->scan, &scan, err);
	if (st != SEMQR_OK)
		return st;
	semqr_scan_info info;
	semqr_scan_get_info(scan, &info);
	const semqr_truth *t = &r->truth;
	if (info.width != t->width || info.height != t->height || info.pages != t->frames) {
		semqr_scan_close(scan);
		return semqr__fail(err, SEMQR_ERR_FORMAT,
		                   "%s is %d x %d pixels with %d page%s, but its ground truth %s "
		                   "describes %d x %d with %d frame%s",
		                   r->scan_path, info.width, info.height, info.pages,
		                   info.pages == 1 ? "" : "s", r->truth_path, t->width, t->height,
		                   t->frames, t->frames == 1 ? "" : "s");
	}
	semqr_scan_decode_options dopts = opts->decode;
	double nm = opts->module_nm_from_truth ? truth_module_nm(t) : 0.0;
	if (nm > 0.0)
		dopts.module_nm = nm;
	collector c = {r, 0, false};
	st = semqr_decode_scan(scan, &dopts, collect, &c, NULL, err);
	semqr_scan_close(scan);
	if (st != SEMQR_OK) {
		char why[SEMQR_ERROR_MESSAGE_MAX];
		snprintf(why, sizeof why, "%s", err->message);
		return semqr__fail(err, st, "%s: decoding failed: %s", r->scan_path, why);
	}
	if (c.out_of_memory)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY,
		                   "%s: no memory to keep the decoded symbols", r->scan_path);
	return SEMQR_OK;
}

static semqr_status run(semqr_regress_result *r, const semqr_regress_options *opts,
                        semqr_error *err)
{
	if (!r->scan_path)
		return semqr__fail(err, SEMQR_ERR_IO,
		                   "%s: ground truth without a scan beside it (no .tif, .tiff, .png "
		                   "or .pgm of the same name)", r->truth_path ? r->truth_path : "(null)");
	if (!r->truth_path)
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT, "%s: no ground truth path given",
		                   r->scan_path);
	if (!(opts->tolerance > 0.0) || !(opts->min_rate >= 0.0 && opts->min_rate <= 1.0))
		return semqr__fail(err, SEMQR_ERR_INVALID_ARGUMENT,
		                   "regress: tolerance %g must be > 0 and min_rate %g in [0, 1]",
		                   opts->tolerance, opts->min_rate);
	struct stat sb;
	if (stat(r->truth_path, &sb) && errno == ENOENT)
		return semqr__fail(err, SEMQR_ERR_IO, "%s: no ground truth: %s does not exist",
		                   r->scan_path, r->truth_path);
	semqr_status st = semqr_truth_load(r->truth_path, &r->truth, err);
	if (st != SEMQR_OK)
		return st;
	size_t n = r->truth.count ? r->truth.count : 1;
	r->truth_match = malloc(n * sizeof *r->truth_match);
	r->truth_found = malloc(n * sizeof *r->truth_found);
	if (!r->truth_match || !r->truth_found)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "%s: no memory for %zu symbols",
		                   r->truth_path, r->truth.count);
	double t0 = now_seconds();
	st = decode(r, opts, err);
	r->seconds = now_seconds() - t0;
	if (st != SEMQR_OK)
		return st;
	st = semqr_regress_match(&r->truth, r->found, r->found_count, opts->tolerance,
	                         r->truth_match, r->truth_found, &r->counts, err);
	if (st != SEMQR_OK)
		return st;
	r->pass = !r->counts.wrong && !r->counts.extra && r->counts.rate >= opts->min_rate;
	return SEMQR_OK;
}

semqr_status semqr_regress_file(const char *scan_path, const char *truth_path,
                                const semqr_regress_options *opts, semqr_regress_result *result)
{
	memset(result, 0, sizeof *result);
	semqr_error err = {0};
	semqr_regress_options defaults;
	if (!opts) {
		semqr_regress_options_init(&defaults);
		opts = &defaults;
	}
	result->scan_path = copy_string(scan_path);
	result->truth_path = copy_string(truth_path);
	if ((scan_path && !result->scan_path) || (truth_path && !result->truth_path))
		result->status = semqr__fail(&err, SEMQR_ERR_NO_MEMORY, "regress: no memory");
	else
		result->status = run(result, opts, &err);
	if (result->status != SEMQR_OK) {
		result->pass = false;
		memcpy(result->error, err.message, sizeof result->error);
	}
	return result->status;
}

void semqr_regress_result_free(semqr_regress_result *result)
{
	if (!result)
		return;
	for (size_t j = 0; j < result->found_count; j++)
		free(result->found[j].payload);
	free(result->found);
	free(result->truth_match);
	free(result->truth_found);
	semqr_truth_free(&result->truth);
	free(result->scan_path);
	free(result->truth_path);
	memset(result, 0, sizeof *result);
}

/* ---- listing ------------------------------------------------------------------ */

static const char *const scan_extensions[] = {".tif", ".tiff", ".png", ".pgm"};

/* The extension of the last component of path (from its last '.'), or "". */
static const char *extension(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot : "";
}

static bool is_scan_name(const char *name)
{
	const char *ext = extension(name);
	for (size_t k = 0; k < sizeof scan_extensions / sizeof scan_extensions[0]; k++)
		if (!strcasecmp(ext, scan_extensions[k]))
			return true;
	return false;
}

/* path with its extension replaced by ".json" (malloc'd). */
static char *truth_path_of(const char *path)
{
	size_t stem = strlen(path) - strlen(extension(path));
	char *t = malloc(stem + sizeof ".json");
	if (t) {
		memcpy(t, path, stem);
		memcpy(t + stem, ".json", sizeof ".json");
	}
	return t;
}

typedef struct pair_list {
	semqr_regress_pair *v;
	size_t n, cap;
} pair_list;

/* Appends {scan, truth}, taking both strings (freed on failure). */
static semqr_status push(pair_list *l, char *scan, char *truth, semqr_error *err)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 16;
		semqr_regress_pair *v = realloc(l->v, ncap * sizeof *v);
		if (!v) {
			free(scan);
			free(truth);
			return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "regress: no memory to list files");
		}
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = (semqr_regress_pair){scan, truth};
	return SEMQR_OK;
}

static int cmp_pair(const void *a, const void *b)
{
	const semqr_regress_pair *p = a, *q = b;
	int c = strcmp(p->truth, q->truth);
	if (c || p->scan == q->scan)
		return c;
	if (!p->scan || !q->scan)
		return p->scan ? 1 : -1;
	return strcmp(p->scan, q->scan);
}

static bool is_regular(const char *path)
{
	struct stat sb;
	return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

/* dir/name (malloc'd). */
static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	bool slash = a && dir[a - 1] != '/';
	char *p = malloc(a + slash + b + 1);
	if (p) {
		memcpy(p, dir, a);
		if (slash)
			p[a] = '/';
		memcpy(p + a + slash, name, b + 1);
	}
	return p;
}

/* Lists dir/name when it is wanted in this pass: in pass 1 a scan (with
 * its NAME.json), in pass 2 a NAME.json that none of the first `scans`
 * pairs (those of pass 1) claimed. */
static semqr_status consider(const char *dir, const char *name, int pass, size_t scans,
                             pair_list *l, semqr_error *err)
{
	bool wanted = pass == 1 ? is_scan_name(name) : !strcasecmp(extension(name), ".json");
	if (name[0] == '.' || !wanted)
		return SEMQR_OK;
	char *path = join(dir, name);
	if (!path)
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "regress: no memory to list %s", dir);
	bool keep = is_regular(path);
	for (size_t k = 0; keep && pass == 2 && k < scans; k++)
		keep = strcmp(l->v[k].truth, path) != 0;
	if (!keep) {
		free(path);
		return SEMQR_OK;
	}
	if (pass == 2)
		return push(l, NULL, path, err);
	char *truth = truth_path_of(path);
	if (!truth) {
		free(path);
		return semqr__fail(err, SEMQR_ERR_NO_MEMORY, "regress: no memory to list %s", dir);
	}
	return push(l, path, truth, err);
}

static semqr_status list_dir(const char *dir, pair_list *l, semqr_error *err)
{
	for (int pass = 1; pass <= 2; pass++) {
		DIR *d = opendir(dir);
		if (!d)
			return semqr__fail(err, SEMQR_ERR_IO, "%s: cannot read the directory: %s", dir,
			                   strerror(errno));
		size_t scans = l->n;
		semqr_status st = SEMQR_OK;
		struct dirent *e;
		while (st == SEMQR_OK && (e = readdir(d)))
			st = consider(dir, e->d_name, pass, scans, l, err);
		closedir(d);
		if (st != SEMQR_OK)
			return st;
	}
	if (!l->n)
		return semqr__fail(err, SEMQR_ERR_IO,
		                   "%s: no scans (*.tif, *.tiff, *.png, *.pgm) or ground truth (*.json) "
		                   "in this directory", dir);
	return SEMQR_OK;
}

semqr_status semqr_regress_list(const char *path, semqr_regress_pair **pairs, size_t *count,
                                semqr_error *err)
{
	*pairs = NULL;
	*count = 0;
	struct stat sb;
	if (stat(path, &sb))
		return semqr__fail(err, SEMQR_ERR_IO, "%s: %s", path, strerror(errno));
	pair_list l = {NULL, 0, 0};
	semqr_status st;
	if (S_ISDIR(sb.st_mode)) {
		st = list_dir(path, &l, err);
	} else if (S_ISREG(sb.st_mode)) {
		char *scan = copy_string(path), *truth = truth_path_of(path);
		if (scan && truth) {
			st = push(&l, scan, truth, err);
		} else {
			free(scan);
			free(truth);
			st = semqr__fail(err, SEMQR_ERR_NO_MEMORY, "regress: no memory");
		}
	} else {
		st = semqr__fail(err, SEMQR_ERR_IO, "%s: neither a scan file nor a directory", path);
	}
	if (st != SEMQR_OK) {
		semqr_regress_pairs_free(l.v, l.n);
		return st;
	}
	qsort(l.v, l.n, sizeof *l.v, cmp_pair);
	*pairs = l.v;
	*count = l.n;
	semqr__clear(err);
	return SEMQR_OK;
}

void semqr_regress_pairs_free(semqr_regress_pair *pairs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(pairs[i].scan);
		free(pairs[i].truth);
	}
	free(pairs);
}
