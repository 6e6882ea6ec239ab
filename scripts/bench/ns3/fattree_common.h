// fattree_common.h -- what fattree.cc and fattree_mpi.cc share: the ns-3 modules, the
// CDF, the flows and their FCT records, and the sending of a flow's bytes (one translation
// unit each: the globals are the program's own).
#pragma once

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <algorithm>
#include <array>
#include <queue>
#include <tuple>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;
using Clock = std::chrono::steady_clock;

static const uint16_t PORT = 5001;

// ---------------------------------------------------------------- the CDF
struct Cdf
{
    std::vector<std::pair<double, double>> pts; // (bytes, P[X <= bytes])

    void Load(const std::string& path)
    {
        std::ifstream f(path);
        if (!f)
        {
            std::cerr << "cannot read " << path << "\n";
            std::exit(2);
        }
        std::string line;
        while (std::getline(f, line))
        {
            line = line.substr(0, line.find('#'));
            std::istringstream s(line);
            double x, y;
            if (s >> x >> y)
            {
                pts.emplace_back(x, y);
            }
        }
        if (pts.empty() || pts.back().second != 1.0)
        {
            std::cerr << path << ": not a CDF ending at 1\n";
            std::exit(2);
        }
    }

    double Mean() const
    {
        double m = pts[0].first * pts[0].second;
        for (size_t i = 1; i < pts.size(); ++i)
        {
            m += (pts[i - 1].first + pts[i].first) / 2 * (pts[i].second - pts[i - 1].second);
        }
        return m;
    }

    uint64_t At(double u) const
    {
        if (u < pts[0].second)
        {
            return std::max<uint64_t>(1, pts[0].first);
        }
        for (size_t i = 1; i < pts.size(); ++i)
        {
            if (u < pts[i].second)
            {
                const auto [xa, ya] = pts[i - 1];
                const auto [xb, yb] = pts[i];
                return std::max<uint64_t>(1, std::ceil(xa + (xb - xa) * (u - ya) / (yb - ya)));
            }
        }
        return std::max<uint64_t>(1, pts.back().first);
    }
};

// ---------------------------------------------------------------- flows
struct Flow
{
    uint32_t src, dst;
    uint64_t size;
    uint64_t sent = 0;
    Time start;
    Time finish;
    bool done = false;
    Ptr<Socket> sock;
};

struct Options
{
    uint32_t k = 4;
    double load = 0.5;
    std::string rate = "10Gbps";
    uint64_t rateBps = 10000000000ull;
    double hostDelayUs = 1.0;
    double fabricDelayUs = 1.0;
    double arrivalsS = 0.020;
    double simTimeS = 0.030;
};

static Options g_cfg;
static Cdf g_cdf;
static std::vector<Flow> g_flows;
static std::vector<Ipv4Address> g_hostAddr;      // by host number
static std::vector<std::array<uint32_t, 3>> g_pos; // host number -> (p, e, i)
static NodeContainer g_hosts;
static Ptr<ExponentialRandomVariable> g_gap;
static Ptr<UniformRandomVariable> g_uni;

static uint32_t
Distance(uint32_t a, uint32_t b)
{
    if (g_pos[a][0] != g_pos[b][0])
    {
        return 2;
    }
    return g_pos[a][1] != g_pos[b][1] ? 1 : 0;
}

static void
SendMore(uint32_t f)
{
    Flow& fl = g_flows[f];
    while (fl.sent < fl.size)
    {
        uint32_t room = fl.sock->GetTxAvailable();
        if (room == 0)
        {
            return;
        }
        uint32_t n = std::min<uint64_t>({room, fl.size - fl.sent, 65536});
        int r = fl.sock->Send(Create<Packet>(n));
        if (r <= 0)
        {
            return;
        }
        fl.sent += r;
    }
    fl.sock->Close();
}

static void
OnAck(uint32_t f, SequenceNumber32, SequenceNumber32 ack)
{
    Flow& fl = g_flows[f];
    if (!fl.done && ack.GetValue() >= fl.size + 1)
    {
        fl.done = true;
        fl.finish = Simulator::Now();
    }
}

static void
OnConnected(uint32_t f, Ptr<Socket>)
{
    SendMore(f);
}

static void
OnSendRoom(uint32_t f, Ptr<Socket>, uint32_t)
{
    if (g_flows[f].sent < g_flows[f].size)
    {
        SendMore(f);
    }
}
