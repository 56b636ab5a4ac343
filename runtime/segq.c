/* placeholder: being written */
typedef int iort_placeholder_segq;
