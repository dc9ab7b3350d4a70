// SPDX-License-Identifier: GPL-2.0-only
/*
 * HMAC-SHA256 (RFC 2104) without allocation on the packet path.
 *
 * OpenSSL 3's HMAC() and EVP_MAC fetch and allocate contexts on every call
 * (and EVP_MAC_CTX_dup()/re-init duplicate the provider's digest context),
 * which the data path must not do at Mpps. The key's two padded blocks are
 * therefore absorbed once, at setup, into a pair of SHA256_CTX that are
 * plain structs; a tag copies them by value and runs SHA-256 over the
 * message only. SHA256_Init/Update/Final are deprecated in OpenSSL 3 but
 * still shipped and still use the accelerated block functions; if they
 * ever go, this file is the only one to port (mbedTLS on the device has an
 * equivalent). tests/unit/test_tunnel.c checks the result against HMAC().
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "tunnel_internal.h"

struct xp_mac_state {
    SHA256_CTX inner; /* after (key ^ ipad) */
    SHA256_CTX outer; /* after (key ^ opad) */
};

_Static_assert(sizeof(struct xp_mac_state) <= XP_TUNNEL_MAC_STATE_LEN,
               "XP_TUNNEL_MAC_STATE_LEN too small for two SHA256_CTX");
_Static_assert(_Alignof(struct xp_mac_state) <= 8, "mac_state is only 8-byte aligned");
_Static_assert(XP_TUNNEL_KEY_MAX <= SHA256_CBLOCK, "keys longer than a block need hashing");

int xp_tunnel_mac__init(uint8_t state[XP_TUNNEL_MAC_STATE_LEN], const uint8_t *secret,
                        size_t secret_len)
{
    struct xp_mac_state *st = (struct xp_mac_state *)(void *)state;
    uint8_t pad[SHA256_CBLOCK];
    size_t i;

    if (!secret || secret_len < XP_TUNNEL_KEY_MIN || secret_len > XP_TUNNEL_KEY_MAX)
        return -EINVAL;
    memset(state, 0, XP_TUNNEL_MAC_STATE_LEN);

    memset(pad, 0x36, sizeof(pad));
    for (i = 0; i < secret_len; i++)
        pad[i] ^= secret[i];
    SHA256_Init(&st->inner);
    SHA256_Update(&st->inner, pad, sizeof(pad));

    memset(pad, 0x5c, sizeof(pad));
    for (i = 0; i < secret_len; i++)
        pad[i] ^= secret[i];
    SHA256_Init(&st->outer);
    SHA256_Update(&st->outer, pad, sizeof(pad));

    OPENSSL_cleanse(pad, sizeof(pad));
    return 0;
}

void xp_tunnel_mac__tag(const uint8_t state[XP_TUNNEL_MAC_STATE_LEN], const uint8_t *a,
                        size_t a_len, const uint8_t *b, size_t b_len,
                        uint8_t tag[XP_TUNNEL_TAG_LEN])
{
    const struct xp_mac_state *st = (const struct xp_mac_state *)(const void *)state;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256_CTX ctx = st->inner;

    SHA256_Update(&ctx, a, a_len);
    if (b_len)
        SHA256_Update(&ctx, b, b_len);
    SHA256_Final(digest, &ctx);

    ctx = st->outer;
    SHA256_Update(&ctx, digest, sizeof(digest));
    SHA256_Final(digest, &ctx);

    memcpy(tag, digest, XP_TUNNEL_TAG_LEN);
    OPENSSL_cleanse(&ctx, sizeof(ctx));
}

bool xp_tunnel_mac__equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void xp_tunnel_mac__wipe(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}
