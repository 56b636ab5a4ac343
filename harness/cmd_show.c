/* placeholder: being written */
#include "cli.h"
int iob_cmd_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return IOB_EXIT_USAGE;
}
