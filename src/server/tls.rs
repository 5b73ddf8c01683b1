//! TLS with rustls (the `ring` provider: it builds with the Rust toolchain and a C compiler
//! alone, no cmake, nasm or Go): the server side of client connections, and the client side of
//! outgoing links (replication, cluster bus).
//!
//! A TLS client connection is a [`TlsSocket`]: the handshake is done with tokio-rustls, then the
//! connection code runs over it exactly as over a plain socket (it is generic over
//! [`Socket`]), so the plain path is not touched. Reads pull what the socket has into rustls in
//! one `read`, decrypt in place and copy the plaintext once into the query buffer; writes
//! encrypt the whole batch of replies and send it with one (vectored) `write`.
//!
//! The settings live in [`Tls`]: `CONFIG SET` of any `tls-*` parameter builds new rustls
//! configurations from the files first and swaps them in only if that worked, so a bad file
//! is an error that keeps the old certificate. Connections already made keep theirs.

use std::io::{self, BufRead, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};

use bytes::BufMut;
use parking_lot::{Mutex, RwLock};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{NoServerSessionStorage, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    ServerConnection, SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion,
};
use shoal_commands::config::TlsConfig;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::socket::Socket;

/// The rustls configurations in force: the server's (client connections) and the client's
/// (outgoing links). Swapped whole by `CONFIG SET tls-*`.
#[derive(Default)]
pub struct Tls {
    server: RwLock<Option<Arc<ServerConfig>>>,
    client: RwLock<Option<Arc<ClientConfig>>>,
}

impl Tls {
    /// Makes these the configurations new connections use (`None`: TLS off).
    pub fn set(&self, built: Option<(ServerConfig, ClientConfig)>) {
        let (s, c) = match built {
            Some((s, c)) => (Some(Arc::new(s)), Some(Arc::new(c))),
            None => (None, None),
        };
        *self.server.write() = s;
        *self.client.write() = c;
    }

    pub fn server(&self) -> Option<Arc<ServerConfig>> {
        self.server.read().clone()
    }

    pub fn client(&self) -> Option<Arc<ClientConfig>> {
        self.client.read().clone()
    }
}

/// Whether any certificate, key or CA setting is present (TLS in use somewhere).
pub fn configured(cfg: &TlsConfig) -> bool {
    !cfg.cert_file.is_empty()
}

/// Both rustls configurations from the settings, or what is wrong with them.
pub fn build(cfg: &TlsConfig) -> Result<(ServerConfig, ClientConfig), String> {
    if cfg.cert_file.is_empty() || cfg.key_file.is_empty() {
        return Err("tls-cert-file and tls-key-file must both be set".into());
    }
    let provider = Arc::new(provider(cfg)?);
    let versions = versions(&cfg.protocols)?;
    let certs = certs(&cfg.cert_file)?;
    let key = key(&cfg.key_file, &cfg.key_file_pass)?;
    check_pair(&provider, &certs, &key, &cfg.cert_file)?;
    let roots = roots(cfg)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("{e}"))?;
    let builder = match cfg.auth_clients.as_str() {
        "no" => builder.with_no_client_auth(),
        how => {
            let Some(roots) = roots.clone() else {
                return Err(
                    "tls-ca-cert-file or tls-ca-cert-dir must be set when tls-auth-clients is yes or optional"
                        .into(),
                );
            };
            let v = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            let v = if how == "optional" {
                v.allow_unauthenticated()
            } else {
                v
            };
            builder.with_client_cert_verifier(v.build().map_err(|e| format!("{e}"))?)
        }
    };
    let mut server = builder
        .with_single_cert(certs.clone(), key.clone_key())
        .map_err(|e| format!("{}: {e}", cfg.cert_file))?;
    server.ignore_client_order = cfg.prefer_server_ciphers;
    if cfg.session_caching {
        server.session_storage =
            ServerSessionMemoryCache::new(cfg.session_cache_size.max(1) as usize);
        let lifetime = cfg.session_cache_timeout.clamp(1, u32::MAX as u64) as u32;
        let inner = ring::Ticketer::new().map_err(|e| format!("session tickets: {e}"))?;
        server.ticketer = Arc::new(TicketLife(inner, lifetime));
    } else {
        server.session_storage = Arc::new(NoServerSessionStorage {});
        server.send_tls13_tickets = 0;
    }
    // Outgoing links: tls-client-cert-file / -key-file, else the server's own pair.
    let (ccerts, ckey) = if cfg.client_cert_file.is_empty() {
        (certs, key)
    } else {
        if cfg.client_key_file.is_empty() {
            return Err("tls-client-key-file must be set with tls-client-cert-file".into());
        }
        let c = self::certs(&cfg.client_cert_file)?;
        let k = self::key(&cfg.client_key_file, &cfg.client_key_file_pass)?;
        check_pair(&provider, &c, &k, &cfg.client_cert_file)?;
        (c, k)
    };
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        Some(r) => Arc::new(ChainOnly(
            rustls::client::WebPkiServerVerifier::builder_with_provider(r, provider.clone())
                .build()
                .map_err(|e| format!("{e}"))?,
        )),
        None => Arc::new(NoRoots(provider.clone())),
    };
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("{e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(ccerts, ckey)
        .map_err(|e| format!("{}: {e}", cfg.client_cert_file))?;
    Ok((server, client))
}

