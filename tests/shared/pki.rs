//! Certificates made at run time for the TLS tests (rcgen): CAs, the leaves they sign, and
//! their PEM files in a directory of the test's own. No key is ever committed.
// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};

/// A directory of PEM files, emptied when made.
pub struct Pki {
    dir: PathBuf,
}

/// A CA that signs leaves; its certificate is in `cert`.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub cert: PathBuf,
}

/// A leaf certificate and its key, as files.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// Returns an empty directory named after `name` and this process.
    pub fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pki-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// Returns the path of `file` in the directory.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes `text` to `file` in the directory and returns its path.
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Returns a new self-signed CA whose certificate is `NAME.pem`.
    pub fn ca(&self, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("routeguide test {name}"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let cert = self.write(&format!("{name}.pem"), &issuer.pem());
        Ca { issuer, cert }
    }

    /// Returns a leaf signed by `ca` for the names `sans` (DNS names or IP addresses),
    /// valid now, as `NAME.pem` and `NAME.key`.
    pub fn leaf(&self, ca: &Ca, name: &str, sans: &[&str]) -> Leaf {
        self.leaf_with(ca, name, sans, |_| {})
    }

    /// Returns a leaf as [`Pki::leaf`] does that expired in 2001.
    pub fn expired_leaf(&self, ca: &Ca, name: &str, sans: &[&str]) -> Leaf {
        self.leaf_with(ca, name, sans, |params| {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        })
    }

    fn leaf_with(
        &self,
        ca: &Ca,
        name: &str,
        sans: &[&str],
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Leaf {
        let names: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("routeguide test {name}"));
        adjust(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        Leaf {
            cert: self.write(&format!("{name}.pem"), &cert.pem()),
            key: self.write(&format!("{name}.key"), &key.serialize_pem()),
        }
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
