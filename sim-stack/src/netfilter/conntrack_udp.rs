//! UDP connection tracking (`nf_conntrack_proto_udp.c` of Linux 6.1): 30 s while
//! unreplied, 120 s and `ASSURED` once a reply was seen and the flow is still active two
//! seconds after it began.

use super::conntrack::{ConntrackSysctl, CtProto, IpsStatus, NfConn};

use crate::jiffies::HZ;

/// `udp_error`: a short or malformed header, or a bad checksum (`bad_csum` is asked only
/// when the checksum field is not 0, as the kernel skips a zero checksum).
pub(crate) fn udp_error(l4: &[u8], bad_csum: impl FnOnce() -> bool) -> bool {
    let Some(h) = l4.get(..8) else { return true };
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if len > l4.len() || len < 8 {
        return true;
    }
    if h[6] == 0 && h[7] == 0 {
        return false;
    }
    bad_csum()
}

/// `nf_conntrack_udp_packet`.
pub(crate) fn nf_conntrack_udp_packet(ct: &mut NfConn, now_j: u64, sysctl: &ConntrackSysctl) {
    if !ct.is_confirmed() {
        ct.proto = CtProto::Udp {
            stream_ts: 2 * HZ + now_j,
        };
    }
    if ct.status.contains(IpsStatus::SEEN_REPLY) {
        let CtProto::Udp { stream_ts } = ct.proto else {
            return;
        };
        // time_after(jiffies, stream_ts)
        let stream = now_j > stream_ts;
        let extra = if stream {
            sysctl.nf_conntrack_udp_timeout_stream
        } else {
            sysctl.nf_conntrack_udp_timeout
        };
        ct.refresh(now_j, extra);
        if stream {
            ct.status.insert(IpsStatus::ASSURED);
        }
    } else {
        ct.refresh(now_j, sysctl.nf_conntrack_udp_timeout);
    }
}
