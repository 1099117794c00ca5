#pragma once
/*
 * ctl_conn: one client connection to strowgerd's control channel: a Unix
 * socket, or TCP with a token (from a file, else $STROWGER_TOKEN). Each
 * call sends one ControlRequest frame and waits for its ControlResponse.
 * Errors are printed to stderr, naming the server.
 */
#include "strowger.pb-c.h"

struct ctl_conn {
	int fd;
	int timeout_ms; /* per I/O wait; 0: none */
	char token[1024];
	const char *where;
};

/* control: a Unix socket path; or tcp "HOST:PORT" (then control is
 * ignored) with token_file (NULL: $STROWGER_TOKEN). 0 or -1. */
int ctl_conn_open(struct ctl_conn *cn, const char *control, const char *tcp,
		  const char *token_file, int timeout_ms);

/* Send req (id and token filled in); the response (free with
 * strowger__control_response__free_unpacked) or NULL. */
Strowger__ControlResponse *ctl_conn_call(struct ctl_conn *cn, Strowger__ControlRequest *req);

void ctl_conn_close(struct ctl_conn *cn);
