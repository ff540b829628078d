//! A randomized differential test of the comparison, for every pair of engines (PostgreSQL,
//! MariaDB and SQLite, each onto itself and each direction between two; one test per pair, so the
//! harness runs them concurrently): a table with a column of every kind (integers, a 38-digit
//! decimal, double, text with separators, quotes, `NULL` vs `''` vs `'NULL'` vs `'\N'` and
//! trailing spaces, a case-insensitive text column, boolean, bytes, date, time, timestamp, JSON
//! with numbers beyond `f64`) is seeded with the same rows on both sides, each in its own engine's
//! declarations and with only values both engines hold exactly (`tests/common/random.rs`). Across
//! engines the two sides spell equal JSON differently (key order, whitespace, `1e2` for `100`,
//! `1.50` for `1.5`, `-0` for `0`). The target is then changed at random: single values (case
//! only, NULL vs '' vs 'NULL' vs '\N', the last digit of a long number, one ulp, one microsecond,
//! the era, 24:00), one column's values swapped between two rows or rotated among three or four
//! rows of one chunk, a value moved across the separator between two text columns, deleted rows
//! and new keys.
//!
//! The table's key takes one of six shapes, chosen by the seed (`random::Shape::for_seed`): an
//! integer `id`; a UUID `k` (`uuid` on PostgreSQL, `binary(16)` between two MariaDB databases and
//! `char(36)` otherwise, `TEXT` on SQLite); `(k1 integer, k2 uuid)`; `(k1 integer, k2 date)`; a
//! text `k`; `(k1 integer, k2 text)`. Text keys mix case (`'key7'`, `'Key7'` and `'KEY7'` are
//! three keys), accents (precomposed and combining), `ß`, emoji, CJK, digits with leading zeros,
//! internal spaces and tabs, the empty text, and punctuation that a locale orders otherwise than
//! bytes do (`'_x'`, `'a'`, `'B'`, `'Z'`), but no NUL and no trailing space; every engine declares
//! them so that it tells every key apart: `varchar(100) … COLLATE utf8mb4_nopad_bin` on MariaDB,
//! `TEXT` (`BINARY`) on SQLite, and on PostgreSQL `text COLLATE "C"` for some seeds and `text`
//! under the database's default collation for others. The table is chunked by key ranges where
//! both sides order the key alike: the integer key on every pair; every key between two
//! PostgreSQL databases (composite ones as row values); the single `binary(16)` UUID and text
//! keys between two MariaDB databases; and the single text key between PostgreSQL's `C` and
//! MariaDB. Every other case (SQLite's loosely typed keys, PostgreSQL's default collation against
//! MariaDB, MariaDB's `char(36)` UUIDs, composite keys on MariaDB) is chunked by hash buckets.
//!
//! Each row keeps an integer identity, mapped onto the key columns when the test writes SQL and
//! mapped back from keys read back and listed: mutations and messages name rows by it.
//!
//! What is proven, for each case: the keys `dbdelta diff --json` lists are exactly the keys whose
//! rows differ when both sides are read back with sqlx and compared value for value
//! (`tests/common/exact.rs`, independent of dbdelta's own encoding: case, trailing spaces, eras,
//! `24:00`, every decimal digit and JSON numbers by exact value count; JSON key order, whitespace
//! and number notation do not), and `diff` exits 1 (0 when nothing differs); `sync` then makes the
//! target equal value for value and leaves the source as it was, a second `sync` writes no row,
//! and `diff` exits 0.
//!
//! Seeds: a fixed list of ten runs by default (each pair goes through every key shape, the text
//! ones under both PostgreSQL collations).
//! `DBDELTA_DIFF_SEEDS=N` runs N more random seeds per pair, and `DBDELTA_DIFF_SEED=<seed>` runs
//! only that seed. A failing case prints its pair, seed, key shape, chunk size and mutations
//! (rows named by their identities), and the command that replays it, for example
//! `DBDELTA_DIFF_SEED=7 DBDELTA_REQUIRE_SERVERS=1 cargo test --test it differential pg_to_mariadb`.

use crate::common::exact::{self, describe_differences, differing, Link, Listed, Rows};
use crate::common::random::{self, Gen, KeyIndex, Pairing, PgText, Shape};
use crate::common::{dbdelta, describe, Engine};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

