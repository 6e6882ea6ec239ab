// fattree_mpi.cc -- fattree.cc distributed over MPI ranks with ns-3 3.37's `mpi` module:
// the same fat-tree, address plan, static routes, stack settings and workload, the pods
// split between ranks (pod p on rank p * N / k, core router c on rank c * N / (k/2)^2), so
// the aggregation -- core links whose ends differ in rank become PointToPointRemoteChannels
// (lookahead: the 1 us fabric delay). Needs an ns-3 built with MPI (build-mpi.sh):
//
//   ./build-mpi.sh
//   mpirun --allow-run-as-root --oversubscribe -np 2 ./fattree_mpi --k=8
//       --arrivals=0.010 --simTime=0.020 --cdf=../../../scenarios/dc/cdf/web_search.cdf
//
// Synchronisation: granted time window (ns3::DistributedSimulatorImpl, the default) or null
// messages (--nullmsg=1; ns3::NullMessageSimulatorImpl). On one rank it runs ns-3's default
// sequential simulator (no MPI synchronisation at all), which is fattree.cc's run.
//
// The flows are fattree.cc's: fattree.cc draws each host's next arrival, destination and
// size from two shared streams while it runs, in the order of its arrival events; a rank
// only runs its own hosts' events, so here every rank replays that order before the run
// (the same two random variables, created at the same point of the setup, so given the same
// automatic stream numbers, drawn in (time, scheduling order) as ns-3's scheduler would)
// and schedules the flows of its own hosts. The replay is exact except for an arrival and a
// packet event of the same host at the same nanosecond, which may run in the other order.
// (Checked: on one rank, k = 4 and k = 8 print fattree.cc's events and FCTs exactly.) On
// several ranks the flows are the same but the run is not: ns-3 schedules a packet from
// another rank when its message is received, so events of the same nanosecond are ordered
// by the ranks' timing, and runs differ slightly from the sequential one and each other.
// Apps (sinks, sockets) exist only on the rank owning their host; each rank measures its
// own senders' FCTs and rank 0 gathers them (MPI_Gatherv) with the event counts (summed)
// and the run times (the slowest rank's), and prints fattree.cc's JSON line plus "ranks",
// "sync" and "events_per_rank".
#include "ns3/mpi-interface.h"

#include <mpi.h>

#include "fattree_common.h"

static void
StartFlow(uint32_t id)
{
    Flow& fl = g_flows[id];
    fl.sock = Socket::CreateSocket(g_hosts.Get(fl.src), TcpSocketFactory::GetTypeId());
    Ptr<Socket> s = fl.sock;
    s->Bind();
    s->TraceConnectWithoutContext("HighestRxAck", MakeBoundCallback(&OnAck, id));
    s->SetConnectCallback(MakeBoundCallback(&OnConnected, id),
                          MakeNullCallback<void, Ptr<Socket>>());
    s->SetSendCallback(MakeBoundCallback(&OnSendRoom, id));
    s->Connect(InetSocketAddress(g_hostAddr[fl.dst], PORT));
}

