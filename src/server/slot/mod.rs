//! A slot's life between sessions, decided without a thread, PTY or clock
//! of its own (the caller passes `now` and what happened): when a session
//! that ended starts again, and whether its agent refused to resume its
//! conversation. The manager carries out what this decides.

pub(crate) mod restart;
