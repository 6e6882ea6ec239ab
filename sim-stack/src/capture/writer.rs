//! The writer thread: the queue of buffers handed over, the files it keeps open, and the
//! error it reports back.

use super::*;

/// The simulation's end of the writer thread. Buffers are handed over whole (no copy) through
/// a [`Queue`]; the thread appends each to its file, in order, and gives it back emptied, to
/// be reused. The thread keeps the files most recently written open (at most [`MAX_OPEN`]).
///
/// Memory in the queue is bounded two ways: buffers handed over full and replaced at once
/// by a spare (`replaced`) are at most [`MAX_IN_FLIGHT`]; buffers handed over without a
/// replacement (evicted or flushed) are counted in `draining`, which the pcap files keep
/// within their budget. Beyond either bound the simulation waits for the thread.
///
/// The thread records its first I/O error in [`Failure`] and carries on with the other
/// files (a file that failed is not written again: a retry could duplicate a partial
/// write); the capture picks the error up at its next call.
#[derive(Debug)]
pub(super) struct Writer {
    pub(super) queue: Arc<Queue>,
    pub(super) thread: Option<JoinHandle<()>>,
    pub(super) failure: Arc<Failure>,
    /// Size of the buffers kept for reuse.
    pub(super) buffer_size: usize,
    pub(super) spare: Vec<Vec<u8>>,
    /// What came back, taken out of the queue in one go (kept for its allocation).
    pub(super) returned: Vec<Back>,
    /// Buffers handed over with a replacement, not yet back.
    pub(super) replaced: usize,
    /// Cost (capacity plus [`JOB_COST`]) of the buffers handed over without a replacement,
    /// not yet back.
    pub(super) draining: usize,
    /// The last [`Job::Sync`] was answered.
    pub(super) synced: bool,
    /// Buffers handed over so far (checked by the tests).
    pub(super) handed: u64,
    /// The thread's file activity as of the last [`sync`](Self::sync) (checked by the tests).
    pub(super) stats: IoStats,
}

/// What the writer thread is asked to do, in order.
#[derive(Debug)]
pub(super) enum Job {
    /// Append `buf` to the file `<dir>/<name>` (whose id is `file`), creating it first
    /// (truncating any old one) if `create`.
    Write {
        file: u32,
        name: Arc<str>,
        create: bool,
        buf: Vec<u8>,
        replaced: bool,
    },
    /// Answer [`Back::Synced`]: every job before it is done.
    Sync,
}

/// What the writer thread gives back.
#[derive(Debug)]
pub(super) enum Back {
    /// A buffer written (or dropped after an error), emptied, with its `replaced` flag.
    Buffer { buf: Vec<u8>, replaced: bool },
    /// Every job before the [`Job::Sync`] is done.
    Synced(IoStats),
}

/// The jobs for the writer thread and what it gives back, under one lock. A side with
/// nothing to do spins a little watching the other's counter ([`spin_until`]), then sleeps
/// on its condition variable; the other wakes it only when there is enough for it
/// ([`WAKE_BATCH`] items, or the other is about to wait, or a sync): a futex call per few
/// buffers at most rather than per buffer.
#[derive(Debug, Default)]
pub(super) struct Queue {
    pub(super) state: Mutex<QueueState>,
    /// Jobs pushed so far: what the writer watches while it spins before sleeping.
    pub(super) pushed: AtomicU64,
    /// Items given back so far: what the simulation watches while it spins before sleeping.
    pub(super) given: AtomicU64,
    /// The writer waits here for jobs.
    pub(super) jobs_ready: Condvar,
    /// The simulation waits here for buffers to come back, or for a sync's answer.
    pub(super) back_ready: Condvar,
}

