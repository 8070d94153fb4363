//! `ev-rental probe URL`: a health check for container engines that needs no curl in the image.
//!
//! The runtime image carries the server binary and nothing else, so the binary checks itself:
//! one plain HTTP/1.1 GET to a local address, success when the answer is 2xx. Only `http://` is
//! spoken: a health check runs beside the server, before any TLS proxy.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the whole probe may take: container engines run health checks every few seconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not `http://host:port/path`.
    #[error("{0:?} is not an http:// URL with a host")]
    Url(String),
    /// No connection, or the exchange broke off.
    #[error("no answer from {address}")]
    Io {
        /// Where the probe went.
        address: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// Nothing within [`PROBE_TIMEOUT`].
    #[error("no answer within {} s", PROBE_TIMEOUT.as_secs())]
    Timeout,
    /// An answer, but not a success.
    #[error("answered {0:?}")]
    Status(String),
}

/// The host and port to connect to, and the path to ask for.
fn split_url(url: &str) -> Result<(String, String), ProbeError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ProbeError::Url(url.to_owned()))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains(['@', ' ']) || path.contains([' ', '\r', '\n']) {
        return Err(ProbeError::Url(url.to_owned()));
    }
    let address = if authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((address, path.to_owned()))
}

/// Asks `url` once; `Ok` with the status line when the answer is 2xx.
pub async fn probe(url: &str) -> Result<String, ProbeError> {
    let (address, path) = split_url(url)?;
    let exchange = async {
        let io = |source| ProbeError::Io {
            address: address.clone(),
            source,
        };
        let mut stream = TcpStream::connect(&address).await.map_err(io)?;
        let host = address
            .rsplit_once(':')
            .map_or(address.as_str(), |(h, _)| h);
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut head = vec![0; 256];
        let mut read = 0;
        while read < head.len() && !head[..read].contains(&b'\n') {
            match stream.read(&mut head[read..]).await.map_err(io)? {
                0 => break,
                n => read += n,
            }
        }
        let text = String::from_utf8_lossy(&head[..read]);
        let status = text.lines().next().unwrap_or_default().trim().to_owned();
        let code = status.split_whitespace().nth(1).unwrap_or_default();
        if status.starts_with("HTTP/1.") && code.len() == 3 && code.starts_with('2') {
            Ok(status)
        } else {
            Err(ProbeError::Status(status))
        }
    };
    tokio::time::timeout(PROBE_TIMEOUT, exchange)
        .await
        .map_err(|_| ProbeError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_into_an_address_and_a_path() {
        let split = |url: &str| split_url(url).map_err(|error| error.to_string());
        assert_eq!(
            split("http://127.0.0.1:8080/readyz"),
            Ok(("127.0.0.1:8080".to_owned(), "/readyz".to_owned()))
        );
        assert_eq!(
            split("http://localhost"),
            Ok(("localhost:80".to_owned(), "/".to_owned()))
        );
        assert_eq!(
            split("http://[::1]:9000/healthz"),
            Ok(("[::1]:9000".to_owned(), "/healthz".to_owned()))
        );
        assert!(split("https://example.com/").is_err());
        assert!(split("http:///readyz").is_err());
        assert!(split("http://a b/").is_err());
    }

    #[tokio::test]
    async fn a_2xx_passes_and_anything_else_fails() {
        use tokio::net::TcpListener;
        let serve = |answer: &'static str| async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = vec![0; 1024];
                let _ = socket.read(&mut request).await.unwrap();
                socket.write_all(answer.as_bytes()).await.unwrap();
            });
            format!("http://{address}/readyz")
        };
        let ok = serve("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        assert_eq!(probe(&ok).await.unwrap(), "HTTP/1.1 200 OK");
        let busy = serve("HTTP/1.1 503 Service Unavailable\r\n\r\n").await;
        assert!(matches!(probe(&busy).await, Err(ProbeError::Status(_))));
        let closed = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            drop(listener);
            format!("http://{address}/")
        };
        assert!(matches!(probe(&closed).await, Err(ProbeError::Io { .. })));
    }
}
