#ifndef RUNNER_CLIBSSH_SHIM_H
#define RUNNER_CLIBSSH_SHIM_H
// libssh 0.10 (Debian libssh-dev, pkg-config libssh), plus the static inline C Swift cannot
// express: `ssh_callbacks_init` is a macro, and the channel callbacks are C function pointers
// whose results are easiest to keep in a plain C struct.
#include <libssh/libssh.h>
#include <libssh/callbacks.h>
#include <libssh/sftp.h>
#include <libssh/server.h>  // ssh_send_keepalive, usable by clients too
#include <string.h>
#include <poll.h>

/// How a remote command ended, filled in by libssh's channel callbacks. It must stay at a
/// fixed address (allocate it) for as long as the channel it watches exists.
typedef struct runner_ssh_exit_state {
    int has_status;
    int status;
    int has_signal;
    char signal[32];
    struct ssh_channel_callbacks_struct callbacks;
} runner_ssh_exit_state;

static void runner_ssh_on_exit_status(ssh_session session, ssh_channel channel, int status, void *userdata) {
    (void)session; (void)channel;
    runner_ssh_exit_state *state = (runner_ssh_exit_state *)userdata;
    state->has_status = 1;
    state->status = status;
}

static void runner_ssh_on_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
                                      int core, const char *errmsg, const char *lang, void *userdata) {
    (void)session; (void)channel; (void)core; (void)errmsg; (void)lang;
    runner_ssh_exit_state *state = (runner_ssh_exit_state *)userdata;
    state->has_signal = 1;
    strncpy(state->signal, signal != NULL ? signal : "", sizeof(state->signal) - 1);
    state->signal[sizeof(state->signal) - 1] = '\0';
}

/// Clears `state` and registers it to receive `channel`'s exit-status and exit-signal.
static inline int runner_ssh_watch_exit(ssh_channel channel, runner_ssh_exit_state *state) {
    memset(state, 0, sizeof(*state));
    ssh_callbacks_init(&state->callbacks);
    state->callbacks.userdata = state;
    state->callbacks.channel_exit_status_function = runner_ssh_on_exit_status;
    state->callbacks.channel_exit_signal_function = runner_ssh_on_exit_signal;
    return ssh_set_channel_callbacks(channel, &state->callbacks);
}

/// Unregisters `state` from `channel`. `ssh_channel_free` only marks a channel that the server
/// has not closed yet; libssh keeps it, and would call the callbacks when the server's
/// exit-status or close arrives later, after `state` is freed.
static inline void runner_ssh_unwatch_exit(ssh_channel channel, runner_ssh_exit_state *state) {
    (void)ssh_remove_channel_callbacks(channel, &state->callbacks);
}

static int runner_ssh_wake(socket_t fd, int revents, void *userdata) {
    (void)fd; (void)revents; (void)userdata;
    return 0;
}

/// Adds `fd` to `event` so that `ssh_event_dopoll` returns when it becomes readable (the
/// callback only wakes the poll; the caller looks at the descriptor itself).
static inline int runner_ssh_event_add_wakeup(ssh_event event, int fd) {
    return ssh_event_add_fd(event, fd, POLLIN, runner_ssh_wake, NULL);
}
#endif