// Replays fattree.cc's arrival events: each host's first arrival at a gap drawn in host
// order, then, in (time, scheduling order), a destination and a size for the arrival and the
// gap to the host's next one, kept while it falls before --arrivals. fattree.cc's first
// arrivals are not cut at --arrivals, only by the end of the run.
static void
DrawFlows()
{
    using Ev = std::tuple<int64_t, uint64_t, uint32_t>; // time (ns), scheduling order, host
    std::priority_queue<Ev, std::vector<Ev>, std::greater<Ev>> q;
    const uint32_t n = g_hostAddr.size();
    const Time arrivals = Seconds(g_cfg.arrivalsS), end = Seconds(g_cfg.simTimeS);
    uint64_t seq = 0;
    for (uint32_t h = 0; h < n; ++h)
    {
        q.emplace(Seconds(g_gap->GetValue()).GetTimeStep(), seq++, h);
    }
    while (!q.empty())
    {
        const auto [ts, order, src] = q.top();
        q.pop();
        const Time now = TimeStep(ts);
        if (now > end)
        {
            break;
        }
        uint32_t dst = g_uni->GetInteger(0, n - 2);
        if (dst >= src)
        {
            dst++;
        }
        Flow fl;
        fl.src = src;
        fl.dst = dst;
        fl.size = g_cdf.At(g_uni->GetValue(0.0, 1.0));
        fl.start = now;
        g_flows.push_back(fl);
        const Time next = now + Seconds(g_gap->GetValue());
        if (next < arrivals)
        {
            q.emplace(next.GetTimeStep(), seq++, src);
        }
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
    bool nullmsg = false;
    cmd.AddValue("nullmsg", "null-message synchronisation instead of granted time window",
                 nullmsg);
    cmd.Parse(argc, argv);
    if (g_cfg.k < 2 || g_cfg.k % 2 || g_cfg.k > 64)
    {
        std::cerr << "--k must be even, 2..64\n";
        return 2;
    }
    // MPI is initialised here rather than by MpiInterface::Enable, which picks its
    // synchronisation from SimulatorImplementationType and would make a one-rank run
    // distributed: on one rank ns-3's interface stays off and its default (sequential)
    // simulator runs, as in fattree.cc.
    MPI_Init(&argc, &argv);
    int rankI, ranksI;
    MPI_Comm_rank(MPI_COMM_WORLD, &rankI);
    MPI_Comm_size(MPI_COMM_WORLD, &ranksI);
    const uint32_t rank = rankI, ranks = ranksI;
    if (ranks > g_cfg.k)
    {
        if (rank == 0)
        {
            std::cerr << "more ranks (" << ranks << ") than pods (" << g_cfg.k << ")\n";
        }
        MPI_Finalize();
        return 2;
    }
    if (ranks > 1)
    {
        GlobalValue::Bind("SimulatorImplementationType",
                          StringValue(nullmsg ? "ns3::NullMessageSimulatorImpl"
                                              : "ns3::DistributedSimulatorImpl"));
        MpiInterface::Enable(MPI_COMM_WORLD);
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
    // Created in fattree.cc's order (the same node ids), each with its rank.
    auto podRank = [&](uint32_t p) { return p * ranks / k; };
    for (uint32_t h = 0; h < k * half * half; ++h)
    {
        g_hosts.Add(CreateObject<Node>(podRank(h / (half * half))));
    }
    for (uint32_t r = 0; r < k * half; ++r)
    {
        edge.Add(CreateObject<Node>(podRank(r / half)));
    }
    for (uint32_t r = 0; r < k * half; ++r)
    {
        agg.Add(CreateObject<Node>(podRank(r / half)));
    }
    for (uint32_t c = 0; c < half * half; ++c)
    {
        core.Add(CreateObject<Node>(c * ranks / (half * half)));
    }
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
    NodeContainer mine;
    for (uint32_t h = 0; h < g_hosts.GetN(); ++h)
    {
        if (g_hosts.Get(h)->GetSystemId() == rank)
        {
            mine.Add(g_hosts.Get(h));
        }
    }
    sinkH.Install(mine).Start(Seconds(0));
    const double meanGapS = g_cdf.Mean() * 8 / (g_cfg.load * g_cfg.rateBps);
    g_gap = CreateObject<ExponentialRandomVariable>();
    g_gap->SetAttribute("Mean", DoubleValue(meanGapS));
    g_gap->SetAttribute("Bound", DoubleValue(0.0));
    g_uni = CreateObject<UniformRandomVariable>();
    DrawFlows();
    uint64_t localFlows = 0;
    for (uint32_t f = 0; f < g_flows.size(); ++f)
    {
        if (g_hosts.Get(g_flows[f].src)->GetSystemId() == rank)
        {
            Simulator::Schedule(g_flows[f].start, &StartFlow, f);
            localFlows++;
        }
    }

    Simulator::Stop(Seconds(g_cfg.simTimeS));
    const auto t1 = Clock::now();
    Simulator::Run();
    const auto t2 = Clock::now();
    // Rank 0 gathers (flow, FCT ns) of every rank's finished flows, the events and times.
    const uint64_t localEvents = Simulator::GetEventCount();
    std::vector<int64_t> done;
    for (uint32_t f = 0; f < g_flows.size(); ++f)
    {
        const Flow& fl = g_flows[f];
        if (fl.done && g_hosts.Get(fl.src)->GetSystemId() == rank)
        {
            done.push_back(f);
            done.push_back((fl.finish - fl.start).GetNanoSeconds());
        }
    }
    const MPI_Comm comm = MPI_COMM_WORLD;
    int count = done.size();
    std::vector<int> counts(ranks), displs(ranks);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
    int total = 0;
    for (uint32_t r = 0; r < ranks; ++r)
    {
        displs[r] = total;
        total += counts[r];
    }
    std::vector<int64_t> all(rank == 0 ? total : 0);
    MPI_Gatherv(done.data(), count, MPI_INT64_T, all.data(), counts.data(), displs.data(),
                MPI_INT64_T, 0, comm);
    std::vector<uint64_t> eventsPerRank(ranks);
    MPI_Gather(&localEvents, 1, MPI_UINT64_T, eventsPerRank.data(), 1, MPI_UINT64_T, 0, comm);
    uint64_t allFlows = 0;
    MPI_Reduce(&localFlows, &allFlows, 1, MPI_UINT64_T, MPI_SUM, 0, comm);
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    double times[2] = {secs(t0, t1), secs(t1, t2)}, maxTimes[2];
    MPI_Reduce(times, maxTimes, 2, MPI_DOUBLE, MPI_MAX, 0, comm);
    if (rank != 0)
    {
        Simulator::Destroy();
        if (ranks > 1)
        {
            MpiInterface::Disable();
        }
        MPI_Finalize();
        return 0;
    }
    uint64_t events = 0;
    for (auto e : eventsPerRank)
    {
        events += e;
    }
    for (size_t j = 0; j < all.size(); j += 2)
    {
        g_flows[all[j]].done = true;
        g_flows[all[j]].finish = g_flows[all[j]].start + NanoSeconds(all[j + 1]);
    }

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
    std::cout << "{\"scenario\":\"fattree_k" << k << "\",\"k\":" << k << ",\"hosts\":"
              << g_hosts.GetN() << ",\"load\":" << g_cfg.load << ",\"cdf\":\"" << cdfPath
              << "\",\"cdf_mean\":" << g_cdf.Mean() << ",\"rate\":\"" << g_cfg.rate
              << "\",\"arrivals_s\":" << g_cfg.arrivalsS << ",\"sim_time_s\":" << g_cfg.simTimeS
              << ",\"run\":" << run << ",\"ranks\":" << ranks
              << ",\"sync\":\""
              << (ranks == 1 ? "none" : nullmsg ? "null-message" : "granted-time-window")
              << "\",\"setup_s\":" << maxTimes[0] << ",\"run_s\":" << maxTimes[1]
              << ",\"destroy_s\":" << secs(t2, t3) << ",\"events\":" << events
              << ",\"events_per_rank\":[";
    for (uint32_t r = 0; r < ranks; ++r)
    {
        std::cout << (r ? "," : "") << eventsPerRank[r];
    }
    std::cout << "],\"flows\":" << allFlows
              << ",\"finished\":" << finished << ",\"fct_ns\":" << Pcts(fct)
              << ",\"slowdown\":" << Pcts(slow) << ",\"buckets\":{";
    const char* names[3] = {"(0,100KB]", "(100KB,10MB]", "(10MB,inf)"};
    for (int b = 0; b < 3; ++b)
    {
        std::cout << (b ? "," : "") << "\"" << names[b] << "\":{\"flows\":" << bf[b].size()
                  << ",\"fct_ns\":" << Pcts(bf[b]) << ",\"slowdown\":" << Pcts(bs[b]) << "}";
    }
    std::cout << "}}" << std::endl;
    if (ranks > 1)
    {
        MpiInterface::Disable();
    }
    MPI_Finalize();
    return 0;
}
