// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sync session after authentication: every line sealed (docs/protocol.md
 * "The sealed session").
 *
 * Choice. The handshake already proves both sides to each other with the
 * proxy's secret over fresh nonces from both. We add an ephemeral X25519
 * exchange to it (both key shares covered by both proofs, so a man in the
 * middle cannot swap them) and derive two session keys with HKDF-SHA256 from
 * the secret, the shared value and both nonces. Every later line is then
 * AES-256-GCM with an implicit per-direction counter as nonce: confidential,
 * authenticated, and any replayed, reordered, dropped or spliced line fails
 * its tag because the receiver expects exactly the next counter. TLS 1.3
 * with a PSK would give the same guarantees; this keeps the JSON protocol,
 * its one-line framing and its per-peer limits exactly as they are, adds no
 * second handshake or library state machine to the central node's epoll
 * loop, and is about 200 lines on OpenSSL primitives. The ephemeral
 * exchange gives forward secrecy: a secret stolen later does not open a
 * recorded session.
 *
 * Wire form of a sealed line: base64 (RFC 4648, padded) of ciphertext || tag,
 * then '\n'. The plaintext is the JSON line without its '\n'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "sync_internal.h"

#define XP_SEAL_IV 12

int xp_kx__keypair(uint8_t priv[XP_KX_LEN], uint8_t pub[XP_KX_LEN])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    EVP_PKEY *key = NULL;
    size_t len = XP_KX_LEN;
    int ret = -EIO;

    if (ctx && EVP_PKEY_keygen_init(ctx) > 0 && EVP_PKEY_keygen(ctx, &key) > 0 &&
        EVP_PKEY_get_raw_private_key(key, priv, &len) > 0 && len == XP_KX_LEN &&
        EVP_PKEY_get_raw_public_key(key, pub, &len) > 0 && len == XP_KX_LEN)
        ret = 0;
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

int xp_kx__shared(const uint8_t priv[XP_KX_LEN], const uint8_t peer[XP_KX_LEN],
                  uint8_t out[XP_KX_LEN])
{
    EVP_PKEY *me = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, XP_KX_LEN);
    EVP_PKEY *them = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, XP_KX_LEN);
    EVP_PKEY_CTX *ctx = me ? EVP_PKEY_CTX_new(me, NULL) : NULL;
    size_t len = XP_KX_LEN;
    static const uint8_t zero[XP_KX_LEN];
    int ret = -EIO;

    /* an all-zero result means a low-order point from the peer: refuse it */
    if (ctx && them && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, them) > 0 &&
        EVP_PKEY_derive(ctx, out, &len) > 0 && len == XP_KX_LEN &&
        !xp_sync_auth__equal(out, zero, XP_KX_LEN))
        ret = 0;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(them);
    EVP_PKEY_free(me);
    return ret;
}

/* HKDF-SHA256(salt, ikm, info) -> out[len] */
static int xp_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const char *info, uint8_t *out, size_t len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5], *p = params;
    int ret = -EIO;

    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, len, params) > 0)
        ret = 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ret;
}

int xp_seal__derive(const uint8_t *secret, size_t secret_len, const uint8_t dh[XP_KX_LEN],
                    const uint8_t s_nonce[XP_SYNC_NONCE_LEN],
                    const uint8_t c_nonce[XP_SYNC_NONCE_LEN], const char *id,
                    struct xp_seal *c2s, struct xp_seal *s2c)
{
    uint8_t salt[2 * XP_SYNC_NONCE_LEN], ikm[XP_SYNC_SECRET_MAX + XP_KX_LEN];
    char info[32 + XP_SYNC_ID_MAX];
    int ret;

    if (secret_len > XP_SYNC_SECRET_MAX)
        return -EINVAL;
    memcpy(salt, s_nonce, XP_SYNC_NONCE_LEN);
    memcpy(salt + XP_SYNC_NONCE_LEN, c_nonce, XP_SYNC_NONCE_LEN);
    memcpy(ikm, secret, secret_len);
    memcpy(ikm + secret_len, dh, XP_KX_LEN);
    memset(c2s, 0, sizeof(*c2s));
    memset(s2c, 0, sizeof(*s2c));
    snprintf(info, sizeof(info), "xpro2 c2s %s", id);
    ret = xp_hkdf(salt, sizeof(salt), ikm, secret_len + XP_KX_LEN, info, c2s->key,
                  sizeof(c2s->key));
    snprintf(info, sizeof(info), "xpro2 s2c %s", id);
    if (!ret)
        ret = xp_hkdf(salt, sizeof(salt), ikm, secret_len + XP_KX_LEN, info, s2c->key,
                      sizeof(s2c->key));
    OPENSSL_cleanse(ikm, sizeof(ikm));
    if (ret)
        return ret;
    c2s->on = s2c->on = true;
    return 0;
}

