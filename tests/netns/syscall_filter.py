#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""syscall_filter.py TRACE_DIR UNIT:PROGRAM...

Checks the system calls and socket families that PROGRAM made, as strace -ff recorded them in
TRACE_DIR (one file per process, t.PID), against UNIT's SystemCallFilter= and
RestrictAddressFamilies=, expanded by systemd-analyze syscall-filter. A process counts for
PROGRAM from its execve() of PROGRAM on, and so do the threads and children it starts.
Prints what was seen; exits 1 with every call or family the unit would refuse.
"""
import os
import re
import subprocess
import sys

RESULT = re.compile(r'(clone3?|fork|vfork)\(.*\)\s+=\s+(\d+)')
EXECVE = re.compile(r'execve\("([^"]+)".*\)\s+=\s+0')
CALL = re.compile(r'([a-z_0-9]+)\(')
SOCKET = re.compile(r'socket\((AF_[A-Z0-9]+|\d+)')


def expand(item, seen=None):
    """A system call, or a @group expanded recursively through systemd-analyze."""
    if not item.startswith('@'):
        return {item}
    seen = seen if seen is not None else set()
    if item in seen:
        return set()
    seen.add(item)
    out = subprocess.run(['systemd-analyze', 'syscall-filter', item], check=True,
                         capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith('#'):
            calls |= expand(line.split()[0], seen)
    return calls


def unit_filter(unit):
    """(allowed or None, denied, families or None) as systemd applies the unit's lines."""
    allow, deny, families = None, set(), None
    for line in open(unit):
        key, _, val = line.strip().partition('=')
        if key == 'SystemCallFilter':
            neg = val.startswith('~')
            calls = set().union(*(expand(i) for i in val.lstrip('~').split()))
            if neg and allow is not None:
                allow -= calls
            elif neg:
                deny |= calls
            else:
                allow = (allow or set()) | calls
        elif key == 'RestrictAddressFamilies':
            families = set(val.split())
    return allow, deny, families


def traced(trace_dir, program):
    files = {int(f.rsplit('.', 1)[1]): os.path.join(trace_dir, f)
             for f in os.listdir(trace_dir) if f.startswith('t.')}
    parent, execs = {}, {}
    for pid, path in files.items():
        with open(path, errors='replace') as f:
            for line in f:
                m = RESULT.match(line)
                if m:
                    parent[int(m.group(2))] = pid
                m = EXECVE.match(line)
                if m:
                    execs.setdefault(pid, []).append(os.path.basename(m.group(1)))

    def ours(pid):
        while pid is not None:
            if pid in execs:
                return execs[pid][-1] == program
            pid = parent.get(pid)
        return False

    calls, fams = set(), set()
    for pid, path in files.items():
        if not ours(pid):
            continue
        started = pid not in execs
        with open(path, errors='replace') as f:
            for line in f:
                if not started:
                    m = EXECVE.match(line)
                    started = bool(m) and os.path.basename(m.group(1)) == program
                    continue
                m = CALL.match(line)
                if m:
                    calls.add(m.group(1))
                m = SOCKET.match(line)
                if m:
                    fams.add(m.group(1))
    return calls, fams


def main():
    trace_dir, bad = sys.argv[1], 0
    for arg in sys.argv[2:]:
        unit, program = arg.rsplit(':', 1)
        allow, deny, families = unit_filter(unit)
        calls, fams = traced(trace_dir, program)
        if not calls:
            print(f'FAIL: no system call of {program} in the trace')
            bad += 1
            continue
        refused = sorted(c for c in calls if (allow is not None and c not in allow) or c in deny)
        fam_refused = sorted(f for f in fams if families is not None and f not in families)
        print(f'{program}: {len(calls)} system calls, families {" ".join(sorted(fams))}')
        for c in refused:
            print(f'FAIL: {os.path.basename(unit)} refuses {c}(), which {program} made')
        for f in fam_refused:
            print(f'FAIL: {os.path.basename(unit)} refuses {f} sockets, which {program} opened')
        bad += len(refused) + len(fam_refused)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
