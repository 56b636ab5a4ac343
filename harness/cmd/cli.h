/**
 * iobench subcommands. Each takes the arguments after its name (argv[0] is the command name) and
 * returns the process exit status: 0 success, 1 the command ran and found a failure, 2 bad input
 * (usage or a message naming the problem is already on stderr).
 */
#ifndef IOB_CLI_H
#define IOB_CLI_H

#include <stddef.h>

#include "opt.h"

#ifdef __cplusplus
extern "C" {
#endif

int iob_cmd_topo(int argc, char **argv);
int iob_cmd_list(int argc, char **argv);
int iob_cmd_run(int argc, char **argv);
int iob_cmd_merge(int argc, char **argv);
int iob_cmd_show(int argc, char **argv);
int iob_cmd_compare(int argc, char **argv);
int iob_cmd_plot(int argc, char **argv);
int iob_cmd_gate(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* IOB_CLI_H */
