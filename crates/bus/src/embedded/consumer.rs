//! One member of a consumer group: reads the partitions the group assigns
//! it, tracks acknowledgements and commits them to the group.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use causeway_runtime::blocking::off_runtime;

use crate::api::{BusError, Consumer, Delivery};
use crate::embedded::group::Group;
use crate::embedded::topic::Topic;

/// Acknowledged positions are committed at least this often, while acking
/// and while idle.
const LAZY_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

pub struct EmbeddedConsumer {
    topic: Arc<Topic>,
    group: Arc<Group>,
    member: u64,
    generation: u64,
    assigned: Vec<u32>,
    /// Next offset to read, per held partition.
    next: HashMap<u32, u64>,
    /// Offset after the last acknowledged record, per partition.
    acked: HashMap<u32, u64>,
    last_commit: Instant,
    /// Partition to read first on the next poll, so none starves.
    rotate: usize,
}

impl EmbeddedConsumer {
    pub fn join(topic: Arc<Topic>, group: Arc<Group>, member: u64) -> Self {
        group.join(member);
        Self {
            topic,
            group,
            member,
            generation: u64::MAX,
            assigned: Vec::new(),
            next: HashMap::new(),
            acked: HashMap::new(),
            last_commit: Instant::now(),
            rotate: 0,
        }
    }

    /// Picks up a rebalance: hands lost partitions' acknowledgements to the
    /// group (durably) and starts gained partitions at the group's position.
    async fn refresh_assignment(&mut self) -> Result<(), BusError> {
        let (generation, partitions) = self.group.assignment(self.member);
        if generation == self.generation {
            return Ok(());
        }
        let lost: HashMap<u32, u64> = self
            .acked
            .iter()
            .filter(|(partition, _)| !partitions.contains(partition))
            .map(|(partition, offset)| (*partition, *offset))
            .collect();
        if self.group.record(&lost) {
            self.persist_group().await?;
        }
        self.acked.retain(|partition, _| partitions.contains(partition));
        self.next.retain(|partition, _| partitions.contains(partition));
        for partition in &partitions {
            let committed = self.group.committed(*partition);
            self.next.entry(*partition).or_insert(committed);
        }
        self.assigned = partitions;
        self.generation = generation;
        Ok(())
    }

    async fn persist_group(&mut self) -> Result<(), BusError> {
        let group = Arc::clone(&self.group);
        off_runtime(move || group.persist())
            .await
            .map_err(|err| BusError::Fatal(format!("commit task failed: {err}")))?
            .map_err(|err| BusError::Unavailable(format!("committing offsets: {err}")))?;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Reads what is durable now from the held partitions, up to `max`.
    async fn read_available(&mut self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let count = self.assigned.len();
        let mut plans = Vec::new();
        let mut budget = max;
        for step in 0..count {
            if budget == 0 {
                break;
            }
            let partition = self.assigned[(self.rotate + step) % count];
            let from = self.next.get(&partition).copied().unwrap_or(0);
            if let Some(plan) = self.topic.log(partition).plan_read(from, budget) {
                budget -= plan.count;
                plans.push((partition, plan));
            }
        }
        self.rotate = self.rotate.wrapping_add(1);
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let read = off_runtime(move || {
            plans
                .into_iter()
                .map(|(partition, plan)| plan.read().map(|records| (partition, records)))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .await
        .map_err(|err| BusError::Fatal(format!("read task failed: {err}")))?
        .map_err(|err| BusError::Fatal(format!("reading the bus log: {err}")))?;
        let mut deliveries = Vec::new();
        for (partition, records) in read {
            if let Some((last, _)) = records.last() {
                self.next.insert(partition, last + 1);
            }
            deliveries.extend(records.into_iter().map(|(offset, record)| Delivery {
                topic: self.topic.name.clone(),
                partition,
                offset,
                record,
            }));
        }
        Ok(deliveries)
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let deadline = tokio::time::Instant::now() + wait;
        let topic = Arc::clone(&self.topic);
        loop {
            // Registered before reading so an append in between still wakes us.
            let appended = topic.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            self.refresh_assignment().await?;
            let deliveries = self.read_available(max.max(1)).await?;
            if !deliveries.is_empty() {
                return Ok(deliveries);
            }
            // Idle: acknowledgements made since the last commit are not left
            // waiting for an ack that may never come (a crash would replay
            // them). Nothing new to record costs no write.
            if self.last_commit.elapsed() >= LAZY_COMMIT_INTERVAL {
                self.commit().await?;
            }
            // Wake at least every 100 ms to notice a rebalance.
            let nap = (tokio::time::Instant::now() + Duration::from_millis(100)).min(deadline);
            if tokio::time::timeout_at(nap, appended).await.is_err() && nap >= deadline {
                return Ok(Vec::new());
            }
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        if *delivery.topic != *self.topic.name {
            return Err(BusError::Fatal(format!(
                "ack for topic {} on a consumer of {}",
                delivery.topic, self.topic.name
            )));
        }
        let acked = self.acked.entry(delivery.partition).or_insert(0);
        *acked = (*acked).max(delivery.offset + 1);
        if self.last_commit.elapsed() >= LAZY_COMMIT_INTERVAL {
            self.commit().await?;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), BusError> {
        self.refresh_assignment().await?;
        if self.group.record(&self.acked) {
            self.persist_group().await?;
        }
        Ok(())
    }

    async fn lag(&mut self) -> Result<u64, BusError> {
        self.refresh_assignment().await?;
        let mut lag = 0;
        for partition in &self.assigned {
            let end = self.topic.log(*partition).end_offset();
            let acked = self.acked.get(partition).copied().unwrap_or(0);
            let position = acked.max(self.group.committed(*partition));
            lag += end.saturating_sub(position);
        }
        Ok(lag)
    }
}

impl Drop for EmbeddedConsumer {
    /// Leaving hands this member's partitions, and its acknowledged
    /// positions, to the remaining members. The positions become durable at
    /// the next commit of any member.
    fn drop(&mut self) {
        self.group.leave(self.member, &self.acked);
    }
}
