//! What the artifact does not claim (seed 003), carried in the artifact
//! itself so every reader sees the same limits.

use crate::artifact::Artifact;

pub fn claims_for(artifact: &Artifact) -> Vec<String> {
    let mut claims = vec![
        "It does not say why a service failed, only that a step reported a non-success status.".to_owned(),
        "It does not speculate about what happened inside gaps or what a complete chain would show.".to_owned(),
        "It does not claim that services absent from the trace were unaffected: absence of evidence is not evidence of absence.".to_owned(),
        "It does not claim causation between steps that are not linked by recorded parent propagation.".to_owned(),
        "Every link shown was recorded at runtime; none was inferred from timing.".to_owned(),
    ];
    if artifact.first_confirmed_break.is_none() && artifact.selection.trace_id.is_some() {
        claims.push("No first break is shown because no captured step failed; none was inferred.".to_owned());
    }
    if !artifact.ghost_services.is_empty() {
        claims.push(
            "Ghost service figures are caller-side observations; the ghost services themselves reported nothing."
                .to_owned(),
        );
    }
    if artifact.selection.trace_id.is_none() {
        claims.push(
            "No trace was found for this alert in the capture window; nothing is asserted about its cause.".to_owned(),
        );
    }
    claims
}
