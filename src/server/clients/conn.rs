//! One attached client's connection: its queue of frames, the thread that
//! writes them, and the mirror frames the [`ScreenSink`] side queues.

use super::*;

impl Hub {
    /// Writes a client's queued frames; sends a slot's whole terminal when
    /// its copy must be rebuilt.
    pub(super) fn writer(&self, conn: &Conn, mut stream: UnixStream) {
        let mut batch = Vec::new();
        loop {
            let mut with_fd = None;
            let resync = {
                let mut o = lock(&conn.out);
                loop {
                    if o.closed {
                        return;
                    }
                    if !o.queue.is_empty() {
                        batch.clear();
                        while let Some(f) = o.queue.front() {
                            let fd_item = matches!(f, Item::WithFd(..));
                            if !batch.is_empty()
                                && (fd_item || batch.len() + f.len() > WRITE_BATCH_BYTES)
                            {
                                break;
                            }
                            let Some(f) = o.queue.pop_front() else { break };
                            o.bytes = o.bytes.saturating_sub(f.len());
                            match f {
                                Item::Bytes(b) => batch.extend_from_slice(&b),
                                Item::WithFd(b, fd) => {
                                    with_fd = Some((b, fd));
                                    break;
                                }
                            }
                        }
                        o.writing = true;
                        break None;
                    }
                    let due: Vec<(SlotIdx, Instant)> = o
                        .resync
                        .iter()
                        .enumerate()
                        .filter_map(|(i, r)| r.map(|t| (i, t)))
                        .collect();
                    if !due.is_empty() {
                        break Some(due);
                    }
                    o = conn.cv.wait(o).unwrap_or_else(|p| p.into_inner());
                }
            };
            match resync {
                None => {
                    let mut sent = stream.write_all(&batch);
                    if let (Ok(()), Some((b, fd))) = (&sent, &with_fd) {
                        use std::os::fd::AsFd;
                        sent = proto::send_with_fd(&stream, b, fd.as_fd());
                    }
                    drop(with_fd.take());
                    lock(&conn.out).writing = false;
                    if sent.is_err() {
                        conn.close();
                        return;
                    }
                    conn.cv.notify_all();
                }
                Some(due) => {
                    let mut waiting = false;
                    for (slot, since) in due {
                        let Some(s) = self.mgr.get().and_then(|m| m.slot(slot)) else {
                            if let Some(r) = lock(&conn.out).resync.get_mut(slot) {
                                *r = None;
                            }
                            continue;
                        };
                        let history = lock(&conn.out).history.get(slot).copied().unwrap_or(false);
                        let e = s.lock();
                        if !e.at_rest() && since.elapsed() < RESYNC_WAIT {
                            waiting = true;
                            continue;
                        }
                        let frame = screen_frame(slot, &e, history);
                        let mut o = lock(&conn.out);
                        // The client asked for (or let go of) the history
                        // meanwhile: this frame is not the one it wants, and
                        // the resync stays due.
                        if o.resync.len() <= slot
                            || o.again.len() <= slot
                            || o.history.get(slot) != Some(&history)
                        {
                            continue;
                        }
                        o.resync[slot] = None;
                        o.again[slot] = !e.at_rest();
                        o.bytes += frame.len();
                        o.queue.push_back(Item::Bytes(frame));
                    }
                    if waiting {
                        let o = lock(&conn.out);
                        let _ = conn.cv.wait_timeout(o, Duration::from_millis(50));
                    }
                }
            }
        }
    }
}

/// The frame of slot `slot`'s whole terminal `e`, with its scrollback when
/// the client keeps it (`history`).
pub(super) fn screen_frame(slot: SlotIdx, e: &Engine, history: bool) -> Vec<u8> {
    let (rows, cols) = e.size();
    Frame::Screen {
        slot,
        rows,
        cols,
        history,
        replay: if history { e.replay() } else { e.replay_live() },
    }
    .encode()
}

