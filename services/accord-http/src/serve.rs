//! Serving a router on a bound listener, over HTTP or HTTPS (rustls), with a limit on
//! everything a client could hold: the time to send the first request and its headers, the TLS
//! handshake, the time a request may take, and the requests handled at once.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// How long a connection may stay open before its first request arrives.
pub const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's line and headers (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a TLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take, from its headers to its answer (408 after that). A commit of
/// 100 events or a retrospective of a few thousand events takes well under a second.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests handled at once; more wait for a turn. Each may hold a blocking thread (queries
/// and reports fold off the async workers), so this bounds memory and threads too.
pub const MAX_CONCURRENT_REQUESTS: usize = 512;
/// How long requests in flight may take to finish once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A certificate chain and its private key, for HTTPS.
#[derive(Debug, Clone)]
pub struct Tls(Arc<rustls::ServerConfig>);

/// Why a certificate and key cannot serve HTTPS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{} holds no PEM certificate", .0.display())]
    NoCertificate(PathBuf),
    #[error("the certificate and the key do not make a TLS configuration: {0}")]
    Config(#[source] rustls::Error),
}

impl Tls {
    /// The certificate chain (leaf first) and the key of two PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |path: &Path| {
            let path = path.to_owned();
            move |source| TlsError::Read { path, source }
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(read(cert))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read(cert))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate(cert.to_owned()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(read(key))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(TlsError::Config)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self(Arc::new(config)))
    }
}

/// Serves `routes` on a bound listener (HTTPS with `tls`) until `shutdown` is cancelled;
/// requests in flight then get [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    routes: Router,
    tls: Option<Tls>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let app = routes
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // Outside the timeout, so that a 408 is a problem too.
        .layer(axum::middleware::from_fn(crate::error::problems))
        .layer(GlobalConcurrencyLimitLayer::new(MAX_CONCURRENT_REQUESTS))
        .into_make_service();
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        }
    });
    let mut server = axum_server::from_tcp(listener.into_std()?)?
        .handle(handle)
        .first_request_timeout(FIRST_REQUEST_TIMEOUT);
    server
        .http_builder()
        .http1()
        .header_read_timeout(HEADER_READ_TIMEOUT);
    match tls {
        None => server.serve(app).await,
        Some(Tls(config)) => {
            let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(config))
                .handshake_timeout(TLS_HANDSHAKE_TIMEOUT);
            server.acceptor(acceptor).serve(app).await
        }
    }
}