#[derive(Debug, Default)]
pub(super) struct QueueState {
    pub(super) jobs: VecDeque<Job>,
    pub(super) back: Vec<Back>,
    /// The writer waits on `jobs_ready`.
    pub(super) writer_asleep: bool,
    /// The simulation waits on `back_ready`.
    pub(super) sim_asleep: bool,
    /// No more jobs will come: the writer ends once `jobs` is empty.
    pub(super) closed: bool,
    /// The writer thread has ended (or is unwinding from a panic).
    pub(super) writer_gone: bool,
}

impl Queue {
    pub(super) fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counters of the writer thread's file activity, checked by the tests.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct IoStats {
    pub(super) max_open: u32,
    pub(super) opens: u64,
    pub(super) open: u32,
}

/// The writer thread's first I/O error, as the capture keeps it.
#[derive(Debug, Default)]
pub(super) struct Failure {
    pub(super) failed: AtomicBool,
    pub(super) first: Mutex<Option<(io::ErrorKind, String)>>,
}

impl Failure {
    pub(super) fn set(&self, e: &io::Error) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some((e.kind(), e.to_string()));
        }
        self.failed.store(true, Ordering::Release);
    }

    /// The error, if any (one atomic load when there is none).
    pub(super) fn get(&self) -> Option<(io::ErrorKind, String)> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Writer {
    /// Starts the thread, writing into `dir`; spare buffers are of `buffer_size` bytes.
    pub(super) fn spawn(dir: &Path, buffer_size: usize) -> io::Result<Self> {
        let queue = Arc::new(Queue::default());
        let failure = Arc::new(Failure::default());
        let thread = {
            let dir = dir.to_owned();
            let queue = Arc::clone(&queue);
            let failure = Arc::clone(&failure);
            thread::Builder::new()
                .name("capture-writer".into())
                .spawn(move || write_files(&dir, &queue, &failure))
                .map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot start capture writer: {e}"))
                })?
        };
        Ok(Self {
            queue,
            thread: Some(thread),
            failure,
            buffer_size,
            spare: Vec::new(),
            returned: Vec::new(),
            replaced: 0,
            draining: 0,
            synced: false,
            handed: 0,
            stats: IoStats::default(),
        })
    }

    /// An empty buffer of `buffer_size` bytes: a spare if there is one.
    pub(super) fn buffer(&mut self) -> Vec<u8> {
        if self.spare.is_empty() {
            self.collect();
        }
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.buffer_size))
    }

    /// Queues `buf` to be appended to file `file` (`<dir>/<name>`), created first if
    /// `create`. `replaced`: the buffer was replaced by a spare (at most [`MAX_IN_FLIGHT`]
    /// such in flight: waits for the thread beyond); else it counts in `draining`.
    pub(super) fn hand_over(
        &mut self,
        file: u32,
        name: &Arc<str>,
        create: bool,
        buf: Vec<u8>,
        replaced: bool,
    ) -> io::Result<()> {
        while replaced && self.replaced >= MAX_IN_FLIGHT {
            self.wait()?;
        }
        let cost = buf.capacity() + JOB_COST;
        self.push(Job::Write {
            file,
            name: Arc::clone(name),
            create,
            buf,
            replaced,
        })?;
        if replaced {
            self.replaced += 1;
        } else {
            self.draining += cost;
        }
        self.handed += 1;
        Ok(())
    }

    /// Waits for the thread until at most `limit` bytes are draining.
    pub(super) fn bound_draining(&mut self, limit: usize) -> io::Result<()> {
        if self.draining > limit {
            self.collect();
            while self.draining > limit {
                self.wait()?;
            }
        }
        Ok(())
    }

    /// Waits for the thread to have done every job queued so far.
    pub(super) fn sync(&mut self) -> io::Result<()> {
        self.synced = false;
        self.push(Job::Sync)?;
        while !self.synced {
            self.wait()?;
        }
        Ok(())
    }

    /// Tells the thread to stop once its queue is done, and waits for it: every file is then
    /// written and closed.
    pub(super) fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let mut state = self.queue.lock();
        state.closed = true;
        // Ends the writer's spin, if it spins.
        self.queue.pushed.fetch_add(1, Ordering::Release);
        let wake = mem::take(&mut state.writer_asleep);
        drop(state);
        if wake {
            self.queue.jobs_ready.notify_one();
        }
        thread.join().map_err(|_| writer_gone())
    }

    /// Queues `job`, waking the writer if it sleeps and there is enough to do.
    pub(super) fn push(&mut self, job: Job) -> io::Result<()> {
        let urgent = matches!(job, Job::Sync);
        let mut state = self.queue.lock();
        if state.writer_gone || state.closed {
            return Err(writer_gone());
        }
        state.jobs.push_back(job);
        self.queue.pushed.fetch_add(1, Ordering::Release);
        let wake = state.writer_asleep && (urgent || state.jobs.len() >= WAKE_BATCH);
        if wake {
            state.writer_asleep = false;
        }
        drop(state);
        if wake {
            self.queue.jobs_ready.notify_one();
        }
        Ok(())
    }

    /// Takes back what the thread gave back, without waiting.
    pub(super) fn collect(&mut self) {
        let mut returned = mem::take(&mut self.returned);
        mem::swap(&mut self.queue.lock().back, &mut returned);
        self.take_back(&mut returned);
        self.returned = returned;
    }

    /// Waits for something to come back (waking the writer first if it sleeps on jobs), and
    /// takes it.
    pub(super) fn wait(&mut self) -> io::Result<()> {
        let mut returned = mem::take(&mut self.returned);
        {
            let mut state = self.queue.lock();
            if state.writer_asleep && !state.jobs.is_empty() {
                state.writer_asleep = false;
                self.queue.jobs_ready.notify_one();
            }
            let mut spun = false;
            while state.back.is_empty() {
                if state.writer_gone {
                    return Err(writer_gone());
                }
                if !spun {
                    spun = true;
                    let seen = self.queue.given.load(Ordering::Acquire);
                    drop(state);
                    spin_until(|| self.queue.given.load(Ordering::Acquire) != seen);
                    state = self.queue.lock();
                    continue;
                }
                state.sim_asleep = true;
                state = self
                    .queue
                    .back_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.sim_asleep = false;
            mem::swap(&mut state.back, &mut returned);
        }
        self.take_back(&mut returned);
        self.returned = returned;
        Ok(())
    }

    pub(super) fn take_back(&mut self, returned: &mut Vec<Back>) {
        for back in returned.drain(..) {
            match back {
                Back::Buffer { buf, replaced } => {
                    if replaced {
                        self.replaced -= 1;
                    } else {
                        self.draining -= buf.capacity() + JOB_COST;
                    }
                    if buf.capacity() == self.buffer_size && self.spare.len() < MAX_SPARE {
                        self.spare.push(buf);
                    }
                }
                Back::Synced(stats) => {
                    self.stats = stats;
                    self.synced = true;
                }
            }
        }
    }
}

