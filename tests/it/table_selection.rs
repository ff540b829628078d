//! Choosing tables as pgsync users do: patterns (`orders_*`, `public.*`, `*`) in the job file and
//! on the command line, expanded against the source's tables; `exclude` and `--exclude`; a
//! one-line run without tables covering every table; a group giving each table its own `where`;
//! `'{1}'` written between quotes; and `list` working without the URLs' environment variables.

use crate::common::{dbdelta, dbdelta_json, describe, Conn, Engine, Pair};
use std::path::PathBuf;

fn text(engine: Engine, column: &str) -> String {
    match engine {
        Engine::Postgres => format!("{column}::text"),
        Engine::MySql => format!("CAST({column} AS CHAR)"),
        Engine::Sqlite => column.to_string(),
    }
}

/// The rows of a query as plain text (without the SQLite helper's storage-class tags).
async fn read(conn: &Conn, engine: Engine, sql: &str) -> Vec<Vec<Option<String>>> {
    let untag = |value: String| match engine {
        Engine::Sqlite => value.get(2..).unwrap_or_default().to_string(),
        _ => value,
    };
    conn.rows(sql)
        .await
        .into_iter()
        .map(|row| row.into_iter().map(|v| v.map(untag)).collect())
        .collect()
}

/// Every row of `table`, ordered by id, as text.
async fn rows(conn: &Conn, engine: Engine, table: &str) -> Vec<Vec<Option<String>>> {
    let sql = format!("SELECT {}, v FROM {table} ORDER BY id", text(engine, "id"));
    read(conn, engine, &sql).await
}

/// Creates `table (id, v)` on both sides: ids 1..=4 in the source, one stale row in the target.
async fn table_pair(pair: &Pair, table: &str) {
    pair.exec_both(&format!(
        "CREATE TABLE {table} (id integer PRIMARY KEY, v varchar(20))"
    ))
    .await;
    pair.source
        .exec(&format!(
            "INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')"
        ))
        .await;
    pair.target
        .exec(&format!("INSERT INTO {table} VALUES (3, 'stale')"))
        .await;
}

/// The job file with `top` before `[source]` (where top-level keys such as `exclude` go).
fn job_file(pair: &Pair, top: &str, rest: &str) -> PathBuf {
    let path = pair.dir.path().join("sync.toml");
    let text = format!(
        "{top}[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n{rest}",
        pair.source_url, pair.target_url
    );
    std::fs::write(&path, text).expect("write job file");
    path
}

