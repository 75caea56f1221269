//! Alert delivery against real HTTP stand-ins for Discord and Telegram (and, for the outbox, a
//! real throwaway PostgreSQL).

mod support;

use std::time::Duration;

use support::fake_chat::{parse_markdown_v2, FakeDiscord, FakeTelegram, Reply};

#[test]
fn markdown_v2_stand_in_renders_escaped_text() {
    let r = parse_markdown_v2(r"*bold* a\_b\*c\[d\]\(e\)~f~ `co\`de` [x](http://a/\)b) \.")
        .expect("valid MarkdownV2");
    assert_eq!(r.text, "bold a_b*c[d](e)f co`de x .");
    assert_eq!(r.links, vec!["http://a/)b".to_string()]);
}

#[test]
fn markdown_v2_stand_in_rejects_what_telegram_rejects() {
    let err = |t: &str| parse_markdown_v2(t).expect_err(t);
    assert!(err("a.b").contains("Character '.' is reserved"));
    assert!(err("a-b").contains("Character '-' is reserved"));
    assert!(err("a_b").contains("Can't find end of Italic"));
    assert!(err("*a").contains("Can't find end of Bold"));
    assert!(err("[a](b").contains("Can't find end of a URL"));
    assert!(err("a]").contains("Character ']' is reserved"));
    assert!(err("`a").contains("Code"));
    // Inside a code span only ` and \ are special.
    assert_eq!(parse_markdown_v2("`a.b_c*`").unwrap().text, "a.b_c*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stand_ins_answer_from_their_script_and_record_requests() {
    let discord = FakeDiscord::start();
    discord.script([Reply::status(500), Reply::discord_429(0.5)]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let body = serde_json::json!({"content": "hi"});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = client.post(discord.url()).json(&body).send().await.unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, vec![500, 429, 204]);
    let received = discord.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].json()["content"], "hi");
    assert_eq!(discord.delivered().len(), 1);
    // An empty message is refused like Discord does.
    let r = client
        .post(discord.url())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let telegram = FakeTelegram::start();
    let url = format!(
        "{}/bot{}/sendMessage",
        telegram.api_base(),
        FakeTelegram::TOKEN
    );
    let send = |text: &str| {
        client.post(&url).json(&serde_json::json!({
            "chat_id": FakeTelegram::CHAT_ID, "text": text, "parse_mode": "MarkdownV2"
        }))
    };
    let bad = send("a_b").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let bad: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["error_code"], 400);
    assert!(bad["description"]
        .as_str()
        .unwrap()
        .starts_with("Bad Request: can't parse entities:"));
    let good = send(r"a\_b").send().await.unwrap();
    assert_eq!(good.status().as_u16(), 200);
    assert_eq!(telegram.messages_text(), vec!["a_b".to_string()]);
}
