//! The client side: the CA that signs the server's certificate (or the system's roots), an
//! optional client certificate for mutual TLS, and the name the certificate must carry.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

use super::{ALPN_H2, CERTIFICATE_FILE, KEY_FILE, PemFile, TlsError, provider};

/// The files and name a client's TLS is made of; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// CA certificates (PEM) to verify the server with; `None` uses the system's roots.
    pub ca: Option<PathBuf>,
    /// The client's certificate chain (PEM), for mutual TLS; goes with `key`.
    pub cert: Option<PathBuf>,
    /// The client's private key (PEM); goes with `cert`.
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry, instead of the address's host.
    pub domain: Option<String>,
}

/// The PEM text tonic's `ClientTlsConfig` is built from, kept beside the rustls form.
struct Pem {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// A loaded client TLS configuration, checked when loaded; cheap to clone.
///
/// The same material serves tonic's channel ([`ClientTls::tonic_config`]) and the load
/// generator's bare HTTP/2 connection ([`ClientTls::rustls_config`]); both verify the
/// server's certificate against the same roots and name and offer HTTP/2 by ALPN.
#[derive(Clone)]
pub struct ClientTls {
    files: ClientTlsFiles,
    pem: Arc<Pem>,
    config: Arc<rustls::ClientConfig>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Reads and checks `files`: the CA file (or, without one, the system's roots), the
    /// client certificate and key (both or neither, matching), and the name.
    ///
    /// # Errors
    /// [`TlsError`] naming the unusable file; [`TlsError::NoSystemRoots`] without a CA file
    /// on a system without roots; [`TlsError::ServerName`] for a bad `domain`.
    pub fn load(files: &ClientTlsFiles) -> Result<Self, TlsError> {
        let (roots, ca) = match &files.ca {
            Some(path) => {
                let file = PemFile::read("TLS CA file", path)?;
                (file.roots()?, Some(file.bytes))
            }
            None => (system_roots()?, None),
        };
        if let Some(name) = &files.domain {
            server_name(name)?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Rejected {
                what: "TLS protocol versions".to_owned(),
                message: error.to_string(),
            })?
            .with_root_certificates(roots);
        let (mut config, identity) = match (&files.cert, &files.key) {
            (None, None) => (builder.with_no_client_auth(), None),
            (Some(cert), Some(key)) => {
                let cert_file = PemFile::read(CERTIFICATE_FILE, cert)?;
                let key_file = PemFile::read(KEY_FILE, key)?;
                let (chain, private_key) = (cert_file.certificates()?, key_file.private_key()?);
                let config =
                    builder
                        .with_client_auth_cert(chain, private_key)
                        .map_err(|error| TlsError::Rejected {
                            what: format!(
                                "TLS certificate {} with key {}",
                                cert.display(),
                                key.display()
                            ),
                            message: error.to_string(),
                        })?;
                (config, Some((cert_file.bytes, key_file.bytes)))
            }
            _ => {
                return Err(TlsError::Rejected {
                    what: "client certificate".to_owned(),
                    message: "--tls-cert and --tls-key go together".to_owned(),
                });
            }
        };
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Self {
            files: files.clone(),
            pem: Arc::new(Pem { ca, identity }),
            config: Arc::new(config),
        })
    }

    /// Returns tonic's configuration for a channel: the CA file or the system's roots
    /// (tonic's `tls-native-roots`), the client certificate, and the name override.
    pub fn tonic_config(&self) -> tonic::transport::ClientTlsConfig {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        let mut config = ClientTlsConfig::new();
        config = match &self.pem.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &self.pem.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(domain) = &self.files.domain {
            config = config.domain_name(domain);
        }
        config
    }

    /// Returns the rustls configuration, for connections tonic does not make.
    pub fn rustls_config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }

    /// Returns the name the server's certificate must carry when connecting to `host`:
    /// the override if one was given, else `host` (without IPv6 brackets).
    ///
    /// # Errors
    /// [`TlsError::ServerName`] when that is neither a DNS name nor an IP address.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        match &self.files.domain {
            Some(domain) => server_name(domain),
            None => server_name(host.trim_start_matches('[').trim_end_matches(']')),
        }
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_owned()).map_err(|_| TlsError::ServerName {
        name: name.to_owned(),
    })
}

/// Returns the system's root certificates, as tonic's `tls-native-roots` reads them.
fn system_roots() -> Result<rustls::RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(TlsError::NoSystemRoots);
    }
    Ok(roots)
}
