//! Comparisons that cannot lie. Every case where `dbdelta diff` once said "in sync" while the
//! tables differed has a test here that seeds it, runs the real binary, and checks that `diff`
//! exits 1 listing exactly the differing keys, that `sync` makes the target equal (both sides
//! read back with sqlx and compared value for value by `tests/common/exact.rs`, never by trusting
//! dbdelta), and that a second `sync` writes no row: values swapped or rotated between rows of
//! one chunk, a unit separator inside text values, case-only differences under `citext` and a
//! nondeterministic collation, the BC era, `24:00`, and JSON numbers beyond `f64`; JSON that is
//! spelled differently but equal in value is no difference.
//!
//! Values the target column cannot hold exactly (a double into `real`/`float`, more fraction
//! digits than `numeric(p,s)` keeps, microseconds into whole-second timestamps) are refused
//! before anything is written, on same-engine pairs as across engines, with exit 2 and an error
//! naming the table, the key and the column; values that fit the narrower column sync and converge.
//!
//! Each listing test also changes one control row, in another chunk, with a plain value change
//! that any comparison finds: a test that fails because a key is missing from the listing has
//! shown that the comparison ran and missed exactly that key.

use crate::common::exact::{self, describe_differences, rows_written, Kind, Link, Listed};
use crate::common::{dbdelta, dbdelta_json, describe, Conn, Engine};

/// Rows of the `vals` table; with `VALS_CHUNK` rows a chunk, ten chunks.
const VALS_ROWS: i64 = 200;
const VALS_CHUNK: i64 = 20;
/// The key whose value is under test, and the control key (another chunk).
const BUG: i64 = 7;
const CONTROL: i64 = 150;

/// The source and the target with their engines, in that order.
fn sides(link: &Link) -> [(&Conn, Engine); 2] {
    [(link.source(), link.from), (link.target(), link.to)]
}

/// `INSERT` of one row per `g` in 1..=count into `table (columns)`, selecting `exprs` (SQL over `g`).
fn numbered(engine: Engine, table: &str, count: i64, columns: &str, exprs: &str) -> String {
    let series = format!("s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {count})");
    match engine {
        Engine::Postgres => format!(
            "INSERT INTO {table} ({columns}) SELECT {exprs} FROM generate_series(1, {count}) AS s(g)"
        ),
        Engine::MySql => format!(
            "INSERT INTO {table} ({columns}) WITH RECURSIVE {series} SELECT {exprs} FROM s"
        ),
        Engine::Sqlite => {
            format!("WITH RECURSIVE {series} INSERT INTO {table} ({columns}) SELECT {exprs} FROM s")
        }
    }
}

/// The table's error or its difference counts from a report, for messages.
fn outcome(report: &serde_json::Value, table: &str) -> String {
    let entry = report["tables"]
        .as_array()
        .and_then(|tables| tables.iter().find(|t| t["table"] == table));
    match entry {
        Some(t) => match t.get("error") {
            Some(error) => format!("error: {error}"),
            None => format!(
                "only in source {}, only in target {}, changed {}; inserted {}, updated {}, deleted {}",
                t["rows_only_in_source"],
                t["rows_only_in_target"],
                t["rows_changed"],
                t["inserted"],
                t["updated"],
                t["deleted"]
            ),
        },
        None => format!("no entry for {table} in {report}"),
    }
}

/// `diff` exits 1 and lists exactly `expected` (exit 0 when it is empty); `sync` makes the
/// target equal to the source, read back value for value; a second `sync` writes no row; `diff`
/// then exits 0.
async fn lists_exactly_then_converges(
    link: &Link,
    table: &str,
    chunk_size: i64,
    columns: &[(&str, Kind)],
    expected: &Listed,
) {
    let name = link.name();
    let job = link.job(&format!(
        "[[tables]]\nname = \"{table}\"\nchunk_size = {chunk_size}\n"
    ));
    let (code, listed, report) = exact::diff(link, &job, table);
    let want = if expected.is_empty() { 0 } else { 1 };
    assert!(
        code == want && listed == *expected,
        "{name}: diff must exit {want} and list exactly {expected:?}\n\
         but it exited {code} and listed {listed:?} ({})",
        outcome(&report, table)
    );

    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job, table]);
    assert_eq!(code, 0, "{name}: sync: {}", outcome(&report, table));
    let source = exact::read(link.source(), link.from, table, columns).await;
    let target = exact::read(link.target(), link.to, table, columns).await;
    assert!(
        source == target,
        "{name}: after sync the target still differs from the source:\n{}",
        describe_differences(&source, &target, columns)
    );

    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job, table]);
    assert_eq!(
        (code, rows_written(&report)),
        (0, 0),
        "{name}: a second sync must write nothing: {}",
        outcome(&report, table)
    );
    let (code, listed, report) = exact::diff(link, &job, table);
    assert_eq!(
        (code, listed),
        (0, Listed::default()),
        "{name}: diff after sync: {}",
        outcome(&report, table)
    );
}

