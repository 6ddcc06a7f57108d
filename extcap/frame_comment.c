/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "frame_comment.h"

#include <glib.h>
#include <string.h>

#include "tlsdump.h"

/* Threads writing at once on a busy node; a collision only costs a format. */
#define SLOTS 256
/* Cmd and Exe are cut here; /proc gives at most a page of arguments anyway. */
#define FIELD_MAX 4096

struct slot {
	uint32_t tid;
	/* of the procinfo it was formatted from, unique across processes; 0: empty */
	uint64_t generation;
	char comm[TLSDUMP_TASK_COMM_LEN];
	GString *text;
};

struct frame_comments {
	struct slot slots[SLOTS];
};

struct frame_comments *frame_comments_new(void)
{
	return g_new0(struct frame_comments, 1);
}

void frame_comments_free(struct frame_comments *fc)
{
	if (!fc)
		return;
	for (int i = 0; i < SLOTS; i++)
		if (fc->slots[i].text)
			g_string_free(fc->slots[i].text, TRUE);
	g_free(fc);
}

static void append_line(GString *text, const char *key, const char *value, size_t max)
{
	g_string_append_printf(text, "\n%s: ", key);
	for (size_t i = 0; i < max && value[i]; i++)
		g_string_append_c(text, (unsigned char)value[i] < 0x20 || value[i] == 0x7f ?
					       ' ' : value[i]);
}

const char *frame_comments_process(struct frame_comments *fc, const struct procinfo *info,
				   uint32_t tid, const char *comm, size_t comm_len)
{
	struct slot *slot = &fc->slots[(tid * 2654435761u) >> 24 & (SLOTS - 1)];
	size_t n = comm_len < sizeof(slot->comm) ? comm_len : sizeof(slot->comm);

	if (slot->generation == info->generation && slot->tid == tid && !strncmp(slot->comm, comm, n))
		return slot->text->str;
	slot->tid = tid;
	slot->generation = info->generation;
	memset(slot->comm, 0, sizeof(slot->comm));
	memcpy(slot->comm, comm, n);
	if (!slot->text)
		slot->text = g_string_sized_new(256);
	g_string_printf(slot->text, "PID: %u\nThreadId: %u", (unsigned int)info->pid, tid);
	append_line(slot->text, "Comm", comm, n);
	append_line(slot->text, "Cmd", info->cmdline, FIELD_MAX);
	append_line(slot->text, "Exe", info->exe, FIELD_MAX);
	return slot->text->str;
}
