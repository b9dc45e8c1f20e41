//! The measurement behind the embedded store's engine: fjall (LSM) against
//! redb (copy-on-write B-tree) on the window workload — durable batches of
//! 1,000 events of ~200 bytes with three index entries each, range reads by
//! (tenant, time) and (tenant, trace), and expiry through an expiry index.
//!
//! Run: `cargo bench -p causeway-store --bench engine_choice`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const BATCH: usize = 1_000;
const VALUE_LEN: usize = 200;
const TENANTS: u64 = 10;
const EVENTS_PER_TRACE: u64 = 20;

/// One synthetic event's keys: the primary key and its three index keys.
struct EventKeys {
    primary: Vec<u8>,
    by_time: Vec<u8>,
    by_trace: Vec<u8>,
    by_expiry: Vec<u8>,
}

fn event_keys(seq: u64, expires_at: u64) -> EventKeys {
    let tenant = format!("tenant-{}", seq % TENANTS);
    let ce_id = seq.to_be_bytes();
    let trace = (seq / EVENTS_PER_TRACE).to_be_bytes();
    let start = (1_000_000 + seq).to_be_bytes();
    let join = |parts: &[&[u8]]| parts.concat();
    EventKeys {
        primary: join(&[tenant.as_bytes(), &[0], &ce_id]),
        by_time: join(&[tenant.as_bytes(), &[0], &start, &ce_id]),
        by_trace: join(&[tenant.as_bytes(), &[0], &trace, &ce_id]),
        by_expiry: join(&[&expires_at.to_be_bytes(), tenant.as_bytes(), &[0], &ce_id]),
    }
}

trait Engine {
    fn write_batch(&self, first_seq: u64, expires_at: u64);
    fn range_time(&self, tenant: u64, from_seq: u64, count: u64) -> usize;
    fn range_trace(&self, tenant: u64, trace: u64) -> usize;
    /// Removes every event whose expiry is at or before `now`; returns how many.
    fn expire(&self, now: u64) -> usize;
}

mod fjall_engine {
    use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

    use super::*;

    pub struct FjallEngine {
        db: Database,
        events: Keyspace,
        by_time: Keyspace,
        by_trace: Keyspace,
        by_expiry: Keyspace,
    }

    impl FjallEngine {
        pub fn open(dir: &std::path::Path) -> Self {
            let db = Database::builder(dir).open().expect("open fjall");
            let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default).expect("keyspace");
            Self {
                events: ks("events"),
                by_time: ks("by_time"),
                by_trace: ks("by_trace"),
                by_expiry: ks("by_expiry"),
                db,
            }
        }
    }

    impl Engine for FjallEngine {
        fn write_batch(&self, first_seq: u64, expires_at: u64) {
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            let value = vec![7u8; VALUE_LEN];
            for seq in first_seq..first_seq + BATCH as u64 {
                let keys = event_keys(seq, expires_at);
                batch.insert(&self.events, keys.primary, value.as_slice());
                batch.insert(&self.by_time, keys.by_time, b"".as_slice());
                batch.insert(&self.by_trace, keys.by_trace, b"".as_slice());
                batch.insert(&self.by_expiry, keys.by_expiry, b"".as_slice());
            }
            batch.commit().expect("commit");
        }

        fn range_time(&self, tenant: u64, from_seq: u64, count: u64) -> usize {
            let from = event_keys(from_seq * TENANTS + tenant, 0).by_time;
            let to = event_keys((from_seq + count) * TENANTS + tenant, 0).by_time;
            let mut read = 0;
            for guard in self.by_time.range(from..to) {
                let key = guard.key().expect("key");
                let (prefix, ce_id) = key.split_at(key.len() - 8);
                let primary = [&prefix[..prefix.len() - 8], ce_id].concat();
                read += usize::from(self.events.get(primary).expect("get").is_some());
            }
            read
        }

        fn range_trace(&self, tenant: u64, trace: u64) -> usize {
            let prefix = [format!("tenant-{tenant}").as_bytes(), &[0], &trace.to_be_bytes()].concat();
            let mut read = 0;
            for guard in self.by_trace.prefix(&prefix) {
                let key = guard.key().expect("key");
                let ce_id = &key[key.len() - 8..];
                let primary = [&prefix[..prefix.len() - 8], ce_id].concat();
                read += usize::from(self.events.get(primary).expect("get").is_some());
            }
            read
        }

        fn expire(&self, now: u64) -> usize {
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            let mut removed = 0;
            for guard in self.by_expiry.range(..(now + 1).to_be_bytes().to_vec()) {
                let key = guard.key().expect("key");
                let primary = key[8..].to_vec();
                batch.remove(&self.by_expiry, key.clone());
                batch.remove(&self.events, primary);
                removed += 1;
            }
            batch.commit().expect("commit");
            removed
        }
    }
}

mod redb_engine {
    use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

    use super::*;

    const EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("events");
    const BY_TIME: TableDefinition<&[u8], ()> = TableDefinition::new("by_time");
    const BY_TRACE: TableDefinition<&[u8], ()> = TableDefinition::new("by_trace");
    const BY_EXPIRY: TableDefinition<&[u8], ()> = TableDefinition::new("by_expiry");

    pub struct RedbEngine {
        db: Database,
    }

