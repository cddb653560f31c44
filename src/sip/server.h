/* The daemon: binds the transports, loads the directory and location table,
 * and runs the signalling loop until SIGINT or SIGTERM. */
#ifndef RF_SIP_SERVER_H
#define RF_SIP_SERVER_H

struct rf_conf;

/* Returns a process exit status: 0 after a clean shutdown, 1 when start-up
 * failed (the reason has been printed to stderr). */
int server_run(struct rf_conf *c);

#endif