// ---------------------------------------------------------------------------------------------
// Values moved between rows of one chunk

/// `orders (id, status, amount)`: 1000 rows on both sides, `status = 'st' || (g % 7)` and
/// `amount = g`; on the target the control row 900 has another amount.
async fn seed_orders(link: &Link) {
    for (conn, engine) in sides(link) {
        let status = match engine {
            Engine::MySql => "CONCAT('st', g % 7)",
            _ => "'st' || (g % 7)",
        };
        conn.exec("DROP TABLE IF EXISTS orders").await;
        conn.exec(
            "CREATE TABLE orders (id integer PRIMARY KEY, status varchar(20), amount integer)",
        )
        .await;
        conn.exec(&numbered(
            engine,
            "orders",
            1000,
            "id, status, amount",
            &format!("g, {status}, g"),
        ))
        .await;
    }
    link.target()
        .exec("UPDATE orders SET amount = -1 WHERE id = 900")
        .await;
}

const ORDER_COLUMNS: [(&str, Kind); 2] = [("status", Kind::Text), ("amount", Kind::Int)];

/// The statuses of ids 10 and 20 (`st3`, `st6`) swapped on the target: one chunk, the same
/// multiset of values.
async fn swapped_values_are_found(engine: Engine) {
    let Some(link) = Link::new(engine, engine).await else {
        return;
    };
    seed_orders(&link).await;
    link.target()
        .exec("UPDATE orders SET status = CASE id WHEN 10 THEN 'st6' ELSE 'st3' END WHERE id IN (10, 20)")
        .await;
    lists_exactly_then_converges(
        &link,
        "orders",
        100,
        &ORDER_COLUMNS,
        &Listed::changed(&[10, 20, 900]),
    )
    .await;
    link.cleanup().await;
}

/// The amounts of ids 11, 12 and 13 rotated on the target (11 gets 12's, 12 gets 13's, 13 gets
/// 11's).
async fn rotated_values_are_found(engine: Engine) {
    let Some(link) = Link::new(engine, engine).await else {
        return;
    };
    seed_orders(&link).await;
    link.target()
        .exec("UPDATE orders SET amount = CASE id WHEN 11 THEN 12 WHEN 12 THEN 13 ELSE 11 END WHERE id IN (11, 12, 13)")
        .await;
    lists_exactly_then_converges(
        &link,
        "orders",
        100,
        &ORDER_COLUMNS,
        &Listed::changed(&[11, 12, 13, 900]),
    )
    .await;
    link.cleanup().await;
}

#[tokio::test]
async fn swapped_values_between_rows_are_found_pg_to_pg() {
    swapped_values_are_found(Engine::Postgres).await;
}

#[tokio::test]
async fn swapped_values_between_rows_are_found_mariadb() {
    swapped_values_are_found(Engine::MySql).await;
}

#[tokio::test]
async fn swapped_values_between_rows_are_found_sqlite() {
    swapped_values_are_found(Engine::Sqlite).await;
}

#[tokio::test]
async fn rotated_values_among_three_rows_are_found_pg_to_pg() {
    rotated_values_are_found(Engine::Postgres).await;
}

#[tokio::test]
async fn rotated_values_among_three_rows_are_found_mariadb() {
    rotated_values_are_found(Engine::MySql).await;
}

#[tokio::test]
async fn rotated_values_among_three_rows_are_found_sqlite() {
    rotated_values_are_found(Engine::Sqlite).await;
}

// ---------------------------------------------------------------------------------------------
// One value that differs in a way a comparison can miss

