//! Which form of the share link a client asked for. Browsers list
//! `text/html`; curl sends `*/*`, and scripts may ask for `text/plain`:
//! those keep the terminal waterfall, so only an explicit `text/html` that
//! is not ranked below `text/plain` gets the HTML page.

use axum::http::{HeaderMap, header};

/// The `q` a media range gives `wanted` (exact match only), 0 when absent.
fn quality(accept: &str, wanted: &str) -> u32 {
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim();
            if !media.eq_ignore_ascii_case(wanted) {
                return None;
            }
            let q = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .next()
                .map_or(1000, parse_q);
            Some(q)
        })
        .max()
        .unwrap_or(0)
}

/// `q` values as thousandths (`0.8` -> 800); malformed ones count as 0.
fn parse_q(text: &str) -> u32 {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: u32 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return 0,
    };
    let digits: String = fraction.chars().take(3).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let fraction = format!("{digits:0<3}").parse::<u32>().unwrap_or(0);
    (whole + fraction).min(1000)
}

/// Link unfurlers (chat apps fetching a pasted link for its preview) that
/// do not always ask for HTML but read its Open Graph tags.
const UNFURLERS: [&str; 6] = [
    "slackbot",
    "slack-imgproxy",
    "facebookexternalhit",
    "twitterbot",
    "discordbot",
    "linkedinbot",
];

pub fn wants_html(headers: &HeaderMap) -> bool {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if UNFURLERS.iter().any(|bot| agent.contains(bot)) {
        return true;
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let html = quality(accept, "text/html");
    html > 0 && html >= quality(accept, "text/plain")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_accept(accept: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(accept).expect("header"));
        wants_html(&headers)
    }

    #[test]
    fn browsers_get_html_and_terminals_get_text() {
        assert!(with_accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
        ));
        assert!(!with_accept("*/*"), "curl's default");
        assert!(!with_accept("text/plain"));
        assert!(!with_accept("text/plain, text/html;q=0.5"));
        assert!(with_accept("text/plain;q=0.5, text/html"));
        assert!(!with_accept("text/html;q=0"));
        assert!(!with_accept("text/html;q=abc"));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn link_unfurlers_get_html_whatever_they_accept() {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, HeaderValue::from_static("curl/8.5"));
        assert!(!wants_html(&headers));
        headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
        );
        assert!(wants_html(&headers));
    }

    #[test]
    fn q_values_parse_as_thousandths() {
        assert_eq!(parse_q("0.8"), 800);
        assert_eq!(parse_q("1"), 1000);
        assert_eq!(parse_q("1.0"), 1000);
        assert_eq!(parse_q("0.125"), 125);
        assert_eq!(parse_q("2"), 0);
    }
}
