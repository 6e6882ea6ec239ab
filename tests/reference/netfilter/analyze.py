#!/usr/bin/python3
"""Decode the netfilter captures (tshark -T fields) into markdown tables.

  analyze.py RUNDIR...            writes RUNDIR/frames.md (both captures, one row per frame)
  analyze.py --nat RUNDIR...      one row per run: each conntrack entry's original source port (ICMP id)
                                  and the one its reply is addressed to after NAT (conntrack_L_after_all.txt)
  analyze.py --vary RUNDIR...     groups the runs by mode (the folder name without its -N suffix) and prints,
                                  per capture, which fields differ between the runs of a mode, frame by frame

Times are in ms since the first frame of each capture. For an ICMP error the "inner" columns are the
embedded (quoted) IP header and the first 8 bytes after it, as they are on the wire at that interface."""
import os
import re
import subprocess
import sys

FIELDS = ["frame.number", "frame.time_epoch", "eth.src", "eth.dst", "frame.len",
          "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.flags.df", "ip.dsfield", "ip.len", "ip.checksum",
          "ip.checksum.status", "ip.opt.type",
          "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "arp.dst.hw_mac",
          "icmp.type", "icmp.code", "icmp.ident", "icmp.seq", "icmp.checksum", "icmp.checksum.status",
          "udp.srcport", "udp.dstport", "udp.length", "udp.checksum", "udp.checksum.status",
          "dns.id", "dns.flags", "dns.qry.type",
          "tcp.srcport", "tcp.dstport", "tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.seq_raw", "tcp.ack_raw",
          "tcp.window_size_value", "tcp.len", "tcp.option_kind", "tcp.checksum", "tcp.checksum.status",
          "tcp.options.timestamp.tsval", "http.request.uri", "http.response.code"]

MAC = {"02:00:00:00:00:02": "client", "02:00:00:00:00:01": "router.eth0", "02:00:00:00:01:01": "router.eth1",
       "02:00:00:00:01:53": "dns", "02:00:00:00:01:80": "web", "ff:ff:ff:ff:ff:ff": "bcast"}
QT = {"1": "A", "28": "AAAA"}
TOPT = {"0": "EOL", "1": "NOP", "2": "MSS", "3": "WS", "4": "SACK_PERM", "5": "SACK", "8": "TS"}
ICMPT = {("0", "0"): "echo reply", ("8", "0"): "echo request", ("3", "3"): "port unreachable",
         ("3", "1"): "host unreachable", ("3", "10"): "host prohibited", ("3", "13"): "admin prohibited",
         ("11", "0"): "TTL exceeded"}
CKS = {"1": "good", "0": "BAD", "2": "unverified", "": ""}


def read(pcap):
    cmd = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,",
           "-o", "tcp.relative_sequence_numbers:TRUE", "-o", "ip.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        rows.append(dict(zip(FIELDS, v + [""] * (len(FIELDS) - len(v)))))
    return rows


def part(v, i):
    p = v.split(",")
    return p[i] if i < len(p) else ""


def cks(status):
    return "/".join(CKS.get(s, s) for s in status.split(",")) if status else ""


