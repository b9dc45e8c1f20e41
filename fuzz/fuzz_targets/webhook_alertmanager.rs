//! The Prometheus Alertmanager webhook payload (version 4), as the gateway decodes it once the
//! delivery is authenticated: one alert per firing entry, at most
//! `MAX_ALERTS_PER_DELIVERY`.
#![no_main]

use causeway_fuzz::{TENANT, check_delivery, mappings};
use causeway_model::AlertSource;
use causeway_model::webhooks::Delivery;
use causeway_model::webhooks::alertmanager::{MAX_ALERTS_PER_DELIVERY, Sender, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mapping in mappings() {
        let mut minted = 0;
        let outcome = decode(data, Sender::Alertmanager, TENANT, "service", &mapping, || {
            minted += 1;
            format!("alert-{minted}")
        });
        check_delivery(&outcome, AlertSource::Alertmanager, &mapping);
        if let Ok(Delivery::Alerts { alerts, ignored }) = &outcome {
            assert!(alerts.len() + ignored <= MAX_ALERTS_PER_DELIVERY);
            assert_eq!(alerts.len(), minted, "one id per alert");
        }
    }
});
