//! The unit over TLS: `https://` reports and a `wss://` command channel through a TLS front
//! (a terminating proxy, as a deployment puts before the server) with a certificate from a
//! private authority the unit is told to trust.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::fake::{FakeServer, PATIENCE, eventually};
use super::{TOKEN, config, fix, shut_down};
use crate::unit::{Action, UnitClient, UnitConfig};

/// A TLS-terminating proxy in front of `backend`, serving a certificate for `localhost`.
struct TlsFront {
    addr: SocketAddr,
    authority: CertificateDer<'static>,
    failed_handshakes: Arc<AtomicUsize>,
    accept_loop: JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl TlsFront {
    async fn start(backend: SocketAddr) -> TlsFront {
        let mut authority_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        authority_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let authority =
            CertifiedIssuer::self_signed(authority_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server_certificate = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &authority)
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![server_certificate.der().clone()], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let failures = Arc::clone(&failed_handshakes);
        let accept_loop = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, failures) = (acceptor.clone(), Arc::clone(&failures));
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(stream).await else {
                        failures.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        TlsFront {
            addr,
            authority: authority.der().clone(),
            failed_handshakes,
            accept_loop,
        }
    }

    fn unit_config(&self, server: &FakeServer, trust: bool) -> UnitConfig {
        UnitConfig {
            base_url: format!("https://localhost:{}", self.addr.port()),
            ca_certificates: if trust {
                vec![self.authority.clone()]
            } else {
                Vec::new()
            },
            ..config(server, TOKEN)
        }
    }
}

#[tokio::test]
async fn reports_and_commands_go_over_tls_to_a_trusted_server() {
    let mut server = FakeServer::start(TOKEN).await;
    let front = TlsFront::start(server.addr()).await;
    let unit = UnitClient::spawn(front.unit_config(&server, true)).unwrap();
    unit.wait_connected(PATIENCE).await.unwrap();
    let mut channel = server.next_connection().await;

    unit.report(fix(1)).unwrap();
    eventually("the fix delivered over https", || {
        unit.stats().fixes_sent == 1
    })
    .await;
    let command = super::command(Action::Unlock);
    channel.send_command(&command).await;
    assert_eq!(channel.next_ack().await, super::done(&command));
    assert_eq!(front.failed_handshakes.load(Ordering::SeqCst), 0);
    super::finish(unit, channel).await;
}

#[tokio::test]
async fn a_server_whose_certificate_is_not_trusted_gets_nothing() {
    let server = FakeServer::start(TOKEN).await;
    let front = TlsFront::start(server.addr()).await;
    let unit = UnitClient::spawn(front.unit_config(&server, false)).unwrap();
    unit.report(fix(1)).unwrap();
    // Both the report and the command channel try, and both refuse the certificate.
    eventually("handshakes refused by the unit", || {
        front.failed_handshakes.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(server.requests().is_empty());
    assert_eq!(server.upgrade_attempts(), 0);
    assert_eq!(unit.stats().fixes_buffered, 1);
    shut_down(unit).await.unwrap();
}
