//! Which API key the demo uses: `--key` (or `CAUSEWAY_DEV_API_KEY`, read by
//! the argument parser), else the dev key `causeway standalone` keeps in its
//! data directory.

use std::path::Path;

use anyhow::bail;

/// The file `causeway standalone` writes its generated dev key to.
pub const DEV_KEY_FILE: &str = "dev-api-key";

pub fn resolve(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(key) = explicit.map(str::trim).filter(|key| !key.is_empty()) {
        return Ok(key.to_owned());
    }
    let path = data_dir.join(DEV_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Ok(_) => bail!("{} is empty; pass --key or set CAUSEWAY_DEV_API_KEY", path.display()),
        Err(err) => bail!(
            "no api key: pass --key, set CAUSEWAY_DEV_API_KEY, or run the demo where `causeway standalone` \
             keeps its data ({} could not be read: {err})",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_key_then_the_standalone_file_then_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = resolve(None, dir.path()).expect_err("nothing to read");
        let text = err.to_string();
        assert!(text.contains("--key") && text.contains("CAUSEWAY_DEV_API_KEY") && text.contains(DEV_KEY_FILE));
        std::fs::write(dir.path().join(DEV_KEY_FILE), "cw_dev_abc\n").expect("write");
        assert_eq!(resolve(None, dir.path()).expect("file"), "cw_dev_abc");
        assert_eq!(resolve(Some(" given "), dir.path()).expect("flag"), "given");
        assert_eq!(
            resolve(Some(""), dir.path()).expect("empty flag falls back"),
            "cw_dev_abc"
        );
    }
}
