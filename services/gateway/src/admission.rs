//! The gateway-wide bounds on intake, so memory stays bounded under any
//! load: how many requests are served at once (`max_inflight_requests`)
//! and how many request body bytes they hold, raw and inflated
//! (`max_inflight_bytes`). A request over either is refused at once,
//! retryable (503 + `Retry-After`, gRPC `RESOURCE_EXHAUSTED`), instead of
//! queueing behind the others.
//!
//! Both are semaphores: a request takes one request permit when it is
//! admitted, and byte permits as its body arrives and inflates. Everything
//! it took is given back when its [`Ticket`] is dropped, whatever the
//! outcome: answered, failed, or cut off by the client.
//!
//! With a windower in the same process, a third bound for event intake
//! only: no batch of events is taken while the windower's backlog is over
//! `max_window_backlog_records`. Alerts and notices still are: an alert
//! during an overload is the reason causeway exists.

use std::sync::{Arc, Mutex, PoisonError};

use causeway_runtime::backlog::Backlog;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::config::GatewayConfig;
use crate::error::{InflightLimit, IngestError};
use crate::metrics;

/// The two limits, shared by every HTTP and gRPC route of one gateway.
pub(crate) struct Admission {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_requests: usize,
    max_bytes: usize,
    retry_after_seconds: u64,
    /// The windower's backlog and its limit (0: none).
    window_backlog: Option<Backlog>,
    max_window_backlog: u64,
}

impl Admission {
    pub(crate) fn new(config: &GatewayConfig, window_backlog: Option<Backlog>) -> Arc<Self> {
        // Validated config keeps both within `Semaphore::MAX_PERMITS`; the
        // clamp only keeps an unvalidated one from panicking.
        let max_requests = config.max_inflight_requests.min(Semaphore::MAX_PERMITS);
        let max_bytes = config.max_inflight_bytes.min(Semaphore::MAX_PERMITS);
        let admission = Arc::new(Self {
            requests: Arc::new(Semaphore::new(max_requests)),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_requests,
            max_bytes,
            retry_after_seconds: config.retry_after_seconds,
            window_backlog,
            max_window_backlog: config.max_window_backlog_records,
        });
        admission.export();
        admission
    }

    /// Admits one request, or refuses it when `max_inflight_requests` are
    /// already being served.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Ticket, IngestError> {
        let permit = match self.requests.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => {
                return Err(self.refuse(InflightLimit::Requests));
            }
        };
        let ticket = Ticket(Arc::new(Mutex::new(Held {
            admission: self.clone(),
            request: Some(permit),
            bytes: None,
            refused: false,
        })));
        self.export();
        Ok(ticket)
    }

    /// Counts records just published to the ce topic into the backlog, so
    /// intake stops at the limit rather than at the windower's next reading.
    pub(crate) fn published(&self, records: usize) {
        if let Some(backlog) = &self.window_backlog {
            backlog.published(records as u64);
        }
    }

    /// Refuses a batch of events while the windower in this process is
    /// more than `max_window_backlog_records` behind.
    pub(crate) fn window_has_room(&self) -> Result<(), IngestError> {
        if self.max_window_backlog > 0
            && let Some(backlog) = &self.window_backlog
            && backlog.records() > self.max_window_backlog
        {
            return Err(self.refuse(InflightLimit::WindowBacklog));
        }
        Ok(())
    }

    fn refuse(&self, limit_type: InflightLimit) -> IngestError {
        let limit = match limit_type {
            InflightLimit::Bytes => self.max_bytes,
            InflightLimit::Requests => self.max_requests,
            InflightLimit::WindowBacklog => usize::try_from(self.max_window_backlog).unwrap_or(usize::MAX),
        };
        metrics::record_overload(limit_type.label());
        tracing::debug!(
            limit = limit_type.label(),
            max = limit,
            "request refused: gateway at its in-flight limit"
        );
        IngestError::Overloaded {
            limit_type,
            limit,
            retry_after_seconds: self.retry_after_seconds,
        }
    }

    /// Sets the in-flight gauges from the semaphores (what is taken now).
    fn export(&self) {
        metrics::record_inflight(
            self.max_bytes.saturating_sub(self.bytes.available_permits()),
            self.max_requests.saturating_sub(self.requests.available_permits()),
        );
    }
}

/// One admitted request's hold on the limits. Clones share the hold (the
/// handler, its body reader and its blocking decode each keep one); the
/// last one dropped gives everything back.
#[derive(Clone)]
pub(crate) struct Ticket(Arc<Mutex<Held>>);

struct Held {
    admission: Arc<Admission>,
    request: Option<OwnedSemaphorePermit>,
    /// Every byte permit this request took, merged into one.
    bytes: Option<OwnedSemaphorePermit>,
    /// Set when a reservation was refused (the request was answered 503).
    refused: bool,
}

impl Ticket {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic elsewhere while holding the lock leaves plain counters,
        // still consistent: keep using them.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `n` more body bytes of this request against the budget, or
    /// refuses the request when the budget has no room for them.
    pub(crate) fn reserve(&self, n: usize) -> Result<(), IngestError> {
        if n == 0 {
            return Ok(());
        }
        let mut held = self.held();
        let taken = u32::try_from(n)
            .ok()
            .and_then(|n| held.admission.bytes.clone().try_acquire_many_owned(n).ok());
        let Some(permit) = taken else {
            held.refused = true;
            return Err(held.admission.refuse(InflightLimit::Bytes));
        };
        match held.bytes.as_mut() {
            Some(bytes) => bytes.merge(permit),
            None => held.bytes = Some(permit),
        }
        held.admission.export();
        Ok(())
    }

