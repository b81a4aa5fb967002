/* Internal: the subcommands of the semqr command-line tool. Each parses its
 * own options (argv[0] is the subcommand name), calls the library and prints;
 * it returns the process exit status: 0 success, 1 failure of the work
 * (undecodable input, I/O error), 2 usage error. Errors go to stderr as
 * "semqr SUBCOMMAND: message". */
#ifndef SEMQR_CLI_H
#define SEMQR_CLI_H

int semqr_cmd_encode(int argc, char **argv);
int semqr_cmd_decode(int argc, char **argv);
int semqr_cmd_info(int argc, char **argv);
int semqr_cmd_simulate(int argc, char **argv);
int semqr_cmd_regress(int argc, char **argv);

#endif
