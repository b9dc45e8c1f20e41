//! The bus traits and their data types: the contract every implementation
//! (embedded, Kafka) keeps.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use smallvec::SmallVec;

/// Topic names, built from a configurable prefix (default `causeway`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub ce: String,
    pub alerts: String,
    pub artifacts: String,
    pub dead_letter: String,
}

impl Topics {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            ce: format!("{prefix}.ce"),
            alerts: format!("{prefix}.alerts"),
            artifacts: format!("{prefix}.artifacts"),
            dead_letter: format!("{prefix}.dead-letter"),
        }
    }

    pub fn all(&self) -> [&str; 4] {
        [&self.ce, &self.alerts, &self.artifacts, &self.dead_letter]
    }
}

/// A record's headers, names and values (see [`Record::headers`]).
pub type Headers = SmallVec<[(Cow<'static, str>, Cow<'static, [u8]>); 2]>;

/// A record to publish. Records with the same key land in the same
/// partition, in publish order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Key and value are shared bytes: a reader slices them out of the
    /// block it read, and a writer out of one buffer per request, rather
    /// than each record owning two allocations of its own.
    pub key: Bytes,
    pub value: Bytes,
    /// Names and values; the usual ones (the `headers` constants) are
    /// borrowed, and the two every event record carries are held inline,
    /// so setting or reading them allocates nothing: millions of records
    /// pass a second.
    pub headers: Headers,
}

impl Record {
    /// A record of owned bytes (moved, not copied, when they are a `Vec`).
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self::from_bytes(Bytes::from(key.into()), Bytes::from(value.into()))
    }

    /// A record of shared bytes, typically slices of one larger buffer.
    pub fn from_bytes(key: Bytes, value: Bytes) -> Self {
        Self {
            key,
            value,
            headers: Headers::new(),
        }
    }

    pub fn with_header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, [u8]>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header read from the wire: a known name or value is borrowed
    /// from the `headers` constants rather than copied.
    pub fn push_read_header(&mut self, name: &[u8], value: &[u8]) {
        let name = headers::known_name(name)
            .map_or_else(|| Cow::Owned(String::from_utf8_lossy(name).into_owned()), Cow::Borrowed);
        let value = headers::known_value(value).map_or_else(|| Cow::Owned(value.to_vec()), Cow::Borrowed);
        self.headers.push((name, value));
    }

    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_ref())
    }
}

/// A consumed record and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Shared by every delivery of a poll: a clone is a count, not a copy.
    pub topic: Arc<str>,
    pub partition: u32,
    pub offset: u64,
    pub record: Record,
}

impl Delivery {
    /// The record as it goes to the dead-letter topic: unchanged, plus why
    /// it was refused and where it came from (`topic/partition/offset`).
    pub fn to_dead_letter(&self, reason: &str) -> Record {
        let origin = format!("{}/{}/{}", self.topic, self.partition, self.offset);
        self.record
            .clone()
            .with_header(headers::DEAD_LETTER_REASON, reason.as_bytes().to_vec())
            .with_header(headers::DEAD_LETTER_ORIGIN, origin.into_bytes())
    }
}

/// How a topic is created when missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub replication: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Backpressure: the bus cannot take more now. Retryable; callers answer
    /// 503 / `UNAVAILABLE` with Retry-After.
    #[error("bus is full, retry after {retry_after:?}")]
    Full { retry_after: Duration },
    /// The bus cannot be reached now. Retryable.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// The topic does not exist.
    #[error("unknown topic {0}")]
    UnknownTopic(String),
    /// Not retryable: misconfiguration, corruption, a fatal broker error.
    #[error("bus failure: {0}")]
    Fatal(String),
}

impl BusError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, BusError::Full { .. } | BusError::Unavailable(_))
    }
}

/// Publishes records and opens consumers.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Creates the topics that do not exist yet.
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), BusError>;

    /// Publishes records to one topic. Returns only when every record is
    /// durably accepted (acks=all on Kafka, fsync'd on the embedded bus); on
    /// error, the caller must treat the whole call as not accepted (records
    /// may still appear: delivery is at least once, consumers de-duplicate).
    async fn publish(&self, topic: &str, records: Vec<Record>) -> Result<(), BusError>;

    /// Joins consumer group `group` on `topic`. Consumption starts at the
    /// group's committed position, or at the beginning for a new group.
    async fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Consumer>, BusError>;

    /// Per partition of `topic`, ordered by partition, the offset the next
    /// record will get (Kafka's high watermark): every record whose publish
    /// returned before this call is below it. The assembler compares it with
    /// the windower's progress to know when the window has caught up.
    async fn end_offsets(&self, topic: &str) -> Result<Vec<PartitionEnd>, BusError>;

    /// Whether the bus is reachable now (for `/ready`).
    async fn ready(&self) -> bool;
}

/// Where one partition ends (see [`Bus::end_offsets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionEnd {
    pub partition: u32,
    pub end_offset: u64,
}

