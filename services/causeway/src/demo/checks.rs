//! Does the artifact show what the demo injected? Each expectation is
//! reported as met or not; a miss is a warning for the reader (and a
//! failed assertion in the tests), never a panic.

use causeway_assembly::{Artifact, CompletenessLabel};

use super::topology::{ALERTING_SERVICE, BREAK_STATUS, BREAKING_SERVICE, GHOST, SERVICES};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub met: bool,
    pub message: String,
}

fn check(met: bool, expected: String, found: impl FnOnce() -> String) -> Check {
    let message = if met {
        expected
    } else {
        format!("expected {expected}, found {}", found())
    };
    Check { met, message }
}

/// The injected failure, the ghost, the five services and a full chain.
pub fn expectations(artifact: &Artifact) -> Vec<Check> {
    let first_break = artifact.first_confirmed_break.as_ref();
    let ghosts: Vec<&str> = artifact
        .ghost_services
        .iter()
        .map(|ghost| ghost.peer.as_str())
        .collect();
    let missing: Vec<&str> = SERVICES
        .iter()
        .map(|service| service.name)
        .filter(|name| !artifact.affected_services.iter().any(|affected| affected == name))
        .collect();
    vec![
        check(
            first_break.is_some_and(|b| b.service == BREAKING_SERVICE && b.status == BREAK_STATUS),
            format!(
                "the first confirmed break is {BREAKING_SERVICE} answering {BREAK_STATUS}, where the failure was injected"
            ),
            || first_break.map_or_else(|| "no break".to_owned(), |b| b.summary.clone()),
        ),
        check(
            ghosts.contains(&GHOST),
            format!("{GHOST} shows as a ghost service: payments calls it and it never reports"),
            || format!("ghosts {ghosts:?}"),
        ),
        check(
            missing.is_empty(),
            format!("the chain crosses all {} instrumented services", SERVICES.len()),
            || format!("{missing:?} missing from {:?}", artifact.affected_services),
        ),
        check(
            artifact.completeness.label == CompletenessLabel::Full,
            "completeness is full: every link was captured (a ghost does not lower it)".to_owned(),
            || {
                format!(
                    "{:?}: {}",
                    artifact.completeness.label, artifact.completeness.explanation
                )
            },
        ),
        check(
            artifact.alert.service == ALERTING_SERVICE,
            format!("the alert fired on {ALERTING_SERVICE}"),
            || artifact.alert.service.clone(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use causeway_assembly::{AssemblyInput, DEFAULT_PRE_ARM_NS, DEFAULT_SETTLE_NS, assemble};
    use causeway_model::{Alert, CausalEvent, decode_otlp_protobuf, decode_sdk_batch};

    use super::*;
    use crate::demo::flushes::flushes;
    use crate::demo::rng::Rng;
    use crate::demo::timeline::plan;
    use crate::demo::topology::Reporting;

    /// The whole demo through the real decoders and the real assembly,
    /// without a server: every expectation holds.
    #[test]
    fn the_demo_traffic_assembles_into_the_expected_artifact() {
        let now = 1_800_000_000_000_000_000;
        let timeline = plan(&mut Rng::seeded(21), now, 120);
        let mut events: Vec<CausalEvent> = Vec::new();
        for flush in flushes(&timeline.steps, now).expect("encode") {
            match flush.reporting {
                Reporting::SdkJson => events.extend(decode_sdk_batch(&flush.body, "t", now).expect("sdk").events),
                Reporting::Otlp => events.extend(decode_otlp_protobuf(&flush.body, "t", now).expect("otlp")),
            }
        }
        assert_eq!(events.len(), timeline.steps.len());
        let alert_json = format!(r#"{{"service":"web","fired_at":{now},"title":"web 5xx","source":"demo"}}"#);
        let alert = Alert::from_generic_json(alert_json.as_bytes(), "t", "a1".to_owned()).expect("alert");
        let artifact = assemble(&AssemblyInput {
            alert,
            pre_arm_ns: DEFAULT_PRE_ARM_NS,
            settle_ns: DEFAULT_SETTLE_NS,
            candidates: events.clone(),
            window_events: events,
            pre_arm_signals: Vec::new(),
            assembled_at_unix_ns: now + DEFAULT_SETTLE_NS,
            preselection: None,
            activity: None,
            window: Default::default(),
            cuts: Vec::new(),
            peer_calls: Default::default(),
        });
        let checks = expectations(&artifact);
        assert!(checks.iter().all(|c| c.met), "{checks:#?}");
        let lead = artifact.first_confirmed_break.expect("break").lead_ns;
        assert!((89_000_000_000..=90_000_000_000).contains(&lead), "lead {lead}");
    }

    #[test]
    fn a_miss_says_what_was_found() {
        let miss = check(false, "x".to_owned(), || "y".to_owned());
        assert_eq!((miss.met, miss.message.as_str()), (false, "expected x, found y"));
    }
}
