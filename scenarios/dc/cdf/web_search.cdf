# The DCTCP web-search flow-size distribution (Alizadeh et al., "Data Center TCP",
# SIGCOMM 2010, Fig. 4), as the pFabric, Homa and HPCC simulations use it.
# Values from datacenter/empirical-traffic-gen `DCTCP_CDF` (third column), which
# alibaba-edu/High-Precision-Congestion-Control `traffic_gen/WebSearch_distribution.txt`
# repeats in percent. Mean (linear interpolation between points): 1 711 250 bytes.
#
# size_bytes cumulative_probability
0 0
10000 0.15
20000 0.2
30000 0.3
50000 0.4
80000 0.53
200000 0.6
1000000 0.7
2000000 0.8
5000000 0.9
10000000 0.97
30000000 1
