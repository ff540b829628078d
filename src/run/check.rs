//! `dbdelta check`: connect to both sides and plan every table, comparing nothing (but for the
//! source's keys, checked against a coarser target key equality as `sync` would).

use crate::collisions::refuse_colliding_keys;
use crate::config::Job;
use crate::engine::Db;
use crate::prepare::prepare_table;
use anyhow::{Context, Result};

/// Connects to both sides and plans every table without comparing anything, telling `say` one
/// line per table (and its warnings); fails with the first reason a table cannot be synced.
pub async fn check(job: &Job, say: &mut dyn FnMut(&str)) -> Result<()> {
    let (source, target) = tokio::try_join!(
        async {
            Db::connect(&job.source, 1, false, job.connect_timeout)
                .await
                .with_context(|| format!("cannot connect to the source ({})", job.source.display))
        },
        async {
            Db::connect(&job.target, 1, false, job.connect_timeout)
                .await
                .with_context(|| format!("cannot connect to the target ({})", job.target.display))
        },
    )?;
    say(&format!("source: {} ({})", source.display, source.kind));
    say(&format!("target: {} ({})", target.display, target.kind));
    let mut result = Ok(());
    let mut planned = Vec::new();
    for table in &job.tables {
        let prepared = match prepare_table(&source, &target, table, &job.data_rules, false).await {
            Ok(plan) => refuse_colliding_keys(&source, &target, &plan)
                .await
                .map(|()| plan),
            Err(e) => Err(e),
        };
        match prepared {
            Ok(plan) => {
                let key: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
                say(&format!(
                    "ok: {}: {} columns compared, key ({}), mode {}",
                    plan.name,
                    plan.source.columns.len(),
                    key.join(", "),
                    plan.mode
                ));
                if let Some(rules) = &plan.rules {
                    say(&format!("  data rules: {}", rules.describe().join(", ")));
                }
                for w in &plan.warnings {
                    say(&format!("  warning: {w}"));
                }
                planned.push(plan);
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        let tables: Vec<(&str, Vec<&str>)> = planned
            .iter()
            .map(|p| {
                let columns = p.source.columns.iter().map(|c| c.name.as_str()).collect();
                (p.name.as_str(), columns)
            })
            .collect();
        for spec in job.data_rules.unused(&tables) {
            say(&format!(
                "warning: data rule `{}` ({}) matches no column of the tables checked",
                spec.written, spec.position
            ));
        }
    }
    tokio::join!(source.close(), target.close());
    result
}
