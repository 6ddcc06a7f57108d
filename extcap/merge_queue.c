/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "merge_queue.h"

#include <glib.h>
#include <stdbool.h>
#include <string.h>

/* A binary min-heap on (ts_ns, seq). */
struct merge_queue {
	GPtrArray *heap;
	uint64_t next_seq;
};

static bool earlier(const struct merge_item *a, const struct merge_item *b)
{
	return a->ts_ns < b->ts_ns || (a->ts_ns == b->ts_ns && a->seq < b->seq);
}

struct merge_queue *merge_queue_new(void)
{
	struct merge_queue *q = g_new0(struct merge_queue, 1);

	q->heap = g_ptr_array_new_with_free_func((GDestroyNotify)merge_item_free);
	return q;
}

void merge_queue_free(struct merge_queue *q)
{
	if (!q)
		return;
	g_ptr_array_free(q->heap, TRUE);
	g_free(q);
}

struct merge_item *merge_item_new(uint64_t ts_ns, int if_id, int direction, const void *data,
				  uint32_t len, const char *comment)
{
	struct merge_item *item = g_malloc(sizeof(*item) + len);

	item->ts_ns = ts_ns;
	item->seq = 0;
	item->if_id = if_id;
	item->direction = direction;
	item->owner = NULL;
	item->comment = comment ? g_strdup(comment) : NULL;
	item->len = len;
	if (data)
		memcpy(item->data, data, len);
	return item;
}

void merge_item_free(struct merge_item *item)
{
	if (!item)
		return;
	g_free(item->comment);
	g_free(item);
}

#define AT(q, i) ((struct merge_item *)g_ptr_array_index((q)->heap, (i)))

static void swap(struct merge_queue *q, guint a, guint b)
{
	gpointer tmp = q->heap->pdata[a];

	q->heap->pdata[a] = q->heap->pdata[b];
	q->heap->pdata[b] = tmp;
}

void merge_queue_push(struct merge_queue *q, struct merge_item *item)
{
	guint i = q->heap->len;

	item->seq = q->next_seq++;
	g_ptr_array_add(q->heap, item);
	while (i > 0 && earlier(AT(q, i), AT(q, (i - 1) / 2))) {
		swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

struct merge_item *merge_queue_peek(struct merge_queue *q)
{
	return q->heap->len ? AT(q, 0) : NULL;
}

struct merge_item *merge_queue_pop(struct merge_queue *q)
{
	struct merge_item *top;
	guint i = 0, n;

	if (!q->heap->len)
		return NULL;
	top = AT(q, 0);
	n = q->heap->len - 1;
	q->heap->pdata[0] = q->heap->pdata[n];
	g_ptr_array_steal_index_fast(q->heap, n);
	for (;;) {
		guint l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && earlier(AT(q, l), AT(q, m)))
			m = l;
		if (r < n && earlier(AT(q, r), AT(q, m)))
			m = r;
		if (m == i)
			break;
		swap(q, i, m);
		i = m;
	}
	return top;
}

size_t merge_queue_length(const struct merge_queue *q)
{
	return q->heap->len;
}
