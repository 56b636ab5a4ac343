/* placeholder: being written */
typedef int iob_placeholder_stats;
