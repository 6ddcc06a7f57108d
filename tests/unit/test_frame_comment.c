// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The process group of frame comments: formatted from the procinfo, with
 * names cleaned of control characters, and reformatted whenever the
 * thread, the process generation (an exec) or the thread's name changes.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame_comment.h"

static void comm_of(const char *name, char out[16])
{
	memset(out, 0, 16);
	strncpy(out, name, 15);
}

int main(void)
{
	struct frame_comments *fc = frame_comments_new();
	struct procinfo info = { .pid = 4242, .cmdline = "curl https://example.com/",
				 .exe = "/usr/bin/curl", .generation = 1 };
	char comm[16], *first;
	const char *text;

	comm_of("curl", comm);
	text = frame_comments_process(fc, &info, 4243, comm, sizeof(comm));
	CHECK(!strcmp(text, "PID: 4242\nThreadId: 4243\nComm: curl\n"
			    "Cmd: curl https://example.com/\nExe: /usr/bin/curl"),
	      "first format: %s", text);
	first = strdup(text);
	CHECK(!strcmp(frame_comments_process(fc, &info, 4243, comm, sizeof(comm)), first),
	      "same thread, same text");

	/* An exec: the cache must not serve the old command line. */
	info.cmdline = "wget https://example.com/";
	info.generation = 2;
	text = frame_comments_process(fc, &info, 4243, comm, sizeof(comm));
	CHECK(strstr(text, "Cmd: wget https://example.com/") != NULL, "after exec: %s", text);

	/* Another thread of the process, and a renamed thread. */
	text = frame_comments_process(fc, &info, 4244, comm, sizeof(comm));
	CHECK(strstr(text, "ThreadId: 4244\n") != NULL, "other thread: %s", text);
	comm_of("worker", comm);
	text = frame_comments_process(fc, &info, 4244, comm, sizeof(comm));
	CHECK(strstr(text, "Comm: worker\n") != NULL, "renamed thread: %s", text);

	/* Names are the process's to choose: no forged lines or groups. */
	info.cmdline = "evil\nPodName: x\x1e" "Container: y";
	info.generation = 3;
	comm_of("a\nb", comm);
	text = frame_comments_process(fc, &info, 1, comm, sizeof(comm));
	CHECK(!strcmp(text, "PID: 4242\nThreadId: 1\nComm: a b\nCmd: evil PodName: x Container: y\n"
			    "Exe: /usr/bin/curl"),
	      "control characters kept: %s", text);

	/* A full comm (16 bytes, no terminator) is read to its size, not beyond. */
	memset(comm, 'x', sizeof(comm));
	text = frame_comments_process(fc, &info, 2, comm, sizeof(comm));
	CHECK(strstr(text, "Comm: xxxxxxxxxxxxxxxx\nCmd:") != NULL, "full comm: %s", text);

	free(first);
	frame_comments_free(fc);
	frame_comments_free(NULL);
	return check_exit_status("test_frame_comment");
}
