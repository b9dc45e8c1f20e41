//! Bus and store URLs carry credentials (`sasl.password=…`,
//! `user:password@host`). [`SecretUrl`] holds one and only ever shows it
//! redacted (`sasl.password=***`) through `Debug` and `Display`, so a log
//! line, an error or a `{:?}` of the whole config cannot leak it; the wiring
//! asks for the real text with [`SecretUrl::expose`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a redacted value is shown as.
pub const REDACTED: &str = "***";

/// Whether a URL query key names a secret: any key containing `password`
/// or `secret` (`sasl.password`, `ssl.key.password`,
/// `sasl.oauthbearer.client.secret`), in any case.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret")
}

/// `url` with the password of its userinfo (`user:***@host`) and the value of
/// every secret query key (see [`is_secret_key`]) replaced by `***`. Keys are
/// matched after percent-decoding, so `sasl%2Epassword` is caught too.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(before_query);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if is_secret_key(&percent_decode_lossy(key)) => format!("{key}={REDACTED}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`.
fn redact_userinfo(head: &str) -> String {
    let Some((scheme, rest)) = head.split_once("://") else {
        return head.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, hosts)) = authority.rsplit_once('@') else {
        return head.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:{REDACTED}"),
        None => userinfo.to_owned(),
    };
    format!("{scheme}://{user}@{hosts}{path}")
}

fn percent_decode_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A bus or store URL that may hold credentials. Serialized and parsed as
/// the plain text; shown only redacted.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The real URL, for opening the bus or the store. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA: &str = "kafka://b1:9093,b2:9093?security.protocol=SASL_SSL&sasl.username=causeway\
        &sasl.password=s3cr%26t&ssl.key.password=hunter2&sasl.oauthbearer.client.secret=tok&SASL%2EPASSWORD=x1";

    #[test]
    fn secret_query_values_are_masked_and_the_rest_kept() {
        let shown = redact_url(KAFKA);
        for secret in ["s3cr", "hunter2", "tok", "x1"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("sasl.password=***"), "{shown}");
        assert!(shown.contains("sasl.username=causeway"), "{shown}");
        assert!(
            shown.starts_with("kafka://b1:9093,b2:9093?security.protocol=SASL_SSL"),
            "{shown}"
        );
    }

    #[test]
    fn userinfo_passwords_are_masked() {
        assert_eq!(
            redact_url("scylla://admin:pa55@n1,n2/causeway?consistency=one"),
            "scylla://admin:***@n1,n2/causeway?consistency=one"
        );
        assert_eq!(redact_url("scylla://admin@n1/ks"), "scylla://admin@n1/ks");
        assert_eq!(redact_url("embedded:///var/lib/bus"), "embedded:///var/lib/bus");
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let url = SecretUrl::new(KAFKA);
        for shown in [format!("{url}"), format!("{url:?}"), format!("{:?}", Some(&url))] {
            assert!(!shown.contains("s3cr") && !shown.contains("hunter2"), "{shown}");
        }
        assert_eq!(url.expose(), KAFKA);
    }
}
