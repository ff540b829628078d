//! Key equality across the two sides: a table whose target takes two of the source's keys for
//! one key is refused before anything is written.
//!
//! A target may compare keys more coarsely than the source (a case- or accent-insensitive
//! collation, MariaDB's `PAD SPACE` collations, `utf8mb4_bin` among them, which ignore trailing
//! spaces, SQLite `NOCASE`, PostgreSQL `citext` or a nondeterministic collation). A source
//! holding `'a'` and `'A'` then has two rows the target can only hold as one: every sync would
//! write one over the other and report success, while `diff` would never come out equal. So,
//! where the table's plan says the source's equality may be finer
//! ([`TablePlan::keys_may_collide`], from each key column's
//! [`Dialect::key_equality`](crate::engine::Dialect::key_equality)), the source subset's keys are
//! read once and added, in batches, to a temporary table on one target connection whose key
//! columns are declared exactly as the target's ([`KeyTable`]), and the target is asked for a
//! group of them its own equality takes for one key. The target's equality decides, exactly;
//! no collation is approximated in this process. One such pair stops the run (exit 2) with a
//! message naming table, column and the pair.
//!
//! Where no two source keys collide, a coarse target is still written safely: deletes by key
//! also compare exactly, and upserts write the key columns too (see
//! [`TableSide::coarse_key`](crate::engine::TableSide::coarse_key)).

use crate::convert::fit_row;
use crate::engine::{Column, Db, Dialect, Identity, KeyEquality, KeyTable};
use crate::schema::TablePlan;
use crate::value::{key_to_string, Key};
use anyhow::{bail, Context, Result};

/// Source keys read (and added to the key table) at a time.
const BATCH: usize = 10_000;

/// Fails, naming a pair, when the target's key equality takes two keys of the source's subset
/// for one; does nothing where the plan says that cannot happen. First, a key the job file
/// names without a unique index on the source must hold each key once in the source's subset
/// ([`Identity::Unindexed`]): one grouped scan, failing with the first key found twice.
pub async fn refuse_colliding_keys(source: &Db, target: &Db, plan: &TablePlan) -> Result<()> {
    refuse_duplicate_keys(source, plan).await?;
    if !plan.keys_may_collide {
        return Ok(());
    }
    let pair = colliding_pair(source, target, plan)
        .await
        .with_context(|| {
            format!(
                "table {}: cannot check the source's keys against the target's key equality",
                plan.name
            )
        })?;
    let Some((a, b)) = pair else {
        return Ok(());
    };
    bail!(
        "table {}: the target's {} treats {} and {} as the same key; the source holds both, so \
         the target cannot hold the source's rows. Nothing was written.",
        plan.name,
        describe_key(target.dialect(), plan),
        key_to_string(&a),
        key_to_string(&b)
    )
}

/// Fails, naming the first duplicate, when the source's subset holds a key on more than one
/// row where no unique index says it cannot. A query source is left to the comparison, which
/// refuses a key it returns twice.
async fn refuse_duplicate_keys(source: &Db, plan: &TablePlan) -> Result<()> {
    if plan.source.identity != Identity::Unindexed || plan.source.from_query {
        return Ok(());
    }
    let duplicate = source
        .first_duplicate_key(&plan.source)
        .await
        .with_context(|| {
            format!(
                "table {}: cannot check that the source's rows are unique on the key",
                plan.name
            )
        })?;
    let Some(key) = duplicate else {
        return Ok(());
    };
    let columns: Vec<&str> = plan.source.key_columns().map(|c| c.name.as_str()).collect();
    bail!(
        "table {}: the key ({}) has no unique index in the source, and the source holds more \
         than one row with the key {}; set `key` to columns that identify a row (or, for a table without a primary key, leave it \
         out to sync the table as a multiset of whole rows). Nothing was written.",
        plan.name,
        columns.join(", "),
        key_to_string(&key)
    )
}

/// Two keys of the source's subset that the target takes for one, if any.
async fn colliding_pair(source: &Db, target: &Db, plan: &TablePlan) -> Result<Option<(Key, Key)>> {
    let mut table = KeyTable::create(target, &plan.target)
        .await
        .context("cannot create a temporary table on the target")?;
    let target_key: Vec<Column> = plan.target.key_columns().cloned().collect();
    source
        .for_each_batch(&plan.source.keys_only(), BATCH, async |rows| {
            // As a sync would write them, so that the target compares the very values.
            let keys = rows
                .into_iter()
                .map(|key| fit_row(&plan.name, &key.clone(), key, &target_key, target.kind))
                .collect::<Result<Vec<_>>>()?;
            table.insert(keys).await
        })
        .await?;
    let pair = table.colliding_pair().await?;
    table.close().await?;
    Ok(pair)
}

/// `key column "code" (utf8mb4_general_ci)`, or for a composite key
/// `key ("region", "code"), column "code" (utf8mb4_general_ci)`: the key, and the columns that
/// compare coarsely with what makes them so (the collation, else the type: `citext`).
fn describe_key(dialect: &dyn Dialect, plan: &TablePlan) -> String {
    let coarse: Vec<String> = plan
        .target
        .key_columns()
        .filter(|c| dialect.key_equality(c) == KeyEquality::Coarse)
        .map(|c| {
            let equality = match c.collation_name() {
                Some(name) if name != "default" => name,
                _ => c.decl_type.as_str(),
            };
            format!("{:?} ({equality})", c.name)
        })
        .collect();
    let columns = if coarse.len() == 1 {
        "column"
    } else {
        "columns"
    };
    match plan.target.key.len() {
        1 => format!("key {columns} {}", coarse.join(", ")),
        _ => {
            let key: Vec<String> = plan
                .target
                .key_columns()
                .map(|c| format!("{:?}", c.name))
                .collect();
            format!("key ({}), {columns} {}", key.join(", "), coarse.join(", "))
        }
    }
}