    impl RedbEngine {
        pub fn open(dir: &std::path::Path) -> Self {
            let db = Database::create(dir.join("window.redb")).expect("open redb");
            let txn = db.begin_write().expect("txn");
            for table in [BY_TIME, BY_TRACE, BY_EXPIRY] {
                txn.open_table(table).expect("table");
            }
            txn.open_table(EVENTS).expect("table");
            txn.commit().expect("commit");
            Self { db }
        }
    }

    impl Engine for RedbEngine {
        fn write_batch(&self, first_seq: u64, expires_at: u64) {
            let txn = self.db.begin_write().expect("txn");
            {
                let mut events = txn.open_table(EVENTS).expect("table");
                let mut by_time = txn.open_table(BY_TIME).expect("table");
                let mut by_trace = txn.open_table(BY_TRACE).expect("table");
                let mut by_expiry = txn.open_table(BY_EXPIRY).expect("table");
                let value = vec![7u8; VALUE_LEN];
                for seq in first_seq..first_seq + BATCH as u64 {
                    let keys = event_keys(seq, expires_at);
                    events
                        .insert(keys.primary.as_slice(), value.as_slice())
                        .expect("insert");
                    by_time.insert(keys.by_time.as_slice(), ()).expect("insert");
                    by_trace.insert(keys.by_trace.as_slice(), ()).expect("insert");
                    by_expiry.insert(keys.by_expiry.as_slice(), ()).expect("insert");
                }
            }
            txn.commit().expect("commit");
        }

        fn range_time(&self, tenant: u64, from_seq: u64, count: u64) -> usize {
            let txn = self.db.begin_read().expect("txn");
            let events = txn.open_table(EVENTS).expect("table");
            let by_time = txn.open_table(BY_TIME).expect("table");
            let from = event_keys(from_seq * TENANTS + tenant, 0).by_time;
            let to = event_keys((from_seq + count) * TENANTS + tenant, 0).by_time;
            let mut read = 0;
            for entry in by_time.range(from.as_slice()..to.as_slice()).expect("range") {
                let (key, ()) = entry.map(|(k, v)| (k, v.value())).expect("entry");
                let key = key.value();
                let (prefix, ce_id) = key.split_at(key.len() - 8);
                let primary = [&prefix[..prefix.len() - 8], ce_id].concat();
                read += usize::from(events.get(primary.as_slice()).expect("get").is_some());
            }
            read
        }

        fn range_trace(&self, tenant: u64, trace: u64) -> usize {
            let txn = self.db.begin_read().expect("txn");
            let events = txn.open_table(EVENTS).expect("table");
            let by_trace = txn.open_table(BY_TRACE).expect("table");
            let prefix = [format!("tenant-{tenant}").as_bytes(), &[0], &trace.to_be_bytes()].concat();
            let end = [prefix.as_slice(), &[0xff; 9]].concat();
            let mut read = 0;
            for entry in by_trace.range(prefix.as_slice()..end.as_slice()).expect("range") {
                let (key, _) = entry.expect("entry");
                let key = key.value();
                let ce_id = &key[key.len() - 8..];
                let primary = [&prefix[..prefix.len() - 8], ce_id].concat();
                read += usize::from(events.get(primary.as_slice()).expect("get").is_some());
            }
            read
        }

        fn expire(&self, now: u64) -> usize {
            let txn = self.db.begin_write().expect("txn");
            let removed;
            {
                let mut events = txn.open_table(EVENTS).expect("table");
                let mut by_expiry = txn.open_table(BY_EXPIRY).expect("table");
                let end = (now + 1).to_be_bytes();
                let keys: Vec<Vec<u8>> = by_expiry
                    .range(..end.as_slice())
                    .expect("range")
                    .map(|entry| entry.expect("entry").0.value().to_vec())
                    .collect();
                for key in &keys {
                    by_expiry.remove(key.as_slice()).expect("remove");
                    events.remove(&key[8..]).expect("remove");
                }
                removed = keys.len();
            }
            txn.commit().expect("commit");
            removed
        }
    }
}

fn bench_engine(c: &mut Criterion, name: &str, engine: &dyn Engine) {
    // A standing window of 50,000 events (never expiring) to read from.
    const STANDING: u64 = 50_000;
    for first in (0..STANDING).step_by(BATCH) {
        engine.write_batch(first, u64::MAX);
    }
    let mut next_seq = STANDING;
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("write_1000_durable", |b| {
        b.iter(|| {
            // Expiry 1 so the expire bench below drops these too.
            engine.write_batch(next_seq, 1);
            next_seq += BATCH as u64;
        })
    });
    group.bench_function("range_by_time_500", |b| {
        b.iter(|| assert_eq!(black_box(engine.range_time(3, 1_000, 500)), 500))
    });
    group.bench_function("range_by_trace_20", |b| {
        b.iter(|| assert_eq!(black_box(engine.range_trace(0, 17)), 2))
    });
    let mut expiry = 2;
    group.bench_function("expire_1000", |b| {
        b.iter_batched(
            || {
                expiry += 1;
                engine.write_batch(next_seq, expiry);
                next_seq += BATCH as u64;
                expiry
            },
            |now| assert!(engine.expire(now) >= BATCH),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn engines(c: &mut Criterion) {
    let fjall_dir = tempfile::tempdir().expect("tempdir");
    bench_engine(c, "fjall", &fjall_engine::FjallEngine::open(fjall_dir.path()));
    let redb_dir = tempfile::tempdir().expect("tempdir");
    bench_engine(c, "redb", &redb_engine::RedbEngine::open(redb_dir.path()));
}

criterion_group!(benches, engines);
criterion_main!(benches);
