//! The pre-alert window on the ScyllaDB store: each event goes to its
//! trace's partition, to its tenant's time bucket and to its service's time
//! bucket (an outbound step also to its peer's, `peer_calls.rs`), with an
//! entry in the expiry index; every write carries a TTL of
//! the expiry + grace, so rows `expire` never reaches still go.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use causeway_model::proto::v1;
use causeway_model::{CausalEvent, TraceId};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use prost::Message;
use scylla::statement::batch::{Batch, BatchType};
use sha2::{Digest, Sha256};

use super::ScyllaStore;
use super::exec::{big, corrupt};
use crate::api::{FailureRef, PartitionProgress, PeerCall, ServiceActivity, ServiceNotice, StoreError, WindowStore};

/// The most a TTL may be (the database's limit is 20 years).
const MAX_TTL_SECONDS: u64 = 20 * 365 * 86_400;
/// Expiry entries handled at once by one `expire`.
const EXPIRE_CONCURRENCY: usize = 32;

pub(crate) const EVENTS_KIND: &str = "events";
const NOTICES_KIND: &str = "notices";
pub(crate) const FAILURES_KIND: &str = "failures";

fn service_kind(service: &str) -> String {
    format!("s:{service}")
}

fn encode_event(event: &CausalEvent) -> Vec<u8> {
    v1::CausalEvent::from(event).encode_to_vec()
}

fn decode_event(bytes: &[u8]) -> Result<CausalEvent, StoreError> {
    let proto = v1::CausalEvent::decode(bytes).map_err(|err| corrupt("event", err))?;
    CausalEvent::try_from(proto).map_err(|err| corrupt("event", err))
}

