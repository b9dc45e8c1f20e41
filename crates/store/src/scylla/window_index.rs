//! What selection reads besides events: the failure index, per-second
//! service activity and the windower's per-partition progress.

use std::collections::BTreeMap;

use causeway_model::{CeId, TraceId};

use super::ScyllaStore;
use super::exec::{big, corrupt, unbig};
use super::window::{EVENTS_KIND, FAILURES_KIND};
use crate::api::{FailureRef, PartitionProgress, ServiceActivity, StoreError};

const SECOND: u64 = 1_000_000_000;

type FailureRow = (i64, Vec<u8>, Vec<u8>, String, i64);

impl ScyllaStore {
    /// Non-success events completing in `[from, to]`, by (end, trace, ce).
    pub(crate) async fn failure_refs(
        &self,
        tenant_id: &str,
        from_end: u64,
        to_end: u64,
        limit: usize,
    ) -> Result<Vec<FailureRef>, StoreError> {
        if from_end > to_end || limit == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for bucket in self.buckets(tenant_id, FAILURES_KIND, from_end, to_end).await? {
            let left = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let rows: Vec<FailureRow> = self
                .rows(
                    "failures",
                    &self.inner.statements.failure_slice,
                    (tenant_id, bucket, big(from_end), big(to_end), left),
                )
                .await?;
            for (end, trace, ce, service, start) in rows {
                out.push(FailureRef {
                    trace_id: TraceId::from_bytes(&trace).map_err(|err| corrupt("trace id", err))?,
                    ce_id: CeId::from_bytes(&ce).map_err(|err| corrupt("ce id", err))?,
                    service,
                    start_unix_ns: unbig(start),
                    end_unix_ns: unbig(end),
                });
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        Ok(out)
    }

    /// Counts the events that started in whole seconds `[from, to]`, per
    /// service. It reads the small columns of every event row in the range
    /// (no bodies): exact and never double-counting a redelivery, at the
    /// cost of a scan proportional to the events in the range.
    pub(crate) async fn activity(
        &self,
        tenant_id: &str,
        from_second: u64,
        to_second: u64,
    ) -> Result<Vec<ServiceActivity>, StoreError> {
        if from_second > to_second {
            return Ok(Vec::new());
        }
        let from = from_second.saturating_mul(SECOND);
        let to = to_second.saturating_add(1).saturating_mul(SECOND).saturating_sub(1);
        let mut by_service: BTreeMap<String, ServiceActivity> = BTreeMap::new();
        for bucket in self.buckets(tenant_id, EVENTS_KIND, from, to).await? {
            let rows: Vec<(Option<String>, Option<bool>, Option<i64>)> = self
                .rows(
                    "service_activity",
                    &self.inner.statements.activity_slice,
                    (tenant_id, bucket, big(from), big(to)),
                )
                .await?;
            for (service, non_success, end) in rows {
                let service = service.unwrap_or_default();
                let entry = by_service.entry(service.clone()).or_insert_with(|| ServiceActivity {
                    service,
                    ..ServiceActivity::default()
                });
                entry.events += 1;
                if non_success == Some(true) {
                    entry.non_success += 1;
                    let end = end.map(unbig).unwrap_or(0);
                    entry.first_failure_end_unix_ns = Some(entry.first_failure_end_unix_ns.map_or(end, |f| f.min(end)));
                }
            }
        }
        Ok(by_service.into_values().collect())
    }

    /// Records progress with the offset as the write timestamp: the cell
    /// with the highest offset wins, whatever order writes arrive in, with
    /// no read and no lightweight transaction.
    pub(crate) async fn write_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        let writes = progress.iter().map(|p| {
            let partition = i32::try_from(p.partition).unwrap_or(i32::MAX);
            let offset = big(p.next_offset);
            self.run(
                "progress_put",
                &self.inner.statements.put_progress,
                (topic, partition, offset, offset),
            )
        });
        futures::future::try_join_all(writes).await?;
        Ok(())
    }

    pub(crate) async fn read_progress(&self, topic: &str) -> Result<Vec<PartitionProgress>, StoreError> {
        let rows: Vec<(i32, Option<i64>)> = self.rows("progress", &self.inner.statements.progress, (topic,)).await?;
        Ok(rows
            .into_iter()
            .map(|(partition, offset)| PartitionProgress {
                partition: u32::try_from(partition).unwrap_or(0),
                next_offset: offset.map(unbig).unwrap_or(0),
            })
            .collect())
    }
}
