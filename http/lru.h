/* lru.h - an intrusive doubly linked list kept in recency order.
 *
 * Both file caches (the per-thread static cache and the shared gzip cache)
 * evict least recently used entries first: an entry embeds a struct
 * lru_node, a hit moves it to the front, eviction takes from the back.
 * No allocation, O(1) everything; locking is the owner's business. The
 * event loop keeps its connections waiting for another turn on one too,
 * as a queue: in at the head, out at the tail. */
#ifndef LRU_H
#define LRU_H

#include <stddef.h>

struct lru_node {
    struct lru_node *prev, *next;
};

struct lru_list {
    struct lru_node *head, *tail; /* most, least recently used */
};

/* The entry of type holding node as member, or NULL for a NULL node. */
#define LRU_ENTRY(node, type, member) \
    ((node) ? (type *)(void *)((char *)(node)-offsetof(type, member)) : (type *)NULL)

static inline void
lru_unlink(struct lru_list *l, struct lru_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static inline void
lru_push_front(struct lru_list *l, struct lru_node *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    l->head = n;
    if (l->tail == NULL)
        l->tail = n;
}

#endif
