//! The embedded bus: a durable append-only log per topic and partition in a
//! local directory, for `causeway standalone`. See docs/embedded-storage.md.

mod consumer;
mod frame;
mod group;
mod health;
mod log;
mod options;
mod topic;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use tokio::sync::{Semaphore, oneshot};

use crate::api::{Bus, BusError, Consumer, PartitionEnd, Record, TopicSpec};
use consumer::EmbeddedConsumer;
use health::{WriterHealth, WriterState};
pub use options::EmbeddedBusOptions;
use topic::Topic;
use writer::{AppendRequest, PartitionAppend, WriterRequest};

/// The bus over a local directory. Cheap to share: clone the `Arc`.
pub struct EmbeddedBus {
    shared: Arc<Shared>,
}

struct Shared {
    topics_dir: PathBuf,
    options: EmbeddedBusOptions,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    appends: std::sync::mpsc::Sender<WriterRequest>,
    /// The byte budget of records queued for the writer, one permit a byte.
    in_flight: Arc<Semaphore>,
    writer_health: Arc<WriterHealth>,
    next_member: AtomicU64,
}

/// The task name the writer thread's failures are counted under.
const WRITER_TASK: &str = "bus_writer";

fn io_fatal(context: &str, err: std::io::Error) -> BusError {
    BusError::Fatal(format!("{context}: {err}"))
}

/// Topic names become directory names: keep them to a safe alphabet.
fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
}

impl EmbeddedBus {
    /// Opens (or creates) the bus in `dir` with default options.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, BusError> {
        Self::open_with(dir, EmbeddedBusOptions::default()).await
    }

    /// Opens (or creates) the bus in `dir`, recovering every topic: torn
    /// tails left by a crash are truncated.
    pub async fn open_with(dir: impl AsRef<Path>, options: EmbeddedBusOptions) -> Result<Self, BusError> {
        let topics_dir = dir.as_ref().join("topics");
        let scan_dir = topics_dir.clone();
        let topics = tokio::task::spawn_blocking(move || load_topics(&scan_dir))
            .await
            .map_err(|err| BusError::Fatal(format!("bus open task failed: {err}")))??;
        let (appends, requests) = std::sync::mpsc::channel();
        let writer_health = Arc::new(WriterHealth::default());
        spawn_writer(requests, options.clone(), Arc::clone(&writer_health))?;
        let in_flight = Arc::new(Semaphore::new(options.max_in_flight_bytes.max(1) as usize));
        let shared = Shared {
            topics_dir,
            options,
            topics: RwLock::new(topics),
            appends,
            in_flight,
            writer_health,
            next_member: AtomicU64::new(1),
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>, BusError> {
        let topics = self.shared.topics.read().unwrap_or_else(PoisonError::into_inner);
        topics
            .get(name)
            .cloned()
            .ok_or_else(|| BusError::UnknownTopic(name.to_owned()))
    }
}

/// Starts the writer thread, supervised: a panic is logged and counted
/// (task `bus_writer`) and stops the writer for good (a half-done append is
/// not safe to resume), which `ready()` and every later publish report.
fn spawn_writer(
    requests: std::sync::mpsc::Receiver<WriterRequest>,
    options: EmbeddedBusOptions,
    health: Arc<WriterHealth>,
) -> Result<(), BusError> {
    std::thread::Builder::new()
        .name("causeway-bus-writer".into())
        .spawn(move || {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                writer::run(&requests, &options, &health);
            }));
            if let Err(payload) = ran {
                let message = format!("panicked: {}", causeway_runtime::supervise::panic_message(&*payload));
                health.stopped(message.clone());
                causeway_runtime::supervise::record_task_failure(WRITER_TASK, &message);
            }
        })
        .map(drop)
        .map_err(|err| io_fatal("starting the bus writer", err))
}

fn writer_stopped(health: &WriterHealth) -> BusError {
    match health.state() {
        WriterState::Stopped(reason) => BusError::Unavailable(format!("the bus writer stopped: {reason}")),
        _ => BusError::Unavailable("the bus writer stopped".into()),
    }
}

