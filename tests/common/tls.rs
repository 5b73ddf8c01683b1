//! Certificates made by the tests (rcgen), and TLS clients: redis-cli `--tls` and a rustls
//! client for raw checks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A directory of PEM files: `ca.crt`, `server.crt/key` (127.0.0.1 and localhost),
/// `client.crt/key`, `expired.crt/key` (a client certificate that expired), `other-ca.crt`
/// with `stranger.crt/key` (signed by a CA the server does not trust) and `server2.crt/key`
/// (another server certificate of the same CA).
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn new(tag: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("shoal-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cert dir");
        let (ca_pem, ca_params, ca_key) = ca("shoal test CA");
        write(&dir, "ca.crt", &ca_pem);
        let issuer = Issuer::new(ca_params, ca_key);
        leaf(&dir, "server", &issuer, true, false);
        leaf(&dir, "server2", &issuer, true, false);
        leaf(&dir, "client", &issuer, false, false);
        leaf(&dir, "expired", &issuer, false, true);
        let (other_pem, other, other_key) = ca("another CA");
        write(&dir, "other-ca.crt", &other_pem);
        let other = Issuer::new(other, other_key);
        leaf(&dir, "stranger", &other, false, false);
        leaf(&dir, "stranger-server", &other, true, false);
        Certs { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The server's TLS arguments: its certificate, the CA, clients must authenticate.
    pub fn server_args(&self) -> Vec<String> {
        vec![
            "--tls-cert-file".into(),
            self.path("server.crt"),
            "--tls-key-file".into(),
            self.path("server.key"),
            "--tls-ca-cert-file".into(),
            self.path("ca.crt"),
        ]
    }

    /// `redis-cli --tls` with the CA and, if `who` is given, that client certificate.
    pub fn cli(&self, addr: SocketAddr, who: Option<&str>, args: &[&str]) -> (bool, String) {
        let mut c = Command::new("redis-cli");
        c.args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()]);
        c.args(["--tls", "--cacert", &self.path("ca.crt")]);
        if let Some(w) = who {
            c.args([
                "--cert",
                &self.path(&format!("{w}.crt")),
                "--key",
                &self.path(&format!("{w}.key")),
            ]);
        }
        c.args(args);
        let out = c.output().expect("redis-cli runs (redis-tools installed)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text.trim().to_string())
    }

    /// A rustls client configuration trusting `ca` and presenting `who`'s certificate.
    pub fn client_config(&self, ca: &str, who: Option<&str>) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(self.path(ca)).expect("ca") {
            roots.add(c.expect("ca cert")).expect("add ca");
        }
        #[allow(deprecated)] // ring: see src/server/tls.rs
        let provider = rustls::crypto::ring::default_provider();
        let b = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let cfg = match who {
            Some(w) => {
                let certs = CertificateDer::pem_file_iter(self.path(&format!("{w}.crt")))
                    .expect("cert")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("certs");
                let key =
                    PrivateKeyDer::from_pem_file(self.path(&format!("{w}.key"))).expect("key");
                b.with_client_auth_cert(certs, key).expect("client auth")
            }
            None => b.with_no_client_auth(),
        };
        Arc::new(cfg)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(dir: &Path, name: &str, pem: &str) {
    std::fs::write(dir.join(name), pem).expect("write pem");
}

fn ca(name: &str) -> (String, CertificateParams, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = p.self_signed(&key).expect("self-signed");
    (cert.pem(), p, key)
}

fn leaf(dir: &Path, name: &str, issuer: &Issuer<'_, KeyPair>, server: bool, expired: bool) {
    let key = KeyPair::generate().expect("key");
    let names = if server {
        vec!["localhost".to_string(), "127.0.0.1".to_string()]
    } else {
        vec![format!("{name}.client")]
    };
    let mut p = CertificateParams::new(names).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = if server {
        vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ]
    } else {
        vec![ExtendedKeyUsagePurpose::ClientAuth]
    };
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = p.signed_by(&key, issuer).expect("signed");
    write(dir, &format!("{name}.crt"), &cert.pem());
    write(dir, &format!("{name}.key"), &key.serialize_pem());
}

/// A TLS connection speaking raw RESP.
pub struct TlsConn {
    pub s: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl TlsConn {
    /// Connects and completes the handshake (with TLS 1.3, a refused client certificate shows
    /// only on the first read).
    pub fn connect(addr: SocketAddr, cfg: Arc<rustls::ClientConfig>) -> std::io::Result<TlsConn> {
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let name = ServerName::try_from("127.0.0.1").expect("name");
        let conn = rustls::ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock)?;
        }
        Ok(TlsConn { s })
    }

    /// Sends `req` and reads until `want` bytes came (or an error / end of stream).
    pub fn roundtrip(&mut self, req: &[u8], want: usize) -> std::io::Result<String> {
        self.s.write_all(req)?;
        self.s.flush()?;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < want {
            let n = self.s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&buf[..n]);
        }
        Ok(String::from_utf8_lossy(&got).into_owned())
    }

    /// The server's certificate (first of the chain), DER.
    pub fn peer_cert(&self) -> Vec<u8> {
        self.s
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }
}

/// The DER of the first certificate in a PEM file.
pub fn cert_der(path: &str) -> Vec<u8> {
    CertificateDer::pem_file_iter(path)
        .expect("pem")
        .next()
        .expect("one cert")
        .expect("cert")
        .to_vec()
}
