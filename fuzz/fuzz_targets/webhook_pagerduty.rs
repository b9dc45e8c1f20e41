//! The PagerDuty V3 webhook payload, as the gateway decodes it once the
//! delivery is authenticated.
#![no_main]

use causeway_fuzz::{TENANT, check_delivery, mappings};
use causeway_model::AlertSource;
use causeway_model::webhooks::pagerduty;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mapping in mappings() {
        let outcome = pagerduty::decode(data, TENANT, &mapping, "alert-1".to_owned());
        check_delivery(&outcome, AlertSource::Pagerduty, &mapping);
    }
});
