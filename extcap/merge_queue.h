/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Time-ordered output. Plaintext frames and original packets come from two
 * sources with their own delays; blocks wait here and leave in timestamp
 * order once no earlier block can still arrive.
 */
#ifndef TLSDUMP_MERGE_QUEUE_H
#define TLSDUMP_MERGE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct merge_item {
	uint64_t ts_ns;	  /* realtime timestamp of the block */
	int if_id;
	int direction;	  /* enum pcapng_direction */
	void *owner;	  /* source-specific state (e.g. the TCP flow), or NULL */
	char *comment;	  /* NULL or an opt_comment, stored after the data's room */
	uint32_t len;
	uint8_t data[];	  /* the block's packet data */
};

struct merge_queue;

/* Returns an empty queue. */
struct merge_queue *merge_queue_new(void);

/* Frees the queue and every item still in it; accepts NULL. */
void merge_queue_free(struct merge_queue *q);

/*
 * Returns a new item with room for @len bytes of data (copied from @data, or
 * filled by the caller when NULL; item->len may then shrink), not yet
 * queued. @comment is copied (may be NULL).
 */
struct merge_item *merge_item_new(uint64_t ts_ns, int if_id, int direction, const void *data,
				  uint32_t len, const char *comment);

/* Frees an item taken out of the queue; accepts NULL. */
void merge_item_free(struct merge_item *item);

/* Queues @item (the queue owns it from now on). */
void merge_queue_push(struct merge_queue *q, struct merge_item *item);

/* Returns the earliest item without removing it, or NULL when empty. */
struct merge_item *merge_queue_peek(struct merge_queue *q);

/* Removes and returns the earliest item, or NULL when empty. */
struct merge_item *merge_queue_pop(struct merge_queue *q);

/* Returns the number of queued items. */
size_t merge_queue_length(const struct merge_queue *q);

#endif /* TLSDUMP_MERGE_QUEUE_H */