/// rustls's ticketer, announcing `tls-session-cache-timeout` as the tickets' lifetime.
#[derive(Debug)]
struct TicketLife(Arc<dyn rustls::server::ProducesTickets>, u32);

impl rustls::server::ProducesTickets for TicketLife {
    fn enabled(&self) -> bool {
        self.0.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.1
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        self.0.encrypt(plain)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.0.decrypt(cipher)
    }
}

/// `tls-protocols`: `TLSv1.2` and/or `TLSv1.3` (empty: both).
fn versions(spec: &str) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let mut out = Vec::new();
    for w in spec.split_whitespace() {
        match w.to_ascii_lowercase().as_str() {
            "tlsv1.2" => out.push(&rustls::version::TLS12),
            "tlsv1.3" => out.push(&rustls::version::TLS13),
            "tlsv1" | "tlsv1.1" => {
                return Err(format!("{w} is not supported (TLSv1.2 and TLSv1.3 are)"));
            }
            _ => return Err(format!("invalid tls-protocols value '{w}'")),
        }
    }
    if out.is_empty() {
        out = vec![&rustls::version::TLS12, &rustls::version::TLS13];
    }
    Ok(out)
}

/// OpenSSL's names of the TLS 1.2 suites rustls has, and of the TLS 1.3 ones.
const TLS12_NAMES: &[(&str, rustls::CipherSuite)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];
const TLS13_NAMES: &[(&str, rustls::CipherSuite)] = &[
    (
        "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
];

/// `tls-ciphers` (TLS 1.2, an OpenSSL cipher list: names, `DEFAULT`/`HIGH`/`ALL`, `!x`/`-x`
/// to take one out; names rustls does not have are skipped, as OpenSSL skips unknown ones, but
/// a list that leaves none is an error) and `tls-ciphersuites` (TLS 1.3, names only).
fn suites(cfg: &TlsConfig) -> Result<Vec<SupportedCipherSuite>, String> {
    let all = ring_provider().cipher_suites;
    let mut chosen12: Vec<rustls::CipherSuite> = Vec::new();
    if cfg.ciphers.trim().is_empty() {
        chosen12 = TLS12_NAMES.iter().map(|(_, s)| *s).collect();
    } else {
        for tok in cfg.ciphers.split([':', ',', ' ']).filter(|t| !t.is_empty()) {
            let (remove, name) = match tok.strip_prefix(['!', '-']) {
                Some(n) => (true, n),
                None => (false, tok.trim_start_matches('+')),
            };
            let hits: Vec<rustls::CipherSuite> = match name.to_ascii_uppercase().as_str() {
                "DEFAULT" | "HIGH" | "ALL" | "ECDHE" | "EECDH" | "AESGCM" | "CHACHA20" => {
                    TLS12_NAMES.iter().map(|(_, s)| *s).collect()
                }
                n => TLS12_NAMES
                    .iter()
                    .filter(|(x, _)| *x == n)
                    .map(|(_, s)| *s)
                    .collect(),
            };
            for s in hits {
                chosen12.retain(|c| *c != s);
                if !remove {
                    chosen12.push(s);
                }
            }
        }
        if chosen12.is_empty() {
            return Err(format!(
                "no TLS 1.2 cipher suite in tls-ciphers '{}' is supported (supported: {})",
                cfg.ciphers,
                TLS12_NAMES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(":")
            ));
        }
    }
    let mut chosen13: Vec<rustls::CipherSuite> = Vec::new();
    if cfg.ciphersuites.trim().is_empty() {
        chosen13 = TLS13_NAMES.iter().map(|(_, s)| *s).collect();
    } else {
        for tok in cfg
            .ciphersuites
            .split([':', ',', ' '])
            .filter(|t| !t.is_empty())
        {
            let Some((_, s)) = TLS13_NAMES
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(tok))
            else {
                return Err(format!(
                    "unsupported TLS 1.3 cipher suite '{tok}' (supported: {})",
                    TLS13_NAMES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(":")
                ));
            };
            if !chosen13.contains(s) {
                chosen13.push(*s);
            }
        }
    }
    let pick = |want: &[rustls::CipherSuite]| {
        want.iter()
            .filter_map(|w| all.iter().find(|s| s.suite() == *w).copied())
            .collect::<Vec<_>>()
    };
    let mut out = pick(&chosen13);
    out.extend(pick(&chosen12));
    Ok(out)
}

