//! The document around every page: head with Open Graph tags, the embedded
//! stylesheet, a skip link, and the optional script.

use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("share.js");

pub struct Head<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// The page's absolute URL, when one is known (`og:url` must be absolute).
    pub url: Option<&'a str>,
}

pub fn document(head: &Head<'_>, with_script: bool, body: Markup) -> Markup {
    let absolute_url = head
        .url
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"));
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                meta name="color-scheme" content="light dark";
                title { (head.title) }
                meta name="description" content=(head.description);
                meta property="og:type" content="article";
                meta property="og:site_name" content="causeway";
                meta property="og:title" content=(head.title);
                meta property="og:description" content=(head.description);
                @if let Some(url) = absolute_url {
                    meta property="og:url" content=(url);
                }
                meta name="twitter:card" content="summary";
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (body)
                @if with_script {
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
    }
}