/// One group member's view of a topic.
#[async_trait]
pub trait Consumer: Send + 'static {
    /// Up to `max` records, waiting at most `wait` for the first one; an
    /// empty vector when none arrived. Records of one partition come in
    /// offset order. Unacknowledged records are delivered again after a
    /// restart or a rebalance.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;

    /// Marks `delivery` and everything before it in its partition as
    /// processed. Implementations may commit lazily; `commit` forces it.
    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError>;

    /// Commits acknowledged positions now (on shutdown and rebalance).
    async fn commit(&mut self) -> Result<(), BusError>;

    /// Records published but not yet acknowledged by this group, summed over
    /// the partitions this member holds (exported as consumer lag).
    async fn lag(&mut self) -> Result<u64, BusError>;
}

/// Record headers every producer sets, so consumers route and version records
/// without decoding them first.
pub mod headers {
    /// What the record holds; one of the `TYPE_*` values.
    pub const RECORD_TYPE: &str = "causeway-type";
    /// On dead letters: why the record was refused.
    pub const DEAD_LETTER_REASON: &str = "causeway-dead-letter-reason";
    /// On dead letters: `topic/partition/offset` the record was consumed from.
    pub const DEAD_LETTER_ORIGIN: &str = "causeway-dead-letter-origin";
    /// The schema version of the value; consumers reject unknown majors.
    pub const SCHEMA_VERSION: &str = "causeway-schema";
    /// `causeway.v1.CeBatch` protobuf: the CEs of one (tenant, trace).
    pub const TYPE_CE_BATCH: &[u8] = b"ce-batch";
    /// JSON `ServiceNotice` (an SDK `pre_arm_start`/`pre_arm_end` notice).
    pub const TYPE_NOTICE: &[u8] = b"notice";
    /// `causeway.v1.Alert` protobuf.
    pub const TYPE_ALERT_PROTO: &[u8] = b"alert";
    /// Generic alert JSON (DESIGN §4), as outside producers write it.
    pub const TYPE_ALERT_JSON: &[u8] = b"alert-json";
    /// `causeway.v1.Artifact` protobuf.
    pub const TYPE_ARTIFACT: &[u8] = b"artifact";
    pub const SCHEMA_V1: &[u8] = b"1";

    const NAMES: [&str; 4] = [RECORD_TYPE, DEAD_LETTER_REASON, DEAD_LETTER_ORIGIN, SCHEMA_VERSION];
    const VALUES: [&[u8]; 6] = [
        TYPE_CE_BATCH,
        TYPE_NOTICE,
        TYPE_ALERT_PROTO,
        TYPE_ALERT_JSON,
        TYPE_ARTIFACT,
        SCHEMA_V1,
    ];

    /// The constant naming this header, if it is one of ours.
    pub fn known_name(name: &[u8]) -> Option<&'static str> {
        NAMES.into_iter().find(|known| known.as_bytes() == name)
    }

    /// The constant holding this value, if it is one of ours.
    pub fn known_value(value: &[u8]) -> Option<&'static [u8]> {
        VALUES.into_iter().find(|known| *known == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading a record's headers copies none of ours, and what is read
    /// equals what was set, borrowed or not.
    #[test]
    fn headers_read_back_borrow_the_known_names_and_values() {
        let mut record = Record::new("k", "v");
        record.push_read_header(headers::RECORD_TYPE.as_bytes(), headers::TYPE_CE_BATCH);
        record.push_read_header(b"x-other", b"\xff");
        assert!(matches!(record.headers[0], (Cow::Borrowed(_), Cow::Borrowed(_))));
        assert!(matches!(record.headers[1], (Cow::Owned(_), Cow::Owned(_))));
        assert_eq!(record.header(headers::RECORD_TYPE), Some(headers::TYPE_CE_BATCH));
        assert_eq!(record.header("x-other"), Some(b"\xff".as_slice()));
        let set = Record::new("k", "v")
            .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
            .with_header("x-other".to_owned(), vec![0xff]);
        assert_eq!(record, set);
    }

    #[test]
    fn dead_letters_keep_the_record_and_say_why_and_whence() {
        let record =
            Record::new(b"k".to_vec(), b"v".to_vec()).with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH);
        let delivery = Delivery {
            topic: "causeway.ce".into(),
            partition: 3,
            offset: 42,
            record: record.clone(),
        };
        let letter = delivery.to_dead_letter("undecodable");
        assert_eq!((letter.key.as_ref(), letter.value.as_ref()), (&b"k"[..], &b"v"[..]));
        assert_eq!(letter.header(headers::RECORD_TYPE), Some(headers::TYPE_CE_BATCH));
        assert_eq!(letter.header(headers::DEAD_LETTER_REASON), Some(&b"undecodable"[..]));
        assert_eq!(
            letter.header(headers::DEAD_LETTER_ORIGIN),
            Some(&b"causeway.ce/3/42"[..])
        );
    }
}