impl ScreenSink for Hub {
    fn output(&self, slot: SlotIdx, bytes: &[u8], engine: &Engine) {
        if let Some(n) = self.bytes_read.get(slot) {
            n.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        let clients = lock(&self.clients);
        if clients.is_empty() {
            return;
        }
        let frame = Frame::Output {
            slot,
            bytes: bytes.to_vec(),
        }
        .encode();
        for c in clients.iter().filter(|c| c.shows(slot)) {
            let mut o = lock(&c.out);
            // A slot this client has not heard of yet (it attached while
            // the slot was added): its welcome or event brings it.
            if o.closed || o.resync.len() <= slot || o.again.len() <= slot {
                continue;
            }
            if o.again[slot] && engine.at_rest() {
                // A replay taken inside an escape sequence: send it whole
                // again now that the parser is between sequences.
                o.again[slot] = false;
                if o.resync[slot].is_none() {
                    let f = screen_frame(slot, engine, o.history[slot]);
                    o.bytes += f.len();
                    o.queue.push_back(Item::Bytes(f));
                    drop(o);
                    c.cv.notify_all();
                    continue;
                }
            }
            match o.resync[slot] {
                Some(_) if o.bytes <= QUEUE_LOW_BYTES && engine.at_rest() => {
                    let f = screen_frame(slot, engine, o.history[slot]);
                    o.resync[slot] = None;
                    o.bytes += f.len();
                    o.queue.push_back(Item::Bytes(f));
                }
                Some(_) => continue,
                None if o.bytes + frame.len() > QUEUE_HIGH_BYTES => {
                    o.resync[slot] = Some(Instant::now());
                    // From here its copy lags: it must not count as showing
                    // a dialog until the whole terminal comes again.
                    if let Ok(f) = Frame::json(&ServerMsg::Stale { slot }) {
                        let f = f.encode();
                        o.bytes += f.len();
                        o.queue.push_back(Item::Bytes(f));
                    }
                }
                // Nothing ahead of it: straight to the socket from this
                // thread (a keystroke's echo skips the writer thread's
                // wake-up); what the socket does not take now queues.
                None if o.queue.is_empty() && !o.writing => {
                    let done = c.send_now(&frame);
                    if done < frame.len() {
                        let rest = frame[done..].to_vec();
                        o.bytes += rest.len();
                        o.queue.push_back(Item::Bytes(rest));
                    } else {
                        continue;
                    }
                }
                None => {
                    o.bytes += frame.len();
                    o.queue.push_back(Item::Bytes(frame.clone()));
                }
            }
            drop(o);
            c.cv.notify_all();
        }
    }

    fn auto_answers(&self, enabled: bool) {
        let mut st = self.lock_state();
        st.view.auto = enabled;
        self.broadcast(&ServerMsg::AutoAnswers { enabled });
        drop(st);
    }

    fn added(&self, slot: SlotIdx, info: &proto::SlotInfo) {
        self.event(Event::SlotAdded {
            slot,
            info: info.clone(),
        });
    }

    fn rebuilt(&self, slot: SlotIdx, engine: &Engine) {
        let (rows, cols) = engine.size();
        if let Some(s) = self
            .lock_state_try()
            .as_mut()
            .and_then(|st| st.view.slots.get_mut(slot))
        {
            s.size = (rows, cols);
        }
        let clients = lock(&self.clients);
        for c in clients.iter().filter(|c| c.shows(slot)) {
            let mut o = lock(&c.out);
            if o.closed || o.resync.get(slot).is_none_or(|r| r.is_some()) {
                continue;
            }
            if o.bytes > QUEUE_HIGH_BYTES || !engine.at_rest() {
                o.resync[slot] = Some(Instant::now());
            } else {
                let f = screen_frame(slot, engine, o.history.get(slot).copied().unwrap_or(false));
                o.bytes += f.len();
                o.queue.push_back(Item::Bytes(f));
            }
            drop(o);
            c.cv.notify_all();
        }
    }
}

impl Hub {
    /// The state, unless another thread holds it (a client thread may hold
    /// it while it waits for nothing of ours, but never block a reader).
    pub(super) fn lock_state_try(&self) -> Option<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// One attached client.
pub(super) struct Conn {
    pub(super) id: u64,
    /// It asked for the slots' PTY input ([`ClientMsg::WantInput`]).
    pub(super) wants_input: std::sync::atomic::AtomicBool,
    /// `--attach`: the one slot it shows.
    pub(super) attach: Option<SlotIdx>,
    /// It only watches ([`crate::proto::HelloKind::Watch`]): no size, no
    /// commands.
    pub(super) watch: bool,
    pub(super) out: Mutex<Out>,
    pub(super) cv: Condvar,
    pub(super) stream: Option<UnixStream>,
}

/// A frame waiting for a client, with the descriptor that goes with it.
pub(super) enum Item {
    Bytes(Vec<u8>),
    WithFd(Vec<u8>, std::os::fd::OwnedFd),
}

impl Item {
    pub(super) fn len(&self) -> usize {
        match self {
            Item::Bytes(b) | Item::WithFd(b, _) => b.len(),
        }
    }
}

pub(super) struct Out {
    /// Encoded frames not yet written.
    pub(super) queue: VecDeque<Item>,
    /// Their bytes.
    pub(super) bytes: usize,
    /// Per slot: since when its copy must be rebuilt (output was dropped,
    /// or it was never sent).
    pub(super) resync: Vec<Option<Instant>>,
    /// Per slot: the last whole terminal was taken inside an escape
    /// sequence; send it again at the next point between sequences.
    pub(super) again: Vec<bool>,
    /// Per slot: the client's copy keeps the scrollback (it asked, with
    /// [`ClientMsg::History`]): whole terminals sent go with it.
    pub(super) history: Vec<bool>,
    /// The writer thread is writing frames it took from the queue: nothing
    /// may be written past it.
    pub(super) writing: bool,
    pub(super) closed: bool,
}

impl Conn {
    pub(super) fn shows(&self, slot: SlotIdx) -> bool {
        self.attach.is_none_or(|a| a == slot)
    }

