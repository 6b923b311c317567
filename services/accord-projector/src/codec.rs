//! The one place that knows how the projector's own records are encoded (bincode 2, standard
//! configuration), so that the codec can be replaced without touching anything else. Read models
//! are rebuildable, so a codec change needs a rebuild, not a migration.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding into a Vec fails only for types serde cannot describe; ours are plain records.
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("plain records always encode")
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|e| e.to_string())
}
