//! An ed25519 private key in a PKCS#8 PEM file, readable by its owner only: the ledger's
//! receipts key, and an org's signing key (`accord key new`).

use std::path::Path;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};

/// Why a key file cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the key {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not an ed25519 private key in PKCS#8 PEM")]
    NotAKey {
        path: String,
        #[source]
        source: ed25519_dalek::pkcs8::Error,
    },
}

/// Reads the key at `path`.
pub fn read(path: &Path) -> Result<SigningKey, KeyFileError> {
    let pem = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.display().to_string(),
        source,
    })?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|source| KeyFileError::NotAKey {
        path: path.display().to_string(),
        source,
    })
}

/// Makes a new key from the system's random source and writes it to `path`, which must not
/// exist, readable by its owner only.
pub fn create(path: &Path) -> Result<SigningKey, KeyFileError> {
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let write = |source| KeyFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| write(std::io::Error::other(e)))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(write)?;
    std::io::Write::write_all(&mut file, pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write)?;
    Ok(key)
}
