/**
 * Compiler and CPU helpers shared by every libiort module.
 *
 * Nothing here synchronizes: these are layout and hint macros only.
 */
#ifndef IORT_COMPILER_H
#define IORT_COMPILER_H

#ifdef __cplusplus
extern "C" {
#endif

/** Symbols marked IORT_API are exported from libiort; everything else is hidden. */
#if defined(IORT_BUILDING)
#define IORT_API __attribute__((visibility("default")))
#else
#define IORT_API
#endif

#define IORT_WUR __attribute__((warn_unused_result))

/** Destructive-interference size: one x86-64 line; two for adjacent-line prefetch pairs. */
#define IORT_CACHELINE	       64
#define IORT_CACHELINE_ALIGNED __attribute__((aligned(IORT_CACHELINE)))

#define iort_likely(x)	 __builtin_expect(!!(x), 1)
#define iort_unlikely(x) __builtin_expect(!!(x), 0)

/** Spin-wait hint: yields the pipeline to the sibling hyperthread, saves power. */
static inline void iort_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* IORT_COMPILER_H */
