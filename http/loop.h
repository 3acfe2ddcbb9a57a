/* loop.h - one epoll event loop per pool thread.
 *
 * Each loop thread waits on the shared listening socket (EPOLLEXCLUSIVE, so
 * one thread wakes per connection) and accepts for itself; a connection then
 * lives on that thread until it closes, so nothing on the request path takes
 * a lock. Sockets are non-blocking and edge-triggered; a slow client only
 * ever costs a timer entry, never a parked thread. */
#ifndef LOOP_H
#define LOOP_H

#include <stdbool.h>
#include <stddef.h>

struct server_config;
struct gzcache;
struct job;
struct loop;

/* Creates a loop on listen_fd (shared with other loops). Returns NULL with
 * a message in err on failure. */
struct loop *loop_new(const struct server_config *cfg, int listen_fd, struct gzcache *gz, char *err,
                      size_t errlen);

/* Runs the loop until loop_stop() and its connections are done (or the
 * shutdown grace period ends). Call on the loop's own thread. */
void loop_run(struct loop *loop);

/* Asks a loop to stop accepting, finish responses in flight and return from
 * loop_run. Async-signal-safe (an eventfd write), callable from any thread. */
void loop_stop(struct loop *loop);

/* True once a stopping loop no longer watches or accepts on the listening
 * socket, so that the socket may be closed while it finishes its responses. */
bool loop_left_port(struct loop *loop);

/* Hands a finished job back to its loop; job->done runs on the loop thread.
 * Callable from any thread. */
void loop_post(struct loop *loop, struct job *job);

/* Marks the process as draining: /healthz answers 503 so load balancers
 * move traffic away, while every loop keeps serving. */
void loop_set_draining(void);

/* True once draining began (SIGTERM/SIGINT), for /healthz. */
bool loop_draining(void);

void loop_free(struct loop *loop);

#endif
