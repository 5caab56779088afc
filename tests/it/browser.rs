//! The inspector's page in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) against the real binary. Not run by `cargo test`, which must pass on a
//! machine without a browser; `.ci/run` installs both and runs it:
//!
//!     cargo test --test it browser -- --ignored
//!
//! It saves a screenshot of the page to `target/inspector.png`.

use crate::inspect::{inspected, paste, send};
use crate::webdriver::{Browser, click, until};
use fantoccini::Client;
use fantoccini::Locator;
use serde_json::{Value, json};

/// Where the screenshot goes, for the CI log.
pub const SCREENSHOT: &str = "target/inspector.png";

#[tokio::test]
#[ignore = "needs chromium and chromium-driver: cargo test --test it browser -- --ignored"]
async fn browser_shows_rows_live_replays_them_shows_the_diff_and_copies_a_send_that_makes_the_row()
{
    let inspected = inspected(&["--refuse", "jared", "--refuse", "anna"]);
    let browser = Browser::start().await;
    // The checks run in a task of their own, so that the browser is closed whatever they find.
    let looked = tokio::spawn(look(
        browser.client.clone(),
        inspected.page.clone(),
        inspected.serve.url.clone(),
    ))
    .await;
    browser.stop().await;
    if let Err(failed) = looked {
        std::panic::resume_unwind(failed.into_panic());
    }
}

/// The id and decision of every row, newest first, once there are `count`.
async fn rows(client: &Client, count: usize) -> Value {
    until(
        client,
        &format!("{count} rows"),
        &format!(
            "const rows = [...document.querySelectorAll('#rows tr')];
             return rows.length === {count} && rows.map(r => [Number(r.dataset.id), r.querySelector('.decision').textContent, r.querySelector('.flags').textContent]);"
        ),
    )
    .await
}

/// Clicks row `id` and waits for its detail, rendered by this click: the detail shown may be
/// #id's already, and its render arriving after the next click (on `#edit`, say) would undo it.
async fn open(client: &Client, id: u64) {
    client
        .execute(
            "const h = document.querySelector('#detail h2'); if (h) h.dataset.stale = 'yes';",
            Vec::new(),
        )
        .await
        .unwrap();
    click(client, &format!("#rows tr[data-id=\"{id}\"]")).await;
    until(
        client,
        &format!("the detail of #{id}"),
        &format!("const h = document.querySelector('#detail h2'); return !!h && !h.dataset.stale && h.textContent.startsWith('#{id} ');"),
    )
    .await;
}

async fn look(client: Client, page: String, webhook: String) {
    client.goto(&format!("{page}/")).await.unwrap();
    until(
        &client,
        "the stream live",
        "return document.getElementById('status').textContent === 'live';",
    )
    .await;

    // Three callbacks sent: three rows with their decisions, without a reload.
    send(&webhook, "before-subscribe", &[]);
    send(&webhook, "after-unsubscribe", &[]);
    send(
        &webhook,
        "before-subscribe",
        &["--subscriber", "bob", "--subscriber", "anna"],
    );
    assert_eq!(
        rows(&client, 3).await,
        json!([
            [3, "subscribes bob; refuses anna", ""],
            [2, "ignores the answer (after callback)", ""],
            [1, "subscribes leckie; refuses jared", ""]
        ])
    );
    let verdict = client
        .find(Locator::Css("#rows tr[data-id=\"1\"] .verdict"))
        .await
        .unwrap();
    assert_eq!(verdict.text().await.unwrap(), "✔ authentic");

    // Replay: a new row, marked, with the same decision.
    open(&client, 1).await;
    click(&client, "#replay").await;
    assert_eq!(
        rows(&client, 4).await[0],
        json!([4, "subscribes leckie; refuses jared", "↻ #1: same decision"])
    );

    // Edit & replay with another subscriber, whom serve refuses: the decision diff.
    open(&client, 1).await;
    click(&client, "#edit").await;
    let subscribers = client
        .find(Locator::Css("#edit-subscribers"))
        .await
        .unwrap();
    subscribers.clear().await.unwrap();
    subscribers.send_keys("anna, leckie").await.unwrap();
    let edited = client.find(Locator::Css("#edit-body")).await.unwrap();
    let body: Value = serde_json::from_str(&edited.prop("value").await.unwrap().unwrap()).unwrap();
    assert_eq!(
        body["SubscribeAccountList"],
        json!([{"Subscriber_Account": "anna"}, {"Subscriber_Account": "leckie"}])
    );
    click(&client, "#edit-send").await;
    let diff = until(
        &client,
        "the decision diff",
        "const c = document.getElementById('comparison');
         return !!c && [c.querySelector('.comparison-status').textContent,
                        document.getElementById('comparison-message').textContent,
                        c.querySelector('.was').textContent, c.querySelector('.now').textContent];",
    )
    .await;
    assert_eq!(
        diff,
        json!([
            "✘ decision changed",
            "was: subscribes leckie; refuses jared / now: subscribes leckie; refuses anna",
            "was (#1)subscribes leckie; refuses jared",
            "now (this row)subscribes leckie; refuses anna"
        ])
    );
    assert_eq!(
        rows(&client, 5).await[0],
        json!([
            5,
            "subscribes leckie; refuses anna",
            "↻ #1 edited: decision changed"
        ])
    );

    // Copy as `oa-hook send`: pasted into a shell, it makes the row again.
    open(&client, 1).await;
    click(&client, "#copy-send").await;
    let command = until(
        &client,
        "the command copied",
        "return document.getElementById('copied').textContent || false;",
    )
    .await;
    let command = command.as_str().unwrap();
    assert!(
        command.contains("| oa-hook send before-subscribe --url"),
        "{command}"
    );
    assert!(paste(command).success(), "{command}");
    assert_eq!(
        rows(&client, 6).await[0],
        json!([6, "subscribes leckie; refuses jared", ""])
    );

    // The edited replay and its diff, for the CI log.
    open(&client, 5).await;
    until(
        &client,
        "the diff of #5",
        "return !!document.getElementById('comparison');",
    )
    .await;
    let png = client.screenshot().await.unwrap();
    std::fs::create_dir_all("target").unwrap();
    std::fs::write(SCREENSHOT, &png).unwrap();
    println!(
        "screenshot of the inspector: {SCREENSHOT} ({} bytes)",
        png.len()
    );
}
