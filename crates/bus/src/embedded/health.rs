//! What the writer thread last reported, for `ready()`: serving, failing
//! (its last append or fsync failed and none succeeded since), or stopped
//! (the thread panicked; publishes answer `Unavailable` from then on).

use std::sync::{Mutex, PoisonError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterState {
    Serving,
    Failing(String),
    Stopped(String),
}

#[derive(Debug)]
pub struct WriterHealth {
    state: Mutex<WriterState>,
}

impl Default for WriterHealth {
    fn default() -> Self {
        Self {
            state: Mutex::new(WriterState::Serving),
        }
    }
}

impl WriterHealth {
    pub fn state(&self) -> WriterState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set(&self, next: WriterState) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        // A stopped writer stays stopped.
        if !matches!(*state, WriterState::Stopped(_)) {
            *state = next;
        }
    }

    pub fn serving(&self) {
        self.set(WriterState::Serving);
    }

    pub fn failing(&self, reason: String) {
        self.set(WriterState::Failing(reason));
    }

    pub fn stopped(&self, reason: String) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = WriterState::Stopped(reason);
    }
}
