// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mutual challenge-response with a per-proxy secret (docs/protocol.md
 * "Authentication"). Both proofs cover both nonces and the proxy id, and
 * start with a different label, so that neither side's proof can be
 * replayed on another connection or reflected back as the other side's.
 * The messages are ASCII so that an operator can compute them with
 * `openssl dgst -sha256 -mac HMAC`.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "sync_internal.h"

static int xp_auth__mac(const uint8_t *secret, size_t secret_len, const char *label,
                        const uint8_t a[XP_SYNC_NONCE_LEN], const uint8_t b[XP_SYNC_NONCE_LEN],
                        const char *id, const uint8_t ka[XP_KX_LEN], const uint8_t kb[XP_KX_LEN],
                        uint8_t mac[XP_SYNC_MAC_LEN])
{
    char ha[2 * XP_SYNC_NONCE_LEN + 1], hb[2 * XP_SYNC_NONCE_LEN + 1];
    char hka[2 * XP_KX_LEN + 1], hkb[2 * XP_KX_LEN + 1];
    char msg[32 + 4 * XP_SYNC_NONCE_LEN + 4 * XP_KX_LEN + XP_SYNC_ID_MAX + 8];
    unsigned int len = 0;
    int n;

    xp_hex__encode(a, XP_SYNC_NONCE_LEN, ha);
    xp_hex__encode(b, XP_SYNC_NONCE_LEN, hb);
    xp_hex__encode(ka, XP_KX_LEN, hka);
    xp_hex__encode(kb, XP_KX_LEN, hkb);
    n = snprintf(msg, sizeof(msg), "xpro2 %s %s %s %s %s %s", label, ha, hb, id, hka, hkb);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -EINVAL;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, (size_t)n, mac,
              &len) ||
        len != XP_SYNC_MAC_LEN)
        return -EIO;
    return 0;
}

int xp_sync_auth__client_mac(const uint8_t *secret, size_t secret_len,
                             const struct xp_sync_hs *hs, uint8_t mac[XP_SYNC_MAC_LEN])
{
    return xp_auth__mac(secret, secret_len, "hello", hs->s_nonce, hs->c_nonce, hs->id, hs->s_kx,
                        hs->c_kx, mac);
}

int xp_sync_auth__server_mac(const uint8_t *secret, size_t secret_len,
                             const struct xp_sync_hs *hs, uint8_t mac[XP_SYNC_MAC_LEN])
{
    return xp_auth__mac(secret, secret_len, "welcome", hs->c_nonce, hs->s_nonce, hs->id,
                        hs->c_kx, hs->s_kx, mac);
}

bool xp_sync_auth__equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int xp_sync_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t got = getrandom(p, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}
