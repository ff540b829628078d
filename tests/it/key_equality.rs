//! Key equality across the two sides. Where the target compares keys more coarsely than the
//! source (a case- or accent-insensitive or `PAD SPACE` MariaDB collation, SQLite `NOCASE`,
//! PostgreSQL `citext`), a sync either refuses the table before writing anything, naming two
//! source keys the target takes for one (exit 2), or leaves the target holding exactly the
//! source's rows under the source's key spellings: a row found by a key of another spelling
//! takes the source's, and no delete of the old spelling removes it afterwards. `create_missing`
//! declares text keys that tell every key apart. Text keys that order alike on both sides
//! (PostgreSQL `C`, MariaDB `utf8mb4_nopad_bin`) are chunked by key ranges. Both sides are read
//! back with the engines' own clients and compared byte for byte.

use crate::common::exact::{rows_written, Link};
use crate::common::{dbdelta, dbdelta_json, describe, table_report, Conn, Engine};
use std::collections::BTreeSet;

/// `(key, value)` rows as read back, compared exactly.
type Rows = BTreeSet<(String, String)>;

/// Every row of `t (code, v)` as text, exactly as the engine holds it (SQLite's storage-class
/// tag dropped).
async fn read(conn: &Conn, engine: Engine) -> Rows {
    let sql = match engine {
        Engine::Postgres => "SELECT code::text, v::text FROM t",
        Engine::MySql => "SELECT CAST(code AS CHAR), CAST(v AS CHAR) FROM t",
        Engine::Sqlite => "SELECT code, v FROM t",
    };
    let untag = |v: &Option<String>| {
        let v = v.clone().unwrap_or_default();
        match (engine, v.get(..2)) {
            (Engine::Sqlite, Some("t:" | "i:")) => v[2..].to_string(),
            _ => v,
        }
    };
    conn.rows(sql)
        .await
        .iter()
        .map(|r| (untag(&r[0]), untag(&r[1])))
        .collect()
}

/// `INSERT INTO t (code, v)` of these rows (keys quoted as SQL literals).
fn insert(rows: &[(String, i64)]) -> String {
    let values: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("('{}', {v})", k.replace('\'', "''")))
        .collect();
    format!("INSERT INTO t (code, v) VALUES {}", values.join(", "))
}