fn notice_hash(notice: &ServiceNotice) -> i64 {
    let mut hasher = Sha256::new();
    for part in [&notice.service, &notice.event, &notice.metadata_json] {
        hasher.update(part.len().to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(head)
}

fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

impl ScyllaStore {
    pub(crate) fn bucket(&self, unix_ns: u64) -> i64 {
        big(unix_ns / self.inner.config.bucket_ns().max(1))
    }

    /// The TTL of a row expiring at `expires_at`: the time left by the wall
    /// clock plus grace; 0 (none) for "never".
    pub(crate) fn ttl(&self, expires_at: u64) -> i32 {
        if expires_at >= i64::MAX as u64 {
            return 0;
        }
        let left = expires_at.saturating_sub(now_unix_ns()) / 1_000_000_000;
        let seconds = left
            .saturating_add(self.inner.config.grace_seconds)
            .min(MAX_TTL_SECONDS);
        i32::try_from(seconds).unwrap_or(i32::MAX)
    }

    /// The buckets of `kind` holding rows of a tenant in `[from, to]`.
    pub(crate) async fn buckets(
        &self,
        tenant_id: &str,
        kind: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = self
            .rows(
                "time_buckets",
                &self.inner.statements.time_buckets,
                (tenant_id, kind, self.bucket(from), self.bucket(to)),
            )
            .await?;
        Ok(rows.into_iter().map(|(bucket,)| bucket).collect())
    }

    /// Deletes one event's rows if the entry still names its current
    /// expiry (a later re-write moved it); says whether it did.
    async fn expire_event(&self, entry: ExpiryRow) -> Result<bool, StoreError> {
        let st = &self.inner.statements;
        let (expires_at, tenant_id, trace_id, ce_id, service, start, failure_end) = entry.row;
        let current: Option<(Option<i64>, Option<Vec<u8>>)> = self
            .first_row(
                "event_expires_at",
                &st.event_expiry_check,
                (&tenant_id, &trace_id, &ce_id),
            )
            .await?;
        let (stored_expiry, body) = current.unwrap_or_default();
        let due = stored_expiry == Some(expires_at);
        if due {
            // The peer index row is found from the event itself (kind and
            // peer are not in the expiry entry).
            match body.as_deref().map(decode_event) {
                Some(Ok(event)) => self.delete_peer_call(&event).await?,
                Some(Err(err)) => tracing::warn!(
                    error = %err,
                    "an expiring event's stored body is unreadable; its peer index row, if any, goes with its ttl"
                ),
                None => {}
            }
            let bucket = big(u64::try_from(start).unwrap_or(0) / self.inner.config.bucket_ns().max(1));
            futures::future::try_join3(
                self.run("event_delete", &st.delete_trace_row, (&tenant_id, &trace_id, &ce_id)),
                self.run(
                    "event_delete",
                    &st.delete_time_row,
                    (&tenant_id, bucket, start, &ce_id, &trace_id),
                ),
                self.run(
                    "event_delete",
                    &st.delete_service_row,
                    (&tenant_id, &service, bucket, start, &trace_id, &ce_id),
                ),
            )
            .await?;
            if let Some(end) = failure_end {
                let end_bucket = big(u64::try_from(end).unwrap_or(0) / self.inner.config.bucket_ns().max(1));
                self.run(
                    "failure_delete",
                    &st.delete_failure,
                    (&tenant_id, end_bucket, end, &trace_id, &ce_id),
                )
                .await?;
            }
        }
        self.run(
            "expiry_delete",
            &st.delete_event_expiry,
            (entry.bucket, expires_at, &tenant_id, &trace_id, &ce_id),
        )
        .await?;
        Ok(due)
    }

    /// Runs `expire` over one kind's due buckets; `per_bucket` handles one
    /// bucket and returns how many rows it removed.
    pub(crate) async fn expire_kind<'a, F>(
        &'a self,
        kind: &'static str,
        now: u64,
        per_bucket: F,
    ) -> Result<u64, StoreError>
    where
        F: Fn(i64) -> BoxFuture<'a, Result<u64, StoreError>>,
    {
        let st = &self.inner.statements;
        let buckets: Vec<(i64,)> = self
            .rows("expiry_buckets", &st.expiry_buckets, (kind, self.bucket(now)))
            .await?;
        let width = big(self.inner.config.bucket_ns().max(1));
        let mut removed = 0;
        for (bucket,) in buckets {
            removed += per_bucket(bucket).await?;
            // A bucket wholly in the past is done; its marker goes too.
            let end = bucket.saturating_add(1).saturating_mul(width).saturating_sub(1);
            if end <= big(now) {
                self.run("expiry_bucket_delete", &st.delete_expiry_bucket, (kind, bucket))
                    .await?;
            }
        }
        Ok(removed)
    }
}

/// The values of one `events_by_trace` insert.
type TraceRow<'a> = (&'a str, Vec<u8>, Vec<u8>, &'a str, i64, i64, Vec<u8>, i32);

type ExpiryColumns = (i64, String, Vec<u8>, Vec<u8>, String, i64, Option<i64>);

struct ExpiryRow {
    bucket: i64,
    row: ExpiryColumns,
}

#[async_trait]
impl WindowStore for ScyllaStore {
    async fn put_events(&self, events: &[CausalEvent], expires_at_unix_ns: u64) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let st = &self.inner.statements;
        let ttl = self.ttl(expires_at_unix_ns);
        let expires_at = big(expires_at_unix_ns);
        let expiry_bucket = self.bucket(expires_at_unix_ns);
        let mut writes: Vec<BoxFuture<'_, Result<(), StoreError>>> = Vec::with_capacity(events.len() * 4 + 4);
        let mut directory: HashSet<(String, String, i64)> = HashSet::new();
        writes.push(
            self.run(
                "expiry_bucket_put",
                &st.put_expiry_bucket,
                (EVENTS_KIND, expiry_bucket, ttl),
            )
            .map(|result| result.map(drop))
            .boxed(),
        );
        // The trace rows of one trace share a partition: one unlogged batch
        // each (a batch never spans partitions).
        let mut by_trace: BTreeMap<(&str, TraceId), Vec<TraceRow<'_>>> = BTreeMap::new();
        for event in events {
            by_trace
                .entry((event.tenant_id.as_str(), event.trace_id))
                .or_default()
                .push((
                    event.tenant_id.as_str(),
                    event.trace_id.as_bytes().to_vec(),
                    event.ce_id.as_bytes().to_vec(),
                    event.service.as_str(),
                    big(event.start_unix_ns),
                    expires_at,
                    encode_event(event),
                    ttl,
                ));
        }
        for rows in by_trace.into_values() {
            let mut batch = Batch::new(BatchType::Unlogged);
            for _ in &rows {
                batch.append_statement(st.put_trace.clone());
            }
            batch.set_is_idempotent(true);
            writes.push(async move { self.run_batch("event_put_trace", &batch, rows).await }.boxed());
        }
        for event in events {
            let body = encode_event(event);
            let trace = event.trace_id.as_bytes().to_vec();
            let ce = event.ce_id.as_bytes().to_vec();
            let start = big(event.start_unix_ns);
            let bucket = self.bucket(event.start_unix_ns);
            directory.insert((event.tenant_id.clone(), EVENTS_KIND.to_owned(), bucket));
            directory.insert((event.tenant_id.clone(), service_kind(&event.service), bucket));
            let tenant = event.tenant_id.as_str();
            let service = event.service.as_str();
            let failure_end = event.is_non_success().then(|| big(event.end_unix_ns()));
            writes.push(
                self.run(
                    "event_put",
                    &st.put_time,
                    (
                        tenant,
                        bucket,
                        start,
                        ce.clone(),
                        trace.clone(),
                        service,
                        event.is_non_success(),
                        big(event.end_unix_ns()),
                        body,
                        ttl,
                    ),
                )
                .map(|result| result.map(drop))
                .boxed(),
            );
            writes.push(
                self.run(
                    "event_put",
                    &st.put_service,
                    (tenant, service, bucket, start, trace.clone(), ce.clone(), ttl),
                )
                .map(|result| result.map(drop))
                .boxed(),
            );
            writes.extend(self.put_peer_call(event, ttl, &mut directory));
            writes.push(
                self.run(
                    "expiry_put",
                    &st.put_event_expiry,
                    (
                        expiry_bucket,
                        expires_at,
                        tenant,
                        trace.clone(),
                        ce.clone(),
                        service,
                        start,
                        failure_end,
                        ttl,
                    ),
                )
                .map(|result| result.map(drop))
                .boxed(),
            );
            if let Some(end) = failure_end {
                let end_bucket = self.bucket(event.end_unix_ns());
                directory.insert((event.tenant_id.clone(), FAILURES_KIND.to_owned(), end_bucket));
                writes.push(
                    self.run(
                        "failure_put",
                        &st.put_failure,
                        (tenant, end_bucket, end, trace, ce, service, start, ttl),
                    )
                    .map(|result| result.map(drop))
                    .boxed(),
                );
            }
        }
        for (tenant, kind, bucket) in directory {
            writes.push(
                async move {
                    self.run("time_bucket_put", &st.put_time_bucket, (tenant, kind, bucket, ttl))
                        .await
                        .map(drop)
                }
                .boxed(),
            );
        }
        futures::future::try_join_all(writes).await?;
        Ok(())
    }

    async fn trace_events(
        &self,
        tenant_id: &str,
        trace_id: TraceId,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let rows: Vec<(Vec<u8>,)> = self
            .rows(
                "trace_events",
                &self.inner.statements.trace_events,
                (tenant_id, trace_id.as_bytes().to_vec(), limit),
            )
            .await?;
        rows.iter().map(|(body,)| decode_event(body)).collect()
    }

    async fn service_traces(
        &self,
        tenant_id: &str,
        service: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        if from_unix_ns > to_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        let mut traces = BTreeSet::new();
        for bucket in self
            .buckets(tenant_id, &service_kind(service), from_unix_ns, to_unix_ns)
            .await?
        {
            let rows: Vec<(Vec<u8>,)> = self
                .rows(
                    "service_traces",
                    &self.inner.statements.service_slice,
                    (tenant_id, service, bucket, big(from_unix_ns), big(to_unix_ns)),
                )
                .await?;
            for (trace,) in rows {
                traces.insert(TraceId::from_bytes(&trace).map_err(|err| corrupt("trace id", err))?);
            }
        }
        Ok(traces.into_iter().take(limit).collect())
    }

    async fn window_events(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        if from_unix_ns > to_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        // Newest bucket first, each read newest first: the cut keeps the
        // events nearest the end of the range (the alert).
        let mut out = Vec::new();
        for bucket in self
            .buckets(tenant_id, EVENTS_KIND, from_unix_ns, to_unix_ns)
            .await?
            .into_iter()
            .rev()
        {
            let left = i32::try_from(limit - out.len()).unwrap_or(i32::MAX);
            let rows: Vec<(Vec<u8>,)> = self
                .rows(
                    "window_events",
                    &self.inner.statements.window_slice,
                    (tenant_id, bucket, big(from_unix_ns), big(to_unix_ns), left),
                )
                .await?;
            for (body,) in rows {
                out.push(decode_event(&body)?);
            }
            if out.len() >= limit {
                out.truncate(limit);
                break;
            }
        }
        out.reverse();
        Ok(out)
    }

    async fn failures(
        &self,
        tenant_id: &str,
        from_end_unix_ns: u64,
        to_end_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<FailureRef>, StoreError> {
        self.failure_refs(tenant_id, from_end_unix_ns, to_end_unix_ns, limit)
            .await
    }

    async fn service_activity(
        &self,
        tenant_id: &str,
        from_second: u64,
        to_second: u64,
    ) -> Result<Vec<ServiceActivity>, StoreError> {
        self.activity(tenant_id, from_second, to_second).await
    }

    async fn put_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        self.write_progress(topic, progress).await
    }

    async fn progress(&self, topic: &str) -> Result<Vec<PartitionProgress>, StoreError> {
        self.read_progress(topic).await
    }

    async fn peer_calls(
        &self,
        tenant_id: &str,
        peer: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<PeerCall>, StoreError> {
        self.read_peer_calls(tenant_id, peer, from_unix_ns, to_unix_ns, limit)
            .await
    }

    async fn put_notice(&self, notice: &ServiceNotice, expires_at_unix_ns: u64) -> Result<(), StoreError> {
        let st = &self.inner.statements;
        let json = serde_json::to_string(notice).map_err(|err| StoreError::Fatal(format!("notice: {err}")))?;
        let ttl = self.ttl(expires_at_unix_ns);
        let tenant = notice.tenant_id.as_str();
        let received = big(notice.received_at_unix_ns);
        let bucket = self.bucket(notice.received_at_unix_ns);
        let expiry_bucket = self.bucket(expires_at_unix_ns);
        let hash = notice_hash(notice);
        futures::future::try_join4(
            self.run(
                "notice_put",
                &st.put_notice,
                (tenant, bucket, received, hash, json, ttl),
            ),
            self.run(
                "time_bucket_put",
                &st.put_time_bucket,
                (tenant, NOTICES_KIND, bucket, ttl),
            ),
            self.run(
                "expiry_put",
                &st.put_notice_expiry,
                (expiry_bucket, big(expires_at_unix_ns), tenant, received, hash, ttl),
            ),
            self.run(
                "expiry_bucket_put",
                &st.put_expiry_bucket,
                (NOTICES_KIND, expiry_bucket, ttl),
            ),
        )
        .await?;
        Ok(())
    }

    async fn notices(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
    ) -> Result<Vec<ServiceNotice>, StoreError> {
        if from_unix_ns > to_unix_ns {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for bucket in self.buckets(tenant_id, NOTICES_KIND, from_unix_ns, to_unix_ns).await? {
            let rows: Vec<(String,)> = self
                .rows(
                    "notices",
                    &self.inner.statements.notice_slice,
                    (tenant_id, bucket, big(from_unix_ns), big(to_unix_ns)),
                )
                .await?;
            for (json,) in rows {
                out.push(serde_json::from_str(&json).map_err(|err| corrupt("notice", err))?);
            }
        }
        Ok(out)
    }

    async fn expire(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        let st = &self.inner.statements;
        let now = big(now_unix_ns);
        let removed = self
            .expire_kind(EVENTS_KIND, now_unix_ns, |bucket| {
                async move {
                    let rows: Vec<ExpiryColumns> = self.rows("expiry_due", &st.event_expiry_due, (bucket, now)).await?;
                    let removed: Vec<bool> = futures::stream::iter(rows)
                        .map(|row| self.expire_event(ExpiryRow { bucket, row }))
                        .buffer_unordered(EXPIRE_CONCURRENCY)
                        .try_collect()
                        .await?;
                    Ok(removed.into_iter().filter(|due| *due).count() as u64)
                }
                .boxed()
            })
            .await?;
        self.expire_kind(NOTICES_KIND, now_unix_ns, |bucket| {
            async move {
                let rows: Vec<(i64, String, i64, i64)> =
                    self.rows("expiry_due", &st.notice_expiry_due, (bucket, now)).await?;
                for (expires_at, tenant, received, hash) in rows {
                    let notice_bucket =
                        big(u64::try_from(received).unwrap_or(0) / self.inner.config.bucket_ns().max(1));
                    self.run(
                        "notice_delete",
                        &st.delete_notice,
                        (&tenant, notice_bucket, received, hash),
                    )
                    .await?;
                    self.run(
                        "expiry_delete",
                        &st.delete_notice_expiry,
                        (bucket, expires_at, &tenant, received, hash),
                    )
                    .await?;
                }
                Ok(0)
            }
            .boxed()
        })
        .await?;
        Ok(removed)
    }

    async fn ready(&self) -> bool {
        self.probe().await
    }
}