const TABLE: &str = "mixed";

/// Seeds every run goes through.
const FIXED_SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/// The seeds to run: `DBDELTA_DIFF_SEED` alone, or the fixed ones and `DBDELTA_DIFF_SEEDS` more.
fn seeds(pair_index: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("DBDELTA_DIFF_SEED") {
        let seed = seed
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("DBDELTA_DIFF_SEED={seed:?} is not a number"));
        return vec![seed];
    }
    let extra: u64 = std::env::var("DBDELTA_DIFF_SEEDS")
        .ok()
        .map(|n| {
            n.trim()
                .parse()
                .unwrap_or_else(|_| panic!("DBDELTA_DIFF_SEEDS={n:?} is not a number"))
        })
        .unwrap_or(0);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ pair_index.rotate_left(32);
    let mut entropy = ChaCha8Rng::seed_from_u64(start);
    FIXED_SEEDS
        .into_iter()
        .chain((0..extra).map(|_| entropy.gen_range(1_000..u64::from(u32::MAX))))
        .collect()
}

/// The engine's name in test names.
fn short(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "pg",
        Engine::MySql => "mariadb",
        Engine::Sqlite => "sqlite",
    }
}

async fn every_seed(from: Engine, to: Engine, pair_index: u64) {
    let filter = format!("{}_to_{}", short(from), short(to));
    let Some(link) = Link::new(from, to).await else {
        return;
    };
    let mut failures = Vec::new();
    for seed in seeds(pair_index) {
        eprintln!(
            "{}: seed {seed}, key {:?}",
            link.name(),
            Shape::for_seed(seed)
        );
        if let Err(failure) = case(&link, seed, &filter).await {
            failures.push(failure);
        }
    }
    link.cleanup().await;
    assert!(
        failures.is_empty(),
        "{} of the seeds failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Both sides read back and normalised, keyed by the rows' integer identities.
async fn read_both(link: &Link, keys: &KeyIndex) -> (Rows, Rows) {
    let columns = random::read_columns();
    let pairing = Pairing {
        from: link.from,
        to: link.to,
    };
    let shape = keys.shape();
    let id_of = |key: &[Option<String>]| keys.of_read(key);
    (
        exact::read_keyed(
            link.source(),
            link.from,
            TABLE,
            &shape.read_columns(link.from, pairing),
            &columns,
            id_of,
        )
        .await,
        exact::read_keyed(
            link.target(),
            link.to,
            TABLE,
            &shape.read_columns(link.to, pairing),
            &columns,
            id_of,
        )
        .await,
    )
}

/// `dbdelta <args> --json`: the exit code and the report, or what went wrong.
fn run_json(link: &Link, args: &[&str]) -> Result<(i32, serde_json::Value), String> {
    let mut all = args.to_vec();
    all.push("--json");
    let output = dbdelta(link.dir(), &all);
    let code = output.status.code().unwrap_or(-1);
    serde_json::from_slice(&output.stdout)
        .map(|report| (code, report))
        .map_err(|e| {
            format!(
                "`{}` printed no JSON ({e}):\n{}",
                all.join(" "),
                describe(&output)
            )
        })
}

/// What a listing has that `expected` has not (`+`) and lacks (`-`), per kind.
fn listing_errors(listed: &Listed, expected: &Listed) -> String {
    let mut out = String::new();
    for (kind, got, want) in [
        (
            "only in source",
            &listed.only_in_source,
            &expected.only_in_source,
        ),
        (
            "only in target",
            &listed.only_in_target,
            &expected.only_in_target,
        ),
        ("changed", &listed.changed, &expected.changed),
    ] {
        let missed: Vec<&i64> = want.difference(got).collect();
        let extra: Vec<&i64> = got.difference(want).collect();
        if !missed.is_empty() {
            out.push_str(&format!("  {kind}: missed keys {missed:?}\n"));
        }
        if !extra.is_empty() {
            out.push_str(&format!(
                "  {kind}: listed keys that do not differ {extra:?}\n"
            ));
        }
    }
    out
}

/// One seeded case; `Err` carries everything needed to understand and replay a failure.
async fn case(link: &Link, seed: u64, filter: &str) -> Result<(), String> {
    let pairing = Pairing {
        from: link.from,
        to: link.to,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut gen = Gen {
        rng: &mut rng,
        pairing,
    };
    let vary = pairing.json_spellings_vary();
    // The key's shape; rows keep an integer identity, mapped onto the key columns.
    let shape = Shape::for_seed(seed);
    let keys = KeyIndex::new(shape, 2_000);
    link.source()
        .exec(&random::create_table(link.from, pairing, shape, TABLE))
        .await;
    link.target()
        .exec(&random::create_table(link.to, pairing, shape, TABLE))
        .await;

    // The same rows on both sides, keys with a few gaps (still dense: range-chunked).
    let count = gen.rng.gen_range(100..=200);
    let mut rows = BTreeMap::new();
    let mut key = 0;
    for _ in 0..count {
        key += if gen.chance(0.1) { 2 } else { 1 };
        rows.insert(key, gen.row());
    }
    let listed: Vec<(i64, &random::Row)> = rows.iter().map(|(k, r)| (*k, r)).collect();
    for batch in listed.chunks(50) {
        link.source()
            .exec(&random::insert(
                link.from,
                pairing,
                shape,
                TABLE,
                batch,
                &mut *gen.rng,
                vary,
            ))
            .await;
        link.target()
            .exec(&random::insert(
                link.to,
                pairing,
                shape,
                TABLE,
                batch,
                &mut *gen.rng,
                vary,
            ))
            .await;
    }
    let what = |mutations: &str, chunk_size: &str| {
        format!(
            "{} seed {seed}, key {shape:?}{chunk_size}{mutations}\nreplay: DBDELTA_DIFF_SEED={seed} \
             DBDELTA_REQUIRE_SERVERS=1 cargo test --test it differential {filter}",
            link.name()
        )
    };
    let (source, target) = read_both(link, &keys).await;
    if source != target {
        return Err(format!(
            "{}\nthe test seeded rows that read back differently (a bug in the test, not in dbdelta):\n{}",
            what("", ""),
            describe_differences(&source, &target, &random::read_columns())
        ));
    }

    // Random changes to the target.
    let mut target_rows = rows.clone();
    let wanted = gen.rng.gen_range(3..=10);
    let (mutations, statements) =
        random::mutate(&mut gen, &mut target_rows, wanted, TABLE, link.to, shape);
    for statement in &statements {
        link.target().exec(statement).await;
    }
    let chunk_size: u32 = gen.rng.gen_range(16..=25);
    let mutations: String = mutations.iter().map(|m| format!("\n  {m:?}")).collect();
    let context = what(
        &format!(", mutations:{mutations}"),
        &format!(", chunk_size {chunk_size}"),
    );

    let (source, target) = read_both(link, &keys).await;
    let expected = differing(&source, &target);
    let job = link.job(&format!(
        "[[tables]]\nname = \"{TABLE}\"\nchunk_size = {chunk_size}\n"
    ));

    // diff lists exactly the keys that differ.
    let (code, report) =
        run_json(link, &["diff", "-c", &job]).map_err(|e| format!("{context}\n{e}"))?;
    let listed = if code == 2 {
        None
    } else {
        Some(
            Listed::of_keys(&report, TABLE, |key| keys.of_json(key))
                .map_err(|e| format!("{context}\n{e}"))?,
        )
    };
    let want_code = if expected.is_empty() { 0 } else { 1 };
    if code != want_code || listed.as_ref() != Some(&expected) {
        let errors = listed
            .as_ref()
            .map(|l| listing_errors(l, &expected))
            .unwrap_or_else(|| format!("  error: {}\n", report["tables"][0]["error"]));
        let extra: Vec<i64> = listed
            .iter()
            .flat_map(|l| l.changed.difference(&expected.changed).copied())
            .take(3)
            .collect();
        let mut equal_rows = String::new();
        for key in extra {
            if let Some(row) = source.get(&key) {
                equal_rows.push_str(&format!("  key {key}: {row:?}\n"));
            }
        }
        return Err(format!(
            "{context}\ndiff exited {code} (expected {want_code}) and its listing is wrong:\n{errors}\
             the rows that differ, read back:\n{}\
             rows listed as changed that read back equal on both sides (up to 3):\n{equal_rows}",
            describe_differences(&source, &target, &random::read_columns())
        ));
    }

    // sync makes the target equal, value for value; the source is only read.
    let (code, report) =
        run_json(link, &["sync", "-c", &job]).map_err(|e| format!("{context}\n{e}"))?;
    if code != 0 {
        return Err(format!(
            "{context}\nsync exited {code}: {}",
            report["tables"][0]["error"]
        ));
    }
    let (after, synced) = read_both(link, &keys).await;
    if after != source {
        return Err(format!(
            "{context}\nsync changed the source:\n{}",
            describe_differences(&source, &after, &random::read_columns())
        ));
    }
    if synced != after {
        return Err(format!(
            "{context}\nafter sync the target still differs:\n{}",
            describe_differences(&after, &synced, &random::read_columns())
        ));
    }

    // Nothing left to do.
    let (code, report) =
        run_json(link, &["sync", "-c", &job]).map_err(|e| format!("{context}\n{e}"))?;
    let written = exact::rows_written(&report);
    if code != 0 || written != 0 {
        return Err(format!(
            "{context}\na second sync exited {code} and wrote {written} rows (expected 0): {}",
            report["tables"][0]
        ));
    }
    let (code, report) =
        run_json(link, &["diff", "-c", &job]).map_err(|e| format!("{context}\n{e}"))?;
    if code != 0 {
        return Err(format!(
            "{context}\ndiff after sync exited {code}: {:?}",
            Listed::of_keys(&report, TABLE, |key| keys.of_json(key))
        ));
    }
    Ok(())
}

/// The text keys a case draws from (identities below 400) hold what the module documentation
/// promises: case twins, non-ASCII, numbers with leading zeros, byte order unlike a locale's.
#[test]
fn text_keys_hold_twins_non_ascii_and_leading_zeros() {
    let texts: Vec<String> = (0..400)
        .map(|id| Shape::Text(PgText::C).key_texts(id).remove(0))
        .collect();
    let has = |t: &str| texts.iter().any(|x| x == t);
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("key") && has(&format!("K{}", &t[1..]))),
        "case twins 'keyN' and 'KeyN'"
    );
    for c in ['é', 'ß', '😀', '\u{301}'] {
        assert!(texts.iter().any(|t| t.contains(c)), "a key with {c:?}");
    }
    assert!(
        texts.iter().any(|t| {
            let digits = t.trim_start_matches(|c: char| !c.is_ascii_digit());
            digits.len() > 1
                && digits.starts_with('0')
                && digits.bytes().all(|b| b.is_ascii_digit())
        }),
        "a number with leading zeros"
    );
    for head in ["a", "B", "_x", "Z"] {
        assert!(
            texts.iter().any(|t| t.starts_with(head)),
            "a key starting {head:?}"
        );
    }
    let twins: Vec<String> = (0..400)
        .map(|id| {
            Shape::CompositeText(PgText::Default)
                .key_texts(id)
                .remove(1)
        })
        .collect();
    assert!(
        twins.iter().any(String::is_empty),
        "an empty text in a composite key"
    );
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_pg_to_pg() {
    every_seed(Engine::Postgres, Engine::Postgres, 1).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_mariadb_to_mariadb() {
    every_seed(Engine::MySql, Engine::MySql, 2).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_sqlite_to_sqlite() {
    every_seed(Engine::Sqlite, Engine::Sqlite, 3).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_pg_to_mariadb() {
    every_seed(Engine::Postgres, Engine::MySql, 4).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_pg_to_sqlite() {
    every_seed(Engine::Postgres, Engine::Sqlite, 5).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_mariadb_to_pg() {
    every_seed(Engine::MySql, Engine::Postgres, 6).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_mariadb_to_sqlite() {
    every_seed(Engine::MySql, Engine::Sqlite, 7).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_sqlite_to_pg() {
    every_seed(Engine::Sqlite, Engine::Postgres, 8).await;
}

#[tokio::test]
async fn listings_are_exact_and_sync_converges_sqlite_to_mariadb() {
    every_seed(Engine::Sqlite, Engine::MySql, 9).await;
}
