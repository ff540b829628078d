//! A TCP proxy on 127.0.0.1 that delays everything it forwards, so that a local server looks
//! far away (dbdelta treats a source 5 ms or more away as remote). It runs on a thread of its
//! own, so the blocking test that starts dbdelta does not stall it.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts a proxy to `upstream` that waits `delay` before forwarding each read, each way;
/// returns its port. It lives as long as the test process.
pub fn slow_link(upstream: SocketAddr, delay: Duration) -> u16 {
    let (ports, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("proxy runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
            let _ = ports.send(listener.local_addr().expect("proxy port").port());
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (from_client, to_client) = inbound.into_split();
                    let (from_server, to_server) = outbound.into_split();
                    tokio::join!(
                        pump(from_client, to_server, delay),
                        pump(from_server, to_client, delay)
                    );
                });
            }
        });
    });
    port.recv().expect("proxy started")
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        tokio::time::sleep(delay).await;
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
