//! A kitchen printer reduced to what the kitchen worker relies on, for the benchmark with the
//! stand-ins' share taken out: it answers `DLE EOT n` (real-time status: online, paper, cover
//! closed) and `GS r 1` (printed up to here) at once and throws the ticket's bytes away. The
//! tests keep the real emulator (emupos), which renders and keeps every ticket.
//!
//!     ocpizza-printer-sink 9201 9202 …    one listener per port on 127.0.0.1

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let ports: Vec<u16> = std::env::args()
        .skip(1)
        .map(|p| p.parse().with_context(|| format!("not a port: {p}")))
        .collect::<Result<_>>()?;
    anyhow::ensure!(!ports.is_empty(), "usage: ocpizza-printer-sink PORT…");
    let mut listeners = tokio::task::JoinSet::new();
    for port in ports {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("port {port}"))?;
        listeners.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream));
            }
        });
    }
    while listeners.join_next().await.is_some() {}
    Ok(())
}

/// Answers the status requests of one connection, whichever reads they straddle.
async fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 8192];
    // The last two bytes of the previous read, for a request split across reads.
    let mut tail: Vec<u8> = Vec::with_capacity(2);
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
        // The carried bytes start no window already looked at: each of those ended before them.
        let mut seen = std::mem::take(&mut tail);
        seen.extend_from_slice(&buf[..n]);
        let mut answers = Vec::new();
        for window in seen.windows(3) {
            match window {
                // Printer status: online (bit 3 clear); offline cause: no fault.
                [0x10, 0x04, _] => answers.push(0x12),
                // Paper sensor status, sent after everything before it was printed.
                [0x1d, 0x72, 1] => answers.push(0x00),
                _ => {}
            }
        }
        tail.extend_from_slice(&seen[seen.len().saturating_sub(2)..]);
        if !answers.is_empty() && stream.write_all(&answers).await.is_err() {
            return;
        }
    }
}
