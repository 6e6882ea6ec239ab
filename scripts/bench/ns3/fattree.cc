// fattree.cc -- ns-3 (3.37) mirror of scenarios/dc/fattree_k*_websearch.net: a k-ary
// fat-tree (Al-Fares et al., SIGCOMM 2008) under the dc_flows workload
// (docs/datacenter.md), for comparing FCTs and speed with netsim.
//
//   ./build.sh && ./fattree --k=4 --cdf=../../../scenarios/dc/cdf/web_search.cdf
//
// Same as netsim's scenario:
//   topology   k pods of k/2 edge and k/2 aggregation routers, (k/2)^2 cores, k/2 hosts per
//              edge; PointToPoint links, 10 Gbit/s and 1 us everywhere (options)
//   addresses  host i of edge e in pod p: 10.i.p.(4e+1)/30, the edge's side .(4e+2);
//              edge e -- agg a of pod p: 172.16.0.0 + 4 (p (k/2)^2 + e k/2 + a) (.1 edge);
//              agg a of pod p -- core m of group a: 172.24.0.0 + 4 (p (k/2)^2 + a k/2 + m)
//   routing    the same static two-level tables (no global routing, no ECMP): upward
//              10.i.0.0/16 via aggregation (i + e) mod k/2 and core (i + a) mod k/2;
//              downward a /30 per host at the aggregation, 10.i.p.0/24 at the core
//   workload   per host, Poisson arrivals of mean gap 8 x mean size / (load x rate), the
//              destination uniform over the other hosts, the size from the same CDF file
//              by linear interpolation (rounded up, at least 1 byte); one TCP connection
//              per flow: Connect, Send size bytes as the buffer takes them, Close
//   FCT        from the Connect call to the ACK of the last byte (HighestRxAck = size + 1;
//              netsim waits for the FIN's ACK, which the last data's ACK usually is);
//              ideal = 2 x (2 host_delay + 2 d fabric_delay) + size x 8 / rate
//   stack      TcpCubic, MSS 1448, initial cwnd 10, SACK and timestamps (ns-3 defaults),
//              MinRto 200 ms, delayed ACK 2 segments / 40 ms, send/receive buffers 4/6 MiB
//              (Linux's tcp_wmem/tcp_rmem maxima); root qdisc pfifo_fast of 1000 packets
//              and a 256-packet device queue (netsim's pfifo_fast and tx_ring 256)
//
// Not the same: the random streams (ns-3's MRG32k3a, seeded by --run), so the flows are
// another draw of the same distribution, and everything ns-3's TCP and devices do
// differently from Linux.
//
// Prints one JSON line: parameters, setup_s, run_s, events, flows, finished, FCT and
// slowdown mean/p50/p95/p99 (nearest rank), per pFabric size bucket too.

#include "fattree_common.h"

static void
StartFlow(uint32_t src)
{
    const uint32_t n = g_hostAddr.size();
    uint32_t dst = g_uni->GetInteger(0, n - 2);
    if (dst >= src)
    {
        dst++;
    }
    Flow fl;
    fl.src = src;
    fl.dst = dst;
    fl.size = g_cdf.At(g_uni->GetValue(0.0, 1.0));
    fl.start = Simulator::Now();
    fl.sock = Socket::CreateSocket(g_hosts.Get(src), TcpSocketFactory::GetTypeId());
    const uint32_t id = g_flows.size();
    g_flows.push_back(fl);
    Ptr<Socket> s = g_flows[id].sock;
    s->Bind();
    s->TraceConnectWithoutContext("HighestRxAck", MakeBoundCallback(&OnAck, id));
    s->SetConnectCallback(MakeBoundCallback(&OnConnected, id),
                          MakeNullCallback<void, Ptr<Socket>>());
    s->SetSendCallback(MakeBoundCallback(&OnSendRoom, id));
    s->Connect(InetSocketAddress(g_hostAddr[dst], PORT));
}

