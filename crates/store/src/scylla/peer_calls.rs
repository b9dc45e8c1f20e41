//! The peer index on the ScyllaDB store: every outbound step also goes to
//! `events_by_peer`, partitioned by (tenant, peer, time bucket), so the calls
//! to one peer over a scope are one slice per bucket and no event is read.

use std::collections::HashSet;

use causeway_model::{CausalEvent, CeId, TraceId};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::ScyllaStore;
use super::exec::{big, corrupt, unbig};
use crate::api::{PeerCall, StoreError};

/// The `time_buckets` kind of one peer's buckets.
fn peer_kind(peer: &str) -> String {
    format!("p:{peer}")
}

/// The peer a step is indexed under: outbound steps only, `""` for none.
fn indexed_peer(event: &CausalEvent) -> Option<&str> {
    event
        .kind
        .is_outbound()
        .then(|| event.peer.as_deref().unwrap_or_default())
}

type PeerCallRow = (i64, Vec<u8>, Vec<u8>, i64, bool);

impl ScyllaStore {
    /// The peer-index write of one event (none unless it is outbound), and
    /// its bucket in the `time_buckets` directory.
    pub(crate) fn put_peer_call<'a>(
        &'a self,
        event: &'a CausalEvent,
        ttl: i32,
        directory: &mut HashSet<(String, String, i64)>,
    ) -> Option<BoxFuture<'a, Result<(), StoreError>>> {
        let peer = indexed_peer(event)?;
        let bucket = self.bucket(event.start_unix_ns);
        directory.insert((event.tenant_id.clone(), peer_kind(peer), bucket));
        let values = (
            event.tenant_id.as_str(),
            peer,
            bucket,
            big(event.start_unix_ns),
            event.trace_id.as_bytes().to_vec(),
            event.ce_id.as_bytes().to_vec(),
            big(event.duration_ns),
            event.is_non_success(),
            ttl,
        );
        Some(
            self.run("peer_call_put", &self.inner.statements.put_peer_call, values)
                .map(|result| result.map(drop))
                .boxed(),
        )
    }

    /// Deletes the peer-index row of an expiring event, if it has one.
    pub(crate) async fn delete_peer_call(&self, event: &CausalEvent) -> Result<(), StoreError> {
        let Some(peer) = indexed_peer(event) else {
            return Ok(());
        };
        self.run(
            "peer_call_delete",
            &self.inner.statements.delete_peer_call,
            (
                event.tenant_id.as_str(),
                peer,
                self.bucket(event.start_unix_ns),
                big(event.start_unix_ns),
                event.trace_id.as_bytes().to_vec(),
                event.ce_id.as_bytes().to_vec(),
            ),
        )
        .await
        .map(drop)
    }

    /// Newest bucket first, each slice newest first, until `limit`: the
    /// calls kept are those nearest the end of the range (the alert).
    pub(crate) async fn read_peer_calls(
        &self,
        tenant_id: &str,
        peer: &str,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<PeerCall>, StoreError> {
        if from > to || limit == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for bucket in self
            .buckets(tenant_id, &peer_kind(peer), from, to)
            .await?
            .into_iter()
            .rev()
        {
            let left = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let rows: Vec<PeerCallRow> = self
                .rows(
                    "peer_calls",
                    &self.inner.statements.peer_call_slice,
                    (tenant_id, peer, bucket, big(from), big(to), left),
                )
                .await?;
            for (start, trace, ce, duration, non_success) in rows {
                out.push(PeerCall {
                    trace_id: TraceId::from_bytes(&trace).map_err(|err| corrupt("trace id", err))?,
                    ce_id: CeId::from_bytes(&ce).map_err(|err| corrupt("ce id", err))?,
                    start_unix_ns: unbig(start),
                    duration_ns: unbig(duration),
                    non_success,
                });
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        out.reverse();
        Ok(out)
    }
}
