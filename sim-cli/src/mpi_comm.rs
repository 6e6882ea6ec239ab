//! `sim run --mpi`: the ranks of one run talk through MPI (the `mpi` crate over the
//! system's MPI library, OpenMPI on Debian), with the collectives the distributed run needs
//! ([`sim_stack::world::distributed::Comm`]).

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};
use sim_stack::world::distributed::Comm;

/// MPI_COMM_WORLD, for as long as MPI is up.
pub struct MpiComm {
    world: SimpleCommunicator,
    /// Finalizes MPI when dropped (after the run's last collective).
    _universe: mpi::environment::Universe,
}

impl std::fmt::Debug for MpiComm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MpiComm(rank {} of {})", self.rank(), self.size())
    }
}

impl MpiComm {
    /// Starts MPI (`MPI_Init`); `None` if it was started already or cannot start.
    pub fn init() -> Option<Self> {
        let universe = mpi::initialize()?;
        Some(Self {
            world: universe.world(),
            _universe: universe,
        })
    }
}

/// Where each part starts, for counts laid end to end.
fn displacements(counts: &[i32]) -> Vec<i32> {
    let mut at = 0;
    counts
        .iter()
        .map(|&c| {
            let d = at;
            at += c;
            d
        })
        .collect()
}

/// `buf` cut into parts of `counts` bytes.
fn split(buf: &[u8], counts: &[i32]) -> Vec<Vec<u8>> {
    let mut at = 0;
    counts
        .iter()
        .map(|&c| {
            let part = buf[at..at + c as usize].to_vec();
            at += c as usize;
            part
        })
        .collect()
}

fn count(len: usize) -> i32 {
    i32::try_from(len).expect("an MPI message over 2 GiB")
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn all_min(&mut self, v: u64) -> u64 {
        let mut out = 0u64;
        self.world
            .all_reduce_into(&v, &mut out, SystemOperation::min());
        out
    }

    fn all_to_all(&mut self, out: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let send_counts: Vec<i32> = out.iter().map(|b| count(b.len())).collect();
        let mut recv_counts = vec![0i32; self.size()];
        self.world
            .all_to_all_into(&send_counts[..], &mut recv_counts[..]);
        // Never an empty vector: two of them share one dangling address, which MPI takes
        // for a send buffer aliasing the receive buffer.
        let mut send = Vec::with_capacity(out.iter().map(Vec::len).sum::<usize>().max(1));
        for b in &out {
            send.extend_from_slice(b);
        }
        send.reserve(1);
        let send_displs = displacements(&send_counts);
        let recv_displs = displacements(&recv_counts);
        let mut recv = vec![
            0u8;
            recv_counts
                .iter()
                .map(|&c| c as usize)
                .sum::<usize>()
                .max(1)
        ];
        {
            let sp = Partition::new(&send[..], &send_counts[..], &send_displs[..]);
            let mut rp = PartitionMut::new(&mut recv[..], &recv_counts[..], &recv_displs[..]);
            self.world.all_to_all_varcount_into(&sp, &mut rp);
        }
        split(&recv, &recv_counts)
    }

    fn gather(&mut self, mut bytes: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        bytes.reserve(1);
        let root = self.world.process_at_rank(0);
        let len = count(bytes.len());
        if self.rank() != 0 {
            root.gather_into(&len);
            root.gather_varcount_into(&bytes[..]);
            return None;
        }
        let mut counts = vec![0i32; self.size()];
        root.gather_into_root(&len, &mut counts[..]);
        let displs = displacements(&counts);
        let mut buf = vec![0u8; counts.iter().map(|&c| c as usize).sum::<usize>().max(1)];
        {
            let mut p = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(&bytes[..], &mut p);
        }
        Some(split(&buf, &counts))
    }
}
