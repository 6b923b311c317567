//! Flips one byte of a stored commit behind the log's back, as silent storage corruption or a
//! hand edit would.

use std::path::Path;

use accord_log::Position;

use crate::conformance::Backend;

/// Flips the lowest bit of the first byte of `marker` (text that only the target commit holds) in the stored
/// commit at `position`. The log must be closed.
pub(crate) fn flip_byte(backend: &mut Backend, position: Position, marker: &[u8]) {
    match backend {
        Backend::Embedded { dir } => {
            let db = sled::open(dir.path()).expect("open sled");
            let mut key = vec![b'c'];
            key.extend_from_slice(&position.to_be_bytes());
            let mut value = db.get(&key).expect("get").expect("stored commit").to_vec();
            flip_in(&mut value, marker);
            db.insert(key, value).expect("insert");
            db.flush().expect("flush");
        }
        Backend::JetStream { server, .. } => {
            server.stop().expect("stop");
            let flipped = flip_in_files(server.store_dir(), marker);
            assert_eq!(flipped, 1, "the marker is in exactly one message block");
            server.start_again().expect("start again");
        }
    }
}

fn flip_in(bytes: &mut [u8], marker: &[u8]) {
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("marker in the stored commit");
    // 'm' becomes 'l': the commit still decodes, and only its hash tells.
    bytes[at] ^= 0x01;
}

fn flip_in_files(dir: &Path, marker: &[u8]) -> usize {
    let mut flipped = 0;
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            flipped += flip_in_files(&path, marker);
        } else if path.extension().is_some_and(|e| e == "blk") {
            let mut bytes = std::fs::read(&path).expect("read block");
            if bytes.windows(marker.len()).any(|w| w == marker) {
                flip_in(&mut bytes, marker);
                std::fs::write(&path, bytes).expect("write block");
                flipped += 1;
            }
        }
    }
    flipped
}