fn load_topics(topics_dir: &Path) -> Result<HashMap<String, Arc<Topic>>, BusError> {
    std::fs::create_dir_all(topics_dir).map_err(|err| io_fatal("creating the bus directory", err))?;
    let mut topics = HashMap::new();
    let entries = std::fs::read_dir(topics_dir).map_err(|err| io_fatal("reading the bus directory", err))?;
    for entry in entries {
        let path = entry.map_err(|err| io_fatal("reading the bus directory", err))?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
            continue;
        };
        if !path.join("partitions").exists() {
            continue;
        }
        let topic = Topic::open(&path, &name).map_err(|err| io_fatal(&format!("opening topic {name}"), err))?;
        topics.insert(name, Arc::new(topic));
    }
    Ok(topics)
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<(), BusError> {
        for spec in specs {
            if !valid_topic_name(&spec.name) {
                return Err(BusError::Fatal(format!(
                    "invalid topic name {:?}: use letters, digits, '.', '_' and '-'",
                    spec.name
                )));
            }
            if self.topic(&spec.name).is_ok() {
                continue;
            }
            let dir = self.shared.topics_dir.join(&spec.name);
            let (name, partitions) = (spec.name.clone(), spec.partitions.max(1));
            let topic = tokio::task::spawn_blocking(move || Topic::create(&dir, &name, partitions))
                .await
                .map_err(|err| BusError::Fatal(format!("topic creation task failed: {err}")))?
                .map_err(|err| io_fatal(&format!("creating topic {}", spec.name), err))?;
            let mut topics = self.shared.topics.write().unwrap_or_else(PoisonError::into_inner);
            topics.entry(spec.name.clone()).or_insert_with(|| Arc::new(topic));
        }
        Ok(())
    }

    async fn publish(&self, topic_name: &str, records: Vec<Record>) -> Result<(), BusError> {
        let topic = self.topic(topic_name)?;
        if records.is_empty() {
            return Ok(());
        }
        let mut appends: Vec<PartitionAppend> = Vec::new();
        for record in &records {
            let partition = topic.partition_for(&record.key);
            let index = match appends.iter().position(|append| append.partition == partition) {
                Some(index) => index,
                None => {
                    appends.push(PartitionAppend {
                        partition,
                        bytes: Vec::new(),
                        frame_lens: Vec::new(),
                    });
                    appends.len() - 1
                }
            };
            let append = &mut appends[index];
            let before = append.bytes.len();
            frame::encode(record, &mut append.bytes);
            append.frame_lens.push((append.bytes.len() - before) as u32);
        }
        let bytes: usize = appends.iter().map(|append| append.bytes.len()).sum();
        // A publish above the whole budget takes all of it: it goes alone.
        let wanted = bytes.clamp(1, self.shared.options.max_in_flight_bytes.max(1) as usize);
        let budget = Arc::clone(&self.shared.in_flight)
            .try_acquire_many_owned(u32::try_from(wanted).unwrap_or(u32::MAX))
            .map_err(|_| BusError::Full {
                retry_after: self.shared.options.retry_after,
            })?;
        let (reply, answer) = oneshot::channel();
        self.shared
            .appends
            .send(WriterRequest::Append(AppendRequest {
                topic,
                appends,
                reply,
                budget,
            }))
            .map_err(|_| writer_stopped(&self.shared.writer_health))?;
        answer.await.map_err(|_| writer_stopped(&self.shared.writer_health))?
    }

    async fn subscribe(&self, topic_name: &str, group_name: &str) -> Result<Box<dyn Consumer>, BusError> {
        let topic = self.topic(topic_name)?;
        let group = {
            let topic = Arc::clone(&topic);
            let name = group_name.to_owned();
            tokio::task::spawn_blocking(move || topic.group(&name))
                .await
                .map_err(|err| BusError::Fatal(format!("group load task failed: {err}")))?
                .map_err(|err| io_fatal("loading consumer group offsets", err))?
        };
        let member = self.shared.next_member.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(EmbeddedConsumer::join(topic, group, member)))
    }

    async fn end_offsets(&self, topic_name: &str) -> Result<Vec<PartitionEnd>, BusError> {
        let topic = self.topic(topic_name)?;
        Ok((0..topic.partition_count())
            .map(|partition| PartitionEnd {
                partition,
                end_offset: topic.log(partition).end_offset(),
            })
            .collect())
    }

    /// The directory is there and the writer serves: not stopped, and not
    /// failing (its last append failed) unless a probe now reopens and
    /// fsyncs every partition that failed.
    async fn ready(&self) -> bool {
        if !self.shared.topics_dir.is_dir() {
            return false;
        }
        match self.shared.writer_health.state() {
            WriterState::Serving => true,
            WriterState::Stopped(_) => false,
            WriterState::Failing(_) => {
                let (reply, answer) = oneshot::channel();
                if self.shared.appends.send(WriterRequest::Probe(reply)).is_err() {
                    return false;
                }
                answer.await.unwrap_or(false)
            }
        }
    }
}
