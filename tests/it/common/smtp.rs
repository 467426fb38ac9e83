//! A small SMTP sink for tests: speaks enough SMTP (EHLO/HELO, MAIL, RCPT,
//! DATA, RSET, NOOP, QUIT) for lettre, and hands every message it accepts to
//! the test through a channel, so the test waits on the message itself.
//! No TLS, no AUTH: the app under test connects with a plain `smtp://` URL.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-stuffing undone.
    pub data: String,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    mail: mpsc::UnboundedReceiver<Mail>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let addr = listener.local_addr().expect("SMTP sink address");
        let (tx, mail) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, tx.clone()));
            }
        });
        SmtpSink { addr, mail, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The next message accepted, or a panic after `within`.
    pub async fn next_mail(&mut self, within: Duration) -> Mail {
        tokio::time::timeout(within, self.mail.recv())
            .await
            .expect("a message reaches the SMTP sink in time")
            .expect("SMTP sink is running")
    }
}

impl SmtpSink {
    /// Every message that arrives until none has for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Mail> {
        let mut all = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(quiet, self.mail.recv()).await {
            all.push(m);
        }
        all
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: tokio::net::TcpStream, tx: mpsc::UnboundedSender<Mail>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 sink.test ESMTP\r\n").await.is_err() {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                from = address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(&command));
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "DATA" => {
                if write
                    .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let text = line.trim_end_matches(['\r', '\n']);
                    if text == "." {
                        break;
                    }
                    // Dot-stuffing: a line the client began with "." was sent as "..".
                    data.push_str(text.strip_prefix('.').unwrap_or(text));
                    data.push('\n');
                }
                let _ = tx.send(Mail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 command not implemented\r\n",
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// The address inside `<…>` of a MAIL FROM or RCPT TO line.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(addr, _)| addr.to_owned())
        .unwrap_or_default()
}
