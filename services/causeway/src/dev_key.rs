//! The development tenant of `standalone`: its API key is generated once,
//! kept in the data directory (mode 0600) so SDKs keep working across
//! restarts, and printed only when it is created.

use std::path::Path;

use anyhow::Context;
use causeway_runtime::tenants::generate_api_key;

const FILE_NAME: &str = "dev-api-key";

/// The key and whether it was just created.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(String, bool)> {
    let path = data_dir.join(FILE_NAME);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let key = text.trim().to_owned();
        if !key.is_empty() {
            return Ok((key, false));
        }
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let key = generate_api_key();
    write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    Ok((key, true))
}

#[cfg(unix)]
fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{key}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, created) = load_or_create(dir.path()).expect("create");
        assert!(created);
        let (again, created_again) = load_or_create(dir.path()).expect("reuse");
        assert_eq!(first, again);
        assert!(!created_again);
    }
}
