//! The stdio transport through the library, over an in-memory pipe: a line over the length
//! limit is answered with -32600 and skipped without being buffered, the session goes on, and
//! a last request without a newline is still answered when the input closes.

use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use vigil_memory::lines::MAX_LINE;
use vigil_memory::server::serve_lines;
use vigil_memory::{Limits, Store};

#[tokio::test(flavor = "current_thread")]
async fn an_over_long_line_is_refused_and_the_session_goes_on() {
    let t = tempfile::tempdir().unwrap();
    let store = Store::open(
        &t.path().join("mem"),
        Limits {
            fsync: false,
            ..Limits::default()
        },
    )
    .unwrap();
    let (client, server) = tokio::io::duplex(1 << 16);
    let (server_in, server_out) = tokio::io::split(server);
    let task = tokio::spawn(serve_lines(
        Arc::new(store),
        "alice".into(),
        server_in,
        server_out,
    ));
    let (client_in, mut client_out) = tokio::io::split(client);
    let mut answers = BufReader::new(client_in).lines();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    client_out
        .write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&answers.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["id"], 1, "{v}");
    client_out
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .unwrap();
    // A line of MAX_LINE + 1 MiB, written in chunks while the answers are read.
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 1 << 20];
        client_out.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"memory_write\",\"arguments\":{\"path\":\"a.md\",\"content\":\"").await.unwrap();
        for _ in 0..(MAX_LINE >> 20) + 1 {
            client_out.write_all(&chunk).await.unwrap();
        }
        client_out.write_all(b"\"}}}\n").await.unwrap();
        let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"memory_write","arguments":{"path":"b.md","content":"kept"}}}"#;
        client_out
            .write_all(format!("{call}\n").as_bytes())
            .await
            .unwrap();
        // The last request has no newline: the end of input ends it.
        let read = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"memory_read","arguments":{"path":"b.md"}}}"#;
        client_out.write_all(read.as_bytes()).await.unwrap();
        client_out.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    while let Some(line) = answers.next_line().await.unwrap() {
        got.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
    }
    writer.await.unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0]["error"]["code"], -32600, "{}", got[0]);
    assert!(got[0]["id"].is_null(), "{}", got[0]);
    assert_eq!(got[1]["id"], 3, "{}", got[1]);
    assert_eq!(got[1]["result"]["isError"], false, "{}", got[1]);
    assert_eq!(got[2]["id"], 4, "{}", got[2]);
    assert_eq!(
        got[2]["result"]["structuredContent"]["content"], "kept",
        "{}",
        got[2]
    );
    assert!(!t.path().join("mem/files/a.md").exists());
}