def describe(r):
    """Columns of one frame: dict of name -> text."""
    d = {"t": "", "mac": "%s -> %s" % (MAC.get(r["eth.src"], r["eth.src"]), MAC.get(r["eth.dst"], r["eth.dst"])),
         "len": r["frame.len"], "ttl": "", "id": "", "df": "", "tos": "", "ipsum": "", "l4sum": "", "summary": "",
         "inner": ""}
    if r["arp.opcode"]:
        op = "request who-has %s tell %s" % (r["arp.dst.proto_ipv4"], r["arp.src.proto_ipv4"]) \
            if r["arp.opcode"] == "1" else "reply %s is-at (to %s)" % (r["arp.src.proto_ipv4"], r["arp.dst.proto_ipv4"])
        d["summary"] = "ARP " + op
        return d
    d["ttl"] = part(r["ip.ttl"], 0)
    d["id"] = part(r["ip.id"], 0)
    d["df"] = part(r["ip.flags.df"], 0)
    d["tos"] = part(r["ip.dsfield"], 0)
    d["ipsum"] = "%s %s" % (part(r["ip.checksum"], 0), CKS.get(part(r["ip.checksum.status"], 0), ""))
    src, dst = part(r["ip.src"], 0), part(r["ip.dst"], 0)
    opts = " ipopt=%s" % r["ip.opt.type"] if r["ip.opt.type"] else ""
    if r["icmp.type"]:
        ty, code = part(r["icmp.type"], 0), part(r["icmp.code"], 0)
        name = ICMPT.get((ty, code), "type %s code %s" % (ty, code))
        d["l4sum"] = "%s %s" % (part(r["icmp.checksum"], 0), CKS.get(part(r["icmp.checksum.status"], 0), ""))
        s = "ICMP %s %s -> %s" % (name, src, dst)
        if ty in ("0", "8"):
            s += " id=%s seq=%s" % (r["icmp.ident"].split(",")[0], r["icmp.seq"].split(",")[0])
        s += " iplen=%s%s" % (part(r["ip.len"], 0), opts)
        d["summary"] = s
        if len(r["ip.src"].split(",")) > 1:  # embedded header of an ICMP error
            inner = "IP %s -> %s ttl=%s id=%s len=%s sum=%s" % (
                part(r["ip.src"], 1), part(r["ip.dst"], 1), part(r["ip.ttl"], 1), part(r["ip.id"], 1),
                part(r["ip.len"], 1), part(r["ip.checksum"], 1))
            if r["udp.srcport"]:
                inner += "; UDP %s->%s ulen=%s usum=%s" % (r["udp.srcport"], r["udp.dstport"], r["udp.length"],
                                                          r["udp.checksum"])
            if r["tcp.srcport"]:  # tshark gives a quoted segment's seq unconverted, in tcp.seq
                fl = r["tcp.flags.str"].replace("\u00b7", "").strip()
                inner += "; TCP %s->%s %s seq=%s win=%s" % (r["tcp.srcport"], r["tcp.dstport"], fl, r["tcp.seq"],
                                                            r["tcp.window_size_value"])
            d["inner"] = inner
        return d
    if r["udp.srcport"]:
        d["l4sum"] = "%s %s" % (r["udp.checksum"], CKS.get(r["udp.checksum.status"], ""))
        s = "UDP %s:%s -> %s:%s ulen=%s" % (src, r["udp.srcport"], dst, r["udp.dstport"], r["udp.length"])
        if r["dns.id"]:
            s += " DNS %s id=%s %s flags=%s" % ("resp" if int(r["dns.flags"], 16) & 0x8000 else "query", r["dns.id"],
                                               QT.get(r["dns.qry.type"], r["dns.qry.type"]), r["dns.flags"])
        d["summary"] = s + opts
        return d
    if r["tcp.srcport"]:
        d["l4sum"] = "%s %s" % (r["tcp.checksum"], CKS.get(r["tcp.checksum.status"], ""))
        fl = r["tcp.flags.str"].replace("\u00b7", "").strip()
        s = "TCP %s:%s -> %s:%s %s seq=%s ack=%s (raw %s/%s) win=%s len=%s" % (
            src, r["tcp.srcport"], dst, r["tcp.dstport"], fl, r["tcp.seq"], r["tcp.ack"], r["tcp.seq_raw"],
            r["tcp.ack_raw"], r["tcp.window_size_value"], r["tcp.len"])
        if r["tcp.option_kind"]:
            s += " opts=[%s]" % ",".join(TOPT.get(k, k) for k in r["tcp.option_kind"].split(","))
        if r["http.request.uri"]:
            s += " GET %s" % r["http.request.uri"]
        if r["http.response.code"]:
            s += " HTTP %s" % r["http.response.code"]
        d["summary"] = s + opts
        return d
    d["summary"] = "IP %s -> %s proto" % (src, dst)
    return d


COLS = [("#", "n"), ("t (ms)", "t"), ("src -> dst MAC", "mac"), ("len", "len"), ("TTL", "ttl"), ("IP ID", "id"),
        ("DF", "df"), ("TOS", "tos"), ("IP sum", "ipsum"), ("L4 sum", "l4sum"), ("summary", "summary"),
        ("ICMP error: embedded header", "inner")]


def frames(pcap):
    rows = read(pcap)
    t0 = float(rows[0]["frame.time_epoch"]) if rows else 0.0
    out = []
    for i, r in enumerate(rows, 1):
        d = describe(r)
        d["n"] = str(i)
        d["t"] = "%.3f" % ((float(r["frame.time_epoch"]) - t0) * 1000)
        out.append(d)
    return out


def table(fr):
    lines = ["| " + " | ".join(c for c, _ in COLS) + " |", "|" + "---|" * len(COLS)]
    for d in fr:
        lines.append("| " + " | ".join(d[k] for _, k in COLS) + " |")
    return "\n".join(lines)


CAPS = [("client.pcap", "client eth0"), ("router_server_side.pcap", "router eth1 (server side)")]


def write_frames(rundir):
    md = ["# Frames of %s" % os.path.basename(os.path.normpath(rundir)), ""]
    for f, title in CAPS:
        md += ["## %s (`%s`)" % (title, f), "", table(frames(os.path.join(rundir, f))), ""]
    with open(os.path.join(rundir, "frames.md.tmp"), "w") as fh:
        fh.write("\n".join(md))
    os.replace(os.path.join(rundir, "frames.md.tmp"), os.path.join(rundir, "frames.md"))


