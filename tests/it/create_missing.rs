//! `create_missing`: the first run (`check`, `diff`, `sync`) against a target that has neither
//! the tables nor, for SQLite, the file; `sync --schema-only`; and tables created usable by an
//! application, on every target engine from another: defaults, the key numbered by the
//! database, unique indexes, foreign keys between the job's tables and comments, read back from
//! the target's own catalog, then a row inserted without its key.

use crate::common::exact::Link;
use crate::common::{dbdelta, dbdelta_json, describe, table_report, write_job, Conn, Engine, Pair};

const JOB: &str =
    "[defaults]\ncreate_missing = true\n[[tables]]\nname = \"child\"\n[[tables]]\nname = \"parent\"\n";

/// The first value of the first row, without SQLite's storage-class tag.
async fn one(conn: &Conn, sql: &str) -> String {
    let rows = conn.rows(sql).await;
    let value = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_default();
    match value.split_once(':') {
        Some((tag, rest)) if matches!(conn, Conn::Lite(_)) && tag.len() == 1 => rest.to_string(),
        _ => value,
    }
}

/// A SQLite target file that does not exist: `check` says `sync` will create the table and
/// exits 0, `diff` lists every source row as only in the source, `--dry-run` too, and none of
/// them creates the file; `sync --schema-only` creates it with the empty table, `sync` fills it.
#[tokio::test]
async fn the_first_run_goes_through_check_diff_and_sync_without_a_target_file() {
    let Some(pair) = Pair::new(Engine::Sqlite).await else {
        return;
    };
    pair.source
        .exec(
            "CREATE TABLE fresh (id INTEGER PRIMARY KEY, v TEXT NOT NULL DEFAULT 'x');
             INSERT INTO fresh VALUES (1, 'a'), (2, 'b');",
        )
        .await;
    let dir = pair.dir.path();
    let job = write_job(
        &dir.join("first.toml"),
        &pair.source_url,
        "sqlite://seed.db",
        "[defaults]\ncreate_missing = true\n[[tables]]\nname = \"fresh\"\n",
    );
    let job = job.to_str().unwrap_or_default();
    let seed = dir.join("seed.db");

    let output = dbdelta(dir, &["check", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ok: fresh") && stderr.contains("`sync` will create it"),
        "{stderr}"
    );

    let (code, report) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1, "{report:#}");
    let t = table_report(&report, "fresh");
    assert_eq!(t["rows_only_in_source"], 2, "{t:#}");
    assert!(
        t["warnings"].to_string().contains("will create it"),
        "{t:#}"
    );

    let (code, report) = dbdelta_json(dir, &["sync", "--dry-run", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(table_report(&report, "fresh")["rows_only_in_source"], 2);
    assert!(!seed.exists(), "check, diff and --dry-run create no file");

    let (code, report) = dbdelta_json(dir, &["sync", "--schema-only", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["command"], "sync --schema-only", "{report:#}");
    assert_eq!(
        table_report(&report, "fresh")["created"],
        true,
        "{report:#}"
    );
    let target = Conn::Lite(
        sqlx::sqlite::SqlitePoolOptions::new()
            .connect(&format!("sqlite://{}", seed.display()))
            .await
            .expect("the file was created"),
    );
    assert_eq!(
        target.count("fresh").await,
        0,
        "--schema-only copies no row"
    );

    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(table_report(&report, "fresh")["inserted"], 2);
    target.exec("INSERT INTO fresh DEFAULT VALUES").await;
    assert_eq!(one(&target, "SELECT v FROM fresh WHERE id = 3").await, "x");
    target.exec("DELETE FROM fresh WHERE id = 3").await;
    let output = dbdelta(dir, &["diff", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    pair.cleanup().await;
}

/// `parent` (a numbered key, a unique code, defaults, a check, comments where the engine keeps
/// them) and `child` (a numbered key, a foreign key to `parent`, a two-column unique index), two
/// rows and one.
fn source_schema(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE TABLE parent (id serial PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, \
               qty integer NOT NULL DEFAULT 5, label text DEFAULT 'none', \
               active boolean NOT NULL DEFAULT true, created timestamp(6) DEFAULT CURRENT_TIMESTAMP, \
               tag text DEFAULT md5('x'), CHECK (qty >= 0));
             COMMENT ON TABLE parent IS 'the parents';
             COMMENT ON COLUMN parent.code IS 'business code';
             CREATE TABLE child (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
               parent_id integer NOT NULL REFERENCES parent (id), a varchar(10), b varchar(10), \
               UNIQUE (a, b));
             INSERT INTO parent (code) VALUES ('p1'), ('p2');
             INSERT INTO child (parent_id, a, b) VALUES (1, 'x', 'y');"
        }
        Engine::MySql => {
            "CREATE TABLE parent (id int AUTO_INCREMENT PRIMARY KEY, \
               code varchar(20) NOT NULL UNIQUE COMMENT 'business code', \
               qty int NOT NULL DEFAULT 5, label varchar(50) DEFAULT 'none', \
               active boolean NOT NULL DEFAULT true, created datetime(6) DEFAULT CURRENT_TIMESTAMP(6), \
               tag varchar(36) DEFAULT (uuid()), CHECK (qty >= 0)) COMMENT = 'the parents';
             CREATE TABLE child (id bigint AUTO_INCREMENT PRIMARY KEY, parent_id int NOT NULL, \
               a varchar(10), b varchar(10), UNIQUE (a, b), \
               FOREIGN KEY (parent_id) REFERENCES parent (id));
             INSERT INTO parent (code) VALUES ('p1'), ('p2');
             INSERT INTO child (parent_id, a, b) VALUES (1, 'x', 'y');"
        }
        Engine::Sqlite => {
            "CREATE TABLE parent (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, \
               qty INTEGER NOT NULL DEFAULT 5, label TEXT DEFAULT 'none', \
               active BOOLEAN NOT NULL DEFAULT TRUE, created DATETIME DEFAULT CURRENT_TIMESTAMP, \
               tag TEXT DEFAULT (hex(randomblob(4))), CHECK (qty >= 0));
             CREATE TABLE child (id INTEGER PRIMARY KEY, \
               parent_id INTEGER NOT NULL REFERENCES parent (id), a TEXT, b TEXT, UNIQUE (a, b));
             INSERT INTO parent (code) VALUES ('p1'), ('p2');
             INSERT INTO child (parent_id, a, b) VALUES (1, 'x', 'y');"
        }
    }
}

/// What the target's catalog says about the created tables.
#[derive(Debug)]
struct Catalog {
    /// The defaults of `parent.qty`, `label`, `active`, `created`, as the catalog prints them.
    defaults: [String; 4],
    /// `parent.id` and `child.id` are numbered by the database.
    numbered: bool,
    /// Unique indexes besides the key: on `parent (code)` and on `child (a, b)`.
    unique_indexes: i64,
    /// Foreign keys from `child` to `parent`.
    foreign_keys: i64,
}

async fn catalog(conn: &Conn, engine: Engine) -> Catalog {
    match engine {
        Engine::Postgres => {
            let default = |c: &'static str| {
                format!(
                    "SELECT column_default FROM information_schema.columns \
                     WHERE table_name = 'parent' AND column_name = '{c}'"
                )
            };
            Catalog {
                defaults: [
                    one(conn, &default("qty")).await,
                    one(conn, &default("label")).await,
                    one(conn, &default("active")).await,
                    one(conn, &default("created")).await,
                ],
                numbered: one(
                    conn,
                    "SELECT string_agg(is_identity, ',') FROM information_schema.columns \
                     WHERE table_name IN ('parent', 'child') AND column_name = 'id'",
                )
                .await
                    == "YES,YES",
                unique_indexes: one(
                    conn,
                    "SELECT count(*)::text FROM pg_index \
                     WHERE indisunique AND NOT indisprimary \
                       AND indrelid IN ('parent'::regclass, 'child'::regclass)",
                )
                .await
                .parse()
                .unwrap_or(-1),
                foreign_keys: one(
                    conn,
                    "SELECT count(*)::text FROM pg_constraint WHERE contype = 'f' \
                     AND conrelid = 'child'::regclass AND confrelid = 'parent'::regclass",
                )
                .await
                .parse()
                .unwrap_or(-1),
            }
        }
        Engine::MySql => {
            let default = |c: &'static str| {
                format!(
                    "SELECT CAST(column_default AS CHAR) FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = 'parent' AND column_name = '{c}'"
                )
            };
            Catalog {
                defaults: [
                    one(conn, &default("qty")).await,
                    one(conn, &default("label")).await,
                    one(conn, &default("active")).await,
                    one(conn, &default("created")).await,
                ],
                numbered: one(
                    conn,
                    "SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND column_name = 'id' \
                       AND extra LIKE '%auto_increment%'",
                )
                .await
                    == "2",
                unique_indexes: one(
                    conn,
                    "SELECT CAST(COUNT(DISTINCT table_name, index_name) AS CHAR) \
                     FROM information_schema.statistics \
                     WHERE table_schema = DATABASE() AND non_unique = 0 AND index_name <> 'PRIMARY'",
                )
                .await
                .parse()
                .unwrap_or(-1),
                foreign_keys: one(
                    conn,
                    "SELECT CAST(COUNT(*) AS CHAR) FROM information_schema.referential_constraints \
                     WHERE constraint_schema = DATABASE() AND table_name = 'child' \
                       AND referenced_table_name = 'parent'",
                )
                .await
                .parse()
                .unwrap_or(-1),
            }
        }
        Engine::Sqlite => {
            let default = |c: &'static str| {
                format!("SELECT dflt_value FROM pragma_table_info('parent') WHERE name = '{c}'")
            };
            Catalog {
                defaults: [
                    one(conn, &default("qty")).await,
                    one(conn, &default("label")).await,
                    one(conn, &default("active")).await,
                    one(conn, &default("created")).await,
                ],
                // A single-column INTEGER primary key is the rowid.
                numbered: one(
                    conn,
                    "SELECT group_concat(type) FROM (SELECT type FROM pragma_table_info('parent') \
                     WHERE pk = 1 UNION ALL SELECT type FROM pragma_table_info('child') WHERE pk = 1)",
                )
                .await
                    == "INTEGER,INTEGER",
                unique_indexes: one(
                    conn,
                    "SELECT (SELECT count(*) FROM pragma_index_list('parent') \
                             WHERE \"unique\" = 1 AND origin = 'c') + \
                            (SELECT count(*) FROM pragma_index_list('child') \
                             WHERE \"unique\" = 1 AND origin = 'c')",
                )
                .await
                .parse()
                .unwrap_or(-1),
                foreign_keys: one(
                    conn,
                    "SELECT count(*) FROM pragma_foreign_key_list('child') WHERE \"table\" = 'parent'",
                )
                .await
                .parse()
                .unwrap_or(-1),
            }
        }
    }
}

