/* pool.c - blocking job pool; see pool.h. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "loop.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static int queued, queue_limit, running, nworkers;
static bool stopping;
static pthread_t *workers;

static void *
worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (head == NULL && !stopping)
            pthread_cond_wait(&wake, &lock);
        if (head == NULL)
            break;
        struct job *job = head;
        head = job->next;
        if (head == NULL)
            tail = NULL;
        queued--;
        running++;
        pthread_mutex_unlock(&lock);

        job->run(job);
        if (job->loop)
            loop_post(job->loop, job);
        else
            job->done(job); /* no loop to return to: a background job */

        pthread_mutex_lock(&lock);
        running--;
        if (head == NULL && running == 0)
            pthread_cond_broadcast(&idle);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int
pool_start(int nthreads, int queue_max)
{
    workers = calloc((size_t)nthreads, sizeof(*workers));
    if (workers == NULL)
        return -1;
    queue_limit = queue_max;
    for (nworkers = 0; nworkers < nthreads; nworkers++) {
        int err = pthread_create(&workers[nworkers], NULL, worker_main, NULL);
        if (err) {
            errno = err;
            return -1;
        }
    }
    return 0;
}

int
pool_submit(struct job *job)
{
    pthread_mutex_lock(&lock);
    if (stopping || queued >= queue_limit) {
        pthread_mutex_unlock(&lock);
        return -1;
    }
    job->next = NULL;
    if (tail)
        tail->next = job;
    else
        head = job;
    tail = job;
    queued++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return 0;
}

bool
pool_stop(int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&wake);
    int err = 0;
    while ((head != NULL || running > 0) && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&idle, &lock, &until);
    bool stuck = head != NULL || running > 0;
    pthread_mutex_unlock(&lock);
    if (stuck) {
        /* A job blocked on a slow peer past the grace period: the process
         * is exiting, and its deadlines would only delay that. */
        log_warn("%d job(s) still running at exit", running);
        return false;
    }
    for (int i = 0; i < nworkers; i++)
        pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    return true;
}
