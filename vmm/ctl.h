/* SPDX-License-Identifier: MIT */
/* ctl.h - `ktvm ctl`, the control socket's command-line client (vmm/ctl.c). */
#ifndef KTVM_CTL_H
#define KTVM_CTL_H

#include <stdio.h>

/* argv[0] is "ctl"; argv[1] the socket, argv[2] the command, then options.  Exit status. */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);

#endif
