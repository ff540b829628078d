//! `[data_rules]` and `data_rules_seed`: each rule checked with the file position of a mistake.
//! What the rules do is `crate::rules`.

use super::env::expand_env_if_set;
use super::expand_env;
use super::file::JobFile;
use super::position::JobText;
use crate::rules::{DataRules, Rule, RuleSpec, Seed, Target};
use anyhow::{bail, Context, Result};
use toml::Spanned;

/// The file's data rules with their seed; with `no_connection` (`list`, which copies nothing), a
/// seed whose variable is not set is left empty.
pub(super) fn read(file: &JobFile, at: JobText<'_>, no_connection: bool) -> Result<DataRules> {
    let specs = file
        .data_rules
        .iter()
        .map(|(key, rule)| rule_spec(key, rule, at))
        .collect::<Result<Vec<_>>>()?;
    let seed = seed(file.data_rules_seed.as_ref(), &specs, at, no_connection)?;
    Ok(DataRules { specs, seed })
}

/// One entry: `column`, `"table.column"` or a pattern, and its rule.
fn rule_spec(
    key: &Spanned<String>,
    rule: &Spanned<toml::Value>,
    at: JobText<'_>,
) -> Result<RuleSpec> {
    let written = key.get_ref().trim();
    if written.is_empty() || written.starts_with('.') || written.ends_with('.') {
        bail!(
            "{}: [data_rules] key {written:?} must name a column, `table.column` or a pattern",
            at.column_at(key.span().start)
        );
    }
    let parsed = Rule::parse(rule.get_ref()).map_err(|why| {
        let hint = match rule.get_ref() {
            // `users.email = …` unquoted is a nested table in TOML.
            toml::Value::Table(t) if !t.contains_key("rule") && !t.contains_key("value") => {
                format!(" (write a `table.column` key in quotes: \"{written}.…\" = …)")
            }
            _ => String::new(),
        };
        anyhow::anyhow!(
            "{}: [data_rules] {written:?}: {why}{hint}",
            at.column_at(rule.span().start)
        )
    })?;
    Ok(RuleSpec {
        written: written.to_string(),
        target: Target::parse(written),
        rule: parsed,
        position: at.column_at(key.span().start),
    })
}

/// `data_rules_seed` with `${VAR}` expanded; required when a rule hashes.
fn seed(
    written: Option<&Spanned<String>>,
    specs: &[RuleSpec],
    at: JobText<'_>,
    no_connection: bool,
) -> Result<Seed> {
    let Some(seed) = written else {
        if let Some(hash) = specs.iter().find(|s| s.rule == Rule::Hash) {
            bail!(
                "{}: [data_rules] {:?}: rule hash needs a secret: set `data_rules_seed = \"${{DBDELTA_SEED}}\"` \
                 at the top of the job file (before [source]) and export DBDELTA_SEED",
                hash.position,
                hash.written
            );
        }
        return Ok(Seed::default());
    };
    let here = at.column_at(seed.span().start);
    let context = || format!("{here}: data_rules_seed");
    let expanded = if no_connection {
        match expand_env_if_set(seed.get_ref()).with_context(context)? {
            Some(expanded) => expanded,
            None => return Ok(Seed::default()),
        }
    } else {
        expand_env(seed.get_ref()).with_context(context)?
    };
    if expanded.is_empty() {
        bail!("{here}: data_rules_seed is empty");
    }
    Ok(Seed::new(&expanded))
}
