//! Freezing a server `scripts/test.sh` started (the Kafka broker or the CQL
//! node) to stage an outage: SIGSTOP keeps its data and its port while its
//! connections hang, the harder case for a client than a refused connect.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pid of the server recorded in `target/<record>` (a directory holding
/// `pid` and, in `address_file`, the address it serves), if that address is
/// `address`: a server started some other way is not touched.
pub fn recorded_pid(record: &str, address_file: &str, address: &str) -> Option<u32> {
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target").join(record);
    let dir = PathBuf::from(std::fs::read_to_string(record).ok()?.trim());
    let served = std::fs::read_to_string(dir.join(address_file)).ok()?;
    if served.trim() != address {
        return None;
    }
    std::fs::read_to_string(dir.join("pid")).ok()?.trim().parse().ok()
}

/// Like [`recorded_pid`], but a server that cannot be found fails in CI and
/// is a loud skip elsewhere.
pub fn recorded_pid_or_skip(test: &str, record: &str, address_file: &str, address: &str) -> Option<u32> {
    let pid = recorded_pid(record, address_file, address);
    if pid.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: {address} is not the server scripts/test.sh recorded in target/{record}");
        }
        eprintln!("SKIPPED: {test}: {address} was not started by the project's scripts (target/{record})");
    }
    pid
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// A server frozen until dropped: a failing assertion still thaws it for
/// the tests that run after.
pub struct Frozen(u32);

impl Frozen {
    pub fn freeze(pid: u32) -> Frozen {
        signal(pid, "STOP");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}
