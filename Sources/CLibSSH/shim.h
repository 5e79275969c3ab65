#ifndef RUNNER_CLIBSSH_SHIM_H
#define RUNNER_CLIBSSH_SHIM_H
// libssh 0.10 (Debian libssh-dev, pkg-config libssh). Only the static inline shims Swift
// needs for C macros live here.
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <fcntl.h>

/// SSH_AGAIN etc. are plain enums/ints; these macros are not importable into Swift.
static inline int runner_ssh_o_wronly_creat_excl(void) { return O_WRONLY | O_CREAT | O_EXCL; }
static inline int runner_ssh_o_rdonly(void) { return O_RDONLY; }
#endif