fn synced_tables(report: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = report["tables"]
        .as_array()
        .map(|tables| {
            tables
                .iter()
                .filter_map(|t| t["table"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn patterns_and_exclusions(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    for table in [
        "orders_2023",
        "orders_2024",
        "users",
        "tmp_cache",
        "schema_migrations",
    ] {
        table_pair(&pair, table).await;
    }
    let path = job_file(
        &pair,
        "exclude = [\"schema_migrations\", \"tmp_*\"]\n",
        "[[tables]]\nname = \"orders_*\"\nwhere = \"id <= 2\"\n\
         [[tables]]\nname = \"orders_2024\"\n\
         [[tables]]\nname = \"*\"\n",
    );
    let job = path.to_str().unwrap_or_default();

    let listing = dbdelta(dir, &["list", "-c", job]);
    let listed = String::from_utf8_lossy(&listing.stdout);
    assert_eq!(listing.status.code(), Some(0), "{}", describe(&listing));
    assert!(
        listed.contains("orders_*") && listed.contains("pattern:") && listed.contains("exclude:"),
        "{}",
        describe(&listing)
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        synced_tables(&report),
        ["orders_2023", "orders_2024", "users"],
        "{report:#}"
    );
    // orders_2023 took the pattern's `where`: rows 1 and 2 copied, the stale row 3 untouched.
    let stale = Some("stale".to_string());
    let mut expected = rows(&pair.source, engine, "orders_2023").await;
    expected.truncate(2);
    expected.push(vec![Some("3".into()), stale.clone()]);
    assert_eq!(rows(&pair.target, engine, "orders_2023").await, expected);
    // orders_2024 has an entry of its own (no `where`); users took the `*` entry.
    for table in ["orders_2024", "users"] {
        assert_eq!(
            rows(&pair.target, engine, table).await,
            rows(&pair.source, engine, table).await,
            "{table}"
        );
    }
    for excluded in ["tmp_cache", "schema_migrations"] {
        assert_eq!(
            rows(&pair.target, engine, excluded).await,
            [vec![Some("3".to_string()), stale.clone()]],
            "{excluded} is excluded"
        );
    }

    // On the command line: a pattern, --exclude, and an excluded table named outright.
    let (code, report) = dbdelta_json(
        dir,
        &[
            "diff",
            "-c",
            job,
            "*",
            "tmp_cache",
            "--exclude",
            "users",
            "--exclude",
            "orders_2023",
        ],
    );
    assert_eq!(code, 1, "tmp_cache differs: {report:#}");
    assert_eq!(
        synced_tables(&report),
        ["orders_2024", "tmp_cache"],
        "{report:#}"
    );

    let nothing = dbdelta(dir, &["sync", "-c", job, "invoices_*"]);
    assert_eq!(nothing.status.code(), Some(2), "{}", describe(&nothing));
    assert!(
        String::from_utf8_lossy(&nothing.stderr)
            .contains("pattern \"invoices_*\" matches no table of the source"),
        "{}",
        describe(&nothing)
    );
    let check = dbdelta(dir, &["check", "-c", job]);
    assert_eq!(check.status.code(), Some(0), "{}", describe(&check));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("ok: orders_2023"),
        "{}",
        describe(&check)
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn sqlite_patterns_expand_against_the_source_less_exclusions() {
    patterns_and_exclusions(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_patterns_expand_against_the_source_less_exclusions() {
    patterns_and_exclusions(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_patterns_expand_against_the_source_less_exclusions() {
    patterns_and_exclusions(Engine::MySql).await;
}

#[tokio::test]
async fn postgres_patterns_follow_schemas() {
    let Some(pair) = Pair::new(Engine::Postgres).await else {
        return;
    };
    let dir = pair.dir.path();
    pair.exec_both("CREATE SCHEMA audit").await;
    for table in ["accounts", "audit.log", "audit.logins"] {
        table_pair(&pair, table).await;
    }
    let path = job_file(&pair, "", "[[tables]]\nname = \"audit.*\"\n");
    let job = path.to_str().unwrap_or_default();
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        synced_tables(&report),
        ["audit.log", "audit.logins"],
        "{report:#}"
    );
    // An unqualified pattern covers `public` only; `public.*` says so outright.
    for pattern in ["*", "public.*", "acc?unts"] {
        let (code, report) = dbdelta_json(dir, &["diff", "-c", job, pattern]);
        assert_eq!(code, 1, "{pattern}: {report:#}");
        assert_eq!(synced_tables(&report), ["accounts"], "{pattern}");
    }
    assert_eq!(
        rows(&pair.target, Engine::Postgres, "audit.log").await,
        rows(&pair.source, Engine::Postgres, "audit.log").await
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn a_one_line_run_without_tables_syncs_every_table() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    let dir = pair.dir.path();
    for table in ["items", "users", "tmp_scratch"] {
        table_pair(&pair, table).await;
    }
    let line = ["--from", "sqlite://source.db", "--to", "sqlite://target.db"];
    let sync = dbdelta(
        dir,
        &[&["sync"][..], &line, &["--exclude", "tmp_*"]].concat(),
    );
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    for table in ["items", "users"] {
        assert_eq!(
            rows(&pair.target, Engine::Sqlite, table).await,
            rows(&pair.source, Engine::Sqlite, table).await,
            "{table}"
        );
    }
    assert_eq!(pair.target.count("tmp_scratch").await, 1, "excluded");
    let diff = dbdelta(dir, &[&["diff"][..], &line].concat());
    assert_eq!(diff.status.code(), Some(1), "tmp_scratch differs");
    pair.cleanup().await;
}

async fn group_wheres(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    pair.exec_both("CREATE TABLE users (id integer PRIMARY KEY, v varchar(20))")
        .await;
    pair.exec_both(
        "CREATE TABLE orders (id integer PRIMARY KEY, user_id integer NOT NULL, v varchar(20))",
    )
    .await;
    pair.exec_both(
        "CREATE TABLE events (id integer PRIMARY KEY, day date NOT NULL, v varchar(20))",
    )
    .await;
    pair.source
        .exec("INSERT INTO users VALUES (1, 'u1'), (2, 'u2'), (3, 'u3')")
        .await;
    pair.source
        .exec("INSERT INTO orders VALUES (1, 1, 'o1'), (2, 2, 'o2'), (3, 2, 'o3'), (4, 3, 'o4')")
        .await;
    pair.source
        .exec(
            "INSERT INTO events VALUES (1, '2024-02-01', 'e1'), (2, '2024-02-02', 'e2'), \
             (3, '2024-02-01', 'e3')",
        )
        .await;
    let path = job_file(
        &pair,
        "",
        "[groups.tenant]\ntables = { users = \"id = {1}\", orders = \"user_id = {1}\" }\n\
         [groups.day]\ntables = [\"events\"]\nwhere = \"day = '{1}'\"\n\
         [groups.day_plain]\ntables = [\"events\"]\nwhere = \"day = {1}\"\n",
    );
    let job = path.to_str().unwrap_or_default();
    let sync = dbdelta(dir, &["sync", "-c", job, "tenant:2"]);
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    assert_eq!(
        rows(&pair.target, engine, "users").await,
        [vec![Some("2".to_string()), Some("u2".to_string())]]
    );
    let orders = read(
        &pair.target,
        engine,
        &format!("SELECT {} FROM orders ORDER BY id", text(engine, "id")),
    )
    .await;
    assert_eq!(
        orders,
        [vec![Some("2".to_string())], vec![Some("3".to_string())]]
    );

    // pgsync's quoted spelling selects what the plain one does.
    let sync = dbdelta(dir, &["sync", "-c", job, "day:2024-02-01"]);
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    let events = read(
        &pair.target,
        engine,
        &format!("SELECT {} FROM events ORDER BY id", text(engine, "id")),
    )
    .await;
    assert_eq!(
        events,
        [vec![Some("1".to_string())], vec![Some("3".to_string())]]
    );
    let diff = dbdelta(dir, &["diff", "-c", job, "day_plain:2024-02-01"]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    let listings: Vec<String> = ["day:2024-02-01", "day_plain:2024-02-01"]
        .iter()
        .map(|group| {
            let listing = dbdelta(dir, &["list", "-c", job, group]);
            String::from_utf8_lossy(&listing.stdout).into_owned()
        })
        .collect();
    assert_eq!(listings[0], listings[1]);
    assert!(
        listings[0].contains("day = '2024-02-01'"),
        "{}",
        listings[0]
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn sqlite_group_tables_take_their_own_where() {
    group_wheres(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_group_tables_take_their_own_where() {
    group_wheres(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_group_tables_take_their_own_where() {
    group_wheres(Engine::MySql).await;
}

#[tokio::test]
async fn list_needs_no_url_variables() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sync.toml");
    std::fs::write(
        &path,
        "[source]\nurl = \"${DBDELTA_TEST_UNSET_PROD_URL}\"\n\
         [target]\nurl = \"postgres://app:${DBDELTA_TEST_UNSET_PASSWORD}@127.0.0.1/copy\"\n\
         [[tables]]\nname = \"orders\"\n[groups.g]\ntables = [\"orders\"]\n",
    )
    .expect("write job file");
    let job = path.to_str().unwrap_or_default();
    let listing = dbdelta(dir.path(), &["list", "-c", job]);
    assert_eq!(listing.status.code(), Some(0), "{}", describe(&listing));
    let listed = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listed.contains("source: ${DBDELTA_TEST_UNSET_PROD_URL}")
            && listed.contains("orders")
            && listed.contains("groups:"),
        "{}",
        describe(&listing)
    );
    let sync = dbdelta(dir.path(), &["sync", "-c", job]);
    assert_eq!(sync.status.code(), Some(2), "{}", describe(&sync));
    assert!(
        String::from_utf8_lossy(&sync.stderr).contains("DBDELTA_TEST_UNSET_PROD_URL is not set"),
        "{}",
        describe(&sync)
    );
}