fn provider(cfg: &TlsConfig) -> Result<CryptoProvider, String> {
    Ok(CryptoProvider {
        cipher_suites: suites(cfg)?,
        ..ring_provider()
    })
}

/// rustls's `ring` provider. rustls now points to aws-lc-rs for its post-quantum key exchange,
/// but aws-lc-rs needs cmake (and more) to build; ring builds with a C compiler alone, and
/// Redis offers no post-quantum key exchange either.
#[allow(deprecated)]
fn ring_provider() -> CryptoProvider {
    ring::default_provider()
}

fn read_pem(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

fn certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let data = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: {e:?}"))?;
    if certs.is_empty() {
        return Err(format!("{path}: no certificate in the file"));
    }
    Ok(certs)
}

/// The private key of `path`: plain PEM (PKCS#8, PKCS#1 or SEC1), or an encrypted PKCS#8 one
/// (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2) decrypted with `pass`.
fn key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let data = read_pem(path)?;
    let has = |what: &[u8]| data.windows(what.len()).any(|w| w == what);
    if has(b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || has(b"Proc-Type: 4,ENCRYPTED") {
        return decrypt_key(path, &data, pass);
    }
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| format!("{path}: no private key: {e:?}"))
}

fn decrypt_key(path: &str, data: &[u8], pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    use pkcs8::der::Decode;
    if data.windows(22).any(|w| w == b"Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "{path}: a legacy encrypted PEM key (Proc-Type: 4,ENCRYPTED) is not supported: convert it to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
        ));
    }
    if pass.is_empty() {
        return Err(format!(
            "{path}: the private key is encrypted: set its password (tls-key-file-pass / tls-client-key-file-pass)"
        ));
    }
    let text = std::str::from_utf8(data).map_err(|_| format!("{path}: not a PEM file"))?;
    let (label, doc) = pkcs8::SecretDocument::from_pem(text)
        .map_err(|e| format!("{path}: no encrypted private key: {e}"))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(format!(
            "{path}: expected an ENCRYPTED PRIVATE KEY, found {label}"
        ));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(doc.as_bytes())
        .map_err(|e| format!("{path}: bad encrypted private key: {e}"))?;
    let plain = info.decrypt(pass.as_bytes()).map_err(|e| {
        format!(
            "{path}: cannot decrypt the private key (wrong password or unsupported cipher): {e}"
        )
    })?;
    // Padding that happens to check out under a wrong password yields garbage: parse it.
    pkcs8::PrivateKeyInfo::from_der(plain.as_bytes())
        .map_err(|_| format!("{path}: cannot decrypt the private key (wrong password)"))?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// The key must be the certificate's.
fn check_pair(
    provider: &CryptoProvider,
    certs: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
    path: &str,
) -> Result<(), String> {
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| format!("{path}: {e}"))?;
    rustls::sign::CertifiedKey::new(certs.to_vec(), signing)
        .keys_match()
        .map_err(|e| format!("{path}: the private key is not the certificate's ({e})"))
}

