//! The nine operation kinds and the status rule that says what failed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    HttpIn,
    HttpOut,
    QueuePublish,
    QueueConsume,
    JobStart,
    JobEnd,
    WebhookIn,
    WebhookOut,
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::HttpIn,
        Kind::HttpOut,
        Kind::QueuePublish,
        Kind::QueueConsume,
        Kind::JobStart,
        Kind::JobEnd,
        Kind::WebhookIn,
        Kind::WebhookOut,
        Kind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HttpIn => "HTTP_IN",
            Kind::HttpOut => "HTTP_OUT",
            Kind::QueuePublish => "QUEUE_PUBLISH",
            Kind::QueueConsume => "QUEUE_CONSUME",
            Kind::JobStart => "JOB_START",
            Kind::JobEnd => "JOB_END",
            Kind::WebhookIn => "WEBHOOK_IN",
            Kind::WebhookOut => "WEBHOOK_OUT",
            Kind::Internal => "INTERNAL",
        }
    }

    /// A call to another party whose callee may or may not report: the
    /// steps ghost services are counted from.
    pub fn is_outbound(self) -> bool {
        matches!(self, Kind::HttpOut | Kind::QueuePublish | Kind::WebhookOut)
    }

    /// A step that receives work from another party.
    pub fn is_inbound(self) -> bool {
        matches!(self, Kind::HttpIn | Kind::QueueConsume | Kind::WebhookIn)
    }

    /// Kinds whose status is a response status: 0 there means no response.
    pub fn is_request_response(self) -> bool {
        matches!(self, Kind::HttpIn | Kind::HttpOut | Kind::WebhookIn | Kind::WebhookOut)
    }

    /// The status rule of DESIGN §4: non-success when status >= 400, or 0
    /// on a request/response kind (no response: connection error, timeout).
    /// 0 on queue, job and internal kinds means "not recorded".
    pub fn is_non_success(self, status: u16) -> bool {
        status >= 400 || (status == 0 && self.is_request_response())
    }

    /// The protobuf enum value (`causeway.v1.Kind`).
    pub fn to_proto(self) -> i32 {
        match self {
            Kind::HttpIn => 1,
            Kind::HttpOut => 2,
            Kind::QueuePublish => 3,
            Kind::QueueConsume => 4,
            Kind::JobStart => 5,
            Kind::JobEnd => 6,
            Kind::WebhookIn => 7,
            Kind::WebhookOut => 8,
            Kind::Internal => 9,
        }
    }

    pub fn from_proto(value: i32) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.to_proto() == value)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown kind {0:?} (expected one of HTTP_IN HTTP_OUT QUEUE_PUBLISH QUEUE_CONSUME JOB_START JOB_END WEBHOOK_IN WEBHOOK_OUT INTERNAL)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownKind(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_proto_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(kind));
            assert_eq!(Kind::from_proto(kind.to_proto()), Some(kind));
        }
        assert!("http_in".parse::<Kind>().is_err());
        assert_eq!(Kind::from_proto(0), None);
        assert_eq!(Kind::from_proto(10), None);
    }

    #[test]
    fn status_zero_fails_only_request_response_kinds() {
        assert!(Kind::HttpOut.is_non_success(0));
        assert!(Kind::HttpIn.is_non_success(0));
        assert!(Kind::WebhookOut.is_non_success(0));
        assert!(!Kind::QueuePublish.is_non_success(0));
        assert!(!Kind::JobEnd.is_non_success(0));
        assert!(!Kind::Internal.is_non_success(0));
    }

    #[test]
    fn status_400_and_up_fails_every_kind() {
        for kind in Kind::ALL {
            assert!(kind.is_non_success(400), "{kind} 400");
            assert!(kind.is_non_success(503), "{kind} 503");
            assert!(!kind.is_non_success(200), "{kind} 200");
            assert!(!kind.is_non_success(399), "{kind} 399");
        }
    }
}
