/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A pcapng writer (the format Wireshark and tshark read natively; IETF
 * draft-ietf-opsawg-pcapng): one section, one Ethernet interface with
 * nanosecond timestamps, and one Enhanced Packet Block per frame, each with
 * an optional comment (opt_comment): xpro-ctl capture writes the proxy's
 * verdict there.
 *
 * Blocks are written whole with one fwrite each, in the host's byte order
 * (the section header's magic tells readers which), so a file cut short by
 * a crash or Ctrl-C holds every block before the cut intact.
 *
 * One writer per FILE, from one thread at a time; not hot-path.
 */
#ifndef XP_UTIL_PCAPNG_H
#define XP_UTIL_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define XP_PCAPNG_LINKTYPE_ETHERNET 1
#define XP_PCAPNG_COMMENT_MAX 1024   /* longest comment accepted, bytes without the NUL */
#define XP_PCAPNG_SNAPLEN_MAX 4096u  /* longest snap we write: a block is built on the stack */

/* Block types and option codes the writer uses (and the unit test's reader checks). */
#define XP_PCAPNG_BT_SHB 0x0A0D0D0Au
#define XP_PCAPNG_BT_IDB 0x00000001u
#define XP_PCAPNG_BT_EPB 0x00000006u
#define XP_PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define XP_PCAPNG_OPT_END 0
#define XP_PCAPNG_OPT_COMMENT 1
#define XP_PCAPNG_OPT_SHB_USERAPPL 4
#define XP_PCAPNG_OPT_IF_NAME 2
#define XP_PCAPNG_OPT_IF_TSRESOL 9

struct xp_pcapng_writer {
    FILE *f;
    uint32_t snaplen;
    uint64_t packets; /* EPBs written */
    uint64_t bytes;   /* file bytes written */
};

/*
 * Start a file on f (the caller's; not closed here): the section header
 * (shb_userappl = appl) and one interface (Ethernet, snaplen, if_name =
 * ifname, nanosecond if_tsresol). appl and ifname may be NULL. 0, -EINVAL
 * (snaplen 0 or over XP_PCAPNG_SNAPLEN_MAX, text over the comment bound), or
 * -EIO (the write failed; errno tells why).
 */
int xp_pcapng__begin(struct xp_pcapng_writer *w, FILE *f, uint32_t snaplen, const char *appl,
                     const char *ifname);

/*
 * One frame of origlen bytes, of which the first caplen (<= origlen and
 * <= snaplen) are in data, seen at t_ns (ns since the epoch), with comment
 * (NULL: none). 0, -EINVAL, or -EIO.
 */
int xp_pcapng__packet(struct xp_pcapng_writer *w, uint64_t t_ns, const void *data,
                      uint32_t caplen, uint32_t origlen, const char *comment);

#endif /* XP_UTIL_PCAPNG_H */