NUM = re.compile(r"(0x[0-9a-f]+|\d+(?:\.\d+)?)")
# numbers in the summary that identify a frame's role (kept in its signature); the rest are compared
ROLE = re.compile(r"(?:ulen|win|len|seq|ack|iplen|flags)=\S+|(?:who-has|tell|is-at \(to) \S+|:(?:53|80|8080|8081|9|10|22|81|82|84|161)\b"
                  r"|DNS (?:query|resp)|\b(?:S|AS|A|AP|AF|F|R|RA|AR)\b| A | AAAA ")


def signature(d):
    role = " ".join(ROLE.findall(d["summary"])).replace("(raw", "")
    return "%s|%s|%s|%s" % (d["mac"], d["len"], d["summary"].split(" ")[0], role)


def vary(dirs):
    modes = {}
    for d in dirs:
        name = os.path.basename(os.path.normpath(d))
        modes.setdefault(re.sub(r"-\d+$", "", name), []).append(d)
    print("# What differs between reruns (analyze.py --vary)")
    print()
    print("Frames are matched across runs by role (direction, length, protocol, flags, relative seq/ack), not by position.")
    print("`#a/b/c` gives the frame's number in each run; after `--` come the columns that differed (`same`: none).")
    print()
    for mode, ds in sorted(modes.items()):
        print("## %s (%s)" % (mode, ", ".join(os.path.basename(os.path.normpath(d)) for d in ds)))
        print()
        for f, title in CAPS:
            runs = [frames(os.path.join(d, f)) for d in ds]
            print("### %s: frames per run %s" % (title, [len(r) for r in runs]))
            keyed = []
            for r in runs:
                seen, k = {}, {}
                for d in r:
                    sig = signature(d)
                    seen[sig] = seen.get(sig, 0) + 1
                    k[(sig, seen[sig])] = d
                keyed.append(k)
            order = [key for key in keyed[0]]
            for key in order:
                present = [key in k for k in keyed]
                d0 = keyed[0][key]
                if not all(present):
                    print("- #%s %s: only in runs %s" % (d0["n"], d0["summary"][:70],
                                                         [i + 1 for i, p in enumerate(present) if p]))
                    continue
                ds_ = [k[key] for k in keyed]
                diffs = []
                for _, col in COLS[3:]:
                    vals = [x[col] for x in ds_]
                    if len(set(vals)) > 1:
                        if col in ("summary", "inner"):
                            toks = [NUM.split(v) for v in vals]
                            if len({len(t) for t in toks}) == 1:
                                pos = [j for j in range(len(toks[0])) if len({t[j] for t in toks}) > 1]
                                diffs.append("%s: %s" % (col, "; ".join(
                                    "%s<%s>" % (toks[0][j - 1].strip()[-10:], "/".join(t[j] for t in toks)) for j in pos)))
                                continue
                        diffs.append("%s: %s" % (col, "/".join(vals)))
                order_n = "/".join(x["n"] for x in ds_)
                print("- #%s %s%s" % (order_n, d0["summary"][:60], (" -- " + " | ".join(diffs)) if diffs else " -- same"))
            for i, k in enumerate(keyed[1:], 2):
                for key in k:
                    if key not in keyed[0]:
                        print("- (run %d only) #%s %s" % (i, k[key]["n"], k[key]["summary"][:70]))
            print()


CT = re.compile(r"^(\w+)\s+\d+\s+\d+\s+(?:[A-Z_]+\s+)?src=(\S+) dst=(\S+) (?:sport=(\d+) dport=(\d+)|type=\d+ code=\d+ id=(\d+))"
                r".*? src=(\S+) dst=(\S+) (?:sport=(\d+) dport=(\d+)|type=\d+ code=\d+ id=(\d+))")


def nat(dirs):
    print("# NAT port mappings (analyze.py --nat, from conntrack_L_after_all.txt)")
    print()
    print("| run | flow (original) | source port / ICMP id | after NAT (reply tuple's dst) |")
    print("|---|---|---|---|")
    for d in dirs:
        name = os.path.basename(os.path.normpath(d))
        path = os.path.join(d, "conntrack_L_after_all.txt")
        if not os.path.exists(path):
            continue
        rows = []
        for line in open(path):
            m = CT.match(line)
            if not m:
                continue
            proto, src, dst, sport, dport, oid, rsrc, rdst, rsport, rdport, rid = m.groups()
            if proto == "icmp":
                rows.append(("icmp %s -> %s" % (src, dst), oid, "%s id %s" % (rdst, rid)))
            else:
                rows.append(("%s %s -> %s:%s" % (proto, src, dst, dport), sport, "%s:%s" % (rdst, rdport)))
        for flow, before, after in sorted(rows):
            print("| %s | %s | %s | %s |" % (name, flow, before, after))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "--nat":
        nat(args[1:])
        return
    if args[0] == "--vary":
        vary(args[1:])
        return
    for d in args:
        write_frames(d)


if __name__ == "__main__":
    main()