/// The CA certificates of `tls-ca-cert-file` and every PEM file of `tls-ca-cert-dir`.
fn roots(cfg: &TlsConfig) -> Result<Option<Arc<RootCertStore>>, String> {
    let mut files = Vec::new();
    if !cfg.ca_cert_file.is_empty() {
        files.push(cfg.ca_cert_file.clone());
    }
    if !cfg.ca_cert_dir.is_empty() {
        let dir =
            std::fs::read_dir(&cfg.ca_cert_dir).map_err(|e| format!("{}: {e}", cfg.ca_cert_dir))?;
        for e in dir.flatten() {
            let p = e.path();
            if p.is_file() {
                files.push(p.to_string_lossy().into_owned());
            }
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    let mut store = RootCertStore::empty();
    for f in &files {
        let data = read_pem(f)?;
        for c in CertificateDer::pem_slice_iter(&data) {
            let c = c.map_err(|e| format!("{f}: {e:?}"))?;
            // A directory may hold other files (hash links, keys): what is no certificate is
            // skipped there, but tls-ca-cert-file must be one.
            if let Err(e) = store.add(c)
                && *f == cfg.ca_cert_file
            {
                return Err(format!("{f}: {e}"));
            }
        }
    }
    if store.is_empty() {
        return Err("no CA certificate in tls-ca-cert-file / tls-ca-cert-dir".into());
    }
    Ok(Some(Arc::new(store)))
}

/// Outgoing links check the peer's chain against the CA but not its name, as Redis does
/// (nodes and primaries are reached by address, and test certificates name no address).
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// No CA configured: outgoing links refuse every peer (a link is never unauthenticated).
#[derive(Debug)]
struct NoRoots(Arc<CryptoProvider>);

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(
            "no tls-ca-cert-file or tls-ca-cert-dir to verify the peer with".into(),
        ))
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects to `host:port` over TLS with the client configuration in force (outgoing links).
pub async fn connect(
    tls: &Tls,
    host: &str,
    tcp: TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let Some(cfg) = tls.client() else {
        return Err(io::Error::other("TLS is not configured (tls-cert-file)"));
    };
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| io::Error::other(format!("{host}: {e}")))?;
    tokio_rustls::TlsConnector::from(cfg)
        .connect(name, tcp)
        .await
}

/// MIGRATE's TLS client (blocking, as MIGRATE's connection is): the outgoing-link settings in
/// force when it connects.
pub fn migrate_connector(tls: Arc<Tls>) -> shoal_commands::families::migrate::TlsConnect {
    Box::new(move |tcp, host| {
        let Some(cfg) = tls.client() else {
            return Err(io::Error::other("TLS is not configured (tls-cert-file)"));
        };
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(|e| io::Error::other(format!("{host}: {e}")))?;
        let conn = rustls::ClientConnection::new(cfg, name).map_err(io::Error::other)?;
        Ok(Box::new(MigrateLink(rustls::StreamOwned::new(conn, tcp))))
    })
}

struct MigrateLink(rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>);

impl Read for MigrateLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for MigrateLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl shoal_commands::families::migrate::Link for MigrateLink {
    fn tcp(&self) -> &std::net::TcpStream {
        self.0.get_ref()
    }
}

/// Logs at most one line per `every_ms`, counting the ones it left out (handshake failures:
/// a scanner or a misconfigured client must not flood the log).
pub struct RateLimitedLog {
    last_ms: std::sync::atomic::AtomicU64,
    skipped: std::sync::atomic::AtomicU64,
    every_ms: u64,
}

impl RateLimitedLog {
    pub const fn new(every_ms: u64) -> Self {
        RateLimitedLog {
            last_ms: std::sync::atomic::AtomicU64::new(0),
            skipped: std::sync::atomic::AtomicU64::new(0),
            every_ms,
        }
    }

    pub fn warn(&self, msg: std::fmt::Arguments<'_>) {
        let now = shoal_commands::unix_ms();
        let last = self.last_ms.load(Relaxed);
        if now.saturating_sub(last) < self.every_ms
            || self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            self.skipped.fetch_add(1, Relaxed);
            return;
        }
        let skipped = self.skipped.swap(0, Relaxed);
        if skipped > 0 {
            tracing::warn!("{msg} ({skipped} more like it not logged)");
        } else {
            tracing::warn!("{msg}");
        }
    }
}

/// Handshake failures on the TLS port, and TLS handshakes on the plain port.
pub static HANDSHAKE_LOG: RateLimitedLog = RateLimitedLog::new(10_000);

// ---- a client connection over TLS ----

/// A client connection after its TLS handshake. Used by one connection task (plus the kill
/// hook, which only shuts the descriptor down), so the lock is never contended.
pub struct TlsSocket {
    tcp: TcpStream,
    conn: Mutex<ServerConnection>,
    /// Plaintext left in rustls after a read that filled the caller's buffer: the socket may
    /// have nothing new, yet there is something to read.
    buffered: AtomicBool,
}

impl TlsSocket {
    pub fn new(tcp: TcpStream, conn: ServerConnection) -> Self {
        let s = TlsSocket {
            tcp,
            conn: Mutex::new(conn),
            // The handshake may have read the first commands already.
            buffered: AtomicBool::new(true),
        };
        // What the handshake left to send (TLS 1.3 session tickets) goes now if it can; the
        // rest goes with the first reply.
        {
            let mut conn = s.conn.lock();
            let _ = s.send_pending(&mut conn);
        }
        s
    }
}