    /// Holds at least `n` bytes in all: what a decoded gRPC message needs
    /// when tonic inflated it beyond the bytes that arrived.
    pub(crate) fn reserve_total(&self, n: usize) -> Result<(), IngestError> {
        let more = n.saturating_sub(self.held_bytes());
        self.reserve(more)
    }

    /// Gives back `n` bytes the request no longer holds (a compressed body
    /// once it has been inflated).
    pub(crate) fn release(&self, n: usize) {
        let mut held = self.held();
        if let Some(bytes) = held.bytes.as_mut() {
            debug_assert!(n <= bytes.num_permits(), "releasing more than was reserved");
            drop(bytes.split(n.min(bytes.num_permits())));
        }
        held.admission.export();
    }

    /// Body bytes this request holds now.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held().bytes.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }

    /// Whether a reservation of this request was refused.
    pub(crate) fn refused(&self) -> bool {
        self.held().refused
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Give everything back before the gauges are read.
        drop(self.bytes.take());
        drop(self.request.take());
        self.admission.export();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_bytes: usize, max_requests: usize) -> Arc<Admission> {
        Admission::new(
            &GatewayConfig {
                max_inflight_bytes: max_bytes,
                max_inflight_requests: max_requests,
                ..GatewayConfig::default()
            },
            None,
        )
    }

    fn overloaded(result: Result<impl Sized, IngestError>) -> Option<InflightLimit> {
        match result {
            Err(IngestError::Overloaded { limit_type, .. }) => Some(limit_type),
            _ => None,
        }
    }

    #[test]
    fn requests_over_the_limit_are_refused_until_one_ends() {
        let admission = admission(1000, 2);
        let first = admission.admit().expect("first");
        let second = admission.admit().expect("second");
        assert_eq!(overloaded(admission.admit()), Some(InflightLimit::Requests));
        let clone = second.clone();
        drop(second);
        assert_eq!(
            overloaded(admission.admit()),
            Some(InflightLimit::Requests),
            "a clone still holds it"
        );
        drop(clone);
        let third = admission.admit().expect("room again");
        drop((first, third));
        assert_eq!(admission.requests.available_permits(), 2);
    }

    #[test]
    fn bytes_are_shared_by_all_requests_and_given_back_on_drop() {
        let admission = admission(1000, 10);
        let a = admission.admit().expect("a");
        let b = admission.admit().expect("b");
        a.reserve(600).expect("fits");
        assert_eq!(overloaded(b.reserve(500)), Some(InflightLimit::Bytes));
        assert!(b.refused() && !a.refused());
        b.reserve(400).expect("exactly fills the budget");
        assert_eq!(admission.bytes.available_permits(), 0);
        a.release(100);
        assert_eq!(a.held_bytes(), 500);
        b.reserve_total(500).expect("tops up by 100");
        assert_eq!(b.held_bytes(), 500);
        b.reserve_total(200).expect("already holds more");
        assert_eq!(b.held_bytes(), 500);
        drop(a);
        assert_eq!(admission.bytes.available_permits(), 500);
        drop(b);
        assert_eq!(admission.bytes.available_permits(), 1000);
        assert_eq!(admission.requests.available_permits(), 10);
    }

    #[test]
    fn a_reservation_beyond_u32_is_refused_not_truncated() {
        let admission = admission(1000, 1);
        let ticket = admission.admit().expect("admitted");
        assert_eq!(overloaded(ticket.reserve(usize::MAX)), Some(InflightLimit::Bytes));
        assert_eq!(ticket.held_bytes(), 0);
    }

    #[test]
    fn a_windower_backlog_over_the_limit_refuses_requests_until_it_falls() {
        let backlog = Backlog::default();
        let admission = Admission::new(
            &GatewayConfig {
                max_window_backlog_records: 1_000,
                ..GatewayConfig::default()
            },
            Some(backlog.clone()),
        );
        backlog.set(1_000, backlog.mark());
        admission.window_has_room().expect("at the limit is admitted");
        backlog.set(1_001, backlog.mark());
        assert_eq!(
            overloaded(admission.window_has_room()),
            Some(InflightLimit::WindowBacklog)
        );
        let message = admission.window_has_room().expect_err("still over").to_string();
        assert!(
            message.contains("1000 records the windower has yet to write (gateway.max_window_backlog_records)"),
            "{message}"
        );
        // Other intake (alerts, notices) is admitted meanwhile.
        drop(admission.admit().expect("the in-flight limits have room"));
        backlog.set(10, backlog.mark());
        admission.window_has_room().expect("caught up");
        // What the gateway publishes counts before the windower reads again.
        admission.published(991);
        assert_eq!(
            overloaded(admission.window_has_room()),
            Some(InflightLimit::WindowBacklog)
        );

        let off = Admission::new(
            &GatewayConfig {
                max_window_backlog_records: 0,
                ..GatewayConfig::default()
            },
            Some(Backlog::default()),
        );
        off.window_backlog.as_ref().expect("backlog").set(u64::MAX, 0);
        off.window_has_room().expect("0 turns the bound off");
    }
}