impl Drop for Writer {
    /// Lets the thread finish its queue and waits for it.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Spins until `done`, for at most [`SPIN_ROUNDS`] rounds of a few pause instructions and a
/// `yield_now` (about 200 µs on an idle machine; on a busy one, the yields let other threads
/// run). A thread that would sleep spins first: waking a sleeping thread costs a system call
/// on the other side, and on a virtual machine an interrupt to an idle CPU, each about as
/// long as writing a buffer.
pub(super) fn spin_until(done: impl Fn() -> bool) {
    for _ in 0..SPIN_ROUNDS {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        if done() {
            return;
        }
        thread::yield_now();
    }
}

/// Marks the writer thread gone when it ends, even by a panic, and wakes the simulation so
/// that it never waits for a thread that is not there.
pub(super) struct Gone<'a>(&'a Queue);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.writer_gone = true;
        state.sim_asleep = false;
        self.0.given.fetch_add(1, Ordering::Release);
        drop(state);
        self.0.back_ready.notify_all();
    }
}

/// The writer thread: does the jobs in order until the queue is closed and empty, then
/// closes the files. Reports I/O errors in `failure` and never panics on one.
pub(super) fn write_files(dir: &Path, queue: &Queue, failure: &Failure) {
    let _gone = Gone(queue);
    let mut files = OpenFiles {
        dir,
        open: Vec::new(),
        clock: 0,
        stats: IoStats::default(),
    };
    // Files whose write failed: not written again.
    let mut broken = BTreeSet::new();
    let mut done = None;
    loop {
        // Give back what was done and take the next job, under one lock.
        let job = {
            let mut spun = false;
            let mut state = queue.lock();
            let mut wake = false;
            if let Some(back) = done.take() {
                wake = matches!(back, Back::Synced(_));
                state.back.push(back);
                queue.given.fetch_add(1, Ordering::Release);
            }
            wake = state.sim_asleep
                && (wake || state.back.len() >= WAKE_BATCH || state.jobs.is_empty());
            if wake {
                state.sim_asleep = false;
                queue.back_ready.notify_one();
            }
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                if state.closed {
                    return;
                }
                if !spun {
                    spun = true;
                    let seen = queue.pushed.load(Ordering::Acquire);
                    drop(state);
                    spin_until(|| queue.pushed.load(Ordering::Acquire) != seen);
                    state = queue.lock();
                    continue;
                }
                state.writer_asleep = true;
                state = queue
                    .jobs_ready
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.writer_asleep = false;
            }
        };
        done = Some(match job {
            Job::Write {
                file,
                name,
                create,
                mut buf,
                replaced,
            } => {
                if !broken.contains(&file)
                    && let Err(e) = files.append(file, &name, create, &buf)
                {
                    broken.insert(file);
                    failure.set(&e);
                }
                buf.clear();
                Back::Buffer { buf, replaced }
            }
            Job::Sync => {
                files.stats.open = files.open.len() as u32;
                Back::Synced(files.stats)
            }
        });
    }
}