/* The 96-bit GCM nonce of message number ctr: 4 zero bytes, then ctr big-endian. */
static void xp_seal__iv(uint64_t ctr, uint8_t iv[XP_SEAL_IV])
{
    memset(iv, 0, 4);
    for (int i = 0; i < 8; i++)
        iv[4 + i] = (uint8_t)(ctr >> (56 - 8 * i));
}

size_t xp_seal__wire_len(size_t len)
{
    return 4 * ((len + XP_SEAL_TAG + 2) / 3);
}

int xp_seal__seal(struct xp_seal *s, const char *plain, size_t len, struct xp_buf *out)
{
    EVP_CIPHER_CTX *ctx;
    uint8_t iv[XP_SEAL_IV], *ct;
    size_t b64_len;
    int n = 0, fin = 0, ret = -EIO;
    char *b64;

    /* the base64 length, not only the line's, must fit EVP_EncodeBlock's int */
    if (len > XP_SEAL_MAX_PLAIN)
        return -EMSGSIZE;
    b64_len = xp_seal__wire_len(len);
    /* the counter never wraps: 2^64 lines is not a session */
    ct = malloc(len + XP_SEAL_TAG);
    b64 = malloc(b64_len + 2);
    ctx = EVP_CIPHER_CTX_new();
    xp_seal__iv(s->ctr, iv);
    if (ct && b64 && ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, s->key, iv) > 0 &&
        EVP_EncryptUpdate(ctx, ct, &n, (const uint8_t *)plain, (int)len) > 0 &&
        EVP_EncryptFinal_ex(ctx, ct + n, &fin) > 0 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, XP_SEAL_TAG, ct + len) > 0) {
        int w = EVP_EncodeBlock((unsigned char *)b64, ct, (int)(len + XP_SEAL_TAG));

        b64[w] = '\n';
        xp_buf__append(out, b64, (size_t)w + 1);
        ret = out->oom ? -ENOMEM : 0;
        s->ctr++;
    }
    EVP_CIPHER_CTX_free(ctx);
    free(b64);
    free(ct);
    return ret;
}

int xp_seal__open(struct xp_seal *s, const char *line, size_t len, struct xp_buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t iv[XP_SEAL_IV], *raw = NULL;
    int n = 0, fin = 0, raw_len, ret = -EBADMSG;
    size_t pad = 0;

    if (len < 4 || len % 4 || len > INT32_MAX)
        return -EBADMSG;
    for (size_t i = 0; i < len; i++) {
        char c = line[i];

        /* RFC 4648 alphabet only, '=' only as the last one or two */
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || (c == '=' && i >= len - 2)))
            return -EBADMSG;
    }
    pad = (line[len - 1] == '=') + (line[len - 2] == '=');
    if (line[len - 2] == '=' && line[len - 1] != '=')
        return -EBADMSG;
    raw = malloc(len / 4 * 3);
    if (!raw)
        return -ENOMEM;
    raw_len = EVP_DecodeBlock(raw, (const unsigned char *)line, (int)len);
    if (raw_len < 0 || (size_t)raw_len < pad + XP_SEAL_TAG)
        goto out;
    raw_len -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    ctx = EVP_CIPHER_CTX_new();
    xp_seal__iv(s->ctr, iv);
    out->len = 0;
    if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, s->key, iv) <= 0)
        goto out;
    {
        size_t pl = (size_t)raw_len - XP_SEAL_TAG;
        uint8_t *plain = malloc(pl + 1);

        if (!plain) {
            ret = -ENOMEM;
            goto out;
        }
        if (EVP_DecryptUpdate(ctx, plain, &n, raw, (int)pl) > 0 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, XP_SEAL_TAG, raw + pl) > 0 &&
            EVP_DecryptFinal_ex(ctx, plain + n, &fin) > 0) {
            xp_buf__append(out, plain, pl);
            ret = out->oom ? -ENOMEM : 0;
            s->ctr++;
        }
        OPENSSL_cleanse(plain, pl);
        free(plain);
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    return ret;
}

void xp_seal__clear(struct xp_seal *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}
