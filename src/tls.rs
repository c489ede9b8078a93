//! TLS material: PEM files loaded into rustls configurations (ring provider, HTTP/2 by
//! ALPN) for the server, optionally verifying client certificates, and for clients.
//!
//! Loading is a plain function of the files ([`ServerTls::load`], [`ClientTls::load`]), so
//! a reload calls it again; the server takes its configuration for each new connection from
//! a [`TlsAcceptor`] whose [`TlsAcceptor::replace`] swaps it without touching open ones.

mod client;
mod incoming;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub use client::{ClientTls, ClientTlsFiles};
pub(crate) use incoming::TlsIncoming;

/// The ALPN protocol id of HTTP/2, which gRPC requires.
const ALPN_H2: &[u8] = b"h2";

/// Says which TLS file or setting is unusable; names the file, never a key's contents.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {role} {}: {source}", path.display())]
    Read {
        /// What the file should hold, e.g. "TLS certificate file".
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file holds no PEM item of the kind wanted (a key file given as certificate, ...).
    #[error("{role} {} holds no {wanted}", path.display())]
    Missing {
        /// What the file should hold.
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// The PEM item looked for, e.g. "PEM certificate".
        wanted: &'static str,
    },
    /// A file is not valid PEM.
    #[error("{role} {} is not valid PEM: {message}", path.display())]
    Pem {
        /// What the file should hold.
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// The parser's explanation.
        message: String,
    },
    /// rustls refused the material, e.g. a key that does not match its certificate.
    #[error("{what}: {message}")]
    Rejected {
        /// The files involved.
        what: String,
        /// rustls' explanation.
        message: String,
    },
    /// No `--tls-ca` was given and the system has no root certificates to verify with.
    #[error(
        "no system root certificates found to verify the server; give its CA with --tls-ca FILE"
    )]
    NoSystemRoots,
    /// The name to check the server's certificate against is not a DNS name or IP address.
    #[error("invalid TLS server name {name:?}")]
    ServerName {
        /// The name as given.
        name: String,
    },
}

/// The bytes of one PEM file, read once, and what they should hold (for messages).
struct PemFile {
    role: &'static str,
    path: PathBuf,
    bytes: Vec<u8>,
}

impl PemFile {
    /// Reads the file at `path`, which should hold a `role` (e.g. "TLS CA file").
    fn read(role: &'static str, path: &Path) -> Result<Self, TlsError> {
        let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
            role,
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            role,
            path: path.to_owned(),
            bytes,
        })
    }

    /// Returns the certificates of the file, in file order (leaf first for a chain).
    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certificates = CertificateDer::pem_slice_iter(&self.bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.pem_error(error))?;
        if certificates.is_empty() {
            return Err(self.missing("PEM certificate"));
        }
        Ok(certificates)
    }

    /// Returns the first private key (PKCS#8, PKCS#1 or SEC1) of the file.
    fn private_key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.bytes).map_err(|error| match error {
            pem::Error::NoItemsFound => self.missing("PEM private key"),
            error => self.pem_error(error),
        })
    }

    /// Returns a store of the file's CA certificates.
    fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in self.certificates()? {
            roots.add(certificate).map_err(|error| TlsError::Rejected {
                what: format!("{} {}", self.role, self.path.display()),
                message: error.to_string(),
            })?;
        }
        Ok(roots)
    }

    fn missing(&self, wanted: &'static str) -> TlsError {
        TlsError::Missing {
            role: self.role,
            path: self.path.clone(),
            wanted,
        }
    }

    fn pem_error(&self, error: pem::Error) -> TlsError {
        TlsError::Pem {
            role: self.role,
            path: self.path.clone(),
            message: error.to_string(),
        }
    }
}

/// What each file of a TLS configuration should hold, as messages name it.
const CERTIFICATE_FILE: &str = "TLS certificate file";
const KEY_FILE: &str = "TLS key file";

/// Returns the crypto provider every configuration uses: ring, as tonic's `tls-ring`.
///
/// rustls 0.23.48 deprecates its ring provider because it has no post-quantum key
/// exchange; its classical suites and groups are unchanged and are what tonic's own
/// `tls-ring` channel uses, so client and server agree. Moving to aws-lc-rs (tonic's
/// `tls-aws-lc`) would add X25519MLKEM768 at the cost of a much larger C build.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The files of a server's TLS identity, and of the CAs that sign client certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The server's certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// For mutual TLS: the CA certificates (PEM) a client certificate must chain to; a
    /// client without one is refused during the handshake.
    pub client_ca: Option<PathBuf>,
}

/// A loaded server TLS configuration: certificate, key, and (for mutual TLS) the client
/// verifier; it offers HTTP/2 by ALPN. Cheap to clone.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    mutual: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.mutual)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads and checks `files`: the chain and key must be PEM and match each other, and a
    /// client CA file must hold at least one CA certificate.
    ///
    /// # Errors
    /// [`TlsError`] naming the file that cannot be read or used.
    pub fn load(files: &ServerTlsFiles) -> Result<Self, TlsError> {
        let chain = PemFile::read(CERTIFICATE_FILE, &files.cert)?.certificates()?;
        let key = PemFile::read(KEY_FILE, &files.key)?.private_key()?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Rejected {
                what: "TLS protocol versions".to_owned(),
                message: error.to_string(),
            })?;
        let builder = match &files.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                const ROLE: &str = "TLS client CA file";
                let roots = PemFile::read(ROLE, path)?.roots()?;
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider(),
                )
                .build()
                .map_err(|error| TlsError::Rejected {
                    what: format!("{ROLE} {}", path.display()),
                    message: error.to_string(),
                })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config =
            builder
                .with_single_cert(chain, key)
                .map_err(|error| TlsError::Rejected {
                    what: format!(
                        "TLS certificate {} with key {}",
                        files.cert.display(),
                        files.key.display()
                    ),
                    message: error.to_string(),
                })?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Self {
            config: Arc::new(config),
            mutual: files.client_ca.is_some(),
        })
    }

    /// Returns whether clients must present a certificate signed by the client CA.
    pub fn is_mutual(&self) -> bool {
        self.mutual
    }
}

/// The server TLS configuration new connections get; a cheap cloneable handle.
///
/// Each accepted connection takes the configuration current at its handshake, so
/// [`TlsAcceptor::replace`] (a reload after [`ServerTls::load`]) applies to every later
/// connection while open connections keep the one they started with.
#[derive(Debug, Clone)]
pub struct TlsAcceptor {
    /// The current configuration; a std lock because it is held only to clone an `Arc`.
    current: Arc<RwLock<ServerTls>>,
}

impl TlsAcceptor {
    /// Returns an acceptor that starts with `tls`.
    pub fn new(tls: ServerTls) -> Self {
        Self {
            current: Arc::new(RwLock::new(tls)),
        }
    }

    /// Replaces the configuration for every connection accepted from now on.
    pub fn replace(&self, tls: ServerTls) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = tls;
    }

    /// Returns the configuration new connections get now.
    pub fn current(&self) -> ServerTls {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
