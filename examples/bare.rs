//! The benchmark's baseline: a bare axum handler that answers every POST with the same
//! Tencent-shaped JSON, validating nothing. `serve` is measured against it.
//!
//!     cargo run --release --example bare -- 127.0.0.1:0

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::post;

const ANSWER: &str = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().fallback(post(|| async {
        ([(CONTENT_TYPE, "application/json")], ANSWER)
    }));
    axum::serve(listener, app).await
}