static void
Arrive(uint32_t src)
{
    StartFlow(src);
    Time next = Simulator::Now() + Seconds(g_gap->GetValue());
    if (next < Seconds(g_cfg.arrivalsS))
    {
        Simulator::Schedule(next - Simulator::Now(), &Arrive, src);
    }
}

// ---------------------------------------------------------------- topology
static Ipv4Address
Addr(uint32_t base, uint32_t off)
{
    return Ipv4Address(base + off);
}

static const uint32_t NET10 = (10u << 24);
static const uint32_t NET172_16 = (172u << 24) | (16u << 16);
static const uint32_t NET172_24 = (172u << 24) | (24u << 16);

// Puts a /30 on both ends of a new link between a and b; returns their interface indexes.
static std::pair<uint32_t, uint32_t>
LinkUp(Ptr<Node> a,
        Ptr<Node> b,
        Ipv4Address aAddr,
        Ipv4Address bAddr,
        PointToPointHelper& p2p,
        TrafficControlHelper& tch)
{
    NetDeviceContainer d = p2p.Install(a, b);
    tch.Install(d);
    std::pair<uint32_t, uint32_t> ifs;
    for (int side = 0; side < 2; ++side)
    {
        Ptr<Node> n = side ? b : a;
        Ptr<Ipv4> ip = n->GetObject<Ipv4>();
        uint32_t i = ip->AddInterface(d.Get(side));
        ip->AddAddress(i, Ipv4InterfaceAddress(side ? bAddr : aAddr, "255.255.255.252"));
        ip->SetUp(i);
        (side ? ifs.second : ifs.first) = i;
    }
    return ifs;
}

template <typename T>
static std::string
Pcts(std::vector<T> v)
{
    std::ostringstream o;
    if (v.empty())
    {
        o << "null";
        return o.str();
    }
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    auto rank = [&](size_t p) { return v[std::max<size_t>(1, (p * n + 99) / 100) - 1]; };
    double sum = 0;
    for (auto x : v)
    {
        sum += x;
    }
    o << "{\"mean\":" << sum / n << ",\"p50\":" << rank(50) << ",\"p95\":" << rank(95)
      << ",\"p99\":" << rank(99) << ",\"max\":" << v.back() << "}";
    return o.str();
}

