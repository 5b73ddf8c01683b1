//! Loading and saving nodes.conf: written atomically (temp file, fsync, rename, fsync of the
//! directory) before the node acts on a change of epochs or votes, in place for slot
//! bookkeeping; a damaged file stops the node instead of silently giving it a new identity.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::ClusterState;

/// Reads the state from `path`; `Ok(None)` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<ClusterState>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => ClusterState::from_conf(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the state to `path` atomically and durably.
pub fn save(path: &Path, st: &ClusterState) -> std::io::Result<()> {
    save_with(path, st, true)
}

/// Writes the state to `path`: with `fsync`, atomically and durably before returning (votes and
/// epochs need that); without, in place (see `overwrite`: whole after a process crash; slot
/// bookkeeping such as SETSLOT, which a machine crash can only leave for `--cluster fix`).
pub fn save_with(path: &Path, st: &ClusterState, fsync: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "nodes.conf".into());
    if !fsync {
        return overwrite(path, st.to_conf().into_bytes());
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(st.to_conf().as_bytes())?;
        if fsync {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)?;
    if fsync && let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Rewrites `path` in place with one write of `text` padded with newlines to the old length
/// (the loader skips blank lines): a process that dies at any point leaves a whole file, and
/// no new file or rename is paid for (several times cheaper than the atomic way, which only a
/// machine crash needs). Redis saves slot bookkeeping in place too.
fn overwrite(path: &Path, mut text: Vec<u8>) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let old = f.metadata()?.len() as usize;
    if text.len() < old {
        text.resize(old, b'\n');
    }
    f.write_all(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::NodeId;

    #[test]
    fn save_then_load() {
        let dir = std::env::temp_dir().join(format!("shoal-conf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("nodes.conf");
        assert!(load(&p).unwrap().is_none());
        let mut st = ClusterState::new(NodeId::random(), String::new(), 7000, 17000);
        st.add_slots(&[1, 2, 3]).unwrap();
        save(&p, &st).unwrap();
        let back = load(&p).unwrap().unwrap();
        assert_eq!(back.myself, st.myself);
        assert_eq!(back.nodes_text(), st.nodes_text());
        // In place, shorter than before: the padded file loads as the new state.
        st.del_slots(&[2, 3]).unwrap();
        save_with(&p, &st, false).unwrap();
        let back = load(&p).unwrap().unwrap();
        assert_eq!(back.nodes_text(), st.nodes_text());
        assert_eq!(back.me().slots.len(), 1);
        std::fs::write(&p, "not a nodes file\n").unwrap();
        assert!(load(&p).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
