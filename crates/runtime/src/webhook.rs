//! Posting JSON to a webhook someone else runs (Slack's `response_url` and
//! incoming webhooks): a timeout per attempt, a few attempts with backoff
//! on failures that may heal, and logs that name the host only (a webhook
//! URL is a credential).

use std::time::Duration;

/// Longest wait for one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before giving up.
pub const MAX_ATTEMPTS: u32 = 3;

/// A client for webhook posts: bounded connect and request time, no
/// redirects (a redirect could carry the body elsewhere).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// The URL as it may be logged: scheme and host, never path or query.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!("{}://{}/…", parsed.scheme(), parsed.host_str().unwrap_or("?")),
        Err(_) => "(unparseable url)".to_owned(),
    }
}

/// Posts `body` once it is accepted (2xx), retrying connection errors, 429
/// and 5xx up to [`MAX_ATTEMPTS`]; another 4xx is final. The error is safe
/// to log.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &serde_json::Value) -> Result<(), String> {
    let mut backoff = Duration::from_millis(250);
    let mut last = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        match client.post(url).json(body).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let status = response.status();
                last = format!("{} answered {status}", redact(url));
                if !(status.is_server_error() || status.as_u16() == 429) {
                    return Err(last);
                }
            }
            Err(err) => last = format!("{}: {}", redact(url), err.without_url()),
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(backoff).await;
            backoff *= 4;
        }
    }
    Err(format!("{last} (after {MAX_ATTEMPTS} attempts)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn https_is_supported() {
        // Nothing listens on port 1: the attempt fails connecting, not on
        // the scheme (a client without TLS refuses https URLs outright).
        let err = client()
            .post("https://127.0.0.1:1/hook")
            .send()
            .await
            .expect_err("nothing listens");
        assert!(err.is_connect(), "{err:?}");
    }

    #[test]
    fn redaction_keeps_only_scheme_and_host() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact("not a url"), "(unparseable url)");
    }
}