int
main(int argc, char* argv[])
{
    const auto t0 = Clock::now();
    std::string cdfPath = "../../../scenarios/dc/cdf/web_search.cdf";
    uint32_t run = 1;
    CommandLine cmd(__FILE__);
    cmd.AddValue("k", "fat-tree arity (even)", g_cfg.k);
    cmd.AddValue("load", "offered load per host link (0..1)", g_cfg.load);
    cmd.AddValue("cdf", "flow-size CDF file (size cumulative_probability)", cdfPath);
    cmd.AddValue("arrivals", "arrivals stop after this many seconds", g_cfg.arrivalsS);
    cmd.AddValue("simTime", "simulated seconds", g_cfg.simTimeS);
    cmd.AddValue("hostDelayUs", "host link delay, us", g_cfg.hostDelayUs);
    cmd.AddValue("fabricDelayUs", "fabric link delay, us", g_cfg.fabricDelayUs);
    cmd.AddValue("run", "RngSeedManager run number", run);
    cmd.Parse(argc, argv);
    if (g_cfg.k < 2 || g_cfg.k % 2 || g_cfg.k > 64)
    {
        std::cerr << "--k must be even, 2..64\n";
        return 2;
    }
    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(run);
    g_cdf.Load(cdfPath);

    Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TcpCubic::GetTypeId()));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(4 << 20));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(6 << 20));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(2));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(MilliSeconds(40)));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(200)));

    const uint32_t k = g_cfg.k, half = k / 2;
    NodeContainer edge, agg, core;
    g_hosts.Create(k * half * half);
    edge.Create(k * half);
    agg.Create(k * half);
    core.Create(half * half);
    InternetStackHelper stack;
    stack.Install(g_hosts);
    stack.Install(edge);
    stack.Install(agg);
    stack.Install(core);

    std::ostringstream hd, fd;
    hd << g_cfg.hostDelayUs << "us";
    fd << g_cfg.fabricDelayUs << "us";
    PointToPointHelper hostLink, fabricLink;
    for (auto* h : {&hostLink, &fabricLink})
    {
        h->SetDeviceAttribute("DataRate", StringValue(g_cfg.rate));
        h->SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", StringValue("256p"));
    }
    hostLink.SetChannelAttribute("Delay", StringValue(hd.str()));
    fabricLink.SetChannelAttribute("Delay", StringValue(fd.str()));
    TrafficControlHelper tch;
    tch.SetRootQueueDisc("ns3::PfifoFastQueueDisc", "MaxSize", StringValue("1000p"));

    Ipv4StaticRoutingHelper srh;
    auto table = [&](Ptr<Node> n) { return srh.GetStaticRouting(n->GetObject<Ipv4>()); };
    const Ipv4Mask m16("255.255.0.0"), m24("255.255.255.0"), m30("255.255.255.252");

    // Hosts and edge routers.
    g_hostAddr.resize(k * half * half);
    g_pos.resize(k * half * half);
    for (uint32_t p = 0; p < k; ++p)
    {
        for (uint32_t e = 0; e < half; ++e)
        {
            Ptr<Node> er = edge.Get(p * half + e);
            for (uint32_t i = 0; i < half; ++i)
            {
                const uint32_t h = (p * half + e) * half + i;
                const uint32_t base = NET10 + (i << 16) + (p << 8) + 4 * e;
                auto ifs = LinkUp(g_hosts.Get(h), er, Addr(base, 1), Addr(base, 2), hostLink, tch);
                table(g_hosts.Get(h))->SetDefaultRoute(Addr(base, 2), ifs.first);
                g_hostAddr[h] = Addr(base, 1);
                g_pos[h] = {p, e, i};
            }
        }
    }
    // Edge -- aggregation.
    std::vector<std::vector<uint32_t>> edgeUp(k * half, std::vector<uint32_t>(half));
    for (uint32_t p = 0; p < k; ++p)
    {
        for (uint32_t e = 0; e < half; ++e)
        {
            for (uint32_t a = 0; a < half; ++a)
            {
                const uint32_t base = NET172_16 + 4 * (half * half * p + half * e + a);
                Ptr<Node> er = edge.Get(p * half + e), ar = agg.Get(p * half + a);
                auto ifs = LinkUp(er, ar, Addr(base, 1), Addr(base, 2), fabricLink, tch);
                edgeUp[p * half + e][a] = ifs.first;
                for (uint32_t i = 0; i < half; ++i)
                {
                    table(ar)->AddNetworkRouteTo(Addr(NET10 + (i << 16) + (p << 8), 4 * e),
                                                 m30,
                                                 Addr(base, 1),
                                                 ifs.second);
                }
            }
            for (uint32_t i = 0; i < half; ++i)
            {
                const uint32_t a = (i + e) % half;
                const uint32_t base = NET172_16 + 4 * (half * half * p + half * e + a);
                table(edge.Get(p * half + e))
                    ->AddNetworkRouteTo(Addr(NET10 + (i << 16), 0),
                                        m16,
                                        Addr(base, 2),
                                        edgeUp[p * half + e][a]);
            }
        }
    }
    // Aggregation -- core.
    for (uint32_t p = 0; p < k; ++p)
    {
        for (uint32_t a = 0; a < half; ++a)
        {
            Ptr<Node> ar = agg.Get(p * half + a);
            std::vector<uint32_t> up(half);
            for (uint32_t m = 0; m < half; ++m)
            {
                const uint32_t base = NET172_24 + 4 * (half * half * p + half * a + m);
                Ptr<Node> cr = core.Get(a * half + m);
                auto ifs = LinkUp(ar, cr, Addr(base, 1), Addr(base, 2), fabricLink, tch);
                up[m] = ifs.first;
                for (uint32_t i = 0; i < half; ++i)
                {
                    table(cr)->AddNetworkRouteTo(Addr(NET10 + (i << 16) + (p << 8), 0),
                                                 m24,
                                                 Addr(base, 1),
                                                 ifs.second);
                }
            }
            for (uint32_t i = 0; i < half; ++i)
            {
                const uint32_t m = (i + a) % half;
                const uint32_t base = NET172_24 + 4 * (half * half * p + half * a + m);
                table(ar)->AddNetworkRouteTo(Addr(NET10 + (i << 16), 0), m16, Addr(base, 2), up[m]);
            }
        }
    }

    // Sinks everywhere; arrivals everywhere.
    PacketSinkHelper sinkH("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), PORT));
    sinkH.Install(g_hosts).Start(Seconds(0));
    const double meanGapS = g_cdf.Mean() * 8 / (g_cfg.load * g_cfg.rateBps);
    g_gap = CreateObject<ExponentialRandomVariable>();
    g_gap->SetAttribute("Mean", DoubleValue(meanGapS));
    g_gap->SetAttribute("Bound", DoubleValue(0.0));
    g_uni = CreateObject<UniformRandomVariable>();
    for (uint32_t h = 0; h < g_hosts.GetN(); ++h)
    {
        Simulator::Schedule(Seconds(g_gap->GetValue()), &Arrive, h);
    }

    Simulator::Stop(Seconds(g_cfg.simTimeS));
    const auto t1 = Clock::now();
    Simulator::Run();
    const auto t2 = Clock::now();
    const uint64_t events = Simulator::GetEventCount();

    std::vector<double> fct, slow;
    std::vector<std::vector<double>> bf(3), bs(3);
    const uint64_t edges[3] = {100000, 10000000, UINT64_MAX};
    uint64_t finished = 0;
    for (const Flow& f : g_flows)
    {
        if (!f.done)
        {
            continue;
        }
        finished++;
        const double ns = (f.finish - f.start).GetNanoSeconds();
        const uint32_t d = Distance(f.src, f.dst);
        const double ideal = 2 * (2 * g_cfg.hostDelayUs + 2 * d * g_cfg.fabricDelayUs) * 1e3 +
                             std::ceil(f.size * 8e9 / g_cfg.rateBps);
        fct.push_back(ns);
        slow.push_back(ns / ideal);
        const int b = f.size <= edges[0] ? 0 : (f.size <= edges[1] ? 1 : 2);
        bf[b].push_back(ns);
        bs[b].push_back(ns / ideal);
    }
    Simulator::Destroy();
    const auto t3 = Clock::now();
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    std::cout << "{\"scenario\":\"fattree_k" << k << "\",\"k\":" << k << ",\"hosts\":"
              << g_hosts.GetN() << ",\"load\":" << g_cfg.load << ",\"cdf\":\"" << cdfPath
              << "\",\"cdf_mean\":" << g_cdf.Mean() << ",\"rate\":\"" << g_cfg.rate
              << "\",\"arrivals_s\":" << g_cfg.arrivalsS << ",\"sim_time_s\":" << g_cfg.simTimeS
              << ",\"run\":" << run << ",\"setup_s\":" << secs(t0, t1)
              << ",\"run_s\":" << secs(t1, t2) << ",\"destroy_s\":" << secs(t2, t3)
              << ",\"events\":" << events << ",\"flows\":" << g_flows.size()
              << ",\"finished\":" << finished << ",\"fct_ns\":" << Pcts(fct)
              << ",\"slowdown\":" << Pcts(slow) << ",\"buckets\":{";
    const char* names[3] = {"(0,100KB]", "(100KB,10MB]", "(10MB,inf)"};
    for (int b = 0; b < 3; ++b)
    {
        std::cout << (b ? "," : "") << "\"" << names[b] << "\":{\"flows\":" << bf[b].size()
                  << ",\"fct_ns\":" << Pcts(bf[b]) << ",\"slowdown\":" << Pcts(bs[b]) << "}";
    }
    std::cout << "}}" << std::endl;
    return 0;
}
