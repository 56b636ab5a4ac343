/* placeholder: being written */
#include "cli.h"
int iob_cmd_plot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return IOB_EXIT_USAGE;
}

int iob_plot_run(const char *run_dir)
{
	(void)run_dir;
	return -2;
}
