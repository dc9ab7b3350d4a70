/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private to src/tunnel (and the device library, which compiles the same
 * sources): the MAC primitive. Not part of the module's API.
 */
#ifndef XP_TUNNEL_INTERNAL_H
#define XP_TUNNEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel.h"

/* Precompute HMAC-SHA256 inner/outer states for secret into state. 0 or -EINVAL. */
int xp_tunnel_mac__init(uint8_t state[XP_TUNNEL_MAC_STATE_LEN], const uint8_t *secret,
                        size_t secret_len);
/* tag = HMAC-SHA256(key, a || b) truncated to XP_TUNNEL_TAG_LEN. No allocation. */
void xp_tunnel_mac__tag(const uint8_t state[XP_TUNNEL_MAC_STATE_LEN], const uint8_t *a,
                        size_t a_len, const uint8_t *b, size_t b_len,
                        uint8_t tag[XP_TUNNEL_TAG_LEN]);
/* Constant-time equality of n bytes. */
bool xp_tunnel_mac__equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Zero n bytes in a way the compiler keeps. */
void xp_tunnel_mac__wipe(void *p, size_t n);

#endif /* XP_TUNNEL_INTERNAL_H */
