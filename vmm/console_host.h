/* SPDX-License-Identifier: MIT */
/* console_host.h - the VM lifecycle's side of the console (devices use ktvm.h). */
#ifndef KTVM_CONSOLE_HOST_H
#define KTVM_CONSOLE_HOST_H

#include "vmm/ktvm.h"

/* NULL after printing one line (e.g. the console file cannot be opened). */
struct console *console_open(struct vm *vm, const struct vm_config *cfg);
/*
 * The end of the guest's output: drain it (bounded), give the terminal back
 * and close the console's files.  The object stays until console_close()
 * (devices that hook into it, the UART, unhook when the VM is destroyed);
 * later output is dropped.  Idempotent.
 */
void console_finish(struct console *c);
/* console_finish(), then free it: after every device that hooked into it is gone. */
void console_close(struct console *c);
/* The fd to watch for input, or -1. */
int console_input_fd(struct console *c);
/* Readable when guest output is waiting; the main loop then calls console_flush(). */
int console_output_fd(struct console *c);
/* Writes only what the sink takes now; the rest waits for the next readiness. */
void console_flush(struct console *c);
/* Guest output bytes dropped because the buffer was full (the sink not draining). */
uint64_t console_dropped(struct console *c);
/* Read what is there and hand it to the device; -1 when the fd should be dropped. */
int console_handle_input(struct console *c);
/* Escape handling on raw terminal input (exposed for unit tests). */
size_t console_filter_escapes(struct console *c, uint8_t *buf, size_t len);

#endif
