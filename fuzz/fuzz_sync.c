// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the sync protocol decoder (src/sync/codec.c): any
 * input line must decode or be rejected without a crash, leak or UB; what
 * decodes must re-encode to a line that decodes to the same message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/sync/sync_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct xp_sync_limits lim = {.max_pairs = 64, .max_warnings = 8};
    struct xp_sync_msg m, m2;
    struct xp_buf b;
    char why[256];

    if (xp_sync_msg__decode((const char *)data, size, &lim, &m, why, sizeof(why))) {
        xp_sync_msg__release(&m);
        return 0;
    }
    xp_buf__init(&b);
    if (xp_sync_msg__encode(&m, &b) == 0) {
        if (xp_sync_msg__decode(b.p, b.len - 1, &lim, &m2, why, sizeof(why)))
            abort();
        if (m2.op != m.op || m2.n_pairs != m.n_pairs || m2.n_down != m.n_down ||
            m2.seq != m.seq || m2.n_warnings != m.n_warnings)
            abort();
        for (unsigned i = 0; i < m.n_pairs; i++)
            if (memcmp(&m.pairs[i].key, &m2.pairs[i].key, sizeof(m.pairs[i].key)) ||
                m.pairs[i].l.c != m2.pairs[i].l.c || m.pairs[i].l.ts1 != m2.pairs[i].l.ts1)
                abort();
        xp_sync_msg__release(&m2);
    }
    xp_buf__free(&b);
    xp_sync_msg__release(&m);
    return 0;
}