/// Creates both tables from `from` on `to`, reads the target's catalog back, and inserts rows
/// without their keys as an application would.
async fn created_tables_are_usable(from: Engine, to: Engine) {
    let Some(link) = Link::new(from, to).await else {
        return;
    };
    let name = link.name();
    link.source().exec(source_schema(from)).await;
    let job = link.job(JOB);
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{name}: {report:#}");
    assert_eq!(table_report(&report, "parent")["inserted"], 2, "{name}");
    assert_eq!(table_report(&report, "child")["inserted"], 1, "{name}");
    let warnings = table_report(&report, "parent")["warnings"].to_string();
    assert!(
        warnings.contains("check constraint") && warnings.contains("column \\\"tag\\\": default"),
        "{name}: what is not carried over is said: {warnings}"
    );

    let target = link.target();
    let found = catalog(target, to).await;
    let [qty, label, active, created] = &found.defaults;
    assert!(qty.contains('5'), "{name}: {found:?}");
    assert!(label.contains("none"), "{name}: {found:?}");
    assert!(
        ["true", "1"].contains(&active.as_str()),
        "{name}: {found:?}"
    );
    assert!(
        created.to_ascii_lowercase().contains("current_timestamp"),
        "{name}: {found:?}"
    );
    assert!(found.numbered, "{name}: {found:?}");
    assert_eq!(found.unique_indexes, 2, "{name}: {found:?}");
    assert_eq!(found.foreign_keys, 1, "{name}: {found:?}");
    if (from, to) == (Engine::Postgres, Engine::MySql) {
        assert_eq!(
            one(
                target,
                "SELECT CAST(table_comment AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = 'parent'"
            )
            .await,
            "the parents"
        );
        assert_eq!(
            one(
                target,
                "SELECT CAST(column_comment AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'parent' AND column_name = 'code'"
            )
            .await,
            "business code"
        );
    }

    // An application inserts without keys and gets keys past the copied ones, and the defaults.
    target
        .exec("INSERT INTO parent (code) VALUES ('app')")
        .await;
    target
        .exec("INSERT INTO child (parent_id, a, b) VALUES (3, 'app', 'row')")
        .await;
    let cast = |column: &str| match to {
        Engine::Postgres => format!("{column}::text"),
        Engine::MySql => format!("CAST({column} AS CHAR)"),
        Engine::Sqlite => column.to_string(),
    };
    assert_eq!(
        one(
            target,
            &format!("SELECT {} FROM parent WHERE code = 'app'", cast("id"))
        )
        .await,
        "3",
        "{name}"
    );
    assert_eq!(
        one(
            target,
            &format!("SELECT {} FROM parent WHERE code = 'app'", cast("qty"))
        )
        .await,
        "5",
        "{name}"
    );
    assert_eq!(
        one(
            target,
            &format!("SELECT {} FROM child WHERE a = 'app'", cast("id"))
        )
        .await,
        "2",
        "{name}"
    );
    // The unique index and the foreign key hold.
    assert!(
        target
            .try_exec("INSERT INTO parent (code) VALUES ('app')")
            .await
            .is_err(),
        "{name}: code is unique"
    );
    assert!(
        target
            .try_exec("INSERT INTO child (parent_id, a, b) VALUES (999, 'no', 'parent')")
            .await
            .is_err(),
        "{name}: the foreign key is enforced"
    );
    link.cleanup().await;
}

#[tokio::test]
async fn tables_created_in_postgres_from_sqlite_are_usable() {
    created_tables_are_usable(Engine::Sqlite, Engine::Postgres).await;
}

#[tokio::test]
async fn tables_created_in_mariadb_from_postgres_are_usable() {
    created_tables_are_usable(Engine::Postgres, Engine::MySql).await;
}

#[tokio::test]
async fn tables_created_in_sqlite_from_mariadb_are_usable() {
    created_tables_are_usable(Engine::MySql, Engine::Sqlite).await;
}

/// A source table without a primary key is created without one (its unique indexes come along)
/// and syncs as a multiset of rows: duplicates arrive, and a second run writes nothing.
#[tokio::test]
async fn a_keyless_table_is_created_without_a_key_and_synced_as_a_multiset() {
    let Some(link) = Link::new(Engine::Sqlite, Engine::Postgres).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE audit_log (at TEXT, action TEXT, detail TEXT);
             INSERT INTO audit_log VALUES ('2024-01-01', 'login', NULL),
               ('2024-01-01', 'login', NULL), ('2024-01-02', 'logout', '');",
        )
        .await;
    let job = link.job("[defaults]\ncreate_missing = true\n[[tables]]\nname = \"audit_log\"\n");
    let first = dbdelta(link.dir(), &["sync", "-c", &job]);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let keys = one(
        link.target(),
        "SELECT count(*)::text FROM pg_constraint WHERE conrelid = 'audit_log'::regclass",
    )
    .await;
    assert_eq!(keys, "0", "no key was made up");
    let read = "SELECT at, action, coalesce(detail, '<null>') FROM audit_log ORDER BY 1, 2, 3";
    let rows = link.target().rows(read).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0], rows[1], "both copies arrived");
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(
        (code, report["in_sync"].as_bool()),
        (0, Some(true)),
        "{report}"
    );
    link.cleanup().await;
}

/// A column the job leaves out is left out of the created table too, and the table then syncs
/// (the job file's `exclude_columns` is not looked for in a target that was made without it).
#[tokio::test]
async fn excluded_columns_are_not_created_and_the_table_syncs() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Sqlite).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE users (id integer PRIMARY KEY, name text, password text);
             INSERT INTO users VALUES (1, 'ann', 'secret'), (2, 'bob', 'hunter2');",
        )
        .await;
    let job = link.job(
        "[[tables]]\nname = \"users\"\ncreate_missing = true\nexclude_columns = [\"password\"]\n",
    );
    for run in ["check", "diff", "sync"] {
        let output = dbdelta(link.dir(), &[run, "-c", &job]);
        let expected = if run == "diff" { 1 } else { 0 };
        assert_eq!(
            output.status.code(),
            Some(expected),
            "{run}: {}",
            describe(&output)
        );
    }
    let columns = link
        .target()
        .rows("SELECT name FROM pragma_table_info('users') ORDER BY cid")
        .await;
    assert_eq!(columns.len(), 2, "{columns:?}");
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(
        (code, report["in_sync"].as_bool()),
        (0, Some(true)),
        "{report}"
    );
    link.cleanup().await;
}
