/**
 * iobench subcommands. Each takes the arguments after its name (argv[0] is the command name) and
 * returns the process exit status: 0 success, 1 the command ran and found a failure, 2 bad input
 * (usage or a message naming the problem is already on stderr).
 */
#ifndef IOB_CLI_H
#define IOB_CLI_H

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_EXIT_OK    0
#define IOB_EXIT_FAIL  1
#define IOB_EXIT_USAGE 2

int iob_cmd_topo(int argc, char **argv);
int iob_cmd_list(int argc, char **argv);
int iob_cmd_run(int argc, char **argv);

/** Parse a decimal integer in [lo, hi]; @return 0 or -EINVAL. */
int iob_parse_long(const char *s, long lo, long hi, long *out);

#ifdef __cplusplus
}
#endif

#endif /* IOB_CLI_H */
