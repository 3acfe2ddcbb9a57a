/* pool.h - a small pool of blocking worker threads for slow jobs.
 *
 * Loop threads never block; work that must (an SMTP conversation, fsync of
 * an upload) is submitted here. A job runs on a worker, then its done()
 * callback runs back on the loop thread that submitted it, posted through
 * that loop's eventfd (loop_post), so connection state is only ever touched
 * by its own thread. */
#ifndef POOL_H
#define POOL_H

#include <stdbool.h>

struct loop;

struct job {
    void (*run)(struct job *job);  /* on a worker thread; may block */
    void (*done)(struct job *job); /* on the submitting loop's thread */
    struct loop *loop;             /* NULL: done runs on the worker after run */
    struct job *next;
};

/* Starts nthreads workers with a queue of at most queue_max waiting jobs.
 * Returns 0, or -1 with errno. */
int pool_start(int nthreads, int queue_max);

/* Queues job. Returns 0, or -1 when the queue is full (answer 503). */
int pool_submit(struct job *job);

/* Lets queued jobs finish, then stops and joins the workers. Returns false
 * when a job was still running after timeout_ms: the caller must then leave
 * every loop alive (a job may still post to one) and end the process. */
bool pool_stop(int timeout_ms);

#endif
