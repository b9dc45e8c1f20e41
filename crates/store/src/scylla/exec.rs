//! Running prepared statements: the in-flight bound, paging, error mapping
//! and the query latency metric.

use std::time::Instant;

use futures::TryStreamExt;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;

use super::ScyllaStore;
use crate::api::StoreError;

/// Query latency by statement (`op`, from a fixed set) and outcome.
pub const QUERY_DURATION: &str = "causeway_store_query_duration_seconds";
/// Failed statements by `op`.
pub const QUERY_ERRORS: &str = "causeway_store_query_errors_total";

/// The driver's own view, sampled every [`DRIVER_SAMPLE`].
pub const DRIVER_CONNECTIONS: &str = "causeway_store_driver_connections";
pub const DRIVER_RETRIES: &str = "causeway_store_driver_retries_total";
pub const DRIVER_REQUEST_TIMEOUTS: &str = "causeway_store_driver_request_timeouts_total";
pub const DRIVER_CONNECTION_TIMEOUTS: &str = "causeway_store_driver_connection_timeouts_total";
pub const DRIVER_LATENCY_P99: &str = "causeway_store_driver_latency_p99_seconds";
pub const DRIVER_SAMPLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Copies the driver's counters into the process's metrics until the
/// store is dropped.
pub(crate) fn spawn_driver_sampler(store: std::sync::Weak<super::Inner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DRIVER_SAMPLE);
        loop {
            tick.tick().await;
            let Some(inner) = store.upgrade() else { break };
            let driver = inner.session.get_metrics();
            metrics::gauge!(DRIVER_CONNECTIONS).set(driver.get_total_connections() as f64);
            metrics::counter!(DRIVER_RETRIES).absolute(driver.get_retries_num());
            metrics::counter!(DRIVER_REQUEST_TIMEOUTS).absolute(driver.get_request_timeouts());
            metrics::counter!(DRIVER_CONNECTION_TIMEOUTS).absolute(driver.get_connection_timeouts());
            if let Ok(p99_ms) = driver.get_latency_percentile_ms(99.0) {
                metrics::gauge!(DRIVER_LATENCY_P99).set(p99_ms as f64 / 1000.0);
            }
        }
    });
}

pub(crate) fn describe_metrics() {
    metrics::describe_gauge!(DRIVER_CONNECTIONS, "open connections of the scylla driver");
    metrics::describe_counter!(DRIVER_RETRIES, "statement retries by the scylla driver");
    metrics::describe_counter!(
        DRIVER_REQUEST_TIMEOUTS,
        "client-side request timeouts of the scylla driver"
    );
    metrics::describe_counter!(DRIVER_CONNECTION_TIMEOUTS, "connection timeouts of the scylla driver");
    metrics::describe_gauge!(
        DRIVER_LATENCY_P99,
        metrics::Unit::Seconds,
        "99th percentile request latency the scylla driver measured"
    );
    metrics::describe_histogram!(
        QUERY_DURATION,
        metrics::Unit::Seconds,
        "cql statement latency of the scylla store, by statement and outcome"
    );
    metrics::describe_counter!(
        QUERY_ERRORS,
        "cql statements of the scylla store that failed, by statement"
    );
}

fn record(op: &'static str, started: Instant, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!(QUERY_DURATION, "op" => op, "outcome" => outcome).record(started.elapsed().as_secs_f64());
    if !ok {
        metrics::counter!(QUERY_ERRORS, "op" => op).increment(1);
    }
}

/// Statement errors the database answers for a malformed or unauthorized
/// request do not heal by retrying; the rest (timeouts, unavailable
/// replicas, broken connections, overload) are retryable.
pub(crate) fn execution_error(op: &str, err: ExecutionError) -> StoreError {
    let fatal = matches!(
        &err,
        ExecutionError::BadQuery(_)
            | ExecutionError::LastAttemptError(RequestAttemptError::DbError(
                DbError::SyntaxError
                    | DbError::Invalid
                    | DbError::Unauthorized
                    | DbError::ConfigError
                    | DbError::AuthenticationError,
                _
            ))
    );
    if fatal {
        StoreError::Fatal(format!("cql {op}: {err}"))
    } else {
        StoreError::Unavailable(format!("cql {op}: {err}"))
    }
}

pub(crate) fn other_error(op: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("cql {op}: {err}"))
}

pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("corrupt stored {what}: {err}"))
}

impl ScyllaStore {
    /// Runs one statement unpaged (writes and single-row reads).
    pub(crate) async fn run(
        &self,
        op: &'static str,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<QueryResult, StoreError> {
        let _permit = self.inner.permits.acquire().await.map_err(|err| other_error(op, err))?;
        let started = Instant::now();
        let result = self.inner.session.execute_unpaged(statement, values).await;
        record(op, started, result.is_ok());
        result.map_err(|err| execution_error(op, err))
    }

    /// Runs an unlogged batch (statements of one partition only).
    pub(crate) async fn run_batch<V: scylla::serialize::batch::BatchValues>(
        &self,
        op: &'static str,
        batch: &Batch,
        values: V,
    ) -> Result<(), StoreError> {
        let _permit = self.inner.permits.acquire().await.map_err(|err| other_error(op, err))?;
        let started = Instant::now();
        let result = self.inner.session.batch(batch, values).await;
        record(op, started, result.is_ok());
        result.map(drop).map_err(|err| execution_error(op, err))
    }

    /// Every row a read returns, fetched page by page (a large trace is
    /// never one response).
    pub(crate) async fn rows<R>(
        &self,
        op: &'static str,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let _permit = self.inner.permits.acquire().await.map_err(|err| other_error(op, err))?;
        let started = Instant::now();
        let result = async {
            let pager = self
                .inner
                .session
                .execute_iter(statement.clone(), values)
                .await
                .map_err(|err| other_error(op, err))?;
            let stream = pager.rows_stream::<R>().map_err(|err| other_error(op, err))?;
            stream.try_collect::<Vec<R>>().await.map_err(|err| other_error(op, err))
        }
        .await;
        record(op, started, result.is_ok());
        result
    }

    /// The first row of an unpaged read, if any.
    pub(crate) async fn first_row<R>(
        &self,
        op: &'static str,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<Option<R>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let result = self.run(op, statement, values).await?;
        let rows = result.into_rows_result().map_err(|err| other_error(op, err))?;
        rows.maybe_first_row::<R>().map_err(|err| other_error(op, err))
    }

    /// Whether a lightweight transaction applied (its `[applied]` column).
    pub(crate) async fn applied(
        &self,
        op: &'static str,
        statement: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<bool, StoreError> {
        let result = self.run(op, statement, values).await?;
        let rows = result.into_rows_result().map_err(|err| other_error(op, err))?;
        let row = rows
            .maybe_first_row::<scylla::value::Row>()
            .map_err(|err| other_error(op, err))?;
        match row.as_ref().and_then(|row| row.columns.first()) {
            Some(Some(scylla::value::CqlValue::Boolean(applied))) => Ok(*applied),
            _ => Err(other_error(op, "a conditional statement answered no [applied] column")),
        }
    }
}

/// Times and counts as CQL bigints: values past `i64::MAX` (the "never"
/// of `u64::MAX`) clamp to it.
pub(crate) fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored bigint back to the API's unsigned form.
pub(crate) fn unbig(value: i64) -> u64 {
    if value == i64::MAX {
        u64::MAX
    } else {
        u64::try_from(value).unwrap_or(0)
    }
}