/// A value under test in `vals (id, v, note)`.
struct Values<'a> {
    /// Run first on the source and on the target (extensions, collations), if not empty.
    setup: [&'a str; 2],
    /// The columns after `id` on the source and on the target: `v …, note …`.
    columns: [&'a str; 2],
    /// The `SET` clause of key `BUG` on the source and on the target.
    bug: [&'a str; 2],
    /// How `v` is read back and compared.
    kind: Kind,
}

/// `vals`: `VALS_ROWS` rows with `v` NULL and `note = 'row'` on both sides, then key `BUG` set
/// per side by `case.bug`, and on the target the control row `CONTROL` with another note.
async fn seed_values(link: &Link, case: &Values<'_>) {
    for (i, (conn, engine)) in sides(link).into_iter().enumerate() {
        if !case.setup[i].is_empty() {
            conn.exec(case.setup[i]).await;
        }
        conn.exec("DROP TABLE IF EXISTS vals").await;
        conn.exec(&format!(
            "CREATE TABLE vals (id integer PRIMARY KEY, {})",
            case.columns[i]
        ))
        .await;
        conn.exec(&numbered(engine, "vals", VALS_ROWS, "id, note", "g, 'row'"))
            .await;
        conn.exec(&format!("UPDATE vals SET {} WHERE id = {BUG}", case.bug[i]))
            .await;
    }
    link.target()
        .exec(&format!(
            "UPDATE vals SET note = 'control' WHERE id = {CONTROL}"
        ))
        .await;
}

/// The two `BUG` values differ: listed with the control key, then synced.
async fn values_differ(link: &Link, case: Values<'_>) {
    seed_values(link, &case).await;
    let columns = [("v", case.kind), ("note", Kind::Text)];
    lists_exactly_then_converges(
        link,
        "vals",
        VALS_CHUNK,
        &columns,
        &Listed::changed(&[BUG, CONTROL]),
    )
    .await;
}

/// The two `BUG` values are equal, however spelled: only the control key is listed.
async fn values_are_equal(link: &Link, case: Values<'_>) {
    seed_values(link, &case).await;
    let columns = [("v", case.kind), ("note", Kind::Text)];
    lists_exactly_then_converges(
        link,
        "vals",
        VALS_CHUNK,
        &columns,
        &Listed::changed(&[CONTROL]),
    )
    .await;
}

/// MariaDB: `('x' CHAR(31) 'y', 'z')` and `('x', 'y' CHAR(31) 'z')` are different rows, though
/// the values joined with the separator are the same text.
#[tokio::test]
async fn separator_inside_values_is_not_ambiguous_mariadb() {
    let Some(link) = Link::new(Engine::MySql, Engine::MySql).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v text, note text", "v text, note text"],
            bug: [
                "v = CONCAT('x', CHAR(31 USING utf8mb4), 'y'), note = 'z'",
                "v = 'x', note = CONCAT('y', CHAR(31 USING utf8mb4), 'z')",
            ],
            kind: Kind::Text,
        },
    )
    .await;
    link.cleanup().await;
}

/// PostgreSQL's own hash of a `bigint` (and of `time` and timestamps, stored as 64-bit integers)
/// folds the high 32 bits into the low ones, so 1 and 2^32 hash alike: the identical-declaration
/// fast path must hash their exact bytes instead.
#[tokio::test]
async fn bigint_values_that_hash_alike_are_found_pg_to_pg() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v bigint, note text", "v bigint, note text"],
            bug: ["v = 1", "v = 4294967296"],
            kind: Kind::Int,
        },
    )
    .await;
    link.cleanup().await;
}

/// PostgreSQL hashes a float zero as its seed, 0, which is also what a NULL field adds to a
/// record's hash: `0.0` against NULL must still be found (found by the randomized differential
/// test, seed 2576602423).
#[tokio::test]
async fn float_zero_and_null_are_found_pg_to_pg() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: [
                "v double precision, note text",
                "v double precision, note text",
            ],
            bug: ["v = 0", "v = NULL"],
            kind: Kind::Float,
        },
    )
    .await;
    link.cleanup().await;
}

/// The same fold for timestamps: two instants 2^32 microseconds (about 71 minutes) and one
/// microsecond apart hash alike in PostgreSQL's own timestamp hash.
#[tokio::test]
async fn timestamps_that_hash_alike_are_found_pg_to_pg() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v timestamp, note text", "v timestamp, note text"],
            bug: [
                "v = timestamp '2000-01-01 00:00:00.000001'",
                "v = timestamp '2000-01-01' + interval '4294967296 microseconds'",
            ],
            kind: Kind::Timestamp,
        },
    )
    .await;
    link.cleanup().await;
}

