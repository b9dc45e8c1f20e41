//! `causeway topics create|describe`: the bus topics for operators. Names
//! come from `topics.prefix`; partitions and replication from the `topics`
//! section of the config (flags override it). The serving targets create
//! missing topics at startup too; this command lets operators do it ahead of
//! time and check partition leaders and offsets.

use std::path::PathBuf;

use anyhow::Context;
use causeway_bus::kafka::{KafkaBus, TopicInfo};
use causeway_bus::{TopicSpec, Topics};
use causeway_runtime::config::load;
use causeway_runtime::secret_url::SecretUrl;

use crate::config::CausewayConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    pub command: TopicsCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TopicsCommand {
    /// Create the topics that do not exist yet (existing ones are left as they are).
    Create(TopicsOptions),
    /// Show each topic's partitions, leaders, replicas and offsets (kafka:// only).
    Describe(TopicsOptions),
}

#[derive(Debug, Clone, clap::Args)]
pub struct TopicsOptions {
    /// TOML config file (the `bus` and `topics` settings are used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Bus URL: kafka://host:port[,host:port]?property=value&… (or embedded://PATH for create).
    #[arg(long, value_name = "URL")]
    pub bus: Option<SecretUrl>,
    /// Topic name prefix (default from `topics.prefix`).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Partitions of the CE topic (default from `topics.ce_partitions`).
    #[arg(long)]
    pub ce_partitions: Option<u32>,
    /// Partitions of the alert and artifact topics (default from `topics.alert_partitions`).
    #[arg(long)]
    pub alert_partitions: Option<u32>,
    /// Replication factor (default from `topics.replication`).
    #[arg(long)]
    pub replication: Option<u16>,
}

pub async fn run(args: TopicsArgs) -> anyhow::Result<()> {
    match args.command {
        TopicsCommand::Create(options) => create(&options).await,
        TopicsCommand::Describe(options) => describe(&options).await,
    }
}

/// The bus URL and the topic specs from config, env and flags.
fn resolve(options: &TopicsOptions) -> anyhow::Result<(SecretUrl, Vec<TopicSpec>)> {
    let config: CausewayConfig = load(options.config.as_deref(), std::env::vars())
        .map_err(|errors| anyhow::anyhow!("configuration: {errors}"))?;
    let bus = options.bus.clone().unwrap_or_else(|| config.bus.clone());
    anyhow::ensure!(
        !bus.is_empty(),
        "bus: set --bus, CAUSEWAY_BUS or `bus` in the config file (kafka://host:port)"
    );
    let prefix = options.prefix.clone().unwrap_or_else(|| config.topics.prefix.clone());
    let ce_partitions = options
        .ce_partitions
        .unwrap_or_else(|| config.topics.ce_partitions_for(bus.expose()));
    let alert_partitions = options.alert_partitions.unwrap_or(config.topics.alert_partitions);
    let replication = options.replication.unwrap_or(config.topics.replication);
    anyhow::ensure!(ce_partitions > 0 && alert_partitions > 0, "partitions must be above 0");
    anyhow::ensure!(replication > 0, "replication must be above 0");
    Ok((
        bus,
        topic_specs(
            &Topics::with_prefix(&prefix),
            ce_partitions,
            alert_partitions,
            replication,
        ),
    ))
}

/// The topic layout every target uses: the CE topic carries the load; alerts
/// and artifacts are small; the dead-letter topic needs one partition.
pub fn topic_specs(topics: &Topics, ce_partitions: u32, alert_partitions: u32, replication: u16) -> Vec<TopicSpec> {
    let spec = |name: &str, partitions: u32| TopicSpec {
        name: name.to_owned(),
        partitions,
        replication,
    };
    vec![
        spec(&topics.ce, ce_partitions),
        spec(&topics.alerts, alert_partitions),
        spec(&topics.artifacts, alert_partitions),
        spec(&topics.dead_letter, 1),
    ]
}

async fn create(options: &TopicsOptions) -> anyhow::Result<()> {
    let (bus_url, specs) = resolve(options)?;
    let bus = causeway_bus::open_bus(bus_url.expose())
        .await
        .with_context(|| format!("opening bus {bus_url}"))?;
    bus.ensure_topics(&specs).await.context("creating topics")?;
    for spec in &specs {
        println!(
            "{}: present (created with {} partitions, replication {} when missing)",
            spec.name, spec.partitions, spec.replication
        );
    }
    Ok(())
}

async fn describe(options: &TopicsOptions) -> anyhow::Result<()> {
    let (bus_url, specs) = resolve(options)?;
    anyhow::ensure!(
        bus_url.starts_with("kafka://"),
        "describe needs a kafka:// bus (the embedded bus keeps its topics as directories under its path)"
    );
    let bus = KafkaBus::open(bus_url.expose()).with_context(|| format!("opening bus {bus_url}"))?;
    let names: Vec<String> = specs.iter().map(|spec| spec.name.clone()).collect();
    let described = bus.describe_topics(&names).await.context("describing topics")?;
    print!("{}", render(&described));
    Ok(())
}

/// The describe output: one block per topic, one line per partition.
pub fn render(topics: &[TopicInfo]) -> String {
    let mut out = String::new();
    for topic in topics {
        let Some(partitions) = &topic.partitions else {
            out.push_str(&format!("{}: missing (run `causeway topics create`)\n", topic.name));
            continue;
        };
        let records: i64 = partitions.iter().map(|p| p.high_watermark - p.low_watermark).sum();
        let replication = partitions.iter().map(|p| p.replicas.len()).max().unwrap_or_default();
        out.push_str(&format!(
            "{}: {} partitions, replication {}, {} records held\n",
            topic.name,
            partitions.len(),
            replication,
            records
        ));
        for p in partitions {
            out.push_str(&format!(
                "  partition {:>3}  leader {:>3}  replicas {:?}  in-sync {:?}  offsets {}..{}\n",
                p.id, p.leader, p.replicas, p.in_sync_replicas, p.low_watermark, p.high_watermark
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use causeway_bus::kafka::PartitionInfo;

    use super::*;

    #[test]
    fn specs_follow_the_prefix_and_sizes() {
        let specs = topic_specs(&Topics::with_prefix("acme"), 12, 3, 3);
        let summary: Vec<(&str, u32, u16)> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.partitions, s.replication))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("acme.ce", 12, 3),
                ("acme.alerts", 3, 3),
                ("acme.artifacts", 3, 3),
                ("acme.dead-letter", 1, 3)
            ]
        );
    }

    #[test]
    fn render_shows_missing_topics_and_offsets() {
        let text = render(&[
            TopicInfo {
                name: "causeway.ce".into(),
                partitions: Some(vec![PartitionInfo {
                    id: 0,
                    leader: 1,
                    replicas: vec![1],
                    in_sync_replicas: vec![1],
                    low_watermark: 2,
                    high_watermark: 9,
                }]),
            },
            TopicInfo {
                name: "causeway.alerts".into(),
                partitions: None,
            },
        ]);
        assert!(
            text.contains("causeway.ce: 1 partitions, replication 1, 7 records held"),
            "{text}"
        );
        assert!(text.contains("offsets 2..9"), "{text}");
        assert!(text.contains("causeway.alerts: missing"), "{text}");
    }
}
