// SPDX-License-Identifier: GPL-2.0-only
/*
 * The order matters (capabilities(7)): the bounding set can only be cut
 * while CAP_SETPCAP is still ours, so it goes first; PR_SET_KEEPCAPS keeps
 * the permitted set across setresuid() (which would otherwise clear it),
 * and capset() then narrows permitted and effective to what we keep.
 */
#include "src/util/privilege.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The highest capability number this code knows (CAP_CHECKPOINT_RESTORE in 5.9). */
#define XP_CAP_LAST 40

int xp_priv__resolve(const char *user, struct xp_priv_target *out, char *err, size_t err_len)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int n = XP_PRIV_MAX_GROUPS, ret;

    memset(out, 0, sizeof(*out));
    if (strlen(user) >= sizeof(out->name)) {
        snprintf(err, err_len, "user \"%s\": name too long", user);
        return -EINVAL;
    }
    ret = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
    if (ret || !res) {
        snprintf(err, err_len, "user \"%s\": %s (create it: adduser --system --group %s)", user,
                 ret ? strerror(ret) : "no such account", user);
        return ret ? -ret : -ENOENT;
    }
    if (pw.pw_uid == 0) {
        snprintf(err, err_len, "user \"%s\" is root: pick an unprivileged account", user);
        return -EINVAL;
    }
    snprintf(out->name, sizeof(out->name), "%s", user);
    out->uid = pw.pw_uid;
    out->gid = pw.pw_gid;
    if (getgrouplist(user, pw.pw_gid, out->groups, &n) < 0) {
        snprintf(err, err_len, "user \"%s\": more than %d groups", user, XP_PRIV_MAX_GROUPS);
        return -E2BIG;
    }
    out->n_groups = (unsigned)n;
    return 0;
}

static int capget_self(struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

    return (int)syscall(SYS_capget, &hdr, data);
}

uint64_t xp_priv__effective(void)
{
    struct __user_cap_data_struct d[2];

    if (capget_self(d))
        return 0;
    return (uint64_t)d[1].effective << 32 | d[0].effective;
}

static int set_caps(uint64_t keep)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2] = {
        { .effective = (uint32_t)keep, .permitted = (uint32_t)keep, .inheritable = 0 },
        { .effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32),
          .inheritable = 0 },
    };

    return (int)syscall(SYS_capset, &hdr, d);
}

int xp_priv__drop(const struct xp_priv_target *t, uint64_t keep, char *err, size_t err_len)
{
    struct __user_cap_data_struct d[2];
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    uint64_t permitted;

    for (int cap = 0; cap <= XP_CAP_LAST; cap++) {
        if (keep & (UINT64_C(1) << cap))
            continue;
        /* EINVAL: a capability this kernel does not have */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
            snprintf(err, err_len, "dropping capability %d from the bounding set: %s", cap,
                     strerror(errno));
            return -errno;
        }
    }
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(t->n_groups, t->groups) ||
        setresgid(t->gid, t->gid, t->gid) || setresuid(t->uid, t->uid, t->uid)) {
        snprintf(err, err_len, "becoming %s (uid %u): %s", t->name, (unsigned)t->uid,
                 strerror(errno));
        return -errno;
    }
    if (set_caps(keep) || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) ||
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        snprintf(err, err_len, "keeping capabilities %#llx: %s", (unsigned long long)keep,
                 strerror(errno));
        return -errno;
    }

    /* Trust, but verify: what the kernel says now. */
    if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != t->uid || eu != t->uid ||
        su != t->uid || rg != t->gid || eg != t->gid || sg != t->gid) {
        snprintf(err, err_len, "still not %s after setresuid/setresgid", t->name);
        return -EPERM;
    }
    if (capget_self(d)) {
        snprintf(err, err_len, "capget: %s", strerror(errno));
        return -errno;
    }
    permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
    if (permitted != keep || d[0].inheritable || d[1].inheritable) {
        snprintf(err, err_len, "capabilities %#llx permitted, wanted %#llx",
                 (unsigned long long)permitted, (unsigned long long)keep);
        return -EPERM;
    }
    if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
        snprintf(err, err_len, "root could be regained");
        return -EPERM;
    }
    return 0;
}

void xp_priv__names(uint64_t caps, char *buf, size_t len)
{
    static const char *const names[XP_CAP_LAST + 1] = {
        [CAP_CHOWN] = "cap_chown",
        [CAP_DAC_OVERRIDE] = "cap_dac_override",
        [CAP_DAC_READ_SEARCH] = "cap_dac_read_search",
        [CAP_FOWNER] = "cap_fowner",
        [CAP_SETGID] = "cap_setgid",
        [CAP_SETUID] = "cap_setuid",
        [CAP_SETPCAP] = "cap_setpcap",
        [CAP_NET_BIND_SERVICE] = "cap_net_bind_service",
        [CAP_NET_ADMIN] = "cap_net_admin",
        [CAP_NET_RAW] = "cap_net_raw",
        [CAP_IPC_LOCK] = "cap_ipc_lock",
        [CAP_SYS_ADMIN] = "cap_sys_admin",
        [CAP_SYS_RESOURCE] = "cap_sys_resource",
        [CAP_BPF] = "cap_bpf",
        [CAP_PERFMON] = "cap_perfmon",
    };
    size_t used = 0;

    if (len)
        buf[0] = '\0';
    if (!caps) {
        snprintf(buf, len, "none");
        return;
    }
    for (int cap = 0; cap <= 63 && used < len; cap++) {
        if (!(caps & (UINT64_C(1) << cap)))
            continue;
        if (cap <= XP_CAP_LAST && names[cap])
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[cap]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%scap_%d", used ? "," : "", cap);
    }
}