/// `citext` compares `Alice` and `alice` as equal; a sync must not.
#[tokio::test]
async fn citext_case_difference_is_found() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    let setup = "CREATE EXTENSION IF NOT EXISTS citext";
    values_differ(
        &link,
        Values {
            setup: [setup, setup],
            columns: ["v citext, note text", "v citext, note text"],
            bug: ["v = 'Alice'", "v = 'alice'"],
            kind: Kind::Text,
        },
    )
    .await;
    link.cleanup().await;
}

/// A case-insensitive nondeterministic ICU collation compares `Alice` and `alice` as equal (and
/// hashes them alike); a sync must not.
#[tokio::test]
async fn nondeterministic_collation_case_difference_is_found() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    let setup =
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)";
    values_differ(
        &link,
        Values {
            setup: [setup, setup],
            columns: [
                "v text COLLATE ci, note text",
                "v text COLLATE ci, note text",
            ],
            bug: ["v = 'Alice'", "v = 'alice'"],
            kind: Kind::Text,
        },
    )
    .await;
    link.cleanup().await;
}

/// `0044-03-15 12:00 BC` is not `0044-03-15 12:00`: first with another column declared
/// differently on the two sides (`varchar(20)` and `text`, so the declarations differ and rows are
/// hashed by the portable encoding), then with identical declarations.
#[tokio::test]
async fn bc_era_is_not_dropped() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    for columns in [
        ["v timestamp, note varchar(20)", "v timestamp, note text"],
        ["v timestamp, note text", "v timestamp, note text"],
    ] {
        values_differ(
            &link,
            Values {
                setup: ["", ""],
                columns,
                bug: ["v = '0044-03-15 12:00 BC'", "v = '0044-03-15 12:00'"],
                kind: Kind::Timestamp,
            },
        )
        .await;
    }
    link.cleanup().await;
}

/// `time '24:00:00'` is not midnight: with declarations that differ (another column), then with
/// identical ones.
#[tokio::test]
async fn time_24_00_differs_from_midnight() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Postgres).await else {
        return;
    };
    for columns in [
        ["v time, note varchar(20)", "v time, note text"],
        ["v time, note text", "v time, note text"],
    ] {
        values_differ(
            &link,
            Values {
                setup: ["", ""],
                columns,
                bug: ["v = '24:00:00'", "v = '00:00:00'"],
                kind: Kind::Time,
            },
        )
        .await;
    }
    link.cleanup().await;
}

/// `12345678901234567890123` and `…124` are the same `f64` but different JSON numbers.
#[tokio::test]
async fn big_json_numbers_are_exact_pg_to_mariadb() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v jsonb, note text", "v json, note text"],
            bug: [
                r#"v = '{"n":12345678901234567890123}'"#,
                r#"v = '{"n":12345678901234567890124}'"#,
            ],
            kind: Kind::Json,
        },
    )
    .await;
    link.cleanup().await;
}

/// `0.10000000000000000001` and `0.1` are the same `f64` but different JSON numbers.
#[tokio::test]
async fn long_json_fractions_are_exact_pg_to_mariadb() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    values_differ(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v jsonb, note text", "v json, note text"],
            bug: [
                r#"v = '{"x":0.10000000000000000001}'"#,
                r#"v = '{"x":0.1}'"#,
            ],
            kind: Kind::Json,
        },
    )
    .await;
    link.cleanup().await;
}

