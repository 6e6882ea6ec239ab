#!/usr/bin/env python3
"""Writes the bytes real Scapy builds for the craft app's test expressions.

Each line of the output is an expression as a scenario's `craft { packet "…" }` takes it, a
tab, and the hex of Scapy's raw() of each packet it stands for (comma-separated: a range or
list of field values is one packet per value). The craft app's unit test
(sim-stack/src/apps/craft/layers.rs) builds every expression and compares the bytes, so CI
needs no Scapy. Every IP layer sets `src` and every Ether layer its addresses: Scapy would
take them from this machine's routes and ARP cache.

    python3 -m venv /tmp/scapyenv && /tmp/scapyenv/bin/pip install scapy
    /tmp/scapyenv/bin/python scripts/scapy-fixtures.py > sim-stack/src/apps/craft/craft-fixtures.txt
"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
import scapy  # noqa: E402
from scapy.all import DNS, DNSQR, DNSRR, DNSRROPT, ICMP, IP, TCP, UDP, Ether, Raw, raw  # noqa: E402,F401

S = "src='1.2.3.4', dst='5.6.7.8'"
EXPRESSIONS = [
    # The DNS amplification query (Scapy names qtype 255 `ALL`).
    "IP(src='10.0.0.66', dst='10.0.1.53')/UDP(sport=40000)/DNS(rd=1, qd=DNSQR(qname='baidu.com', qtype='ALL'))",
    "IP(src='10.0.0.66', dst='10.0.1.53')/UDP()/DNS()",
    # scenarios/attacks/dns_amplification.net's query: spoofed source, ALL, EDNS 4096.
    "IP(src='10.0.2.10', dst='10.0.1.53')/UDP(sport=40000)/DNS(id=1, qd=DNSQR(qname='big.example', qtype='ALL'), ar=DNSRROPT(rclass=4096))",
    f"IP({S})/UDP()/DNS(ar=DNSRROPT(rclass=1232, z=0))",
    f"IP({S})/UDP()/DNS(ar=[DNSRR(type='OPT', rclass=512)])",
    f"IP({S})",
    f"IP({S})/TCP()",
    f"IP({S})/TCP(flags='SA', options=[('MSS',1460),('SAckOK',b''),('Timestamp',(1,0)),('NOP',None),('WScale',7)])",
    f"IP({S})/TCP(flags='RA', seq=1000, ack=2000, sport=80, dport=40000)/\"GET / HTTP/1.0\\r\\n\\r\\n\"",
    f"IP({S})/TCP(flags=0x14, seq=5)",
    f"IP({S})/TCP(flags='R', seq=4294967295, window=0)",
    f"IP({S})/TCP(options=[('MSS',536), ('EOL',None)])",
    f"IP({S})/TCP(options=[('NOP',None),('NOP',None),('SAck',(100,200))])",
    f"IP({S}, ihl=6, version=5)/TCP(dataofs=7, reserved=5, flags='FPUN', urgptr=5, window=0)",
    f"IP({S}, chksum=0xdead)/TCP(chksum=0xbeef)",
    f"IP({S})/ICMP()",
    f"IP({S}, ttl=1, tos=0x10, id=0, frag=5, flags='MF+DF', proto=6)/ICMP(type='echo-reply', id=0x1234, seq=1)/'data'",
    f"IP({S}, flags=4)/ICMP(type=3, code=3)",
    f"IP({S})/ICMP(type=3, code='port-unreachable', nexthopmtu=1400)",
    f"IP({S})/ICMP(type='time-exceeded')/IP(src='5.6.7.8', dst='9.9.9.9')/UDP()",
    f"IP({S})/UDP()/'hello'",
    f"IP({S}, flags='DF')/UDP(chksum=0xdead)",
    f"IP({S})/UDP(chksum=0)",
    f"IP({S})/UDP(sport=0xffff, dport=0xffff)/Raw(load='\\xff\\xff')",
    f"IP({S}, proto=99)/Raw(load=b'\\x01\\x02')",
    f"IP({S}, proto='udp')",
    f"IP({S}, len=100)/UDP(len=50)/'abc'",
    "IP(src='0.0.0.0', dst='5.6.7.8')/UDP()",
    f"IP({S})/DNS()",
    f"IP({S})/UDP()/DNS(id=0xabcd, qr=1, aa=1, ra=1, rcode=3, qd=DNSQR(qname='x.org.', qtype='AAAA', qclass='CH'))",
    f"IP({S})/UDP()/DNS(qd=[DNSQR(qname='a.com'), DNSQR(qname='b.com', qtype=16)])",
    f"IP({S})/UDP()/DNS(qd=None)",
    f"IP({S})/UDP()/DNS(qd=DNSQR(qname='', qtype='A'))",
    f"IP({S})/UDP(dport=53)/DNS(qd=DNSQR(qname='a.b', qtype='TXT'), an=DNSRR(rrname='a.b', rdata='1.2.3.4'))",
    f"IP({S})/UDP()/DNS(qr=1, an=DNSRR(rrname='t.com', type='TXT', ttl=300, rdata='hello world'))",
    f"IP({S})/UDP()/DNS(qr=1, qdcount=5, an=DNSRR(rrname='c.com', type='CNAME', rdata='d.com'))",
    f"IP({S})/UDP()/DNS(an=[DNSRR(), DNSRR(type='AAAA', rdata='2001:db8::1')])",
    # Implicit packets: ranges and lists of values, one packet each.
    f"IP({S})/TCP(seq=(5, 7), flags='R')",
    "IP(src='1.2.3.4', dst=['5.6.7.8', '5.6.7.9'])/TCP(sport=(1, 2), dport=[80, 443], flags='R')",
    "Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')/IP(src='1.2.3.4', dst='5.6.7.8')/ICMP()",
    "Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff')",
    "Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff', type=0x86dd)/Raw(load=b'x')",
]

print(f"# scripts/scapy-fixtures.py with Scapy {scapy.VERSION}: expression<TAB>hex of raw()")
for e in EXPRESSIONS:
    print(f"{e}\t{','.join(raw(p).hex() for p in eval(e))}")
