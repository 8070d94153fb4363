//! A small SMTP server for the tests: enough of RFC 5321 for lettre (greeting, EHLO, MAIL,
//! RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), recording each message it accepts.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub(super) struct Received {
    pub(super) from: String,
    pub(super) to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed.
    pub(super) data: String,
}

/// A running server; [`SmtpServer::stop`] (or the end of the test's runtime) closes the port.
pub(super) struct SmtpServer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Listens on 127.0.0.1:`port` (0 for any free port).
    pub(super) async fn start(port: u16) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            // The sessions live in the accept task: aborting it ends them all.
            let mut sessions = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(stream, store.clone()));
            }
        });
        SmtpServer {
            port,
            received,
            task,
        }
    }

    /// A port that was free a moment ago and is closed now: a relay that is down.
    pub(super) async fn down_port() -> u16 {
        let server = SmtpServer::start(0).await;
        let port = server.port();
        server.stop().await;
        port
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Closes the port and every session.
    pub(super) async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn session(stream: TcpStream, received: Arc<Mutex<Vec<Received>>>) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    if !reply(&mut writer, "220 test.local ESMTP ready\r\n").await {
        return;
    }
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => {
                "250-test.local greets you\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n".to_owned()
            }
            "HELO" => "250 test.local\r\n".to_owned(),
            "MAIL" => {
                current = Received {
                    from: address(command),
                    ..Received::default()
                };
                "250 2.1.0 OK\r\n".to_owned()
            }
            "RCPT" => {
                current.to.push(address(command));
                "250 2.1.5 OK\r\n".to_owned()
            }
            "DATA" => {
                if !reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                    return;
                }
                let Some(data) = read_data(&mut lines).await else {
                    return;
                };
                current.data = data;
                // Recorded before the 250, so a client that has its answer finds it here.
                received.lock().unwrap().push(std::mem::take(&mut current));
                "250 2.0.0 OK queued\r\n".to_owned()
            }
            "RSET" => {
                current = Received::default();
                "250 2.0.0 OK\r\n".to_owned()
            }
            "NOOP" => "250 2.0.0 OK\r\n".to_owned(),
            "QUIT" => {
                let _ = reply(&mut writer, "221 2.0.0 Bye\r\n").await;
                return;
            }
            _ => "502 5.5.2 Command not recognized\r\n".to_owned(),
        };
        if !reply(&mut writer, &answer).await {
            return;
        }
    }
}

async fn reply(writer: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    writer.write_all(text.as_bytes()).await.is_ok()
}

/// The address between `<` and `>` of a MAIL or RCPT command.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |at| at + 1);
    let end = command.find('>').unwrap_or(command.len());
    command.get(start..end).unwrap_or_default().to_owned()
}

/// The lines of a DATA section up to the lone `.`, with the leading dot of stuffed lines taken
/// away (RFC 5321, 4.5.2).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(lines: &mut R) -> Option<String> {
    let mut data = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Some(data.join("\r\n"));
        }
        data.push(text.strip_prefix('.').unwrap_or(text).to_owned());
    }
}