/// Key order, whitespace, `\u00e9` for `é`, and `1e2`, `1.50`, `-0` for `100`, `1.5`, `0` are
/// spellings, not differences: only the control row is listed, and the second sync writes nothing.
#[tokio::test]
async fn equal_json_in_other_spellings_is_not_a_difference_pg_to_mariadb() {
    let Some(link) = Link::new(Engine::Postgres, Engine::MySql).await else {
        return;
    };
    values_are_equal(
        &link,
        Values {
            setup: ["", ""],
            columns: ["v jsonb, note text", "v json, note text"],
            bug: [
                r#"v = '{"a": 100, "b": [1.5, {"y": null, "x": "é"}], "c": 0}'"#,
                // MariaDB reads `\\` in a string literal as one backslash.
                r#"v = '{"c":-0,"b":[1.50,{"x":"\\u00e9","y":null}],"a":1e2}'"#,
            ],
            kind: Kind::Json,
        },
    )
    .await;
    link.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Narrowing: refused before writing, or exact

/// `narrow (id, exact_value)`: keys 1..=10 on the source with `fit`, but key 7 with `bad`; keys
/// 1..=9 on the target with `old`. One chunk. `sync` must exit 2 naming the table, key 7 and
/// the column, and leave the target as it was.
async fn narrowing_is_refused(
    link: &Link,
    declarations: [&str; 2],
    fit: &str,
    old: &str,
    bad: &str,
    kind: Kind,
) {
    let name = link.name();
    for (i, (conn, _)) in sides(link).into_iter().enumerate() {
        conn.exec("DROP TABLE IF EXISTS narrow").await;
        conn.exec(&format!(
            "CREATE TABLE narrow (id integer PRIMARY KEY, exact_value {})",
            declarations[i]
        ))
        .await;
    }
    let rows = |keys: std::ops::RangeInclusive<i64>, value: &dyn Fn(i64) -> String| {
        keys.map(|k| format!("({k}, {})", value(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    link.source()
        .exec(&format!(
            "INSERT INTO narrow (id, exact_value) VALUES {}",
            rows(1..=10, &|k| (if k == 7 { bad } else { fit }).to_string())
        ))
        .await;
    link.target()
        .exec(&format!(
            "INSERT INTO narrow (id, exact_value) VALUES {}",
            rows(1..=9, &|_| old.to_string())
        ))
        .await;
    let columns = [("exact_value", kind)];
    let before = exact::read(link.target(), link.to, "narrow", &columns).await;
    let job = link.job("[[tables]]\nname = \"narrow\"\nchunk_size = 1000\n");

    let output = dbdelta(link.dir(), &["sync", "-c", &job]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{name}: {bad} into {} must be refused before writing:\n{}",
        declarations[1],
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("narrow") && stderr.contains("key 7") && stderr.contains("exact_value"),
        "{name}: the error must name the table, the key and the column:\n{stderr}"
    );
    let after = exact::read(link.target(), link.to, "narrow", &columns).await;
    assert!(
        before == after,
        "{name}: the target must be unchanged after a refused sync:\n{}",
        describe_differences(&before, &after, &columns)
    );
}

async fn refused(from: Engine, to: Engine, declarations: [&str; 2], values: [&str; 3], kind: Kind) {
    let Some(link) = Link::new(from, to).await else {
        return;
    };
    let [fit, old, bad] = values;
    narrowing_is_refused(&link, declarations, fit, old, bad, kind).await;
    link.cleanup().await;
}

const DOUBLE: [&str; 3] = ["1.5", "0", "3.141592653589793"];
const DECIMAL: [&str; 3] = ["1.250", "0", "1.2345"];
const MICROS: [&str; 3] = [
    "'2024-01-01 10:00:00'",
    "'2000-01-01 00:00:00'",
    "'2024-01-01 10:00:00.25'",
];

#[tokio::test]
async fn double_into_real_is_refused_pg_to_pg() {
    refused(
        Engine::Postgres,
        Engine::Postgres,
        ["double precision", "real"],
        DOUBLE,
        Kind::Float,
    )
    .await;
}

#[tokio::test]
async fn double_into_float_is_refused_mariadb() {
    refused(
        Engine::MySql,
        Engine::MySql,
        ["double", "float"],
        DOUBLE,
        Kind::Float,
    )
    .await;
}

#[tokio::test]
async fn double_into_real_is_refused_mariadb_to_pg() {
    refused(
        Engine::MySql,
        Engine::Postgres,
        ["double", "real"],
        DOUBLE,
        Kind::Float,
    )
    .await;
}

#[tokio::test]
async fn extra_fraction_digits_are_refused_pg_to_pg() {
    refused(
        Engine::Postgres,
        Engine::Postgres,
        ["numeric(65,10)", "numeric(6,3)"],
        DECIMAL,
        Kind::Decimal,
    )
    .await;
}

#[tokio::test]
async fn extra_fraction_digits_are_refused_mariadb() {
    refused(
        Engine::MySql,
        Engine::MySql,
        ["decimal(65,10)", "decimal(6,3)"],
        DECIMAL,
        Kind::Decimal,
    )
    .await;
}

#[tokio::test]
async fn extra_fraction_digits_are_refused_pg_to_mariadb() {
    refused(
        Engine::Postgres,
        Engine::MySql,
        ["numeric(65,10)", "decimal(6,3)"],
        DECIMAL,
        Kind::Decimal,
    )
    .await;
}

#[tokio::test]
async fn microseconds_into_whole_seconds_are_refused_pg_to_pg() {
    refused(
        Engine::Postgres,
        Engine::Postgres,
        ["timestamp(6)", "timestamp(0)"],
        MICROS,
        Kind::Timestamp,
    )
    .await;
}

#[tokio::test]
async fn microseconds_into_whole_seconds_are_refused_mariadb() {
    refused(
        Engine::MySql,
        Engine::MySql,
        ["datetime(6)", "datetime(0)"],
        MICROS,
        Kind::Timestamp,
    )
    .await;
}

#[tokio::test]
async fn microseconds_into_whole_seconds_are_refused_pg_to_mariadb() {
    refused(
        Engine::Postgres,
        Engine::MySql,
        ["timestamp(6)", "datetime(0)"],
        MICROS,
        Kind::Timestamp,
    )
    .await;
}

#[tokio::test]
async fn microseconds_into_whole_seconds_are_refused_mariadb_to_pg() {
    refused(
        Engine::MySql,
        Engine::Postgres,
        ["datetime(6)", "timestamp(0)"],
        MICROS,
        Kind::Timestamp,
    )
    .await;
}

/// `fits (id, r, n, ts)` declared wider on the source than on the target, holding only values the
/// target keeps exactly (`1.5` in `real`, `1.250` in `numeric(6,3)`, whole seconds in
/// `timestamp(0)`): rows changed, missing and extra on the target are listed, synced and converge.
async fn fitting_values_converge(from: Engine, to: Engine, declarations: [&str; 2]) {
    let Some(link) = Link::new(from, to).await else {
        return;
    };
    for (i, (conn, _)) in sides(&link).into_iter().enumerate() {
        conn.exec("DROP TABLE IF EXISTS fits").await;
        conn.exec(&format!(
            "CREATE TABLE fits (id integer PRIMARY KEY, {})",
            declarations[i]
        ))
        .await;
    }
    link.source()
        .exec(
            "INSERT INTO fits (id, r, n, ts) VALUES \
             (1, 1.5, 1.250, '2024-01-01 10:00:00'), (2, -0.25, 123.456, '1999-12-31 23:59:59'), \
             (3, 16777216, -0.001, '2024-02-29 00:00:00'), (4, NULL, NULL, NULL)",
        )
        .await;
    link.target()
        .exec(
            "INSERT INTO fits (id, r, n, ts) VALUES \
             (1, 0, 0, '2000-01-01 00:00:00'), (2, -0.25, 123.457, '1999-12-31 23:59:59'), \
             (5, 2.5, 1, '2000-01-01 00:00:00')",
        )
        .await;
    let columns = [
        ("r", Kind::Float),
        ("n", Kind::Decimal),
        ("ts", Kind::Timestamp),
    ];
    let expected = Listed {
        only_in_source: [3, 4].into(),
        only_in_target: [5].into(),
        changed: [1, 2].into(),
    };
    lists_exactly_then_converges(&link, "fits", 1000, &columns, &expected).await;
    link.cleanup().await;
}

#[tokio::test]
async fn values_that_fit_narrower_columns_converge_pg_to_pg() {
    fitting_values_converge(
        Engine::Postgres,
        Engine::Postgres,
        [
            "r double precision, n numeric(65,10), ts timestamp(6)",
            "r real, n numeric(6,3), ts timestamp(0)",
        ],
    )
    .await;
}

#[tokio::test]
async fn values_that_fit_narrower_columns_converge_mariadb() {
    fitting_values_converge(
        Engine::MySql,
        Engine::MySql,
        [
            "r double, n decimal(65,10), ts datetime(6)",
            "r float, n decimal(6,3), ts datetime(0)",
        ],
    )
    .await;
}

#[tokio::test]
async fn values_that_fit_narrower_columns_converge_pg_to_mariadb() {
    fitting_values_converge(
        Engine::Postgres,
        Engine::MySql,
        [
            "r double precision, n numeric(65,10), ts timestamp(6)",
            "r float, n decimal(6,3), ts datetime(0)",
        ],
    )
    .await;
}

#[tokio::test]
async fn values_that_fit_narrower_columns_converge_mariadb_to_pg() {
    fitting_values_converge(
        Engine::MySql,
        Engine::Postgres,
        [
            "r double, n decimal(65,10), ts datetime(6)",
            "r real, n numeric(6,3), ts timestamp(0)",
        ],
    )
    .await;
}

/// The read-back normalisation these tests rely on keeps exactly the differences that matter.
#[test]
fn read_back_normalisation_is_exact() {
    exact::check_normalisation();
}
