/*
 * leader — leader election on a coordination.k8s.io/v1 Lease, as client-go does it.
 *
 * Every retry period each candidate reads the Lease. The holder renews it (PUT with the read
 * resourceVersion, so two writers cannot both win); a candidate takes it over only when the
 * holder's record has not changed for a whole lease duration *as observed locally* (no trust in
 * other machines' clocks). A leader that cannot renew within the renew deadline stops leading at
 * once. On shutdown the leader releases the Lease (empty holder), so a standby takes over
 * without waiting for expiry.
 *
 * Ownership: leader_new() borrows the loop, client and strings; leader_free() cancels requests.
 */
#ifndef PROPSCALER_LEADER_H
#define PROPSCALER_LEADER_H

#include <stdbool.h>

#include <ev.h>

#include "kclient.h"

struct leader_opts {
    const char *namespace_;
    const char *name;       /* the Lease */
    const char *identity;   /* this instance */
    double lease_duration_s, renew_deadline_s, retry_period_s;
    void (*changed)(void *ctx, bool leading); /* called on every change of leadership */
    void *ctx;
};

struct leader;

struct leader *leader_new(struct ev_loop *loop, struct kclient *client, const struct leader_opts *o);
void leader_start(struct leader *l);
/* True only while the last successful renew is within the renew deadline. */
bool leader_is_leading(const struct leader *l);
/* Give the lease up (if held); `done` runs when the release has been written or failed. */
void leader_release(struct leader *l, void (*done)(void *ctx), void *ctx);
void leader_free(struct leader *l);
const char *leader_holder(const struct leader *l); /* the last seen holder */
unsigned long leader_transitions(const struct leader *l);

#endif