/// The writer thread's files: the most recently written kept open.
pub(super) struct OpenFiles<'a> {
    pub(super) dir: &'a Path,
    /// Files kept open: (id, file, last write), at most [`MAX_OPEN`].
    pub(super) open: Vec<(u32, File, u64)>,
    /// Counts writes, to find the least recently written open file.
    pub(super) clock: u64,
    pub(super) stats: IoStats,
}

impl OpenFiles<'_> {
    /// Appends `bytes` to file `id` (`<dir>/<name>`), creating it first if `create`, else
    /// reopening it for appending if it was closed to make room.
    pub(super) fn append(
        &mut self,
        id: u32,
        name: &str,
        create: bool,
        bytes: &[u8],
    ) -> io::Result<()> {
        self.clock += 1;
        if let Some((_, file, used)) = self.open.iter_mut().find(|(f, _, _)| *f == id) {
            *used = self.clock;
            return file
                .write_all(bytes)
                .map_err(|e| path_error(&self.dir.join(name), "cannot write", e));
        }
        let path = self.dir.join(name);
        let mut file = if create {
            File::create(&path)
        } else {
            OpenOptions::new().append(true).open(&path)
        }
        .map_err(|e| path_error(&path, "cannot open", e))?;
        self.stats.opens += 1;
        let written = file
            .write_all(bytes)
            .map_err(|e| path_error(&path, "cannot write", e));
        if self.open.len() >= MAX_OPEN {
            // Close the least recently written.
            let lru = (0..self.open.len())
                .min_by_key(|&k| self.open[k].2)
                .expect("MAX_OPEN > 0");
            self.open.swap_remove(lru);
        }
        self.open.push((id, file, self.clock));
        self.stats.max_open = self.stats.max_open.max(self.open.len() as u32);
        written
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.
