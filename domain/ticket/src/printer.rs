//! Talking to a kitchen printer over TCP (port 9100, raw ESC/POS), with a time limit on every
//! step. A ticket counts as printed only when the printer says so:
//! 1. `DLE EOT 1` (and `2`) before sending: a printer that reports itself offline, out of paper
//!    or with its cover open gets nothing (data sent to a blocked printer would print later, on
//!    top of the backup's copy);
//! 2. the ticket, then `GS r 1`: the printer answers it only after everything before it,
//!    cut included, has been processed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub write: Duration,
    /// How long the printer may take to print and cut.
    pub confirm: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(3),
            write: Duration::from_secs(5),
            confirm: Duration::from_secs(15),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("injoignable ({0})")]
    Unreachable(String),
    #[error("hors ligne")]
    Offline,
    #[error("plus de papier")]
    PaperOut,
    #[error("capot ouvert")]
    CoverOpen,
    #[error("pas de réponse ({0})")]
    Timeout(&'static str),
    #[error("connexion coupée ({0})")]
    Io(String),
}

impl PrintError {
    /// Whether the printer may have printed before the error: a refusal (unreachable, no
    /// connection, offline, out of paper, cover open) leaves nothing to read; a connection cut
    /// or a silence after the bytes may have.
    pub fn may_have_printed(&self) -> bool {
        match self {
            PrintError::Timeout(stage) => *stage != "connexion",
            PrintError::Io(_) => true,
            _ => false,
        }
    }
}

async fn ask(s: &mut TcpStream, request: &[u8], wait: Duration) -> Result<u8, PrintError> {
    timeout(wait, s.write_all(request))
        .await
        .map_err(|_| PrintError::Timeout("envoi"))?
        .map_err(|e| PrintError::Io(e.to_string()))?;
    let mut b = [0u8; 1];
    match timeout(wait, s.read_exact(&mut b)).await {
        Ok(Ok(_)) => Ok(b[0]),
        Ok(Err(e)) => Err(PrintError::Io(e.to_string())),
        Err(_) => Err(PrintError::Timeout("état")),
    }
}

/// The printer's fault, if any (real-time status, answered even while it is blocked).
async fn fault(s: &mut TcpStream, wait: Duration) -> Result<Option<PrintError>, PrintError> {
    let printer = ask(s, &[0x10, 0x04, 1], wait).await?;
    if printer & 0x08 == 0 {
        return Ok(None);
    }
    let cause = ask(s, &[0x10, 0x04, 2], wait).await?;
    Ok(Some(if cause & 0x20 != 0 {
        PrintError::PaperOut
    } else if cause & 0x04 != 0 {
        PrintError::CoverOpen
    } else {
        PrintError::Offline
    }))
}

/// Prints `bytes` on `host:port`; `Ok` once the printer confirmed it up to the cut.
pub async fn print(host: &str, port: u16, bytes: &[u8], t: Timeouts) -> Result<(), PrintError> {
    let mut s = timeout(t.connect, TcpStream::connect((host, port)))
        .await
        .map_err(|_| PrintError::Timeout("connexion"))?
        .map_err(|e| PrintError::Unreachable(e.kind().to_string()))?;
    let _ = s.set_nodelay(true);
    if let Some(f) = fault(&mut s, t.write).await? {
        return Err(f);
    }
    timeout(t.write, s.write_all(bytes))
        .await
        .map_err(|_| PrintError::Timeout("envoi"))?
        .map_err(|e| PrintError::Io(e.to_string()))?;
    match ask(&mut s, &[0x1d, 0x72, 0x01], t.confirm).await {
        Ok(_) => Ok(()),
        Err(PrintError::Timeout(_)) => match fault(&mut s, t.write).await {
            Ok(Some(f)) => Err(f),
            _ => Err(PrintError::Timeout("impression")),
        },
        Err(e) => Err(e),
    }
}
