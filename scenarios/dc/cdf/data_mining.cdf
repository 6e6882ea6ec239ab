# The VL2 data-mining flow-size distribution (Greenberg et al., "VL2: A Scalable and
# Flexible Data Center Network", SIGCOMM 2009, Fig. 2), as pFabric and Homa use it.
# Values from datacenter/empirical-traffic-gen `VL2_CDF`.
# Mean (linear interpolation between points): 12 658 198.6 bytes; 2 % of the flows
# (100 MB to 1 GB) carry 87 % of the bytes.
#
# size_bytes cumulative_probability
0 0
180 0.1
216 0.2
560 0.3
900 0.4
1100 0.5
1870 0.6
3160 0.7
10000 0.8
400000 0.9
3160000 0.95
100000000 0.98
1000000000 1