    pub(super) fn push(&self, frame: Vec<u8>) {
        let mut o = lock(&self.out);
        if o.closed {
            return;
        }
        if o.bytes > QUEUE_HARD_BYTES {
            // Stopped (SIGSTOP, a frozen machine): let it go, as tmux does;
            // it can attach again.
            tracing::warn!(client = self.id, "client does not read: closing it");
            drop(o);
            self.close();
            return;
        }
        o.bytes += frame.len();
        o.queue.push_back(Item::Bytes(frame));
        drop(o);
        self.cv.notify_all();
    }

    /// Writes as much of `bytes` as the socket takes without waiting;
    /// returns how much. Call with `out` locked and nothing queued, so
    /// nothing overtakes it.
    pub(super) fn send_now(&self, bytes: &[u8]) -> usize {
        use std::os::unix::io::AsRawFd;
        let Some(s) = &self.stream else { return 0 };
        let mut done = 0;
        while done < bytes.len() {
            // SAFETY: send(2) from a live slice on a descriptor we own;
            // MSG_DONTWAIT never blocks, MSG_NOSIGNAL raises no SIGPIPE.
            let n = unsafe {
                libc::send(
                    s.as_raw_fd(),
                    bytes[done..].as_ptr().cast(),
                    bytes.len() - done,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n > 0 {
                done += n as usize;
            } else if n < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
                continue;
            } else {
                break;
            }
        }
        done
    }

    pub(super) fn close(&self) {
        lock(&self.out).closed = true;
        self.cv.notify_all();
        if let Some(s) = &self.stream {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
