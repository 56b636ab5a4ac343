/* placeholder: being written */
#include "cli.h"
int iob_cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return IOB_EXIT_USAGE;
}
int iob_cmd_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return IOB_EXIT_USAGE;
}
