//! The one place that knows how the projector's own records are encoded (bincode 2, standard
//! configuration), so that the codec can be replaced without touching anything else. Read models
//! are rebuildable, so a codec change needs a rebuild, not a migration.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest record decoded: a record says how long its strings are, and a damaged one must not
/// make the decoder reserve gigabytes for them.
const MAX_RECORD_BYTES: usize = 64 * 1024;

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding into a Vec fails only for types serde cannot describe; ours are plain records.
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("plain records always encode")
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let config = bincode::config::standard().with_limit::<MAX_RECORD_BYTES>();
    bincode::serde::decode_from_slice(bytes, config)
        .map(|(value, _)| value)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::store::Meta;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Whatever a damaged store holds, reading a record is an error, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = super::decode::<Meta>(&bytes);
        }

        #[test]
        fn records_round_trip(
            revision in any::<u64>(),
            head in any::<[u8; 32]>(),
            commits in any::<u64>(),
            reason in proptest::option::of(".{0,40}"),
        ) {
            let meta = Meta {
                revision,
                head,
                commits,
                broken: reason.map(|reason| crate::store::Broken {
                    position: revision,
                    last_good: revision / 2,
                    reason,
                }),
            };
            prop_assert_eq!(super::decode::<Meta>(&super::encode(&meta)), Ok(meta));
        }
    }
}
