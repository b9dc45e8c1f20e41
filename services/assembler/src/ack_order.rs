//! Acknowledging alerts assembled out of order. A consumer's `ack` marks a
//! record *and everything before it* in its partition as processed, so with
//! alerts assembled concurrently an alert may be acknowledged only once
//! every earlier alert of its partition has finished.

use std::collections::{BTreeMap, HashMap};

use causeway_bus::Delivery;

/// Per partition, the offsets in hand: `None` while in flight, `Some(ack)`
/// once finished (`false`: finished without being processed, e.g. given
/// up at shutdown; nothing at or after it may be acknowledged).
#[derive(Debug, Default)]
pub struct AckOrder {
    partitions: HashMap<u32, BTreeMap<u64, Option<(bool, Delivery)>>>,
}

impl AckOrder {
    pub fn start(&mut self, delivery: &Delivery) {
        self.partitions
            .entry(delivery.partition)
            .or_default()
            .insert(delivery.offset, None);
    }

    /// Marks `delivery` finished; returns the delivery to acknowledge now
    /// (the last of the finished run at the front of its partition), if any.
    pub fn finish(&mut self, delivery: &Delivery, processed: bool) -> Option<Delivery> {
        let pending = self.partitions.get_mut(&delivery.partition)?;
        pending.insert(delivery.offset, Some((processed, delivery.clone())));
        let mut to_ack = None;
        while let Some(entry) = pending.first_entry() {
            match entry.get() {
                Some((true, _)) => {
                    if let Some((_, done)) = entry.remove() {
                        to_ack = Some(done);
                    }
                }
                _ => break,
            }
        }
        to_ack
    }

    /// How many alerts are started and not yet acknowledgeable.
    #[cfg(test)]
    pub fn in_hand(&self) -> usize {
        self.partitions.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use causeway_bus::Record;

    use super::*;

    fn at(partition: u32, offset: u64) -> Delivery {
        Delivery {
            topic: "t".into(),
            partition,
            offset,
            record: Record::new(Vec::new(), Vec::new()),
        }
    }

    #[test]
    fn acknowledges_only_the_finished_prefix() {
        let mut order = AckOrder::default();
        for offset in 0..3 {
            order.start(&at(0, offset));
        }
        order.start(&at(1, 7));
        assert_eq!(order.finish(&at(0, 1), true), None, "0 is still in flight");
        assert_eq!(
            order.finish(&at(1, 7), true).map(|d| d.offset),
            Some(7),
            "partitions are apart"
        );
        assert_eq!(
            order.finish(&at(0, 0), true).map(|d| d.offset),
            Some(1),
            "0 and 1 together"
        );
        assert_eq!(order.in_hand(), 1);
        assert_eq!(order.finish(&at(0, 2), true).map(|d| d.offset), Some(2));
        assert_eq!(order.in_hand(), 0);
    }

    #[test]
    fn an_unprocessed_alert_holds_back_the_rest() {
        let mut order = AckOrder::default();
        order.start(&at(0, 0));
        order.start(&at(0, 1));
        assert_eq!(order.finish(&at(0, 0), false), None);
        assert_eq!(
            order.finish(&at(0, 1), true),
            None,
            "redelivered after a restart with 0"
        );
    }
}