/// After a sync that exited 0: both sides read back equal, `diff` exits 0 and a second sync
/// writes nothing.
async fn assert_synced_exactly(link: &Link, job: &str) {
    let source = read(link.source(), link.from).await;
    assert_eq!(
        source,
        read(link.target(), link.to).await,
        "{}: the target holds exactly the source's rows",
        link.name()
    );
    let output = dbdelta(link.dir(), &["diff", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let (code, again) = dbdelta_json(link.dir(), &["sync", "-c", job]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(
        rows_written(&again),
        0,
        "a second sync writes nothing: {again:#}"
    );
}

/// PostgreSQL keys `Key1`…`Key200` into a MariaDB `utf8mb4_general_ci` key holding
/// `key1`…`key200`, in chunks of 5: each source key has a differently spelled twin in the
/// target, usually in another hash bucket. The target ends with exactly `Key1`…`Key200` and the
/// source's values (before, upserts updated `key7` in place and another chunk's delete of `key7`
/// then removed the row: about half the rows were lost while the sync reported success).
#[tokio::test]
async fn case_insensitive_target_ends_with_the_source_spellings() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    link.source()
        .exec("CREATE TABLE t (code text PRIMARY KEY, v integer NOT NULL)")
        .await;
    link.target()
        .exec(
            "CREATE TABLE t (code varchar(20) PRIMARY KEY, v int NOT NULL) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
        )
        .await;
    let source: Vec<(String, i64)> = (1..=200).map(|i| (format!("Key{i}"), i)).collect();
    let target: Vec<(String, i64)> = (1..=200).map(|i| (format!("key{i}"), -i)).collect();
    link.source().exec(&insert(&source)).await;
    link.target().exec(&insert(&target)).await;
    let job = link.job("[defaults]\nchunk_size = 5\n[[tables]]\nname = \"t\"\n");

    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{report:#}");
    let expected: Rows = source
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    assert_eq!(read(link.target(), Engine::MySql).await, expected);
    assert_synced_exactly(&link, &job).await;
    link.cleanup().await;
}

/// Whether `message` says that `column` treats the two keys of `pair` (in either order: the
/// first two in the source's key order) as the same key.
fn names_pair(message: &str, column: &str, [a, b]: [&str; 2]) -> bool {
    [(a, b), (b, a)]
        .iter()
        .any(|(x, y)| message.contains(&format!("{column} treats {x} and {y} as the same key")))
}

/// Keys MariaDB's default collation takes for one key (case, trailing space, accent).
fn colliding_keys() -> Vec<(String, i64)> {
    ["a", "A", "a ", "e", "é", "E"]
        .iter()
        .zip(1..)
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// `'a'`, `'A'`, `'a '`, `'e'`, `'é'`, `'E'` into a MariaDB varchar key under the server's
/// default collation: refused with exit 2 before anything is written, naming the table, the
/// column and one pair, for `sync`, `sync --dry-run` and `check` alike; the target is unchanged.
/// `diff` still lists the keys as they are.
#[tokio::test]
async fn keys_a_coarser_target_takes_for_one_are_refused_before_writing() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    link.source()
        .exec("CREATE TABLE t (code text PRIMARY KEY, v integer NOT NULL)")
        .await;
    link.source().exec(&insert(&colliding_keys())).await;
    link.target()
        .exec(
            "CREATE TABLE t (code varchar(10) PRIMARY KEY, v int NOT NULL) \
             DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
        )
        .await;
    link.target()
        .exec(&insert(&[("b".to_string(), 7), ("a".to_string(), 9)]))
        .await;
    let before = read(link.target(), Engine::MySql).await;
    let job = link.job("[[tables]]\nname = \"t\"\n");

    for args in [
        vec!["sync", "-c", &job],
        vec!["sync", "--dry-run", "-c", &job],
        vec!["check", "-c", &job],
    ] {
        let output = dbdelta(link.dir(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        assert!(
            names_pair(
                &stderr,
                "table t: the target's key column \"code\" (utf8mb4_general_ci)",
                ["\"A\"", "\"a\""]
            ) && stderr.contains("the source holds both, so the target cannot hold the source's rows. Nothing was written."),
            "{args:?}: {}",
            describe(&output)
        );
        assert_eq!(read(link.target(), Engine::MySql).await, before);
    }
    let (code, listing) = dbdelta_json(link.dir(), &["diff", "-c", &job]);
    assert_eq!(code, 1, "{listing:#}");
    link.cleanup().await;
}

/// The same keys with `create_missing`: the created key column compares by code point without
/// padding (`utf8mb4_nopad_bin`), so every key is kept apart and synced exactly.
#[tokio::test]
async fn created_target_keeps_every_source_key_apart() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    link.source()
        .exec("CREATE TABLE t (code varchar(10) PRIMARY KEY, v integer NOT NULL)")
        .await;
    link.source().exec(&insert(&colliding_keys())).await;
    let job = link.job("[defaults]\ncreate_missing = true\n[[tables]]\nname = \"t\"\n");

    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(table_report(&report, "t")["inserted"], 6, "{report:#}");
    let collation = link
        .target()
        .rows(
            "SELECT CAST(collation_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 't' AND column_name = 'code'",
        )
        .await;
    assert_eq!(collation[0][0].as_deref(), Some("utf8mb4_nopad_bin"));
    assert_synced_exactly(&link, &job).await;
    link.cleanup().await;
}

/// A coarse target key of the same engine, declared `before` the source's: keys spelled
/// differently on the target (`key1` for `Key1`, chunked by hash buckets on SQLite) end with the
/// source's spellings; then a source key the target takes for another (`KEY1` beside `Key1`) is
/// refused, naming both, and the target is left as it was.
async fn coarse_key_of_one_engine(link: &Link, source_key: &str, target_key: &str, what: &str) {
    link.source()
        .exec(&format!(
            "CREATE TABLE t (code {source_key} PRIMARY KEY NOT NULL, v integer NOT NULL)"
        ))
        .await;
    link.target()
        .exec(&format!(
            "CREATE TABLE t (code {target_key} PRIMARY KEY NOT NULL, v integer NOT NULL)"
        ))
        .await;
    let source: Vec<(String, i64)> = (1..=60).map(|i| (format!("Key{i}"), i)).collect();
    let mut target: Vec<(String, i64)> = (1..=50).map(|i| (format!("key{i}"), -i)).collect();
    target.extend((1..=5).map(|i| (format!("gone{i}"), i)));
    link.source().exec(&insert(&source)).await;
    link.target().exec(&insert(&target)).await;
    let job = link.job("[defaults]\nchunk_size = 5\n[[tables]]\nname = \"t\"\n");

    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{what}: {report:#}");
    assert_synced_exactly(link, &job).await;

    link.source()
        .exec(&insert(&[("KEY1".to_string(), 100)]))
        .await;
    let before = read(link.target(), link.to).await;
    let output = dbdelta(link.dir(), &["sync", "-c", &job]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{what}: {}",
        describe(&output)
    );
    assert!(
        names_pair(
            &stderr,
            &format!("the target's key column \"code\" ({what})"),
            ["\"Key1\"", "\"KEY1\""]
        ),
        "{}",
        describe(&output)
    );
    assert_eq!(read(link.target(), link.to).await, before);
}

#[tokio::test]
async fn sqlite_nocase_target_takes_the_source_spellings() {
    let Some(link) = Link::new(Engine::Sqlite, Engine::Sqlite).await else {
        return;
    };
    coarse_key_of_one_engine(&link, "TEXT", "TEXT COLLATE NOCASE", "NOCASE").await;
    link.cleanup().await;
}

#[tokio::test]
async fn postgres_citext_target_takes_the_source_spellings() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    let available = link
        .target()
        .rows("SELECT name FROM pg_available_extensions WHERE name = 'citext'")
        .await;
    if available.is_empty() {
        eprintln!("NOTICE: skipping this test: the PostgreSQL server has no citext extension");
        link.cleanup().await;
        return;
    }
    link.target()
        .exec("CREATE EXTENSION IF NOT EXISTS citext")
        .await;
    coarse_key_of_one_engine(&link, "text", "citext", "citext").await;
    link.cleanup().await;
}

/// How the differing chunks of `t` are described in a `diff --json` listing: `[lo, hi)` for key
/// ranges, `bucket i of n` for hash buckets.
fn chunk_kinds(listing: &serde_json::Value) -> BTreeSet<&'static str> {
    table_report(listing, "t")["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| match d["range"].as_str() {
            Some(r) if r.starts_with("bucket") => "buckets",
            _ => "ranges",
        })
        .collect()
}

fn text_key(i: i64) -> String {
    const PREFIXES: [&str; 8] = [
        "Élan", "élan", "ZEBRA", "zebra", "Ñandú", "straße", "Strasse", "ﬁ😀",
    ];
    format!("{} {i}", PREFIXES[(i % 8) as usize])
}

/// PostgreSQL text keys into a MariaDB `utf8mb4_nopad_bin` key, changes spread over the key
/// space: chunked as `expected` (`ranges` or `buckets`), listed by `diff`, synced exactly.
async fn text_keys_into_nopad_bin(source_key: &str, expected: &str) {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    link.source()
        .exec(&format!(
            "CREATE TABLE t (code {source_key} PRIMARY KEY, v integer NOT NULL)"
        ))
        .await;
    link.target()
        .exec(
            "CREATE TABLE t (code varchar(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin \
             PRIMARY KEY, v int NOT NULL)",
        )
        .await;
    let rows: Vec<(String, i64)> = (0..600).map(|i| (text_key(i), i)).collect();
    link.source().exec(&insert(&rows)).await;
    let target: Vec<(String, i64)> = rows
        .iter()
        .filter(|(_, i)| i % 11 != 0)
        .map(|(k, i)| (k.clone(), if i % 7 == 0 { -i } else { *i }))
        .chain((0..20).map(|i| (format!("{} extra", text_key(i)), i)))
        .collect();
    link.target().exec(&insert(&target)).await;
    let job = link.job("[defaults]\nchunk_size = 50\n[[tables]]\nname = \"t\"\n");

    let (code, listing) = dbdelta_json(link.dir(), &["diff", "-c", &job]);
    assert_eq!(code, 1, "{listing:#}");
    assert_eq!(
        chunk_kinds(&listing),
        BTreeSet::from([expected]),
        "{listing:#}"
    );
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{report:#}");
    assert_synced_exactly(&link, &job).await;
    link.cleanup().await;
}

/// Byte order on both sides: PostgreSQL `COLLATE "C"` and MariaDB `utf8mb4_nopad_bin` order and
/// compare text by code points, so the key space is cut into ranges.
#[tokio::test]
async fn byte_order_text_keys_across_engines_are_chunked_by_ranges() {
    text_keys_into_nopad_bin("text COLLATE \"C\"", "ranges").await;
}

/// A PostgreSQL text key under a locale collation orders unlike MariaDB's byte order: hash
/// buckets (unless the database's default collation is itself `C` or `POSIX`).
#[tokio::test]
async fn locale_text_keys_across_engines_are_chunked_by_buckets() {
    let default_is_bytes = match crate::common::Pair::new(Engine::Postgres).await {
        Some(pair) => {
            let collate = pair
                .source
                .rows("SELECT datcollate::text FROM pg_database WHERE datname = current_database()")
                .await;
            pair.cleanup().await;
            matches!(collate[0][0].as_deref(), Some("C" | "POSIX"))
        }
        None => return,
    };
    let expected = if default_is_bytes {
        "ranges"
    } else {
        "buckets"
    };
    text_keys_into_nopad_bin("text", expected).await;
}
