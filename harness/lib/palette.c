/* Figure colours from implementation names (palette.h). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "palette.h"

struct iob_palette {
	char **names; /* sorted, unique */
	int *slot;
	size_t n;
};

static unsigned hash_slot(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return (unsigned)(h % IOB_PALETTE_SLOTS);
}

/* Slot s: hue (s % 12) * 30 degrees; brightness level s / 12 (mid, dark, light). */
static void slot_color(unsigned s, char out[8])
{
	static const double value[] = { 0.80, 0.55, 0.95 }, sat[] = { 0.85, 0.90, 0.55 };
	double hue = (double)(s % 12) * 30.0, v = value[s / 12 % 3], c = v * sat[s / 12 % 3];
	double x = c * (1.0 - fabs(fmod(hue / 60.0, 2.0) - 1.0)), m = v - c;
	double rgb[6][3] = { { c, x, 0 }, { x, c, 0 }, { 0, c, x },
			     { 0, x, c }, { x, 0, c }, { c, 0, x } };
	const double *k = rgb[(int)(hue / 60.0) % 6];

	snprintf(out, 8, "#%02x%02x%02x", (unsigned)((k[0] + m) * 255.0 + 0.5),
		 (unsigned)((k[1] + m) * 255.0 + 0.5), (unsigned)((k[2] + m) * 255.0 + 0.5));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int iob_palette_build(const char *const *names, size_t n, struct iob_palette **out)
{
	struct iob_palette *p = calloc(1, sizeof(*p));
	bool taken[IOB_PALETTE_SLOTS] = { false };
	size_t used = 0;

	if (!p || !(p->names = calloc(n + 1, sizeof(*p->names))) ||
	    !(p->slot = calloc(n + 1, sizeof(*p->slot))))
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (!(p->names[p->n++] = strdup(names[i])))
			goto nomem;
	qsort(p->names, p->n, sizeof(*p->names), cmp_str);
	{
		size_t k = 0;

		for (size_t i = 0; i < p->n; i++) { /* unique */
			if (k && strcmp(p->names[k - 1], p->names[i]) == 0)
				free(p->names[i]);
			else
				p->names[k++] = p->names[i];
		}
		p->n = k;
	}
	for (size_t i = 0; i < p->n; i++) {
		unsigned s = hash_slot(p->names[i]);

		/* Every slot taken (more names than colours): share, at the hash's slot. */
		if (used < IOB_PALETTE_SLOTS) {
			while (taken[s])
				s = (s + 1) % IOB_PALETTE_SLOTS;
			taken[s] = true;
			used++;
		}
		p->slot[i] = (int)s;
	}
	*out = p;
	return 0;
nomem:
	iob_palette_free(p);
	return -ENOMEM;
}

void iob_palette_free(struct iob_palette *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->names && i < p->n; i++)
		free(p->names[i]);
	free(p->names);
	free(p->slot);
	free(p);
}

void iob_palette_color(const struct iob_palette *p, const char *name, char out[8])
{
	const char *key = name;
	char **hit = p ? bsearch(&key, p->names, p->n, sizeof(*p->names), cmp_str) : NULL;

	slot_color(hit ? (unsigned)p->slot[hit - p->names] : hash_slot(name), out);
}