impl AsFd for TlsSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.tcp.as_fd()
    }
}

/// rustls's reads from the socket, without blocking; notes a short read (the socket drained).
struct TcpRead<'a> {
    tcp: &'a TcpStream,
    drained: bool,
}

impl Read for TcpRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.try_read(buf)?;
        if n < buf.len() {
            self.drained = true;
        }
        Ok(n)
    }
}

struct TcpWrite<'a>(&'a TcpStream);

impl Write for TcpWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        // rustls hands over every record it holds; a batch of replies is usually one record:
        // `send` then, as the plain path does, which spares the kernel `writev`'s iovec import.
        match bufs {
            [one] => self.0.try_write(one),
            _ => self.0.try_write_vectored(bufs),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsSocket {
    /// Sends what rustls holds; `WouldBlock` if the socket took not all of it.
    fn send_pending(&self, conn: &mut ServerConnection) -> io::Result<()> {
        while conn.wants_write() {
            conn.write_tls(&mut TcpWrite(&self.tcp))?;
        }
        Ok(())
    }

    fn read_into<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        let mut conn = self.conn.lock();
        let mut got = 0;
        let mut drained = false;
        let mut closed = false;
        loop {
            // Plaintext rustls already holds first.
            let (n, eof) = drain(&mut conn, buf)?;
            got += n;
            if !buf.has_remaining_mut() {
                // Full: there may be more, and the socket's readiness stays set.
                self.buffered.store(true, Relaxed);
                return Ok(got);
            }
            self.buffered.store(false, Relaxed);
            if eof || closed {
                return Ok(got);
            }
            if drained {
                // The last read was short: the socket is empty. No other read that would only
                // say EAGAIN; only part of a record came if there is no plaintext.
                return if got > 0 {
                    Ok(got)
                } else {
                    Err(io::ErrorKind::WouldBlock.into())
                };
            }
            let mut rd = TcpRead {
                tcp: &self.tcp,
                drained: false,
            };
            match conn.read_tls(&mut rd) {
                Ok(0) => closed = true,
                Ok(_) => drained = rd.drained,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return if got > 0 { Ok(got) } else { Err(e) };
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = conn.process_new_packets() {
                // Tell the peer why (an alert), then fail the connection.
                let _ = self.send_pending(&mut conn);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // Key updates and the like: sent now if the socket takes them, else with the next
            // reply.
            if conn.wants_write()
                && let Err(e) = self.send_pending(&mut conn)
                && e.kind() != io::ErrorKind::WouldBlock
            {
                return Err(e);
            }
        }
    }
}

/// Copies the plaintext rustls holds into `buf`: the bytes copied, and whether the peer closed
/// (nothing more will come).
fn drain<B: BufMut>(conn: &mut ServerConnection, buf: &mut B) -> io::Result<(usize, bool)> {
    let mut got = 0;
    while buf.has_remaining_mut() {
        let mut reader = conn.reader();
        let plain = match reader.fill_buf() {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((got, false)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok((got, true)),
            Err(e) => return Err(e),
        };
        if plain.is_empty() {
            return Ok((got, true));
        }
        let n = plain.len().min(buf.remaining_mut());
        buf.put_slice(&plain[..n]);
        reader.consume(n);
        got += n;
    }
    Ok((got, false))
}

impl Socket for TlsSocket {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.buffered.load(Relaxed) {
            return Poll::Ready(Ok(()));
        }
        self.tcp.poll_read_ready(cx)
    }

    fn try_io<R>(&self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        // A short read of plaintext means the socket was drained too (see `read_into`), so the
        // socket's readiness may be cleared as for a plain socket.
        if self.buffered.load(Relaxed) {
            return f();
        }
        self.tcp.try_io(interest, f)
    }

    fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        self.read_into(buf)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut b = buf;
        self.read_into(&mut b)
    }

    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut conn = self.conn.lock();
        // Earlier records first; no new plaintext while they wait (bounded memory).
        self.send_pending(&mut conn)?;
        if buf.is_empty() {
            return Ok(0);
        }
        let n = conn.writer().write(buf)?;
        match self.send_pending(&mut conn) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn has_pending_write(&self) -> bool {
        self.conn.lock().wants_write()
    }

    async fn readable(&self) -> io::Result<()> {
        if self.buffered.load(Relaxed) {
            return Ok(());
        }
        self.tcp.readable().await
    }

    fn writable(&self) -> impl Future<Output = io::Result<()>> + Send {
        self.tcp.writable()
    }
}
