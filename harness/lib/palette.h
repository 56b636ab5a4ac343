/**
 * Figure colours: one per implementation, the same in every figure of a run, computed from the
 * implementations' names, so that no table has to be kept and a new implementation needs
 * nothing.
 *
 * There are IOB_PALETTE_SLOTS colours (12 hues 30 degrees apart at 3 brightness levels). Each name
 * starts at the slot its 64-bit FNV-1a hash picks; names are placed in sorted order and a name
 * whose slot is taken moves to the next free one, so that up to IOB_PALETTE_SLOTS names never
 * share a colour. A name keeps its colour from run to run as long as no name sorted before it
 * came to take its slot; most names keep their hash's slot.
 *
 * Synchronization: none; one thread builds a palette, then any thread may read it.
 */
#ifndef IOB_PALETTE_H
#define IOB_PALETTE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_PALETTE_SLOTS 36

struct iob_palette;

/**
 * A palette for @p names (@p n of them, repeats allowed; copied). @return 0, or -ENOMEM.
 */
int iob_palette_build(const char *const *names, size_t n, struct iob_palette **out);
void iob_palette_free(struct iob_palette *p);

/**
 * The colour of @p name as "#rrggbb" in @p out; a name the palette was not built with gets its
 * hash's slot.
 */
void iob_palette_color(const struct iob_palette *p, const char *name, char out[8]);

#ifdef __cplusplus
}
#endif

#endif /* IOB_PALETTE_H */
