/* The command line: `ringfence [-c CONF] COMMAND ...`. Parses argv against
 * the admin command table, loads the configuration, drops root, opens the
 * store and renders the reply. */
#ifndef RF_ADMIN_CLI_H
#define RF_ADMIN_CLI_H

/* Returns the process exit status: 0, 1 (operation failed) or 2 (usage). */
int cli_main(int argc, char **argv);

#endif
