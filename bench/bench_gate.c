/* placeholder: being written */
#include "bench.h"
void bench_gate_register(void)
{
}
