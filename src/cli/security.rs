//! The TLS and token flags: `--tls-*` and `--token` of the clients, and `--tls-*` and
//! `--auth-token-file` of `serve`, turned into loaded settings (files are read here, so a
//! bad one stops the command before it connects or listens).

use std::path::PathBuf;

use clap::Args;
use routeguide::auth::{Authenticator, Secret, TokenSet};
use routeguide::server::Security;
use routeguide::tls::{ClientTls, ClientTlsFiles, ServerTls, ServerTlsFiles, TlsAcceptor};

use super::UsageError;

/// Returns any text as a secret; its checks come after parsing, so that no error message
/// (clap's quote the value) can print it.
fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// TLS and bearer-token options of every client subcommand.
#[derive(Debug, Args)]
pub struct ClientSecurityArgs {
    /// CA certificate (PEM) to verify the server with; implies TLS. Without it, an
    /// `https://` address is verified against the system's root certificates.
    #[arg(long, env = "ROUTEGUIDE_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs `--tls-key`.
    #[arg(
        long,
        env = "ROUTEGUIDE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of `--tls-cert`.
    #[arg(
        long,
        env = "ROUTEGUIDE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Name the server's certificate must carry, instead of the address's host.
    #[arg(long, env = "ROUTEGUIDE_TLS_DOMAIN", value_name = "NAME")]
    pub tls_domain: Option<String>,
    /// Bearer token sent as `authorization: Bearer TOKEN` on every call.
    #[arg(
        long,
        env = "ROUTEGUIDE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = parse_secret
    )]
    pub token: Option<Secret>,
}

impl ClientSecurityArgs {
    fn any_tls_flag(&self) -> bool {
        self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_domain.is_some()
    }

    /// Returns the address to dial and its TLS settings: TLS for `https://`, and for a
    /// `host:port` without scheme when a TLS flag is given; plain text otherwise.
    ///
    /// # Errors
    /// A [`UsageError`] for `http://` with a TLS flag; the [`routeguide::tls::TlsError`]
    /// naming a file that cannot be used.
    pub fn target(&self, address: &str) -> anyhow::Result<(String, Option<ClientTls>)> {
        let scheme = address.split_once("://").map(|(scheme, _)| scheme);
        let tls = match scheme {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(_) if self.any_tls_flag() => {
                return Err(UsageError(format!(
                    "invalid value '{address}' for '--addr': --tls-ca, --tls-cert and \
                     --tls-domain need an https:// address"
                ))
                .into());
            }
            Some(_) => false,
            None => self.any_tls_flag(),
        };
        if !tls {
            return Ok((address.to_owned(), None));
        }
        let files = ClientTlsFiles {
            ca: self.tls_ca.clone(),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            domain: self.tls_domain.clone(),
        };
        let uri = match scheme {
            Some(_) => address.to_owned(),
            None => format!("https://{address}"),
        };
        Ok((uri, Some(ClientTls::load(&files)?)))
    }
}

/// TLS and token options of `serve`.
#[derive(Debug, Args)]
pub struct ServerSecurityArgs {
    /// Serve TLS with this certificate chain (PEM, leaf first); needs `--tls-key`.
    #[arg(
        long,
        env = "ROUTEGUIDE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of `--tls-cert`.
    #[arg(
        long,
        env = "ROUTEGUIDE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: refuse, during the handshake, clients without a certificate signed by
    /// a CA in this file (PEM); needs `--tls-cert`.
    #[arg(
        long,
        env = "ROUTEGUIDE_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// Require `authorization: Bearer TOKEN` on RouteGuide calls, TOKEN being one of the
    /// file's lines (blank lines and `#` comments ignored); health and reflection stay open.
    #[arg(long, env = "ROUTEGUIDE_AUTH_TOKEN_FILE", value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
}

impl ServerSecurityArgs {
    /// Returns the files of the TLS flags, if TLS is asked for.
    pub fn tls_files(&self) -> Option<ServerTlsFiles> {
        let (cert, key) = (self.tls_cert.clone()?, self.tls_key.clone()?);
        Some(ServerTlsFiles {
            cert,
            key,
            client_ca: self.tls_client_ca.clone(),
        })
    }

    /// Reads the TLS files and the token file into the server's [`Security`], logging
    /// what is required of clients.
    ///
    /// # Errors
    /// The [`routeguide::tls::TlsError`] or [`routeguide::auth::AuthError`] naming the file.
    pub fn load(&self) -> anyhow::Result<Security> {
        let tls = match self.tls_files() {
            Some(files) => {
                let tls = ServerTls::load(&files)?;
                tracing::info!(
                    cert = %files.cert.display(),
                    client_ca = files.client_ca.as_ref().map(|p| p.display().to_string()),
                    client_certificates_required = tls.is_mutual(),
                    "serving tls"
                );
                Some(TlsAcceptor::new(tls))
            }
            None => None,
        };
        let tokens = match &self.auth_token_file {
            Some(path) => {
                let tokens = TokenSet::load(path)?;
                tracing::info!(
                    file = %path.display(),
                    tokens = tokens.len(),
                    "bearer tokens required on routeguide calls"
                );
                Some(Authenticator::new(tokens))
            }
            None => None,
        };
        Ok(Security { tokens, tls })
    }
}
