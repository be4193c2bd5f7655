#!/usr/bin/env python3
"""check_chrome.py FILE NAME...: validates `greenscope export --format chrome`.

The file must parse as JSON; every track (tid) with slices must be named by a
thread_name record; X slices on one track must nest strictly (times compared
in integer ns); each flow (bind_id) must start with one flow_out-only slice,
end with one flow_in-only slice and step through flow_in+flow_out slices in
time order; each NAME must name a greenlet track ("NAME #id (thread N)") that
has "running" slices; a hub track must hold poll slices. Exit 0 if all holds.
"""
import collections
import json
import re
import sys


def ns(us):
    return round(us * 1000)


def check_nesting(slices, name, errors):
    stack = []
    for begin, neg_end, label in sorted(slices):
        end = -neg_end
        while stack and stack[-1][0] <= begin:
            stack.pop()
        if stack and end > stack[-1][0]:
            errors.append(f"{name}: '{label}' [{begin}, {end}] crosses '{stack[-1][1]}' ending at {stack[-1][0]}")
        stack.append((end, label))


def check_flows(flows, errors):
    for fid, members in flows.items():
        members.sort()
        kinds = [(fin, fout) for _, fin, fout in members]
        if len(kinds) < 2 or kinds[0] != (False, True) or kinds[-1] != (True, False) or \
                any(k != (True, True) for k in kinds[1:-1]):
            errors.append(f"flow {fid}: bad chain {kinds[:4]}... ({len(kinds)} slices)")


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    events = data["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    slices = collections.defaultdict(list)
    flows = collections.defaultdict(list)
    errors = []
    for e in events:
        if e["ph"] != "X":
            continue
        if e["dur"] < 0:
            errors.append(f"negative dur: {e}")
        begin = ns(e["ts"])
        slices[e["tid"]].append((begin, -(begin + ns(e["dur"])), e["name"]))
        if "bind_id" in e:
            flows[e["bind_id"]].append((begin, e.get("flow_in", False), e.get("flow_out", False)))
    for tid, track in slices.items():
        if tid not in names:
            errors.append(f"tid {tid} has slices but no thread_name")
        check_nesting(track, names.get(tid, str(tid)), errors)
    check_flows(flows, errors)
    for wanted in sys.argv[2:]:
        tids = [t for t, n in names.items() if re.match(re.escape(wanted) + r" #\d+ \(thread \d+\)$", n)]
        if not tids:
            errors.append(f"no track named '{wanted} #id (thread N)'")
        elif not any(s[2] == "running" for t in tids for s in slices[t]):
            errors.append(f"track '{wanted}' has no running slices")
    hubs = [t for t, n in names.items() if n.startswith("hub #")]
    if not hubs or not any(s[2] == "poll" for t in hubs for s in slices[t]):
        errors.append("no hub track with poll slices")
    for error in errors[:20]:
        print(error)
    print(f"tracks={len(names)} slices={sum(map(len, slices.values()))} flows={len(flows)} errors={len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
